//! `vigild --generate DIR` (hidden, for packaging) writes vigild(8) and the
//! shell completions from the same definitions as `--help`.

#![allow(clippy::unwrap_used)]

use std::process::Command;

const VIGILD: &str = env!("CARGO_BIN_EXE_vigild");

#[test]
fn the_manual_page_and_completions_come_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(VIGILD)
        .arg("--generate")
        .arg(dir.path())
        .env("SOURCE_DATE_EPOCH", "1796601599")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(dir.path().join("man/vigild.8")).unwrap();
    assert!(page.contains(".TH vigild 8 2026-12-06"), "{page}");
    // Every flag of --help is documented, the hidden one is not.
    for flag in ["config", "check\\-config", "dev", "accept\\-truncation"] {
        assert!(
            page.contains(&format!("\\-\\-{flag}")),
            "no --{flag} in:\n{page}"
        );
    }
    assert!(
        !page.contains("generate"),
        "the hidden --generate is documented"
    );
    for section in ["FILES", "SIGNALS", "\"EXIT STATUS\"", "\"SEE ALSO\""] {
        assert!(page.contains(&format!(".SH {section}")), "no {section}");
    }
    // The sections go before VERSION, and the exit statuses are systemd's.
    assert!(page.find(".SH FILES").unwrap() < page.find(".SH VERSION").unwrap());
    assert!(page.contains("\\fB78\\fR"));
    for file in ["vigild.bash", "_vigild", "vigild.fish"] {
        let text = std::fs::read_to_string(dir.path().join("completions").join(file)).unwrap();
        assert!(
            text.contains("check-config"),
            "{file} misses --check-config"
        );
        assert!(
            !text.contains("generate"),
            "{file} offers the hidden --generate"
        );
    }
}

#[test]
fn generate_is_alone_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(VIGILD)
        .arg("--generate")
        .arg(dir.path())
        .arg("--dev")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !dir.path().join("man").exists(),
        "wrote pages while refusing"
    );
}
