//! The incidents phase: INCIDENTS distinct alerts, one per ingest request,
//! into a fresh daemon without routes; what an open incident costs in
//! memory, and how long listing them all takes against listing as many
//! log entries.

use super::{INGEST_CONNECTIONS, am_alert, am_payload, ingest, round2};
use crate::common::Daemon;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_proto::{EventsRequest, IncidentState, IncidentsRequest, Request, Response};

pub struct Incidents {
    pub ingest_s: f64,
    pub idle_rss_mb: f64,
    pub rss_mb: f64,
    pub open: u64,
    /// (RSS with them open − RSS idle) / open incidents.
    pub incident_bytes: u64,
    pub incidents_list_s: f64,
    pub events_list_s: f64,
    pub listed_incidents: u64,
    pub listed_events: u64,
}

pub fn run(runtime: &tokio::runtime::Runtime, count: u64) -> Incidents {
    let daemon = Daemon::start("");
    std::thread::sleep(Duration::from_secs(2));
    let idle_rss_mb = daemon.rss_mb();
    eprintln!(
        "incidents: idle RSS {idle_rss_mb} MB; {count} distinct alerts, one per request over {INGEST_CONNECTIONS} connections"
    );
    let payload: Arc<dyn Fn(u64) -> String + Send + Sync> =
        Arc::new(|i| am_payload(&[am_alert("inc", i)]));
    let start = Instant::now();
    runtime.block_on(ingest(
        daemon.addr,
        &daemon.key,
        count,
        INGEST_CONNECTIONS,
        payload,
        None,
    ));
    let ingest_s = start.elapsed().as_secs_f64();
    let open = loop {
        let open = open_count(&daemon);
        if open >= count {
            break open;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1800),
            "only {open} incidents open after 30 min"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    // Let the ingestion's buffers go before reading the memory.
    std::thread::sleep(Duration::from_secs(2));
    let rss_mb = daemon.rss_mb();
    let incident_bytes = ((rss_mb - idle_rss_mb) * 1024.0 * 1024.0 / open as f64).round() as u64;
    eprintln!(
        "incidents: {open} open after {ingest_s:.1} s of ingestion, RSS {rss_mb} MB, {incident_bytes} bytes each"
    );
    // Best of two each: a whole listing, streamed, as vigilctl reads it.
    let best = |request: &Request| {
        let runs = [list_all(&daemon, request), list_all(&daemon, request)];
        runs.into_iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap()
    };
    let (listed_incidents, incidents_list_s) = best(&Request::Incidents(IncidentsRequest::List {
        state: None,
        limit: None,
    }));
    let (listed_events, events_list_s) = best(&Request::Events(EventsRequest::List {
        kind: None,
        from: None,
        limit: Some(count),
    }));
    eprintln!(
        "incidents: listed {listed_incidents} incidents in {incidents_list_s:.2} s, {listed_events} events in {events_list_s:.2} s"
    );
    let stop = daemon.stop();
    eprintln!("incidents: vigild stopped in {} ms", stop.as_millis());
    Incidents {
        ingest_s: round2(ingest_s),
        idle_rss_mb,
        rss_mb,
        open,
        incident_bytes,
        incidents_list_s: round2(incidents_list_s),
        events_list_s: round2(events_list_s),
        listed_incidents,
        listed_events,
    }
}

/// Open incidents, as the listing's end counts them.
fn open_count(daemon: &Daemon) -> u64 {
    let mut client = daemon.client();
    client
        .send(&Request::Incidents(IncidentsRequest::List {
            state: Some(IncidentState::Open),
            limit: Some(1),
        }))
        .unwrap();
    loop {
        if let Response::ListEnd(end) = client.receive().unwrap() {
            return end.truncated.and_then(|t| t.matching).unwrap_or(end.listed);
        }
    }
}

/// Items listed and seconds taken, request sent → last frame read.
fn list_all(daemon: &Daemon, request: &Request) -> (u64, f64) {
    let mut client = daemon.client();
    let start = Instant::now();
    client.send(request).unwrap();
    let mut items = 0;
    loop {
        match client.receive().unwrap() {
            Response::Incidents { incidents } => items += incidents.len() as u64,
            Response::Events { events } => items += events.len() as u64,
            Response::ListEnd(_) => break,
            _ => {}
        }
    }
    (items, start.elapsed().as_secs_f64())
}
