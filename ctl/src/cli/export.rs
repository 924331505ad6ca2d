//! `vigilctl export` (from the daemon, or offline from a stopped daemon's
//! store) and `vigilctl verify --export` (no store, no daemon).

use super::output::Out;
use super::{Failure, unexpected};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::{BufReader, IsTerminal, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use vigil_proto::{AuditRequest, ExportRequest, Request, Response};
use vigil_store::export::{ExportReport, export_to, plan, verify_export};
use vigil_store::{EventKind, VerificationKey};
use vigilctl::Client;

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// First seq.
    #[arg(long, value_name = "SEQ")]
    from: Option<u64>,
    /// Last seq.
    #[arg(long, value_name = "SEQ")]
    to: Option<u64>,
    /// Entries at or after TIME: RFC 3339 (2026-11-01T00:00:00Z) or a duration ago (7d).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    since: Option<i64>,
    /// Entries at or before TIME: RFC 3339 or a duration ago.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    until: Option<i64>,
    /// Only this kind in full (repeatable); other entries are compact lines (chain fields only).
    #[arg(long = "kind", value_name = "KIND")]
    kinds: Vec<EventKind>,
    /// Only this source's events in full (an ingestion source, a log set).
    #[arg(long, value_name = "NAME")]
    source: Option<String>,
    /// Write to FILE (created with mode 0600; an existing file is refused) rather than standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Export from a stopped daemon's store.
    #[arg(long, requires = "state_dir")]
    offline: bool,
    /// The daemon's state directory (with --offline).
    #[arg(long, value_name = "DIR", requires = "offline")]
    state_dir: Option<PathBuf>,
}

impl ExportArgs {
    /// Whether this export reads the store directly.
    pub fn offline(&self) -> bool {
        self.offline
    }

    fn request(&self) -> ExportRequest {
        ExportRequest {
            from: self.from,
            to: self.to,
            since: self.since,
            until: self.until,
            kinds: (!self.kinds.is_empty()).then(|| self.kinds.clone()),
            source: self.source.clone(),
        }
    }
}

/// A `--since`/`--until` that is neither a time nor a duration.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is neither an RFC 3339 time (2026-11-01T00:00:00Z) nor a duration ago (7d, 12h)")]
pub(super) struct BadTime(String);

pub(super) fn parse_time(s: &str) -> Result<i64, BadTime> {
    let bad = || BadTime(s.to_string());
    let at = match humantime::parse_rfc3339_weak(s) {
        Ok(t) => t,
        Err(_) => {
            let ago = humantime::parse_duration(s).map_err(|_| bad())?;
            std::time::SystemTime::now()
                .checked_sub(ago)
                .ok_or_else(bad)?
        }
    };
    let micros = match at.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).map_err(|_| bad())?,
        Err(e) => -i64::try_from(e.duration().as_micros()).map_err(|_| bad())?,
    };
    Ok(micros)
}

/// Where the lines go: a new file (removed if the export fails) or stdout.
struct Sink {
    out: Box<dyn Write>,
    path: Option<PathBuf>,
}

impl Sink {
    fn open(path: Option<&Path>) -> Result<Sink, Failure> {
        let Some(path) = path else {
            return Ok(Sink {
                out: Box::new(std::io::BufWriter::new(std::io::stdout())),
                path: None,
            });
        };
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| {
                Failure::Error(match e.kind() {
                    std::io::ErrorKind::AlreadyExists => format!(
                        "{} already exists; nothing was written (choose another --output)",
                        path.display()
                    ),
                    _ => format!("cannot create {}: {e}", path.display()),
                })
            })?;
        Ok(Sink {
            out: Box::new(std::io::BufWriter::with_capacity(1 << 20, file)),
            path: Some(path.to_path_buf()),
        })
    }

    /// Flushes (and syncs a file), or removes the file on failure.
    fn close(mut self, result: Result<(), Failure>) -> Result<(), Failure> {
        let result = result.and_then(|()| self.out.flush().map_err(|e| self.write_failed(e)));
        if result.is_err()
            && let Some(path) = &self.path
        {
            let _ = std::fs::remove_file(path);
        }
        result
    }

    fn write_failed(&self, e: std::io::Error) -> Failure {
        match &self.path {
            Some(p) => Failure::Error(format!("writing {}: {e}", p.display())),
            None => Failure::Error(format!("writing the export: {e}")),
        }
    }
}

