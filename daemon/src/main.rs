//! `vigild`: the Vigil daemon. A thin binary: its command line, then
//! [`app::main`].
//!
//! The rooms, and the one-way arrows between them (docs/architecture.md):
//! - `app`: start-up, development mode, the tasks and their orderly stop,
//!   reload.
//! - `intake`: every way an event comes in (HTTP, the spool), and the one
//!   redaction step they share.
//! - `control`: the control socket, one file per command family.
//! - `notifier`: from alerts in the log to deliveries.
//! - `doctor`: posture checks.
//! - `state`: what the running parts share, the views kept current, the
//!   messages tasks send each other.
//! - `access`: peer credentials, roles, the audit recorder.
//! - `secrets`: the vault and its master key.
//! - `config`: the configuration, parsed and checked once.
//! - `sys`: systemd, logging, private files.

mod access;
mod app;
mod config;
mod control;
mod doctor;
mod intake;
mod notifier;
mod retention;
mod secrets;
mod state;
mod sys;

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Vigil monitoring and alerting daemon.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Configuration file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Check the configuration and exit (0 valid, 1 not).
    #[arg(long)]
    check_config: bool,
    /// Development mode: embedded configuration, state in ./vigil-data (or
    /// --state-dir), control socket inside it, the invoking user is admin.
    #[arg(long)]
    dev: bool,
    /// State directory (development mode).
    #[arg(long, value_name = "DIR", requires = "dev")]
    state_dir: Option<PathBuf>,
    /// Ingestion address (development mode; port 0 picks a free one).
    #[arg(long, value_name = "ADDR", requires = "dev")]
    listen: Option<std::net::SocketAddr>,
    /// Open a store whose newest entries are gone (it ends before the head
    /// it recorded) and go on from there, recording the loss in the log.
    /// Without it such a store is refused.
    #[arg(long)]
    accept_truncation: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Nothing vigild creates is for anyone else.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    app::main(app::Launch {
        config: args.config,
        check_config: args.check_config,
        dev: args.dev,
        state_dir: args.state_dir,
        listen: args.listen,
        accept_truncation: args.accept_truncation,
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks over the command line (they run in
    /// builds with debug assertions: `scripts/test` runs this binary's unit
    /// tests in one).
    #[test]
    fn the_command_line_is_consistent() {
        super::Args::command().debug_assert();
    }
}
