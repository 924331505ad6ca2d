//! Configuration: `/etc/vigil/vigil.toml`, strict.
//!
//! Every table rejects unknown keys, and every value is checked while it is
//! parsed, so any mistake is reported as `file:line:column: message`.
//! Development mode starts from an embedded configuration (`dev.toml`).

mod collect;
mod dev;
mod forward;
mod logs;
mod notify;
mod retention;
pub mod secret_ref;
mod sources;
mod spool;
mod values;

pub use collect::{ATTRIBUTES, CollectConfig, resolved};
pub use forward::ForwardConfig;
pub use logs::{EVERY_RULE, JournalSet, LogFormat, LogSet, Reading, StartAt, StoreLines};
pub use notify::{CompiledNotify, Integration, NotifyConfig, NotifyPlace, ReceiverConfig};
pub use retention::{Period, RetentionConfig, RetentionMode, Rule, Scope};
pub use secret_ref::SecretRef;
pub use sources::{HttpConfig, SourceConfig, Verify};
pub use spool::SpoolConfig;
pub use values::{Interval, Mode};

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::Spanned;
use toml::de::{DeTable, DeValue};
use vigil_proto::{Permission, PermissionSet, Role};

/// Where the daemon looks for its configuration by default.
pub const DEFAULT_PATH: &str = "/etc/vigil/vigil.toml";

/// Most control connections the daemon serves at once: the ceiling of
/// `daemon.max_connections_per_uid`.
pub const MAX_CONNECTIONS: usize = 256;

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

    pub(crate) fn unreadable(path: &Path, e: &std::io::Error) -> ConfigError {
        ConfigError {
            path: path.display().to_string(),
            line: 0,
            column: 0,
            message: format!("cannot read: {e}"),
        }
    }
}

/// The whole configuration, checked: what the rest of the daemon takes.
/// Only [`Config::parse`] (and its callers) makes one, so every value in it
/// has passed the checks, and `[notify]` is compiled once, here.
#[derive(Debug, Clone)]
pub struct Config {
    /// Process-level settings.
    pub daemon: DaemonConfig,
    /// The event store.
    pub store: StoreConfig,
    /// Who may use the control socket, in which role.
    pub access: AccessConfig,
    /// Roles beyond the built-in `viewer`, `operator`, `auditor`, `admin`.
    pub roles: BTreeMap<String, RoleConfig>,
    /// Where the master key of the secrets vault comes from.
    pub secrets: SecretsConfig,
    /// The ingestion listener.
    pub http: HttpConfig,
    /// Webhook sources by name (`POST /v1/ingest/NAME`).
    pub sources: BTreeMap<String, Spanned<SourceConfig>>,
    /// The spool directory for scripts.
    pub spool: SpoolConfig,
    /// What vigild watches on its host (file integrity).
    pub collect: CollectConfig,
    /// Outbound notifications, as written.
    pub notify: NotifyConfig,
    /// How long events are kept.
    pub retention: RetentionConfig,
    /// Where this host's chain is forwarded (none: nowhere).
    pub forward: Option<ForwardConfig>,
    /// `[notify]` compiled when the file was loaded: what the notifier runs on.
    pub compiled_notify: Arc<CompiledNotify>,
    /// Extra redaction patterns, `kind = "regex"`, beside the built-in ones.
    pub redaction: BTreeMap<String, Spanned<String>>,
    /// Every `secret:NAME` in the file: (key path, name).
    pub references: Vec<(String, String)>,
}

/// The file as written, before the checks the types cannot make.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ConfigFile {
    daemon: DaemonConfig,
    store: StoreConfig,
    access: AccessConfig,
    roles: BTreeMap<String, RoleConfig>,
    secrets: SecretsConfig,
    http: HttpConfig,
    sources: BTreeMap<String, Spanned<SourceConfig>>,
    spool: SpoolConfig,
    collect: CollectConfig,
    notify: NotifyConfig,
    retention: RetentionConfig,
    forward: Option<ForwardConfig>,
    redaction: BTreeMap<String, Spanned<String>>,
}

/// `[secrets]`. The master key is looked for as the systemd credential
/// `vigil-master-key`, then this key file, then this environment variable.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsConfig {
    /// Key file (default `<state_dir>/master.key`); owned by the daemon's
    /// user, mode 0600 or 0400.
    pub master_key_file: Option<PathBuf>,
    /// Environment variable holding the key (allowed; `doctor` flags it).
    pub master_key_env: String,
}