/// A bar over the entry lines, on a terminal only.
fn bar(out: &Out, total: u64, what: &str) -> Option<ProgressBar> {
    if out.json() || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(total);
    let template = format!("{what} {{bar:40}} {{pos}}/{{len}} entries ({{per_sec}}, eta {{eta}})");
    bar.set_style(ProgressStyle::with_template(&template).ok()?);
    Some(bar)
}

/// The header's range, read from the first line of the text.
fn header_range(first_line: &str) -> Option<(u64, u64)> {
    let v: serde_json::Value = serde_json::from_str(first_line).ok()?;
    Some((v["first"].as_u64()?, v["last"].as_u64()?))
}

/// `vigilctl export` through the daemon.
pub fn online(client: &mut Client, args: &ExportArgs, out: &Out) -> Result<(), Failure> {
    let mut sink = Sink::open(args.output.as_deref())?;
    client.send(&Request::Audit(AuditRequest::Export(args.request())))?;
    let mut header = String::new();
    let mut range = None;
    let mut progress: Option<ProgressBar> = None;
    let result = loop {
        let frame = match client.receive() {
            Ok(f) => f,
            Err(e) => break Err(e.into()),
        };
        match frame {
            Response::ExportLines { text } => {
                if range.is_none() {
                    header.push_str(&text);
                    if let Some(end) = header.find('\n') {
                        let r = header_range(&header[..end]);
                        if let Some((first, last)) = r {
                            progress = bar(out, (last + 1).saturating_sub(first), "exporting");
                        }
                        range = Some(r);
                        // Lines after the header in this chunk count too.
                        if let Some(bar) = &progress {
                            bar.inc(header[end + 1..].matches('\n').count() as u64);
                        }
                    }
                } else if let Some(bar) = &progress {
                    bar.inc(text.matches('\n').count() as u64);
                }
                if let Err(e) = sink.out.write_all(text.as_bytes()) {
                    break Err(sink.write_failed(e));
                }
            }
            Response::End => break Ok(()),
            other => break Err(unexpected(&other)),
        }
    };
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let summary = range.flatten();
    let path = sink.path.clone();
    sink.close(result)?;
    summarize(args, summary, path.as_deref());
    Ok(())
}

/// `vigilctl export --offline`: from a stopped daemon's store.
pub fn offline(args: &ExportArgs, out: &Out) -> Result<(), Failure> {
    let state_dir = args
        .state_dir
        .as_ref()
        .expect("clap requires --state-dir with --offline");
    let request = args.request();
    let (range, filter) = (request.range(), request.filter());
    range.check().map_err(|e| Failure::Error(e.to_string()))?;
    let log = super::audit::open_stopped(state_dir, "export")?;
    let software = format!("vigilctl {}", env!("CARGO_PKG_VERSION"));
    let header =
        plan(&log, &range, filter, &software).map_err(|e| Failure::Error(e.to_string()))?;
    let mut sink = Sink::open(args.output.as_deref())?;
    let progress = bar(
        out,
        (header.last + 1).saturating_sub(header.first),
        "exporting",
    );
    let result = export_to(&log, &header, &mut sink.out, |done| {
        if let Some(bar) = &progress {
            bar.set_position(done);
        }
    })
    .map(|_| ())
    .map_err(|e| Failure::Error(e.to_string()));
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let path = sink.path.clone();
    sink.close(result)?;
    summarize(args, Some((header.first, header.last)), path.as_deref());
    Ok(())
}

/// Says on stderr what was written, and what of the request was not there.
fn summarize(args: &ExportArgs, range: Option<(u64, u64)>, path: Option<&Path>) {
    let Some((first, last)) = range else { return };
    if let Some(from) = args.from
        && first > from.max(1)
        && args.since.is_none()
    {
        eprintln!(
            "vigilctl: entries before seq {first} are no longer in the store (retention truncated them); the export starts at {first}"
        );
    }
    if let Some(path) = path {
        let count = (last + 1).saturating_sub(first);
        let span = if count == 0 {
            "no entries".to_string()
        } else {
            format!("{count} entries, seq {first}..={last}")
        };
        eprintln!("vigilctl: exported {span} to {}", path.display());
    }
}

