//! `email_configs`: the `global.smtp_*` defaults pushed in, the password
//! as a reference, `require_tls` kept when a password would otherwise go
//! out in the clear, the smarthost allowlisted for STARTTLS, the subject,
//! HTML and text as translated templates.

use super::super::emit::{Table, Toml, basic};
use super::super::error::ImportError;
use super::super::global;
use super::super::http;
use super::super::yaml::{Fields, Node};
use super::{Conv, Site, add_template, send_resolved, template_name};

/// One `email_configs` entry, or `None` when it cannot be carried (noted).
pub(super) fn convert(
    conv: &mut Conv<'_>,
    site: &Site<'_>,
    node: &Node,
) -> Result<Option<Table>, ImportError> {
    let mut f = Fields::new(node, site.path.as_str())?;
    let mut t = Table::array("notify.receivers.email_configs");
    let index = site.index.to_string();
    let g = conv.global;
    let missing = |why: &str| ImportError::Invalid {
        line: node.line,
        path: site.path.clone(),
        why: why.to_string(),
    };
    let to = f.str("to")?.ok_or_else(|| missing("email needs `to`"))?;
    if to.contains("{{") {
        conv.report.note(
            f.at("to"),
            f.line_of("to"),
            "recipients from a template are not supported (Vigil's are plain addresses); this email integration is not carried",
        );
        return Ok(None);
    }
    let to: Vec<String> = split_addresses(&to);
    t.strings("to", &to);
    let from = f
        .str("from")?
        .or_else(|| g.smtp_from.clone())
        .ok_or_else(|| missing("email needs `from` (or global.smtp_from)"))?;
    t.str("from", from);
    let smarthost = f
        .str("smarthost")?
        .or_else(|| g.smtp_smarthost.clone())
        .ok_or_else(|| missing("email needs `smarthost` (or global.smtp_smarthost)"))?;
    let Some((host, port)) = smarthost.rsplit_once(':') else {
        return Err(ImportError::Invalid {
            line: f.line_of("smarthost"),
            path: f.at("smarthost"),
            why: "the smarthost must be host:port".into(),
        });
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let implicit_tls = port == "465";
    t.str("smarthost", smarthost.clone());
    t.opt_str("hello", f.str("hello")?.or_else(|| g.smtp_hello.clone()));
    t.opt_str(
        "auth_username",
        f.str("auth_username")?
            .or_else(|| g.smtp_auth_username.clone()),
    );
    let own = global::credential(&mut f, "auth_password", conv.files, conv.report)?;
    let password = match (own, &g.smtp_auth_password) {
        (Some(c), _) => Some(c.reference(conv.report, &site.secret_parts(&index, "auth_password"))),
        (None, Some(c)) => Some(c.reference(conv.report, &["smtp", "auth_password"])),
        (None, None) => None,
    };
    let has_password = password.is_some();
    t.opt_str("auth_password", password);
    for key in ["auth_secret", "auth_secret_file", "auth_identity"] {
        if f.node(key).is_some() {
            conv.report.note(
                f.at(key),
                f.line_of(key),
                "Vigil logs in with auth_username and auth_password only (no CRAM-MD5, no separate identity); not carried",
            );
        }
    }
    let require_tls = f
        .bool("require_tls")?
        .or(g.smtp_require_tls)
        .unwrap_or(true);
    if !require_tls {
        if has_password && !implicit_tls {
            conv.report.note(
                f.at("require_tls"),
                f.line_of("require_tls"),
                "Vigil never sends a password without TLS: written as require_tls = true",
            );
        } else {
            t.set("require_tls", Toml::Bool(false));
        }
    }
    if !implicit_tls && !conv.allow.contains(&host) {
        conv.report.note(
            f.at("smarthost"),
            f.line_of("smarthost"),
            format!(
                "Vigil's SSRF guard lets plain smtp (STARTTLS) reach only allowlisted hosts: added {} to notify.allow",
                basic(&host)
            ),
        );
        conv.allow.push(host);
    }
    let mut subject = None;
    for (key, value) in f.string_map("headers")? {
        if key.eq_ignore_ascii_case("subject") {
            subject = Some(value);
        } else {
            conv.report.note(
                format!("{}.{key}", f.at("headers")),
                f.line_of("headers"),
                "Vigil sets the headers itself (a subject template aside); not carried",
            );
        }
    }
    let at = f.at("headers");
    let line = f.line_of("headers");
    if let Some(subject) = subject
        && let Some(name) = add_template(
            conv,
            &template_name(site, "subject"),
            "text",
            &subject,
            &format!("{at}.Subject"),
            line,
        )
    {
        t.str("subject", name);
    }
    for (key, escape) in [("html", "html"), ("text", "text")] {
        if let Some(value) = f.str(key)? {
            let at = f.at(key);
            let line = f.line_of(key);
            if let Some(name) =
                add_template(conv, &template_name(site, key), escape, &value, &at, line)
            {
                t.str(key, name);
            }
        }
    }
    send_resolved(&mut f, &mut t, false)?;
    let ca = match f.fields("tls_config")? {
        Some(tls) => http::tls_config(tls, conv.files, conv.report)?,
        None => g.smtp_ca_file.clone(),
    };
    t.opt_str("ca_file", ca);
    if f.node("threading").is_some() {
        conv.report.note(
            f.at("threading"),
            f.line_of("threading"),
            "not supported by Vigil; not carried",
        );
    }
    conv.report
        .unread(&f, "not an Alertmanager email setting; ignored");
    Ok(Some(t))
}

/// Splits Alertmanager's comma-separated `to` (commas inside quotes or
/// angle brackets do not split).
fn split_addresses(to: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut angle) = (false, false);
    for c in to.chars() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_on_commas_outside_quotes() {
        assert_eq!(
            split_addresses(r#"a@x.org, "Ops, Team" <ops@x.org>,b@y.org"#),
            vec!["a@x.org", r#""Ops, Team" <ops@x.org>"#, "b@y.org"]
        );
    }
}