impl Default for SecretsConfig {
    fn default() -> Self {
        SecretsConfig {
            master_key_file: None,
            master_key_env: "VIGIL_MASTER_KEY".into(),
        }
    }
}

/// `[daemon] max_connections_per_uid` unless set.
pub const DEFAULT_CONNECTIONS_PER_UID: usize = 32;

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
    /// Most control connections one uid other than root may hold open
    /// (idle ones included); more are refused with the reason.
    pub max_connections_per_uid: usize,
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
            max_connections_per_uid: DEFAULT_CONNECTIONS_PER_UID,
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
        let syntax = |e: toml::de::Error| {
            let offset = e.span().map_or(0, |s| s.start);
            ConfigError::at(path, text, offset, e.message().trim_end().to_string())
        };
        // Parsed once; the document keeps every key's and value's position.
        let document = DeTable::parse(text).map_err(syntax)?;
        let file = ConfigFile::deserialize(toml::de::Deserializer::from(document.clone()))
            .map_err(syntax)?;
        let places = Places {
            path,
            text,
            root: document.get_ref(),
        };
        let compiled_notify = file.check(&places)?;
        let mut references = Vec::new();
        collect_references(document.get_ref(), String::new(), &mut references);
        let ConfigFile {
            daemon,
            store,
            access,
            roles,
            secrets,
            http,
            sources,
            spool,
            collect,
            notify,
            retention,
            forward,
            redaction,
        } = file;
        Ok(Config {
            daemon,
            store,
            access,
            roles,
            secrets,
            http,
            sources,
            spool,
            collect,
            notify,
            retention,
            forward,
            compiled_notify: Arc::new(compiled_notify),
            redaction,
            references,
        })
    }

    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<(Config, Vec<u8>), ConfigError> {
        let bytes = std::fs::read(path).map_err(|e| ConfigError::unreadable(path, &e))?;
        Ok((Config::from_bytes(path, &bytes)?, bytes))
    }

    /// Checks the bytes read from `path`.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Config, ConfigError> {
        let text = std::str::from_utf8(bytes).map_err(|e| ConfigError {
            path: path.display().to_string(),
            line: 0,
            column: 0,
            message: format!("not UTF-8: {e}"),
        })?;
        Config::parse(&path.display().to_string(), text)
    }

    /// The operator's redaction patterns as (kind, regex).
    pub fn redaction_patterns(&self) -> Vec<(String, String)> {
        redaction_patterns(&self.redaction)
    }

    /// Every sensitive value written inline in the file: (where, what).
    pub fn inline_secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .sources
            .iter()
            .filter(|(_, s)| s.get_ref().secret.0.iter().any(|r| r.is_inline()))
            .map(|(name, _)| format!("sources.{name}.secret"))
            .collect();
        out.extend(self.notify.inline_secrets());
        out
    }

    /// A role by name: built in, or from `[roles]`.
    pub fn role(&self, name: &str) -> Option<Role> {
        role_in(&self.roles, name)
    }

    /// Where the verification key goes.
    pub fn verification_key_path(&self) -> PathBuf {
        self.store
            .verification_key
            .clone()
            .unwrap_or_else(|| self.daemon.state_dir.join("verification.key"))
    }

    /// The master key file.
    pub fn master_key_path(&self) -> PathBuf {
        self.secrets
            .master_key_file
            .clone()
            .unwrap_or_else(|| self.daemon.state_dir.join("master.key"))
    }

    /// The configuration keys that reference vault secret `name`.
    pub fn references_to(&self, name: &str) -> Vec<String> {
        self.references
            .iter()
            .filter(|(_, n)| n == name)
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// The spool directory.
    pub fn spool_dir(&self) -> PathBuf {
        self.spool.dir(&self.daemon.state_dir)
    }

    /// Where the store lives.
    pub fn store_dir(&self) -> PathBuf {
        self.daemon.state_dir.join("store")
    }
}

/// Where things are in the file being loaded: every position an error
/// reports comes from the parsed document's spans, never from searching the
/// text (a key can appear in a comment, a string or another table).
struct Places<'a> {
    path: &'a str,
    text: &'a str,
    root: &'a DeTable<'a>,
}

