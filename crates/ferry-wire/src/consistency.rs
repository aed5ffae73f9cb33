//! Consistency levels (`[consistency]`).

use std::fmt;

/// A consistency level as carried by QUERY, EXECUTE, BATCH and some errors.
///
/// ```
/// use ferry_wire::Consistency;
/// assert_eq!(Consistency::try_from(0x0006), Ok(Consistency::LocalQuorum));
/// assert_eq!(u16::from(Consistency::LocalOne), 0x000A);
/// assert_eq!("LOCAL_QUORUM".parse(), Ok(Consistency::LocalQuorum));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Consistency {
    Any = 0x0000,
    One = 0x0001,
    Two = 0x0002,
    Three = 0x0003,
    Quorum = 0x0004,
    All = 0x0005,
    LocalQuorum = 0x0006,
    EachQuorum = 0x0007,
    Serial = 0x0008,
    LocalSerial = 0x0009,
    LocalOne = 0x000A,
}

impl Consistency {
    /// Every level, in wire order.
    pub const ALL: [Consistency; 11] = [
        Self::Any,
        Self::One,
        Self::Two,
        Self::Three,
        Self::Quorum,
        Self::All,
        Self::LocalQuorum,
        Self::EachQuorum,
        Self::Serial,
        Self::LocalSerial,
        Self::LocalOne,
    ];

    /// The CQL name (`LOCAL_QUORUM`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Any => "ANY",
            Self::One => "ONE",
            Self::Two => "TWO",
            Self::Three => "THREE",
            Self::Quorum => "QUORUM",
            Self::All => "ALL",
            Self::LocalQuorum => "LOCAL_QUORUM",
            Self::EachQuorum => "EACH_QUORUM",
            Self::Serial => "SERIAL",
            Self::LocalSerial => "LOCAL_SERIAL",
            Self::LocalOne => "LOCAL_ONE",
        }
    }

    /// Whether this is a serial level (for lightweight transactions).
    pub fn is_serial(self) -> bool {
        matches!(self, Self::Serial | Self::LocalSerial)
    }
}

impl TryFrom<u16> for Consistency {
    /// The unknown value, returned as is.
    type Error = u16;

    fn try_from(v: u16) -> Result<Self, u16> {
        Self::ALL.get(usize::from(v)).copied().ok_or(v)
    }
}

impl From<Consistency> for u16 {
    fn from(c: Consistency) -> u16 {
        c as u16
    }
}

impl fmt::Display for Consistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Consistency {
    /// The text that names no level.
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let upper = s.trim().to_ascii_uppercase().replace('-', "_");
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.name() == upper)
            .ok_or_else(|| {
                format!(
                    "unknown consistency level `{s}` (expected one of ANY, ONE, TWO, THREE, QUORUM, ALL, LOCAL_QUORUM, EACH_QUORUM, SERIAL, LOCAL_SERIAL, LOCAL_ONE)"
                )
            })
    }
}
