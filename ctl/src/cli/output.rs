//! Rendering: aligned tables for people, JSON lines with `--json`.

use super::Failure;
use serde::Serialize;
use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};
use vigil_proto::{
    EventRecord, Finding, FindingSeverity, LoginRecord, LoginsReport, StatusReport, Truncated,
};
use vigil_store::{ApiKeyChange, Decision, Event, FileIntegrity, Head, LogEvent, VerifyReport};

/// Where and how to print.
pub struct Out {
    json: bool,
}

/// UTC micros as RFC 3339.
pub fn time(micros: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_micros(u64::try_from(micros).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}

/// A byte count as people read it (`512 B`, `3.2 MiB`).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

pub(super) fn table(rows: &[Vec<String>]) -> String {
    let mut widths = Vec::new();
    widen(&mut widths, rows);
    render(rows, &widths)
}

/// Widens `widths` to the widest cell of each column in `rows`.
fn widen(widths: &mut Vec<usize>, rows: &[Vec<String>]) {
    for row in rows {
        if widths.len() < row.len() {
            widths.resize(row.len(), 0);
        }
        for (c, cell) in row.iter().enumerate() {
            widths[c] = widths[c].max(cell.chars().count());
        }
    }
}

fn render(rows: &[Vec<String>], widths: &[usize]) -> String {
    let mut text = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[c]));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// A table printed page by page as a listing arrives: its columns are as
/// wide as the widest cell of the first page (and header), and widen when
/// a later page has a wider one, so no page waits for the next.
pub(super) struct Table {
    header: Option<Vec<String>>,
    widths: Vec<usize>,
}

impl Table {
    pub(super) fn new(header: &[&str]) -> Table {
        Table {
            header: Some(header.iter().map(|h| (*h).to_string()).collect()),
            widths: Vec::new(),
        }
    }

    /// The rows as text, after the header on the first page.
    pub(super) fn page(&mut self, mut rows: Vec<Vec<String>>) -> String {
        if let Some(header) = self.header.take() {
            rows.insert(0, header);
        }
        widen(&mut self.widths, &rows);
        render(&rows, &self.widths)
    }

    /// The header alone if no row came.
    pub(super) fn finish(&mut self) -> String {
        match self.header.take() {
            Some(header) => table(std::slice::from_ref(&header)),
            None => String::new(),
        }
    }
}

/// A time, or `-` when there is none.
pub(super) fn opt_time(t: Option<i64>) -> String {
    t.map_or_else(|| "-".into(), time)
}

/// One line describing a file integrity event.
fn files_summary(event: &FileIntegrity) -> String {
    match event {
        FileIntegrity::ScanStarted { reason, roots } => {
            format!("file scan ({}) of {}", reason.name(), roots.join(", "))
        }
        FileIntegrity::Records { files, .. } => {
            let first = files.first().map(|f| {
                let stopped = if f.while_stopped {
                    " (while stopped)"
                } else {
                    ""
                };
                format!("{} {}{stopped}", f.change.name(), f.path)
            });
            match (first, files.len()) {
                (Some(first), 1) => first,
                (Some(first), n) => format!("{first} and {} more", n - 1),
                (None, _) => "no file records".into(),
            }
        }
        FileIntegrity::ScanFinished { totals, .. } => format!(
            "file scan done: {} paths, {} changes, {} baselined, {} errors",
            totals.files, totals.changes, totals.baselined, totals.errors
        ),
    }
}

/// One line describing a log collection event. The lines' text is left
/// out: `vigilctl events show` has it, and one line here must stay one.
fn logs_summary(event: &LogEvent) -> String {
    match event {
        LogEvent::Lines(l) => {
            let alerts = event.alerts().count();
            format!(
                "{} line(s) read from {} (set {}), {} kept, {alerts} alert(s)",
                l.read,
                l.path,
                l.set,
                l.lines.len()
            )
        }
        LogEvent::Source(s) if s.detail.is_empty() => {
            format!("{} (set {}) {}", s.path, s.set, s.change.name())
        }
        LogEvent::Source(s) => {
            format!(
                "{} (set {}) {}: {}",
                s.path,
                s.set,
                s.change.name(),
                s.detail
            )
        }
    }
}

