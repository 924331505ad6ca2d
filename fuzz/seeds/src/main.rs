//! Writes the seed corpus of every fuzz target into `fuzz/corpus/<target>/`
//! from the project's test fixtures and examples (run by
//! `scripts/fuzz-seeds`). Each target's seeds are in that target's input
//! format, as its source file documents. Everything is deterministic but
//! the exports, which come from a fresh store (and carry its new key).

use std::fs;
use std::path::{Path, PathBuf};
use vigil_fuzz::delivery;
use vigil_fuzz::drivers::{NOW, SECRET, signing_headers};
use vigil_ingest::drivers::DriverKind;
use vigil_store::event::examples::every_variant;
use vigil_store::export::{ExportFilter, ExportRange, export_to, plan, verify_export};
use vigil_store::{EpochKey, Event, EventKind, Hash, Head, Log, LogOptions, encode_entry_value};

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

struct Corpus {
    dir: PathBuf,
}

impl Corpus {
    /// Empties (or creates) the corpus of `target`.
    fn target(&self, target: &str) -> Target {
        let dir = self.dir.join(target);
        if dir.exists() {
            fs::remove_dir_all(&dir).expect("remove the old seeds");
        }
        fs::create_dir_all(&dir).expect("create the corpus directory");
        Target { dir }
    }
}

struct Target {
    dir: PathBuf,
}

impl Target {
    fn seed(&self, name: &str, bytes: impl AsRef<[u8]>) {
        fs::write(self.dir.join(name), bytes).expect("write a seed");
    }
}

/// A header's name and value.
type Header = (&'static str, &'static str);

/// Every webhook fixture: driver, file, and the event header its sender adds.
const WEBHOOKS: &[(DriverKind, &str, Option<Header>)] = &[
    (DriverKind::Alertmanager, "alertmanager/firing", None),
    (DriverKind::Alertmanager, "alertmanager/resolved", None),
    (DriverKind::Grafana, "grafana/firing", None),
    (
        DriverKind::Github,
        "github/workflow_run_failure",
        Some(("X-GitHub-Event", "workflow_run")),
    ),
    (
        DriverKind::Github,
        "github/check_run_failure",
        Some(("X-GitHub-Event", "check_run")),
    ),
    (
        DriverKind::Github,
        "github/push",
        Some(("X-GitHub-Event", "push")),
    ),
    (
        DriverKind::Github,
        "github/ping",
        Some(("X-GitHub-Event", "ping")),
    ),
    (
        DriverKind::Gitlab,
        "gitlab/pipeline_failed",
        Some(("X-Gitlab-Event", "Pipeline Hook")),
    ),
    (
        DriverKind::Gitlab,
        "gitlab/job_failed",
        Some(("X-Gitlab-Event", "Job Hook")),
    ),
    (DriverKind::Jenkins, "jenkins/failure", None),
    (DriverKind::Jenkins, "jenkins/success", None),
    (DriverKind::Pagerduty, "pagerduty/incident_triggered", None),
    (DriverKind::Pagerduty, "pagerduty/incident_resolved", None),
    (DriverKind::Generic, "generic/alert", None),
    (DriverKind::Generic, "generic/batch", None),
    (DriverKind::Prometheus, "prometheus/alerts", None),
];

/// Each fixture, signed as its sender signs it with the source's secret.
fn drivers(corpus: &Corpus) {
    for kind in DriverKind::ALL {
        let target = corpus.target(&format!("driver_{}", kind.name()));
        for (k, file, event) in WEBHOOKS.iter().filter(|(k, ..)| *k == kind) {
            let body = read(&format!("tests/fixtures/webhooks/{file}.json"));
            let signing = signing_headers(*k, body.as_bytes(), SECRET, NOW);
            let mut headers: Vec<(&str, &str)> = event.iter().copied().collect();
            headers.extend(signing.iter().map(|(n, v)| (*n, v.as_str())));
            headers.push(("Content-Type", "application/json"));
            let name = file.rsplit('/').next().expect("a file name");
            target.seed(name, delivery::encode(&headers, body.as_bytes()));
        }
    }
}

/// The redaction fixtures (two selector bytes, then the text; a canary
/// line each) and JSON documents.
fn redact(corpus: &Corpus) {
    let target = corpus.target("redact");
    let canaries = read("tests/fixtures/redaction/canaries.txt");
    let lines = canaries
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty());
    for (i, line) in lines.enumerate() {
        let (_, text) = line.split_once('\t').expect("kind, tab, text");
        let mut seed = vec![i as u8 + 1, 200];
        seed.extend_from_slice(text.as_bytes());
        target.seed(&format!("canary-{i}"), seed);
    }
    for (name, path) in [
        ("survivors", "tests/fixtures/redaction/survivors.txt"),
        ("private_key", "tests/fixtures/redaction/private_key.txt"),
        (
            "alertmanager-json",
            "tests/fixtures/webhooks/alertmanager/firing.json",
        ),
    ] {
        let mut seed = vec![0u8, 128];
        seed.extend_from_slice(read(path).as_bytes());
        target.seed(name, seed);
    }
    target.seed(
        "secret-keys-json",
        b"\x05\x40{\"db_password\":\"hunter2\",\"apiKey\":12345,\"api_key\":\"x\",\"nested\":[{\"token\":\"t\",\"ok\":true}]}",
    );
}

