//! `http_config` and `tls_config`, which Vigil mostly does not have: its
//! client verifies certificates (a `ca_file` may add roots), follows no
//! redirect, uses no proxy and sends no credentials of its own (webhooks
//! are signed instead). What can be carried is the CA file; every other
//! setting is reported, never quoted.

use super::error::ImportError;
use super::report::Report;
use super::yaml::Fields;
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

/// `http_config` at `f` (if written): returns its CA file and reports the
/// rest.
pub fn http_config(
    f: Option<Fields<'_>>,
    files: &Files,
    report: &mut Report,
) -> Result<Option<String>, ImportError> {
    let Some(mut f) = f else { return Ok(None) };
    let mut ca = None;
    for key in [
        "authorization",
        "basic_auth",
        "bearer_token",
        "bearer_token_file",
        "oauth2",
    ] {
        if f.node(key).is_some() {
            report.note(
                f.at(key),
                f.line_of(key),
                "Vigil's HTTP client sends no credentials of its own (webhooks are signed with their `secret` instead); not carried",
            );
        }
    }
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
        ca = tls_config(tls, files, report)?;
    }
    report.unread(&f, "not an Alertmanager http_config setting; ignored");
    Ok(ca)
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
