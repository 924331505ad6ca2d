//! `http_config` and `tls_config`, which Vigil mostly does not have: its
//! client verifies certificates (a `ca_file` may add roots), follows no
//! redirect and uses no proxy. What can be carried is the CA file and, for
//! webhooks, the credentials (`authorization`, the deprecated
//! `bearer_token`, `basic_auth`), as references; every other setting is
//! reported, never quoted.

use super::error::ImportError;
use super::global::Credential;
use super::report::Report;
use super::yaml::{Fields, scalar_text};
use std::path::{Path, PathBuf};

/// Where relative `*_file` paths are resolved: Alertmanager resolves them
/// against the configuration file's directory.
#[derive(Debug, Clone)]
pub struct Files {
    /// That directory (the current one for stdin).
    pub base: PathBuf,
    /// Whether the input came from stdin (relative paths are a guess).
    pub stdin: bool,
}

impl Files {
    /// `path` made absolute as Alertmanager would resolve it.
    pub fn absolute(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    /// A `file:` reference to `path`, noting a guess for a relative path
    /// read from stdin.
    pub fn reference(&self, path: &str, at: &str, line: usize, report: &mut Report) -> String {
        let absolute = self.absolute(path);
        if self.stdin && !Path::new(path).is_absolute() {
            report.note(
                at,
                line,
                format!(
                    "a relative path read from stdin; resolved against the current directory as {}",
                    absolute.display()
                ),
            );
        }
        format!("file:{}", absolute.display())
    }
}

/// What an HTTP client authenticates with, as `http_config` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// `authorization` (or `bearer_token` / `bearer_token_file`): an
    /// `Authorization: TYPE CREDENTIALS` header.
    Authorization {
        /// The scheme (`Bearer` unless told).
        scheme: String,
        /// The credentials.
        credentials: Credential,
        /// The setting (`….http_config.authorization`).
        at: String,
        /// Its line.
        line: usize,
    },
    /// `basic_auth`.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Credential,
        /// The setting (`….http_config.basic_auth`).
        at: String,
        /// Its line.
        line: usize,
    },
}

impl Auth {
    /// Where it is written, and its line.
    pub fn at(&self) -> (&str, usize) {
        match self {
            Auth::Authorization { at, line, .. } | Auth::Basic { at, line, .. } => (at, *line),
        }
    }

    /// Vigil's key for it: `authorization` or `basic_auth`.
    pub fn key(&self) -> &'static str {
        match self {
            Auth::Authorization { .. } => "authorization",
            Auth::Basic { .. } => "basic_auth",
        }
    }
}

