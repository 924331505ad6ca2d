//! `receivers`: each becomes a `[[notify.receivers]]` with its webhook,
//! Slack, email, PagerDuty, Opsgenie, Discord and Telegram integrations,
//! the `global` defaults pushed in as Alertmanager does, each
//! integration's own `send_resolved` default written out (Vigil's is
//! always true), credentials replaced by references, and the integrations
//! Vigil lacks reported.

mod discord;
mod email;
mod opsgenie;
mod pagerduty;
mod slack;
mod telegram;
mod urls;
mod webhook;

use super::emit::{Table, Toml, basic};
use super::error::ImportError;
use super::global::Global;
use super::http::{self, Files};
use super::report::Report;
use super::template::{self, Translated};
use super::yaml::{Fields, Node, Value, scalar_text};

/// Most integrations one Vigil receiver may have.
const MAX_INTEGRATIONS: usize = 16;

/// Receiver kinds Vigil has no integration for, with their names.
const FOREIGN: [(&str, &str); 11] = [
    ("wechat_configs", "WeChat"),
    ("pushover_configs", "Pushover"),
    ("victorops_configs", "VictorOps"),
    ("sns_configs", "Amazon SNS"),
    ("webex_configs", "Webex"),
    ("msteams_configs", "Microsoft Teams"),
    ("msteamsv2_configs", "Microsoft Teams (Workflows)"),
    ("jira_configs", "Jira"),
    ("rocketchat_configs", "Rocket.Chat"),
    ("incidentio_configs", "incident.io"),
    ("mattermost_configs", "Mattermost"),
];

/// What converting receivers needs and gathers.
pub struct Conv<'a> {
    /// Notes.
    pub report: &'a mut Report,
    /// The global defaults.
    pub global: &'a Global,
    /// Where relative file paths resolve.
    pub files: &'a Files,
    /// Hosts to add to `notify.allow`.
    pub allow: Vec<String>,
    /// Templates translated from inline Go templates.
    pub templates: Vec<Table>,
    /// Webhooks whose notifications Vigil's body caps at 20 alerts.
    pub capped: Vec<(String, usize)>,
    /// Webhooks written unsigned (`sign = false`).
    pub unsigned: Vec<(String, usize)>,
    /// Integrations that inherit the global `http_config`'s credentials
    /// but send none in Vigil (all but webhooks).
    pub uncredentialed: Vec<&'static str>,
}

/// The receivers' tables, in order.
pub fn receivers(list: &[(String, &Node)], conv: &mut Conv<'_>) -> Result<Vec<Table>, ImportError> {
    let mut out = Vec::new();
    for (path, node) in list {
        out.extend(receiver(path, node, conv)?);
    }
    if let Some((path, line)) = conv.capped.first() {
        let others = match conv.capped.len() - 1 {
            0 => String::new(),
            1 => " (and 1 other webhook)".to_string(),
            n => format!(" (and {n} other webhooks)"),
        };
        let (path, line) = (path.clone(), *line);
        conv.report.note(
            format!("{path}{others}"),
            line,
            "Vigil's Alertmanager-format body carries at most 20 alerts per notification (the rest are counted in truncatedAlerts); Alertmanager sent them all",
        );
    }
    if let Some((path, line)) = conv.unsigned.first() {
        let (path, line) = (path.clone(), *line);
        let others = match conv.unsigned.len() - 1 {
            0 => String::new(),
            1 => " (and 1 other webhook)".to_string(),
            n => format!(" (and {n} other webhooks)"),
        };
        conv.report.note(
            format!("{path}{others}"),
            line,
            "imported webhooks are unsigned (sign = false), as Alertmanager's are, and `vigilctl doctor` says so for each; to sign one once its receiver checks Standard Webhooks signatures, add secret = \"secret:NAME\" (stored with `vigilctl secrets set NAME`) and remove sign = false",
        );
    }
    if let Some(auth) = &conv.global.http_auth
        && !conv.uncredentialed.is_empty()
    {
        let (at, line) = auth.at();
        conv.report.note(
            at,
            line,
            format!(
                "Vigil's {} integrations send no HTTP credentials (their URL, key or token is the credential); carried into webhooks only",
                listed(
                    &UNCREDENTIALED
                        .into_iter()
                        .filter(|i| conv.uncredentialed.contains(i))
                        .collect::<Vec<_>>()
                )
            ),
        );
    }
    Ok(out)
}

