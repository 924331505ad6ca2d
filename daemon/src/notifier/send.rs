//! One attempt of one delivery: render the integration's message from the
//! recorded intent, resolve its credential, send it through the SSRF guard.
//!
//! Rendering happens at each attempt from what the intent recorded, so a
//! retry after a restart says the same thing under the same idempotency
//! key. Templates and credentials come from the configuration in force,
//! so a rotated secret or fixed template helps the next retry.

use crate::config::SecretRef;
use crate::config::{CompiledNotify, Integration};
use crate::state::Shared;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use vigil_notify::channel::{HttpClient, SendError, email, pagerduty, slack, webhook};
use vigil_notify::template::{self, Context, IncidentContext};
use vigil_store::{AlertStatus, NotificationIntent, SecretValue, Severity};

/// Why an attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum AttemptError {
    /// The channel failed.
    #[error("{0}")]
    Send(#[from] SendError),
    /// The receiver or integration is gone from the configuration.
    #[error("{0}")]
    Unconfigured(String),
    /// A template did not render.
    #[error("{0}")]
    Render(#[from] template::RenderError),
    /// The credential could not be read (fixable without a restart).
    #[error("{0}")]
    Secret(String),
    /// The intent to deliver could not be read back.
    #[error("{0}")]
    Intent(#[from] super::error::IntentError),
    /// The attempt could not be recorded before sending (the store is
    /// failing; nothing was sent).
    #[error("cannot record the attempt: {0}")]
    Record(vigil_store::StoreError),
    /// The attempt's task panicked.
    #[error("the attempt failed: {0}")]
    Panicked(tokio::task::JoinError),
}

impl AttemptError {
    /// Whether another attempt may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            AttemptError::Send(e) => e.retryable(),
            AttemptError::Intent(e) => e.retryable(),
            AttemptError::Secret(_) | AttemptError::Record(_) => true,
            AttemptError::Unconfigured(_) | AttemptError::Render(_) | AttemptError::Panicked(_) => {
                false
            }
        }
    }
}

/// What attempts need from the configuration in force: built once per
/// configuration and shared by every attempt.
pub struct Channels {
    /// The compiled `[notify]`, shared with the configuration it came from.
    pub notify: Arc<CompiledNotify>,
    /// One HTTP client per distinct `ca_file` (and one without).
    clients: BTreeMap<Option<PathBuf>, HttpClient>,
    /// Each `ca_file`'s PEM, read once (email builds its TLS per session).
    roots: BTreeMap<PathBuf, Vec<u8>>,
    /// This host's name, where a service wants a source.
    pub(super) source: String,
}

