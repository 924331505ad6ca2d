//! The API key view: every key ever created, its scopes, expiry,
//! revocation, and when it was last used (from the deliveries it made).
//! Only digests are here; a raw key exists once, in `keys create`'s answer.

use crate::View;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vigil_store::{Actor, ApiKeyChange, Event, Hash, KeyScope, Seal};

/// One API key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Id (also in the key's text, after `vgl_`).
    pub id: String,
    /// Human name.
    pub name: String,
    /// Display prefix.
    pub prefix: String,
    /// SHA-256 of the whole key.
    pub digest: Hash,
    /// Sources it may post to (empty: all).
    pub sources: Vec<String>,
    /// What it may do, as recorded (see [`KeyScope`]).
    pub scopes: Vec<String>,
    /// Created (entry time, micros).
    pub created: i64,
    /// Who created it.
    pub created_by: String,
    /// Expiry (micros), if any.
    pub expires_at: Option<i64>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<i64>,
    /// Last accepted delivery, or silence change, made with it (reads
    /// leave no event, so they do not count).
    pub last_used: Option<i64>,
    /// Seq of the event that created it.
    pub seq: u64,
}

impl ApiKey {
    /// Whether it may be used at `now` (micros).
    pub fn usable(&self, now: i64) -> Result<(), &'static str> {
        if self.revoked_at.is_some() {
            return Err("revoked");
        }
        if self.expires_at.is_some_and(|t| t <= now) {
            return Err("expired");
        }
        Ok(())
    }

    /// Whether it may post to `source`.
    pub fn allows(&self, source: &str) -> bool {
        self.sources.is_empty() || self.sources.iter().any(|s| s == source)
    }

    /// Whether it was given `scope`.
    pub fn has_scope(&self, scope: KeyScope) -> bool {
        self.scopes.iter().any(|s| s == scope.name())
    }
}

/// Every API key, by id.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeysView {
    /// By id.
    pub keys: BTreeMap<String, ApiKey>,
    /// Bumped on every creation or revocation (not on use): tells when the
    /// daemon's published key table is stale. Per process, not persisted.
    #[serde(skip)]
    generation: Generation,
}

/// A per-process change counter: not part of what a view *is*, so two
/// views with the same keys are equal whatever their counters say.
#[derive(Clone, Copy, Debug, Default)]
struct Generation(u64);

impl PartialEq for Generation {
    fn eq(&self, _: &Generation) -> bool {
        true
    }
}

impl KeysView {
    /// Changes to the set of keys seen by this process.
    pub fn generation(&self) -> u64 {
        self.generation.0
    }
}

/// The fields both creation events carry.
struct Created<'e> {
    id: &'e String,
    name: &'e String,
    prefix: &'e String,
    digest: &'e Hash,
    sources: &'e Vec<String>,
    scopes: &'e Vec<String>,
    expires_at: &'e Option<i64>,
    actor: &'e Actor,
}

impl KeysView {
    fn create(&mut self, seal: &Seal, c: Created<'_>) {
        self.keys.insert(
            c.id.clone(),
            ApiKey {
                id: c.id.clone(),
                name: c.name.clone(),
                prefix: c.prefix.clone(),
                digest: *c.digest,
                sources: c.sources.clone(),
                scopes: c.scopes.clone(),
                created: seal.time,
                created_by: super::describe(c.actor),
                expires_at: *c.expires_at,
                revoked_at: None,
                last_used: None,
                seq: seal.seq,
            },
        );
        self.generation.0 += 1;
    }
}

impl View for KeysView {
    const NAME: &'static str = "keys";
    // 2: a key knows the seq that created it. 3: and its scopes.
    const VERSION: u32 = 3;

    fn pins(&self, out: &mut Vec<u64>) {
        out.extend(
            self.keys
                .values()
                .filter(|k| k.revoked_at.is_none())
                .map(|k| k.seq),
        );
    }

