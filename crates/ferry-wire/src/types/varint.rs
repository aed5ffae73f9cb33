//! `varint`: an arbitrary-precision integer kept as its serialized bytes.
//!
//! The wire format is the minimal big-endian two's complement encoding
//! (what Java's `BigInteger.toByteArray` produces). Keeping those bytes, rather
//! than converting to a bignum, makes decoding zero-copy and re-encoding
//! byte-exact; conversions to machine integers and to decimal text are offered
//! on top.

use std::fmt;

use bytes::Bytes;

/// An arbitrary-precision signed integer, stored as its minimal big-endian
/// two's complement bytes (never empty).
///
/// Equality is numeric equality, because the representation is canonical.
///
/// ```
/// use bytes::Bytes;
/// use ferry_wire::types::Varint;
/// // Examples from section 6.24 of the protocol spec:
/// assert_eq!(Varint::from(128i64).as_signed_bytes_be(), &[0x00, 0x80]);
/// assert_eq!(Varint::from(-129i64).as_signed_bytes_be(), &[0xff, 0x7f]);
/// // Redundant sign bytes are dropped (zero-copy: a sub-slice is kept).
/// let v = Varint::from_signed_bytes_be(Bytes::from_static(&[0xff, 0xff, 0x80])).unwrap();
/// assert_eq!(i64::try_from(&v).unwrap(), -128);
/// assert_eq!(v.to_string(), "-128");
/// assert!(Varint::from_signed_bytes_be(Bytes::new()).is_none());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Varint(Bytes);

/// A [`Varint`] that does not fit the requested machine integer.
///
/// ```
/// use ferry_wire::types::{Varint, VarintOverflow};
/// let big = Varint::from(u64::MAX);
/// assert_eq!(i64::try_from(&big), Err(VarintOverflow));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarintOverflow;

impl fmt::Display for VarintOverflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("varint out of range for the target integer type")
    }
}

impl std::error::Error for VarintOverflow {}

/// How many leading bytes of `raw` only repeat the sign and can be dropped.
fn redundant_prefix(raw: &[u8]) -> usize {
    let mut skip = 0;
    while let [first, second, ..] = raw.get(skip..).unwrap_or_default() {
        let redundant =
            (*first == 0x00 && second & 0x80 == 0) || (*first == 0xff && second & 0x80 != 0);
        if !redundant {
            break;
        }
        skip += 1;
    }
    skip
}

impl Varint {
    /// Wraps big-endian two's complement bytes, dropping redundant leading
    /// sign bytes (by slicing, no copy). `None` if `bytes` is empty, which is
    /// not an integer.
    pub fn from_signed_bytes_be(bytes: Bytes) -> Option<Self> {
        if bytes.is_empty() {
            return None;
        }
        let skip = redundant_prefix(&bytes);
        Some(Self(bytes.slice(skip..)))
    }

    /// Like [`Varint::from_signed_bytes_be`], copying from a slice.
    pub fn from_signed_slice_be(raw: &[u8]) -> Option<Self> {
        if raw.is_empty() {
            return None;
        }
        let skip = redundant_prefix(raw);
        Some(Self(Bytes::copy_from_slice(raw.get(skip..).unwrap_or(raw))))
    }

    /// The minimal big-endian two's complement bytes (what goes on the wire).
    pub fn as_signed_bytes_be(&self) -> &[u8] {
        &self.0
    }

    /// The underlying buffer.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Gives back the underlying buffer.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.0.first().is_some_and(|b| b & 0x80 != 0)
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.0.as_ref() == [0]
    }

    /// The value as an `i128`, if it fits.
    pub fn to_i128(&self) -> Option<i128> {
        if self.0.len() > 16 {
            return None;
        }
        // Sign-extend into 16 bytes.
        let fill = if self.is_negative() { 0xff } else { 0x00 };
        let mut out = [fill; 16];
        let start = 16 - self.0.len();
        out.get_mut(start..)?.copy_from_slice(&self.0);
        Some(i128::from_be_bytes(out))
    }

    /// The value as an `i64`, if it fits.
    pub fn to_i64(&self) -> Option<i64> {
        self.to_i128().and_then(|v| i64::try_from(v).ok())
    }

    /// The absolute value's decimal digits (no sign), for any size.
    pub(crate) fn magnitude_digits(&self) -> String {
        if let Some(v) = self.to_i128() {
            return v.unsigned_abs().to_string();
        }
        // Two's complement negation gives the magnitude as unsigned bytes.
        let mut mag = self.0.to_vec();
        if self.is_negative() {
            for b in mag.iter_mut() {
                *b = !*b;
            }
            for b in mag.iter_mut().rev() {
                let (sum, carry) = b.overflowing_add(1);
                *b = sum;
                if !carry {
                    break;
                }
            }
        }
        // Big-endian base-2^32 limbs, then repeated division by 10^9.
        let pad = (4 - mag.len() % 4) % 4;
        let mut padded = vec![0u8; pad];
        padded.extend_from_slice(&mag);
        let mut limbs: Vec<u32> = padded
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        const CHUNK: u64 = 1_000_000_000;
        let mut chunks = Vec::new();
        loop {
            let first_nonzero = limbs.iter().position(|&l| l != 0).unwrap_or(limbs.len());
            limbs.drain(..first_nonzero);
            if limbs.is_empty() {
                break;
            }
            let mut rem = 0u64;
            for limb in limbs.iter_mut() {
                let cur = (rem << 32) | u64::from(*limb);
                *limb = (cur / CHUNK) as u32;
                rem = cur % CHUNK;
            }
            chunks.push(rem as u32);
        }
        let mut out = String::with_capacity(chunks.len() * 9);
        for (i, chunk) in chunks.iter().rev().enumerate() {
            if i == 0 {
                out.push_str(&chunk.to_string());
            } else {
                out.push_str(&format!("{chunk:09}"));
            }
        }
        if out.is_empty() {
            out.push('0');
        }
        out
    }
}

