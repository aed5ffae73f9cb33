//! When two CQL values count as the same.
//!
//! Byte-identical cells are always equal; this module decides the cases
//! where different bytes may still hold the same value, and is only
//! consulted then:
//!
//! - **floats**: equal when their bits are equal, and every NaN equals
//!   every NaN (payloads can change on the way through a client). `0.0`
//!   and `-0.0` differ: Cassandra orders them apart too.
//! - **decimals**: numeric equality by default, so `1.0` equals `1.00`.
//!   Cassandra itself compares decimals numerically (`BigDecimal.compareTo`,
//!   so as clustering keys they are one row), and a migration path that
//!   re-serializes decimals may change the scale. With
//!   [`Equality::strict_decimal_scale`] the scale must match too.
//! - **sets and maps**: compared as sets (of elements, of key/value pairs),
//!   whatever order they were serialized in.
//! - **lists and tuples**: element by element, in order.
//! - **UDTs**: field by field; fields missing at the end of a value (written
//!   before an `ALTER TYPE ... ADD`) equal null fields. Tuples likewise.
//! - **text**: `ascii` and `text` values with the same characters are equal.
//! - everything else: the values are equal (varints are canonical, so this
//!   is numeric equality).

use ferry_wire::types::{CqlValue, Decimal, Varint};

/// Options of value equality.
///
/// ```
/// use ferry_validator::{values_equal, Equality};
/// use ferry_wire::types::{CqlValue, Decimal, Varint};
/// let one = CqlValue::Decimal(Decimal::new(Varint::from(10i64), 1)); // 1.0
/// let one_too = CqlValue::Decimal(Decimal::new(Varint::from(100i64), 2)); // 1.00
/// assert!(values_equal(&one, &one_too, Equality::default()));
/// assert!(!values_equal(&one, &one_too, Equality { strict_decimal_scale: true }));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Equality {
    /// Decimals must have the same scale (`1.0` differs from `1.00`).
    pub strict_decimal_scale: bool,
}

/// Whether `a` and `b` hold the same value (see the module documentation).
///
/// ```
/// use ferry_validator::{values_equal, Equality};
/// use ferry_wire::types::CqlValue;
/// let eq = Equality::default();
/// let set = |v: &[i32]| CqlValue::Set(v.iter().map(|&i| Some(CqlValue::Int(i))).collect());
/// assert!(values_equal(&set(&[1, 2]), &set(&[2, 1]), eq));
/// assert!(!values_equal(&set(&[1, 2]), &set(&[1, 3]), eq));
/// assert!(values_equal(&CqlValue::Double(f64::NAN), &CqlValue::Double(-f64::NAN), eq));
/// assert!(!values_equal(&CqlValue::Double(0.0), &CqlValue::Double(-0.0), eq));
/// ```
pub fn values_equal(a: &CqlValue, b: &CqlValue, eq: Equality) -> bool {
    use CqlValue as V;
    match (a, b) {
        (V::Float(x), V::Float(y)) => (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits(),
        (V::Double(x), V::Double(y)) => (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits(),
        (V::Decimal(x), V::Decimal(y)) => {
            if eq.strict_decimal_scale {
                x == y
            } else {
                normalize(x) == normalize(y)
            }
        }
        (V::Ascii(x) | V::Text(x), V::Ascii(y) | V::Text(y)) => x.as_str() == y.as_str(),
        (V::List(x), V::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| opt_equal(p, q, eq))
        }
        (V::Set(x), V::Set(y)) => same_elements(x, y, |p, q| opt_equal(p, q, eq)),
        (V::Map(x), V::Map(y)) => same_elements(x, y, |(pk, pv), (qk, qv)| {
            opt_equal(pk, qk, eq) && opt_equal(pv, qv, eq)
        }),
        (V::Tuple(x), V::Tuple(y)) => padded_equal(x, y, |p, q| opt_equal(p, q, eq)),
        (V::Udt(x), V::Udt(y)) => {
            // Names come from the type, so equal types give equal names;
            // a name mismatch means different types.
            x.iter().zip(y).all(|((n, _), (m, _))| n == m)
                && padded_equal(
                    &x.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
                    &y.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
                    |p, q| opt_equal(p, q, eq),
                )
        }
        _ => a == b,
    }
}

/// Equality of possibly-null values.
fn opt_equal(a: &Option<CqlValue>, b: &Option<CqlValue>, eq: Equality) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => values_equal(x, y, eq),
        _ => false,
    }
}

