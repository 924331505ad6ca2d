//! `webhook_configs`: the URL (a `secret:` reference when it carries a
//! credential), one shared signing secret (Vigil signs every webhook),
//! Alertmanager's own payload (`alertmanager.v4.json`).

use super::super::emit::{Table, Toml};
use super::super::error::ImportError;
use super::super::yaml::{Fields, Node};
use super::urls::{Found, allow_for, credential_in};
use super::{Conv, Site, http_ca, send_resolved};

/// One `webhook_configs` entry, or `None` when it cannot be carried (noted).
pub(super) fn convert(
    conv: &mut Conv<'_>,
    site: &Site<'_>,
    node: &Node,
) -> Result<Option<Table>, ImportError> {
    let mut f = Fields::new(node, site.path.as_str())?;
    let mut t = Table::array("notify.receivers.webhook_configs");
    let index = site.index.to_string();
    if let Some(url) = f.str("url")? {
        let at = f.at("url");
        let line = f.line_of("url");
        allow_for(&url, &at, line, conv);
        let value = match credential_in(&url) {
            None => url,
            Some(Found::UserInfo) => conv.report.reference(
                &at,
                &at,
                line,
                &site.secret_parts(&index, "url"),
                "the URL holds user:password, which Vigil neither sends nor accepts in a URL: store the URL without them with `vigilctl secrets set {name}` (the output references secret:{name}) and have the receiver check the webhook signature instead",
            ),
            Some(Found::Token) => {
                conv.report
                    .secret(&at, line, &site.secret_parts(&index, "url"))
            }
        };
        t.str("url", value);
    } else if let Some(file) = f.str("url_file")? {
        let at = f.at("url_file");
        let line = f.line_of("url_file");
        t.str("url", conv.files.reference(&file, &at, line, conv.report));
    } else {
        return Err(ImportError::Invalid {
            line: node.line,
            path: site.path.clone(),
            why: "a webhook needs url or url_file".into(),
        });
    }
    // One signing secret for every imported webhook: Alertmanager's
    // receivers check no signature, and one secret is one command.
    let secret = conv.report.reference(
        "#webhook-signing-secret",
        &site.path,
        node.line,
        &["webhook", "signing_secret"],
        "Vigil signs every webhook (Standard Webhooks) and needs a signing secret: store one with `vigilctl secrets set {name}` (whsec_ and the base64 of 32 random bytes); every imported webhook references it, and a receiver written for Alertmanager may ignore the signature",
    );
    t.str("secret", secret);
    send_resolved(&mut f, &mut t, true)?;
    let max_alerts = f.uint("max_alerts")?.unwrap_or(0);
    if max_alerts > 0 {
        t.set(
            "max_alerts",
            Toml::Int(i64::try_from(max_alerts).unwrap_or(i64::MAX)),
        );
    }
    if max_alerts == 0 || max_alerts > 20 {
        conv.capped
            .push((f.at("max_alerts"), f.line_of("max_alerts")));
    }
    t.str("template", "alertmanager.v4.json");
    t.opt_str("ca_file", http_ca(&mut f, conv)?);
    if f.node("timeout").is_some() {
        conv.report.note(
            f.at("timeout"),
            f.line_of("timeout"),
            "Vigil has one attempt timeout for every receiver ([notify.retry] timeout); not carried",
        );
    }
    conv.report
        .unread(&f, "not an Alertmanager webhook setting; ignored");
    Ok(Some(t))
}