impl Channels {
    /// Reads the CA files and builds the HTTP clients.
    pub fn new(notify: Arc<CompiledNotify>) -> Result<Channels, SendError> {
        let mut roots = BTreeMap::new();
        for receiver in notify.receivers.values() {
            for (_, integration) in receiver.integrations() {
                if let Some(path) = integration.ca_file()
                    && !roots.contains_key(path)
                {
                    let pem = std::fs::read(path).map_err(|e| {
                        SendError::Config(format!("cannot read {}: {e}", path.display()))
                    })?;
                    roots.insert(path.clone(), pem);
                }
            }
        }
        let mut clients = BTreeMap::new();
        clients.insert(None, HttpClient::new(notify.ssrf.clone(), None)?);
        for (path, pem) in &roots {
            let client = HttpClient::new(notify.ssrf.clone(), Some(pem))?;
            clients.insert(Some(path.clone()), client);
        }
        let source = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "vigil".into());
        Ok(Channels {
            notify,
            clients,
            roots,
            source,
        })
    }

    pub(super) fn client(&self, ca: Option<&PathBuf>) -> &HttpClient {
        self.clients
            .get(&ca.cloned())
            .expect("a client is built for every configured ca_file")
    }

    /// The most deliveries in flight to `receiver` at once.
    pub fn concurrency(&self, receiver: &str) -> usize {
        self.notify
            .receivers
            .get(receiver)
            .map_or(1, |r| r.max_concurrency)
    }

    /// Sends delivery `delivery` (integration `integration`) of `intent`.
    /// Returns a detail for the record (`HTTP 202`).
    pub async fn attempt(
        &self,
        shared: &Arc<Shared>,
        intent: &NotificationIntent,
        delivery: &str,
        integration: &str,
    ) -> Result<String, AttemptError> {
        let receiver = self.notify.receivers.get(&intent.receiver).ok_or_else(|| {
            AttemptError::Unconfigured(format!(
                "receiver `{}` is no longer configured",
                intent.receiver
            ))
        })?;
        let found = receiver.integration(integration).ok_or_else(|| {
            AttemptError::Unconfigured(format!(
                "receiver `{}` no longer has integration {integration}",
                intent.receiver
            ))
        })?;
        let timeout = self.notify.retry.timeout.0;
        let mut context = Context::from_alerts(
            &intent.receiver,
            intent.group_labels.clone(),
            &intent.alerts,
        );
        if let Some(incident) = incident(shared, intent).await {
            context = context.with_incident(incident);
        }
        if let Some(url) = &self.notify.external_url {
            context = context.with_external_url(url);
        }
        let templates = &self.notify.templates;
        match found {
            Integration::Webhook(c) => {
                if c.max_alerts > 0 && context.alerts.len() > c.max_alerts {
                    context.alerts.truncate(c.max_alerts);
                }
                let name = c.template.as_deref().unwrap_or(template::WEBHOOK_JSON);
                let body = templates.render(name, &context)?.into_bytes();
                let url = resolve(shared, &c.url).await?;
                let mut headers = match &c.secret {
                    Some(secret) => {
                        let secret = resolve(shared, secret).await?;
                        let now = vigil_store::now_micros() / 1_000_000;
                        webhook::signed_headers(&secret, delivery, now, &body)
                            .map_err(|e| AttemptError::Secret(e.to_string()))?
                    }
                    None => webhook::unsigned_headers(delivery),
                };
                if let Some(a) = &c.authorization {
                    let credentials = resolve(shared, &a.credentials).await?;
                    headers.push(
                        webhook::authorization(&a.scheme, &credentials)
                            .map_err(|e| AttemptError::Secret(e.to_string()))?,
                    );
                }
                if let Some(b) = &c.basic_auth {
                    let password = resolve(shared, &b.password).await?;
                    headers.push(
                        webhook::basic_auth(&b.username, &password)
                            .map_err(|e| AttemptError::Secret(e.to_string()))?,
                    );
                }
                let sent = self
                    .client(c.ca_file.as_ref())
                    .post(text(&url)?, &headers, body, timeout)
                    .await?;
                Ok(format!("HTTP {}", sent.status))
            }
            Integration::Slack(c) => {
                let name = c.text.as_deref().unwrap_or(template::SLACK_TEXT);
                let text_body = templates.render(name, &context)?;
                let body = slack::body(&text_body, c.channel.as_deref(), c.username.as_deref());
                let url = resolve(shared, &c.api_url).await?;
                let sent = self
                    .client(c.ca_file.as_ref())
                    .post(text(&url)?, &[], body, timeout)
                    .await?;
                Ok(format!("HTTP {}", sent.status))
            }
            Integration::PagerDuty(c) => {
                let name = c.summary.as_deref().unwrap_or(template::PAGERDUTY_SUMMARY);
                let summary = templates.render(name, &context)?;
                let key = resolve(shared, &c.routing_key).await?;
                let action = if intent.firing > 0 {
                    pagerduty::Action::Trigger
                } else {
                    pagerduty::Action::Resolve
                };
                let dedup =
                    pagerduty::dedup_key(&format!("{}\n{}", intent.receiver, intent.group_key));
                let details = serde_json::json!({
                    "group_labels": intent.group_labels,
                    "firing": intent.firing,
                    "alerts": intent.alerts.len() as u64 + u64::from(intent.omitted),
                });
                let links: Vec<String> = intent
                    .alerts
                    .iter()
                    .flat_map(|a| a.links.iter().cloned())
                    .take(5)
                    .collect();
                let body = pagerduty::body(
                    &key,
                    action,
                    &dedup,
                    &summary,
                    c.source.as_deref().unwrap_or(&self.source),
                    worst(intent),
                    details,
                    &links,
                );
                let url = c.url.as_deref().unwrap_or(pagerduty::EVENTS_URL);
                let sent = self
                    .client(c.ca_file.as_ref())
                    .post(url, &[], body, timeout)
                    .await?;
                Ok(format!("HTTP {}", sent.status))
            }
            Integration::Email(c) => {
                let subject = templates.render(
                    c.subject.as_deref().unwrap_or(template::EMAIL_SUBJECT),
                    &context,
                )?;
                let html = templates
                    .render(c.html.as_deref().unwrap_or(template::EMAIL_HTML), &context)?;
                let plain = templates
                    .render(c.text.as_deref().unwrap_or(template::EMAIL_TEXT), &context)?;
                let password = match &c.auth_password {
                    Some(r) => Some(resolve(shared, r).await?),
                    None => None,
                };
                let extra_roots_pem = c.ca_file.as_ref().and_then(|p| self.roots.get(p).cloned());
                let port_465 = c.smarthost.ends_with(":465");
                let settings = email::EmailSettings {
                    smarthost: c.smarthost.clone(),
                    security: if port_465 {
                        email::SmtpSecurity::Implicit
                    } else if c.require_tls {
                        email::SmtpSecurity::StartTlsRequired
                    } else {
                        email::SmtpSecurity::None
                    },
                    hello: c.hello.clone(),
                    username: c.auth_username.clone(),
                    password,
                    from: c.from.clone(),
                    to: c.to.0.clone(),
                    extra_roots_pem,
                };
                let message = email::Email {
                    subject: subject.lines().next().unwrap_or_default().to_string(),
                    html: Some(html),
                    text: plain,
                    message_id: delivery.to_string(),
                };
                email::send(&self.notify.ssrf, &settings, &message, timeout).await?;
                Ok("accepted by the smarthost".into())
            }
            other => {
                let message = super::messages::Message {
                    shared,
                    intent,
                    context: &context,
                    templates,
                    timeout,
                };
                self.send_message(other, &message).await
            }
        }
    }
}

