//! Prune accounting for verifiers: which bodies are missing, and which
//! sealed `BodiesPruned` entries account for them.
//!
//! A body outside the MAC can be removed by anyone who can write the
//! store; what makes its absence trustworthy is a sealed entry, appended in
//! the same batch by [`Log::prune`](crate::Log::prune), that names it.
//! Verifiers note both as they scan (in any order, in parallel chunks) and
//! ask for the first missing body that no record names.

use crate::event::SeqRange;

/// What a scan saw of pruned bodies and prune records.
#[derive(Default, Debug)]
pub(crate) struct PruneLedger {
    /// Seqs whose bodies are missing, as ranges in scan order.
    pruned: Vec<SeqRange>,
    /// `(record seq, ranges it names)`.
    records: Vec<(u64, Vec<SeqRange>)>,
}

impl PruneLedger {
    /// Notes a missing body.
    pub fn note_pruned(&mut self, seq: u64) {
        match self.pruned.last_mut() {
            Some(r) if r.last.checked_add(1) == Some(seq) => r.last = seq,
            _ => self.pruned.push(SeqRange {
                first: seq,
                last: seq,
            }),
        }
    }

    /// Notes a sealed prune record at `seq`.
    pub fn note_record(&mut self, seq: u64, ranges: Vec<SeqRange>) {
        self.records.push((seq, ranges));
    }

    /// Whether any prune record was seen.
    pub fn has_records(&self) -> bool {
        !self.records.is_empty()
    }

    /// Takes in what another chunk saw.
    pub fn merge(&mut self, other: PruneLedger) {
        self.pruned.extend(other.pruned);
        self.records.extend(other.records);
    }

    /// The first seq below `limit` whose body is missing and that no record
    /// below `limit` names. Beyond the first chain failure (`limit`) nothing
    /// is trusted, so what lies there neither fails nor accounts.
    pub fn first_unaccounted(self, limit: u64) -> Option<u64> {
        self.uncovered(limit).first().map(|r| r.first)
    }

    /// How many seqs below `limit` are missing their body with no record
    /// below `limit` naming them.
    pub fn unaccounted_count(self, limit: u64) -> u64 {
        self.uncovered(limit).iter().map(SeqRange::count).sum()
    }

    /// The missing bodies below `limit` that no record below `limit` names,
    /// sorted.
    fn uncovered(mut self, limit: u64) -> Vec<SeqRange> {
        let mut covered: Vec<SeqRange> = self
            .records
            .into_iter()
            .filter(|(seq, _)| *seq < limit)
            .flat_map(|(_, ranges)| ranges)
            .collect();
        covered.sort_unstable();
        let covered = merge_ranges(covered);
        self.pruned.sort_unstable();
        let mut out = Vec::new();
        for r in self.pruned.iter().filter(|r| r.first < limit) {
            let last = r.last.min(limit - 1);
            let mut at = r.first;
            // Covered ranges are maximal and sorted: walk those that overlap.
            let mut i = covered.partition_point(|c| c.last < at);
            while at <= last {
                match covered.get(i) {
                    Some(c) if c.first <= at => {
                        at = c.last.saturating_add(1);
                        i += 1;
                        if c.last == u64::MAX {
                            break;
                        }
                    }
                    Some(c) if c.first <= last => {
                        out.push(SeqRange {
                            first: at,
                            last: c.first - 1,
                        });
                        at = c.first;
                    }
                    _ => {
                        out.push(SeqRange { first: at, last });
                        break;
                    }
                }
            }
        }
        out
    }
}

/// Joins sorted ranges that overlap or touch.
fn merge_ranges(sorted: Vec<SeqRange>) -> Vec<SeqRange> {
    let mut out: Vec<SeqRange> = Vec::with_capacity(sorted.len());
    for r in sorted {
        match out.last_mut() {
            Some(last) if r.first <= last.last.saturating_add(1) => {
                last.last = last.last.max(r.last);
            }
            _ => out.push(r),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(first: u64, last: u64) -> SeqRange {
        SeqRange { first, last }
    }

    fn ledger(pruned: &[u64], records: &[(u64, &[(u64, u64)])]) -> PruneLedger {
        let mut l = PruneLedger::default();
        for &seq in pruned {
            l.note_pruned(seq);
        }
        for (seq, ranges) in records {
            l.note_record(*seq, ranges.iter().map(|&(a, b)| range(a, b)).collect());
        }
        l
    }

    #[test]
    fn every_missing_body_must_be_named_by_a_record() {
        let named = ledger(&[3, 4, 5, 9], &[(20, &[(3, 5)]), (30, &[(9, 9)])]);
        assert_eq!(named.first_unaccounted(u64::MAX), None);
        let one_short = ledger(&[3, 4, 5, 6], &[(20, &[(3, 5)])]);
        assert_eq!(one_short.first_unaccounted(u64::MAX), Some(6));
        let none = ledger(&[7], &[]);
        assert_eq!(none.first_unaccounted(u64::MAX), Some(7));
        // Two records that touch cover the run between them.
        let touching = ledger(&[3, 4, 5, 6], &[(20, &[(3, 4)]), (21, &[(5, 6)])]);
        assert_eq!(touching.first_unaccounted(u64::MAX), None);
    }

    #[test]
    fn nothing_past_the_first_chain_failure_counts() {
        // The record at 20 is past the failure at 15: 3 is unaccounted.
        let l = ledger(&[3], &[(20, &[(3, 3)])]);
        assert_eq!(l.first_unaccounted(15), Some(3));
        // A missing body past the failure is not reported.
        let l = ledger(&[16], &[]);
        assert_eq!(l.first_unaccounted(15), None);
        // A run crossing the failure is reported only below it.
        // (The ledger does not check that a record names older seqs: the
        // entry rules do.)
        let l = || ledger(&[10, 11, 12], &[(8, &[(10, 10)])]);
        assert_eq!(l().first_unaccounted(11), None);
        assert_eq!(l().first_unaccounted(12), Some(11));
    }

    #[test]
    fn unaccounted_seqs_are_counted_around_records() {
        let l = ledger(&[3, 4, 5, 6, 7, 9], &[(20, &[(4, 5)]), (21, &[(9, 9)])]);
        assert_eq!(l.unaccounted_count(u64::MAX), 3); // 3, 6, 7
        let l = ledger(&[3, 4, 5, 6, 7, 9], &[(8, &[(4, 5)])]);
        assert_eq!(l.unaccounted_count(9), 3); // 3, 6, 7: 9 is past the limit
        let l = ledger(&[3, 4, 5], &[(20, &[(3, 5)])]);
        assert_eq!(
            l.unaccounted_count(7),
            3,
            "a record past the limit names nothing"
        );
        assert_eq!(ledger(&[], &[]).unaccounted_count(u64::MAX), 0);
    }

    #[test]
    fn chunks_merge_in_any_order() {
        let mut a = ledger(&[40, 41], &[(10, &[(2, 2)])]);
        let b = ledger(&[2], &[(50, &[(40, 41)])]);
        a.merge(b);
        assert!(a.has_records());
        assert_eq!(a.first_unaccounted(u64::MAX), None);
    }
}
