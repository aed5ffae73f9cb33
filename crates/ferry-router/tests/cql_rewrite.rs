//! `now()` / `uuid()` rewriting: literals for QUERY text, bind markers for
//! PREPARE text, and the value splicing the proxy does on EXECUTE.

use std::borrow::Cow;

use ferry_router::cql::{
    find_calls, replace_calls, replace_calls_with_markers, InsertedMarker, MarkerStyle,
    SpliceError, VolatileFunction,
};

const T1: &str = "11111111-1111-1111-8111-111111111111";
const T2: &str = "22222222-2222-1222-8222-222222222222";
const U1: &str = "33333333-3333-4333-8333-333333333333";

/// A literal generator handing out T1, T2 for `now()` and U1 for `uuid()`,
/// leaving the other functions alone.
fn literals() -> impl FnMut(VolatileFunction) -> Option<&'static str> {
    let mut nows = [T1, T2].into_iter();
    move |f| match f {
        VolatileFunction::Now => nows.next(),
        VolatileFunction::Uuid => Some(U1),
        _ => None,
    }
}

#[test]
fn query_calls_become_literals_in_order() {
    let text = "INSERT INTO ks.t (a, b, c) VALUES (now(), uuid(), now())";
    assert_eq!(
        replace_calls(text, literals()),
        format!("INSERT INTO ks.t (a, b, c) VALUES ({T1}, {U1}, {T2})")
    );
}

#[test]
fn strings_comments_and_quoted_names_are_untouched() {
    let text =
        "INSERT INTO t (\"now()\", b) VALUES ('now() and uuid()', now()) -- now()\n/* uuid() */";
    assert_eq!(
        replace_calls(text, literals()),
        format!(
            "INSERT INTO t (\"now()\", b) VALUES ('now() and uuid()', {T1}) -- now()\n/* uuid() */"
        )
    );
    let text = "UPDATE t SET body = $$ now() $$ WHERE k = 'it''s now()'";
    assert!(matches!(replace_calls(text, literals()), Cow::Borrowed(_)));
}

#[test]
fn qualified_spaced_and_nested_calls() {
    let text = "UPDATE t SET at = toTimestamp(system.now()), id = uuid ( /* x */ ) WHERE k = 1";
    assert_eq!(
        replace_calls(text, literals()),
        format!("UPDATE t SET at = toTimestamp({T1}), id = {U1} WHERE k = 1")
    );
    // A user function elsewhere is not replaced.
    let text = "INSERT INTO t (a) VALUES (myks.now())";
    assert_eq!(replace_calls(text, literals()), text);
}

#[test]
fn literals_do_not_run_into_words() {
    assert_eq!(
        replace_calls("SELECT * FROM t WHERE a=now()AND b=1", literals()),
        format!("SELECT * FROM t WHERE a={T1} AND b=1")
    );
}

#[test]
fn none_leaves_a_call_in_place() {
    let text = "INSERT INTO t (a, b) VALUES (currentTimestamp(), now())";
    assert_eq!(
        replace_calls(text, literals()),
        format!("INSERT INTO t (a, b) VALUES (currentTimestamp(), {T1})")
    );
    assert!(matches!(replace_calls(text, |_| None::<String>), Cow::Borrowed(t) if t == text));
}

#[test]
fn the_generator_sees_each_function() {
    let text = "INSERT INTO t (a, b, c, d, e) VALUES (now(), uuid(), current_date(), currentTime(), CURRENTTIMESTAMP())";
    let mut seen = Vec::new();
    let out = replace_calls(text, |f| {
        seen.push(f);
        Some(format!("'{}'", f.cql_type()))
    });
    use VolatileFunction::*;
    assert_eq!(
        seen,
        [Now, Uuid, CurrentDate, CurrentTime, CurrentTimestamp]
    );
    assert_eq!(
        out,
        "INSERT INTO t (a, b, c, d, e) VALUES ('timeuuid', 'uuid', 'date', 'time', 'timestamp')"
    );
}

#[test]
fn find_calls_reports_spans() {
    let text = "SELECT * FROM t WHERE a = now() AND b = 'uuid()' AND c = SYSTEM.uuid()";
    let calls = find_calls(text);
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].function, VolatileFunction::Now);
    assert_eq!(&text[calls[0].span.clone()], "now()");
    assert_eq!(calls[1].function, VolatileFunction::Uuid);
    assert_eq!(&text[calls[1].span.clone()], "SYSTEM.uuid()");
}

// ---------------------------------------------------------------- PREPARE

fn both(_: VolatileFunction) -> bool {
    true
}

