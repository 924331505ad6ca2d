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
mod forward;
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
#[command(version, about = "The Vigil monitoring and alerting daemon")]
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
    /// Write the manual page (man/vigild.8) and shell completions into DIR
    /// and exit (for packaging).
    #[arg(long, value_name = "DIR", hide = true, exclusive = true)]
    generate: Option<PathBuf>,
}

/// The manual page's description (`--help` keeps to the one line).
const DESCRIPTION: &str = "The Vigil monitoring and alerting daemon. It receives alerts \
over HTTP, watches files and logs, and sends notifications; each of those is an event \
appended to a hash-chained, forward-sealed log. vigilctl(1) drives it over its control \
socket. Under systemd it runs as user vigil from vigild.service.";

/// The sections the manual page has beyond the options (roff).
const MAN_SECTIONS: &str = r#".SH FILES
.TP
\fI/etc/vigil/vigil.toml\fR
The configuration. Unknown keys are errors; check a change with \fBvigild \-\-check\-config\fR.
.TP
\fI/var/lib/vigil\fR
The event store (mode 0700, user vigil).
.TP
\fI/run/vigil/control.sock\fR
The control socket; \fBvigild.socket\fR creates it (mode 0660, group vigil).
.TP
\fI/usr/share/doc/vigil/\fR
Installing, operations, configuration reference, security model, storage format.
.SH SIGNALS
.TP
\fBSIGHUP\fR
Re\-read the configuration. One that does not parse is refused and the running one kept.
.TP
\fBSIGTERM\fR, \fBSIGINT\fR
Finish the appends in flight, then stop.
.SH "EXIT STATUS"
.TP
\fB0\fR
Stopped cleanly, or \fB\-\-check\-config\fR found the configuration valid.
.TP
\fB1\fR
A failure a restart may cure, or \fB\-\-check\-config\fR found errors.
.TP
\fB78\fR
A configuration error: systemd does not restart, only a fix helps.
.SH "SEE ALSO"
\fBvigilctl\fR(1), \fBsystemd\-creds\fR(1), \fBsystemd.exec\fR(5)
"#;

fn main() -> ExitCode {
    sys::memory::tune();
    let args = Args::parse();
    if let Some(dir) = args.generate {
        return match generate(&dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("vigild: cannot write into {}: {e}", dir.display());
                ExitCode::FAILURE
            }
        };
    }
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

/// The manual page and completions the packages ship, made from the same
/// definitions as `--help` (vigilctl has the same, as `vigilctl generate`).
fn generate(dir: &std::path::Path) -> std::io::Result<()> {
    use clap::CommandFactory;
    use clap_complete::Shell;
    let (man, completions) = (dir.join("man"), dir.join("completions"));
    std::fs::create_dir_all(&man)?;
    std::fs::create_dir_all(&completions)?;
    // Section 8: a daemon an administrator runs. The date is the release's
    // (SOURCE_DATE_EPOCH), so two builds give the same bytes.
    let mut page = clap_mangen::Man::new(Args::command().long_about(DESCRIPTION))
        .section("8")
        .manual("Vigil Manual")
        .source(format!("Vigil {}", env!("CARGO_PKG_VERSION")));
    if let Some(day) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
    {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(day);
        page = page.date(&humantime::format_rfc3339_seconds(time).to_string()[..10]);
    }
    let mut text = Vec::new();
    page.render(&mut text)?;
    // Our sections go before the closing VERSION section.
    let text = String::from_utf8_lossy(&text);
    let text = match text.split_once(".SH VERSION\n") {
        Some((head, tail)) => format!("{head}{MAN_SECTIONS}.SH VERSION\n{tail}"),
        None => format!("{text}{MAN_SECTIONS}"),
    };
    std::fs::write(man.join(page.get_filename()), text)?;
    // Without the hidden --generate, which clap_complete would offer.
    let full = Args::command();
    let mut visible = clap::Command::new("vigild");
    if let Some(about) = full.get_about() {
        visible = visible.about(about.clone());
    }
    for arg in full.get_arguments().filter(|a| !a.is_hide_set()) {
        visible = visible.arg(arg.clone());
    }
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut visible, "vigild", &completions)?;
    }
    Ok(())
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
