//! Development mode's configuration: the embedded `dev.toml`, with its
//! state directory made absolute (so what the banner prints works from any
//! directory), the control socket and verification key inside it, an
//! optional ingestion address, and the user who started the daemon as admin.

use super::{Config, ConfigError, DEV_TOML};
use std::net::SocketAddr;
use std::path::{Component, Path};
use toml::Spanned;

/// Where `dev.toml`'s configuration says it comes from.
const DEV_LABEL: &str = "<embedded dev.toml>";

impl Config {
    /// The development configuration: `state_dir` overrides `./vigil-data`,
    /// `listen` the ingestion address (checked by the same rule as a
    /// file's), and `admin` is the user given the admin role.
    pub fn dev(
        state_dir: Option<&Path>,
        listen: Option<SocketAddr>,
        admin: String,
    ) -> Result<Config, ConfigError> {
        let mut config = Config::parse(DEV_LABEL, DEV_TOML)?;
        if let Some(dir) = state_dir {
            config.daemon.state_dir = dir.to_path_buf();
        }
        if let Ok(cwd) = std::env::current_dir() {
            config.daemon.state_dir = cwd
                .join(&config.daemon.state_dir)
                .components()
                .filter(|c| !matches!(c, Component::CurDir))
                .collect();
        }
        config.daemon.socket = config.daemon.state_dir.join("control.sock");
        if let Some(listen) = listen {
            config.http.listen = listen;
            // Development mode has no TLS: the rule for a plain listener.
            if let Some(refusal) = config.http.refusal() {
                return Err(ConfigError {
                    path: "--listen".into(),
                    line: 0,
                    column: 0,
                    message: refusal,
                });
            }
        }
        config.store.verification_key = Some(config.daemon.state_dir.join("verification.key"));
        config
            .access
            .users
            .insert(admin, Spanned::new(0..0, "admin".to_string()));
        Ok(config)
    }
}
