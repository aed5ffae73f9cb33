//! The streaming merge-compare of one token range.
//!
//! Both clusters return a token range's rows in ring order: partitions by
//! token, then — for equal tokens — by serialized partition key as unsigned
//! bytes ([`PartitionPosition`]). The merge walks both streams at once:
//!
//! - a partition only one side has is streamed through, each of its rows
//!   reported missing on the target (or extra on it), nothing buffered;
//! - a partition both sides have is merged row by row. Rows are matched by
//!   their clustering key bytes, *without* ordering clustering keys: the two
//!   sides are read in lockstep, and a row whose partner has not shown up
//!   yet waits in a per-partition table until it does (or the partition
//!   ends, and it is reported). Since both sides return a partition's rows in
//!   the same clustering order, only rows that really differ ever wait, so
//!   memory stays bounded by the differences of one partition — no
//!   clustering-type comparators (whose subtleties, like `timeuuid` or
//!   `ReversedType`, would otherwise turn into false differences) are needed.
//!   A cap on waiting rows ([`MergeLimits::max_unmatched_rows_per_partition`])
//!   guards against tables whose clustering orders differ between clusters.
//!
//! Static columns are compared once per partition (on its first row).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::time::Instant;

use bytes::Bytes;
use futures::{Stream, StreamExt};

use crate::compare::{ColumnDiff, RowComparator, Scope};
use crate::error::{Side, ValidateError};
use crate::position::PartitionPosition;
use crate::projection::ScanRow;

/// What kind of difference was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceKind {
    /// The row is on the source but not on the target.
    MissingOnTarget,
    /// The row is on the target but not on the source.
    ExtraOnTarget,
    /// The row is on both, with different values (or writetimes, or TTLs).
    Differs,
    /// The partition's static columns differ.
    StaticDiffers,
}

/// A difference found by a scan (or a re-check): the rows as each side
/// has them (in their own memory).
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub(crate) kind: DifferenceKind,
    pub(crate) source: Option<ScanRow>,
    pub(crate) target: Option<ScanRow>,
    pub(crate) columns: Vec<ColumnDiff>,
    pub(crate) found_at: Instant,
}

impl Found {
    /// A row of the difference (the source's if it has one).
    pub(crate) fn any_row(&self) -> Option<&ScanRow> {
        self.source.as_ref().or(self.target.as_ref())
    }
}

/// Counts per kind of difference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KindCounts {
    pub(crate) missing: u64,
    pub(crate) extra: u64,
    pub(crate) differing: u64,
    pub(crate) static_differing: u64,
}

impl KindCounts {
    pub(crate) fn add(&mut self, kind: DifferenceKind, n: u64) {
        match kind {
            DifferenceKind::MissingOnTarget => self.missing += n,
            DifferenceKind::ExtraOnTarget => self.extra += n,
            DifferenceKind::Differs => self.differing += n,
            DifferenceKind::StaticDiffers => self.static_differing += n,
        }
    }

    pub(crate) fn total(&self) -> u64 {
        self.missing + self.extra + self.differing + self.static_differing
    }
}

/// Limits of one range's merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MergeLimits {
    /// Rows of one partition that may wait for their match at once.
    pub(crate) max_unmatched_rows_per_partition: usize,
    /// Differences kept (with their rows) for re-checking and reporting;
    /// more are only counted.
    pub(crate) max_found: usize,
}

/// The outcome of one range's merge.
#[derive(Debug, Default)]
pub(crate) struct RangeResult {
    pub(crate) source_rows: u64,
    pub(crate) target_rows: u64,
    /// Rows equal on both sides.
    pub(crate) matched: u64,
    /// Every difference found (kept ones and counted-only ones).
    pub(crate) found_counts: KindCounts,
    /// The kept differences.
    pub(crate) found: Vec<Found>,
    /// Differences over [`MergeLimits::max_found`], only counted.
    pub(crate) unrecorded: KindCounts,
}

impl RangeResult {
    fn record(&mut self, found: Found, limits: &MergeLimits) {
        self.found_counts.add(found.kind, 1);
        if self.found.len() < limits.max_found {
            self.found.push(found);
        } else {
            self.unrecorded.add(found.kind, 1);
        }
    }
}

/// One side's row stream with one row of lookahead, checking that rows
/// come in ring order (the merge is only right if they do).
struct Cursor<S> {
    side: Side,
    stream: S,
    ahead: Option<ScanRow>,
    last: Option<PartitionPosition>,
    done: bool,
    rows: u64,
}

