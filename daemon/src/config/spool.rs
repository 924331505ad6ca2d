//! `[spool]`: the directory scripts drop alert files into.

use super::values::ByteSize;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use vigil_ingest::drivers::{DriverChoice, DriverKind};

/// `[spool]`. Files renamed into `<dir>/incoming` are ingested with
/// `driver` under the source name `source`, then moved to `done/` or to
/// `failed/` beside a `.reason` file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpoolConfig {
    /// Watch the spool directory.
    pub enabled: bool,
    /// The spool directory (default `<state_dir>/spool`).
    pub dir: Option<PathBuf>,
    /// The driver that reads each file (default `generic`: Vigil's alert
    /// JSON); `auto` detects it from the body.
    pub driver: DriverChoice,
    /// The source name the alerts are recorded under.
    pub source: String,
    /// Largest file accepted.
    pub max_file: ByteSize,
}

impl Default for SpoolConfig {
    fn default() -> Self {
        SpoolConfig {
            enabled: true,
            dir: None,
            driver: DriverChoice::Kind(DriverKind::Generic),
            source: "spool".into(),
            max_file: ByteSize(1 << 20),
        }
    }
}

impl SpoolConfig {
    /// The spool directory, given the state directory.
    pub fn dir(&self, state_dir: &Path) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| state_dir.join("spool"))
    }
}