/// Same length and every element of `a` matches a distinct element of `b`
/// (in order first: serialized sets and maps are sorted, so that is the
/// usual case and costs one pass).
fn same_elements<T>(a: &[T], b: &[T], equal: impl Fn(&T, &T) -> bool) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.iter().zip(b).all(|(x, y)| equal(x, y)) {
        return true;
    }
    let mut used = vec![false; b.len()];
    a.iter().all(|x| {
        let found = b
            .iter()
            .enumerate()
            .find(|(i, y)| !used.get(*i).copied().unwrap_or(true) && equal(x, y));
        match found {
            Some((i, _)) => {
                if let Some(u) = used.get_mut(i) {
                    *u = true;
                }
                true
            }
            None => false,
        }
    })
}

/// Element by element, a shorter side padded with nulls.
fn padded_equal(
    a: &[Option<CqlValue>],
    b: &[Option<CqlValue>],
    equal: impl Fn(&Option<CqlValue>, &Option<CqlValue>) -> bool,
) -> bool {
    let n = a.len().max(b.len());
    (0..n).all(|i| {
        let x = a.get(i).cloned().flatten();
        let y = b.get(i).cloned().flatten();
        equal(&x, &y)
    })
}

/// A decimal reduced to a canonical form: negative?, digits without
/// trailing zeros, and the scale that goes with them. Zero is
/// `(false, "0", 0)` whatever its scale.
fn normalize(d: &Decimal) -> (bool, String, i64) {
    let (negative, mut digits) = signed_digits(&d.unscaled);
    if digits == "0" {
        return (false, digits, 0);
    }
    let mut scale = i64::from(d.scale);
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
        scale -= 1;
    }
    (negative, digits, scale)
}