impl<S> Cursor<S>
where
    S: Stream<Item = Result<ScanRow, ValidateError>> + Unpin,
{
    fn new(side: Side, stream: S) -> Self {
        Self {
            side,
            stream,
            ahead: None,
            last: None,
            done: false,
            rows: 0,
        }
    }

    /// Reads the next row into the lookahead, if it is empty.
    ///
    /// Positions are compared, not cloned, on the per-row path: a
    /// partition's rows share one position, and cloning it (reference
    /// counts on the page buffer) for every row was measurable.
    async fn fill(&mut self) -> Result<(), ValidateError> {
        if self.ahead.is_none() && !self.done {
            match self.stream.next().await {
                Some(Ok(row)) => {
                    match &self.last {
                        // Another row of the same partition.
                        Some(last) if row.position == *last => {}
                        Some(last) if row.position < *last => {
                            return Err(ValidateError::Protocol {
                                side: self.side,
                                message: format!(
                                    "rows out of ring order: token {} after token {}",
                                    row.position.token, last.token
                                ),
                            });
                        }
                        _ => self.last = Some(row.position.clone()),
                    }
                    self.ahead = Some(row);
                }
                Some(Err(e)) => return Err(e),
                None => self.done = true,
            }
        }
        Ok(())
    }

    /// The position of the row in the lookahead (after [`Cursor::fill`]).
    fn position(&self) -> Option<&PartitionPosition> {
        self.ahead.as_ref().map(|r| &r.position)
    }

    /// The next row if it belongs to the partition at `position`.
    async fn next_in(
        &mut self,
        position: &PartitionPosition,
    ) -> Result<Option<ScanRow>, ValidateError> {
        self.fill().await?;
        match self.position() {
            Some(p) if p == position => {
                self.rows += 1;
                Ok(self.ahead.take())
            }
            _ => Ok(None),
        }
    }
}

type ClusteringKey = Vec<Option<Bytes>>;

/// Merges one range: `source` and `target` are the range's rows from each
/// cluster, in ring order.
pub(crate) async fn merge_range<S, T>(
    source: S,
    target: T,
    comparator: &RowComparator,
    limits: MergeLimits,
) -> Result<RangeResult, ValidateError>
where
    S: Stream<Item = Result<ScanRow, ValidateError>> + Unpin,
    T: Stream<Item = Result<ScanRow, ValidateError>> + Unpin,
{
    let mut src = Cursor::new(Side::Source, source);
    let mut tgt = Cursor::new(Side::Target, target);
    let mut out = RangeResult::default();
    loop {
        // Both at once: each side's next page may be on its way.
        let (s, t) = tokio::join!(src.fill(), tgt.fill());
        s?;
        t?;
        let (position, order) = match (src.position(), tgt.position()) {
            (None, None) => break,
            (Some(p), None) => (p.clone(), Ordering::Less),
            (None, Some(p)) => (p.clone(), Ordering::Greater),
            (Some(a), Some(b)) => {
                let order = a.cmp(b);
                (
                    if order == Ordering::Greater { b } else { a }.clone(),
                    order,
                )
            }
        };
        match order {
            Ordering::Less => {
                while let Some(row) = src.next_in(&position).await? {
                    out.record(one_sided(DifferenceKind::MissingOnTarget, row), &limits);
                }
            }
            Ordering::Greater => {
                while let Some(row) = tgt.next_in(&position).await? {
                    out.record(one_sided(DifferenceKind::ExtraOnTarget, row), &limits);
                }
            }
            Ordering::Equal => {
                merge_partition(&mut src, &mut tgt, &position, comparator, &limits, &mut out)
                    .await?;
            }
        }
    }
    out.source_rows = src.rows;
    out.target_rows = tgt.rows;
    Ok(out)
}

fn one_sided(kind: DifferenceKind, row: ScanRow) -> Found {
    let row = Some(row.detach());
    let (source, target) = match kind {
        DifferenceKind::ExtraOnTarget => (None, row),
        _ => (row, None),
    };
    Found {
        kind,
        source,
        target,
        columns: Vec::new(),
        found_at: Instant::now(),
    }
}

/// Compares two versions of a row and records the outcome.
fn pair(
    comparator: &RowComparator,
    source: ScanRow,
    target: ScanRow,
    limits: &MergeLimits,
    out: &mut RangeResult,
) -> Result<(), ValidateError> {
    let columns = comparator.diff(Scope::Regular, &source, &target)?;
    if columns.is_empty() {
        out.matched += 1;
    } else {
        out.record(
            Found {
                kind: DifferenceKind::Differs,
                source: Some(source.detach()),
                target: Some(target.detach()),
                columns,
                found_at: Instant::now(),
            },
            limits,
        );
    }
    Ok(())
}

