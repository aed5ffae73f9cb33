//! A table's counts and findings as they come in, range by range.
//!
//! A range is *complete* once it was scanned and each of its differences
//! was re-checked (and repaired); only then are its results added to the
//! table's, and written to the checkpoint if there is one.

use std::collections::HashMap;
use std::sync::Arc;

use ferry_conn::token::TokenRange;

use crate::checkpoint::{range_key, Checkpoint, RangeRecord};
use crate::error::ValidateError;
use crate::merge::{Found, RangeResult};
use crate::repair::RepairResult;
use crate::report::{Counts, DifferenceRecord, RepairCounts, RepairStatus, TableReport};
use crate::table::TableContext;

/// A difference after its re-check (and repair).
pub(crate) struct Outcome {
    /// The first difference.
    pub(crate) original: Found,
    /// The difference as re-checked (`None`: resolved), or why it could not
    /// be re-checked.
    pub(crate) now: Result<Option<Found>, ValidateError>,
    pub(crate) rechecked: bool,
    pub(crate) repair: Option<RepairResult>,
}

/// Results of one range or of the whole table.
#[derive(Debug, Default)]
struct Part {
    counts: Counts,
    records: Vec<DifferenceRecord>,
    not_shown: u64,
    repair: Option<RepairCounts>,
}

impl Part {
    fn new(repair: bool) -> Self {
        Self {
            repair: repair.then(RepairCounts::default),
            ..Self::default()
        }
    }

    /// Adds another part's results, describing at most `max` differences.
    fn absorb(
        &mut self,
        counts: &Counts,
        records: Vec<DifferenceRecord>,
        not_shown: u64,
        repair: Option<&RepairCounts>,
        max: usize,
    ) {
        self.counts.add(counts);
        self.not_shown += not_shown;
        for r in records {
            if self.records.len() < max {
                self.records.push(r);
            } else {
                self.not_shown += 1;
            }
        }
        if let (Some(mine), Some(theirs)) = (&mut self.repair, repair) {
            mine.add(theirs);
        }
    }
}

/// A range being completed.
#[derive(Debug)]
struct OpenRange {
    range: TokenRange,
    part: Part,
    /// Differences sent to re-check and not back yet.
    pending: u64,
    scanned: bool,
    /// Something went wrong: not checkpointed, so a resumed run redoes it.
    troubled: bool,
}

/// A table's tally.
pub(crate) struct Tally {
    keyspace: String,
    table: String,
    max_differences: usize,
    repair: bool,
    total: Part,
    open: HashMap<usize, OpenRange>,
    checkpoint: Option<Arc<Checkpoint>>,
    errors: Vec<String>,
    ranges_scanned: usize,
    ranges_failed: usize,
    ranges_resumed: usize,
}

impl Tally {
    pub(crate) fn new(
        keyspace: &str,
        table: &str,
        max_differences: usize,
        repair: bool,
        checkpoint: Option<Arc<Checkpoint>>,
    ) -> Self {
        Self {
            keyspace: keyspace.to_owned(),
            table: table.to_owned(),
            max_differences,
            repair,
            total: Part::new(repair),
            open: HashMap::new(),
            checkpoint,
            errors: Vec::new(),
            ranges_scanned: 0,
            ranges_failed: 0,
            ranges_resumed: 0,
        }
    }

    /// Ranges taken from the checkpoint.
    pub(crate) fn resumed(&self) -> usize {
        self.ranges_resumed
    }

    pub(crate) fn error(&mut self, message: String) {
        self.errors.push(message);
    }

    pub(crate) fn range_failed(&mut self, message: String) {
        self.ranges_failed += 1;
        self.errors.push(message);
    }

    /// Takes the results of a range an earlier run completed.
    pub(crate) fn resume(&mut self, record: &RangeRecord) {
        self.ranges_scanned += 1;
        self.ranges_resumed += 1;
        self.total.absorb(
            &record.counts,
            record.differences.clone(),
            record.differences_not_shown,
            record.repair.as_ref(),
            self.max_differences,
        );
    }

    /// Opens range `id` with its scan's results; returns the differences
    /// to re-check.
    pub(crate) fn add_range(
        &mut self,
        id: usize,
        range: TokenRange,
        result: RangeResult,
    ) -> Vec<Found> {
        let mut part = Part::new(self.repair);
        let c = &mut part.counts;
        c.source_rows = result.source_rows;
        c.target_rows = result.target_rows;
        c.matched = result.matched;
        let f = &result.found_counts;
        c.rows_compared = result.matched + f.missing + f.extra + f.differing;
        // Over the range's cap: persistent, never re-checked nor described.
        let u = &result.unrecorded;
        c.missing_on_target = u.missing;
        c.extra_on_target = u.extra;
        c.differing = u.differing;
        c.static_differing = u.static_differing;
        c.not_rechecked = u.total();
        part.not_shown = u.total();
        self.open.insert(
            id,
            OpenRange {
                range,
                part,
                pending: 0,
                scanned: false,
                troubled: false,
            },
        );
        result.found
    }

