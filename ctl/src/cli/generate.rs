//! `vigilctl generate DIR` (hidden): the manual pages and shell completions
//! the packages ship, made from the same clap definitions as `--help`, so
//! they cannot drift from the command line.

use super::{Cli, Failure};
use clap::CommandFactory;
use clap_complete::Shell;
use std::path::{Path, PathBuf};

/// Arguments of `vigilctl generate`.
#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// Directory to write into (created if missing): `man/*.1` and
    /// `completions/{vigilctl.bash,_vigilctl,vigilctl.fish}`.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

/// Writes every page and completion script into `args.dir`.
pub fn run(args: &GenerateArgs) -> Result<(), Failure> {
    let fail = |what: &str, path: &Path, e: std::io::Error| {
        Failure::Error(format!("cannot write {what} {}: {e}", path.display()))
    };
    let man = args.dir.join("man");
    let completions = args.dir.join("completions");
    for dir in [&man, &completions] {
        std::fs::create_dir_all(dir).map_err(|e| fail("directory", dir, e))?;
    }
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    pages(&cmd, &man).map_err(|(path, e)| fail("manual page", &path, e))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut cmd = visible(&Cli::command());
        clap_complete::generate_to(shell, &mut cmd, "vigilctl", &completions)
            .map_err(|e| fail("completions in", &completions, e))?;
    }
    Ok(())
}

/// `cmd` without its hidden arguments and commands, which clap_complete
/// would offer like any other.
fn visible(cmd: &clap::Command) -> clap::Command {
    let mut out = clap::Command::new(cmd.get_name().to_string());
    if let Some(about) = cmd.get_about() {
        out = out.about(about.clone());
    }
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        out = out.arg(arg.clone());
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        out = out.subcommand(visible(sub));
    }
    out
}

/// One page for `cmd` and one for each of its visible subcommands, named
/// `vigilctl-incidents-list.1` and so on, as git names its pages.
fn pages(cmd: &clap::Command, dir: &Path) -> Result<(), (PathBuf, std::io::Error)> {
    let page = clap_mangen::Man::new(cmd.clone())
        .manual("Vigil Manual")
        .source(format!("Vigil {}", env!("CARGO_PKG_VERSION")))
        .date(release_date());
    let path = dir.join(page.get_filename());
    let mut text = Vec::new();
    page.render(&mut text).map_err(|e| (path.clone(), e))?;
    let extra = if cmd.get_name() == "vigilctl" {
        TOP_SECTIONS.to_string()
    } else {
        ".SH \"SEE ALSO\"\n\\fBvigilctl\\fR(1)\n".to_string()
    };
    // Our sections go before the closing VERSION section.
    let text = String::from_utf8_lossy(&text);
    let text = match text.split_once(".SH VERSION\n") {
        Some((head, tail)) => format!("{head}{extra}.SH VERSION\n{tail}"),
        None => format!("{text}{extra}"),
    };
    std::fs::write(&path, text).map_err(|e| (path.clone(), e))?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages(sub, dir)?;
    }
    Ok(())
}

/// The sections `vigilctl(1)` has beyond the options and commands (roff).
const TOP_SECTIONS: &str = r#".SH ENVIRONMENT
.TP
\fBVIGIL_SOCKET\fR
The control socket, when \fB\-\-socket\fR is not given.
.SH FILES
.TP
\fI/run/vigil/control.sock\fR
The control socket of the system's vigild (group vigil may connect; what a
caller may do is decided by \fB[access]\fR in \fI/etc/vigil/vigil.toml\fR).
.TP
\fI./vigil\-data/control.sock\fR
The socket of a development daemon (\fBvigild \-\-dev\fR).
.SH "EXIT STATUS"
.TP
\fB0\fR
Success.
.TP
\fB1\fR
A check ran and failed: verify found damage, doctor found errors.
.TP
\fB2\fR
Usage, connection or server errors.
.SH "SEE ALSO"
\fBvigild\fR(8); each command has its own page, e.g. \fBvigilctl\-incidents\-list\fR(1);
\fI/usr/share/doc/vigil/operations.md\fR
"#;

/// The date a page carries: `SOURCE_DATE_EPOCH`'s day when it is set (so two
/// builds of one release give the same bytes), else none.
fn release_date() -> String {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(civil_date)
        .unwrap_or_default()
}

/// `YYYY-MM-DD` of a Unix time, in UTC.
fn civil_date(unix: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix);
    humantime::format_rfc3339_seconds(time).to_string()[..10].to_string()
}

#[cfg(test)]
mod tests {
    use super::civil_date;

    #[test]
    fn dates_are_utc_days() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(951_782_400), "2000-02-29");
        assert_eq!(civil_date(1_796_601_599), "2026-12-06");
    }
}
