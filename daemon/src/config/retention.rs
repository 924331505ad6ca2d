//! `[retention]`: how long each kind of event, or each source's events,
//! is kept, and whether an expired entry goes whole or only its body.
//!
//! ```toml
//! [retention]
//! schedule = "1h"      # how often the job runs
//! floor = "30d"        # no rule may keep anything for less
//! default = "400d"     # everything no rule below names (absent: forever)
//! mode = "truncate"    # of `default` and the kinds below
//! truncate_at_least = 10000
//! after_resolve = "7d"  # an incident's alerts: while open, then this long
//! collect = "30d"
//! ingest = "90d"
//!
//! [[retention.source]]
//! name = "nginx"
//! keep = "14d"
//! mode = "prune"
//! ```

use super::values::Interval;
use serde::{Deserialize, Deserializer};
use std::time::Duration;
use toml::Spanned;
use vigil_store::EventKind;

/// Whether an expired entry goes whole or only its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionMode {
    /// Removed whole once every older entry may go too (behind a
    /// checkpoint); until then its body is dropped.
    Truncate,
    /// Its body is dropped; its chain fields stay for good, the record
    /// that something was there.
    Prune,
}

impl RetentionMode {
    /// `truncate` or `prune`.
    pub fn name(self) -> &'static str {
        match self {
            RetentionMode::Truncate => "truncate",
            RetentionMode::Prune => "prune",
        }
    }
}

/// A retention period, written like `"30d"`, `"400d"`, `"12h"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period(pub Duration);

impl Period {
    /// In micros, as entry times are.
    pub fn micros(self) -> i64 {
        i64::try_from(self.0.as_micros()).unwrap_or(i64::MAX)
    }

    /// As people write it: `30d`, `12h`, `1d 12h`, `90s`.
    pub fn text(self) -> String {
        let mut left = self.0.as_secs();
        let mut parts = Vec::new();
        for (unit, secs) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
            if left >= secs {
                parts.push(format!("{}{unit}", left / secs));
                left %= secs;
            }
        }
        if parts.is_empty() {
            parts.push(format!("{}ms", self.0.as_millis()));
        }
        parts.join(" ")
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let duration = humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "`{text}` is not a period ({e}); write e.g. \"30d\" or \"12h\""
            ))
        })?;
        if duration < Duration::from_secs(1) {
            return Err(serde::de::Error::custom(format!(
                "`{text}` is too short for a retention period; the minimum is 1s"
            )));
        }
        Ok(Period(duration))
    }
}

/// `[retention]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// How often the job runs.
    pub schedule: Interval,
    /// No rule may keep anything for less (PCI DSS 10.5.1 keeps audit
    /// trails a year).
    pub floor: Option<Spanned<Period>>,
    /// Everything no other rule names (absent: kept for good).
    pub default: Option<Spanned<Period>>,
    /// The mode of `default` and of the per-kind periods.
    pub mode: RetentionMode,
    /// The alerts of an incident are kept while it is open and this long
    /// after it resolves, whatever their kind's period says.
    pub after_resolve: Option<Spanned<Period>>,
    /// A removable prefix shorter than this is not truncated yet (its due
    /// bodies are dropped instead): a checkpoint carries every view's state
    /// and is not worth writing for a few entries.
    pub truncate_at_least: u64,
    /// Alerts and webhooks received.
    pub ingest: Option<Spanned<Period>>,
    /// File integrity records and log lines.
    pub collect: Option<Spanned<Period>>,
    /// Authorization decisions.
    pub auth: Option<Spanned<Period>>,
    /// Notification intents and attempts.
    pub notify: Option<Spanned<Period>>,
    /// Configuration loads.
    pub config: Option<Spanned<Period>>,
    /// API key changes.
    pub key: Option<Spanned<Period>>,
    /// Secret changes (never values).
    pub secret: Option<Spanned<Period>>,
    /// Operator actions on incidents.
    pub incident: Option<Spanned<Period>>,
    /// `vigilctl emit` events.
    pub custom: Option<Spanned<Period>>,
    /// Daemon starts and stops.
    pub system: Option<Spanned<Period>>,
    /// Silences.
    pub silence: Option<Spanned<Period>>,
    /// One source's events (an ingestion source, a log set), before its kind's period.
    pub source: Vec<Spanned<SourceRule>>,
    /// With `[forward]`: nothing the broker has not acknowledged is
    /// truncated (its bodies may still be dropped: they go as pruned).
    pub wait_for_forward: bool,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            schedule: Interval(Duration::from_secs(3600)),
            floor: None,
            default: None,
            mode: RetentionMode::Truncate,
            truncate_at_least: 10_000,
            after_resolve: None,
            ingest: None,
            collect: None,
            auth: None,
            notify: None,
            config: None,
            key: None,
            secret: None,
            incident: None,
            custom: None,
            system: None,
            silence: None,
            source: Vec::new(),
            wait_for_forward: true,
        }
    }
}

