//! `decimal`: an arbitrary-precision decimal, `unscaled × 10^(-scale)`.

use std::fmt;

use super::varint::Varint;

/// Above this scale, [`Decimal`]'s `Display` switches to exponent notation
/// rather than writing a long run of zeros after the point.
const MAX_PLAIN_SCALE: i32 = 64;

/// A CQL `decimal`: `unscaled × 10^(-scale)`, exactly as serialized (an
/// `[int]` scale then a varint).
///
/// Equality is representational, like Java's `BigDecimal.equals`: `1.0`
/// (unscaled 10, scale 1) and `1` (unscaled 1, scale 0) differ, so a value
/// re-encodes to the bytes it came from.
///
/// `Display` gives text that Java's `BigDecimal(String)` (hence Cassandra)
/// parses back to the same unscaled value and scale: `123.45` for scale 2,
/// `0.005` for unscaled 5 scale 3, `5E+3` for a negative scale.
///
/// ```
/// use ferry_wire::types::{Decimal, Varint};
/// let d = Decimal::new(Varint::from(-12345i64), 2);
/// assert_eq!(d.to_string(), "-123.45");
/// assert_eq!(Decimal::new(Varint::from(5i64), -3).to_string(), "5E+3");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Decimal {
    /// Power of ten the unscaled value is divided by.
    pub scale: i32,
    /// The digits, as an integer.
    pub unscaled: Varint,
}

impl Decimal {
    /// `unscaled × 10^(-scale)`.
    pub fn new(unscaled: Varint, scale: i32) -> Self {
        Self { scale, unscaled }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.unscaled.magnitude_digits();
        if self.unscaled.is_negative() {
            f.write_str("-")?;
        }
        match self.scale {
            0 => f.write_str(&digits),
            scale @ 1..=MAX_PLAIN_SCALE => {
                let scale = scale as usize;
                match digits.len().checked_sub(scale) {
                    Some(0) | None => {
                        // 0.00ddd: pad with zeros up to `scale` digits.
                        f.write_str("0.")?;
                        for _ in digits.len()..scale {
                            f.write_str("0")?;
                        }
                        f.write_str(&digits)
                    }
                    Some(int_len) => {
                        let (int_part, frac_part) = digits.split_at(int_len);
                        write!(f, "{int_part}.{frac_part}")
                    }
                }
            }
            // `E` is followed by the negated scale; i64 so i32::MIN negates.
            scale => write!(f, "{digits}E{:+}", -i64::from(scale)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(unscaled: i64, scale: i32) -> String {
        Decimal::new(Varint::from(unscaled), scale).to_string()
    }

    #[test]
    fn renders_like_bigdecimal_input() {
        assert_eq!(dec(0, 0), "0");
        assert_eq!(dec(42, 0), "42");
        assert_eq!(dec(12345, 2), "123.45");
        assert_eq!(dec(12345, 5), "0.12345");
        assert_eq!(dec(5, 3), "0.005");
        assert_eq!(dec(-5, 3), "-0.005");
        assert_eq!(dec(0, 2), "0.00");
        assert_eq!(dec(5, -3), "5E+3");
        assert_eq!(dec(-7, 100), "-7E-100");
        assert_eq!(dec(1, i32::MIN), "1E+2147483648");
    }
}