/// One line describing an event.
pub fn summary(event: Option<&Event>) -> String {
    let Some(event) = event else {
        return "(body dropped by retention or an erasure: vigilctl verify says which)".into();
    };
    match event {
        Event::Genesis(g) => format!("store {} created by {}", g.store_id, g.software),
        Event::EpochStarted(e) => format!("epoch {} began ({})", e.epoch, e.reason),
        Event::Checkpoint(c) => format!("log truncated up to seq {}", c.cut_seq),
        Event::AlertsIngested(a) => format!(
            "{} alert(s) from {} ({})",
            a.alerts.len(),
            a.source,
            a.driver
        ),
        Event::WebhookReceived(w) => format!("{} from {}: {}", w.event_type, w.source, w.summary),
        Event::FileChanged(f) => format!("{:?} {}", f.change, f.path).to_lowercase(),
        Event::LogMatched(l) => format!("{} matched {}: {}", l.file, l.rule, l.line),
        Event::FileIntegrity(f) => files_summary(f),
        Event::Logs(l) => logs_summary(l),
        Event::Auth(a) => format!(
            "{} {} by {}{}{}",
            match a.decision {
                Decision::Allow => "allow",
                Decision::Deny => "DENY",
            },
            a.action,
            describe(&a.actor),
            a.role
                .as_ref()
                .map(|r| format!(" as {r}"))
                .unwrap_or_default(),
            if a.break_glass { " (BREAK-GLASS)" } else { "" }
        ),
        Event::AuthRejections(r) => format!("{} denials on {}: {}", r.count, r.channel, r.reason),
        Event::Notification(n) => format!(
            "{:?} {} via {} (attempt {})",
            n.state, n.delivery, n.receiver, n.attempt
        )
        .to_lowercase(),
        Event::ConfigLoaded(c) => match &c.error {
            None => format!("configuration {} loaded ({})", c.path, c.trigger),
            Some(e) => format!("configuration {} REFUSED ({}): {e}", c.path, c.trigger),
        },
        Event::ApiKey(ApiKeyChange::Created { name, prefix, .. }) => {
            format!("API key {name} ({prefix}) created")
        }
        Event::ApiKey(ApiKeyChange::CreatedWithScopes {
            name,
            prefix,
            scopes,
            ..
        }) => format!(
            "API key {name} ({prefix}) created, scopes {}",
            scopes.join(",")
        ),
        Event::ApiKey(ApiKeyChange::Revoked { id, .. }) => format!("API key {id} revoked"),
        Event::Secret(s) => format!("secret {} {:?}", s.name, s.action).to_lowercase(),
        Event::IncidentAction(i) => format!(
            "incident {} {:?} by {}",
            i.incident,
            i.op,
            describe(&i.actor)
        ),
        Event::Retention(r) => format!(
            "retention {}: {} pruned, truncated to {:?}",
            r.policy, r.pruned, r.truncated_to
        ),
        Event::RetentionApplied(r) => {
            let pruned: u64 = r
                .rules
                .iter()
                .flat_map(|o| &o.pruned)
                .map(|p| p.count())
                .sum();
            let truncated: u64 = r.rules.iter().map(|o| o.truncated).sum();
            let cut = r
                .truncated_to
                .map(|c| format!(", log now starts after seq {c}"))
                .unwrap_or_default();
            format!(
                "retention ({}): {truncated} entries truncated, {pruned} bodies dropped, {} held for live state{cut}; {} -> {} bytes",
                match r.trigger {
                    vigil_store::RetentionTrigger::Schedule => "scheduled",
                    vigil_store::RetentionTrigger::Request => "requested",
                },
                r.held,
                r.bytes_before,
                r.bytes_after
            )
        }
        Event::Erasure(e) => {
            let count: u64 = e.ranges.iter().map(|r| r.count()).sum();
            format!(
                "ERASURE by {} of {count} bodies matching {}: {}",
                describe(&e.actor),
                e.selector,
                e.reason
            )
        }
        Event::Forwarded(f) => format!(
            "forwarded: stream {} ({}) acknowledged up to seq {}",
            f.stream, f.subject, f.acked_seq
        ),
        Event::Custom(c) => {
            let labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let labels = if labels.is_empty() {
                String::new()
            } else {
                format!(" {{{}}}", labels.join(", "))
            };
            format!("[{}] {}{labels}", c.severity, c.message)
        }
        Event::Lifecycle(l) => {
            format!("vigild {} {:?} (pid {})", l.version, l.phase, l.pid).to_lowercase()
        }
        Event::Silence(s) => format!(
            "silence {{{}}} by {}: {}",
            s.matchers.join(", "),
            describe(&s.actor),
            s.comment
        ),
        Event::SilenceExpired(s) => {
            format!("silence {} expired by {}", s.silence, describe(&s.actor))
        }
        Event::BodiesPruned(p) => {
            let ranges: Vec<String> = p
                .ranges
                .iter()
                .map(|r| match r.count() {
                    1 => r.first.to_string(),
                    _ => format!("{}..={}", r.first, r.last),
                })
                .collect();
            let count: u64 = p.ranges.iter().map(|r| r.count()).sum();
            format!(
                "bodies of {count} entries dropped ({}): {}",
                p.reason,
                ranges.join(", ")
            )
        }
        Event::TailLost(t) => format!(
            "TAIL LOST: the store recorded its head at seq {} but was found ending at seq {}; accepted by {}",
            t.recorded_seq,
            t.found_seq,
            describe(&t.actor)
        ),
        Event::NotificationIntended(n) => {
            let why = match &n.cause {
                vigil_store::IntentCause::Group => format!("group {}", n.group_key),
                vigil_store::IntentCause::Test { actor } => format!("test by {}", describe(actor)),
                vigil_store::IntentCause::Fallback { delivery } => {
                    format!("fallback for {delivery}")
                }
            };
            format!(
                "notify {} ({} alerts, {} firing; {} deliveries): {why}",
                n.receiver,
                n.alerts.len() as u64 + u64::from(n.omitted),
                n.firing,
                n.deliveries.len()
            )
        }
    }
}

