//! Finding the master key that wraps the vault's keyring.
//!
//! Sources, in order of preference: the systemd credential
//! `$CREDENTIALS_DIRECTORY/vigil-master-key` (which `LoadCredentialEncrypted=`
//! can seal to the TPM), a key file owned by the daemon's user with mode
//! 0600 or 0400, an environment variable. Development mode generates a key
//! file in the state directory when none of these exists.

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use vigil_store::vault::MasterKey;

/// Name of the systemd credential.
pub const CREDENTIAL: &str = "vigil-master-key";

/// Where the master key came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// A systemd credential.
    Credential(PathBuf),
    /// A key file.
    File(PathBuf),
    /// An environment variable.
    Env(String),
    /// A key file generated for development mode.
    Generated(PathBuf),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Credential(p) => {
                write!(f, "systemd credential {CREDENTIAL} ({})", p.display())
            }
            KeySource::File(p) => write!(f, "key file {}", p.display()),
            KeySource::Env(v) => write!(f, "environment variable {v}"),
            KeySource::Generated(p) => {
                write!(
                    f,
                    "key file {} (generated for development mode)",
                    p.display()
                )
            }
        }
    }
}

/// A master key and where it came from.
pub struct Found {
    /// The key.
    pub key: MasterKey,
    /// Its source.
    pub source: KeySource,
}

/// Why no usable master key was found.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    /// A source exists but may not be used.
    #[error("master key from {place} refused: {reason}")]
    Refused {
        /// The source.
        place: String,
        /// Why.
        reason: String,
    },
}

/// Where to look.
pub struct Places {
    /// `$CREDENTIALS_DIRECTORY`, if set.
    pub credentials_dir: Option<PathBuf>,
    /// The key file.
    pub key_file: PathBuf,
    /// The environment variable's name.
    pub env_var: String,
    /// Generate `key_file` if nothing exists (development mode).
    pub generate: bool,
}

impl Places {
    /// Each place, described, in the order they are tried.
    pub fn describe(&self) -> Vec<String> {
        let mut out = vec![match &self.credentials_dir {
            Some(dir) => format!("the systemd credential {}", dir.join(CREDENTIAL).display()),
            None => format!(
                "the systemd credential {CREDENTIAL} ($CREDENTIALS_DIRECTORY is not set: add LoadCredentialEncrypted={CREDENTIAL} to the unit)"
            ),
        }];
        out.push(format!("the key file {}", self.key_file.display()));
        out.push(format!("the environment variable {}", self.env_var));
        out
    }
}

/// Finds the master key; `Ok(None)` when no source exists (and none may be
/// generated).
pub fn find(places: &Places) -> Result<Option<Found>, MasterKeyError> {
    if let Some(dir) = &places.credentials_dir {
        let path = dir.join(CREDENTIAL);
        if path.exists() {
            // systemd owns the credential's permissions.
            let bytes =
                zeroize::Zeroizing::new(std::fs::read(&path).map_err(|e| refused(&path, e))?);
            let key = MasterKey::parse(&bytes).map_err(|reason| MasterKeyError::Refused {
                place: format!("credential {}", path.display()),
                reason: reason.to_string(),
            })?;
            return Ok(Some(Found {
                key,
                source: KeySource::Credential(path),
            }));
        }
    }
    if places.key_file.exists() {
        let key = read_key_file(&places.key_file)?;
        return Ok(Some(Found {
            key,
            source: KeySource::File(places.key_file.clone()),
        }));
    }
    if let Some(value) = std::env::var_os(&places.env_var) {
        let bytes = zeroize::Zeroizing::new(value.into_encoded_bytes());
        let key = MasterKey::parse(&bytes).map_err(|reason| MasterKeyError::Refused {
            place: format!("environment variable {}", places.env_var),
            reason: reason.to_string(),
        })?;
        return Ok(Some(Found {
            key,
            source: KeySource::Env(places.env_var.clone()),
        }));
    }
    if places.generate {
        let key = generate(&places.key_file)?;
        return Ok(Some(Found {
            key,
            source: KeySource::Generated(places.key_file.clone()),
        }));
    }
    Ok(None)
}

