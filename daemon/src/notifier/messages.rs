//! The chat and push channels (Opsgenie, Microsoft Teams, Discord,
//! Telegram, ntfy, Gotify): a title and a text from the receiver's
//! templates (`vigil.message.title` and `vigil.message.text` by default),
//! shaped by `vigil_notify::channel` for each service and sent through the
//! SSRF guard like every HTTP channel.

use super::send::{AttemptError, Channels, resolve, text, worst};
use crate::config::Integration;
use crate::state::Shared;
use std::sync::Arc;
use std::time::Duration;
use vigil_notify::channel::{discord, opsgenie, pagerduty, push, teams, telegram};
use vigil_notify::template::{self, Context, TemplateSet};
use vigil_store::{NotificationIntent, Severity};

/// What every message channel is sent from.
pub(super) struct Message<'a> {
    pub shared: &'a Arc<Shared>,
    pub intent: &'a NotificationIntent,
    pub context: &'a Context,
    pub templates: &'a TemplateSet,
    pub timeout: Duration,
}

impl Message<'_> {
    fn render(&self, chosen: Option<&String>, default: &str) -> Result<String, AttemptError> {
        Ok(self
            .templates
            .render(chosen.map_or(default, String::as_str), self.context)?)
    }

    fn title(&self, chosen: Option<&String>) -> Result<String, AttemptError> {
        let title = self.render(chosen, template::MESSAGE_TITLE)?;
        Ok(title.lines().next().unwrap_or_default().trim().to_string())
    }

    fn text(&self, chosen: Option<&String>) -> Result<String, AttemptError> {
        Ok(self
            .render(chosen, template::MESSAGE_TEXT)?
            .trim()
            .to_string())
    }

    fn firing(&self) -> bool {
        self.intent.firing > 0
    }
}

/// ntfy's 1..=5 and Gotify's 0..=10 from the worst firing severity.
fn push_priority(severity: Severity, scale_max: u8) -> u8 {
    let step = match severity {
        Severity::Critical => 4,
        Severity::Error => 3,
        Severity::Warning => 2,
        Severity::Info => 1,
    };
    if scale_max == 5 {
        step + 1
    } else {
        step * 2 + 1
    }
}

fn bad(e: impl std::fmt::Display) -> AttemptError {
    AttemptError::Secret(e.to_string())
}

impl Channels {
    /// Sends `message` through one of the message channels.
    pub(super) async fn send_message(
        &self,
        integration: Integration<'_>,
        m: &Message<'_>,
    ) -> Result<String, AttemptError> {
        let (client, url, headers, body) = match integration {
            Integration::Opsgenie(c) => {
                let key = resolve(m.shared, &c.api_key).await?;
                let auth = opsgenie::authorization(&key).map_err(bad)?;
                let api = c.api_url.as_deref().unwrap_or(opsgenie::API_URL);
                let alias =
                    pagerduty::dedup_key(&format!("{}\n{}", m.intent.receiver, m.intent.group_key));
                let (url, body) = if m.firing() {
                    let severity = worst(m.intent);
                    let priority = c
                        .priority
                        .as_deref()
                        .unwrap_or_else(|| opsgenie::priority(severity));
                    let body = opsgenie::create(
                        &alias,
                        &m.title(c.message.as_ref())?,
                        &m.text(c.description.as_ref())?,
                        priority,
                        &c.tags,
                        &self.source,
                    );
                    (opsgenie::create_url(api), body)
                } else {
                    (
                        opsgenie::close_url(api, &alias),
                        opsgenie::close(&self.source),
                    )
                };
                (self.client(c.ca_file.as_ref()), url, vec![auth], body)
            }
            Integration::Teams(c) => {
                let url = resolve(m.shared, &c.webhook_url).await?;
                let body = teams::body(&m.title(c.title.as_ref())?, &m.text(c.text.as_ref())?);
                let url = text(&url)?.to_string();
                (self.client(c.ca_file.as_ref()), url, Vec::new(), body)
            }
            Integration::Discord(c) => {
                let url = resolve(m.shared, &c.webhook_url).await?;
                let body = discord::body(&m.text(c.message.as_ref())?, c.username.as_deref());
                let url = text(&url)?.to_string();
                (self.client(c.ca_file.as_ref()), url, Vec::new(), body)
            }
            Integration::Telegram(c) => {
                let token = resolve(m.shared, &c.bot_token).await?;
                let api = c.api_url.as_deref().unwrap_or(telegram::API_URL);
                let url = telegram::url(api, &token).map_err(bad)?;
                let body = telegram::body(
                    c.chat_id,
                    &m.text(c.message.as_ref())?,
                    c.disable_notifications,
                );
                (self.client(c.ca_file.as_ref()), url, Vec::new(), body)
            }
            Integration::Ntfy(c) => {
                let mut headers = Vec::new();
                if let Some(token) = &c.token {
                    let token = resolve(m.shared, token).await?;
                    headers.push(push::ntfy_authorization(&token).map_err(bad)?);
                }
                let priority = c
                    .priority
                    .unwrap_or_else(|| push_priority(worst(m.intent), 5));
                let tag = if m.firing() {
                    "rotating_light"
                } else {
                    "white_check_mark"
                };
                let body = push::ntfy_body(
                    &c.topic,
                    &m.title(c.title.as_ref())?,
                    &m.text(c.message.as_ref())?,
                    priority,
                    &[tag],
                );
                (
                    self.client(c.ca_file.as_ref()),
                    push::ntfy_url(&c.url),
                    headers,
                    body,
                )
            }
            Integration::Gotify(c) => {
                let token = resolve(m.shared, &c.token).await?;
                let key = push::gotify_key(&token).map_err(bad)?;
                let priority = c
                    .priority
                    .unwrap_or_else(|| push_priority(worst(m.intent), 10));
                let body = push::gotify_body(
                    &m.title(c.title.as_ref())?,
                    &m.text(c.message.as_ref())?,
                    priority,
                );
                (
                    self.client(c.ca_file.as_ref()),
                    push::gotify_url(&c.url),
                    vec![key],
                    body,
                )
            }
            Integration::Webhook(_)
            | Integration::Slack(_)
            | Integration::Email(_)
            | Integration::PagerDuty(_) => {
                return Err(AttemptError::Unconfigured(
                    "not a message channel".to_string(),
                ));
            }
        };
        let sent = client.post(&url, &headers, body, m.timeout).await?;
        Ok(format!("HTTP {}", sent.status))
    }
}