#[test]
fn named_markers_among_positional_ones() {
    let text = "INSERT INTO t (a, id, b, at) VALUES (?, uuid(), ?, now()) USING TTL ?";
    let rw = replace_calls_with_markers(text, MarkerStyle::Named, both);
    assert_eq!(
        rw.text,
        "INSERT INTO t (a, id, b, at) VALUES (?, (uuid):ferry_uuid_0, ?, (timeuuid):ferry_now_0) USING TTL ?"
    );
    assert_eq!(rw.original_markers, 3);
    assert_eq!(rw.total_markers(), 5);
    assert_eq!(
        rw.inserted,
        [
            InsertedMarker {
                index: 1,
                function: VolatileFunction::Uuid,
                name: Some("ferry_uuid_0".into()),
            },
            InsertedMarker {
                index: 3,
                function: VolatileFunction::Now,
                name: Some("ferry_now_0".into()),
            },
        ]
    );
    let values = rw
        .splice_values(vec!["a", "b", "ttl"], |m| match m.function {
            VolatileFunction::Now => "NOW",
            _ => "UUID",
        })
        .expect("three values for three markers");
    assert_eq!(values, ["a", "UUID", "b", "NOW", "ttl"]);
    let back: Vec<Option<usize>> = (0..6).map(|i| rw.original_index(i)).collect();
    assert_eq!(back, [Some(0), None, Some(1), None, Some(2), None]);
}

#[test]
fn positional_markers() {
    let text = "UPDATE t SET a = now(), b = :b WHERE k = :k AND c = now()";
    let rw = replace_calls_with_markers(text, MarkerStyle::Positional, both);
    assert_eq!(
        rw.text,
        "UPDATE t SET a = (timeuuid)?, b = :b WHERE k = :k AND c = (timeuuid)?"
    );
    let indexes: Vec<usize> = rw.inserted.iter().map(|m| m.index).collect();
    assert_eq!(indexes, [0, 3]);
    assert!(rw.inserted.iter().all(|m| m.name.is_none()));
    assert_eq!(
        rw.splice_values(vec![10, 20], |_| 0),
        Ok(vec![0, 10, 20, 0])
    );
}

#[test]
fn markers_in_strings_and_maps_are_counted_right() {
    // '?' in a string is no marker; `:v` after a map key's colon is one.
    let text = "UPDATE t SET m = {'?': :v, 'k': now()}, n = ? WHERE k = '?'";
    let rw = replace_calls_with_markers(text, MarkerStyle::Named, both);
    assert_eq!(
        rw.text,
        "UPDATE t SET m = {'?': :v, 'k': (timeuuid):ferry_now_0}, n = ? WHERE k = '?'"
    );
    assert_eq!(rw.original_markers, 2);
    assert_eq!(rw.inserted[0].index, 1);
}

#[test]
fn generated_names_avoid_the_statements_own() {
    let text = "INSERT INTO t (a, b, c) VALUES (:ferry_now_0, :\"ferry_now_1\", now())";
    let rw = replace_calls_with_markers(text, MarkerStyle::Named, both);
    assert_eq!(rw.inserted[0].name.as_deref(), Some("ferry_now_2"));
    assert!(rw.text.ends_with("(timeuuid):ferry_now_2)"));
    // A quoted marker with other case is another name: no clash.
    let text = "INSERT INTO t (a, b) VALUES (:\"FERRY_NOW_0\", now())";
    let rw = replace_calls_with_markers(text, MarkerStyle::Named, both);
    assert_eq!(rw.inserted[0].name.as_deref(), Some("ferry_now_0"));
    // An unquoted marker is case-insensitive: clash.
    let text = "INSERT INTO t (a, b) VALUES (:FERRY_NOW_0, now())";
    let rw = replace_calls_with_markers(text, MarkerStyle::Named, both);
    assert_eq!(rw.inserted[0].name.as_deref(), Some("ferry_now_1"));
}

#[test]
fn only_selected_functions_are_replaced() {
    let text = "INSERT INTO t (a, b, c) VALUES (now(), ?, currentTimestamp())";
    let rw = replace_calls_with_markers(text, MarkerStyle::Named, |f| f == VolatileFunction::Now);
    assert_eq!(
        rw.text,
        "INSERT INTO t (a, b, c) VALUES ((timeuuid):ferry_now_0, ?, currentTimestamp())"
    );
    assert_eq!(rw.total_markers(), 2);
    let rw = replace_calls_with_markers(text, MarkerStyle::Named, |_| false);
    assert!(matches!(rw.text, Cow::Borrowed(_)));
    assert!(rw.inserted.is_empty());
    assert_eq!(rw.original_markers, 1);
    assert_eq!(rw.splice_values(vec![7], |_| 0), Ok(vec![7]));
}

#[test]
fn batch_text_gets_markers_across_children() {
    let text = "BEGIN BATCH INSERT INTO a (k, id) VALUES (?, now()); \
                UPDATE b SET id = uuid() WHERE k = ?; APPLY BATCH";
    let rw = replace_calls_with_markers(text, MarkerStyle::Named, both);
    let found: Vec<(usize, VolatileFunction)> =
        rw.inserted.iter().map(|m| (m.index, m.function)).collect();
    assert_eq!(
        found,
        [(1, VolatileFunction::Now), (2, VolatileFunction::Uuid)]
    );
    assert_eq!(rw.original_markers, 2);
}

#[test]
fn splice_rejects_the_wrong_number_of_values() {
    let rw = replace_calls_with_markers(
        "INSERT INTO t (a, b) VALUES (?, now())",
        MarkerStyle::Named,
        both,
    );
    assert_eq!(
        rw.splice_values(Vec::<u8>::new(), |_| 0),
        Err(SpliceError::ValueCount {
            expected: 1,
            got: 0
        })
    );
    assert_eq!(rw.original_index(2), None);
}
