//! `vigilctl silences …`: create, list and expire silences. A silence is an
//! event; the notifier reads the silence view and mutes matching alerts,
//! which are still recorded.

use super::conn::{Conn, MAX_TEXT, Served, refuse, stored_within, view_of};
use super::listing::Page;
use crate::intake::silence::{self, MAX_MATCHERS, SilenceProblem};
use std::ops::Bound;
use vigil_proto::{Answer, ErrorCode, SilenceListing, SilencesRequest};
use vigil_store::{Event, Silence, SilenceExpired, now_micros};
use vigil_views::{SilenceRecord, SilenceState};

/// The longest silence: a year. Longer means "disable the route".
const MAX_DURATION_SECS: u64 = silence::MAX_DURATION_MICROS as u64 / 1_000_000;

fn listing(s: &SilenceRecord, now: i64) -> SilenceListing {
    SilenceListing {
        id: s.id.clone(),
        state: match s.state(now) {
            SilenceState::Pending => vigil_proto::SilenceState::Pending,
            SilenceState::Active => vigil_proto::SilenceState::Active,
            SilenceState::Expired => vigil_proto::SilenceState::Expired,
        },
        matchers: s.matchers.clone(),
        starts_at: s.starts_at,
        ends_at: s.ends_at,
        comment: s.comment.clone(),
        created_by: s.created_by.clone(),
        expired_by: s.expired_by.clone(),
    }
}

impl Conn<'_> {
    /// Serves the silences family.
    pub(super) async fn serve_silences(&mut self, request: SilencesRequest) -> Served {
        match request {
            SilencesRequest::Add {
                matchers,
                duration_secs,
                starts_in_secs,
                comment,
            } => {
                self.silences_add(matchers, duration_secs, starts_in_secs, comment)
                    .await
            }
            SilencesRequest::List { all, limit } => self.silences_list(all, limit).await,
            SilencesRequest::Expire { id } => self.silences_expire(id).await,
        }
    }

    pub(super) async fn silences_add(
        &mut self,
        matchers: Vec<String>,
        duration_secs: u64,
        starts_in_secs: Option<u64>,
        comment: String,
    ) -> Served {
        if matchers.is_empty() || matchers.len() > MAX_MATCHERS {
            return Err(refuse(
                ErrorCode::BadRequest,
                format!("give 1 to {MAX_MATCHERS} --matcher"),
            ));
        }
        if !(60..=MAX_DURATION_SECS).contains(&duration_secs) {
            return Err(refuse(
                ErrorCode::BadRequest,
                "--duration must be between 1m and 366d",
            ));
        }
        let comment = comment.trim().to_string();
        if comment.is_empty() || comment.len() > MAX_TEXT {
            return Err(refuse(
                ErrorCode::BadRequest,
                "--comment is required (at most 1024 bytes): say why, for the record",
            ));
        }
        let delay = starts_in_secs.unwrap_or(0).min(MAX_DURATION_SECS);
        let starts_at = now_micros().saturating_add(secs_to_micros(delay));
        let ends_at = starts_at.saturating_add(secs_to_micros(duration_secs));
        let admitted = self.admit(Event::Silence(Silence {
            matchers: matchers.clone(),
            starts_at,
            ends_at,
            comment,
            actor: self.caller.actor(),
        }));
        let Event::Silence(stored) = &admitted.event else {
            return Err(refuse(
                ErrorCode::Internal,
                "a silence was admitted as another event",
            ));
        };
        stored_within("--comment", &stored.comment, MAX_TEXT)?;
        // Alerts are matched as they are stored, redacted: a matcher
        // holding a secret could not match as written, nor may it be kept.
        silence::check(&matchers, stored).map_err(|problem| {
            let message = match &problem {
                SilenceProblem::Redacted { index, .. } => {
                    format!("--matcher {} {problem}", index + 1)
                }
                SilenceProblem::Matchers(_) => format!("--matcher: {problem}"),
                SilenceProblem::Rule(_) => problem.to_string(),
            };
            refuse(ErrorCode::BadRequest, message)
        })?;
        let head = self.record("silences.add", admitted).await?;
        self.send(&Answer::silences_add(format!(
            "silence {} created",
            head.seq
        )))
        .await
    }

    pub(super) async fn silences_list(&mut self, all: bool, limit: Option<u64>) -> Served {
        let now = now_micros();
        let shared = self.shared.clone();
        let fetch = move |after: Option<u64>, max: usize| {
            let shared = shared.clone();
            async move {
                let (items, last, matching) = view_of(&shared, move |v| {
                    let silences = &v.silences.silences;
                    let shown = |s: &&SilenceRecord| all || s.state(now) != SilenceState::Expired;
                    let from = after.map_or(Bound::Unbounded, Bound::Excluded);
                    let page: Vec<(u64, SilenceListing)> = silences
                        .range((from, Bound::Unbounded))
                        .filter(|(_, s)| shown(s))
                        .take(max)
                        .map(|(seq, s)| (*seq, listing(s, now)))
                        .collect();
                    let last = page.last().map(|(seq, _)| *seq);
                    let items = page.into_iter().map(|(_, s)| s).collect::<Vec<_>>();
                    (items, last, silences.values().filter(shown).count() as u64)
                })
                .await?;
                Ok(Page {
                    last,
                    items,
                    matching: Some(matching),
                })
            }
        };
        let end = self
            .stream_pages(limit, fetch, Answer::silences_list, |s| {
                format!("silence {}", s.id)
            })
            .await?;
        self.end_listing(end).await
    }

    pub(super) async fn silences_expire(&mut self, id: String) -> Served {
        let lookup = id.clone();
        let now = now_micros();
        let state = self
            .view(move |v| v.silences.get(&lookup).map(|s| s.state(now)))
            .await?;
        match state {
            None => {
                return Err(refuse(
                    ErrorCode::NotFound,
                    format!("no silence {id}; `vigilctl silences list --all` shows them"),
                ));
            }
            Some(SilenceState::Expired) => {
                return Err(refuse(
                    ErrorCode::BadRequest,
                    format!("silence {id} has ended already"),
                ));
            }
            Some(_) => {}
        }
        let event = Event::SilenceExpired(SilenceExpired {
            silence: id.clone(),
            actor: self.caller.actor(),
        });
        let admitted = self.admit(event);
        self.record("silences.expire", admitted).await?;
        self.send(&Answer::silences_expire(format!("silence {id} expired")))
            .await
    }
}

fn secs_to_micros(secs: u64) -> i64 {
    i64::try_from(secs)
        .unwrap_or(i64::MAX)
        .saturating_mul(1_000_000)
}
