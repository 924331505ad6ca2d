//! `webhook_configs`: the URL (a `secret:` reference when it carries a
//! credential; `user:password@` in it becomes `basic_auth`), unsigned as
//! Alertmanager's are (`sign = false`: its receivers check no signature),
//! `http_config`'s credentials (its own, else the global one) as
//! `authorization` or `basic_auth` with references, Alertmanager's own
//! payload (`alertmanager.v4.json`).

use super::super::emit::{Table, Toml};
use super::super::error::ImportError;
use super::super::http::{self, Auth, Credentials};
use super::super::yaml::{Fields, Node};
use super::urls::{Found, allow_for, credential_in, take_userinfo};
use super::{Conv, Site, send_resolved};

/// One `webhook_configs` entry, or `None` when it cannot be carried (noted).
pub(super) fn convert(
    conv: &mut Conv<'_>,
    site: &Site<'_>,
    node: &Node,
) -> Result<Option<Table>, ImportError> {
    let mut f = Fields::new(node, site.path.as_str())?;
    let mut t = Table::array("notify.receivers.webhook_configs");
    let index = site.index.to_string();
    // Alertmanager gives a webhook the global http_config unless it has
    // its own, which replaces it whole.
    let (own, ca_file, auth) = match f.fields("http_config")? {
        Some(h) => {
            let h = http::http_config(Some(h), conv.files, conv.report, Credentials::Read)?;
            (true, h.ca_file, h.auth)
        }
        None => (
            false,
            conv.global.http_ca_file.clone(),
            conv.global.http_auth.clone(),
        ),
    };
    // `user:password@` in the URL, as basic_auth: (username, password).
    let mut from_url: Option<(String, String)> = None;
    let mut userinfo = false;
    if let Some(url) = f.str("url")? {
        let at = f.at("url");
        let line = f.line_of("url");
        allow_for(&url, &at, line, conv);
        let value = match credential_in(&url) {
            None => url,
            Some(Found::Token) => conv
                .report
                .secret(&at, line, &site.secret_parts(&index, "url")),
            Some(Found::UserInfo) => match take_userinfo(&url) {
                None => conv.report.reference(
                    &at,
                    &at,
                    line,
                    &site.secret_parts(&index, "url"),
                    "the URL seems to hold user:password, which Vigil does not send from a URL: store the URL without them with `vigilctl secrets set {name}` (the output references secret:{name}) and give them as basic_auth = { username, password = \"secret:NAME\" }",
                ),
                Some(taken) => {
                    userinfo = true;
                    match taken.username {
                        Some(username) => {
                            let password = conv.report.reference(
                                &format!("{at}#password"),
                                &at,
                                line,
                                &site.secret_parts(&index, "password"),
                                "the URL's user:password becomes basic_auth (Vigil sends no credentials from a URL): the output has the URL without them and the user name, and references the password as secret:{name}: store it (the part after the first `:`, percent-decoded) with `vigilctl secrets set {name}`",
                            );
                            from_url = Some((username, password));
                        }
                        None => conv.report.note(
                            &at,
                            line,
                            "the URL holds user information Vigil's basic_auth cannot take (it needs a user name without `:` and a password): written without it; not carried",
                        ),
                    }
                    if credential_in(&taken.url).is_some() {
                        conv.report.reference(
                            &at,
                            &at,
                            line,
                            &site.secret_parts(&index, "url"),
                            "the URL holds a credential besides its user:password: store the URL without user:password with `vigilctl secrets set {name}` (the output references secret:{name})",
                        )
                    } else {
                        taken.url
                    }
                }
            },
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
    // Alertmanager's receivers check no signature: unsigned, as there.
    t.set("sign", Toml::Bool(false));
    conv.unsigned.push((site.path.clone(), node.line));
    if userinfo {
        // Go's HTTP client sends the URL's user information, and
        // http_config's credentials then add nothing.
        if let Some(auth) = &auth {
            conv.report.note(
                f.at("url"),
                f.line_of("url"),
                format!(
                    "Alertmanager sends the URL's user information rather than {}http_config's {} (Go's HTTP client prefers it); that {} is not carried",
                    if own { "" } else { "the global " },
                    auth.key(),
                    auth.key(),
                ),
            );
        }
        if let Some((username, password)) = from_url {
            t.set(
                "basic_auth",
                Toml::Inline(vec![
                    ("username".into(), Toml::Str(username)),
                    ("password".into(), Toml::Str(password)),
                ]),
            );
        }
    } else if let Some(auth) = auth {
        match auth {
            Auth::Authorization {
                scheme,
                credentials,
                ..
            } => {
                let parts = suggested(own, site, &index, "authorization");
                let credentials = credentials.reference(conv.report, &parts);
                t.set(
                    "authorization",
                    Toml::Inline(vec![
                        ("type".into(), Toml::Str(scheme)),
                        ("credentials".into(), Toml::Str(credentials)),
                    ]),
                );
            }
            Auth::Basic {
                username, password, ..
            } => {
                let parts = suggested(own, site, &index, "password");
                let password = password.reference(conv.report, &parts);
                t.set(
                    "basic_auth",
                    Toml::Inline(vec![
                        ("username".into(), Toml::Str(username)),
                        ("password".into(), Toml::Str(password)),
                    ]),
                );
            }
        }
    }
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
    t.opt_str("ca_file", ca_file);
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

/// The secret name suggested for a credential of `http_config`: the
/// webhook's own, or the global one's (one name for every webhook).
fn suggested<'a>(own: bool, site: &'a Site<'_>, index: &'a str, field: &'a str) -> Vec<&'a str> {
    if own {
        site.secret_parts(index, field).to_vec()
    } else {
        vec!["http_config", field]
    }
}