/// The sign and decimal digits of the magnitude of `v`.
fn signed_digits(v: &Varint) -> (bool, String) {
    if let Some(small) = v.to_i128() {
        return (small < 0, small.unsigned_abs().to_string());
    }
    let raw = v.as_signed_bytes_be();
    let negative = v.is_negative();
    // Magnitude of a two's complement number: invert and add one.
    let mut magnitude: Vec<u8> = if negative {
        let mut m: Vec<u8> = raw.iter().map(|b| !b).collect();
        for byte in m.iter_mut().rev() {
            let (sum, carry) = byte.overflowing_add(1);
            *byte = sum;
            if !carry {
                break;
            }
        }
        m
    } else {
        raw.to_vec()
    };
    let mut digits = Vec::new();
    loop {
        while magnitude.first() == Some(&0) {
            magnitude.remove(0);
        }
        if magnitude.is_empty() {
            break;
        }
        // Long division by 10, most significant byte first.
        let mut remainder = 0u32;
        for byte in magnitude.iter_mut() {
            let current = remainder * 256 + u32::from(*byte);
            *byte = (current / 10) as u8;
            remainder = current % 10;
        }
        digits.push(b'0' + remainder as u8);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    digits.reverse();
    (negative, String::from_utf8(digits).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dec(unscaled: i128, scale: i32) -> CqlValue {
        CqlValue::Decimal(Decimal::new(Varint::from(unscaled), scale))
    }

    #[test]
    fn decimals_compare_numerically() {
        let eq = Equality::default();
        assert!(values_equal(&dec(10, 1), &dec(1, 0), eq));
        assert!(values_equal(&dec(-1500, 3), &dec(-15, 1), eq));
        assert!(values_equal(&dec(0, 5), &dec(0, -2), eq));
        assert!(!values_equal(&dec(15, 1), &dec(-15, 1), eq));
        assert!(!values_equal(&dec(11, 1), &dec(1, 0), eq));
        assert!(!values_equal(&dec(1, 0), &dec(1, 1), eq));
        // 5E+3 == 5000
        assert!(values_equal(&dec(5, -3), &dec(5000, 0), eq));
    }

    #[test]
    fn big_varints_have_exact_digits() {
        // 2^130 and -(2^130), beyond i128.
        let mut pos = vec![0x04u8];
        pos.extend([0u8; 16]);
        let big = Varint::from_signed_slice_be(&pos).unwrap();
        assert_eq!(
            signed_digits(&big),
            (false, "1361129467683753853853498429727072845824".to_owned())
        );
        let mut neg = vec![0xfcu8];
        neg.extend([0u8; 16]);
        let big_neg = Varint::from_signed_slice_be(&neg).unwrap();
        assert_eq!(
            signed_digits(&big_neg),
            (true, "1361129467683753853853498429727072845824".to_owned())
        );
        // 2^130 * 10 at scale 1 equals 2^130 at scale 0.
        let ten_times = {
            let mut bytes = vec![0x28u8];
            bytes.extend([0u8; 16]);
            Varint::from_signed_slice_be(&bytes).unwrap()
        };
        assert!(values_equal(
            &CqlValue::Decimal(Decimal::new(ten_times, 1)),
            &CqlValue::Decimal(Decimal::new(big, 0)),
            Equality::default()
        ));
    }

    #[test]
    fn maps_are_sets_of_pairs_lists_are_ordered() {
        let eq = Equality::default();
        let map = |pairs: &[(i32, &'static str)]| {
            CqlValue::Map(
                pairs
                    .iter()
                    .map(|&(k, v)| (Some(CqlValue::Int(k)), Some(CqlValue::from(v))))
                    .collect(),
            )
        };
        assert!(values_equal(
            &map(&[(1, "a"), (2, "b")]),
            &map(&[(2, "b"), (1, "a")]),
            eq
        ));
        assert!(!values_equal(
            &map(&[(1, "a"), (2, "b")]),
            &map(&[(1, "b"), (2, "a")]),
            eq
        ));
        let list = |v: &[i32]| CqlValue::List(v.iter().map(|&i| Some(CqlValue::Int(i))).collect());
        assert!(!values_equal(&list(&[1, 2]), &list(&[2, 1]), eq));
        // A set with a repeated element never equals one with two distinct.
        let set = |v: &[i32]| CqlValue::Set(v.iter().map(|&i| Some(CqlValue::Int(i))).collect());
        assert!(!values_equal(&set(&[1, 1]), &set(&[1, 2]), eq));
    }

    #[test]
    fn udts_and_tuples_pad_missing_trailing_fields_with_null() {
        let eq = Equality::default();
        let short = CqlValue::Udt(vec![("a".into(), Some(CqlValue::Int(1)))]);
        let long = CqlValue::Udt(vec![
            ("a".into(), Some(CqlValue::Int(1))),
            ("b".into(), None),
        ]);
        let set_b = CqlValue::Udt(vec![
            ("a".into(), Some(CqlValue::Int(1))),
            ("b".into(), Some(CqlValue::Int(2))),
        ]);
        assert!(values_equal(&short, &long, eq));
        assert!(!values_equal(&short, &set_b, eq));
        let renamed = CqlValue::Udt(vec![("z".into(), Some(CqlValue::Int(1)))]);
        assert!(!values_equal(&short, &renamed, eq));
        let t1 = CqlValue::Tuple(vec![Some(CqlValue::Int(1))]);
        let t2 = CqlValue::Tuple(vec![Some(CqlValue::Int(1)), None]);
        assert!(values_equal(&t1, &t2, eq));
    }

    #[test]
    fn text_kinds_and_nested_floats() {
        let eq = Equality::default();
        assert!(values_equal(
            &CqlValue::Ascii("abc".into()),
            &CqlValue::Text("abc".into()),
            eq
        ));
        let nan_list =
            |bits: u32| CqlValue::List(vec![Some(CqlValue::Float(f32::from_bits(bits)))]);
        assert!(values_equal(
            &nan_list(0x7fc0_0000),
            &nan_list(0x7fc0_0001),
            eq
        ));
        assert!(!values_equal(&CqlValue::Int(1), &CqlValue::Bigint(1), eq));
    }

    proptest! {
        #[test]
        fn decimal_equality_matches_scaling(unscaled in -1_000_000_000i64..1_000_000_000, scale in -20i32..20, extra in 0u32..6) {
            let a = dec(i128::from(unscaled), scale);
            let b = dec(i128::from(unscaled) * 10i128.pow(extra), scale + extra as i32);
            prop_assert!(values_equal(&a, &b, Equality::default()));
            let c = dec(i128::from(unscaled) + 1, scale);
            prop_assert!(!values_equal(&a, &c, Equality::default()));
        }

        #[test]
        fn sets_equal_under_any_permutation(mut v in proptest::collection::vec(any::<i32>(), 0..20), seed in any::<u64>()) {
            v.sort();
            v.dedup();
            let mut w = v.clone();
            // A deterministic shuffle from the seed.
            let mut s = seed;
            for i in (1..w.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                w.swap(i, (s >> 33) as usize % (i + 1));
            }
            let set = |v: &[i32]| CqlValue::Set(v.iter().map(|&i| Some(CqlValue::Int(i))).collect());
            prop_assert!(values_equal(&set(&v), &set(&w), Equality::default()));
            if let Some(first) = w.first_mut() {
                // One occurrence of a unique element replaced by another
                // value: never the same set.
                *first = first.wrapping_add(1);
                prop_assert!(!values_equal(&set(&v), &set(&w), Equality::default()));
            }
        }
    }
}