    /// Version 2 had no scopes: every key then could only post alerts.
    fn migrate(version: u32, state: &[u8]) -> Option<Self> {
        if version != 2 {
            return None;
        }
        let old: v2::KeysView = postcard::from_bytes(state).ok()?;
        let keys = old
            .keys
            .into_iter()
            .map(|(id, k)| {
                let key = ApiKey {
                    id: k.id,
                    name: k.name,
                    prefix: k.prefix,
                    digest: k.digest,
                    sources: k.sources,
                    scopes: vec![KeyScope::Ingest.name().to_string()],
                    created: k.created,
                    created_by: k.created_by,
                    expires_at: k.expires_at,
                    revoked_at: k.revoked_at,
                    last_used: k.last_used,
                    seq: k.seq,
                };
                (id, key)
            })
            .collect();
        Some(KeysView {
            keys,
            generation: Generation::default(),
        })
    }

    fn apply(&mut self, seal: &Seal, event: Option<&Event>) {
        let used_by = match event {
            Some(Event::ApiKey(ApiKeyChange::Created {
                id,
                name,
                prefix,
                digest,
                sources,
                expires_at,
                actor,
            })) => {
                // Before scopes, a key could only post alerts.
                let scopes = vec![KeyScope::Ingest.name().to_string()];
                let created = Created {
                    id,
                    name,
                    prefix,
                    digest,
                    sources,
                    scopes: &scopes,
                    expires_at,
                    actor,
                };
                self.create(seal, created);
                return;
            }
            Some(Event::ApiKey(ApiKeyChange::CreatedWithScopes {
                id,
                name,
                prefix,
                digest,
                sources,
                scopes,
                expires_at,
                actor,
            })) => {
                let created = Created {
                    id,
                    name,
                    prefix,
                    digest,
                    sources,
                    scopes,
                    expires_at,
                    actor,
                };
                self.create(seal, created);
                return;
            }
            Some(Event::ApiKey(ApiKeyChange::Revoked { id, .. })) => {
                if let Some(k) = self.keys.get_mut(id) {
                    k.revoked_at.get_or_insert(seal.time);
                }
                self.generation.0 += 1;
                return;
            }
            Some(Event::AlertsIngested(a)) => &a.actor,
            Some(Event::WebhookReceived(w)) => &w.actor,
            // A silence made or ended through Alertmanager's API.
            Some(Event::Silence(s)) => &s.actor,
            Some(Event::SilenceExpired(s)) => &s.actor,
            _ => return,
        };
        if let Actor::ApiKey { id, .. } = used_by
            && let Some(k) = self.keys.get_mut(id)
        {
            k.last_used = Some(seal.time);
        }
    }
}

/// The view's shape at version 2, as retention checkpoints may carry it.
mod v2 {
    use serde::Deserialize;
    use std::collections::BTreeMap;
    use vigil_store::Hash;

    #[derive(Deserialize)]
    #[cfg_attr(test, derive(serde::Serialize))]
    pub struct KeysView {
        pub keys: BTreeMap<String, ApiKey>,
    }

    #[derive(Deserialize)]
    #[cfg_attr(test, derive(serde::Serialize))]
    pub struct ApiKey {
        pub id: String,
        pub name: String,
        pub prefix: String,
        pub digest: Hash,
        pub sources: Vec<String>,
        pub created: i64,
        pub created_by: String,
        pub expires_at: Option<i64>,
        pub revoked_at: Option<i64>,
        pub last_used: Option<i64>,
        pub seq: u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_store::{AlertsIngested, Hash};

    use crate::test_seal as seal;

