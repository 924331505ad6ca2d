//! The keys family: create, list, revoke.

use super::conn::{Conn, MAX_TEXT, Served, refuse, stored_within, view_of};
use super::listing::Page;
use std::ops::Bound;
use vigil_proto::{Answer, ErrorCode, KeyListing, KeysRequest, WireSecret};
use vigil_store::{ApiKeyChange, Event, Hash, KeyScope, now_micros};
use vigil_views::ApiKey;

fn listing(k: &ApiKey) -> KeyListing {
    KeyListing {
        id: k.id.clone(),
        name: k.name.clone(),
        prefix: k.prefix.clone(),
        sources: k.sources.clone(),
        scopes: k.scopes.clone(),
        created: k.created,
        created_by: k.created_by.clone(),
        expires_at: k.expires_at,
        revoked_at: k.revoked_at,
        last_used: k.last_used,
    }
}

/// The scopes as recorded: sorted, each once; none asked means `ingest`,
/// what every key could do before scopes.
fn scope_names(mut scopes: Vec<KeyScope>) -> Vec<String> {
    if scopes.is_empty() {
        scopes.push(KeyScope::Ingest);
    }
    scopes.sort();
    scopes.dedup();
    scopes.iter().map(|s| s.name().to_string()).collect()
}

impl Conn<'_> {
    /// Serves the keys family.
    pub(super) async fn serve_keys(&mut self, request: KeysRequest) -> Served {
        match request {
            KeysRequest::Create {
                name,
                sources,
                scopes,
                expires_in_secs,
            } => {
                self.keys_create(name, sources, scopes, expires_in_secs)
                    .await
            }
            KeysRequest::List { limit } => self.keys_list(limit).await,
            KeysRequest::Revoke { id } => self.keys_revoke(id).await,
        }
    }

    pub(super) async fn keys_create(
        &mut self,
        name: String,
        sources: Vec<String>,
        scopes: Vec<KeyScope>,
        expires_in_secs: Option<u64>,
    ) -> Served {
        if name.trim().is_empty() || name.len() > MAX_TEXT {
            return Err(refuse(
                ErrorCode::BadRequest,
                "--name must be 1 to 1024 characters",
            ));
        }
        let config = self.shared.config();
        if let Some(unknown) = sources.iter().find(|s| !config.sources.contains_key(*s)) {
            let known: Vec<&str> = config.sources.keys().map(String::as_str).collect();
            return Err(refuse(
                ErrorCode::BadRequest,
                format!(
                    "no source named {unknown}; configured sources: {}",
                    if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
        // Alertmanager's reads and silences span every source: a key held
        // to some sources must not see or mute the others'.
        if !sources.is_empty() && scopes.iter().any(|s| *s != KeyScope::Ingest) {
            return Err(refuse(
                ErrorCode::BadRequest,
                "--scope alerts.read and silences.write cover every source (alerts and silences \
                 are not per source); create such a key without --source",
            ));
        }
        let now = now_micros();
        let expires_at = match expires_in_secs {
            Some(secs) => Some(
                i64::try_from(secs)
                    .ok()
                    .and_then(|s| s.checked_mul(1_000_000))
                    .and_then(|d| now.checked_add(d))
                    .ok_or_else(|| refuse(ErrorCode::BadRequest, "--expires is too far away"))?,
            ),
            None => None,
        };
        let existing = self
            .view(|v| v.keys.keys.keys().cloned().collect::<Vec<_>>())
            .await?;
        let (id, raw) = crate::intake::http::mint_key(|id| existing.iter().any(|e| e == id))
            .map_err(|e| {
                refuse(
                    ErrorCode::Internal,
                    format!("the OS random generator failed: {e}"),
                )
            })?;
        let prefix = format!("vgl_{id}");
        let event = Event::ApiKey(ApiKeyChange::CreatedWithScopes {
            id: id.clone(),
            name,
            prefix,
            digest: Hash::sha256(raw.as_bytes()),
            sources,
            scopes: scope_names(scopes),
            expires_at,
            actor: self.caller.actor(),
        });
        let admitted = self.admit(event);
        if let Event::ApiKey(ApiKeyChange::CreatedWithScopes { name, .. }) = &admitted.event {
            stored_within("--name", name, MAX_TEXT)?;
        }
        self.record("keys.create", admitted).await?;
        self.shared.refresh_keys().await;
        let keys = self.shared.keys();
        let key = keys
            .get(&id)
            .map(listing)
            .ok_or_else(|| refuse(ErrorCode::Internal, "the new key is not in the key view"))?;
        self.send(&Answer::keys_create((key, WireSecret::new(raw))))
            .await
    }

    pub(super) async fn keys_list(&mut self, limit: Option<u64>) -> Served {
        let shared = self.shared.clone();
        let fetch = move |after: Option<String>, max: usize| {
            let shared = shared.clone();
            async move {
                let (items, matching) = view_of(&shared, move |v| {
                    let keys = &v.keys.keys;
                    let from = after.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
                    let items: Vec<KeyListing> = keys
                        .range::<String, _>((from, Bound::Unbounded))
                        .take(max)
                        .map(|(_, k)| listing(k))
                        .collect();
                    (items, keys.len() as u64)
                })
                .await?;
                Ok(Page {
                    last: items.last().map(|k: &KeyListing| k.id.clone()),
                    items,
                    matching: Some(matching),
                })
            }
        };
        let end = self
            .stream_pages(limit, fetch, Answer::keys_list, |k| {
                format!("API key {}", k.id)
            })
            .await?;
        self.end_listing(end).await
    }

    pub(super) async fn keys_revoke(&mut self, id: String) -> Served {
        let id = id.strip_prefix("vgl_").unwrap_or(&id).to_string();
        let key = self.shared.keys().get(&id).cloned();
        let Some(key) = key else {
            return Err(refuse(
                ErrorCode::NotFound,
                format!("no API key {id}; `vigilctl keys list` shows them"),
            ));
        };
        if key.revoked_at.is_some() {
            return Err(refuse(
                ErrorCode::BadRequest,
                format!("API key {id} is already revoked"),
            ));
        }
        let event = Event::ApiKey(ApiKeyChange::Revoked {
            id: id.clone(),
            actor: self.caller.actor(),
        });
        let admitted = self.admit(event);
        self.record("keys.revoke", admitted).await?;
        self.shared.refresh_keys().await;
        self.send(&Answer::keys_revoke(format!(
            "API key {} ({}) revoked",
            key.prefix, key.name
        )))
        .await
    }
}
