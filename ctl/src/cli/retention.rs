//! `vigilctl retention status`, `retention run [--dry-run]`, `erase`.

use super::output::{Out, Table, bytes, time};
use super::{Failure, export::parse_time, parse_label};
use clap::{Args, Subcommand};
use indicatif::ProgressBar;
use std::io::IsTerminal;
use std::time::Duration;
use vigil_proto::{Erased, Request, RetentionRan, RetentionStatus};
use vigil_store::EventKind;
use vigilctl::Client;

#[derive(Subcommand, Debug)]
pub enum RetentionCommand {
    /// Per kind: entries, bytes, the oldest, the rule, and what a run now would remove.
    Status,
    /// Apply the retention rules now.
    Run {
        /// Only say what it would remove.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Args, Debug)]
pub struct EraseArgs {
    /// Erase events carrying LABEL=VALUE (repeatable: all must match).
    #[arg(long = "match", value_name = "LABEL=VALUE", value_parser = parse_label, required = true)]
    matches: Vec<(String, String)>,
    /// Only events of this kind.
    #[arg(long)]
    kind: Option<EventKind>,
    /// Only events at or after TIME: RFC 3339 or a duration ago (7d).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    since: Option<i64>,
    /// Only events at or before TIME.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    until: Option<i64>,
    /// Why (recorded with who erased what).
    #[arg(long)]
    reason: String,
}

/// Runs one `retention` command.
pub fn retention(client: &mut Client, command: RetentionCommand, out: &Out) -> Result<(), Failure> {
    match command {
        RetentionCommand::Status => {
            let status = client.ask(Request::retention_status())?;
            print_status(&status, out)
        }
        RetentionCommand::Run { dry_run } => {
            let spinner = (!out.json() && std::io::stderr().is_terminal()).then(|| {
                let bar = ProgressBar::new_spinner();
                bar.set_message(if dry_run {
                    "planning the retention run"
                } else {
                    "running retention: drop, truncate, reclaim, rebuild views"
                });
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            });
            let answer = client.ask(Request::retention_run(dry_run));
            if let Some(bar) = spinner {
                bar.finish_and_clear();
            }
            print_run(&*answer?, out)
        }
    }
}

/// `vigilctl erase`.
pub fn erase(client: &mut Client, args: EraseArgs, out: &Out) -> Result<(), Failure> {
    let erased = client.ask(Request::erase(
        args.matches,
        args.kind,
        args.since,
        args.until,
        args.reason,
    ))?;
    print_erased(&erased, out)
}

fn print_status(s: &RetentionStatus, out: &Out) -> Result<(), Failure> {
    if out.json() {
        return out.json_line(s);
    }
    let mut text = String::new();
    if s.rules.is_empty() {
        text.push_str("no retention rules: every event is kept for good\n");
    } else {
        text.push_str(&format!(
            "rules (most specific first): {}\n",
            s.rules.join("; ")
        ));
    }
    if let Some(floor) = &s.floor {
        text.push_str(&format!("floor: {floor}\n"));
    }
    let next = s
        .next_run
        .map(|t| format!(", next at {}", time(t)))
        .unwrap_or_default();
    text.push_str(&format!(
        "runs every {}{next}; store: seq {}..={}, {}\n",
        humantime::format_duration(Duration::from_secs(s.schedule_secs)),
        s.first_seq,
        s.head,
        bytes(s.disk_bytes)
    ));
    let mut table = Table::new(&[
        "KIND", "ENTRIES", "BYTES", "OLDEST", "RULE", "TRUNCATE", "PRUNE", "HELD",
    ]);
    let rows = s
        .kinds
        .iter()
        .map(|k| {
            vec![
                k.kind.clone(),
                k.count.to_string(),
                bytes(k.bytes),
                k.oldest.map(time).unwrap_or_default(),
                k.rule.clone().unwrap_or_else(|| "-".into()),
                k.truncate.to_string(),
                k.prune.to_string(),
                k.held.to_string(),
            ]
        })
        .collect();
    text.push_str(&table.page(rows));
    let n = &s.next;
    text.push_str(&match n.truncate_to {
        Some(cut) => format!(
            "a run now would truncate up to seq {cut} ({} entries) and drop {} bodies; {} due bodies are held for live state\n",
            n.truncated, n.pruned, n.held
        ),
        None => format!(
            "a run now would drop {} bodies; {} due bodies are held for live state\n",
            n.pruned, n.held
        ),
    });
    out.print(&text)
}

fn print_run(r: &RetentionRan, out: &Out) -> Result<(), Failure> {
    if out.json() {
        return out.json_line(r);
    }
    let c = &r.counts;
    let mut text = if r.dry_run {
        format!(
            "dry run: would truncate {} entries{} and drop {} bodies; {} held for live state\n",
            c.truncated,
            c.truncate_to
                .map(|t| format!(" (up to seq {t})"))
                .unwrap_or_default(),
            c.pruned,
            c.held
        )
    } else {
        format!(
            "retention ran: {} entries truncated{}, {} bodies dropped, {} held for live state; {} -> {}{}\n",
            c.truncated,
            c.truncate_to
                .map(|t| format!(" (up to seq {t})"))
                .unwrap_or_default(),
            c.pruned,
            c.held,
            bytes(r.bytes_before),
            bytes(r.bytes_after),
            r.recorded
                .map(|s| format!("; recorded at seq {s}"))
                .unwrap_or_default()
        )
    };
    for (rule, truncated, pruned) in &r.rules {
        if *truncated > 0 || *pruned > 0 {
            text.push_str(&format!(
                "  {rule}: {truncated} truncated, {pruned} dropped\n"
            ));
        }
    }
    out.print(&text)
}

fn print_erased(e: &Erased, out: &Out) -> Result<(), Failure> {
    if out.json() {
        return out.json_line(e);
    }
    let text = match e.recorded {
        None => "nothing matched; nothing was erased\n".to_string(),
        Some(seq) => {
            let mut t = format!(
                "erased the bodies of {} events; the erasure is recorded at seq {seq} (who, why, what)\n",
                e.erased
            );
            if e.live > 0 {
                t.push_str(&format!(
                    "{} of them fed live state (an open incident, a pending delivery): it now shows what remains\n",
                    e.live
                ));
            }
            t
        }
    };
    out.print(&text)
}
