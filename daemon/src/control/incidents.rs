//! The incidents family: list, show, ack, resolve, note.

use super::conn::{Conn, MAX_TEXT, Served, blocking_with, refuse, stored_within, view_of};
use super::listing::Page;
use vigil_proto::{
    Answer, ErrorCode, IncidentDetail, IncidentNote, IncidentSummary, IncidentsRequest,
    event_record,
};
use vigil_store::{Event, IncidentAction, IncidentOp};
use vigil_views::incidents::IncidentId;
use vigil_views::{Incident, IncidentState};

fn summary(i: &Incident) -> IncidentSummary {
    IncidentSummary {
        id: i.id.to_string(),
        state: wire_state(i.state),
        source: i.source.to_string(),
        fingerprint: i.fingerprint.to_string(),
        severity: i.severity,
        summary: i.summary.to_string(),
        labels: i.labels.to_labels(),
        opened_at: i.opened_at,
        updated_at: i.updated_at,
        resolved_at: i.resolved_at.get(),
        fired: u64::from(i.fired),
        reopened: u64::from(i.reopened),
        flapping: i.flapping,
    }
}

/// A state as the protocol carries it.
fn wire_state(state: IncidentState) -> vigil_proto::IncidentState {
    match state {
        IncidentState::Open => vigil_proto::IncidentState::Open,
        IncidentState::Acked => vigil_proto::IncidentState::Acked,
        IncidentState::Resolved => vigil_proto::IncidentState::Resolved,
    }
}

/// A state as the view has it.
fn view_state(state: vigil_proto::IncidentState) -> IncidentState {
    match state {
        vigil_proto::IncidentState::Open => IncidentState::Open,
        vigil_proto::IncidentState::Acked => IncidentState::Acked,
        vigil_proto::IncidentState::Resolved => IncidentState::Resolved,
    }
}

impl Conn<'_> {
    /// Serves the incidents family.
    pub(super) async fn serve_incidents(&mut self, request: IncidentsRequest) -> Served {
        match request {
            IncidentsRequest::List { state, limit } => self.incidents(state, limit).await,
            IncidentsRequest::Show { id } => self.incident_show(id).await,
            IncidentsRequest::Act { id, op, note } => self.incident_act(id, op, note).await,
        }
    }

    pub(super) async fn incidents(
        &mut self,
        state: Option<vigil_proto::IncidentState>,
        limit: Option<u64>,
    ) -> Served {
        let shared = self.shared.clone();
        let fetch = move |after: Option<(i64, IncidentId)>, max: usize| {
            let shared = shared.clone();
            async move {
                // Newest change first, then by id: the view's own index,
                // read from the cursor on.
                let (items, matching, last) = view_of(&shared, move |v| {
                    let state = state.map(view_state);
                    let page: Vec<&Incident> = v
                        .incidents
                        .newest_first(after)
                        .filter(|i| state.is_none_or(|s| i.state == s))
                        .take(max)
                        .collect();
                    let last = page.last().map(|i| (i.updated_at, i.id));
                    let items = page.into_iter().map(summary).collect::<Vec<_>>();
                    (items, v.incidents.count(state) as u64, last)
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
            .stream_pages(limit, fetch, Answer::incidents_list, |i| {
                format!("incident {}", i.id)
            })
            .await?;
        self.end_listing(end).await
    }

    pub(super) async fn incident_show(&mut self, id: String) -> Served {
        let Some(incident) = self.view(move |v| v.incidents.get(&id).cloned()).await? else {
            return Err(refuse(
                ErrorCode::NotFound,
                "no such incident; `vigilctl incidents list` shows them",
            ));
        };
        let log = self.shared.log.clone();
        let seqs: Vec<u64> = incident.history.iter().collect();
        let history = blocking_with(move || {
            seqs.into_iter()
                .filter_map(|seq| log.get(seq).ok().flatten())
                .map(|e| event_record(&e))
                .collect::<Vec<_>>()
        })
        .await?;
        let annotations = incident
            .annotations
            .iter()
            .map(|a| IncidentNote {
                seq: a.seq,
                time: a.time,
                who: a.who.clone(),
                op: a.op,
                note: a.note.clone(),
            })
            .collect();
        self.send(&Answer::incident_show(IncidentDetail {
            incident: Box::new(summary(&incident)),
            annotations,
            history,
        }))
        .await
    }

    pub(super) async fn incident_act(
        &mut self,
        id: String,
        op: IncidentOp,
        note: Option<String>,
    ) -> Served {
        if note.as_ref().is_some_and(|n| n.len() > MAX_TEXT) {
            return Err(refuse(ErrorCode::BadRequest, "the note is over 1024 bytes"));
        }
        let lookup = id.clone();
        let state = self
            .view(move |v| v.incidents.get(&lookup).map(|i| i.state))
            .await?;
        let message = match (state, op) {
            (None, _) => {
                return Err(refuse(
                    ErrorCode::NotFound,
                    format!("no incident {id}; `vigilctl incidents list` shows them"),
                ));
            }
            (Some(IncidentState::Resolved), IncidentOp::Ack | IncidentOp::Resolve) => {
                return Err(refuse(
                    ErrorCode::BadRequest,
                    format!("incident {id} is resolved already"),
                ));
            }
            (Some(_), IncidentOp::Ack) => format!("incident {id} acknowledged"),
            (Some(_), IncidentOp::Resolve) => format!("incident {id} resolved"),
            (Some(_), IncidentOp::Note) => format!("note added to incident {id}"),
        };
        let event = Event::IncidentAction(IncidentAction {
            incident: id,
            op,
            note,
            actor: self.caller.actor(),
        });
        let admitted = self.admit(event);
        if let Event::IncidentAction(IncidentAction {
            note: Some(note), ..
        }) = &admitted.event
        {
            stored_within("the note", note, MAX_TEXT)?;
        }
        self.record("incidents.act", admitted).await?;
        self.send(&Answer::incident_act(message)).await
    }
}
