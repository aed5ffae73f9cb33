//! Which of the two clusters a flag or a config key belongs to.

use std::fmt;

/// The cluster being migrated from, or the one being migrated to.
///
/// Every per-cluster flag exists once per side, named after it
/// (`--source-port`, `--target-port`).
///
/// ```
/// use ferry_cli::Side;
/// assert_eq!(Side::Target.name(), "target");
/// assert_eq!(Side::Source.env_var("PASSWORD"), "FERRY_SOURCE_PASSWORD");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The cluster the application uses today.
    Source,
    /// The cluster being migrated to.
    Target,
}

impl Side {
    /// Both sides, source first (the order flags are listed in).
    pub const BOTH: [Side; 2] = [Side::Source, Side::Target];

    /// `source` or `target`: the prefix of the side's flags and keys.
    pub fn name(self) -> &'static str {
        match self {
            Side::Source => "source",
            Side::Target => "target",
        }
    }

    /// `SOURCE` or `TARGET`.
    pub fn upper(self) -> &'static str {
        match self {
            Side::Source => "SOURCE",
            Side::Target => "TARGET",
        }
    }

    /// The environment variable `FERRY_<SIDE>_<WHAT>`.
    pub fn env_var(self, what: &str) -> String {
        format!("FERRY_{}_{what}", self.upper())
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
