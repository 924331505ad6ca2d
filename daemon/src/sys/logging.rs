//! Logs go to journald when stderr is connected to it (systemd sets
//! `JOURNAL_STREAM`), to stderr otherwise.
//!
//! Chain anchors (target `vigil::anchor`) go to journald at *notice*
//! priority, so they stand out and can be compared with the store's head to
//! detect a truncated tail.

use tracing_subscriber::Layer;
use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Target of chain-anchor log lines.
pub const ANCHOR: &str = "vigil::anchor";

/// Installs the global subscriber. `VIGIL_LOG` overrides `level`.
pub fn init(level: &str) -> anyhow::Result<()> {
    // The storage engine's own chatter stays below warnings unless asked for.
    let filter = || {
        EnvFilter::try_from_env("VIGIL_LOG")
            .unwrap_or_else(|_| EnvFilter::new(format!("{level},fjall=warn,lsm_tree=warn")))
    };
    if std::env::var_os("JOURNAL_STREAM").is_some()
        && let Ok(main) = tracing_journald::layer()
    {
        let anchors = tracing_journald::layer()?
            .with_syslog_identifier("vigild".into())
            .with_priority_mappings(tracing_journald::PriorityMappings {
                info: tracing_journald::Priority::Notice,
                ..tracing_journald::PriorityMappings::new()
            })
            .with_filter(filter_fn(|m| m.target() == ANCHOR));
        let main = main
            .with_syslog_identifier("vigild".into())
            .with_filter(filter().add_directive(format!("{ANCHOR}=off").parse()?));
        tracing_subscriber::registry()
            .with(main)
            .with(anchors)
            .try_init()?;
    } else {
        use std::io::IsTerminal;
        tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .try_init()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}
