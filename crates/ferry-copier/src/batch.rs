//! Grouping a range's writes into UNLOGGED batches by the target node that
//! owns their partitions.
//!
//! A write request costs the target far more than the statement in it
//! (parsing the frame, a coordinator task, the response), so rows are sent
//! many to a request, as `cqlsh COPY FROM` does. Unlike a LOGGED batch,
//! an UNLOGGED batch goes through no batch log: it is only a way to send
//! several mutations in one request. Each statement keeps its own `USING
//! TIMESTAMP` and TTL, so batching changes nothing in what is written.
//!
//! Rows are grouped by the *primary replica* of their partition on the
//! target ring, and the batch is routed by the token of its first row: the
//! coordinator then owns every partition of the batch and applies them
//! locally, instead of forwarding each to another node (a batch that spans
//! nodes would make the coordinator do the other nodes' work as a proxy).
//! Rows of one partition are always in one group, in scan order, so a
//! partition's statements still reach its replicas together.
//!
//! A group is sent once it holds `max_statements` statements, or before a
//! row would take it over `max_bytes` bytes of values (Cassandra logs a
//! warning for every batch over `batch_size_warn_threshold_in_kb`, 5 KiB by
//! default, and 2.2+ refuses those over `batch_size_fail_threshold_in_kb`);
//! whatever is left is sent at the end of the range. Memory: one open
//! group per target node, at most.

use std::net::SocketAddr;
use std::sync::Arc;

use ferry_conn::token::{Partitioner, Token, TokenRing};
use ferry_wire::request::SerializedValues;

use crate::writer::WriteOp;

/// A write waiting to be sent: the statement to run and its bound values,
/// copied out of the scanned page (see
/// [`crate::writer::TableWriter::serialized_values`]), so that a write in
/// flight holds only its own bytes, not the page they came from.
pub type PendingWrite = (WriteOp, SerializedValues);

/// Writes to send together in one request, all owned by one target node.
///
/// ```
/// let group = ferry_copier::batch::WriteGroup::default();
/// assert!(group.writes.is_empty() && group.token.is_none());
/// ```
#[derive(Debug, Default)]
pub struct WriteGroup {
    /// The statements, in scan order.
    pub writes: Vec<PendingWrite>,
    /// The token of the first row's partition on the target (routes the
    /// request to its owner); `None` when the target's ring is unknown.
    pub token: Option<Token>,
    /// Value bytes in `writes`.
    pub bytes: usize,
}

/// The open groups of one range scan.
///
/// ```
/// use ferry_copier::batch::Batcher;
/// use ferry_copier::writer::WriteOp;
/// use ferry_wire::request::SerializedValues;
/// let mut batcher = Batcher::new(None, 2, 1 << 20);
/// let op = WriteOp { is_static: false, columns: vec![0], timestamp: 1, ttl: 0, has_list: false };
/// let key = [Some(&b"k"[..])];
/// let write = (op, SerializedValues::new());
/// assert!(batcher.push(&key, [write.clone()], 1).unwrap().is_none());
/// let full = batcher.push(&key, [write], 1).unwrap().expect("two statements");
/// assert_eq!(full.writes.len(), 2);
/// assert!(batcher.drain().is_empty());
/// ```
#[derive(Debug)]
pub struct Batcher {
    ring: Option<Arc<TokenRing<SocketAddr>>>,
    max_statements: usize,
    max_bytes: usize,
    /// Open groups, by owner (a handful: one per target node).
    groups: Vec<(Option<SocketAddr>, WriteGroup)>,
}