/// What becomes of `http_config`'s credentials.
#[derive(Debug, Clone, Copy)]
pub enum Credentials {
    /// Read: a webhook's own, or the global ones (pushed into webhooks).
    Read,
    /// Reported as not carried: the named integration (Slack, PagerDuty)
    /// authenticates with its URL or key.
    NotCarried(&'static str),
}

/// What an `http_config` carries.
#[derive(Debug, Clone, Default)]
pub struct HttpConfig {
    /// `tls_config.ca_file`, absolute.
    pub ca_file: Option<String>,
    /// The credentials, when read and Vigil can send them.
    pub auth: Option<Auth>,
}

/// `http_config` at `f` (if written): returns its CA file and credentials
/// and reports the rest.
pub fn http_config(
    f: Option<Fields<'_>>,
    files: &Files,
    report: &mut Report,
    credentials: Credentials,
) -> Result<HttpConfig, ImportError> {
    let Some(mut f) = f else {
        return Ok(HttpConfig::default());
    };
    let mut out = HttpConfig {
        auth: auth(&mut f, files, report, credentials)?,
        ..HttpConfig::default()
    };
    for key in [
        "proxy_url",
        "no_proxy",
        "proxy_from_environment",
        "proxy_connect_header",
    ] {
        if f.node(key).is_some() {
            report.note(
                f.at(key),
                f.line_of(key),
                "Vigil connects directly (its SSRF guard ignores proxies); not carried",
            );
        }
    }
    if f.bool("follow_redirects")? == Some(true) {
        report.note(
            f.at("follow_redirects"),
            f.line_of("follow_redirects"),
            "Vigil never follows redirects (a redirect could lead past its SSRF guard); not carried",
        );
    }
    for key in ["enable_http2", "http_headers"] {
        if f.node(key).is_some() {
            report.note(
                f.at(key),
                f.line_of(key),
                "not supported by Vigil; not carried",
            );
        }
    }
    if let Some(tls) = f.fields("tls_config")? {
        out.ca_file = tls_config(tls, files, report)?;
    }
    report.unread(&f, "not an Alertmanager http_config setting; ignored");
    Ok(out)
}

/// A credential as written: where, never what.
#[derive(Debug, Clone)]
enum Written {
    /// Inline at `path`, `line`.
    Inline { path: String, line: usize },
    /// In the file `file` (as written), set at `at`, `line`.
    File {
        file: String,
        at: String,
        line: usize,
    },
}

impl Written {
    /// The reference Vigil takes: the inline one by where it is (its
    /// secret name is given when it is used), the file as a `file:`.
    fn credential(self, files: &Files, report: &mut Report) -> Credential {
        match self {
            Written::Inline { path, line } => Credential::Inline { path, line },
            Written::File { file, at, line } => {
                Credential::File(files.reference(&file, &at, line, report))
            }
        }
    }
}

/// `key` (inline) or `key_file`, at most one of them (Go's empty string
/// counts as unset). Only the emptiness of an inline value is looked at.
fn written(f: &mut Fields<'_>, key: &str) -> Result<Option<Written>, ImportError> {
    let inline = match f.node(key) {
        None => None,
        Some(node) => match scalar_text(node) {
            Some(text) if text.is_empty() => None,
            Some(_) => Some(Written::Inline {
                path: f.at(key),
                line: node.line,
            }),
            None => {
                return Err(ImportError::Type {
                    line: node.line,
                    path: f.at(key),
                    expected: "a string",
                    found: node.value.kind(),
                });
            }
        },
    };
    let file_key = format!("{key}_file");
    let file = f
        .str(&file_key)?
        .filter(|p| !p.is_empty())
        .map(|file| Written::File {
            file,
            at: f.at(&file_key),
            line: f.line_of(&file_key),
        });
    match (inline, file) {
        (Some(_), Some(_)) => Err(ImportError::Invalid {
            line: f.line_of(key),
            path: f.at(key),
            why: format!("at most one of {key} & {file_key} may be set"),
        }),
        (inline, file) => Ok(inline.or(file)),
    }
}

/// The credentials of an `http_config`: checked as Alertmanager checks
/// them, then read (`Credentials::Read`) or reported. `oauth2` is
/// reported either way.
fn auth(
    f: &mut Fields<'_>,
    files: &Files,
    report: &mut Report,
    credentials: Credentials,
) -> Result<Option<Auth>, ImportError> {
    let invalid = |f: &Fields<'_>, key: &str, why: &str| ImportError::Invalid {
        line: f.line_of(key),
        path: f.at(key),
        why: why.to_string(),
    };
    let bearer = written(f, "bearer_token")?;
    let oauth2 = f.node("oauth2").is_some();
    if oauth2 {
        report.note(
            f.at("oauth2"),
            f.line_of("oauth2"),
            "Vigil does not fetch OAuth 2.0 tokens; not carried",
        );
    }
    let basic = match f.fields("basic_auth")? {
        None => None,
        Some(mut b) => {
            let username = b.str("username")?.filter(|u| !u.is_empty());
            let username_file = b.str("username_file")?.filter(|u| !u.is_empty());
            if username.is_some() && username_file.is_some() {
                return Err(invalid(
                    &b,
                    "username",
                    "at most one of username & username_file may be set",
                ));
            }
            let password = written(&mut b, "password")?;
            report.unread(&b, "not an Alertmanager basic_auth setting; ignored");
            Some((username, username_file.is_some(), password))
        }
    };
    let authorization = match f.fields("authorization")? {
        None => None,
        Some(mut a) => {
            let scheme = a.str("type")?.unwrap_or_default().trim().to_string();
            let scheme = if scheme.is_empty() {
                "Bearer".to_string()
            } else {
                scheme
            };
            if scheme.eq_ignore_ascii_case("basic") {
                return Err(invalid(
                    &a,
                    "type",
                    "authorization type cannot be Basic: use basic_auth instead",
                ));
            }
            let token_char = |c: char| c.is_ascii_alphanumeric() || "-._~+".contains(c);
            let usable_scheme = scheme.chars().all(token_char);
            let type_at = (a.at("type"), a.line_of("type"));
            let secret = written(&mut a, "credentials")?;
            report.unread(&a, "not an Alertmanager authorization setting; ignored");
            Some((scheme, usable_scheme, type_at, secret))
        }
    };
    if bearer.is_some() && (basic.is_some() || oauth2) {
        return Err(invalid(
            f,
            "bearer_token",
            "at most one of basic_auth, oauth2, bearer_token & bearer_token_file may be set",
        ));
    }
    if authorization.is_some() {
        if bearer.is_some() {
            return Err(invalid(
                f,
                "authorization",
                "authorization cannot be set with bearer_token or bearer_token_file",
            ));
        }
        if basic.is_some() || oauth2 {
            return Err(invalid(
                f,
                "authorization",
                "at most one of basic_auth, oauth2 & authorization may be set",
            ));
        }
    }
    if let Credentials::NotCarried(integration) = credentials {
        for key in [
            "authorization",
            "basic_auth",
            "bearer_token",
            "bearer_token_file",
        ] {
            if f.has(key) {
                report.note(
                    f.at(key),
                    f.line_of(key),
                    format!("Vigil's {integration} integration sends no HTTP credentials (its URL or key is the credential); not carried"),
                );
            }
        }
        return Ok(None);
    }
    if let Some(secret) = bearer {
        let (at, line) = match &secret {
            Written::Inline { path, line } => (path.clone(), *line),
            Written::File { at, line, .. } => (at.clone(), *line),
        };
        return Ok(Some(Auth::Authorization {
            scheme: "Bearer".to_string(),
            credentials: secret.credential(files, report),
            at,
            line,
        }));
    }
    if let Some((scheme, usable_scheme, (type_at, type_line), secret)) = authorization {
        let (at, line) = (f.at("authorization"), f.line_of("authorization"));
        if !usable_scheme {
            report.note(
                type_at,
                type_line,
                "Vigil's authorization type is one word (letters, digits, - . _ ~ +); this authorization is not carried",
            );
            return Ok(None);
        }
        let Some(secret) = secret else {
            report.note(
                at,
                line,
                "no credentials: Vigil sends an Authorization header only with credentials; not carried",
            );
            return Ok(None);
        };
        return Ok(Some(Auth::Authorization {
            scheme,
            credentials: secret.credential(files, report),
            at,
            line,
        }));
    }
    if let Some((username, username_file, password)) = basic {
        let (at, line) = (f.at("basic_auth"), f.line_of("basic_auth"));
        let username = username.filter(|u| !u.contains(':') && !u.chars().any(char::is_control));
        let why = match (username_file, username, password) {
            (false, Some(username), Some(password)) => {
                return Ok(Some(Auth::Basic {
                    username,
                    password: password.credential(files, report),
                    at,
                    line,
                }));
            }
            (true, _, _) => {
                "Vigil's basic_auth username is written in its configuration, not read from a file (username_file)"
            }
            (false, None, _) => {
                "Vigil's basic_auth needs a username, without `:` or control characters"
            }
            (false, Some(_), None) => "Vigil's basic_auth needs a password",
        };
        report.note(at, line, format!("{why}; not carried"));
    }
    Ok(None)
}

/// `tls_config`: returns its CA file.
pub fn tls_config(
    mut f: Fields<'_>,
    files: &Files,
    report: &mut Report,
) -> Result<Option<String>, ImportError> {
    let ca = f
        .str("ca_file")?
        .map(|path| files.absolute(&path).display().to_string());
    if f.bool("insecure_skip_verify")? == Some(true) {
        report.note(
            f.at("insecure_skip_verify"),
            f.line_of("insecure_skip_verify"),
            "Vigil always verifies certificates; give it the CA (ca_file) instead; not carried",
        );
    }
    for key in [
        "ca",
        "cert",
        "cert_file",
        "key",
        "key_file",
        "server_name",
        "min_version",
        "max_version",
    ] {
        if f.node(key).is_some() {
            report.note(
                f.at(key),
                f.line_of(key),
                "Vigil's TLS settings are the system roots plus ca_file; not carried",
            );
        }
    }
    report.unread(&f, "not an Alertmanager tls_config setting; ignored");
    Ok(ca)
}
