//! `date` and `time`: the protocol's representations and their calendar
//! meaning.
//!
//! A `date` is an unsigned 32-bit day count with the Unix epoch at 2^31, so
//! that unsigned byte order is chronological order. A `time` is nanoseconds
//! since midnight. The calendar is the proleptic Gregorian one (as in Java's
//! `java.time` and Joda's ISO chronology that Cassandra uses).

/// The `date` value of 1970-01-01.
pub const DATE_EPOCH: u32 = 1 << 31;

/// The largest legal `time`: 23:59:59.999999999.
pub const MAX_TIME_NANOS: i64 = 86_399_999_999_999;

/// Converts a signed day count from 1970-01-01 to a `date` value, if in range.
///
/// ```
/// use ferry_wire::types::date_time::{date_from_days_since_epoch, DATE_EPOCH};
/// assert_eq!(date_from_days_since_epoch(0), Some(DATE_EPOCH));
/// assert_eq!(date_from_days_since_epoch(-1), Some(DATE_EPOCH - 1));
/// assert_eq!(date_from_days_since_epoch(1 << 31), None);
/// ```
pub fn date_from_days_since_epoch(days: i64) -> Option<u32> {
    u32::try_from(days.checked_add(i64::from(DATE_EPOCH))?).ok()
}

/// Converts a `date` value to a signed day count from 1970-01-01.
///
/// ```
/// use ferry_wire::types::date_time::date_to_days_since_epoch;
/// assert_eq!(date_to_days_since_epoch(0), -(1i64 << 31));
/// ```
pub fn date_to_days_since_epoch(date: u32) -> i64 {
    i64::from(date) - i64::from(DATE_EPOCH)
}

/// Whether `nanos` is a legal `time` value (0 to [`MAX_TIME_NANOS`]).
///
/// ```
/// use ferry_wire::types::date_time::is_valid_time;
/// assert!(is_valid_time(0));
/// assert!(!is_valid_time(86_400_000_000_000));
/// assert!(!is_valid_time(-1));
/// ```
pub fn is_valid_time(nanos: i64) -> bool {
    (0..=MAX_TIME_NANOS).contains(&nanos)
}

/// The (year, month, day) of a day count from 1970-01-01, proleptic
/// Gregorian. Days-to-civil algorithm by Howard Hinnant (public domain),
/// exact for every `i32`-sized day count.
///
/// ```
/// use ferry_wire::types::date_time::civil_from_days;
/// assert_eq!(civil_from_days(0), (1970, 1, 1));
/// assert_eq!(civil_from_days(-1), (1969, 12, 31));
/// assert_eq!(civil_from_days(11_016), (2000, 2, 29));
/// ```
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats a `time` value as `hh:mm:ss.nnnnnnnnn`, the text form Cassandra
/// parses back exactly; `None` if out of range.
///
/// ```
/// use ferry_wire::types::date_time::format_time;
/// assert_eq!(format_time(3_723_000_000_004).as_deref(), Some("01:02:03.000000004"));
/// assert_eq!(format_time(-1), None);
/// ```
pub fn format_time(nanos: i64) -> Option<String> {
    if !is_valid_time(nanos) {
        return None;
    }
    let secs = nanos / 1_000_000_000;
    Some(format!(
        "{:02}:{:02}:{:02}.{:09}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        nanos % 1_000_000_000
    ))
}

/// Formats a `date` value as `yyyy-mm-dd` when the year has four digits
/// (1 to 9999), the range where every Cassandra version parses it back to the
/// same day; `None` otherwise.
///
/// ```
/// use ferry_wire::types::date_time::{format_date, DATE_EPOCH};
/// assert_eq!(format_date(DATE_EPOCH).as_deref(), Some("1970-01-01"));
/// assert_eq!(format_date(0), None);
/// ```
pub fn format_date(date: u32) -> Option<String> {
    let (y, m, d) = civil_from_days(date_to_days_since_epoch(date));
    (1..=9999)
        .contains(&y)
        .then(|| format!("{y:04}-{m:02}-{d:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_date_examples() {
        // Section 6.5 of the v4/v5 spec.
        assert_eq!(
            civil_from_days(date_to_days_since_epoch(0)),
            (-5_877_641, 6, 23)
        );
        assert_eq!(
            civil_from_days(date_to_days_since_epoch(DATE_EPOCH)),
            (1970, 1, 1)
        );
        // The spec lists 2^32 (not a u32) as 5881580-07-11; that is the date
        // of the largest value, 2^32 - 1 (checked against Python's calendar
        // shifted by 400-year cycles).
        assert_eq!(
            civil_from_days(date_to_days_since_epoch(u32::MAX)),
            (5_881_580, 7, 11)
        );
    }

    #[test]
    fn known_dates() {
        // 2024-03-01 is 19783 days after the epoch; 1900-03-01 is -25508.
        assert_eq!(civil_from_days(19_783), (2024, 3, 1));
        assert_eq!(civil_from_days(-25_508), (1900, 3, 1));
        assert_eq!(
            format_date(date_from_days_since_epoch(19_782).unwrap()).as_deref(),
            Some("2024-02-29")
        );
        assert_eq!(
            format_date(date_from_days_since_epoch(-719_162).unwrap()).as_deref(),
            Some("0001-01-01")
        );
        assert_eq!(
            format_date(date_from_days_since_epoch(-719_163).unwrap()),
            None
        );
    }

    #[test]
    fn time_bounds() {
        assert_eq!(
            format_time(MAX_TIME_NANOS).as_deref(),
            Some("23:59:59.999999999")
        );
        assert_eq!(format_time(MAX_TIME_NANOS + 1), None);
    }
}
