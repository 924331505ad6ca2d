//! `vigilctl secrets …`: changes go to the vault first (durably), then the
//! log records who did what, without the value.

use super::conn::{Conn, Fail, Served, blocking_with, refuse};
use super::listing::Page;
use std::path::PathBuf;
use vigil_proto::{Answer, ErrorCode, Response, SecretListing, SecretsRequest, WireSecret};
use vigil_store::{Event, SecretAction, SecretChange, now_micros};

fn vault_error(e: vigil_store::vault::VaultError) -> Fail {
    use vigil_store::vault::VaultError as V;
    let code = match e {
        V::InvalidName(_) | V::InvalidValue(_) => ErrorCode::BadRequest,
        V::NotFound(_) => ErrorCode::NotFound,
        _ => ErrorCode::Unavailable,
    };
    refuse(code, e.to_string())
}

impl Conn<'_> {
    /// Serves the secrets family.
    pub(super) async fn serve_secrets(&mut self, request: SecretsRequest) -> Served {
        match request {
            SecretsRequest::Set { name, value } => self.secrets_set(name, value).await,
            SecretsRequest::List { limit } => self.secrets_list(limit).await,
            SecretsRequest::Delete { name, force } => self.secrets_delete(name, force).await,
            SecretsRequest::Rotate => self.secrets_rotate().await,
            SecretsRequest::Rewrap { new_key_file } => self.secrets_rewrap(new_key_file).await,
        }
    }

    fn vault(&self) -> Result<vigil_store::vault::Vault, Fail> {
        self.shared
            .secrets
            .vault()
            .map_err(|m| refuse(ErrorCode::Unavailable, m.to_string()))
    }

    /// Records the change with the allow decision for it.
    async fn record_secret(
        &mut self,
        request: &str,
        name: &str,
        action: SecretAction,
        key_id: Option<u32>,
        answer: Response,
    ) -> Served {
        let event = Event::Secret(SecretChange {
            name: name.to_string(),
            action,
            key_id,
            actor: self.caller.actor(),
        });
        let admitted = self.admit(event);
        self.record(request, admitted).await?;
        self.send(&answer).await
    }

    pub(super) async fn secrets_set(&mut self, name: String, value: WireSecret) -> Served {
        let vault = self.vault()?;
        let value = value.into_secret();
        let key_name = name.clone();
        let key_id = blocking_with(move || vault.set(&key_name, &value, now_micros()))
            .await?
            .map_err(vault_error)?;
        let message = format!("secret {name} stored (data key {key_id})");
        self.record_secret(
            "secrets.set",
            &name,
            SecretAction::Set,
            Some(key_id),
            Answer::secrets_set(message),
        )
        .await
    }

    pub(super) async fn secrets_list(&mut self, limit: Option<u64>) -> Served {
        let config = self.shared.config();
        let master_key = self.shared.secrets.source().map(|s| s.to_string());
        self.send(&Answer::secrets_source(master_key)).await?;
        // No vault (no master key): nothing to list.
        let vault = self.shared.secrets.vault().ok();
        let fetch = move |after: Option<String>, max: usize| {
            let vault = vault.clone();
            let config = config.clone();
            async move {
                let Some(vault) = vault else {
                    return Ok(Page {
                        items: Vec::new(),
                        last: None,
                        matching: None,
                    });
                };
                let page = blocking_with(move || vault.list_page(after.as_deref(), max))
                    .await?
                    .map_err(vault_error)?;
                let items: Vec<SecretListing> = page
                    .into_iter()
                    .map(|s| SecretListing {
                        used_by: config.references_to(&s.name),
                        name: s.name,
                        key_id: s.key_id,
                        created: s.created,
                        updated: s.updated,
                    })
                    .collect();
                Ok(Page {
                    last: items.last().map(|s: &SecretListing| s.name.clone()),
                    items,
                    matching: None,
                })
            }
        };
        let end = self
            .stream_pages(limit, fetch, Answer::secrets_list, |s| {
                format!("secret {}", s.name)
            })
            .await?;
        self.end_listing(end).await
    }

    pub(super) async fn secrets_delete(&mut self, name: String, force: bool) -> Served {
        let used_by = self.shared.config().references_to(&name);
        if !used_by.is_empty() && !force {
            return Err(refuse(
                ErrorCode::BadRequest,
                format!(
                    "secret {name} is referenced by {}; change the configuration first, or pass --force",
                    used_by.join(", ")
                ),
            ));
        }
        let vault = self.vault()?;
        let key_name = name.clone();
        let existed = blocking_with(move || vault.delete(&key_name))
            .await?
            .map_err(vault_error)?;
        if !existed {
            return Err(refuse(
                ErrorCode::NotFound,
                format!("no secret named {name}; `vigilctl secrets list` shows them"),
            ));
        }
        let message = if used_by.is_empty() {
            format!("secret {name} deleted")
        } else {
            format!(
                "secret {name} deleted although {} still reference it",
                used_by.join(", ")
            )
        };
        self.record_secret(
            "secrets.delete",
            &name,
            SecretAction::Deleted,
            None,
            Answer::secrets_delete(message),
        )
        .await
    }

    pub(super) async fn secrets_rotate(&mut self) -> Served {
        let vault = self.vault()?;
        let rotation = blocking_with(move || vault.rotate(now_micros()))
            .await?
            .map_err(vault_error)?;
        if rotation.key_id == 0 {
            return self
                .send(&Answer::secrets_rotate(
                    "no secrets yet; nothing to rotate".into(),
                ))
                .await;
        }
        let retired: Vec<String> = rotation.retired.iter().map(u32::to_string).collect();
        let message = format!(
            "data key {} is active; {} secret(s) re-encrypted; retired data key(s) {}",
            rotation.key_id,
            rotation.reencrypted,
            retired.join(", ")
        );
        self.record_secret(
            "secrets.rotate",
            "",
            SecretAction::Rotated,
            Some(rotation.key_id),
            Answer::secrets_rotate(message),
        )
        .await
    }

    pub(super) async fn secrets_rewrap(&mut self, new_key_file: PathBuf) -> Served {
        self.vault()?;
        let shared = self.shared.clone();
        let (fingerprint, advice) = blocking_with(move || shared.secrets.rewrap(&new_key_file))
            .await?
            .map_err(|m| refuse(ErrorCode::BadRequest, m.to_string()))?;
        let message = format!("keyring re-wrapped under master key {fingerprint}; {advice}");
        self.record_secret(
            "secrets.rewrap",
            "",
            SecretAction::Rewrapped,
            None,
            Answer::secrets_rewrap(message),
        )
        .await
    }
}
