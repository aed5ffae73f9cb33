//! Generated INSERT / UPDATE / DELETE statements, with random names (bare
//! in random case, or quoted with awkward contents), random keyword case,
//! random whitespace and comments between tokens, optional `IF` and `USING`
//! clauses, counter and collection assignments, and values that are string
//! literals full of keywords. The generator knows the truth; the classifier
//! must find it.

use ferry_router::cql::{classify, CounterUpdate, StatementKind};
use proptest::prelude::*;

/// Cassandra's reserved keywords (plus the ones this crate treats as
/// statement starts), which cannot be bare names.
const RESERVED: &[&str] = &[
    "add",
    "allow",
    "alter",
    "and",
    "apply",
    "asc",
    "authorize",
    "batch",
    "begin",
    "by",
    "columnfamily",
    "create",
    "delete",
    "desc",
    "describe",
    "drop",
    "entries",
    "execute",
    "from",
    "full",
    "grant",
    "if",
    "in",
    "index",
    "infinity",
    "insert",
    "into",
    "is",
    "keyspace",
    "limit",
    "materialized",
    "mbean",
    "mbeans",
    "modify",
    "nan",
    "norecursive",
    "not",
    "null",
    "of",
    "on",
    "or",
    "order",
    "primary",
    "rename",
    "replace",
    "revoke",
    "schema",
    "select",
    "set",
    "table",
    "to",
    "token",
    "truncate",
    "unlogged",
    "update",
    "use",
    "using",
    "view",
    "where",
    "with",
];

/// A name as rendered in the statement and as Cassandra reads it.
#[derive(Debug, Clone)]
struct Name {
    rendered: String,
    name: String,
}

/// Bare names in random case (sometimes unreserved keywords such as
/// `timestamp` or `ttl`), or quoted names with quotes, spaces, keywords.
fn name() -> impl Strategy<Value = Name> {
    let bare = prop_oneof![
        "[a-zA-Z][a-zA-Z0-9_]{0,10}",
        prop::sample::select(vec![
            "timestamp",
            "TTL",
            "Key",
            "exists",
            "counter",
            "values",
            "json",
            "now",
            "uuid",
            "type",
            "writetime",
            "Exists",
        ])
        .prop_map(String::from),
    ]
    .prop_filter("reserved", |s| {
        !RESERVED.contains(&s.to_ascii_lowercase().as_str())
    })
    .prop_map(|s| Name {
        name: s.to_ascii_lowercase(),
        rendered: s,
    });
    let quoted = prop_oneof![
        "[a-zA-Z0-9_ \"'.;-]{1,10}",
        prop::sample::select(vec![
            "IF NOT EXISTS",
            "USING TIMESTAMP",
            "select",
            "Mixed Case",
            "c = c + 1"
        ])
        .prop_map(String::from),
    ]
    .prop_map(|s| Name {
        rendered: format!("\"{}\"", s.replace('"', "\"\"")),
        name: s,
    });
    prop_oneof![3 => bare, 1 => quoted]
}

/// The same name written again: a bare name may change case.
fn rewrite_case(name: &Name, upper: bool) -> String {
    if name.rendered.starts_with('"') {
        name.rendered.clone()
    } else if upper {
        name.rendered.to_ascii_uppercase()
    } else {
        name.rendered.to_ascii_lowercase()
    }
}

/// A value and the volatile calls it makes.
#[derive(Debug, Clone)]
struct Value {
    text: String,
    now: bool,
    uuid: bool,
}

