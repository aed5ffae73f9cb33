//! Parsing the `KEY=VALUE` state files written by `scripts/cassandra-nodes.sh`.
//!
//! The format is deliberately trivial (one assignment per line, `#` comments,
//! no quoting) so that both bash (`source`) and Rust can read it.

use std::collections::BTreeMap;

/// Parses `KEY=VALUE` lines; blank lines and `#` comments are skipped.
/// Returns the 1-based number and text of the first malformed line as the error.
pub(crate) fn parse(text: &str) -> Result<BTreeMap<String, String>, (usize, String)> {
    let mut map = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((key, value)) if !key.is_empty() => {
                map.insert(key.to_string(), value.to_string());
            }
            _ => return Err((index + 1, line.to_string())),
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_assignments_and_skips_comments() {
        let map = parse("# c\n\nA=1\nB=\nC=x=y\n").unwrap();
        assert_eq!(map.get("A").map(String::as_str), Some("1"));
        assert_eq!(map.get("B").map(String::as_str), Some(""));
        // Only the first '=' separates key from value.
        assert_eq!(map.get("C").map(String::as_str), Some("x=y"));
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn reports_the_malformed_line() {
        assert_eq!(parse("A=1\nnonsense\n"), Err((2, "nonsense".to_string())));
        assert_eq!(parse("=1"), Err((1, "=1".to_string())));
    }
}