fn describe(actor: &vigil_store::Actor) -> String {
    use vigil_store::Actor;
    match actor {
        Actor::Daemon => "vigild".into(),
        Actor::Local {
            uid, user: Some(u), ..
        } => format!("{u} (uid {uid})"),
        Actor::Local { uid, .. } => format!("uid {uid}"),
        Actor::ApiKey { prefix, .. } => format!("key {prefix}"),
        Actor::Remote { addr } => addr.clone(),
        Actor::Source { name } => format!("source {name}"),
        Actor::Spool { uid, file } => format!("spool file {file} (uid {uid})"),
    }
}

impl Out {
    pub fn new(json: bool) -> Out {
        Out { json }
    }

    /// Whether output is JSON.
    pub fn json(&self) -> bool {
        self.json
    }

    pub(super) fn print(&self, text: &str) -> Result<(), Failure> {
        let mut stdout = std::io::stdout().lock();
        match stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Ok(()) => Ok(()),
            // A closed pipe (e.g. `| head`) is not an error worth a message.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) fn json_line<T: Serialize>(&self, value: &T) -> Result<(), Failure> {
        let line = serde_json::to_string(value).map_err(|e| Failure::Error(e.to_string()))?;
        self.print(&format!("{line}\n"))
    }

    /// Prints one page of a listing: a JSON line per item, or the rows
    /// `row` makes of them in `table`. Returns how many items it printed.
    pub(super) fn page<T: Serialize>(
        &self,
        items: &[T],
        table: &mut Table,
        row: impl Fn(&T) -> Vec<String>,
    ) -> Result<u64, Failure> {
        if self.json {
            let mut text = String::new();
            for item in items {
                text.push_str(
                    &serde_json::to_string(item).map_err(|e| Failure::Error(e.to_string()))?,
                );
                text.push('\n');
            }
            self.print(&text)?;
        } else {
            self.print(&table.page(items.iter().map(row).collect()))?;
        }
        Ok(items.len() as u64)
    }

