//! The bytes a partition key is hashed as.
//!
//! A single-column partition key is hashed as its column value's serialized
//! bytes. A composite partition key (several columns) is hashed as Cassandra's
//! `CompositeType` serialization of its components: for each component a
//! big-endian `u16` length, the bytes, and an end-of-component byte `0x00`.
//! This is also the "routing key" the native protocol and drivers use.

use super::TokenError;

/// Serializes a partition key for hashing: the bare value for one component,
/// the `CompositeType` form for several.
///
/// Fails on zero components, and on a component over 65535 bytes in a
/// composite key (its length would not fit the `[short]` prefix; Cassandra
/// refuses such keys anyway).
///
/// ```
/// use ferry_conn::token::serialize_partition_key;
///
/// assert_eq!(serialize_partition_key(&[b"ab"])?, b"ab");
/// assert_eq!(
///     serialize_partition_key(&[&b"ab"[..], b"c"])?,
///     [0, 2, b'a', b'b', 0, 0, 1, b'c', 0]
/// );
/// # Ok::<(), ferry_conn::token::TokenError>(())
/// ```
pub fn serialize_partition_key<C: AsRef<[u8]>>(components: &[C]) -> Result<Vec<u8>, TokenError> {
    match components {
        [] => Err(TokenError::EmptyPartitionKey),
        [single] => Ok(single.as_ref().to_vec()),
        _ => {
            // Validate every length first so the capacity below is bounded by
            // 65538 bytes per component.
            let mut lengths = Vec::with_capacity(components.len());
            for (index, component) in components.iter().enumerate() {
                let len = component.as_ref().len();
                let short = u16::try_from(len)
                    .map_err(|_| TokenError::KeyComponentTooLong { index, len })?;
                lengths.push(short);
            }
            let total = components
                .iter()
                .fold(0usize, |acc, c| acc.saturating_add(c.as_ref().len() + 3));
            let mut out = Vec::with_capacity(total);
            for (component, len) in components.iter().zip(lengths) {
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(component.as_ref());
                // End-of-component byte: 0 means "exactly this value" (it is
                // -1/1 only in slice bounds, never in a stored key).
                out.push(0);
            }
            Ok(out)
        }
    }
}