/// A partition key the target's partitioner cannot hash (an empty key, or
/// a composite component over 64 KiB).
#[derive(Debug, thiserror::Error)]
#[error("cannot compute the target token of a partition key: {0}")]
pub struct KeyError(#[from] ferry_conn::token::TokenError);

impl Batcher {
    /// Groups by owner on `ring` (the target's; `None`: one group for
    /// everything, routed by the session as it sees fit).
    pub fn new(
        ring: Option<Arc<TokenRing<SocketAddr>>>,
        max_statements: usize,
        max_bytes: usize,
    ) -> Self {
        Self {
            ring,
            max_statements: max_statements.max(1),
            max_bytes,
            groups: Vec::new(),
        }
    }

    /// The target's partitioner, if the ring is known.
    fn partitioner(&self) -> Option<Partitioner> {
        self.ring.as_ref().map(|r| r.partitioner())
    }

    /// Adds the writes of one row (`key`: its partition key cells) and
    /// returns its group if that is now full.
    pub fn push(
        &mut self,
        key: &[Option<&[u8]>],
        writes: impl IntoIterator<Item = PendingWrite>,
        row_bytes: usize,
    ) -> Result<Option<WriteGroup>, KeyError> {
        let mut writes = writes.into_iter().peekable();
        if writes.peek().is_none() {
            return Ok(None);
        }
        let (owner, token) = match (&self.ring, self.partitioner()) {
            (Some(ring), Some(partitioner)) => {
                let token = key_token(partitioner, key)?;
                (ring.owner(token).ok().copied(), Some(token))
            }
            _ => (None, None),
        };
        let index = match self.groups.iter().position(|(o, _)| *o == owner) {
            Some(i) => i,
            None => {
                self.groups.push((owner, WriteGroup::default()));
                self.groups.len() - 1
            }
        };
        let group = &mut self.groups[index].1;
        // A group never goes over `max_bytes` by taking a row: it is sent
        // first, and the row starts the next one (a row larger than the
        // limit on its own is still sent, alone).
        let flushed = if !group.writes.is_empty() && group.bytes + row_bytes > self.max_bytes {
            Some(std::mem::take(group))
        } else {
            None
        };
        if group.writes.is_empty() {
            group.token = token;
            group.writes.reserve(self.max_statements.min(256));
        }
        group.writes.extend(writes);
        group.bytes += row_bytes;
        if flushed.is_some() {
            return Ok(flushed);
        }
        if group.writes.len() >= self.max_statements || group.bytes >= self.max_bytes {
            return Ok(Some(std::mem::take(group)));
        }
        Ok(None)
    }

    /// Every open group that holds writes (the end of a range).
    pub fn drain(&mut self) -> Vec<WriteGroup> {
        self.groups
            .iter_mut()
            .map(|(_, g)| std::mem::take(g))
            .filter(|g| !g.writes.is_empty())
            .collect()
    }
}

/// The token of a partition key given as scanned cells (a null key cell,
/// which a scan never returns, hashes as empty).
fn key_token(partitioner: Partitioner, key: &[Option<&[u8]>]) -> Result<Token, KeyError> {
    Ok(match key {
        [single] => partitioner.token_of(single.unwrap_or_default()),
        _ => {
            let parts: Vec<&[u8]> = key.iter().map(|c| c.unwrap_or_default()).collect();
            Token::for_key(partitioner, &parts)?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_conn::token::RingNode;
    use ferry_wire::RawValue;

    /// A write whose values are just the key and a timestamp marker.
    fn write(key: &[u8], ts: i64) -> PendingWrite {
        let mut values = SerializedValues::new();
        values.push_cell(Some(key)).unwrap();
        let op = WriteOp {
            is_static: false,
            columns: vec![0],
            timestamp: ts,
            ttl: 0,
            has_list: false,
        };
        (op, values)
    }

    fn node(id: SocketAddr, token: Token) -> RingNode<SocketAddr> {
        RingNode {
            id,
            datacenter: "dc1".into(),
            rack: "r1".into(),
            tokens: vec![token],
        }
    }

    fn ring() -> Arc<TokenRing<SocketAddr>> {
        let a: SocketAddr = "10.0.0.1:9042".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:9042".parse().unwrap();
        Arc::new(
            TokenRing::new(
                Partitioner::Murmur3,
                [
                    node(a, Token::murmur3(0)),
                    node(b, Token::murmur3(i64::MAX / 2)),
                ],
            )
            .unwrap(),
        )
    }

    #[test]
    fn rows_are_grouped_by_the_owner_of_their_partition() {
        let ring = ring();
        let mut batcher = Batcher::new(Some(ring.clone()), 100, usize::MAX);
        let keys: Vec<[u8; 4]> = (0..64u32).map(u32::to_be_bytes).collect();
        for k in &keys {
            assert!(batcher
                .push(&[Some(&k[..])], [write(k, 1)], 1)
                .unwrap()
                .is_none());
        }
        let groups = batcher.drain();
        assert_eq!(groups.len(), 2, "both nodes own some of 64 keys");
        let mut seen = 0;
        for g in &groups {
            let owner = ring.owner(g.token.unwrap()).unwrap();
            for (_, values) in &g.writes {
                let RawValue::Bytes(key) = &values.to_raw_values()[0] else {
                    panic!("a key")
                };
                let t = Partitioner::Murmur3.token_of(key);
                assert_eq!(ring.owner(t).unwrap(), owner);
                seen += 1;
            }
        }
        assert_eq!(seen, keys.len());
        assert!(batcher.drain().is_empty());
    }

    #[test]
    fn a_group_is_sent_when_full_by_count_or_bytes() {
        let mut batcher = Batcher::new(None, 3, 10);
        let key = [Some(&b"k"[..])];
        assert!(batcher
            .push(&key, [write(b"k", 1), write(b"k", 2)], 2)
            .unwrap()
            .is_none());
        let full = batcher.push(&key, [write(b"k", 3)], 2).unwrap().unwrap();
        assert_eq!(
            full.writes
                .iter()
                .map(|(o, _)| o.timestamp)
                .collect::<Vec<_>>(),
            [1, 2, 3],
            "scan order kept"
        );
        assert!(full.token.is_none());
        // 6 bytes, then 5 more would make 11 > 10: the first row goes alone.
        assert!(batcher.push(&key, [write(b"k", 4)], 6).unwrap().is_none());
        let full = batcher.push(&key, [write(b"k", 5)], 5).unwrap().unwrap();
        assert_eq!(full.writes.len(), 1, "sent before going over the bytes");
        assert_eq!(full.bytes, 6);
        // A row over the limit on its own is sent, alone.
        let full = batcher.push(&key, [write(b"k", 6)], 50).unwrap().unwrap();
        assert_eq!(full.writes[0].0.timestamp, 5);
        let full = batcher.drain();
        assert_eq!(full.len(), 1);
        assert_eq!((full[0].writes.len(), full[0].bytes), (1, 50));
        assert!(batcher.push(&key, [], 1).unwrap().is_none());
        assert!(
            batcher.drain().is_empty(),
            "a row without writes adds nothing"
        );
    }

    #[test]
    fn composite_keys_hash_like_the_session() {
        let parts = [Some(&b"a"[..]), Some(&b"bc"[..])];
        let t = key_token(Partitioner::Murmur3, &parts).unwrap();
        assert_eq!(
            t,
            Token::for_key(Partitioner::Murmur3, &[&b"a"[..], &b"bc"[..]]).unwrap()
        );
        assert_eq!(
            key_token(Partitioner::Murmur3, &[Some(&b"xyz"[..])]).unwrap(),
            Partitioner::Murmur3.token_of(b"xyz")
        );
    }
}