/// `vigilctl verify --export FILE [--key K]`.
pub fn verify(
    path: &Path,
    key: Option<&VerificationKey>,
    allow_unsealed: bool,
    out: &Out,
) -> Result<(), Failure> {
    let file = File::open(path)
        .map_err(|e| Failure::Error(format!("cannot open {}: {e}", path.display())))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = (!out.json() && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(size);
        if let Ok(style) =
            ProgressStyle::with_template("verifying {bar:40} {bytes}/{total_bytes} ({eta})")
        {
            bar.set_style(style);
        }
        bar
    });
    let reader: Box<dyn std::io::Read + Send> = match &progress {
        Some(bar) => Box::new(bar.wrap_read(file)),
        None => Box::new(file),
    };
    let report = verify_export(BufReader::with_capacity(1 << 20, reader), key, None)
        .map_err(|e| Failure::Error(format!("{}: {e}", path.display())))?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    print_report(&report, out)?;
    if report.header_sealed == Some(false) && !allow_unsealed {
        eprintln!(
            "vigilctl: the header is not sealed, so its range, head and filter are claims; an export made with --offline is never sealed: pass --allow-unsealed for one, and compare its head with a chain anchor"
        );
        return Err(Failure::Check);
    }
    Ok(())
}

fn print_report(r: &ExportReport, out: &Out) -> Result<(), Failure> {
    let v = &r.report;
    if out.json() {
        out.json_line(&serde_json::json!({
            "ok": v.ok,
            "entries": v.entries,
            "first_seq": r.header.as_ref().map(|h| h.first),
            "last_seq": r.header.as_ref().map(|h| h.last),
            "store_id": r.header.as_ref().map(|h| h.store_id),
            "keyed": v.keyed,
            "sealed_up_to": v.sealed_up_to,
            "bodies_checked": v.bodies_checked,
            "bodies_pruned": v.bodies_pruned,
            "bodies_omitted": r.omitted,
            "prunes_unresolved": v.prunes_unresolved,
            "header_sealed": r.header_sealed,
            "first_bad_seq": v.failure.as_ref().map(|f| f.seq),
            "reason": v.failure.as_ref().map(|f| f.problem.to_string()),
            "problem": v.failure.as_ref().map(|f| &f.problem),
        }))?;
    } else {
        let mut text = match (&v.failure, &r.header) {
            (None, Some(h)) => format!(
                "export OK: {} entries, seq {}..={} of store {}\n",
                v.entries, h.first, h.last, h.store_id
            ),
            (None, None) => "export OK\n".to_string(),
            (Some(f), _) if f.seq == 0 => format!("export REFUSED: {}\n", f.problem),
            (Some(f), _) => format!("export DAMAGED at seq {}: {}\n", f.seq, f.problem),
        };
        match (v.keyed, v.sealed_up_to) {
            (true, Some(s)) if v.failure.is_none() => {
                text.push_str(&format!(
                    "seals checked with the verification key: intact up to seq {s}\n"
                ));
                text.push_str(match r.header_sealed {
                    Some(true) => "the header (range, head, filter) is sealed by the daemon\n",
                    _ => "the header is NOT sealed (an offline export): its range, head and filter are claims; compare the head with a chain anchor\n",
                });
            }
            (true, _) => {}
            (false, _) if v.failure.as_ref().is_some_and(|f| f.seq == 0) => {}
            (false, _) => text.push_str("seals NOT checked (no --key): linkage and digests only\n"),
        }
        if r.omitted > 0 {
            text.push_str(&format!(
                "{} entries are compact lines (left out by the export's filter): their chain fields verify, their bodies are not in the file\n",
                r.omitted
            ));
        }
        if v.bodies_pruned > 0 {
            text.push_str(&format!(
                "{} bodies were dropped by retention",
                v.bodies_pruned
            ));
            if v.prunes_unresolved > 0 {
                text.push_str(&format!(
                    "; {} of them could not be checked: no retention record in the export names them, and the export stops before the head its header names (export up to the head to check them)\n",
                    v.prunes_unresolved
                ));
            } else {
                text.push_str(", each named by a sealed retention record in the export\n");
            }
        }
        out.print(&text)?;
    }
    if v.ok { Ok(()) } else { Err(Failure::Check) }
}
