//! Tokens as text and as CQL values, partitioner names, and token order.

use ferry_conn::token::{Partitioner, Token, TokenError};
use proptest::prelude::*;

const RANDOM_MAX: u128 = 1 << 127;

#[test]
fn partitioner_class_names() {
    for (name, expected) in [
        (
            "org.apache.cassandra.dht.Murmur3Partitioner",
            Partitioner::Murmur3,
        ),
        ("Murmur3Partitioner", Partitioner::Murmur3),
        (
            "org.apache.cassandra.dht.RandomPartitioner",
            Partitioner::Random,
        ),
        ("RandomPartitioner", Partitioner::Random),
    ] {
        assert_eq!(Partitioner::from_class_name(name), Ok(expected));
        assert_eq!(name.parse::<Partitioner>(), Ok(expected));
    }
    for unsupported in [
        "org.apache.cassandra.dht.ByteOrderedPartitioner",
        "org.apache.cassandra.dht.OrderPreservingPartitioner",
        "org.apache.cassandra.dht.LocalPartitioner",
        "com.example.Murmur3Partitioner",
        "murmur3partitioner",
        "",
    ] {
        let err = Partitioner::from_class_name(unsupported).unwrap_err();
        assert_eq!(
            err,
            TokenError::UnsupportedPartitioner(unsupported.to_owned())
        );
        assert!(err.to_string().contains("Murmur3Partitioner"));
    }
    assert_eq!(
        Partitioner::Random.to_string(),
        "org.apache.cassandra.dht.RandomPartitioner"
    );
}

#[test]
fn minimum_and_maximum_tokens() {
    let m = Partitioner::Murmur3;
    assert_eq!(m.min_token(), Token::murmur3(i64::MIN));
    assert_eq!(m.max_token(), Token::murmur3(i64::MAX));
    assert!(m.min_token().is_min() && !m.min_token().is_max());
    assert!(m.max_token().is_max());

    let r = Partitioner::Random;
    assert_eq!(r.min_token().to_string(), "-1");
    assert_eq!(r.min_token().random_value(), None);
    assert_eq!(r.max_token(), Token::random(RANDOM_MAX).unwrap());
    assert!(r.min_token() < Token::random(0).unwrap());
    assert!(Token::random(RANDOM_MAX + 1).is_err());
}

