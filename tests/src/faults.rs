//! Disk faults for the real daemon: the environment that preloads the
//! `vigil-faults` library with a plan (see faults/src/lib.rs for the plan's
//! syntax), the file that arms it, and the report of what it injected.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The preload library cargo built beside the binaries (a test build
/// leaves it under `deps/`).
pub fn library() -> PathBuf {
    let vigild = crate::bin("vigild");
    let dir = vigild.parent().expect("target/<profile>");
    [
        dir.join("deps/libvigil_faults.so"),
        dir.join("libvigil_faults.so"),
    ]
    .into_iter()
    .find(|p| p.exists())
    .unwrap_or_else(|| {
        panic!(
            "libvigil_faults.so is not built in {}; run the whole suite: cargo test --workspace",
            dir.display()
        )
    })
}

/// One plan for one run of a program, with its own arm and report files.
pub struct Faults {
    plan: String,
    arm: Option<PathBuf>,
    report: PathBuf,
}

impl Faults {
    /// `plan` applies from the program's first call on.
    pub fn now(dir: &Path, plan: impl Into<String>) -> Faults {
        Faults::new(dir, plan.into(), None)
    }

    /// `plan` applies once [`Faults::arm`] is called.
    pub fn later(dir: &Path, plan: impl Into<String>) -> Faults {
        Faults::new(dir, plan.into(), Some(dir.join("faults.arm")))
    }

    fn new(dir: &Path, plan: String, arm: Option<PathBuf>) -> Faults {
        let report = dir.join("faults.report");
        let _ = std::fs::remove_file(&report);
        if let Some(arm) = &arm {
            let _ = std::fs::remove_file(arm);
        }
        Faults { plan, arm, report }
    }

    /// The environment to start the program with.
    pub fn env(&self) -> Vec<(String, OsString)> {
        let mut env = vec![
            ("LD_PRELOAD".to_string(), library().into_os_string()),
            ("VIGIL_FAULTS".to_string(), OsString::from(&self.plan)),
            (
                "VIGIL_FAULTS_REPORT".to_string(),
                self.report.clone().into_os_string(),
            ),
        ];
        if let Some(arm) = &self.arm {
            env.push(("VIGIL_FAULTS_ARM".to_string(), arm.clone().into_os_string()));
        }
        env
    }

    /// Starts counting calls.
    pub fn arm(&self) {
        let arm = self.arm.as_ref().expect("a plan made with Faults::later");
        std::fs::write(arm, "").expect("write the arm file");
    }

    /// One line per fault injected so far: `<op> <action> <path>`.
    pub fn injected(&self) -> Vec<String> {
        std::fs::read_to_string(&self.report)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}