/// Frames of a connection: a hello, then requests.
fn control_frames(corpus: &Corpus) {
    use vigil_proto::*;
    use vigil_store::Severity;
    let target = corpus.target("control_frames");
    let hello = Hello {
        protocol: PROTOCOL_VERSION,
        client: "vigilctl 0.1.0".into(),
    };
    let requests: Vec<Request> = vec![
        DaemonRequest::Status.into(),
        EventsRequest::Emit {
            message: "m".into(),
            severity: Severity::Warning,
            labels: [("a".into(), "b".into())].into(),
        }
        .into(),
        EventsRequest::List {
            kind: Some(EventKind::Auth),
            from: None,
            limit: Some(10),
        }
        .into(),
        IncidentsRequest::List {
            state: Some(IncidentState::Open),
            limit: None,
        }
        .into(),
        SecretsRequest::Set {
            name: "slack".into(),
            value: WireSecret::new("hunter2".into()),
        }
        .into(),
        AuditRequest::Verify {
            deep: true,
            anchor: Some((5, Hash([1; 32]))),
        }
        .into(),
        AuditRequest::Export(ExportRequest {
            from: Some(2),
            to: Some(9),
            kinds: Some(vec![EventKind::Custom]),
            ..ExportRequest::default()
        })
        .into(),
        DeliveriesRequest::Test {
            receiver: "ops".into(),
        }
        .into(),
        DaemonRequest::Reload.into(),
    ];
    let mut stream = frame::encode(&hello).expect("a hello");
    for (i, request) in requests.iter().enumerate() {
        let frame = frame::encode(request).expect("a request");
        let mut alone = frame::encode(&hello).expect("a hello");
        alone.extend_from_slice(&frame);
        target.seed(&format!("request-{i}-{}", request.name()), alone);
        stream.extend_from_slice(&frame);
    }
    target.seed("connection", stream);
}

/// Configurations: the development one, the packaged default, and every
/// example of docs/configuration.md.
fn config(corpus: &Corpus) {
    let target = corpus.target("config");
    target.seed("dev.toml", read("daemon/src/config/dev.toml"));
    target.seed("packaged.toml", read("packaging/vigil.toml"));
    let docs = read("docs/configuration.md");
    for (i, block) in docs.split("```toml\n").skip(1).enumerate() {
        let text = block.split("```").next().expect("a block");
        target.seed(&format!("docs-{i}.toml"), text);
    }
}

/// Every variant's body, and the committed bodies of format 1.
fn event_body(corpus: &Corpus) -> Vec<Event> {
    let target = corpus.target("event_body");
    let mut events = Vec::new();
    for (name, event) in every_variant() {
        target.seed(name, event.encode());
        events.push(event);
    }
    for line in read("store/tests/fixtures/events-v1.hex").lines() {
        if let Some((name, hex)) = line.split_once(' ')
            && !line.starts_with('#')
        {
            target.seed(&format!("v1-{name}"), decode_hex(hex));
        }
    }
    events
}

fn decode_hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Entries (key and value) sealed with a fixed key: one per variant, and
/// pruned ones.
fn entry(corpus: &Corpus, events: &[Event]) {
    let target = corpus.target("entry");
    let key = EpochKey::from_bytes(0, [7; 32]);
    let mut head = Head::EMPTY;
    for (i, event) in events.iter().enumerate() {
        let body = event.encode();
        let seal = head.seal_next(
            1_737_540_000_000_000 + i as i64,
            event.kind().code(),
            Hash::sha256(&body),
            &key,
        );
        head = Head::from(&seal);
        let pruned = i % 5 == 4;
        let mut seed = vigil_store::entry_key(seal.seq).to_vec();
        seed.extend_from_slice(&encode_entry_value(&seal, (!pruned).then_some(&body[..])));
        target.seed(&format!("entry-{}", seal.seq), seed);
    }
}

