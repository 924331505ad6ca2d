//! `global`: the defaults Alertmanager pushes into every receiver that
//! does not set its own (`smtp_*` into email, `slack_api_url` into Slack,
//! `pagerduty_url` into PagerDuty, `opsgenie_api_key` and
//! `opsgenie_api_url` into Opsgenie, `telegram_api_url` (and, since
//! Alertmanager 0.31, `telegram_bot_token`) into Telegram, `http_config`
//! into every HTTP one).
//! The converter does the same, so each Vigil integration is complete.

use super::error::ImportError;
use super::http::{self, Files};
use super::report::Report;
use super::yaml::Fields;

/// A credential as written: inline (a secret, referenced by name) or in a
/// file (a `file:` reference).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// Written in the YAML at `path`, `line`.
    Inline {
        /// The setting.
        path: String,
        /// Its line.
        line: usize,
    },
    /// A `file:` reference.
    File(String),
}

impl Credential {
    /// The Vigil value: `secret:NAME` (with its note) or `file:/path`.
    pub fn reference(&self, report: &mut Report, suggested: &[&str]) -> String {
        match self {
            Credential::Inline { path, line } => report.secret(path, *line, suggested),
            Credential::File(reference) => reference.clone(),
        }
    }
}

/// The defaults that receivers inherit.
#[derive(Debug, Clone, Default)]
pub struct Global {
    /// `smtp_from`.
    pub smtp_from: Option<String>,
    /// `smtp_hello`.
    pub smtp_hello: Option<String>,
    /// `smtp_smarthost`.
    pub smtp_smarthost: Option<String>,
    /// `smtp_auth_username`.
    pub smtp_auth_username: Option<String>,
    /// `smtp_auth_password` or `smtp_auth_password_file`.
    pub smtp_auth_password: Option<Credential>,
    /// `smtp_require_tls`.
    pub smtp_require_tls: Option<bool>,
    /// `smtp_tls_config.ca_file`.
    pub smtp_ca_file: Option<String>,
    /// `slack_api_url` or `slack_api_url_file`.
    pub slack_api_url: Option<Credential>,
    /// `pagerduty_url`.
    pub pagerduty_url: Option<String>,
    /// `opsgenie_api_key` or `opsgenie_api_key_file`.
    pub opsgenie_api_key: Option<Credential>,
    /// `opsgenie_api_url`, with its line.
    pub opsgenie_api_url: Option<(String, usize)>,
    /// `telegram_api_url`, with its line.
    pub telegram_api_url: Option<(String, usize)>,
    /// `telegram_bot_token` or `telegram_bot_token_file`.
    pub telegram_bot_token: Option<Credential>,
    /// `http_config.tls_config.ca_file`.
    pub http_ca_file: Option<String>,
    /// `http_config`'s credentials, for the webhooks without their own
    /// `http_config`.
    pub http_auth: Option<http::Auth>,
    /// `resolve_timeout`: the Prometheus source's, in Vigil.
    pub resolve_timeout: Option<String>,
}

/// Global settings only integrations Vigil lacks use.
const FOREIGN: [(&str, &str); 15] = [
    ("victorops_api_key", "VictorOps"),
    ("victorops_api_key_file", "VictorOps"),
    ("victorops_api_url", "VictorOps"),
    ("wechat_api_url", "WeChat"),
    ("wechat_api_secret", "WeChat"),
    ("wechat_api_corp_id", "WeChat"),
    ("webex_api_url", "Webex"),
    ("rocketchat_api_url", "Rocket.Chat"),
    ("rocketchat_api_token", "Rocket.Chat"),
    ("rocketchat_api_token_file", "Rocket.Chat"),
    ("rocketchat_api_token_id", "Rocket.Chat"),
    ("rocketchat_api_token_id_file", "Rocket.Chat"),
    ("jira_api_url", "Jira"),
    ("msteams_webhook_url", "Microsoft Teams"),
    ("incidentio_url", "incident.io"),
];

/// Reads `global`.
pub fn read(
    f: Option<Fields<'_>>,
    files: &Files,
    report: &mut Report,
) -> Result<Global, ImportError> {
    let Some(mut f) = f else {
        return Ok(Global::default());
    };
    let mut g = Global {
        smtp_from: f.str("smtp_from")?,
        smtp_hello: f.str("smtp_hello")?,
        smtp_smarthost: f.str("smtp_smarthost")?,
        smtp_auth_username: f.str("smtp_auth_username")?,
        smtp_require_tls: f.bool("smtp_require_tls")?,
        pagerduty_url: f.str("pagerduty_url")?,
        opsgenie_api_url: f
            .str("opsgenie_api_url")?
            .map(|url| (url, f.line_of("opsgenie_api_url"))),
        telegram_api_url: f
            .str("telegram_api_url")?
            .map(|url| (url, f.line_of("telegram_api_url"))),
        ..Global::default()
    };
    g.smtp_auth_password = credential(&mut f, "smtp_auth_password", files, report)?;
    g.slack_api_url = credential(&mut f, "slack_api_url", files, report)?;
    g.opsgenie_api_key = credential(&mut f, "opsgenie_api_key", files, report)?;
    g.telegram_bot_token = credential(&mut f, "telegram_bot_token", files, report)?;
    if f.node("smtp_auth_secret").is_some() || f.node("smtp_auth_secret_file").is_some() {
        report.note(
            f.at("smtp_auth_secret"),
            f.line_of("smtp_auth_secret"),
            "CRAM-MD5 authentication is not supported by Vigil (it logs in with auth_username and auth_password over TLS); not carried",
        );
    }
    if f.node("smtp_auth_identity").is_some() {
        report.note(
            f.at("smtp_auth_identity"),
            f.line_of("smtp_auth_identity"),
            "Vigil logs in as auth_username; a separate PLAIN identity is not supported; not carried",
        );
    }
    if let Some(tls) = f.fields("smtp_tls_config")? {
        g.smtp_ca_file = http::tls_config(tls, files, report)?;
    }
    let http = http::http_config(
        f.fields("http_config")?,
        files,
        report,
        http::Credentials::Read,
    )?;
    g.http_ca_file = http.ca_file;
    g.http_auth = http.auth;
    // Alertmanager's resolve timeout is the lifetime of an alert pushed
    // without an end: in Vigil, a setting of the source Prometheus pushes to.
    g.resolve_timeout = f.str("resolve_timeout")?;
    for (key, integration) in FOREIGN {
        if f.node(key).is_some() {
            report.note(
                f.at(key),
                f.line_of(key),
                format!("used only by {integration} receivers, which Vigil has no integration for; not carried"),
            );
        }
    }
    report.unread(&f, "not an Alertmanager global setting; ignored");
    Ok(g)
}

/// `KEY` (inline, a secret) or `KEY_file` (a file reference).
pub fn credential(
    f: &mut Fields<'_>,
    key: &str,
    files: &Files,
    report: &mut Report,
) -> Result<Option<Credential>, ImportError> {
    // Read as a node so that nothing about the value is kept but where it is.
    let inline = f.node(key).map(|node| Credential::Inline {
        path: f.at(key),
        line: node.line,
    });
    let file_key = format!("{key}_file");
    let file = f.str(&file_key)?.map(|path| {
        Credential::File(files.reference(&path, &f.at(&file_key), f.line_of(&file_key), report))
    });
    Ok(inline.or(file))
}
