//! The daemon's configuration parser (`daemon/src/config`, compiled here
//! from its source: `vigild` is a binary crate, and the config room uses
//! no other room of the daemon, which `daemon/tests/rooms.rs` enforces).
//!
//! Input: the bytes of a `vigil.toml`.
//!
//! Checked: `Config::from_bytes` never panics; a refusal is a
//! `ConfigError` whose line and column lie inside the file (line 0 only
//! for text that is not UTF-8) and whose message is not empty; a file that
//! loads answers what the daemon asks of it at start-up.
#![no_main]

#[allow(dead_code, unused_imports, clippy::all)]
#[path = "../../daemon/src/config/mod.rs"]
mod config;

use config::Config;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    match Config::from_bytes(Path::new("fuzz.toml"), data) {
        Err(e) => {
            assert!(!e.message.is_empty(), "an error without a message");
            assert_eq!(e.path, "fuzz.toml");
            match std::str::from_utf8(data) {
                Err(_) => assert_eq!((e.line, e.column), (0, 0)),
                Ok(text) => {
                    let lines = text.split('\n').count();
                    assert!(
                        (1..=lines).contains(&e.line),
                        "line {} of {lines}: {}",
                        e.line,
                        e.message
                    );
                    let width = text
                        .split('\n')
                        .nth(e.line - 1)
                        .map_or(0, |l| l.chars().count());
                    assert!(
                        (1..=width + 1).contains(&e.column),
                        "column {} of a line of {width}: {}",
                        e.column,
                        e.message
                    );
                }
            }
        }
        Ok(config) => {
            let _ = config.redaction_patterns();
            let _ = config.inline_secrets();
            let _ = config.store_dir();
            let _ = config.spool_dir();
            let _ = config.verification_key_path();
            let _ = config.master_key_path();
            for (_, name) in &config.references {
                let _ = config.references_to(name);
            }
            for name in config.roles.keys() {
                let _ = config.role(name);
            }
        }
    }
});