fn value() -> impl Strategy<Value = Value> {
    let plain = |s: &str| Value {
        text: s.to_string(),
        now: false,
        uuid: false,
    };
    let string = prop_oneof![
        "[a-zA-Z0-9 ,;=+()'-]{0,12}",
        prop::sample::select(vec![
            "IF NOT EXISTS",
            "IF EXISTS",
            "USING TIMESTAMP 1",
            "now()",
            "c = c + 1",
            "'); DELETE FROM t WHERE k = 1; --",
            "APPLY BATCH",
        ])
        .prop_map(String::from),
    ]
    .prop_map(|s| Value {
        text: format!("'{}'", s.replace('\'', "''")),
        now: false,
        uuid: false,
    });
    prop_oneof![
        any::<i32>().prop_map(move |i| plain(&i.to_string())),
        Just(plain("?")),
        "[a-z][a-z0-9_]{0,5}".prop_map(move |n| plain(&format!(":{n}"))),
        string,
        Just(plain("123e4567-e89b-12d3-a456-426655440000")),
        Just(plain("-1.5e10")),
        Just(plain("0xCAFE")),
        Just(plain("[1, 2]")),
        Just(plain("{'k': 'IF'}")),
        Just(plain("{'k': :v}")),
        Just(plain("$$ IF EXISTS $$")),
        Just(Value {
            text: "now()".into(),
            now: true,
            uuid: false
        }),
        Just(Value {
            text: "uuid()".into(),
            now: false,
            uuid: true
        }),
        Just(Value {
            text: "toTimestamp(now())".into(),
            now: true,
            uuid: false
        }),
    ]
}

#[derive(Debug, Clone)]
struct Table {
    ks: Option<Name>,
    table: Name,
}

fn table() -> impl Strategy<Value = Table> {
    (prop::option::of(name()), name()).prop_map(|(ks, table)| Table { ks, table })
}

/// `USING` options: (is_timestamp, value).
fn using() -> impl Strategy<Value = Option<Vec<(bool, Value)>>> {
    let option = (
        any::<bool>(),
        prop_oneof![
            any::<u32>().prop_map(|i| i.to_string()),
            Just("?".to_string()),
            Just(":t".to_string()),
        ],
    );
    prop::option::of(prop::collection::vec(option, 1..=2).prop_map(|opts| {
        let mut seen = [false; 2];
        opts.into_iter()
            .filter(|(ts, _)| !std::mem::replace(&mut seen[usize::from(*ts)], true))
            .map(|(ts, v)| {
                (
                    ts,
                    Value {
                        text: v,
                        now: false,
                        uuid: false,
                    },
                )
            })
            .collect()
    }))
}

#[derive(Debug, Clone)]
enum Condition {
    None,
    Exists,
    Columns(Vec<(Name, Value)>),
}

fn condition() -> impl Strategy<Value = Condition> {
    prop_oneof![
        2 => Just(Condition::None),
        1 => Just(Condition::Exists),
        1 => prop::collection::vec((name(), value()), 1..3).prop_map(Condition::Columns),
    ]
}

