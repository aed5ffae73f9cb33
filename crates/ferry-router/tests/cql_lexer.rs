//! Lexer tests on hand-written CQL fragments: each expectation is the token
//! reading Cassandra's own lexer gives (or, for broken input, the reading
//! documented on `TokenKind`).

use ferry_router::cql::{Lexer, TokenKind, TokenKind as K};

/// The significant tokens of `text` as (kind, text) pairs.
fn lex(text: &str) -> Vec<(TokenKind, &str)> {
    Lexer::new(text)
        .significant()
        .map(|t| (t.kind, t.text(text)))
        .collect()
}

/// All tokens, trivia included.
fn lex_all(text: &str) -> Vec<(TokenKind, &str)> {
    Lexer::new(text).map(|t| (t.kind, t.text(text))).collect()
}

#[test]
fn words_keep_their_case_and_underscores() {
    assert_eq!(
        lex("SeLeCt a_1 FROM _x9"),
        [
            (K::Ident, "SeLeCt"),
            (K::Ident, "a_1"),
            (K::Ident, "FROM"),
            (K::Ident, "_x9")
        ]
    );
}

#[test]
fn keywords_compare_case_insensitively() {
    let text = "select Select SELECT \"select\"";
    let tokens: Vec<_> = Lexer::new(text).significant().collect();
    assert!(tokens[..3].iter().all(|t| t.is_keyword(text, "SELECT")));
    assert!(
        !tokens[3].is_keyword(text, "SELECT"),
        "a quoted name is never a keyword"
    );
    assert!(!tokens[0].is_keyword(text, "SELECTS"));
}