    /// Says that a listing stopped at its limit: on stderr, and with
    /// `--json` also as a last line `{"truncated": {...}}` (no item has that
    /// key).
    pub(super) fn truncated(
        &self,
        what: &str,
        listed: u64,
        t: &Truncated,
        hint: &str,
    ) -> Result<(), Failure> {
        let matching = match t.matching {
            Some(n) => format!("{n} {what} match"),
            None => format!("more {what} match"),
        };
        eprintln!(
            "vigilctl: listed {listed} {what}, stopping at the limit of {}; {matching} ({hint})",
            t.limit
        );
        if self.json {
            self.json_line(&serde_json::json!({
                "truncated": { "limit": t.limit, "listed": listed, "matching": t.matching }
            }))?;
        }
        Ok(())
    }

    pub fn message(&self, message: &str) -> Result<(), Failure> {
        if self.json {
            return self.json_line(&serde_json::json!({ "message": message }));
        }
        self.print(&format!("{message}\n"))
    }

    pub fn status(&self, s: &StatusReport) -> Result<(), Failure> {
        if self.json {
            return self.json_line(s);
        }
        let mut rows = vec![
            vec![
                "vigild".into(),
                format!(
                    "{}{} (pid {})",
                    s.version,
                    if s.dev { ", development mode" } else { "" },
                    s.pid
                ),
            ],
            vec![
                "uptime".into(),
                humantime::format_duration(Duration::from_secs(s.uptime_secs)).to_string(),
            ],
            vec!["store".into(), format!("{} in {}", s.store_id, s.state_dir)],
            vec![
                "head".into(),
                format!(
                    "seq {} in epoch {} at {}",
                    s.head.seq,
                    s.head.epoch,
                    time(s.head.time)
                ),
            ],
            vec!["head link".into(), s.head.link.to_string()],
            vec!["oldest seq".into(), s.first_seq.to_string()],
            vec![
                "epochs".into(),
                format!(
                    "every {}",
                    humantime::format_duration(Duration::from_secs(s.epoch_interval_secs))
                ),
            ],
            vec![
                "start".into(),
                match s.snapshot_as_of {
                    Some(seq) => format!(
                        "replayed {} entries after the snapshot at seq {seq}",
                        s.replayed_at_start
                    ),
                    None => format!("replayed {} entries (no snapshot)", s.replayed_at_start),
                },
            ],
            vec![
                "writer".into(),
                format!(
                    "{} entries in {} commits, {} fsyncs since start",
                    s.writer.entries, s.writer.commits, s.writer.syncs
                ),
            ],
            vec![
                "last verify".into(),
                match &s.last_verify {
                    None => "never".into(),
                    Some(v) if v.ok => format!("ok, {} entries, at {}", v.entries, time(v.at)),
                    Some(v) => format!(
                        "FAILED at {}: {}",
                        time(v.at),
                        v.problem.as_deref().unwrap_or("")
                    ),
                },
            ],
            vec![
                "you".into(),
                format!(
                    "{} (uid {}) as {}{}",
                    s.you.user.as_deref().unwrap_or("?"),
                    s.you.uid,
                    s.you.role,
                    if s.you.break_glass {
                        ", BREAK-GLASS"
                    } else {
                        ""
                    }
                ),
            ],
        ];
        let counts: Vec<String> = s.counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
        rows.push(vec!["events".into(), counts.join(", ")]);
        rows.extend(super::files::status_rows(s.files.as_ref()));
        rows.extend(super::logs::status_rows(s.logs.as_ref()));
        rows.extend(super::fleet::status_rows(s.forward.as_ref()));
        self.print(&table(&rows))
    }

