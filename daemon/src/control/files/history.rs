//! One path's history, from the log: every `FileIntegrity::Records`
//! record naming it (as its path, or as the path it was renamed from),
//! the newest kept, made to fit one frame.

use super::state;
use crate::control::conn::Fail;
use crate::control::listing::json_len;
use std::collections::VecDeque;
use vigil_proto::{FILE_HISTORY_LIMIT, FileDetail, FileHistory};
use vigil_store::{Event, EventKind, FileIntegrity, FileRecord, Log, Seal, StoreError};

/// One record as a path's history shows it.
fn history_record(seal: &Seal, r: &FileRecord) -> FileHistory {
    FileHistory {
        seq: seal.seq,
        time: seal.time,
        path: r.path.clone(),
        change: r.change,
        while_stopped: r.while_stopped,
        from: r.from.clone(),
        old: r.old.as_ref().map(state),
        new: r.new.as_ref().map(state),
        diff: r.diff.clone(),
    }
}

/// The records of `path` (as their path, or as where it was renamed
/// from) in the log up to `head`: the newest [`FILE_HISTORY_LIMIT`],
/// oldest first, and how many came before them.
pub(super) fn read(
    log: &Log,
    path: &str,
    head: u64,
) -> Result<(Vec<FileHistory>, u64), StoreError> {
    let mut kept = VecDeque::with_capacity(FILE_HISTORY_LIMIT);
    let mut older = 0u64;
    for entry in log.entries_between(1, head) {
        let entry = entry?;
        // The kind is in the entry's header: only collected entries are decoded.
        if entry.kind() != Some(EventKind::Collect) {
            continue;
        }
        // A body dropped by retention, or one this build cannot read, has
        // no record to show.
        let Ok(Some(Event::FileIntegrity(FileIntegrity::Records { files, .. }))) = entry.event()
        else {
            continue;
        };
        let mine = files
            .iter()
            .filter(|r| r.path == path || r.from.as_deref() == Some(path));
        for record in mine {
            if kept.len() == FILE_HISTORY_LIMIT {
                kept.pop_front();
                older += 1;
            }
            kept.push_back(history_record(entry.seal(), record));
        }
    }
    Ok((kept.into(), older))
}

/// Makes `detail` fit in `budget` bytes of JSON: the oldest records go
/// first (counted in `older`); a single record still too large keeps the
/// start of its diff.
pub(super) fn fit(detail: &mut FileDetail, budget: usize) -> Result<(), Fail> {
    let mut size = json_len(&*detail)?;
    while size > budget && detail.history.len() > 1 {
        let dropped = detail.history.remove(0);
        size -= json_len(&dropped)? + 1;
        detail.older += 1;
    }
    if size > budget
        && let Some(whole) = detail.history.first_mut().and_then(|h| h.diff.take())
    {
        const NOTE: &str = "\n[diff cut: it does not fit one frame]\n";
        // Every byte cut takes at least one byte of JSON with it (more when
        // escaped): cutting by what is over fits, at the second try at most.
        let mut keep = whole.len();
        for _ in 0..4 {
            detail.history[0].diff = Some(format!("{}{NOTE}", &whole[..keep]));
            let now = json_len(&*detail)?;
            if now <= budget {
                return Ok(());
            }
            keep = keep.saturating_sub(now - budget);
            while !whole.is_char_boundary(keep) {
                keep -= 1;
            }
        }
        detail.history[0].diff = Some(NOTE.trim().to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_store::FileChangeKind;

    fn record(seq: u64, diff: &str) -> FileHistory {
        FileHistory {
            seq,
            time: 0,
            path: "/etc/a".into(),
            change: FileChangeKind::Modified,
            while_stopped: false,
            from: None,
            old: None,
            new: None,
            diff: Some(diff.into()),
        }
    }

    #[test]
    fn a_detail_too_large_for_a_frame_drops_its_oldest_records_then_cuts_a_diff() {
        let mut detail = FileDetail {
            path: "/etc/a".into(),
            current: None,
            history: (0..10).map(|i| record(i, &"x".repeat(1000))).collect(),
            older: 5,
        };
        fit(&mut detail, 3500).unwrap();
        assert!(json_len(&detail).unwrap() <= 3500);
        let seqs: Vec<u64> = detail.history.iter().map(|h| h.seq).collect();
        assert_eq!(seqs, [7, 8, 9], "the newest stay");
        assert_eq!(detail.older, 12);

        let mut one = FileDetail {
            path: "/etc/a".into(),
            current: None,
            history: vec![record(1, &"é".repeat(2000))],
            older: 0,
        };
        fit(&mut one, 1000).unwrap();
        assert!(json_len(&one).unwrap() <= 1000);
        let diff = one.history[0].diff.as_deref().unwrap();
        assert!(diff.starts_with('é') && diff.ends_with("does not fit one frame]\n"));
    }
}