#[test]
fn quoted_names_with_doubled_quotes_are_one_token() {
    assert_eq!(
        lex(r#"SELECT "Foo"" bar", "" FROM "ks""""#),
        [
            (K::Ident, "SELECT"),
            (K::QuotedIdent, r#""Foo"" bar""#),
            (K::Comma, ","),
            (K::QuotedIdent, r#""""#),
            (K::Ident, "FROM"),
            (K::QuotedIdent, r#""ks""""#),
        ]
    );
}

#[test]
fn strings_with_doubled_quotes_are_one_token() {
    assert_eq!(
        lex("'it''s' '' 'a''' 'x' 'y'"),
        [
            (K::String, "'it''s'"),
            (K::String, "''"),
            (K::String, "'a'''"),
            (K::String, "'x'"),
            (K::String, "'y'"),
        ]
    );
}

#[test]
fn strings_hide_keywords_comments_and_markers() {
    assert_eq!(
        lex("'IF NOT EXISTS -- ? :x /* now() */'"),
        [(K::String, "'IF NOT EXISTS -- ? :x /* now() */'")]
    );
}

#[test]
fn dollar_strings_end_at_the_first_double_dollar() {
    assert_eq!(
        lex("$$ it's a 'body' $ $$ $$$$ $$a$b$$"),
        [
            (K::DollarString, "$$ it's a 'body' $ $$"),
            (K::DollarString, "$$$$"),
            (K::DollarString, "$$a$b$$"),
        ]
    );
    assert_eq!(lex("$x"), [(K::Unknown, "$"), (K::Ident, "x")]);
}

#[test]
fn integers_and_floats() {
    assert_eq!(
        lex("42 -7 1.5 -1.5e10 2E-3 1e+4 1. 0.25"),
        [
            (K::Integer, "42"),
            (K::Integer, "-7"),
            (K::Float, "1.5"),
            (K::Float, "-1.5e10"),
            (K::Float, "2E-3"),
            (K::Float, "1e+4"),
            (K::Float, "1."),
            (K::Float, "0.25"),
        ]
    );
}

#[test]
fn nan_and_infinity_are_floats_in_any_case() {
    assert_eq!(
        lex("NaN -NaN Infinity -infinity INFINITY nano"),
        [
            (K::Float, "NaN"),
            (K::Float, "-NaN"),
            (K::Float, "Infinity"),
            (K::Float, "-infinity"),
            (K::Float, "INFINITY"),
            (K::Ident, "nano"),
        ]
    );
    assert_eq!(
        lex("-Infinityx"),
        [(K::Minus, "-"), (K::Ident, "Infinityx")]
    );
}

#[test]
fn an_exponent_needs_digits() {
    // `1e` is the number 1 and the word `e` (Cassandra reads it that way too).
    assert_eq!(lex("1e"), [(K::Integer, "1"), (K::Ident, "e")]);
    assert_eq!(
        lex("1e+"),
        [(K::Integer, "1"), (K::Ident, "e"), (K::Plus, "+")]
    );
}

#[test]
fn minus_before_a_digit_is_part_of_the_number() {
    // As in Cassandra's lexer: `c-3` is `c` and `-3`.
    assert_eq!(lex("c-3"), [(K::Ident, "c"), (K::Integer, "-3")]);
    assert_eq!(
        lex("a - b"),
        [(K::Ident, "a"), (K::Minus, "-"), (K::Ident, "b")]
    );
}

#[test]
fn hex_blobs() {
    assert_eq!(
        lex("0xCAFE 0xcafe 0X 0x00ffZ"),
        [
            (K::Blob, "0xCAFE"),
            (K::Blob, "0xcafe"),
            (K::Blob, "0X"),
            (K::Blob, "0x00ff"),
            (K::Ident, "Z"),
        ]
    );
}

#[test]
fn uuids_starting_with_digits_or_letters() {
    assert_eq!(
        lex("123e4567-e89b-12d3-a456-426655440000 A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
        [
            (K::Uuid, "123e4567-e89b-12d3-a456-426655440000"),
            (K::Uuid, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
        ]
    );
    // Followed by a word character it is not a uuid.
    assert_eq!(
        lex("deadbeef-0000-0000-0000-000000000000x")[0],
        (K::Ident, "deadbeef")
    );
    // Too short: a word and numbers.
    assert_eq!(
        lex("deadbeef-0000"),
        [(K::Ident, "deadbeef"), (K::Integer, "-0000")]
    );
}

#[test]
fn durations() {
    assert_eq!(
        lex("1h30m 500ms 2mo -3d 10us 7µs 1Y2W 4ns"),
        [
            (K::Duration, "1h30m"),
            (K::Duration, "500ms"),
            (K::Duration, "2mo"),
            (K::Duration, "-3d"),
            (K::Duration, "10us"),
            (K::Duration, "7µs"),
            (K::Duration, "1Y2W"),
            (K::Duration, "4ns"),
        ]
    );
    assert_eq!(lex("1hello"), [(K::Integer, "1"), (K::Ident, "hello")]);
}

#[test]
fn bind_markers() {
    assert_eq!(
        lex(r#"? :name :"Quoted Name" :_x1"#),
        [
            (K::Marker, "?"),
            (K::NamedMarker, ":name"),
            (K::NamedMarker, r#":"Quoted Name""#),
            (K::NamedMarker, ":_x1"),
        ]
    );
    assert_eq!(lex(": x"), [(K::Colon, ":"), (K::Ident, "x")]);
}

#[test]
fn colons_inside_braces_separate_keys_from_values() {
    assert_eq!(
        lex("{'k':v, 'n': :val, :key: 1}"),
        [
            (K::LBrace, "{"),
            (K::String, "'k'"),
            (K::Colon, ":"),
            (K::Ident, "v"),
            (K::Comma, ","),
            (K::String, "'n'"),
            (K::Colon, ":"),
            (K::NamedMarker, ":val"),
            (K::Comma, ","),
            (K::NamedMarker, ":key"),
            (K::Colon, ":"),
            (K::Integer, "1"),
            (K::RBrace, "}"),
        ]
    );
    // A user-type literal with a function call value.
    assert_eq!(
        lex("{f:now()}")[..3],
        [(K::LBrace, "{"), (K::Ident, "f"), (K::Colon, ":")]
    );
    // Markers inside a list inside a map value.
    assert_eq!(
        lex("{'k': [:a, :b]}")[4..8],
        [
            (K::NamedMarker, ":a"),
            (K::Comma, ","),
            (K::NamedMarker, ":b"),
            (K::RBracket, "]"),
        ]
    );
    // After the braces close, `:` starts markers again.
    assert_eq!(lex("{'a':1} :x").last(), Some(&(K::NamedMarker, ":x")));
}

#[test]
fn punctuation_and_operators() {
    use K::*;
    let kinds: Vec<TokenKind> = lex("( ) [ ] { } , ; . = != < <= > >= + - * / %")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        kinds,
        [
            LParen, RParen, LBracket, RBracket, LBrace, RBrace, Comma, Semicolon, Dot, Eq, NotEq,
            Lt, LtEq, Gt, GtEq, Plus, Minus, Star, Slash, Percent
        ]
    );
    assert_eq!(lex("a<=b"), [(Ident, "a"), (LtEq, "<="), (Ident, "b")]);
}

#[test]
fn unknown_characters_are_single_tokens() {
    assert_eq!(
        lex("@ ! é€"),
        [
            (K::Unknown, "@"),
            (K::Unknown, "!"),
            (K::Unknown, "é"),
            (K::Unknown, "€")
        ]
    );
}

#[test]
fn comments_of_all_three_kinds() {
    let text = "a -- one IF\nb // two\r\nc /* three\n IF EXISTS */ d";
    assert_eq!(
        lex_all(text),
        [
            (K::Ident, "a"),
            (K::Whitespace, " "),
            (K::Comment, "-- one IF"),
            (K::Whitespace, "\n"),
            (K::Ident, "b"),
            (K::Whitespace, " "),
            (K::Comment, "// two"),
            (K::Whitespace, "\r\n"),
            (K::Ident, "c"),
            (K::Whitespace, " "),
            (K::Comment, "/* three\n IF EXISTS */"),
            (K::Whitespace, " "),
            (K::Ident, "d"),
        ]
    );
}

#[test]
fn block_comments_do_not_nest() {
    assert_eq!(
        lex("/* a /* b */ c */"),
        [(K::Ident, "c"), (K::Star, "*"), (K::Slash, "/")]
    );
}

#[test]
fn unterminated_things_run_to_the_end() {
    for text in [
        "'never closed",
        "\"never closed",
        "$$ never closed",
        "/* never closed",
        "'ends with an escape''",
    ] {
        assert_eq!(lex(text), [(K::Unterminated, text)], "{text}");
    }
    assert_eq!(
        lex("x = 'open"),
        [(K::Ident, "x"), (K::Eq, "="), (K::Unterminated, "'open")]
    );
}

#[test]
fn empty_and_blank_input() {
    assert!(lex_all("").is_empty());
    assert_eq!(lex_all(" \t\n"), [(K::Whitespace, " \t\n")]);
    assert!(lex(" \t\n-- only a comment").is_empty());
}

#[test]
fn spans_tile_a_multi_line_statement() {
    let text = "BEGIN BATCH\n  INSERT INTO ks.\"T\" (k, v) VALUES (?, 'a''b'); -- first\n  \
                UPDATE t SET m = m + {'x': 1.5e3} WHERE k = :k;\nAPPLY BATCH;";
    let tokens: Vec<_> = Lexer::new(text).collect();
    assert_eq!(tokens[0].start, 0);
    assert_eq!(tokens.last().map(|t| t.span().end), Some(text.len()));
    for pair in tokens.windows(2) {
        assert_eq!(pair[0].end, pair[1].start);
    }
    let rebuilt: String = tokens.iter().map(|t| t.text(text)).collect();
    assert_eq!(rebuilt, text);
    assert_eq!(tokens.iter().filter(|t| t.kind == K::Semicolon).count(), 3);
}