    pub fn appended(&self, head: &Head) -> Result<(), Failure> {
        if self.json {
            return self.json_line(head);
        }
        self.print(&format!("{}\n", head.seq))
    }

    /// Prints a page of events, one line each.
    pub fn events(&self, events: &[EventRecord]) -> Result<(), Failure> {
        let mut text = String::new();
        for e in events {
            if self.json {
                text.push_str(
                    &serde_json::to_string(e).map_err(|e| Failure::Error(e.to_string()))?,
                );
                text.push('\n');
            } else {
                text.push_str(&format!(
                    "{:>8}  {}  {:<9} {}\n",
                    e.seq,
                    time(e.time),
                    e.kind,
                    summary(e.event.as_ref())
                ));
            }
        }
        self.print(&text)
    }

    pub fn event_full(&self, e: &EventRecord) -> Result<(), Failure> {
        if self.json {
            return self.json_line(e);
        }
        let body = match &e.event {
            Some(ev) => {
                serde_json::to_string_pretty(ev).map_err(|err| Failure::Error(err.to_string()))?
            }
            None => "(body dropped by retention; its digest still verifies)".into(),
        };
        let rows = vec![
            vec!["seq".into(), e.seq.to_string()],
            vec!["time".into(), time(e.time)],
            vec!["kind".into(), e.kind.clone()],
            vec!["epoch".into(), e.epoch.to_string()],
            vec!["digest".into(), e.digest.to_string()],
            vec!["link".into(), e.link.to_string()],
            vec!["tag".into(), e.tag.to_string()],
            vec!["summary".into(), summary(e.event.as_ref())],
        ];
        self.print(&format!("{}{body}\n", table(&rows)))
    }

    pub fn logins(&self, r: &LoginsReport) -> Result<(), Failure> {
        if self.json {
            for l in &r.logins {
                self.json_line(&serde_json::json!({ "type": "login", "record": l }))?;
            }
            for d in &r.denials {
                self.json_line(&serde_json::json!({ "type": "denial", "record": d }))?;
            }
            return Ok(());
        }
        let rows = |list: &[LoginRecord]| {
            let mut rows = vec![vec![
                "seq".into(),
                "time".into(),
                "who".into(),
                "role".into(),
                "action".into(),
                "reason".into(),
            ]];
            for l in list {
                let who = if l.count > 1 {
                    format!("{} ×{}", l.who, l.count)
                } else {
                    l.who.clone()
                };
                let role = format!(
                    "{}{}",
                    l.role.as_deref().unwrap_or("-"),
                    if l.break_glass { " BREAK-GLASS" } else { "" }
                );
                rows.push(vec![
                    l.seq.to_string(),
                    time(l.time),
                    who,
                    role,
                    l.action.clone(),
                    l.reason.clone(),
                ]);
            }
            table(&rows)
        };
        self.print(&format!(
            "logins ({} in all)\n{}\ndenials ({} in all)\n{}",
            r.total_logins,
            rows(&r.logins),
            r.total_denials,
            rows(&r.denials)
        ))
    }

    pub fn doctor(&self, findings: &[Finding]) -> Result<(), Failure> {
        if self.json {
            for f in findings {
                self.json_line(f)?;
            }
        } else {
            let mut rows = Vec::new();
            for f in findings {
                let sev = match f.severity {
                    FindingSeverity::Ok => "ok",
                    FindingSeverity::Info => "info",
                    FindingSeverity::Warning => "WARNING",
                    FindingSeverity::Error => "ERROR",
                };
                rows.push(vec![sev.into(), f.check.clone(), f.message.clone()]);
                if !f.fix.is_empty() {
                    rows.push(vec![
                        String::new(),
                        String::new(),
                        format!("fix: {}", f.fix),
                    ]);
                }
            }
            self.print(&table(&rows))?;
        }
        if findings
            .iter()
            .any(|f| f.severity == FindingSeverity::Error)
        {
            return Err(Failure::Check);
        }
        Ok(())
    }