impl Default for Varint {
    /// Zero.
    fn default() -> Self {
        Self(Bytes::from_static(&[0]))
    }
}

impl From<i128> for Varint {
    fn from(v: i128) -> Self {
        let raw = v.to_be_bytes();
        let skip = redundant_prefix(&raw);
        Self(Bytes::copy_from_slice(raw.get(skip..).unwrap_or(&raw)))
    }
}

macro_rules! varint_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Varint {
            fn from(v: $t) -> Self {
                Self::from(i128::from(v))
            }
        }
    )*};
}
varint_from!(i8, i16, i32, i64, u8, u16, u32, u64);

impl TryFrom<&Varint> for i128 {
    type Error = VarintOverflow;

    fn try_from(v: &Varint) -> Result<Self, VarintOverflow> {
        v.to_i128().ok_or(VarintOverflow)
    }
}

impl TryFrom<&Varint> for i64 {
    type Error = VarintOverflow;

    fn try_from(v: &Varint) -> Result<Self, VarintOverflow> {
        v.to_i64().ok_or(VarintOverflow)
    }
}

impl fmt::Display for Varint {
    /// Decimal digits, any size.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad_integral(!self.is_negative(), "", &self.magnitude_digits())
    }
}

impl fmt::Debug for Varint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Varint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples() {
        // Section 6.24 of the v4/v5 spec.
        let cases: [(i64, &[u8]); 8] = [
            (0, &[0x00]),
            (1, &[0x01]),
            (127, &[0x7f]),
            (128, &[0x00, 0x80]),
            (129, &[0x00, 0x81]),
            (-1, &[0xff]),
            (-128, &[0x80]),
            (-129, &[0xff, 0x7f]),
        ];
        for (value, bytes) in cases {
            let v = Varint::from(value);
            assert_eq!(v.as_signed_bytes_be(), bytes, "{value}");
            let back = Varint::from_signed_slice_be(bytes).unwrap();
            assert_eq!(back.to_i64(), Some(value));
        }
    }

    #[test]
    fn normalisation_keeps_needed_sign_bytes() {
        let v = Varint::from_signed_slice_be(&[0x00, 0x00, 0x80]).unwrap();
        assert_eq!(v.as_signed_bytes_be(), &[0x00, 0x80]);
        let v = Varint::from_signed_slice_be(&[0xff, 0x7f]).unwrap();
        assert_eq!(v.as_signed_bytes_be(), &[0xff, 0x7f]);
        let v = Varint::from_signed_slice_be(&[0xff, 0xff]).unwrap();
        assert_eq!(v.as_signed_bytes_be(), &[0xff]);
    }

    #[test]
    fn overflow_is_reported() {
        let big = Varint::from(i128::from(i64::MAX) + 1);
        assert_eq!(i64::try_from(&big), Err(VarintOverflow));
        assert_eq!(i128::try_from(&big), Ok(i128::from(i64::MAX) + 1));
        let huge = Varint::from_signed_slice_be(&[0x01; 17]).unwrap();
        assert_eq!(huge.to_i128(), None);
    }

    #[test]
    fn big_values_print_in_decimal() {
        // 2^128 = 340282366920938463463374607431768211456
        let mut raw = vec![0x01];
        raw.extend_from_slice(&[0u8; 16]);
        let v = Varint::from_signed_slice_be(&raw).unwrap();
        assert_eq!(v.to_string(), "340282366920938463463374607431768211456");
        // -2^128: two's complement is 0xff 0x00.. (17 bytes)
        let mut raw = vec![0xff];
        raw.extend_from_slice(&[0u8; 16]);
        let v = Varint::from_signed_slice_be(&raw).unwrap();
        assert_eq!(v.to_string(), "-340282366920938463463374607431768211456");
        // 10^30 + 7 crosses several 10^9 chunks with inner zeros.
        let n: i128 = 1_000_000_000_000_000_000_000_000_007;
        assert_eq!(Varint::from(n).magnitude_digits(), n.to_string());
        assert_eq!(format!("{:>6}", Varint::from(-42i32)), "   -42");
        // 10^40 and -(10^40 + 5) take the bignum path (17 significant bytes)
        // and have all-zero 10^9 chunks in the middle. Bytes from Python's
        // int.to_bytes(18, 'big', signed=True).
        let ten40 = [
            0x00, 0x1d, 0x63, 0x29, 0xf1, 0xc3, 0x5c, 0xa4, 0xbf, 0xab, 0xb9, 0xf5, 0x61, 0x00,
            0x00, 0x00, 0x00, 0x00,
        ];
        let v = Varint::from_signed_slice_be(&ten40).unwrap();
        assert_eq!(v.as_signed_bytes_be().len(), 17);
        assert_eq!(v.to_string(), format!("1{}", "0".repeat(40)));
        let neg = [
            0xff, 0xe2, 0x9c, 0xd6, 0x0e, 0x3c, 0xa3, 0x5b, 0x40, 0x54, 0x46, 0x0a, 0x9e, 0xff,
            0xff, 0xff, 0xff, 0xfb,
        ];
        let v = Varint::from_signed_slice_be(&neg).unwrap();
        assert_eq!(v.to_string(), format!("-1{}5", "0".repeat(39)));
    }
}
