//! `opsgenie_configs`: the API key as a reference (its own, else
//! `global.opsgenie_api_key`), the API from `global.opsgenie_api_url`,
//! `message` and `description` as translated templates, a literal
//! `priority` and `tags`; responders, details and the rest are reported.

use super::super::emit::Table;
use super::super::error::ImportError;
use super::super::global;
use super::super::yaml::{Fields, Node};
use super::urls::api_url;
use super::{Conv, Site, extras, http_ca, send_resolved, text_template};

/// Opsgenie's API, Alertmanager's default (and Vigil's).
const OPSGENIE_API: &str = "https://api.opsgenie.com/";

/// Opsgenie settings Vigil does not send, with Alertmanager's defaults.
const OPSGENIE_EXTRAS: [(&str, &str); 6] = [
    ("source", ""),
    ("details", ""),
    ("entity", ""),
    ("actions", ""),
    ("note", ""),
    ("update_alerts", "false"),
];

/// One `opsgenie_configs` entry, or `None` when it cannot be carried (noted).
pub(super) fn convert(
    conv: &mut Conv<'_>,
    site: &Site<'_>,
    node: &Node,
) -> Result<Option<Table>, ImportError> {
    let mut f = Fields::new(node, site.path.as_str())?;
    let mut t = Table::array("notify.receivers.opsgenie_configs");
    let index = site.index.to_string();
    let own = global::credential(&mut f, "api_key", conv.files, conv.report)?;
    let key = match (own, &conv.global.opsgenie_api_key) {
        (Some(c), _) => c.reference(conv.report, &site.secret_parts(&index, "api_key")),
        (None, Some(c)) => c.reference(conv.report, &["opsgenie", "api_key"]),
        (None, None) => {
            return Err(ImportError::Invalid {
                line: node.line,
                path: site.path.clone(),
                why: "Opsgenie needs api_key or api_key_file (or global.opsgenie_api_key)".into(),
            });
        }
    };
    t.str("api_key", key);
    let url = match f.str("api_url")? {
        Some(url) => Some((url, f.at("api_url"), f.line_of("api_url"))),
        None => conv
            .global
            .opsgenie_api_url
            .clone()
            .map(|(url, line)| (url, "global.opsgenie_api_url".to_string(), line)),
    };
    if let Some((url, at, line)) = url {
        t.opt_str("api_url", api_url(&url, OPSGENIE_API, &at, line, conv));
    }
    text_template(conv, site, &mut f, &mut t, "message", "message")?;
    text_template(conv, site, &mut f, &mut t, "description", "description")?;
    priority(&mut f, conv, &mut t, node)?;
    tags(&mut f, conv, &mut t)?;
    send_resolved(&mut f, &mut t, true)?;
    t.opt_str("ca_file", http_ca(&mut f, conv, "Opsgenie")?);
    if f.node("responders")
        .is_some_and(|n| !super::is_default(n, ""))
    {
        conv.report.note(
            f.at("responders"),
            f.line_of("responders"),
            "Vigil names no responders (Opsgenie assigns the alert to the API integration's team, or by its alert policies); not carried",
        );
    }
    extras(
        &mut f,
        conv.report,
        &OPSGENIE_EXTRAS,
        "Vigil's Opsgenie alert has the message, description, priority and tags only; not carried",
    );
    conv.report
        .unread(&f, "not an Alertmanager Opsgenie setting; ignored");
    Ok(Some(t))
}

/// `priority`: `P1`..`P5` as written; a template, or no priority (which
/// left Opsgenie's own default, P3), noted.
fn priority(
    f: &mut Fields<'_>,
    conv: &mut Conv<'_>,
    t: &mut Table,
    node: &Node,
) -> Result<(), ImportError> {
    let written = f.str("priority")?.map(|p| p.trim().to_string());
    let (at, line) = (f.at("priority"), f.line_of("priority"));
    match written.as_deref() {
        Some(p @ ("P1" | "P2" | "P3" | "P4" | "P5")) => t.str("priority", p),
        Some(p) if p.contains("{{") => conv.report.note(
            at,
            line,
            "a template here is not supported (Vigil's priority is one of P1 to P5, or from the worst severity by default); not carried",
        ),
        Some(p) if !p.is_empty() => conv.report.note(
            at,
            line,
            "Opsgenie's priorities are P1 to P5; not carried (Vigil's default follows the worst severity)",
        ),
        _ => conv.report.note(
            at,
            node.line,
            "Alertmanager sent no priority, so Opsgenie gave its default, P3; Vigil's default follows the worst severity (critical P1, error P2, warning P3, info P4): add priority = \"P3\" to keep P3",
        ),
    }
    Ok(())
}

/// `tags`: Alertmanager's is a comma-separated template; a literal list
/// becomes Vigil's array, a template is noted.
fn tags(f: &mut Fields<'_>, conv: &mut Conv<'_>, t: &mut Table) -> Result<(), ImportError> {
    let Some(tags) = f.str("tags")? else {
        return Ok(());
    };
    if tags.contains("{{") {
        conv.report.note(
            f.at("tags"),
            f.line_of("tags"),
            "a template here is not supported (Vigil's tags are a fixed list); not carried",
        );
        return Ok(());
    }
    let list: Vec<String> = tags
        .split(',')
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .map(str::to_string)
        .collect();
    t.strings("tags", &list);
    Ok(())
}