    /// Prints a verification report; `Err(Check)` when the chain is damaged.
    pub fn verify(&self, r: &VerifyReport) -> Result<(), Failure> {
        if self.json {
            self.json_line(&serde_json::json!({
                "ok": r.ok,
                "entries": r.entries,
                "first_seq": r.first_seq,
                "keyed": r.keyed,
                "sealed_up_to": r.sealed_up_to,
                "bodies_checked": r.bodies_checked,
                "bodies_pruned": r.bodies_pruned,
                "prunes_accounted": r.prunes_accounted,
                "prune_accounts": r.prune_accounts,
                "first_bad_seq": r.failure.as_ref().map(|f| f.seq),
                "reason": r.failure.as_ref().map(|f| f.problem.to_string()),
                "problem": r.failure.as_ref().map(|f| &f.problem),
                "head_seq": r.head.seq,
                "head_epoch": r.head.epoch,
                "head_link": r.head.link,
            }))?;
        } else {
            let mut text = match &r.failure {
                None => format!(
                    "chain OK: {} entries, seq {}..={}\n",
                    r.entries, r.first_seq, r.head.seq
                ),
                Some(f) => format!("chain DAMAGED at seq {}: {}\n", f.seq, f.problem),
            };
            match (r.keyed, r.sealed_up_to) {
                (true, Some(s)) if s < r.first_seq => text.push_str(
                    "seals checked with the verification key: none vouched for (the damage comes before the first entry)\n",
                ),
                (true, Some(s)) => text.push_str(&format!(
                    "seals checked with the verification key: intact up to seq {s}\n"
                )),
                _ => text.push_str("seals NOT checked (no --key): linkage and digests only\n"),
            }
            if r.bodies_pruned > 0 && r.prunes_accounted {
                text.push_str(&format!(
                    "{} bodies were dropped by retention or erasure, each named by a sealed retention entry (their digests still chain)\n",
                    r.bodies_pruned
                ));
                for a in &r.prune_accounts {
                    text.push_str(&format!(
                        "  {} bodies by {} ({} record{} from seq {})\n",
                        a.bodies,
                        a.reason,
                        a.records,
                        if a.records == 1 { "" } else { "s" },
                        a.first_record
                    ));
                }
            } else if r.bodies_pruned > 0 {
                text.push_str(&format!(
                    "{} bodies are missing; this format 1 store did not record its prunes, so none can be accounted for\n",
                    r.bodies_pruned
                ));
            }
            text.push_str(&format!(
                "head: seq {} epoch {} link {}\n",
                r.head.seq, r.head.epoch, r.head.link
            ));
            text.push_str("a removed tail leaves a valid shorter chain: compare the head with the latest anchor\n  journalctl -t vigild -p notice | grep 'chain anchor'   (then: vigilctl verify --anchor SEQ:LINK)\n");
            self.print(&text)?;
        }
        if r.ok { Ok(()) } else { Err(Failure::Check) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_with_no_rows_prints_its_header() {
        let mut table = Table::new(&["ID", "STATE", "SUMMARY"]);
        assert_eq!(table.finish(), "ID  STATE  SUMMARY\n");
        assert_eq!(table.finish(), "", "the header is printed once");
    }

    #[test]
    fn pages_widen_their_columns_and_print_the_header_first() {
        let mut table = Table::new(&["ID", "NAME"]);
        let first = table.page(vec![vec!["1".into(), "a".into()]]);
        assert_eq!(first, "ID  NAME\n1   a\n");
        let second = table.page(vec![vec!["12345".into(), "b".into()]]);
        assert_eq!(second, "12345  b\n");
        assert_eq!(table.finish(), "");
    }
}
