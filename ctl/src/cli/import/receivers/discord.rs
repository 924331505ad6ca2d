//! `discord_configs`: the webhook URL is the credential (a `secret:` or
//! `file:` reference), `message` a translated template, `username` plain
//! text; Vigil posts the message alone, so a `title` is reported.

use super::super::emit::Table;
use super::super::error::ImportError;
use super::super::global;
use super::super::yaml::{Fields, Node};
use super::urls::allow_for;
use super::{Conv, Site, extras, http_ca, plain_text, send_resolved, text_template};

/// Discord settings Vigil's one `message` does not cover, with
/// Alertmanager's defaults (`content` and `avatar_url` came in 0.28).
const DISCORD_EXTRAS: [(&str, &str); 3] = [("title", ""), ("content", ""), ("avatar_url", "")];

/// One `discord_configs` entry, or `None` when it cannot be carried (noted).
pub(super) fn convert(
    conv: &mut Conv<'_>,
    site: &Site<'_>,
    node: &Node,
) -> Result<Option<Table>, ImportError> {
    let mut f = Fields::new(node, site.path.as_str())?;
    let mut t = Table::array("notify.receivers.discord_configs");
    let index = site.index.to_string();
    let Some(url) = global::credential(&mut f, "webhook_url", conv.files, conv.report)? else {
        return Err(ImportError::Invalid {
            line: node.line,
            path: site.path.clone(),
            why: "Discord needs webhook_url or webhook_url_file".into(),
        });
    };
    if let global::Credential::Inline { path, line } = &url
        && let Some(inline) = f.str("webhook_url")?
    {
        // Only the host is looked at (and noted, if allowlisted).
        allow_for(&inline, path, *line, conv);
    }
    t.str(
        "webhook_url",
        url.reference(conv.report, &site.secret_parts(&index, "webhook_url")),
    );
    text_template(conv, site, &mut f, &mut t, "message", "message")?;
    t.opt_str("username", plain_text(&mut f, conv.report, "username")?);
    send_resolved(&mut f, &mut t, true)?;
    t.opt_str("ca_file", http_ca(&mut f, conv, "Discord")?);
    extras(
        &mut f,
        conv.report,
        &DISCORD_EXTRAS,
        "Vigil's Discord message is its `message` template alone; not carried (fold it into message)",
    );
    conv.report
        .unread(&f, "not an Alertmanager Discord setting; ignored");
    Ok(Some(t))
}