/// Exports of a small store (the key line first): the whole log, a kind
/// filter (compact lines), a source filter and a middle range.
fn export_verify(corpus: &Corpus) {
    let target = corpus.target("export_verify");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let vk = dir.path().join("vk");
    let log = Log::create(&dir.path().join("store"), &vk, LogOptions::default()).expect("a store");
    let events: Vec<Event> = every_variant()
        .into_iter()
        .filter(|(_, e)| {
            matches!(
                e.kind(),
                EventKind::Ingest | EventKind::Custom | EventKind::Auth | EventKind::Incident
            )
        })
        .map(|(_, e)| e)
        .collect();
    for (i, event) in events.iter().enumerate() {
        log.append(event).expect("an append");
        if i == 2 {
            log.advance_epoch("seed").expect("a new epoch");
        }
    }
    log.prune(vec![4], "seed").expect("a prune");
    log.append(&events[0]).expect("an append");
    let key_text = fs::read_to_string(&vk).expect("the verification key");
    let key = vigil_store::VerificationKey::parse(&key_text).expect("a key");
    let head = log.head().seq;
    let exports = [
        ("whole", ExportRange::default(), ExportFilter::default()),
        (
            "custom-only",
            ExportRange::default(),
            ExportFilter {
                kinds: Some(vec![EventKind::Custom]),
                source: None,
            },
        ),
        (
            "one-source",
            ExportRange::default(),
            ExportFilter {
                kinds: None,
                source: Some("alertmanager".into()),
            },
        ),
        (
            "middle",
            ExportRange {
                from: Some(3),
                to: Some(head - 2),
                ..ExportRange::default()
            },
            ExportFilter::default(),
        ),
    ];
    for (name, range, filter) in exports {
        let header = plan(&log, &range, filter, "vigil-fuzz-seeds").expect("a plan");
        let export = export_to(&log, &header, Vec::new(), |_| {}).expect("an export");
        let report = verify_export(export.as_slice(), Some(&key), None).expect("a report");
        assert!(report.report.ok, "{name}: {report:?}");
        let mut seed = key_text.trim_end().as_bytes().to_vec();
        seed.push(b'\n');
        seed.extend_from_slice(&export);
        target.seed(name, seed);
    }
    log.close().expect("close the store");
}

/// The built-in templates, each with its escape.
fn template(corpus: &Corpus) {
    use vigil_notify::template::{Escape, builtin_sources};
    let target = corpus.target("template");
    for source in builtin_sources() {
        let escape = match source.escape {
            Escape::Json => 0u8,
            Escape::Html => 1,
            Escape::SlackMrkdwn => 2,
            Escape::Text => 3,
        };
        let mut seed = vec![escape];
        seed.extend_from_slice(source.source.as_bytes());
        target.seed(&source.name, seed);
    }
    target.seed(
        "loops",
        b"\x00{\"n\": {{ alerts|length }}, \"s\": [{% for a in alerts %}\"{{ a.summary|oneline }}\"{% if not loop.last %},{% endif %}{% endfor %}]}",
    );
}

/// Receiver URLs, some with scripted DNS answers.
fn ssrf_url(corpus: &Corpus) {
    let target = corpus.target("ssrf_url");
    let v4 = |a: [u8; 4]| [&[0u8][..], &a].concat();
    let v6 = |a: [u8; 16]| [&[1u8][..], &a].concat();
    let urls: &[(&str, Vec<u8>)] = &[
        (
            "https://hooks.slack.com/services/T0/B0/XXXX",
            v4([93, 184, 216, 34]),
        ),
        ("https://events.pagerduty.com/v2/enqueue", v4([10, 0, 0, 5])),
        (
            "https://hooks.example.com:8443/path?q=1",
            [
                v4([8, 8, 8, 8]),
                v6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]),
            ]
            .concat(),
        ),
        ("http://127.0.0.1:9093/api", vec![]),
        ("https://0x7f.1/", vec![]),
        ("https://2130706433/x", vec![]),
        ("https://0177.0.0.1./", vec![]),
        ("https://[::ffff:127.0.0.1]:443/", vec![]),
        ("https://[2002:c0a8:0101::1]/", vec![]),
        ("https://LOCALHOST./", vec![]),
        (
            "smtps://mail.example.com",
            v6([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        ),
        ("smtp://mail.example.com:587", v4([1, 1, 1, 1])),
        ("https://user:pw@example.com/", vec![]),
        ("https://example.com/a#frag", vec![]),
        ("https://169.254.169.254/latest/meta-data/", vec![]),
    ];
    for (i, (url, answers)) in urls.iter().enumerate() {
        let mut seed = url.as_bytes().to_vec();
        if !answers.is_empty() {
            seed.push(b'\n');
            seed.extend_from_slice(answers);
        }
        target.seed(&format!("url-{i}"), seed);
    }
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| root().join("fuzz/corpus"), PathBuf::from);
    let corpus = Corpus { dir };
    drivers(&corpus);
    redact(&corpus);
    control_frames(&corpus);
    config(&corpus);
    let events = event_body(&corpus);
    entry(&corpus, &events);
    export_verify(&corpus);
    template(&corpus);
    ssrf_url(&corpus);
    println!("seeds written to {}", corpus.dir.display());
}
