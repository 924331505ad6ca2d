//! `[notify]`: where notifications go and how.
//!
//! The routing keys (`route`, `inhibit_rules`, `time_intervals`) and the
//! receiver keys (`webhook_configs`, `slack_configs`, `email_configs`,
//! `pagerduty_configs`, `opsgenie_configs`, `telegram_configs`,
//! `discord_configs` and their fields) are Alertmanager's, so a ported
//! configuration reads the same in TOML. Everything is compiled when the
//! file is loaded ([`NotifyConfig::compile`]): a misspelt receiver, a
//! template that does not render or a CA file that cannot be read is a
//! configuration error, never a surprise at send time.
//!
//! Here: the table, its errors and its compilation; beside it,
//! [`receivers`] (a receiver and its integrations) and [`check`] (what a
//! receiver must satisfy at load).

mod check;
mod receivers;

pub use check::ReceiverError;
use check::check_receiver;
pub use receivers::*;

use super::values::Interval;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::time::Duration;
use toml::Spanned;
use vigil_notify::route::{
    InhibitRuleConfig, Policy, PolicyConfig, RouteConfig, TimeIntervalConfig,
};
use vigil_notify::template::{self, Escape, TemplateSet, TemplateSource};

/// Most integrations one receiver may have.
pub const MAX_INTEGRATIONS: usize = 16;

/// `[notify]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// The only way to reach internal destinations (and plain `http`):
    /// IP addresses, CIDR ranges, host names, `*.domain` wildcards. Checked
    /// by the SSRF guard (`vigil_notify::ssrf`).
    pub allow: Vec<String>,
    /// Where Vigil can be reached, for links in messages.
    pub external_url: Option<String>,
    /// Retries of failed deliveries.
    pub retry: RetryConfig,
    /// The route tree; without one nothing is notified.
    pub route: Option<Spanned<RouteConfig>>,
    /// Inhibit rules.
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    /// Named time intervals.
    pub time_intervals: Vec<TimeIntervalConfig>,
    /// Receivers, by name.
    pub receivers: Vec<Spanned<ReceiverConfig>>,
    /// Operator templates, by name.
    pub templates: BTreeMap<String, Spanned<TemplateConfig>>,
}

/// `[notify.retry]`: how a failed delivery is retried.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// The first wait after a failure; it doubles with each failure.
    pub initial_backoff: Interval,
    /// The longest wait between attempts.
    pub max_backoff: Interval,
    /// Attempts before a delivery is given up.
    pub max_attempts: u32,
    /// A delivery not sent this long after it was intended is given up.
    pub give_up_after: Interval,
    /// One attempt's time limit (connect, send, answer).
    pub timeout: Interval,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            initial_backoff: Interval(Duration::from_secs(10)),
            max_backoff: Interval(Duration::from_secs(600)),
            max_attempts: 10,
            give_up_after: Interval(Duration::from_secs(24 * 3600)),
            timeout: Interval(Duration::from_secs(10)),
        }
    }
}

/// `[notify.templates.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    /// `json` (webhook bodies), `html` (email), `slack_mrkdwn`, `text`.
    pub escape: Escape,
    /// The minijinja source.
    pub source: String,
}

/// A string or a list of strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        Ok(OneOrMany(match Raw::deserialize(d)? {
            Raw::One(s) => vec![s],
            Raw::Many(v) => v,
        }))
    }
}

/// Where a `[notify]` mistake is best reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyPlace {
    /// This byte offset in the file.
    Offset(usize),
    /// This key under `[notify]` (its table, or its value), wherever it is
    /// in the file; `[notify]` itself when it is not written.
    Key(&'static str),
    /// Element `index` of `notify.allow`.
    Allowed(usize),
}

/// A `[notify]` mistake, with where it is best reported.
#[derive(Debug, thiserror::Error)]
#[error("{problem}")]
pub struct NotifyError {
    /// Where in the file.
    pub place: NotifyPlace,
    /// What is wrong.
    pub problem: Box<NotifyProblem>,
}

/// What is wrong with `[notify]`.
#[derive(Debug, thiserror::Error)]
pub enum NotifyProblem {
    /// An `allow` entry cannot be used.
    #[error("{0}")]
    Allow(vigil_notify::ssrf::PolicyError),
    /// An operator template does not compile.
    #[error("notify.templates: {0}")]
    Template(vigil_notify::template::TemplateError),
    /// A receiver breaks its own rules.
    #[error("{0}")]
    Receiver(#[from] ReceiverError),
    /// Two receivers share a name.
    #[error("receiver `{0}` is defined twice")]
    Duplicate(String),
    /// A fallback names no other receiver.
    #[error("receiver `{receiver}`: fallback `{fallback}` must name another receiver")]
    Fallback {
        /// The receiver.
        receiver: String,
        /// Its fallback.
        fallback: String,
    },
    /// The route tree, inhibit rules or time intervals do not compile.
    #[error("notify: {0}")]
    Route(vigil_notify::route::PolicyError),
    /// `[notify.retry]` cannot work.
    #[error(
        "notify.retry: max_attempts must be at least 1 and initial_backoff at most max_backoff"
    )]
    Retry,
}

