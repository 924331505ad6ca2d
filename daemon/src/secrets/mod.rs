//! Secrets: the vault opened with the master key, the references the
//! configuration makes to it, and the changes `vigilctl secrets` asks for.
//!
//! Values never leave this module except as [`SecretValue`]s handed to the
//! code that uses them; the log records each change without the value.

mod master;

pub use crate::config::secret_ref::{ResolveError, SecretRef, VaultFailure};
pub use master::{KeySource, MasterKeyError};

use crate::config::Config;
use master::{Found, Places};
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use vigil_store::vault::{Fingerprint, MasterKey, Vault, VaultError};
use vigil_store::{Log, SecretValue};

/// Start-up failures that a restart cannot fix (the daemon exits 78).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A master key source exists but is unusable.
    #[error("{0}")]
    Key(#[from] MasterKeyError),
    /// Secrets exist and no key was found.
    #[error(
        "encrypted secrets exist in the store but no master key was found; looked for {}. \
         Provide the key the secrets were stored under (see docs/security.md, \"Master key\")",
        .0.join(", then ")
    )]
    Missing(Vec<String>),
    /// The key does not open the keyring.
    #[error("{0}")]
    Vault(#[from] VaultError),
}

/// No master key was found, so the vault is closed.
#[derive(Debug, thiserror::Error)]
#[error(
    "no master key, so no secrets can be stored; looked for {} (see docs/security.md, \"Master key\")",
    .looked.join(", then ")
)]
pub struct NoMasterKey {
    /// Each place looked in, in order.
    pub looked: Vec<String>,
}

/// Why `vigilctl secrets rewrap` failed.
#[derive(Debug, thiserror::Error)]
pub enum RewrapError {
    /// The new key file is unusable.
    #[error("{0}")]
    Key(#[from] MasterKeyError),
    /// There is no vault to re-wrap.
    #[error("{0}")]
    NoMasterKey(#[from] NoMasterKey),
    /// The keyring could not be re-wrapped (nothing changed).
    #[error("{0}")]
    Vault(#[from] VaultError),
    /// The keyring is re-wrapped but the new key file is not in place.
    #[error(
        "the keyring is now wrapped under the new key, but moving {} to {} failed ({reason}); move it by hand before restarting",
        .staged.display(),
        .path.display()
    )]
    NotMoved {
        /// Where the new key was staged.
        staged: PathBuf,
        /// Where it belongs.
        path: PathBuf,
        /// Why the move failed.
        reason: std::io::Error,
    },
}

/// The daemon's secrets.
pub struct Secrets {
    vault: RwLock<Option<(Vault, KeySource)>>,
    places: Places,
}

/// Suffix of a new key file staged during `rewrap`.
const STAGED: &str = "next";

impl Secrets {
    /// Finds the master key and opens the vault. Fails when secrets exist
    /// and cannot be opened.
    pub fn start(config: &Config, dev: bool, log: &Log) -> Result<Secrets, StartError> {
        let places = Places {
            credentials_dir: std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from),
            key_file: config.master_key_path(),
            env_var: config.secrets.master_key_env.clone(),
            generate: dev,
        };
        finish_staged_rewrap(&places.key_file, log);
        let exist = Vault::secrets_exist(log)?;
        let found = match master::find(&places) {
            Ok(found) => found,
            // An unusable key only matters when there is something to open.
            Err(e) if exist => return Err(e.into()),
            Err(e) => {
                tracing::warn!("secrets are unavailable: {e}");
                None
            }
        };
        let vault = match found {
            Some(Found { key, source }) => {
                let vault = Vault::open(log, key, &source.to_string())?;
                let damaged = vault.check()?;
                for (name, why) in &damaged {
                    tracing::error!(secret = %name, "{why}");
                }
                tracing::info!(source = %source, "secrets vault open");
                Some((vault, source))
            }
            None if exist => return Err(StartError::Missing(places.describe())),
            None => None,
        };
        Ok(Secrets {
            vault: RwLock::new(vault),
            places,
        })
    }

