//! Rewrite properties on generated statements whose string literals and
//! comments are full of `now()` and `uuid()`: only the real calls change,
//! the literals and comments come out byte for byte, and the inserted bind
//! markers are exactly where the rewrite says.

use ferry_router::cql::{
    find_calls, replace_calls, replace_calls_with_markers, Lexer, MarkerStyle, TokenKind,
    VolatileFunction,
};
use proptest::prelude::*;

/// One value in a VALUES list.
#[derive(Debug, Clone)]
enum Item {
    /// A string literal (content before escaping).
    Str(String),
    /// A dollar-quoted string.
    Dollar(String),
    /// A real call, as written, and its function.
    Call(&'static str, VolatileFunction),
    /// A comment followed by the integer 1.
    Comment(String),
    /// A bind marker, as written.
    Marker(&'static str),
    /// Anything else that is no call.
    Other(&'static str),
}

fn content() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z ()',;:?-]{0,12}",
        prop::sample::select(vec![
            "now()",
            "uuid()",
            "x now() y",
            "system.now()",
            "'now()'",
            "toTimestamp(now())",
            ":ferry_now_0",
            "?",
            "-- now()",
        ])
        .prop_map(String::from),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    use VolatileFunction::{Now, Uuid};
    prop_oneof![
        content().prop_map(Item::Str),
        content()
            .prop_filter("no $$", |s| !s.contains('$'))
            .prop_map(Item::Dollar),
        prop::sample::select(vec![
            ("now()", Now),
            ("NOW ( )", Now),
            ("system.now()", Now),
            ("currentTimeUUID()", Now),
            ("uuid()", Uuid),
            ("\"uuid\"()", Uuid),
        ])
        .prop_map(|(text, f)| Item::Call(text, f)),
        content()
            .prop_filter("no comment end", |s| !s.contains("*/"))
            .prop_map(Item::Comment),
        prop::sample::select(vec!["?", ":v", ":\"V\"", ":ferry_now_0", ":ferry_uuid_1"])
            .prop_map(Item::Marker),
        prop::sample::select(vec![
            "1",
            "now",
            "myks.now()",
            "now(1)",
            "{'now()': now}",
            "[1, 2]",
            "0xCAFE",
        ])
        .prop_map(Item::Other),
    ]
}

fn render(items: &[Item]) -> String {
    let columns: Vec<String> = (0..items.len()).map(|i| format!("c{i}")).collect();
    let values: Vec<String> = items
        .iter()
        .map(|item| match item {
            Item::Str(s) => format!("'{}'", s.replace('\'', "''")),
            Item::Dollar(s) => format!("$${s}$$"),
            Item::Call(text, _) => text.to_string(),
            Item::Comment(s) => format!("/*{s}*/ 1"),
            Item::Marker(m) => m.to_string(),
            Item::Other(o) => o.to_string(),
        })
        .collect();
    format!(
        "INSERT INTO ks.t (k, {}) VALUES (?, {}) -- now() uuid()\n",
        columns.join(", "),
        values.join(", ")
    )
}

/// The texts of the tokens of the given kinds, in order.
fn texts_of(text: &str, kinds: &[TokenKind]) -> Vec<String> {
    Lexer::new(text)
        .filter(|t| kinds.contains(&t.kind))
        .map(|t| t.text(text).to_string())
        .collect()
}

/// Token kinds a rewrite must copy unchanged. (Not quoted names: `"uuid"()`
/// is a call.)
const UNTOUCHABLE: &[TokenKind] = &[
    TokenKind::String,
    TokenKind::DollarString,
    TokenKind::Comment,
];

proptest! {
    #[test]
    fn query_rewrite_touches_only_calls(items in prop::collection::vec(item(), 1..8)) {
        let text = render(&items);
        let expected: Vec<VolatileFunction> = items
            .iter()
            .filter_map(|i| match i {
                Item::Call(_, f) => Some(*f),
                _ => None,
            })
            .collect();
        let mut seen = Vec::new();
        let out = replace_calls(&text, |f| {
            seen.push(f);
            Some(format!("{:08x}-0000-1000-8000-000000000000", seen.len()))
        });
        prop_assert_eq!(&seen, &expected);
        // Literals and comments are copied byte for byte...
        prop_assert_eq!(texts_of(&out, UNTOUCHABLE), texts_of(&text, UNTOUCHABLE));
        // ...no call is left, and the literals are there in order.
        prop_assert!(find_calls(&out).is_empty(), "{}", out);
        let uuids = texts_of(&out, &[TokenKind::Uuid]);
        let wanted: Vec<String> = (1..=expected.len())
            .map(|n| format!("{n:08x}-0000-1000-8000-000000000000"))
            .collect();
        prop_assert_eq!(uuids, wanted);
    }

    #[test]
    fn prepare_rewrite_places_markers_where_it_says(
        items in prop::collection::vec(item(), 1..8),
        named in any::<bool>(),
    ) {
        let text = render(&items);
        let style = if named { MarkerStyle::Named } else { MarkerStyle::Positional };
        let rw = replace_calls_with_markers(&text, style, |_| true);
        let calls: Vec<VolatileFunction> = items
            .iter()
            .filter_map(|i| match i {
                Item::Call(_, f) => Some(*f),
                _ => None,
            })
            .collect();
        let client_markers = 1 + items.iter().filter(|i| matches!(i, Item::Marker(_))).count();
        prop_assert_eq!(rw.original_markers, client_markers);
        let functions: Vec<VolatileFunction> = rw.inserted.iter().map(|m| m.function).collect();
        prop_assert_eq!(functions, calls);
        prop_assert_eq!(texts_of(&rw.text, UNTOUCHABLE), texts_of(&text, UNTOUCHABLE));
        prop_assert!(find_calls(&rw.text).is_empty());

        // Re-lex the output: the markers at the promised indexes are ours.
        let tokens: Vec<_> = Lexer::new(&rw.text).significant().collect();
        let markers: Vec<usize> = (0..tokens.len()).filter(|&i| tokens[i].kind.is_marker()).collect();
        prop_assert_eq!(markers.len(), rw.total_markers());
        for m in &rw.inserted {
            let at = markers[m.index];
            let marker = tokens[at].text(&rw.text);
            match &m.name {
                Some(name) => prop_assert_eq!(marker, format!(":{name}")),
                None => prop_assert_eq!(marker, "?"),
            }
            // Preceded by the type hint `(type)`.
            prop_assert!(at >= 3);
            prop_assert_eq!(tokens[at - 1].kind, TokenKind::RParen);
            prop_assert_eq!(tokens[at - 2].text(&rw.text), m.function.cql_type());
            prop_assert_eq!(tokens[at - 3].kind, TokenKind::LParen);
        }
        // Generated names are unique and do not clash with the client's.
        if named {
            let mut generated: Vec<&str> =
                rw.inserted.iter().filter_map(|m| m.name.as_deref()).collect();
            prop_assert_eq!(generated.len(), rw.inserted.len());
            let client_names: Vec<String> = items
                .iter()
                .filter_map(|i| match i {
                    Item::Marker(m) if m.starts_with(":\"") => Some(m.trim_matches(|c| c == ':' || c == '"').to_string()),
                    Item::Marker(m) if m.starts_with(':') => Some(m[1..].to_ascii_lowercase()),
                    _ => None,
                })
                .collect();
            for name in &generated {
                prop_assert!(!client_names.iter().any(|c| c == name), "{} clashes", name);
            }
            generated.sort_unstable();
            generated.dedup();
            prop_assert_eq!(generated.len(), rw.inserted.len());
        }

        // Splicing puts client values, in order, around the generated ones.
        let client: Vec<usize> = (0..rw.original_markers).collect();
        let spliced = rw.splice_values(client.clone(), |m| 1000 + m.index).expect("counts match");
        prop_assert_eq!(spliced.len(), rw.total_markers());
        let mut from_client = Vec::new();
        for (index, value) in spliced.iter().enumerate() {
            if *value >= 1000 {
                prop_assert_eq!(*value, 1000 + index);
                prop_assert_eq!(rw.original_index(index), None);
            } else {
                prop_assert_eq!(rw.original_index(index), Some(*value));
                from_client.push(*value);
            }
        }
        prop_assert_eq!(from_client, client);
    }
}
