//! Configuration: `/etc/vigil/vigil.toml`, strict.
//!
//! Every table rejects unknown keys, and every value is checked while it is
//! parsed, so any mistake is reported as `file:line:column: message`.
//! Development mode starts from an embedded configuration (`dev.toml`).

mod values;

pub use values::{Interval, Mode};

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;
use vigilctl::{Permission, PermissionSet, Role};

/// Where the daemon looks for its configuration by default.
pub const DEFAULT_PATH: &str = "/etc/vigil/vigil.toml";

/// The embedded development configuration.
pub const DEV_TOML: &str = include_str!("dev.toml");

/// A configuration that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct ConfigError {
    /// The file (or `<embedded>`).
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    fn at(path: &str, source: &str, offset: usize, message: String) -> ConfigError {
        let before = &source[..offset.min(source.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ConfigError {
            path: path.to_string(),
            line,
            column,
            message,
        }
    }

    fn unreadable(path: &Path, e: &std::io::Error) -> ConfigError {
        ConfigError {
            path: path.display().to_string(),
            line: 0,
            column: 0,
            message: format!("cannot read: {e}"),
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Process-level settings.
    pub daemon: DaemonConfig,
    /// The event store.
    pub store: StoreConfig,
    /// Who may use the control socket, in which role.
    pub access: AccessConfig,
    /// Roles beyond the built-in `viewer`, `operator`, `auditor`, `admin`.
    pub roles: BTreeMap<String, RoleConfig>,
}

/// `[daemon]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonConfig {
    /// All persistent state lives here.
    pub state_dir: PathBuf,
    /// The control socket (when not socket-activated).
    pub socket: PathBuf,
    /// Its permission bits.
    pub socket_mode: Mode,
    /// Its group, when not the daemon's own primary group (changing it needs
    /// privileges; under systemd the socket unit sets it instead).
    pub socket_group: Option<String>,
    /// How often the sealing key moves to the next epoch.
    pub epoch_interval: Interval,
    /// Events between view snapshots.
    pub snapshot_every: u64,
    /// Log filter (`info`, `debug`, `vigild=debug,info`, ...).
    pub log_level: String,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            state_dir: PathBuf::from("/var/lib/vigil"),
            socket: PathBuf::from("/run/vigil/control.sock"),
            socket_mode: Mode(0o660),
            socket_group: None,
            epoch_interval: Interval(std::time::Duration::from_secs(15 * 60)),
            snapshot_every: 100_000,
            log_level: "info".into(),
        }
    }
}

/// `[store]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Where `K(0)` is written when the store is created (default:
    /// `<state_dir>/verification.key`). Move it off the host afterwards.
    pub verification_key: Option<PathBuf>,
}

/// `[access]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessConfig {
    /// Root may always connect as admin (logged as break-glass every time).
    pub break_glass_root: bool,
    /// Members of this group may always connect as admin (logged as break-glass).
    pub emergency_group: Option<String>,
    /// User name (or numeric uid) → role.
    pub users: BTreeMap<String, Spanned<String>>,
    /// Group name (or numeric gid) → role; supplementary groups count.
    pub groups: BTreeMap<String, Spanned<String>>,
}

impl Default for AccessConfig {
    fn default() -> Self {
        AccessConfig {
            break_glass_root: true,
            emergency_group: None,
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
        }
    }
}

/// `[roles.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    /// Permissions, `area.read` or `area.write`.
    pub permissions: Vec<Permission>,
}

impl Config {
    /// Parses and checks configuration text; `path` is only used in errors.
    pub fn parse(path: &str, text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            ConfigError::at(path, text, offset, e.message().trim_end().to_string())
        })?;
        config.check(path, text)?;
        Ok(config)
    }

    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<(Config, Vec<u8>), ConfigError> {
        let bytes = std::fs::read(path).map_err(|e| ConfigError::unreadable(path, &e))?;
        let text = String::from_utf8(bytes.clone()).map_err(|e| ConfigError {
            path: path.display().to_string(),
            line: 0,
            column: 0,
            message: format!("not UTF-8: {e}"),
        })?;
        Ok((Config::parse(&path.display().to_string(), &text)?, bytes))
    }

    /// Checks what the types alone cannot: role references and names.
    fn check(&self, path: &str, text: &str) -> Result<(), ConfigError> {
        for name in self.roles.keys() {
            if Role::BUILTIN.contains(&name.as_str()) {
                let offset = text.find(&format!("[roles.{name}]")).unwrap_or(0);
                return Err(ConfigError::at(
                    path,
                    text,
                    offset,
                    format!("role `{name}` is built in and cannot be redefined"),
                ));
            }
        }
        for role in self
            .access
            .users
            .values()
            .chain(self.access.groups.values())
        {
            if self.role(role.get_ref()).is_none() {
                let mut known: Vec<String> = Role::BUILTIN.iter().map(|s| s.to_string()).collect();
                known.extend(self.roles.keys().cloned());
                return Err(ConfigError::at(
                    path,
                    text,
                    role.span().start,
                    format!(
                        "unknown role `{}`; known roles: {}",
                        role.get_ref(),
                        known.join(", ")
                    ),
                ));
            }
        }
        if self.daemon.snapshot_every == 0 {
            let offset = text.find("snapshot_every").unwrap_or(0);
            return Err(ConfigError::at(
                path,
                text,
                offset,
                "snapshot_every must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// A role by name: built in, or from `[roles]`.
    pub fn role(&self, name: &str) -> Option<Role> {
        Role::builtin(name).or_else(|| {
            self.roles.get(name).map(|r| Role {
                name: name.to_string(),
                permissions: PermissionSet::of(r.permissions.iter().copied()),
            })
        })
    }

    /// Where the verification key goes.
    pub fn verification_key_path(&self) -> PathBuf {
        self.store
            .verification_key
            .clone()
            .unwrap_or_else(|| self.daemon.state_dir.join("verification.key"))
    }

    /// Where the store lives.
    pub fn store_dir(&self) -> PathBuf {
        self.daemon.state_dir.join("store")
    }
}

#[cfg(test)]
mod tests;