/// The most severe severity among the firing alerts (PagerDuty's field).
pub(super) fn worst(intent: &NotificationIntent) -> Severity {
    intent
        .alerts
        .iter()
        .filter(|a| a.status == AlertStatus::Firing)
        .map(|a| a.severity)
        .max()
        .unwrap_or(Severity::Warning)
}

/// The incident the notification is about, as the incident view has it
/// now (so a retry shows an ack that came in between); `None` when the
/// view tracks none of its alerts (a `notify test`) or cannot be read.
async fn incident(shared: &Arc<Shared>, intent: &NotificationIntent) -> Option<IncidentContext> {
    let shared = shared.clone();
    let alerts = intent.alerts.clone();
    // The views catch up with the log: a store read, off the async threads.
    let found = tokio::task::spawn_blocking(move || {
        shared.with_views(|views| {
            views
                .incidents
                .of_notification(&alerts)
                .map(|i| IncidentContext {
                    id: i.id.to_string(),
                    state: i.state.name().to_string(),
                    source: i.source.to_string(),
                    summary: i.summary.to_string(),
                })
        })
    })
    .await;
    match found {
        Ok(Ok(incident)) => incident,
        Ok(Err(e)) => {
            tracing::warn!("the incident view cannot be read for a notification: {e}");
            None
        }
        Err(e) => {
            tracing::warn!("the incident view cannot be read for a notification: {e}");
            None
        }
    }
}

pub(super) async fn resolve(
    shared: &Arc<Shared>,
    reference: &SecretRef,
) -> Result<SecretValue, AttemptError> {
    let shared = shared.clone();
    let reference = reference.clone();
    // The vault is a store read: off the async threads.
    tokio::task::spawn_blocking(move || shared.secrets.resolve(&reference))
        .await
        .map_err(|e| AttemptError::Secret(format!("secret lookup failed: {e}")))?
        .map_err(|e| AttemptError::Secret(e.to_string()))
}

pub(super) fn text(value: &SecretValue) -> Result<&str, AttemptError> {
    value
        .expose_str()
        .ok_or_else(|| AttemptError::Send(SendError::Config("the URL is not UTF-8".into())))
}

#[cfg(test)]
mod tests {
    use super::super::error::IntentError;
    use super::*;

    #[tokio::test]
    async fn an_intent_that_could_not_be_read_is_retried_and_one_removed_is_given_up() {
        // Retention removed it: no later attempt will find it.
        assert!(!AttemptError::Intent(IntentError::Gone(7)).retryable());
        // The store failed to read it: it may recover, as a failed append
        // does, so the delivery is not given up after one attempt.
        let read = IntentError::Read {
            seq: 7,
            source: vigil_store::StoreError::Engine("I/O error".into()),
        };
        assert!(AttemptError::Intent(read).retryable());
        // The blocking read did not finish.
        let task = tokio::spawn(std::future::pending::<()>());
        task.abort();
        let source = task.await.unwrap_err();
        let task = IntentError::Task { seq: 7, source };
        assert!(AttemptError::Intent(task).retryable());
    }
}
