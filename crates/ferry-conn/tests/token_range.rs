//! Token ranges at the edges of the token space: the minimum and maximum
//! tokens, the whole ring, and their CQL bounds.

use std::num::NonZeroUsize;

use ferry_conn::token::{Partitioner, Token, TokenError, TokenRange};

const RANDOM_MAX: u128 = 1 << 127;

fn m(v: i64) -> Token {
    Token::murmur3(v)
}

fn range(a: Token, b: Token) -> TokenRange {
    TokenRange::new(a, b).unwrap()
}

fn parts(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

fn bounds_text(r: &TokenRange) -> Vec<String> {
    r.cql_bounds().iter().map(|b| b.to_cql("\"k\"")).collect()
}

#[test]
fn mixing_partitioners_is_refused() {
    assert_eq!(
        TokenRange::new(m(0), Token::random(1).unwrap()),
        Err(TokenError::PartitionerMismatch {
            expected: Partitioner::Murmur3,
            found: Partitioner::Random
        })
    );
    let r = range(m(0), m(10));
    assert!(!r.contains(Token::random(5).unwrap()));
}

#[test]
fn plain_range_excludes_start_includes_end() {
    let r = range(m(-5), m(5));
    assert!(!r.is_wrapping() && !r.is_full_ring());
    assert!(!r.contains(m(-5)));
    assert!(r.contains(m(-4)));
    assert!(r.contains(m(5)));
    assert!(!r.contains(m(6)));
    assert_eq!(r.token_count(), 10);
    assert_eq!(r.unwrap(), [r]);
    assert_eq!(bounds_text(&r), ["token(\"k\") > -5 AND token(\"k\") <= 5"]);
}

#[test]
fn whole_ring_murmur3() {
    let p = Partitioner::Murmur3;
    let full = TokenRange::full_ring(p);
    assert!(full.is_full_ring() && full.is_wrapping());
    assert_eq!(full.token_count(), 1 << 64);
    for t in [i64::MIN, -1, 0, 1, i64::MAX] {
        assert!(full.contains(m(t)));
    }
    // (min, min] unwraps to (min, max] alone: the minimum token holds no key.
    assert_eq!(full.unwrap(), [range(p.min_token(), p.max_token())]);
    assert_eq!(
        bounds_text(&full),
        ["token(\"k\") > -9223372036854775808 AND token(\"k\") <= 9223372036854775807"]
    );

    // A one-token ring's range (t, t] is whole too, and unwraps in two.
    let single = range(m(7), m(7));
    assert!(single.is_full_ring());
    assert!(single.contains(m(7)) && single.contains(m(i64::MIN)));
    assert_eq!(
        single.unwrap(),
        [range(m(7), p.max_token()), range(p.min_token(), m(7))]
    );
    // (max, max] is whole and unwraps to (min, max].
    let at_max = range(p.max_token(), p.max_token());
    assert_eq!(at_max.unwrap(), [range(p.min_token(), p.max_token())]);

    // Halving the whole ring from the minimum: (min, 0] and (0, min].
    assert_eq!(
        full.split(parts(2)),
        [range(p.min_token(), m(0)), range(m(0), p.min_token())]
    );
}

#[test]
fn ranges_touching_the_minimum_and_maximum() {
    let p = Partitioner::Murmur3;
    // Ending at the minimum wraps; only (start, max] carries keys.
    let to_min = range(m(10), p.min_token());
    assert!(to_min.is_wrapping());
    assert!(to_min.contains(p.min_token()) && to_min.contains(p.max_token()));
    assert_eq!(to_min.unwrap(), [range(m(10), p.max_token())]);
    // Starting at the maximum wraps; only (min, end] carries keys.
    let from_max = range(p.max_token(), m(10));
    assert_eq!(from_max.unwrap(), [range(p.min_token(), m(10))]);
    // (max, min] holds nothing but the minimum token: nothing to scan.
    let only_min = range(p.max_token(), p.min_token());
    assert_eq!(only_min.token_count(), 1);
    assert!(only_min.contains(p.min_token()));
    assert!(only_min.unwrap().is_empty());
    assert!(only_min.cql_bounds().is_empty());
    // A plain range up to the maximum needs no unwrapping.
    let to_max = range(m(0), p.max_token());
    assert!(!to_max.is_wrapping());
    assert_eq!(to_max.token_count(), i64::MAX as u128);
}

#[test]
fn random_partitioner_bounds_use_minus_one_and_two_to_the_127() {
    let p = Partitioner::Random;
    let wrap = range(Token::random(100).unwrap(), Token::random(5).unwrap());
    assert_eq!(
        bounds_text(&wrap),
        [
            "token(\"k\") > 100 AND token(\"k\") <= 170141183460469231731687303715884105728",
            "token(\"k\") > -1 AND token(\"k\") <= 5",
        ]
    );
    // Token 0 is a real token (MD5 can hash to it) and lies in (-1, 5].
    assert!(wrap.contains(Token::random(0).unwrap()));
    assert!(wrap.contains(p.min_token()));
    let full = TokenRange::full_ring(p);
    assert_eq!(full.token_count(), RANDOM_MAX + 2);
    assert_eq!(full.unwrap(), [range(p.min_token(), p.max_token())]);
    // 2^127 + 1 real tokens split into 3: sizes differ by at most one.
    let real = range(p.min_token(), p.max_token());
    let thirds: Vec<u128> = real
        .split(parts(3))
        .iter()
        .map(TokenRange::token_count)
        .collect();
    assert_eq!(thirds.iter().sum::<u128>(), RANDOM_MAX + 1);
    assert!(thirds.iter().max().unwrap() - thirds.iter().min().unwrap() <= 1);
}

#[test]
fn split_small_and_wrapping_ranges() {
    // Fewer tokens than parts: one-token pieces, never an empty (t, t].
    let tiny = range(m(0), m(3));
    assert_eq!(
        tiny.split(parts(10)),
        [range(m(0), m(1)), range(m(1), m(2)), range(m(2), m(3))]
    );
    assert_eq!(tiny.split(parts(1)), [tiny]);

    // A wrapping range splits across the minimum token.
    let wrap = range(m(i64::MAX - 2), m(i64::MIN + 2));
    assert_eq!(wrap.token_count(), 5);
    let pieces = wrap.split(parts(5));
    let ends: Vec<Token> = pieces.iter().map(TokenRange::end).collect();
    assert_eq!(
        ends,
        [
            m(i64::MAX - 1),
            m(i64::MAX),
            m(i64::MIN),
            m(i64::MIN + 1),
            m(i64::MIN + 2)
        ]
    );
}

#[test]
fn display() {
    assert_eq!(range(m(-1), m(1)).to_string(), "(-1, 1]");
    let p = Partitioner::Random;
    assert_eq!(
        range(p.min_token(), Token::random(9).unwrap()).to_string(),
        "(-1, 9]"
    );
}