    /// A difference of range `id` was sent to re-check.
    pub(crate) fn expect(&mut self, id: usize) {
        if let Some(open) = self.open.get_mut(&id) {
            open.pending += 1;
        }
    }

    /// Range `id` handed out all its differences.
    pub(crate) fn scan_complete(&mut self, id: usize) {
        if let Some(open) = self.open.get_mut(&id) {
            open.scanned = true;
        }
        self.close_if_complete(id);
    }

    /// Records a persistent difference of range `id`.
    pub(crate) fn persistent(
        &mut self,
        id: usize,
        found: &Found,
        rechecked: bool,
        record: Option<DifferenceRecord>,
        repair: Option<&RepairResult>,
    ) {
        let max = self.max_differences;
        let Some(open) = self.open.get_mut(&id) else {
            return;
        };
        let part = &mut open.part;
        part.counts.add_kind(found.kind, 1);
        if !rechecked {
            part.counts.not_rechecked += 1;
        }
        if let (Some(counts), Some(r)) = (&mut part.repair, repair) {
            counts.statements += r.statements;
            counts.cells_written += r.cells;
            match r.note.status {
                RepairStatus::Repaired => counts.repaired += 1,
                RepairStatus::Shadowed => counts.shadowed += 1,
                RepairStatus::NotRepairable => counts.not_repairable += 1,
                RepairStatus::Failed => {
                    counts.failed += 1;
                    open.troubled = true;
                }
            }
        }
        match record {
            Some(mut record) if part.records.len() < max => {
                record.repair = repair.map(|r| r.note.clone());
                part.records.push(record);
            }
            _ => part.not_shown += 1,
        }
    }

    /// Whether a difference of range `id` would still be described.
    pub(crate) fn has_room(&self, id: usize) -> bool {
        self.open
            .get(&id)
            .is_some_and(|o| o.part.records.len() < self.max_differences)
    }

    /// Records the outcome of a re-check of range `id`.
    pub(crate) fn outcome(&mut self, id: usize, outcome: Outcome, context: &TableContext) {
        let room = self.has_room(id);
        match outcome.now {
            Ok(None) => {
                if let Some(open) = self.open.get_mut(&id) {
                    open.part.counts.resolved_on_recheck += 1;
                }
            }
            Ok(Some(current)) => {
                let record = room.then(|| context.describe(&current, outcome.rechecked));
                self.persistent(
                    id,
                    &current,
                    outcome.rechecked,
                    record,
                    outcome.repair.as_ref(),
                );
            }
            Err(e) => {
                self.errors.push(format!("re-check failed: {e}"));
                if let Some(open) = self.open.get_mut(&id) {
                    open.troubled = true;
                }
                let record = room.then(|| context.describe(&outcome.original, false));
                self.persistent(id, &outcome.original, false, record, None);
            }
        }
        if let Some(open) = self.open.get_mut(&id) {
            open.pending = open.pending.saturating_sub(1);
        }
        self.close_if_complete(id);
    }

    fn close_if_complete(&mut self, id: usize) {
        let complete = self
            .open
            .get(&id)
            .is_some_and(|o| o.scanned && o.pending == 0);
        if !complete {
            return;
        }
        let Some(open) = self.open.remove(&id) else {
            return;
        };
        self.ranges_scanned += 1;
        if let (Some(checkpoint), false) = (&self.checkpoint, open.troubled) {
            let (start, end) = range_key(&open.range);
            let record = RangeRecord {
                keyspace: self.keyspace.clone(),
                table: self.table.clone(),
                start,
                end,
                counts: open.part.counts.clone(),
                differences: open.part.records.clone(),
                differences_not_shown: open.part.not_shown,
                repair: open.part.repair.clone(),
            };
            if let Err(e) = checkpoint.append(&record) {
                self.errors.push(format!("checkpoint: {e}"));
            }
        }
        let part = open.part;
        self.total.absorb(
            &part.counts,
            part.records,
            part.not_shown,
            part.repair.as_ref(),
            self.max_differences,
        );
    }

    /// Writes the tally into the table's report.
    pub(crate) fn into_report(mut self, report: &mut TableReport) {
        // Ranges left open (a failed task) still count what they saw.
        let ids: Vec<usize> = self.open.keys().copied().collect();
        for id in ids {
            if let Some(open) = self.open.remove(&id) {
                let part = open.part;
                self.total.absorb(
                    &part.counts,
                    part.records,
                    part.not_shown,
                    part.repair.as_ref(),
                    self.max_differences,
                );
            }
        }
        report.counts = self.total.counts;
        report.differences = self.total.records;
        report.differences_not_shown = self.total.not_shown;
        report.repair = self.total.repair;
        report.errors.extend(self.errors);
        report.ranges_scanned = self.ranges_scanned;
        report.ranges_failed = self.ranges_failed;
        report.ranges_resumed = self.ranges_resumed;
    }
}