impl<'a> Places<'a> {
    fn error(&self, offset: usize, message: impl Into<String>) -> ConfigError {
        ConfigError::at(self.path, self.text, offset, message.into())
    }

    /// The key and value at `path` (`["daemon", "snapshot_every"]`).
    fn entry(&self, path: &[&str]) -> Option<(usize, &'a Spanned<DeValue<'a>>)> {
        let (last, tables) = path.split_last()?;
        let mut table: &'a DeTable<'a> = self.root;
        for name in tables {
            let (_, value) = table.iter().find(|(k, _)| k.get_ref() == name)?;
            table = value.get_ref().as_table()?;
        }
        let (key, value) = table.iter().find(|(k, _)| k.get_ref() == last)?;
        Some((key.span().start, value))
    }

    /// Where the key at `path` is written (`snapshot_every = 0` is reported
    /// at `snapshot_every`).
    fn key(&self, path: &[&str]) -> Option<usize> {
        self.entry(path).map(|(key, _)| key)
    }

    /// Where the value at `path` starts; for a table, its `[header]`.
    fn value(&self, path: &[&str]) -> Option<usize> {
        self.entry(path).map(|(_, value)| value.span().start)
    }

    /// Element `index` of the array at `path`.
    fn element(&self, path: &[&str], index: usize) -> Option<usize> {
        let (_, value) = self.entry(path)?;
        let element = value.get_ref().as_array()?.get(index)?;
        Some(element.span().start)
    }

    /// Where a `[notify]` mistake is reported.
    fn notify(&self, place: NotifyPlace) -> usize {
        let in_notify =
            |found: Option<usize>| found.or_else(|| self.value(&["notify"])).unwrap_or(0);
        match place {
            NotifyPlace::Offset(offset) => offset,
            NotifyPlace::Key(key) => in_notify(self.value(&["notify", key])),
            NotifyPlace::Allowed(index) => in_notify(
                self.element(&["notify", "allow"], index)
                    .or_else(|| self.value(&["notify", "allow"])),
            ),
        }
    }
}

/// A role by name: built in, or from `[roles]`.
fn role_in(roles: &BTreeMap<String, RoleConfig>, name: &str) -> Option<Role> {
    Role::builtin(name).or_else(|| {
        roles.get(name).map(|r| Role {
            name: name.to_string(),
            permissions: PermissionSet::of(r.permissions.iter().copied()),
        })
    })
}

