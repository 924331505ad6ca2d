//! Log collection's state, rebuilt from the log's `Logs` events: where
//! each followed file or journal resumes, what was read from it, and the
//! threshold counts ([`Thresholds`]). The collector resumes from this
//! view, so a position is exactly the one committed with the last lines.

mod thresholds;

pub use thresholds::{Counted, MAX_GROUPS, Thresholds};

use crate::View;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vigil_store::{Event, LogChangeKind, LogEvent, LogPosition, Seal};

/// One followed file (or journal).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowedLog {
    /// Where reading resumes (none before anything was read).
    pub position: Option<LogPosition>,
    /// Seq of the event that recorded the position.
    pub seq: Option<u64>,
    /// Lines read.
    pub lines: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Lines a rule matched.
    pub matched: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Lines cut at `max_line_bytes`.
    pub truncated: u64,
    /// When lines were last read, UTC micros.
    pub last_read: Option<i64>,
    /// The last change recorded (rotation, truncation, ...): what and when.
    pub last_change: Option<(LogChangeKind, i64)>,
    /// Why it cannot be followed now (cleared by the next lines read).
    pub error: Option<String>,
}

/// Every followed source, and the threshold counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogsView {
    /// Set name → path → its state.
    pub sources: BTreeMap<String, BTreeMap<String, FollowedLog>>,
    /// Threshold counts of every rule.
    pub thresholds: Thresholds,
}

impl LogsView {
    /// The state of `path` in `set`, if it was ever followed.
    pub fn get(&self, set: &str, path: &str) -> Option<&FollowedLog> {
        self.sources.get(set)?.get(path)
    }

    fn entry(&mut self, set: &str, path: &str) -> &mut FollowedLog {
        self.sources
            .entry(set.to_string())
            .or_default()
            .entry(path.to_string())
            .or_default()
    }
}

impl View for LogsView {
    const NAME: &'static str = "logs";
    // 2: a followed log knows the seq of its position.
    const VERSION: u32 = 2;

    /// Each followed log's position: a rebuild must resume there.
    fn pins(&self, out: &mut Vec<u64>) {
        for paths in self.sources.values() {
            out.extend(paths.values().filter_map(|f| f.seq));
        }
    }

    fn apply(&mut self, seal: &Seal, event: Option<&Event>) {
        let Some(Event::Logs(event)) = event else {
            return;
        };
        match event {
            LogEvent::Lines(lines) => {
                for line in &lines.lines {
                    for m in &line.matches {
                        if let Some(counted) = &m.threshold {
                            self.thresholds.observe(&m.rule, counted, lines.at);
                        }
                    }
                }
                let followed = self.entry(&lines.set, &lines.path);
                followed.position = Some(lines.position.clone());
                followed.seq = Some(seal.seq);
                followed.lines += lines.read;
                followed.bytes += lines.bytes;
                followed.last_read = Some(seal.time);
                followed.error = None;
                for line in &lines.lines {
                    followed.truncated += u64::from(line.truncated);
                    followed.matched += u64::from(!line.matches.is_empty());
                    followed.alerts +=
                        line.matches.iter().filter(|m| m.alert.is_some()).count() as u64;
                }
            }
            LogEvent::Source(change) => {
                let followed = self.entry(&change.set, &change.path);
                if let Some(position) = &change.position {
                    followed.position = Some(position.clone());
                    followed.seq = Some(seal.seq);
                }
                followed.last_change = Some((change.change, seal.time));
                followed.error = match change.change {
                    LogChangeKind::Refused | LogChangeKind::Gone => Some(change.detail.clone()),
                    _ => None,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests;
