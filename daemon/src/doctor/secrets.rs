//! Doctor checks about secrets and ingestion: where the master key comes
//! from, inline values, sources that skip signatures, plaintext listeners.

use super::finding;
use crate::secrets::KeySource;
use crate::state::Shared;
use vigil_proto::{Finding, FindingSeverity as Sev};

/// Master key source and the vault's health.
pub fn master_key(shared: &Shared, out: &mut Vec<Finding>) {
    let state_dir = &shared.config().daemon.state_dir;
    let (severity, message, fix) = match shared.secrets.source() {
        None => (
            Sev::Info,
            "no master key: secrets cannot be stored".to_string(),
            "add LoadCredentialEncrypted=vigil-master-key to the unit (see docs/security.md)",
        ),
        Some(KeySource::Env(var)) => (
            Sev::Warning,
            format!(
                "the master key comes from the environment variable {var}, which child processes and /proc/PID/environ can expose"
            ),
            "use a systemd credential (LoadCredentialEncrypted=vigil-master-key) or a 0600 key file",
        ),
        Some(KeySource::File(p) | KeySource::Generated(p)) if p.starts_with(state_dir) => (
            Sev::Warning,
            format!(
                "the master key file {} sits in the state directory: a copy of that directory holds both the keyring and the key that opens it",
                p.display()
            ),
            "seal the key with systemd-creds (LoadCredentialEncrypted=vigil-master-key) or keep it outside the state directory",
        ),
        Some(source) => (Sev::Ok, format!("master key from the {source}"), ""),
    };
    out.push(finding("master-key", severity, message, fix));
    if let Ok(vault) = shared.secrets.vault() {
        match vault.check() {
            Ok(bad) if bad.is_empty() => {}
            Ok(bad) => {
                for (name, why) in bad {
                    out.push(finding(
                        "secrets",
                        Sev::Error,
                        format!("secret {name}: {why}"),
                        "set it again with `vigilctl secrets set`",
                    ));
                }
            }
            Err(e) => out.push(finding("secrets", Sev::Error, e.to_string(), "")),
        }
    }
}

/// Sources: inline secrets, unverified sources, unresolvable references.
pub fn sources(shared: &Shared, out: &mut Vec<Finding>) {
    let config = shared.config();
    for key in config.inline_secrets() {
        out.push(finding(
            "inline-secret",
            Sev::Warning,
            format!("{key} holds its value inline in the configuration file"),
            "store it with `vigilctl secrets set NAME` and write secret:NAME instead",
        ));
    }
    for (name, source) in &config.sources {
        let source = source.get_ref();
        if source.verify == crate::config::Verify::None && source.driver.may_sign() {
            out.push(finding(
                "unverified-source",
                Sev::Warning,
                format!(
                    "source {name} (driver {}) does not verify signatures: anyone with an API key for it can forge deliveries",
                    source.driver
                ),
                "configure the sender's signing secret and remove verify = \"none\"",
            ));
        }
        if source.tolerance.0 > std::time::Duration::from_secs(15 * 60) {
            out.push(finding(
                "replay-window",
                Sev::Warning,
                format!(
                    "source {name} accepts signed deliveries up to {} old: a captured delivery can be replayed for that long",
                    humantime::format_duration(source.tolerance.0)
                ),
                "keep tolerance at 5m unless the sender's clock is known to drift",
            ));
        }
        if source.store_raw {
            out.push(finding(
                "raw-payloads",
                Sev::Info,
                format!("source {name} stores raw (redacted) payloads"),
                "set store_raw = false unless you need them",
            ));
        }
        for reference in &source.secret.0 {
            if let Err(e) = shared.secrets.resolve(reference) {
                out.push(finding(
                    "source-secret",
                    Sev::Error,
                    format!("source {name}: {e}"),
                    "fix the reference; deliveries to this source are refused until then",
                ));
            }
        }
    }
    let http = &config.http;
    if http.plaintext_exposed() {
        out.push(finding(
            "http-plaintext",
            Sev::Error,
            format!(
                "the ingestion listener {} is reachable from the network without TLS: API keys and payloads cross it in the clear",
                http.listen
            ),
            "configure [http] tls_cert and tls_key, or bind to 127.0.0.1",
        ));
    }
}