impl NotifyError {
    fn at(offset: usize, problem: impl Into<NotifyProblem>) -> Self {
        NotifyError {
            place: NotifyPlace::Offset(offset),
            problem: Box::new(problem.into()),
        }
    }
}

/// `[notify]` compiled when the configuration is loaded: what the notifier
/// runs on, kept with the configuration it came from.
pub struct CompiledNotify {
    /// The outbound guard.
    pub ssrf: vigil_notify::ssrf::Policy,
    /// The routing policy; `None` when no route is configured.
    pub policy: Option<Policy>,
    /// Built-in and operator templates.
    pub templates: TemplateSet,
    /// Receivers by name.
    pub receivers: BTreeMap<String, ReceiverConfig>,
    /// Retries.
    pub retry: RetryConfig,
    /// Link target for messages.
    pub external_url: Option<String>,
}

impl std::fmt::Debug for CompiledNotify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledNotify")
            .field("routed", &self.policy.is_some())
            .field("receivers", &self.receivers)
            .field("retry", &self.retry)
            .field("external_url", &self.external_url)
            .finish_non_exhaustive()
    }
}

impl NotifyConfig {
    /// The outbound policy these settings describe.
    pub fn policy(&self) -> Result<vigil_notify::ssrf::Policy, vigil_notify::ssrf::PolicyError> {
        vigil_notify::ssrf::Policy::new(&self.allow)
    }

    /// Checks everything and builds what the notifier needs.
    ///
    /// # Errors
    ///
    /// The first mistake, located at the key it concerns.
    pub fn compile(&self) -> Result<CompiledNotify, NotifyError> {
        let ssrf = self.policy().map_err(|e| {
            let place = match &e {
                vigil_notify::ssrf::PolicyError::Entry { index, .. } => {
                    NotifyPlace::Allowed(*index)
                }
                _ => NotifyPlace::Key("allow"),
            };
            NotifyError {
                place,
                problem: Box::new(NotifyProblem::Allow(e)),
            }
        })?;
        let templates = self.templates()?;
        let mut receivers = BTreeMap::new();
        for spanned in &self.receivers {
            let receiver = spanned.get_ref();
            let at = spanned.span().start;
            check_receiver(receiver, &templates).map_err(|e| NotifyError::at(at, e))?;
            if receivers
                .insert(receiver.name.clone(), receiver.clone())
                .is_some()
            {
                return Err(NotifyError::at(
                    at,
                    NotifyProblem::Duplicate(receiver.name.clone()),
                ));
            }
        }
        for spanned in &self.receivers {
            let receiver = spanned.get_ref();
            if let Some(fallback) = &receiver.fallback
                && (fallback == &receiver.name || !receivers.contains_key(fallback))
            {
                return Err(NotifyError::at(
                    spanned.span().start,
                    NotifyProblem::Fallback {
                        receiver: receiver.name.clone(),
                        fallback: fallback.clone(),
                    },
                ));
            }
        }
        let policy = match &self.route {
            None => None,
            Some(route) => {
                let names: Vec<&str> = receivers.keys().map(String::as_str).collect();
                let config = PolicyConfig {
                    route: route.get_ref().clone(),
                    inhibit_rules: self.inhibit_rules.clone(),
                    time_intervals: self.time_intervals.clone(),
                };
                let policy = Policy::compile(&config, &names)
                    .map_err(|e| NotifyError::at(route.span().start, NotifyProblem::Route(e)))?;
                Some(policy)
            }
        };
        let retry = self.retry;
        if retry.max_attempts == 0 || retry.initial_backoff.0 > retry.max_backoff.0 {
            return Err(NotifyError {
                place: NotifyPlace::Key("retry"),
                problem: Box::new(NotifyProblem::Retry),
            });
        }
        Ok(CompiledNotify {
            ssrf,
            policy,
            templates,
            receivers,
            retry,
            external_url: self.external_url.clone(),
        })
    }

    fn templates(&self) -> Result<TemplateSet, NotifyError> {
        let sources: Vec<TemplateSource> = self
            .templates
            .iter()
            .map(|(name, t)| TemplateSource::new(name, t.get_ref().escape, &t.get_ref().source))
            .collect();
        TemplateSet::compile_with_builtins(&sources, template::Limits::default()).map_err(|e| {
            let place = self
                .templates
                .get(&e.name)
                .map_or(NotifyPlace::Key("templates"), |t| {
                    NotifyPlace::Offset(t.span().start)
                });
            NotifyError {
                place,
                problem: Box::new(NotifyProblem::Template(e)),
            }
        })
    }
}