impl ConfigFile {
    /// Checks what the types alone cannot: role references and names,
    /// ingestion rules, bounds; returns `[notify]` compiled.
    fn check(&self, at: &Places<'_>) -> Result<CompiledNotify, ConfigError> {
        for name in self.roles.keys() {
            if Role::BUILTIN.contains(&name.as_str()) {
                return Err(at.error(
                    at.value(&["roles", name]).unwrap_or(0),
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
            if role_in(&self.roles, role.get_ref()).is_none() {
                let mut known: Vec<String> = Role::BUILTIN.iter().map(|s| s.to_string()).collect();
                known.extend(self.roles.keys().cloned());
                return Err(at.error(
                    role.span().start,
                    format!(
                        "unknown role `{}`; known roles: {}",
                        role.get_ref(),
                        known.join(", ")
                    ),
                ));
            }
        }
        let compiled = self.check_ingestion(at)?;
        let per_uid = self.daemon.max_connections_per_uid;
        if !(1..=MAX_CONNECTIONS).contains(&per_uid) {
            return Err(at.error(
                at.key(&["daemon", "max_connections_per_uid"]).unwrap_or(0),
                format!("max_connections_per_uid must be 1 to {}", MAX_CONNECTIONS),
            ));
        }
        self.collect.check().map_err(|p| {
            let offset = match (p.offset, p.element) {
                (0, Some((list, index))) => at
                    .element(&["collect", list], index)
                    .or_else(|| at.value(&["collect"]))
                    .unwrap_or(0),
                (0, None) => at.value(&["collect"]).unwrap_or(0),
                (offset, _) => offset,
            };
            at.error(offset, p.message)
        })?;
        self.retention.check().map_err(|p| {
            let offset = match p.offset {
                0 => at
                    .key(&["retention", "truncate_at_least"])
                    .or_else(|| at.value(&["retention"]))
                    .unwrap_or(0),
                offset => offset,
            };
            at.error(offset, p.message)
        })?;
        if let Some(forward) = &self.forward {
            forward.check().map_err(|p| {
                let mut path = vec!["forward"];
                path.extend_from_slice(p.key);
                let offset = at
                    .key(&path)
                    .or_else(|| at.value(&["forward"]))
                    .unwrap_or(0);
                at.error(
                    offset,
                    format!("forward.{}: {}", p.key.join("."), p.message),
                )
            })?;
        }
        if self.daemon.snapshot_every == 0 {
            return Err(at.error(
                at.key(&["daemon", "snapshot_every"]).unwrap_or(0),
                "snapshot_every must be at least 1",
            ));
        }
        Ok(compiled)
    }

    /// Ingestion and notification rules the types cannot express.
    fn check_ingestion(&self, at: &Places<'_>) -> Result<CompiledNotify, ConfigError> {
        let http = &self.http;
        if http.tls_cert.is_some() != http.tls_key.is_some() {
            let set = if http.tls_cert.is_some() {
                "tls_cert"
            } else {
                "tls_key"
            };
            return Err(at.error(
                at.key(&["http", set]).unwrap_or(0),
                "set both tls_cert and tls_key, or neither",
            ));
        }
        if let Some(refusal) = http.refusal() {
            let offset = at
                .key(&["http", "listen"])
                .or_else(|| at.value(&["http"]))
                .unwrap_or(0);
            return Err(at.error(offset, refusal));
        }
        // Compile the operator's patterns now, so a bad one is reported at
        // its line instead of failing later at start-up.
        if let Err(vigil_ingest::redact::RedactError::BadPattern { kind, reason }) =
            vigil_ingest::redact::Redactor::new(&self.redaction_patterns())
        {
            let offset = self.redaction.get(&kind).map_or(0, |p| p.span().start);
            return Err(at.error(offset, format!("redaction.{kind}: {reason}")));
        }
        let compiled = self
            .notify
            .compile()
            .map_err(|e| at.error(at.notify(e.place), e.problem.to_string()))?;
        let spool = &self.spool.source;
        if !sources::valid_source_name(spool) || self.sources.contains_key(spool) {
            let offset = at
                .key(&["spool", "source"])
                .or_else(|| at.value(&["spool"]))
                .or_else(|| at.value(&["sources", spool]))
                .unwrap_or(0);
            return Err(at.error(
                offset,
                format!(
                    "spool.source `{spool}` must be 1 to 64 of a-z 0-9 - _ and not the name of a [sources] entry"
                ),
            ));
        }
        for (name, source) in &self.sources {
            let offset = source.span().start;
            if !sources::valid_source_name(name) {
                return Err(at.error(
                    offset,
                    format!("source name `{name}` must be 1 to 64 of a-z 0-9 - _"),
                ));
            }
            let source = source.get_ref();
            if source.driver.may_sign()
                && source.verify == Verify::Signature
                && source.secret.0.is_empty()
            {
                return Err(at.error(
                    offset,
                    format!(
                        "source `{name}` (driver {}) has no secret to verify signatures with; set secret = \"secret:NAME\", or verify = \"none\" to rely on the API key alone",
                        source.driver
                    ),
                ));
            }
        }
        Ok(compiled)
    }

    fn redaction_patterns(&self) -> Vec<(String, String)> {
        redaction_patterns(&self.redaction)
    }
}

/// Redaction patterns as (kind, regex).
fn redaction_patterns(redaction: &BTreeMap<String, Spanned<String>>) -> Vec<(String, String)> {
    redaction
        .iter()
        .map(|(k, v)| (k.clone(), v.get_ref().clone()))
        .collect()
}

/// Finds every `secret:NAME` string, wherever it is in the file.
fn collect_references(table: &DeTable<'_>, at: String, out: &mut Vec<(String, String)>) {
    for (k, v) in table.iter() {
        let key = if at.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{at}.{}", k.get_ref())
        };
        collect_value(v.get_ref(), key, out);
    }
}

fn collect_value(value: &DeValue<'_>, at: String, out: &mut Vec<(String, String)>) {
    match value {
        DeValue::String(s) => {
            if let Some(name) = s.strip_prefix("secret:") {
                out.push((at, name.to_string()));
            }
        }
        DeValue::Table(t) => collect_references(t, at, out),
        DeValue::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                collect_value(v.get_ref(), format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