async fn merge_partition<S, T>(
    src: &mut Cursor<S>,
    tgt: &mut Cursor<T>,
    position: &PartitionPosition,
    comparator: &RowComparator,
    limits: &MergeLimits,
    out: &mut RangeResult,
) -> Result<(), ValidateError>
where
    S: Stream<Item = Result<ScanRow, ValidateError>> + Unpin,
    T: Stream<Item = Result<ScanRow, ValidateError>> + Unpin,
{
    let projection = &comparator.projection;
    // Rows waiting for their match, with their arrival number so leftovers
    // are reported in the order they were read.
    let mut waiting_source: HashMap<ClusteringKey, (u64, ScanRow)> = HashMap::new();
    let mut waiting_target: HashMap<ClusteringKey, (u64, ScanRow)> = HashMap::new();
    let mut arrivals = 0u64;
    let mut first = true;
    loop {
        let (s, t) = tokio::join!(src.next_in(position), tgt.next_in(position));
        let (s, t) = (s?, t?);
        if first {
            first = false;
            if let (Some(a), Some(b)) = (&s, &t) {
                if !projection.statics.is_empty() {
                    let columns = comparator.diff(Scope::Static, a, b)?;
                    if !columns.is_empty() {
                        out.record(
                            Found {
                                kind: DifferenceKind::StaticDiffers,
                                source: Some(a.detach()),
                                target: Some(b.detach()),
                                columns,
                                found_at: Instant::now(),
                            },
                            limits,
                        );
                    }
                }
            }
        }
        match (s, t) {
            (None, None) => break,
            (Some(a), Some(b)) if projection.same_ck(&a, &b) => {
                pair(comparator, a, b, limits, out)?;
            }
            (s, t) => {
                if let Some(a) = s {
                    let key: ClusteringKey = projection.ck(&a);
                    match waiting_target.remove(&key) {
                        Some((_, b)) => pair(comparator, a, b, limits, out)?,
                        None => {
                            arrivals += 1;
                            waiting_source.insert(key, (arrivals, a.detach()));
                        }
                    }
                }
                if let Some(b) = t {
                    let key: ClusteringKey = projection.ck(&b);
                    match waiting_source.remove(&key) {
                        Some((_, a)) => pair(comparator, a, b, limits, out)?,
                        None => {
                            arrivals += 1;
                            waiting_target.insert(key, (arrivals, b.detach()));
                        }
                    }
                }
                if waiting_source.len() + waiting_target.len()
                    > limits.max_unmatched_rows_per_partition
                {
                    return Err(ValidateError::PartitionTooDivergent {
                        partition: format!("with token {}", position.token),
                        cap: limits.max_unmatched_rows_per_partition,
                    });
                }
            }
        }
    }
    let mut leftovers: Vec<(u64, DifferenceKind, ScanRow)> = waiting_source
        .into_values()
        .map(|(n, r)| (n, DifferenceKind::MissingOnTarget, r))
        .chain(
            waiting_target
                .into_values()
                .map(|(n, r)| (n, DifferenceKind::ExtraOnTarget, r)),
        )
        .collect();
    leftovers.sort_by_key(|(n, _, _)| *n);
    for (_, kind, row) in leftovers {
        out.record(one_sided(kind, row), limits);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::CompareOptions;
    use crate::projection::Projection;
    use crate::schema::{ColumnDef, ColumnKind, TableSchema};
    use ferry_conn::schema::{CqlType, NativeType};
    use ferry_conn::token::{Partitioner, Token};
    use ferry_wire::ProtocolVersion;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    /// Table (k int, c int, s int static, v int, PRIMARY KEY (k, c)).
    fn comparator() -> RowComparator {
        let col = |name: &str, kind| ColumnDef {
            name: name.into(),
            ty: CqlType::Native(NativeType::Int),
            kind,
        };
        let table = TableSchema {
            keyspace: "ks".into(),
            table: "t".into(),
            partition_key: vec![col("k", ColumnKind::PartitionKey)],
            clustering: vec![col("c", ColumnKind::Clustering { descending: false })],
            statics: vec![col("s", ColumnKind::Static)],
            regulars: vec![col("v", ColumnKind::Regular)],
        };
        let projection = Arc::new(Projection::new(table, Partitioner::Murmur3, false));
        RowComparator::new(
            projection,
            CompareOptions::default(),
            ProtocolVersion::V3,
            ProtocolVersion::V3,
        )
    }

    fn int(v: i32) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(&v.to_be_bytes()))
    }

    /// A row of partition `k` with token `token` (tests choose tokens, so
    /// they can collide).
    fn row(token: i64, k: i32, c: Option<i32>, s: Option<i32>, v: Option<i32>) -> ScanRow {
        ScanRow::new(
            PartitionPosition::new(Token::murmur3(token), int(k).unwrap()),
            &[
                int(k),
                c.and_then(int),
                s.and_then(int),
                v.and_then(int),
                Some(Bytes::copy_from_slice(&token.to_be_bytes())),
            ],
        )
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn stream(rows: Vec<ScanRow>) -> impl Stream<Item = Result<ScanRow, ValidateError>> + Unpin {
        futures::stream::iter(rows.into_iter().map(Ok))
    }

    const LIMITS: MergeLimits = MergeLimits {
        max_unmatched_rows_per_partition: 1000,
        max_found: 1000,
    };

    fn run(source: Vec<ScanRow>, target: Vec<ScanRow>) -> RangeResult {
        block_on(merge_range(
            stream(source),
            stream(target),
            &comparator(),
            LIMITS,
        ))
        .unwrap()
    }

    fn kinds(r: &RangeResult) -> Vec<(DifferenceKind, i32, Option<i32>)> {
        let p = comparator().projection;
        r.found
            .iter()
            .map(|f| {
                let row = f.any_row().unwrap();
                let k = i32::from_be_bytes(row.value(0).unwrap().try_into().unwrap());
                let c = p.ck(row)[0]
                    .as_ref()
                    .map(|b| i32::from_be_bytes(b[..].try_into().unwrap()));
                (f.kind, k, c)
            })
            .collect()
    }

    #[test]
    fn identical_streams_match_every_row() {
        let rows = vec![
            row(-5, 1, Some(1), Some(9), Some(1)),
            row(-5, 1, Some(2), Some(9), Some(2)),
            row(7, 2, Some(1), None, None),
        ];
        let r = run(rows.clone(), rows);
        assert_eq!((r.matched, r.source_rows, r.target_rows), (3, 3, 3));
        assert!(r.found.is_empty());
    }

    #[test]
    fn missing_extra_and_differing_rows_are_found() {
        let source = vec![
            row(-5, 1, Some(1), None, Some(1)),
            row(-5, 1, Some(2), None, Some(2)),
            row(0, 3, Some(1), None, Some(1)),
            row(7, 2, Some(1), None, Some(1)),
        ];
        let target = vec![
            row(-9, 4, Some(1), None, Some(1)),  // extra partition
            row(-5, 1, Some(2), None, Some(20)), // differs; (1,1) missing
            row(-5, 1, Some(3), None, Some(3)),  // extra row
            row(7, 2, Some(1), None, Some(1)),   // matches; partition 3 missing
        ];
        let r = run(source, target);
        assert_eq!(r.matched, 1);
        assert_eq!(
            kinds(&r),
            [
                (DifferenceKind::ExtraOnTarget, 4, Some(1)),
                (DifferenceKind::Differs, 1, Some(2)),
                (DifferenceKind::MissingOnTarget, 1, Some(1)),
                (DifferenceKind::ExtraOnTarget, 1, Some(3)),
                (DifferenceKind::MissingOnTarget, 3, Some(1)),
            ]
        );
        assert_eq!(r.found[1].columns[0].column, "v");
        assert_eq!(
            r.found_counts,
            KindCounts {
                missing: 2,
                extra: 2,
                differing: 1,
                static_differing: 0
            }
        );
    }

    #[test]
    fn equal_tokens_are_ordered_by_key_bytes() {
        // Keys 1 and 2 share token 5: key bytes 00000001 < 00000002.
        let source = vec![
            row(5, 1, Some(1), None, Some(1)),
            row(5, 2, Some(1), None, Some(1)),
        ];
        let target = vec![row(5, 2, Some(1), None, Some(1))];
        let r = run(source, target);
        assert_eq!(kinds(&r), [(DifferenceKind::MissingOnTarget, 1, Some(1))]);
        assert_eq!(r.matched, 1);
    }

    #[test]
    fn statics_are_compared_once_per_partition() {
        let source = vec![
            row(1, 1, Some(1), Some(5), Some(1)),
            row(1, 1, Some(2), Some(5), Some(2)),
        ];
        let target = vec![
            row(1, 1, Some(1), Some(6), Some(1)),
            row(1, 1, Some(2), Some(6), Some(2)),
        ];
        let r = run(source, target);
        assert_eq!(r.matched, 2);
        assert_eq!(kinds(&r), [(DifferenceKind::StaticDiffers, 1, Some(1))]);
    }

    #[test]
    fn out_of_order_rows_are_an_error() {
        let source = vec![
            row(5, 1, Some(1), None, None),
            row(4, 2, Some(1), None, None),
        ];
        let e = block_on(merge_range(
            stream(source),
            stream(vec![]),
            &comparator(),
            LIMITS,
        ))
        .unwrap_err();
        assert!(e.to_string().contains("out of ring order"), "{e}");
    }

    #[test]
    fn the_unmatched_cap_stops_a_runaway_partition() {
        // Same partition, clustering order reversed on the target.
        let source: Vec<ScanRow> = (0..50).map(|c| row(1, 1, Some(c), None, None)).collect();
        let target: Vec<ScanRow> = (0..50)
            .rev()
            .map(|c| row(1, 1, Some(c), None, None))
            .collect();
        let limits = MergeLimits {
            max_unmatched_rows_per_partition: 10,
            max_found: 10,
        };
        let e = block_on(merge_range(
            stream(source.clone()),
            stream(target.clone()),
            &comparator(),
            limits,
        ))
        .unwrap_err();
        assert!(matches!(
            e,
            ValidateError::PartitionTooDivergent { cap: 10, .. }
        ));
        // With room, reversed order still matches everything.
        let r = run(source, target);
        assert_eq!(r.matched, 50);
        assert!(r.found.is_empty());
    }

    #[test]
    fn differences_over_the_cap_are_counted_not_kept() {
        let source: Vec<ScanRow> = (0..30)
            .map(|k| row(k, k as i32, Some(0), None, None))
            .collect();
        let limits = MergeLimits {
            max_unmatched_rows_per_partition: 10,
            max_found: 10,
        };
        let r = block_on(merge_range(
            stream(source),
            stream(vec![]),
            &comparator(),
            limits,
        ))
        .unwrap();
        assert_eq!(r.found.len(), 10);
        assert_eq!(r.found_counts.missing, 30);
        assert_eq!(r.unrecorded.missing, 20);
    }

    /// A model table: partition key -> clustering -> value.
    type Model = BTreeMap<i32, BTreeMap<i32, i32>>;

    /// The model's rows in ring order, partition `k` having token `tokens[k]`.
    fn rows_of(model: &Model, tokens: &[i64]) -> Vec<ScanRow> {
        let mut partitions: Vec<(i64, i32)> =
            model.keys().map(|&k| (tokens[k as usize], k)).collect();
        // Non-negative ints: signed order is the unsigned order of their bytes.
        partitions.sort();
        partitions
            .into_iter()
            .flat_map(|(token, k)| {
                model[&k]
                    .iter()
                    .map(move |(&c, &v)| row(token, k, Some(c), None, Some(v)))
            })
            .collect()
    }

    fn model() -> impl Strategy<Value = Model> {
        proptest::collection::btree_map(
            0i32..4,
            proptest::collection::btree_map(0i32..6, 0i32..3, 0..5),
            0..4,
        )
    }

    proptest! {
        #[test]
        fn merge_agrees_with_a_key_by_key_comparison(
            // Few distinct tokens, so collisions are common.
            tokens in proptest::collection::vec(-2i64..2, 4),
            a in model(),
            b in model(),
        ) {
            let r = run(rows_of(&a, &tokens), rows_of(&b, &tokens));
            let flat = |m: &Model| -> BTreeMap<(i32, i32), i32> {
                m.iter().flat_map(|(&k, rows)| rows.iter().map(move |(&c, &v)| ((k, c), v))).collect()
            };
            let (fa, fb) = (flat(&a), flat(&b));
            let mut expected = KindCounts::default();
            let mut matched = 0;
            for (key, v) in &fa {
                match fb.get(key) {
                    None => expected.missing += 1,
                    Some(w) if w == v => matched += 1,
                    Some(_) => expected.differing += 1,
                }
            }
            expected.extra = fb.keys().filter(|k| !fa.contains_key(k)).count() as u64;
            prop_assert_eq!(r.found_counts, expected);
            prop_assert_eq!(r.matched, matched);
            prop_assert_eq!(r.source_rows, fa.len() as u64);
            prop_assert_eq!(r.target_rows, fb.len() as u64);
        }
    }
}