#[test]
fn parse_known_texts() {
    let m = Partitioner::Murmur3;
    assert_eq!(
        Token::parse(m, "-9223372036854775808"),
        Ok(Token::murmur3(i64::MIN))
    );
    assert_eq!(
        Token::parse(m, " 42 "),
        Ok(Token::murmur3(42)),
        "system tables never pad, but trimming is harmless"
    );
    for bad in ["", "x", "9223372036854775808", "1.5", "0x10"] {
        assert!(
            matches!(Token::parse(m, bad), Err(TokenError::InvalidToken { .. })),
            "{bad:?}"
        );
    }

    let r = Partitioner::Random;
    assert_eq!(Token::parse(r, "-1"), Ok(r.min_token()));
    assert_eq!(Token::parse(r, "0"), Token::random(0));
    assert_eq!(
        Token::parse(r, "170141183460469231731687303715884105728"),
        Ok(r.max_token())
    );
    for bad in [
        "170141183460469231731687303715884105729",
        "-2",
        "",
        "abc",
        "340282366920938463463374607431768211456",
    ] {
        assert!(
            matches!(Token::parse(r, bad), Err(TokenError::InvalidToken { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn cql_bytes_of_known_tokens() {
    assert_eq!(
        Token::murmur3(-2).to_cql_bytes(),
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]
    );
    let r = Partitioner::Random;
    assert_eq!(r.min_token().to_cql_bytes(), [0xff]);
    assert_eq!(Token::random(0).unwrap().to_cql_bytes(), [0x00]);
    assert_eq!(Token::random(0x7f).unwrap().to_cql_bytes(), [0x7f]);
    assert_eq!(Token::random(0x80).unwrap().to_cql_bytes(), [0x00, 0x80]);
    let mut max = vec![0x00, 0x80];
    max.extend([0u8; 15]);
    assert_eq!(r.max_token().to_cql_bytes(), max);

    // Redundant sign bytes are accepted, as by Java's BigInteger.
    assert_eq!(Token::from_cql_bytes(r, &[0, 0, 0, 5]), Token::random(5));
    assert_eq!(Token::from_cql_bytes(r, &[0xff, 0xff]), Ok(r.min_token()));
    let mut padded_max = vec![0u8; 8];
    padded_max.extend(&max);
    assert_eq!(Token::from_cql_bytes(r, &padded_max), Ok(r.max_token()));

    let bad_random: [&[u8]; 4] = [
        &[],
        &[0xfe],
        &[0x80, 0],
        &[0x00, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    ];
    for bad in bad_random {
        assert!(Token::from_cql_bytes(r, bad).is_err(), "{bad:02x?}");
    }
    // Over 2^127 with 17 significant bytes.
    let mut too_big = vec![0x01];
    too_big.extend([0u8; 16]);
    assert!(Token::from_cql_bytes(r, &too_big).is_err());

    for bad in [&[][..], &[0; 7], &[0; 9]] {
        assert!(Token::from_cql_bytes(Partitioner::Murmur3, bad).is_err());
    }
}

#[test]
fn tokens_of_different_partitioners_are_told_apart() {
    assert_eq!(Token::murmur3(5).random_value(), None);
    assert_eq!(Token::random(5).unwrap().murmur3_value(), None);
    assert_ne!(
        Token::murmur3(5).partitioner(),
        Token::random(5).unwrap().partitioner()
    );
    assert_eq!(format!("{:?}", Token::murmur3(-5)), "Murmur3(-5)");
    assert_eq!(
        format!("{:?}", Partitioner::Random.min_token()),
        "Random(-1)"
    );
}

fn random_token() -> impl Strategy<Value = Token> {
    prop_oneof![
        any::<u128>().prop_map(|v| Token::random(v % (RANDOM_MAX + 1)).unwrap()),
        Just(Partitioner::Random.min_token()),
        Just(Partitioner::Random.max_token()),
        (0u128..300).prop_map(|v| Token::random(v).unwrap()),
    ]
}

proptest! {
    #[test]
    fn murmur3_text_and_bytes_round_trip(v in any::<i64>()) {
        let t = Token::murmur3(v);
        prop_assert_eq!(t.murmur3_value(), Some(v));
        prop_assert_eq!(t.to_string(), v.to_string());
        prop_assert_eq!(Token::parse(Partitioner::Murmur3, &t.to_string()), Ok(t));
        prop_assert_eq!(t.to_cql_bytes(), v.to_be_bytes().to_vec());
        prop_assert_eq!(Token::from_cql_bytes(Partitioner::Murmur3, &t.to_cql_bytes()), Ok(t));
    }

    #[test]
    fn random_text_and_bytes_round_trip(t in random_token()) {
        prop_assert_eq!(Token::parse(Partitioner::Random, &t.to_string()), Ok(t));
        let bytes = t.to_cql_bytes();
        prop_assert_eq!(Token::from_cql_bytes(Partitioner::Random, &bytes), Ok(t));
        // Minimal two's complement: no redundant leading byte.
        if bytes.len() > 1 {
            let redundant = (bytes[0] == 0x00 && bytes[1] & 0x80 == 0)
                || (bytes[0] == 0xff && bytes[1] & 0x80 != 0);
            prop_assert!(!redundant, "{:02x?}", bytes);
        }
    }

    #[test]
    fn token_order_is_numeric_order(a in any::<i64>(), b in any::<i64>(), x in random_token(), y in random_token()) {
        prop_assert_eq!(Token::murmur3(a).cmp(&Token::murmur3(b)), a.cmp(&b));
        // Random: the minimum (-1, no value) first, then values in order;
        // `Option`'s order (None < Some) says exactly that.
        prop_assert_eq!(x.cmp(&y), x.random_value().cmp(&y.random_value()));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        for p in [Partitioner::Murmur3, Partitioner::Random] {
            if let Ok(t) = Token::from_cql_bytes(p, &bytes) {
                prop_assert_eq!(t.partitioner(), p);
                prop_assert_eq!(Token::from_cql_bytes(p, &t.to_cql_bytes()), Ok(t));
            }
        }
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(text in "\\PC{0,45}") {
        for p in [Partitioner::Murmur3, Partitioner::Random] {
            if let Ok(t) = Token::parse(p, &text) {
                prop_assert_eq!(Token::parse(p, &t.to_string()), Ok(t));
            }
        }
    }
}