/// `[[retention.source]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRule {
    /// The source's name (see `vigilctl export --source`).
    pub name: String,
    /// How long its events are kept.
    pub keep: Spanned<Period>,
    /// Its mode (default: the table's).
    pub mode: Option<RetentionMode>,
}

/// A rule a configuration check refused, and where.
#[derive(Debug)]
pub struct RetentionProblem {
    /// Byte offset in the file.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// One rule as the retention job applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// What it covers: `source NAME`, a kind's name, or `default`.
    pub scope: Scope,
    /// How long.
    pub keep: Period,
    /// Whole or body only.
    pub mode: RetentionMode,
}

/// What a [`Rule`] covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// One source's events.
    Source(String),
    /// One kind.
    Kind(EventKind),
    /// Everything else.
    Default,
}

impl Rule {
    /// How the rule is named in retention records and status.
    pub fn name(&self) -> String {
        let scope = match &self.scope {
            Scope::Source(s) => format!("source {s}"),
            Scope::Kind(k) => k.name().to_string(),
            Scope::Default => "default".into(),
        };
        format!("{scope} {} {}", self.keep.text(), self.mode.name())
    }
}

impl RetentionConfig {
    /// The per-kind periods, by kind.
    fn kinds(&self) -> [(EventKind, Option<&Spanned<Period>>); 11] {
        [
            (EventKind::Ingest, self.ingest.as_ref()),
            (EventKind::Collect, self.collect.as_ref()),
            (EventKind::Auth, self.auth.as_ref()),
            (EventKind::Notify, self.notify.as_ref()),
            (EventKind::Config, self.config.as_ref()),
            (EventKind::Key, self.key.as_ref()),
            (EventKind::Secret, self.secret.as_ref()),
            (EventKind::Incident, self.incident.as_ref()),
            (EventKind::Custom, self.custom.as_ref()),
            (EventKind::System, self.system.as_ref()),
            (EventKind::Silence, self.silence.as_ref()),
        ]
    }

    /// Checks what the types cannot: nothing below the floor, one rule per
    /// source, a schedule of at least a minute.
    pub fn check(&self) -> Result<(), RetentionProblem> {
        if self.truncate_at_least == 0 {
            return Err(RetentionProblem {
                offset: 0,
                message: "retention.truncate_at_least must be at least 1".into(),
            });
        }
        let floor = self.floor.as_ref().map(|f| *f.get_ref());
        let periods = self
            .kinds()
            .into_iter()
            .filter_map(|(k, p)| p.map(|p| (k.name().to_string(), p)))
            .chain(self.default.as_ref().map(|p| ("default".to_string(), p)))
            .chain(
                self.source
                    .iter()
                    .map(|r| (format!("source {}", r.get_ref().name), &r.get_ref().keep)),
            );
        for (what, period) in periods {
            if let Some(floor) = floor
                && *period.get_ref() < floor
            {
                return Err(RetentionProblem {
                    offset: period.span().start,
                    message: format!(
                        "{what} keeps {}, below retention.floor of {}; raise it, or lower the floor if your policy allows",
                        period.get_ref().text(),
                        floor.text()
                    ),
                });
            }
        }
        for (i, rule) in self.source.iter().enumerate() {
            let name = &rule.get_ref().name;
            if name.is_empty() {
                return Err(RetentionProblem {
                    offset: rule.span().start,
                    message: "a retention.source rule needs a name".into(),
                });
            }
            if self.source[..i].iter().any(|r| r.get_ref().name == *name) {
                return Err(RetentionProblem {
                    offset: rule.span().start,
                    message: format!(
                        "source `{name}` has two retention rules; keep one (they would conflict)"
                    ),
                });
            }
        }
        Ok(())
    }

    /// The rules, most specific first: sources, then kinds, then default.
    pub fn rules(&self) -> Vec<Rule> {
        let mut rules: Vec<Rule> = self
            .source
            .iter()
            .map(|r| {
                let r = r.get_ref();
                Rule {
                    scope: Scope::Source(r.name.clone()),
                    keep: *r.keep.get_ref(),
                    mode: r.mode.unwrap_or(self.mode),
                }
            })
            .collect();
        rules.extend(self.kinds().into_iter().filter_map(|(k, p)| {
            p.map(|p| Rule {
                scope: Scope::Kind(k),
                keep: *p.get_ref(),
                mode: self.mode,
            })
        }));
        rules.extend(self.default.as_ref().map(|p| Rule {
            scope: Scope::Default,
            keep: *p.get_ref(),
            mode: self.mode,
        }));
        rules
    }
}