#[derive(Debug, Clone)]
enum Assignment {
    Plain(Name, Value),
    /// `c = c ± operand`: (name, rewrite in upper case, minus, operand kind)
    Counter(Name, bool, bool, Operand),
    /// `l = l + [..]` and friends.
    Collection(Name, bool, &'static str),
}

#[derive(Debug, Clone)]
enum Operand {
    Number(u32),
    Negative(u32),
    Marker(&'static str),
}

fn assignment() -> impl Strategy<Value = Assignment> {
    let operand = prop_oneof![
        any::<u32>().prop_map(Operand::Number),
        any::<u32>().prop_map(Operand::Negative),
        prop::sample::select(vec!["?", ":delta"]).prop_map(Operand::Marker),
    ];
    prop_oneof![
        3 => (name(), value()).prop_map(|(n, v)| Assignment::Plain(n, v)),
        1 => (name(), any::<bool>(), any::<bool>(), operand)
            .prop_map(|(n, up, minus, op)| Assignment::Counter(n, up, minus, op)),
        1 => (name(), any::<bool>(), prop::sample::select(vec!["+ [1, 2]", "- {3}", "+ {'a': 1}"]))
            .prop_map(|(n, up, tail)| Assignment::Collection(n, up, tail)),
    ]
}

#[derive(Debug, Clone)]
enum Dml {
    Insert {
        table: Table,
        columns: Vec<(Name, Value)>,
        if_not_exists: bool,
        using: Option<Vec<(bool, Value)>>,
    },
    Update {
        table: Table,
        using: Option<Vec<(bool, Value)>>,
        set: Vec<Assignment>,
        r#where: Vec<(Name, Value)>,
        condition: Condition,
    },
    Delete {
        table: Table,
        columns: Vec<Name>,
        timestamp: Option<u32>,
        r#where: Vec<(Name, Value)>,
        condition: Condition,
    },
}

fn dml() -> impl Strategy<Value = Dml> {
    let wheres = || prop::collection::vec((name(), value()), 1..3);
    prop_oneof![
        (
            table(),
            prop::collection::vec((name(), value()), 1..5),
            any::<bool>(),
            using()
        )
            .prop_map(|(table, columns, if_not_exists, using)| Dml::Insert {
                table,
                columns,
                if_not_exists,
                using
            }),
        (
            table(),
            using(),
            prop::collection::vec(assignment(), 1..4),
            wheres(),
            condition()
        )
            .prop_map(|(table, using, set, r#where, condition)| Dml::Update {
                table,
                using,
                set,
                r#where,
                condition
            }),
        (
            table(),
            prop::collection::vec(name(), 0..3),
            prop::option::of(any::<u32>()),
            wheres(),
            condition()
        )
            .prop_map(
                |(table, columns, timestamp, r#where, condition)| Dml::Delete {
                    table,
                    columns,
                    timestamp,
                    r#where,
                    condition
                }
            ),
    ]
}

/// What the classifier must report.
#[derive(Debug, PartialEq)]
struct Truth {
    kind: StatementKind,
    keyspace: Option<String>,
    table: Option<String>,
    conditional: bool,
    timestamp: bool,
    counter: CounterUpdate,
    now: bool,
    uuid: bool,
}

/// Writes tokens with random keyword case and random separators (spaces,
/// newlines, comments full of keywords) between them.
struct Writer {
    out: String,
    style: Vec<u8>,
    n: usize,
}

const SEPARATORS: &[&str] = &[
    " ",
    "  ",
    "\n",
    "\t",
    " /* IF NOT EXISTS */ ",
    " -- USING TIMESTAMP 5 IF\n",
    "\r\n  ",
    " // c = c + 1\n",
];

impl Writer {
    fn next_style(&mut self) -> u8 {
        let s = self
            .style
            .get(self.n % self.style.len().max(1))
            .copied()
            .unwrap_or(0);
        self.n += 1;
        s
    }
    fn sep(&mut self) {
        let s = self.next_style();
        self.out
            .push_str(SEPARATORS[usize::from(s) % SEPARATORS.len()]);
    }
    fn kw(&mut self, kw: &str) {
        let text = match self.next_style() % 3 {
            0 => kw.to_ascii_uppercase(),
            1 => kw.to_ascii_lowercase(),
            _ => kw
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect(),
        };
        self.out.push_str(&text);
        self.sep();
    }
    fn tok(&mut self, t: &str) {
        self.out.push_str(t);
        self.sep();
    }
    fn table(&mut self, t: &Table) {
        if let Some(ks) = &t.ks {
            self.tok(&ks.rendered);
            self.tok(".");
        }
        self.tok(&t.table.rendered);
    }
    fn using(&mut self, using: &[(bool, Value)]) {
        self.kw("USING");
        for (i, (ts, v)) in using.iter().enumerate() {
            if i > 0 {
                self.kw("AND");
            }
            self.kw(if *ts { "TIMESTAMP" } else { "TTL" });
            self.tok(&v.text);
        }
    }
    fn wheres(&mut self, wheres: &[(Name, Value)]) {
        self.kw("WHERE");
        for (i, (n, v)) in wheres.iter().enumerate() {
            if i > 0 {
                self.kw("AND");
            }
            self.tok(&n.rendered);
            self.tok("=");
            self.tok(&v.text);
        }
    }
    fn condition(&mut self, c: &Condition) {
        match c {
            Condition::None => {}
            Condition::Exists => {
                self.kw("IF");
                self.kw("EXISTS");
            }
            Condition::Columns(cols) => {
                self.kw("IF");
                for (i, (n, v)) in cols.iter().enumerate() {
                    if i > 0 {
                        self.kw("AND");
                    }
                    self.tok(&n.rendered);
                    self.tok("=");
                    self.tok(&v.text);
                }
            }
        }
    }
}

/// Renders the statement and works out the truth.
fn render(dml: &Dml, style: Vec<u8>, semicolon: bool) -> (String, Truth) {
    let mut w = Writer {
        out: String::new(),
        style,
        n: 0,
    };
    w.sep();
    let names = |t: &Table| {
        (
            t.ks.as_ref().map(|k| k.name.clone()),
            Some(t.table.name.clone()),
        )
    };
    let calls = |vals: &mut dyn Iterator<Item = &Value>| {
        vals.fold((false, false), |(n, u), v| (n || v.now, u || v.uuid))
    };
    let has_ts = |u: &Option<Vec<(bool, Value)>>| u.iter().flatten().any(|(ts, _)| *ts);
    let cond_values = |c: &Condition| match c {
        Condition::Columns(cols) => cols.iter().map(|(_, v)| v.clone()).collect(),
        _ => Vec::new(),
    };
    let truth = match dml {
        Dml::Insert {
            table,
            columns,
            if_not_exists,
            using,
        } => {
            w.kw("INSERT");
            w.kw("INTO");
            w.table(table);
            w.tok("(");
            for (i, (n, _)) in columns.iter().enumerate() {
                if i > 0 {
                    w.tok(",");
                }
                w.tok(&n.rendered);
            }
            w.tok(")");
            w.kw("VALUES");
            w.tok("(");
            for (i, (_, v)) in columns.iter().enumerate() {
                if i > 0 {
                    w.tok(",");
                }
                w.tok(&v.text);
            }
            w.tok(")");
            if *if_not_exists {
                w.kw("IF");
                w.kw("NOT");
                w.kw("EXISTS");
            }
            if let Some(u) = using {
                w.using(u);
            }
            let (now, uuid) = calls(&mut columns.iter().map(|(_, v)| v));
            let (keyspace, table) = names(table);
            Truth {
                kind: StatementKind::Insert,
                keyspace,
                table,
                conditional: *if_not_exists,
                timestamp: has_ts(using),
                counter: CounterUpdate::No,
                now,
                uuid,
            }
        }
        Dml::Update {
            table,
            using,
            set,
            r#where,
            condition,
        } => {
            w.kw("UPDATE");
            w.table(table);
            if let Some(u) = using {
                w.using(u);
            }
            w.kw("SET");
            let mut counter = CounterUpdate::No;
            let mut values = Vec::new();
            for (i, a) in set.iter().enumerate() {
                if i > 0 {
                    w.tok(",");
                }
                match a {
                    Assignment::Plain(n, v) => {
                        w.tok(&n.rendered);
                        w.tok("=");
                        w.tok(&v.text);
                        values.push(v.clone());
                    }
                    Assignment::Counter(n, upper, minus, op) => {
                        w.tok(&n.rendered);
                        w.tok("=");
                        w.tok(&rewrite_case(n, *upper));
                        let sign = if *minus { "-" } else { "+" };
                        let this = match op {
                            Operand::Number(k) => {
                                w.tok(sign);
                                w.tok(&k.to_string());
                                CounterUpdate::Yes
                            }
                            Operand::Negative(k) => {
                                // `c = c -3`: no space between sign and digits.
                                w.tok(&format!("-{k}"));
                                CounterUpdate::Yes
                            }
                            Operand::Marker(m) => {
                                w.tok(sign);
                                w.tok(m);
                                CounterUpdate::Possibly
                            }
                        };
                        counter = match (counter, this) {
                            (CounterUpdate::Yes, _) | (_, CounterUpdate::Yes) => CounterUpdate::Yes,
                            _ => CounterUpdate::Possibly,
                        };
                    }
                    Assignment::Collection(n, upper, tail) => {
                        w.tok(&n.rendered);
                        w.tok("=");
                        w.tok(&rewrite_case(n, *upper));
                        w.tok(tail);
                    }
                }
            }
            w.wheres(r#where);
            w.condition(condition);
            values.extend(r#where.iter().map(|(_, v)| v.clone()));
            values.extend(cond_values(condition));
            let (now, uuid) = calls(&mut values.iter());
            let (keyspace, table) = names(table);
            Truth {
                kind: StatementKind::Update,
                keyspace,
                table,
                conditional: !matches!(condition, Condition::None),
                timestamp: has_ts(using),
                counter,
                now,
                uuid,
            }
        }
        Dml::Delete {
            table,
            columns,
            timestamp,
            r#where,
            condition,
        } => {
            w.kw("DELETE");
            for (i, n) in columns.iter().enumerate() {
                if i > 0 {
                    w.tok(",");
                }
                w.tok(&n.rendered);
            }
            w.kw("FROM");
            w.table(table);
            if let Some(ts) = timestamp {
                w.kw("USING");
                w.kw("TIMESTAMP");
                w.tok(&ts.to_string());
            }
            w.wheres(r#where);
            w.condition(condition);
            let mut values: Vec<Value> = r#where.iter().map(|(_, v)| v.clone()).collect();
            values.extend(cond_values(condition));
            let (now, uuid) = calls(&mut values.iter());
            let (keyspace, table) = names(table);
            Truth {
                kind: StatementKind::Delete,
                keyspace,
                table,
                conditional: !matches!(condition, Condition::None),
                timestamp: timestamp.is_some(),
                counter: CounterUpdate::No,
                now,
                uuid,
            }
        }
    };
    if semicolon {
        w.tok(";");
    }
    (w.out, truth)
}

fn observed(text: &str) -> Truth {
    let info = classify(text);
    Truth {
        kind: info.kind,
        keyspace: info.keyspace.map(|k| k.name().into_owned()),
        table: info.table.map(|t| t.name().into_owned()),
        conditional: info.is_conditional,
        timestamp: info.has_using_timestamp,
        counter: info.counter,
        now: info.calls_now,
        uuid: info.calls_uuid,
    }
}

proptest! {
    #[test]
    fn generated_dml_is_classified_right(
        dml in dml(),
        style in prop::collection::vec(any::<u8>(), 1..16),
        semicolon in any::<bool>(),
    ) {
        let (text, truth) = render(&dml, style, semicolon);
        let info = classify(&text);
        prop_assert!(info.is_write);
        prop_assert!(!info.is_schema_change);
        prop_assert_eq!(observed(&text), truth, "{}", text);
    }

    #[test]
    fn generated_batches_classify_each_child(
        children in prop::collection::vec((dml(), prop::collection::vec(any::<u8>(), 1..8), any::<bool>()), 1..5),
        counter_batch in any::<bool>(),
    ) {
        let mut text = String::from(if counter_batch { "BEGIN COUNTER BATCH\n" } else { "begin batch\n" });
        let mut truths = Vec::new();
        for (dml, style, semicolon) in &children {
            // `;` between children is optional: the next INSERT, UPDATE or
            // DELETE (or APPLY) starts a new statement.
            let (child, truth) = render(dml, style.clone(), *semicolon);
            text.push_str(&child);
            text.push('\n');
            truths.push(truth);
        }
        text.push_str("APPLY BATCH;");
        let info = classify(&text);
        let batch = info.batch.as_ref().expect("a batch");
        prop_assert_eq!(batch.children.len(), truths.len(), "{}", text);
        for (child, truth) in batch.children.iter().zip(&truths) {
            let got = Truth {
                kind: child.kind,
                keyspace: child.keyspace.map(|k| k.name().into_owned()),
                table: child.table.map(|t| t.name().into_owned()),
                conditional: child.is_conditional,
                timestamp: child.has_using_timestamp,
                counter: child.counter,
                now: child.calls_now,
                uuid: child.calls_uuid,
            };
            prop_assert_eq!(&got, truth, "{}", text);
        }
        prop_assert!(batch.applied);
        prop_assert_eq!(info.is_conditional, truths.iter().any(|t| t.conditional));
        prop_assert_eq!(info.calls_now, truths.iter().any(|t| t.now));
        prop_assert!(!info.has_using_timestamp);
        let counter = truths.iter().map(|t| t.counter).fold(CounterUpdate::No, |a, c| match (a, c) {
            (CounterUpdate::Yes, _) | (_, CounterUpdate::Yes) => CounterUpdate::Yes,
            (CounterUpdate::Possibly, _) | (_, CounterUpdate::Possibly) => CounterUpdate::Possibly,
            _ => CounterUpdate::No,
        });
        prop_assert_eq!(info.counter, if counter_batch { CounterUpdate::Yes } else { counter });
    }
}