    #[test]
    fn keys_are_created_used_and_revoked() {
        let mut v = KeysView::default();
        v.apply(
            &seal(1, 100),
            Some(&Event::ApiKey(ApiKeyChange::Created {
                id: "ab12cd34".into(),
                name: "ci".into(),
                prefix: "vgl_ab12cd34".into(),
                digest: Hash([7; 32]),
                sources: vec!["github".into()],
                expires_at: Some(1_000),
                actor: Actor::Daemon,
            })),
        );
        let k = &v.keys["ab12cd34"];
        assert!(k.allows("github") && !k.allows("gitlab"));
        assert!(
            k.has_scope(KeyScope::Ingest),
            "a key from before scopes ingests"
        );
        assert!(!k.has_scope(KeyScope::AlertsRead) && !k.has_scope(KeyScope::SilencesWrite));
        assert_eq!(k.usable(999), Ok(()));
        assert_eq!(k.usable(1_000), Err("expired"));
        assert_eq!(v.generation(), 1);
        v.apply(
            &seal(2, 200),
            Some(&Event::AlertsIngested(AlertsIngested {
                source: "github".into(),
                driver: "github".into(),
                delivery_id: None,
                actor: Actor::ApiKey {
                    id: "ab12cd34".into(),
                    prefix: "vgl_ab12cd34".into(),
                },
                alerts: vec![],
                raw: None,
            })),
        );
        assert_eq!(v.keys["ab12cd34"].last_used, Some(200));
        assert_eq!(v.generation(), 1, "use does not republish the key table");
        v.apply(
            &seal(3, 300),
            Some(&Event::ApiKey(ApiKeyChange::Revoked {
                id: "ab12cd34".into(),
                actor: Actor::Daemon,
            })),
        );
        assert_eq!(v.keys["ab12cd34"].usable(0), Err("revoked"));
        assert_eq!(v.generation(), 2);
    }

    #[test]
    fn scoped_keys_have_exactly_their_scopes() {
        let mut v = KeysView::default();
        v.apply(
            &seal(1, 100),
            Some(&Event::ApiKey(ApiKeyChange::CreatedWithScopes {
                id: "cd34ef56".into(),
                name: "amtool".into(),
                prefix: "vgl_cd34ef56".into(),
                digest: Hash([8; 32]),
                sources: vec![],
                scopes: vec!["alerts.read".into(), "silences.write".into()],
                expires_at: None,
                actor: Actor::Daemon,
            })),
        );
        let k = &v.keys["cd34ef56"];
        assert!(k.has_scope(KeyScope::AlertsRead) && k.has_scope(KeyScope::SilencesWrite));
        assert!(!k.has_scope(KeyScope::Ingest));
        assert_eq!(k.seq, 1);
        assert_eq!(v.generation(), 1);
        // A silence made with it counts as a use.
        v.apply(
            &seal(2, 250),
            Some(&Event::Silence(vigil_store::Silence {
                matchers: vec!["team=\"db\"".into()],
                starts_at: 0,
                ends_at: 1,
                comment: "drill".into(),
                actor: Actor::ApiKey {
                    id: "cd34ef56".into(),
                    prefix: "vgl_cd34ef56".into(),
                },
            })),
        );
        assert_eq!(v.keys["cd34ef56"].last_used, Some(250));
    }

    #[test]
    fn a_version_2_checkpoint_state_reads_as_ingest_keys() {
        let old = v2::KeysView {
            keys: BTreeMap::from([(
                "ab12cd34".to_string(),
                v2::ApiKey {
                    id: "ab12cd34".into(),
                    name: "prometheus".into(),
                    prefix: "vgl_ab12cd34".into(),
                    digest: Hash([9; 32]),
                    sources: vec!["prom".into()],
                    created: 10,
                    created_by: "vigild".into(),
                    expires_at: None,
                    revoked_at: None,
                    last_used: Some(20),
                    seq: 3,
                },
            )]),
        };
        let state = postcard::to_allocvec(&old).unwrap();
        let view = KeysView::migrate(2, &state).expect("version 2 reads");
        let k = &view.keys["ab12cd34"];
        assert!(k.has_scope(KeyScope::Ingest) && !k.has_scope(KeyScope::AlertsRead));
        assert_eq!(
            (k.seq, k.last_used, k.sources.clone()),
            (3, Some(20), vec!["prom".to_string()])
        );
        assert!(KeysView::migrate(1, &state).is_none());
        assert!(KeysView::migrate(2, b"garbage").is_none());
    }
}
