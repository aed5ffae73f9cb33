//! `duration` (protocol v5): months, days and nanoseconds, kept apart because
//! a month or a day has no fixed length in nanoseconds.

use std::fmt;

/// A CQL `duration`: three signed counts serialized as `[vint]`s.
///
/// The spec requires all three to share a sign (all `>= 0` or all `<= 0`);
/// [`CqlDuration::is_valid`] checks it, decoding rejects a duration that
/// breaks it and encoding refuses to write one.
///
/// `Display` renders a CQL duration literal: `1mo2d3ns`, `-1mo2d3ns`,
/// zero components left out, `0d` for zero.
///
/// ```
/// use ferry_wire::types::CqlDuration;
/// let d = CqlDuration::new(1, 2, 3);
/// assert_eq!(d.to_string(), "1mo2d3ns");
/// assert!(d.is_valid());
/// assert!(!CqlDuration::new(1, -2, 0).is_valid());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CqlDuration {
    /// Whole months.
    pub months: i32,
    /// Whole days.
    pub days: i32,
    /// Nanoseconds.
    pub nanoseconds: i64,
}

impl CqlDuration {
    /// A duration of `months`, `days` and `nanoseconds`.
    pub fn new(months: i32, days: i32, nanoseconds: i64) -> Self {
        Self {
            months,
            days,
            nanoseconds,
        }
    }

    /// Whether the three components share a sign, as the spec requires.
    pub fn is_valid(&self) -> bool {
        let all_non_negative = self.months >= 0 && self.days >= 0 && self.nanoseconds >= 0;
        let all_non_positive = self.months <= 0 && self.days <= 0 && self.nanoseconds <= 0;
        all_non_negative || all_non_positive
    }

    /// Whether any component is below zero.
    pub fn is_negative(&self) -> bool {
        self.months < 0 || self.days < 0 || self.nanoseconds < 0
    }
}

impl fmt::Display for CqlDuration {
    /// The CQL literal. A duration with mixed signs has no literal; it is
    /// rendered with one leading `-` and absolute values (not re-parseable
    /// to the same value, but such a duration cannot be stored anyway).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_negative() {
            f.write_str("-")?;
        }
        if self.months == 0 && self.days == 0 && self.nanoseconds == 0 {
            return f.write_str("0d");
        }
        if self.months != 0 {
            write!(f, "{}mo", self.months.unsigned_abs())?;
        }
        if self.days != 0 {
            write!(f, "{}d", self.days.unsigned_abs())?;
        }
        if self.nanoseconds != 0 {
            write!(f, "{}ns", self.nanoseconds.unsigned_abs())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(CqlDuration::new(0, 0, 0).to_string(), "0d");
        assert_eq!(CqlDuration::new(-1, -2, -3).to_string(), "-1mo2d3ns");
        assert_eq!(CqlDuration::new(0, 7, 0).to_string(), "7d");
        assert_eq!(
            CqlDuration::new(i32::MIN, 0, i64::MIN).to_string(),
            "-2147483648mo9223372036854775808ns"
        );
    }

    #[test]
    fn sign_rule() {
        assert!(CqlDuration::new(0, 0, 0).is_valid());
        assert!(CqlDuration::new(-1, 0, -5).is_valid());
        assert!(!CqlDuration::new(0, 1, -1).is_valid());
    }
}
