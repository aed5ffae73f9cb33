//! Which length prefixes a collection uses, shared by the value decoder and
//! encoder.

use crate::version::ProtocolVersion;

/// Width of a collection's element count and element length prefixes.
///
/// Protocol v2 uses `[short]`s, v3+ `[int]`s (where a length of -1 is a null
/// element). Only the *outermost* collection of a cell follows the protocol
/// version: anything nested in a collection, tuple or UDT is in the v3 layout,
/// because Cassandra (2.1+, the first with nested frozen collections) stores
/// nested values in its internal v3 format and only re-packs the top level
/// for a v2 client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CollectionLengths {
    /// `[short]` count and lengths; no null elements (v2, top level).
    Short,
    /// `[int]` count and lengths; -1 is a null element.
    Int,
}

impl CollectionLengths {
    /// The layout of a cell's outermost collection in `version`.
    pub(crate) fn top_level(version: ProtocolVersion) -> Self {
        if version.has_int_collection_lengths() {
            Self::Int
        } else {
            Self::Short
        }
    }

    /// Bytes taken by one count or length prefix.
    pub(crate) fn prefix_len(self) -> usize {
        match self {
            Self::Short => 2,
            Self::Int => 4,
        }
    }
}