fn refused(path: &Path, e: impl fmt::Display) -> MasterKeyError {
    MasterKeyError::Refused {
        place: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Reads a key file after checking that only the daemon's user can read it.
pub fn read_key_file(path: &Path) -> Result<MasterKey, MasterKeyError> {
    let meta = std::fs::metadata(path).map_err(|e| refused(path, e))?;
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return Err(refused(
            path,
            format!(
                "it is owned by uid {}, not by the daemon's user (uid {me}); chown it",
                meta.uid()
            ),
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o177 != 0 {
        return Err(refused(
            path,
            format!("its mode is {mode:04o}; others could read it; chmod 0600 (or 0400)"),
        ));
    }
    let bytes = zeroize::Zeroizing::new(std::fs::read(path).map_err(|e| refused(path, e))?);
    MasterKey::parse(&bytes).map_err(|reason| refused(path, reason))
}

/// Writes a new key file (0600, fsync'd); refuses to overwrite.
/// A key file's contents: the key in hex and a newline, zeroized on drop.
pub(super) fn key_file_text(key: &MasterKey) -> zeroize::Zeroizing<String> {
    let mut text = key.to_hex();
    text.push('\n');
    text
}

fn generate(path: &Path) -> Result<MasterKey, MasterKeyError> {
    let key = MasterKey::generate().map_err(|e| refused(path, e))?;
    crate::sys::files::create_private(path, key_file_text(&key).as_bytes())
        .map_err(|e| refused(path, e))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn places(dir: &Path) -> Places {
        Places {
            credentials_dir: None,
            key_file: dir.join("master.key"),
            env_var: "VIGIL_TEST_MASTER_KEY_SURELY_UNSET".into(),
            generate: false,
        }
    }

    #[test]
    fn nothing_found_names_every_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = places(dir.path());
        assert!(find(&p).unwrap().is_none());
        let looked = p.describe().join(" ");
        assert!(looked.contains("vigil-master-key"), "{looked}");
        assert!(looked.contains("master.key"), "{looked}");
        assert!(
            looked.contains("VIGIL_TEST_MASTER_KEY_SURELY_UNSET"),
            "{looked}"
        );
    }

    #[test]
    fn a_key_file_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = places(dir.path());
        std::fs::write(&p.key_file, "ab".repeat(32)).unwrap();
        std::fs::set_permissions(&p.key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = find(&p).err().unwrap().to_string();
        assert!(err.contains("0644") && err.contains("chmod 0600"), "{err}");
        assert!(!err.contains("abab"), "{err}");
        std::fs::set_permissions(&p.key_file, std::fs::Permissions::from_mode(0o400)).unwrap();
        let found = find(&p).unwrap().unwrap();
        assert_eq!(found.source, KeySource::File(p.key_file.clone()));
    }

    #[test]
    fn the_credential_wins_over_the_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("creds");
        std::fs::create_dir(&creds).unwrap();
        std::fs::write(creds.join(CREDENTIAL), [7u8; 32]).unwrap();
        let mut p = places(dir.path());
        p.credentials_dir = Some(creds.clone());
        std::fs::write(&p.key_file, "ab".repeat(32)).unwrap();
        let found = find(&p).unwrap().unwrap();
        assert_eq!(found.source, KeySource::Credential(creds.join(CREDENTIAL)));
        assert_eq!(
            found.key.fingerprint(),
            MasterKey::parse(&[7u8; 32]).unwrap().fingerprint()
        );
    }

    #[test]
    fn development_mode_generates_a_private_key_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = places(dir.path());
        p.generate = true;
        let first = find(&p).unwrap().unwrap();
        assert!(matches!(first.source, KeySource::Generated(_)));
        let mode = std::fs::metadata(&p.key_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = find(&p).unwrap().unwrap();
        assert_eq!(again.source, KeySource::File(p.key_file.clone()));
        assert_eq!(first.key.fingerprint(), again.key.fingerprint());
    }
}
