//! `pagerduty_configs`: the routing key as a reference (a v1 `service_key`
//! is reported: Vigil speaks Events API v2), the URL from
//! `global.pagerduty_url`, `description` as the summary template.

use super::super::emit::Table;
use super::super::error::ImportError;
use super::super::global;
use super::super::template::{self, Translated};
use super::super::yaml::{Fields, Node};
use super::urls::{allow_for, credential_in};
use super::{Conv, Site, add_template, extras, http_ca, send_resolved, template_name};

/// PagerDuty's Events API v2 endpoint, Alertmanager's default.
const PAGERDUTY_V2: &str = "https://events.pagerduty.com/v2/enqueue";

/// PagerDuty settings Vigil does not send, with Alertmanager's defaults.
const PAGERDUTY_EXTRAS: [(&str, &str); 9] = [
    ("client", ""),
    ("client_url", ""),
    ("details", ""),
    ("images", ""),
    ("links", ""),
    ("severity", "error"),
    ("class", ""),
    ("component", ""),
    ("group", ""),
];

/// One `pagerduty_configs` entry, or `None` when it cannot be carried (noted).
pub(super) fn convert(
    conv: &mut Conv<'_>,
    site: &Site<'_>,
    node: &Node,
) -> Result<Option<Table>, ImportError> {
    let mut f = Fields::new(node, site.path.as_str())?;
    let mut t = Table::array("notify.receivers.pagerduty_configs");
    let index = site.index.to_string();
    let routing = global::credential(&mut f, "routing_key", conv.files, conv.report)?;
    let service = global::credential(&mut f, "service_key", conv.files, conv.report)?;
    let key = match (routing, service) {
        (Some(c), _) => c.reference(conv.report, &site.secret_parts(&index, "routing_key")),
        (None, Some(global::Credential::Inline { path, line })) => conv.report.reference(
            &path,
            &path,
            line,
            &site.secret_parts(&index, "routing_key"),
            "service_key is an Events API v1 key and Vigil speaks Events API v2 only: create an Events API v2 integration in PagerDuty and store its routing key with `vigilctl secrets set {name}` (the output references secret:{name})",
        ),
        (None, Some(global::Credential::File(reference))) => {
            conv.report.note(
                f.at("service_key_file"),
                f.line_of("service_key_file"),
                "service_key is an Events API v1 key and Vigil speaks Events API v2 only: the file must hold an Events API v2 routing key",
            );
            reference
        }
        (None, None) => {
            return Err(ImportError::Invalid {
                line: node.line,
                path: site.path.clone(),
                why: "PagerDuty needs routing_key or service_key".into(),
            });
        }
    };
    t.str("routing_key", key);
    let own_url = f.str("url")?;
    let url_line = f.line_of("url");
    let url_at = if own_url.is_some() {
        f.at("url")
    } else {
        "global.pagerduty_url".to_string()
    };
    if let Some(url) = own_url.or_else(|| conv.global.pagerduty_url.clone())
        && url != PAGERDUTY_V2
    {
        if credential_in(&url).is_some() {
            conv.report.note(
                url_at,
                url_line,
                "a URL holding a credential cannot be carried (Vigil's PagerDuty url is plain text); not carried",
            );
        } else if url.contains("/generic/2010-04-15/") {
            conv.report.note(
                url_at,
                url_line,
                "an Events API v1 endpoint; Vigil speaks Events API v2: left to Vigil's default",
            );
        } else {
            allow_for(&url, &url_at, url_line, conv);
            t.str("url", url);
        }
    }
    if let Some(source) = f.str("source")? {
        if !source.contains("{{") {
            t.str("source", source);
        } else if !matches!(template::translate(&source), Ok(Translated::Default)) {
            conv.report.note(
                f.at("source"),
                f.line_of("source"),
                "a template here is not supported (Vigil's source is plain text, this host's name by default); not carried",
            );
        }
    }
    if let Some(description) = f.str("description")? {
        let at = f.at("description");
        let line = f.line_of("description");
        if let Some(name) = add_template(
            conv,
            &template_name(site, "summary"),
            "text",
            &description,
            &at,
            line,
        ) {
            t.str("summary", name);
        }
    }
    send_resolved(&mut f, &mut t, true)?;
    t.opt_str("ca_file", http_ca(&mut f, conv, "PagerDuty")?);
    extras(
        &mut f,
        conv.report,
        &PAGERDUTY_EXTRAS,
        "Vigil sends the summary, source, severity and the alerts' links only; not carried",
    );
    conv.report
        .unread(&f, "not an Alertmanager PagerDuty setting; ignored");
    Ok(Some(t))
}
