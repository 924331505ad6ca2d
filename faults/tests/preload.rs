//! The preload library in front of a real program: the calls its plan
//! names fail or crash, the others go through, and each fault is reported.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The library cargo built for these tests (under `deps/`, as a test
/// build leaves it).
fn library() -> PathBuf {
    let probe = Path::new(env!("CARGO_BIN_EXE_faults-probe"));
    let lib = probe.parent().unwrap().join("deps/libvigil_faults.so");
    assert!(lib.exists(), "{} not built", lib.display());
    lib
}

fn probe(plan: &str, env: &[(&str, &Path)], steps: &[String]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_faults-probe"));
    cmd.env("LD_PRELOAD", library())
        .env("VIGIL_FAULTS", plan)
        .args(steps);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.rsplit(' ').next().unwrap().to_string())
        .collect()
}

#[test]
fn the_nth_matching_call_fails_for_its_times_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (hit, miss) = (dir.path().join("hit"), dir.path().join("miss"));
    let report = dir.path().join("report");
    let steps: Vec<String> = (0..4)
        .flat_map(|_| {
            [
                format!("fsync:{}", hit.display()),
                format!("fsync:{}", miss.display()),
            ]
        })
        .collect();
    let plan = format!("op=fsync,path={},nth=2,times=2,do=eio", hit.display());
    let out = probe(&plan, &[("VIGIL_FAULTS_REPORT", &report)], &steps);
    // EIO is 5: the 2nd and 3rd fsync of `hit`, never `miss`.
    assert_eq!(lines(&out), ["ok", "ok", "5", "ok", "5", "ok", "ok", "ok"]);
    let reported = std::fs::read_to_string(&report).unwrap();
    assert_eq!(reported.lines().count(), 2, "{reported}");
    assert!(reported.starts_with(&format!("Sync eio {}", hit.display())));
}

#[test]
fn writes_renames_and_directory_syncs_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let steps = [
        format!("write:{d}/a"),
        format!("fsync:{d}/a"),
        format!("dirsync:{d}"),
        format!("rename:{d}/a:{d}/b"),
        format!("write:{d}/b"),
    ];
    let plan = format!(
        "op=dirsync,path={d},do=enospc;op=rename,path={d}/b,times=0;op=write,path={d},nth=2,times=0"
    );
    let out = probe(&plan, &[], &steps);
    // ENOSPC is 28.
    assert_eq!(lines(&out), ["ok", "ok", "28", "5", "5"]);
    assert!(dir.path().join("a").exists(), "the rename was not made");
}

#[test]
fn nothing_is_counted_before_the_plan_is_armed() {
    let dir = tempfile::tempdir().unwrap();
    let (file, arm) = (dir.path().join("f"), dir.path().join("arm"));
    let plan = format!("op=write,path={},times=0", file.display());
    let step = format!("write:{}", file.display());
    let out = probe(
        &plan,
        &[("VIGIL_FAULTS_ARM", &arm)],
        std::slice::from_ref(&step),
    );
    assert_eq!(lines(&out), ["ok"]);
    std::fs::write(&arm, "").unwrap();
    let out = probe(&plan, &[("VIGIL_FAULTS_ARM", &arm)], &[step]);
    assert_eq!(lines(&out), ["5"]);
}

#[test]
fn a_crash_kills_the_process_before_the_call() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::write(&a, "x").unwrap();
    let plan = format!("op=rename,path={},do=crash", b.display());
    let steps = [
        format!("fsync:{}", a.display()),
        format!("rename:{}:{}", a.display(), b.display()),
        format!("fsync:{}", a.display()),
    ];
    let out = probe(&plan, &[], &steps);
    assert_eq!(out.status.signal(), Some(libc_sigkill()));
    assert_eq!(lines(&out), ["ok"]);
    assert!(a.exists() && !b.exists());
}

#[test]
fn a_plan_with_a_typo_stops_the_program() {
    let out = probe("op=fsnyc", &[], &["write:/dev/null".into()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown op `fsnyc`"), "{stderr}");
}

fn libc_sigkill() -> i32 {
    9
}

#[test]
fn each_rule_counts_every_call_of_its_op_even_when_another_rule_hits_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    let d = dir.path().display();
    let plan = format!("op=fsync,path={d},nth=1;op=fsync,path={d},nth=2,do=enospc");
    let steps: Vec<String> = (0..3).map(|_| format!("fsync:{}", f.display())).collect();
    // The second rule's 2nd call is the second call, though the first
    // rule hit the first one.
    assert_eq!(lines(&probe(&plan, &[], &steps)), ["5", "28", "ok"]);
}
