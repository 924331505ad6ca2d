//! `slack_configs`: the incoming webhook URL is the credential (its own
//! or `global.slack_api_url`), `channel` and `username` carry as plain
//! text, `text` as a translated template; the rest of Alertmanager's
//! message fields are reported.

use super::super::emit::Table;
use super::super::error::ImportError;
use super::super::global;
use super::super::yaml::{Fields, Node};
use super::{Conv, Site, add_template, extras, http_ca, plain_text, send_resolved, template_name};

/// Slack settings Vigil's one `text` template does not cover, with
/// Alertmanager's default for each (a default is not worth a line).
const SLACK_EXTRAS: [(&str, &str); 20] = [
    ("title", ""),
    ("title_link", ""),
    ("pretext", ""),
    (
        "color",
        "{{ if eq .Status \"firing\" }}danger{{ else }}good{{ end }}",
    ),
    ("footer", ""),
    ("fallback", ""),
    ("callback_id", ""),
    ("icon_emoji", ""),
    ("icon_url", ""),
    ("image_url", ""),
    ("thumb_url", ""),
    ("fields", ""),
    ("short_fields", "false"),
    ("link_names", "false"),
    ("mrkdwn_in", ""),
    ("actions", ""),
    ("app_token", ""),
    ("app_token_file", ""),
    ("app_url", ""),
    ("update_message", "false"),
];

/// One `slack_configs` entry, or `None` when it cannot be carried (noted).
pub(super) fn convert(
    conv: &mut Conv<'_>,
    site: &Site<'_>,
    node: &Node,
) -> Result<Option<Table>, ImportError> {
    let mut f = Fields::new(node, site.path.as_str())?;
    let mut t = Table::array("notify.receivers.slack_configs");
    let index = site.index.to_string();
    let own = global::credential(&mut f, "api_url", conv.files, conv.report)?;
    let api_url = match (own, &conv.global.slack_api_url) {
        (Some(c), _) => c.reference(conv.report, &site.secret_parts(&index, "api_url")),
        (None, Some(c)) => c.reference(conv.report, &["slack", "api_url"]),
        (None, None) => {
            return Err(ImportError::Invalid {
                line: node.line,
                path: site.path.clone(),
                why: "Slack needs api_url (or global.slack_api_url)".into(),
            });
        }
    };
    t.str("api_url", api_url);
    for key in ["channel", "username"] {
        t.opt_str(key, plain_text(&mut f, conv.report, key)?);
    }
    if let Some(text) = f.str("text")? {
        let name = template_name(site, "text");
        let at = f.at("text");
        let line = f.line_of("text");
        if let Some(name) = add_template(conv, &name, "slack_mrkdwn", &text, &at, line) {
            t.str("text", name);
        }
    }
    send_resolved(&mut f, &mut t, false)?;
    t.opt_str("ca_file", http_ca(&mut f, conv, "Slack")?);
    extras(
        &mut f,
        conv.report,
        &SLACK_EXTRAS,
        "Vigil's Slack message is its `text` template alone; not carried (fold it into text)",
    );
    conv.report
        .unread(&f, "not an Alertmanager Slack setting; ignored");
    Ok(Some(t))
}