    /// The vault, or why there is none.
    pub fn vault(&self) -> Result<Vault, NoMasterKey> {
        match &*self.vault.read().unwrap_or_else(|p| p.into_inner()) {
            Some((vault, _)) => Ok(vault.clone()),
            None => Err(NoMasterKey {
                looked: self.places.describe(),
            }),
        }
    }

    /// Where the master key came from.
    pub fn source(&self) -> Option<KeySource> {
        self.vault
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(_, s)| s.clone())
    }

    /// Resolves a reference (vault lookups included). Blocking.
    pub fn resolve(&self, reference: &SecretRef) -> Result<SecretValue, ResolveError> {
        reference.resolve(|name| -> Result<_, VaultFailure> { Ok(self.vault()?.get(name)?) })
    }

    /// Re-wraps the keyring under the key in `new_key_file`. When the
    /// current key is a key file, the new key replaces it, crash-safely:
    /// staged beside it first, swapped in after the keyring commits, and a
    /// start-up after a crash in between finishes the swap. Blocking.
    pub fn rewrap(&self, new_key_file: &Path) -> Result<(Fingerprint, String), RewrapError> {
        let new_key = master::read_key_file(new_key_file)?;
        let mut guard = self.vault.write().unwrap_or_else(|p| p.into_inner());
        let Some((vault, source)) = guard.as_mut() else {
            return Err(NoMasterKey {
                looked: self.places.describe(),
            }
            .into());
        };
        let staged = match source {
            KeySource::File(path) | KeySource::Generated(path) => {
                let staged = staged_path(path);
                match write_key(&staged, &new_key) {
                    Ok(()) => Some((staged, path.clone())),
                    Err(e) => {
                        // e.g. /etc is read-only to the service: the
                        // operator installs the new key instead.
                        tracing::warn!("cannot stage the new key beside {}: {e}", path.display());
                        None
                    }
                }
            }
            _ => None,
        };
        let fingerprint = vault.rewrap(new_key)?;
        let advice = match staged {
            Some((staged, path)) => {
                std::fs::rename(&staged, &path)
                    .and_then(|()| sync_parent(&path))
                    .map_err(|reason| RewrapError::NotMoved {
                        staged: staged.clone(),
                        path: path.clone(),
                        reason,
                    })?;
                *source = KeySource::File(path.clone());
                format!("the new key replaced {}", path.display())
            }
            None => format!(
                "install the new key as the {source} before vigild next starts; the old key no longer opens the keyring"
            ),
        };
        Ok((fingerprint, advice))
    }
}

fn staged_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(STAGED);
    path.with_file_name(name)
}

/// After a crash during `rewrap`: if the staged key is the one the keyring
/// is wrapped under, it becomes the key file; otherwise it is discarded.
fn finish_staged_rewrap(key_file: &Path, log: &Log) {
    let staged = staged_path(key_file);
    if !staged.exists() {
        return;
    }
    let wanted = Vault::keyring_master(log).ok().flatten();
    match master::read_key_file(&staged) {
        Ok(key) if Some(key.fingerprint()) == wanted => {
            match std::fs::rename(&staged, key_file).and_then(|()| sync_parent(key_file)) {
                Ok(()) => tracing::warn!(
                    "finished an interrupted rewrap: {} is the new master key",
                    key_file.display()
                ),
                Err(e) => tracing::error!("cannot finish an interrupted rewrap: {e}"),
            }
        }
        _ => {
            let _ = std::fs::remove_file(&staged);
            tracing::warn!(
                "discarded {} from an interrupted rewrap that never committed",
                staged.display()
            );
        }
    }
}

fn write_key(path: &Path, key: &MasterKey) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    crate::sys::files::create_private(path, master::key_file_text(key).as_bytes())
}

fn sync_parent(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) => crate::sys::files::sync_dir(dir),
        None => Ok(()),
    }
}