/// The integrations that send no HTTP credentials, in the order notes
/// name them.
const UNCREDENTIALED: [&str; 5] = ["Slack", "PagerDuty", "Opsgenie", "Discord", "Telegram"];

/// `a`, `a and b`, `a, b and c`.
fn listed(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The name of the receiver at `node` (for the first pass).
pub fn name(path: &str, node: &Node) -> Result<String, ImportError> {
    let mut f = Fields::new(node, path)?;
    f.str("name")?
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ImportError::Invalid {
            line: node.line,
            path: f.at("name"),
            why: "a receiver needs a name".into(),
        })
}

type Convert = fn(&mut Conv<'_>, &Site<'_>, &Node) -> Result<Option<Table>, ImportError>;

/// Which integration is being converted.
pub(super) struct Site<'a> {
    pub(super) receiver: &'a str,
    pub(super) kind: &'static str,
    pub(super) index: usize,
    pub(super) path: String,
}

impl Site<'_> {
    pub(super) fn secret_parts<'b>(&'b self, index: &'b str, field: &'b str) -> [&'b str; 4] {
        [self.receiver, self.kind, index, field]
    }
}

fn receiver(path: &str, node: &Node, conv: &mut Conv<'_>) -> Result<Vec<Table>, ImportError> {
    let name = name(path, node)?;
    let mut f = Fields::new(node, path)?;
    f.node("name");
    let mut head = Table::array("notify.receivers");
    head.str("name", name.clone());
    let mut tables = vec![head];
    let kinds: [(&str, &'static str, Convert); 7] = [
        ("webhook_configs", "webhook", webhook::convert),
        ("slack_configs", "slack", slack::convert),
        ("email_configs", "email", email::convert),
        ("pagerduty_configs", "pagerduty", pagerduty::convert),
        ("opsgenie_configs", "opsgenie", opsgenie::convert),
        ("discord_configs", "discord", discord::convert),
        ("telegram_configs", "telegram", telegram::convert),
    ];
    for (key, kind, convert) in kinds {
        for (index, (item_path, item)) in f.list(key)?.into_iter().enumerate() {
            let site = Site {
                receiver: &name,
                kind,
                index,
                path: item_path,
            };
            if let Some(table) = convert(conv, &site, item)? {
                if tables.len() > MAX_INTEGRATIONS {
                    conv.report.note(
                        site.path,
                        item.line,
                        format!("a Vigil receiver has at most {MAX_INTEGRATIONS} integrations; not carried"),
                    );
                    continue;
                }
                tables.push(table);
            }
        }
    }
    for (key, integration) in FOREIGN {
        if f.node(key).is_some() {
            conv.report.note(
                f.at(key),
                f.line_of(key),
                format!("Vigil has no {integration} integration yet; not carried"),
            );
        }
    }
    conv.report
        .unread(&f, "not an Alertmanager receiver setting; ignored");
    Ok(tables)
}

/// `send_resolved`, with Alertmanager's default for the integration.
pub(super) fn send_resolved(
    f: &mut Fields<'_>,
    table: &mut Table,
    default: bool,
) -> Result<(), ImportError> {
    let value = f.bool("send_resolved")?.unwrap_or(default);
    table.set("send_resolved", Toml::Bool(value));
    Ok(())
}

/// The CA file of an integration that sends no HTTP credentials (Slack,
/// PagerDuty: `integration`): its own `http_config` if it has one, else
/// the global one (Alertmanager takes one or the other whole).
pub(super) fn http_ca(
    f: &mut Fields<'_>,
    conv: &mut Conv<'_>,
    integration: &'static str,
) -> Result<Option<String>, ImportError> {
    match f.fields("http_config")? {
        Some(h) => Ok(http::http_config(
            Some(h),
            conv.files,
            conv.report,
            http::Credentials::NotCarried(integration),
        )?
        .ca_file),
        None => {
            if conv.global.http_auth.is_some() && !conv.uncredentialed.contains(&integration) {
                conv.uncredentialed.push(integration);
            }
            Ok(conv.global.http_ca_file.clone())
        }
    }
}

/// Whether `node` holds Alertmanager's default for its setting: `default`
/// (whitespace aside), nothing (an empty string, list or mapping, `false`,
/// `0`), or the `{{ template "NS.default.FIELD" . }}` Vigil's default
/// stands in for.
pub(super) fn is_default(node: &Node, default: &str) -> bool {
    match &node.value {
        Value::Seq(items) => items.is_empty(),
        Value::Map(entries) => entries.is_empty(),
        Value::Bool(b) => !b,
        Value::Int(i) => *i == 0,
        _ => scalar_text(node).is_some_and(|v| {
            v.trim().is_empty()
                || v.split_whitespace().eq(default.split_whitespace())
                || matches!(template::translate(&v), Ok(Translated::Default))
        }),
    }
}

/// Notes each of `keys` written with other than its default (`(key,
/// default)`) as not carried, `why`.
pub(super) fn extras(f: &mut Fields<'_>, report: &mut Report, keys: &[(&str, &str)], why: &str) {
    for (key, default) in keys {
        let Some(node) = f.node(key) else { continue };
        if !is_default(node, default) {
            report.note(f.at(key), f.line_of(key), why);
        }
    }
}

/// A setting Vigil takes as plain text (a user name): carried when it is
/// no template, else noted (Alertmanager's own default aside).
pub(super) fn plain_text(
    f: &mut Fields<'_>,
    report: &mut Report,
    key: &str,
) -> Result<Option<String>, ImportError> {
    let Some(value) = f.str(key)? else {
        return Ok(None);
    };
    if !value.contains("{{") {
        return Ok(Some(value));
    }
    if !matches!(template::translate(&value), Ok(Translated::Default)) {
        report.note(
            f.at(key),
            f.line_of(key),
            "a template here is not supported (Vigil's value is plain text); not carried",
        );
    }
    Ok(None)
}

/// The template named for `field` of the integration at `site`.
pub(super) fn template_name(site: &Site<'_>, field: &str) -> String {
    format!("am.{}.{}.{}.{field}", site.receiver, site.kind, site.index)
}

/// Translates the Go template `go` into `[notify.templates."NAME"]` and
/// returns the name to use, or notes why not (the field keeps Vigil's
/// default). Alertmanager's own default gives `None` silently.
pub(super) fn add_template(
    conv: &mut Conv<'_>,
    name: &str,
    escape: &str,
    go: &str,
    at: &str,
    line: usize,
) -> Option<String> {
    match template::translate(go) {
        Ok(Translated::Default) => None,
        Ok(Translated::Source(source)) => {
            let mut table = Table::single(format!("notify.templates.{}", basic(name)));
            table.str("escape", escape);
            table.str("source", source);
            conv.templates.push(table);
            Some(name.to_string())
        }
        Err(why) => {
            conv.report.note(
                at,
                line,
                format!("the Go template cannot be translated to Vigil's minijinja ({why}); Vigil's default is used: port it to a [notify.templates] entry by hand"),
            );
            None
        }
    }
}

/// `key`, a Go template, as the text template `vigil_key` of `t` when it
/// translates (else noted, and Vigil's default stands).
pub(super) fn text_template(
    conv: &mut Conv<'_>,
    site: &Site<'_>,
    f: &mut Fields<'_>,
    t: &mut Table,
    key: &str,
    vigil_key: &str,
) -> Result<(), ImportError> {
    if let Some(go) = f.str(key)? {
        let at = f.at(key);
        let line = f.line_of(key);
        if let Some(name) = add_template(
            conv,
            &template_name(site, vigil_key),
            "text",
            &go,
            &at,
            line,
        ) {
            t.str(vigil_key, name);
        }
    }
    Ok(())
}
