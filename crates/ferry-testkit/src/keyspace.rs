//! Unique keyspace names, so tests can share one cluster without colliding.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Longest part of the test name kept in the keyspace name. Cassandra allows
/// 48 characters; this leaves room for the `t_` prefix and the unique suffix.
const MAX_TEST_PART: usize = 30;

/// Names made by this process so far (wrapping after 65 536).
static COUNTER: AtomicU16 = AtomicU16::new(0);

/// A keyspace name that is valid CQL, unquoted, readable (it contains the
/// test name) and unique across tests, processes and runs.
///
/// The name is `t_<test name, lowercased, other characters as '_'>_<12 hex>`,
/// at most 45 characters. The suffix is a per-process random part (from the
/// clock and the process id) followed by a per-process counter, so names never
/// repeat within a process (for the first 65 536 names) and two processes
/// collide only if their random parts are equal.
///
/// ```
/// let a = ferry_testkit::unique_keyspace_name("relay::Round-Trip");
/// let b = ferry_testkit::unique_keyspace_name("relay::Round-Trip");
/// assert!(a.starts_with("t_relay__round_trip_"));
/// assert_ne!(a, b);
/// ```
pub fn unique_keyspace_name(test: &str) -> String {
    let mut readable: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(MAX_TEST_PART)
        .collect();
    if readable.is_empty() {
        readable.push('x');
    }
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("t_{readable}_{:08x}{count:04x}", process_random())
}

/// 32 bits mixed from the time of the first call and the process id.
fn process_random() -> u32 {
    static RANDOM: OnceLock<u32> = OnceLock::new();
    *RANDOM.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let mut x = nanos ^ (u64::from(std::process::id()) << 40);
        // splitmix64 finalizer: spreads every input bit over the 32 we keep.
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
        (x >> 32) as u32
    })
}

#[cfg(test)]
mod tests {
    use super::unique_keyspace_name;
    use std::collections::HashSet;

    #[test]
    fn names_are_valid_cql_identifiers() {
        for test in [
            "",
            "a",
            "Some::Long::Path::to_a_test_with_a_very_long_name_indeed",
            "ünïcode",
        ] {
            let name = unique_keyspace_name(test);
            assert!(name.len() <= 48, "{name} too long");
            assert!(name.starts_with("t_"));
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{name}"
            );
        }
    }

    #[test]
    fn names_do_not_repeat() {
        let names: HashSet<String> = (0..50_000).map(|_| unique_keyspace_name("t")).collect();
        assert_eq!(names.len(), 50_000);
    }
}
