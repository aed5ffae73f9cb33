//! Lexer properties: it never panics, its tokens tile the input, and
//! well-formed literals lex as one token of the right kind.

use ferry_router::cql::{classify, find_calls, replace_calls, Lexer, Token, TokenKind};
use proptest::prelude::*;

/// Checks that `tokens` tile `text`: contiguous, non-empty, from 0 to the
/// end, on char boundaries; trivia is whitespace or a comment.
fn assert_tiles(text: &str, tokens: &[Token]) -> Result<(), TestCaseError> {
    let mut at = 0usize;
    for t in tokens {
        prop_assert_eq!(t.span().start, at, "gap or overlap before {:?}", t);
        prop_assert!(t.end > t.start, "empty token {:?}", t);
        prop_assert!(
            text.get(t.span()).is_some(),
            "not on char boundaries: {:?}",
            t
        );
        let s = t.text(text);
        match t.kind {
            TokenKind::Whitespace => prop_assert!(s.bytes().all(|b| b.is_ascii_whitespace())),
            TokenKind::Comment => prop_assert!(
                s.starts_with("--") || s.starts_with("//") || s.starts_with("/*"),
                "comment {:?}",
                s
            ),
            _ => prop_assert!(!s.starts_with(|c: char| c.is_ascii_whitespace())),
        }
        at = t.span().end;
    }
    prop_assert_eq!(at, text.len());
    let rebuilt: String = tokens.iter().map(|t| t.text(text)).collect();
    prop_assert_eq!(rebuilt, text);
    Ok(())
}

/// Text made of CQL-ish fragments, to hit the lexer's corner cases far more
/// often than uniformly random strings do.
fn cql_soup() -> impl Strategy<Value = String> {
    let fragments = prop::sample::select(vec![
        "'",
        "''",
        "\"",
        "\"\"",
        "$$",
        "$",
        "--",
        "//",
        "/*",
        "*/",
        "\n",
        "\r",
        " ",
        "\t",
        ":",
        "?",
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        "-",
        "+",
        "1",
        "42",
        "0x",
        "0xAB",
        "e",
        "E",
        ".",
        "NaN",
        "Infinity",
        "ab",
        "x_1",
        "é",
        "µs",
        "ms",
        "h",
        "mo",
        ",",
        ";",
        "=",
        "<",
        "!",
        "IF",
        "NOT",
        "EXISTS",
        "now()",
        "uuid()",
        "system.",
        "SET",
        "c",
        "USING",
        "TIMESTAMP",
        "INSERT",
        "UPDATE",
        "DELETE",
        "BEGIN",
        "BATCH",
        "APPLY",
        "deadbeef-0000-0000-0000-",
        "000000000000",
        "\u{0}",
        "\u{2028}",
    ]);
    prop::collection::vec(fragments, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn arbitrary_strings_tile(text in any::<String>()) {
        let tokens: Vec<Token> = Lexer::new(&text).collect();
        assert_tiles(&text, &tokens)?;
        let significant: Vec<Token> = Lexer::new(&text).significant().collect();
        let filtered: Vec<Token> = tokens.into_iter().filter(|t| !t.kind.is_trivia()).collect();
        prop_assert_eq!(significant, filtered);
    }

    #[test]
    fn cql_soup_tiles_and_nothing_panics(text in cql_soup()) {
        let tokens: Vec<Token> = Lexer::new(&text).collect();
        assert_tiles(&text, &tokens)?;
        let significant: Vec<Token> = Lexer::new(&text).significant().collect();
        let filtered: Vec<Token> = tokens.into_iter().filter(|t| !t.kind.is_trivia()).collect();
        prop_assert_eq!(significant, filtered);
        // The layers above must not panic on it either.
        let _ = classify(&text);
        let _ = find_calls(&text);
        let _ = replace_calls(&text, |_| Some("00000000-0000-1000-8000-000000000000"));
        let _ = ferry_router::cql::replace_calls_with_markers(
            &text,
            ferry_router::cql::MarkerStyle::Named,
            |_| true,
        );
    }

    #[test]
    fn string_literals_are_one_token(content in any::<String>()) {
        let literal = format!("'{}'", content.replace('\'', "''"));
        let text = format!("x = {literal} ;");
        let tokens: Vec<(TokenKind, &str)> =
            Lexer::new(&text).significant().map(|t| (t.kind, t.text(&text))).collect();
        prop_assert_eq!(
            tokens,
            vec![
                (TokenKind::Ident, "x"),
                (TokenKind::Eq, "="),
                (TokenKind::String, literal.as_str()),
                (TokenKind::Semicolon, ";"),
            ]
        );
    }

    #[test]
    fn quoted_names_are_one_token(content in "[^\u{0}]{1,20}") {
        let name = format!("\"{}\"", content.replace('"', "\"\""));
        let text = format!("{name}.t");
        let first = Lexer::new(&text).next();
        prop_assert_eq!(first.map(|t| (t.kind, t.text(&text))), Some((TokenKind::QuotedIdent, name.as_str())));
    }

    #[test]
    fn dollar_strings_are_one_token(content in any::<String>().prop_filter("no $$", |s| !s.contains("$$") && !s.ends_with('$'))) {
        let literal = format!("$${content}$$");
        let kinds: Vec<TokenKind> = Lexer::new(&literal).map(|t| t.kind).collect();
        prop_assert_eq!(kinds, vec![TokenKind::DollarString]);
    }

    #[test]
    fn numbers_lex_whole(i in any::<i64>(), f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        let int = i.to_string();
        let float = format!("{f:?}");
        let text = format!("{int} {float}");
        let tokens: Vec<(TokenKind, &str)> =
            Lexer::new(&text).significant().map(|t| (t.kind, t.text(&text))).collect();
        prop_assert_eq!(
            tokens,
            vec![(TokenKind::Integer, int.as_str()), (TokenKind::Float, float.as_str())]
        );
    }

    #[test]
    fn uuids_lex_whole(bytes in any::<[u8; 16]>(), upper in any::<bool>()) {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut uuid = format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]
        );
        if upper {
            uuid = uuid.to_uppercase();
        }
        let text = format!("k = {uuid}");
        let last = Lexer::new(&text).significant().last();
        prop_assert_eq!(last.map(|t| (t.kind, t.text(&text))), Some((TokenKind::Uuid, uuid.as_str())));
    }
}
