//! Every `vigilctl … list` with 100 000 items, end to end: the reply is
//! streamed in frames under the 1 MiB cap, every item is printed exactly
//! once (JSON lines and table rows), and a `--limit` below the count is
//! said on stderr and in a `{"truncated": …}` JSON line.
//!
//! The items enter the way they do in use, as fast as that goes: alerts in
//! batches of 1000 over HTTP, and control requests over a few connections
//! at once (the store commits concurrent appends together). The state
//! lives on /dev/shm when there is one: these tests are about listing, not
//! about fsync.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::path::Path;
use std::process::Output;
use std::time::Instant;
use vigil_proto::{
    EventsRequest, KeysRequest, Request, Response, SecretsRequest, SilencesRequest, WireSecret,
};
use vigil_tests::{Daemon, http, json_lines, ok, write_config};
use vigilctl::Client;

const N: usize = 100_000;
/// Silences and API keys: each new one costs the daemon work in proportion
/// to how many exist (the notifier re-reads every silence, the key table is
/// republished whole), so 100 000 take minutes to create; these many are
/// still several MiB of listing.
const N_SLOW: usize = 10_000;
/// API keys: creating one costs more still; 6000 keys list in over 1 MiB.
const N_KEYS: usize = 6_000;
/// Connections that create items at once.
const WRITERS: usize = 16;

/// A temporary directory, on tmpfs when there is one.
fn bulk_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().unwrap()
}

/// A daemon with an alertmanager source `am`, a master key, no rate limit
/// worth the name, and `extra`.
fn start(dir: &Path, extra: &str) -> Daemon {
    use std::os::unix::fs::PermissionsExt;
    let key = dir.join("master.key");
    std::fs::write(&key, "ab".repeat(32)).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = write_config(
        dir,
        &format!(
            r#"[http]
listen = "127.0.0.1:0"
rate_per_key = 1000000
burst_per_key = 1000000
rate_per_ip = 1000000
burst_per_ip = 1000000

[secrets]
master_key_file = "{key}"
master_key_env = "VIGIL_TEST_MASTER_KEY_UNSET"

[sources.am]
driver = "alertmanager"

{extra}
"#,
            key = key.display()
        ),
    );
    Daemon::in_dir(&config, dir)
}

/// Sends `request(i)` for every `i < n` over [`WRITERS`] connections,
/// checking each answer with `check`.
fn bulk(
    daemon: &Daemon,
    n: usize,
    request: impl Fn(usize) -> Request + Sync,
    check: impl Fn(&Response) -> bool + Sync,
) {
    let started = Instant::now();
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let (request, check) = (&request, &check);
            let socket = daemon.socket.clone();
            s.spawn(move || {
                let mut client = Client::connect(&socket).unwrap();
                for i in (w..n).step_by(WRITERS) {
                    let answer = client.call(&request(i)).unwrap();
                    assert!(check(&answer), "request {i}: {answer:?}");
                }
            });
        }
    });
    eprintln!("{n} requests in {:?}", started.elapsed());
}

/// `vigilctl ARGS`, which must succeed: (stdout, stderr).
fn run(daemon: &Daemon, args: &[&str]) -> (String, String) {
    let started = Instant::now();
    let out: Output = daemon.ctl(args);
    eprintln!("vigilctl {} in {:?}", args.join(" "), started.elapsed());
    let stdout = ok(&out);
    (stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Asserts that `values` holds each of `expected` exactly once.
fn exactly_once(values: Vec<String>, expected: impl IntoIterator<Item = String>, what: &str) {
    let expected: HashSet<String> = expected.into_iter().collect();
    let count = values.len();
    let seen: HashSet<String> = values.into_iter().collect();
    assert_eq!(seen.len(), count, "some {what} printed more than once");
    assert_eq!(seen.len(), expected.len(), "{what}: wrong count");
    assert!(seen == expected, "{what}: not the ones created");
}

/// The JSON lines of a listing, without its `truncated` line (returned apart).
fn items_and_truncated(stdout: &str) -> (Vec<serde_json::Value>, Option<serde_json::Value>) {
    let mut lines = json_lines(stdout);
    let truncated = match lines.last() {
        Some(last) if last.get("truncated").is_some() => lines.pop(),
        _ => None,
    };
    assert!(
        lines.iter().all(|l| l.get("truncated").is_none()),
        "only the last line says truncated"
    );
    (lines, truncated)
}

/// A listing cut at `limit` of `total` says so on stderr and in its last
/// JSON line, after exactly `limit` items; returns the items.
fn cut_at(
    daemon: &Daemon,
    args: &[&str],
    limit: u64,
    total: Option<u64>,
    what: &str,
) -> Vec<serde_json::Value> {
    let limit_text = limit.to_string();
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--limit", &limit_text]);
    let (stdout, stderr) = run(daemon, &all);
    let (items, truncated) = items_and_truncated(&stdout);
    assert_eq!(items.len() as u64, limit, "{what}: exactly the limit");
    let truncated = truncated.unwrap_or_else(|| panic!("{what}: no truncated line"));
    assert_eq!(truncated["truncated"]["limit"], limit);
    assert_eq!(truncated["truncated"]["listed"], limit);
    let said = match total {
        Some(total) => {
            assert_eq!(truncated["truncated"]["matching"], total);
            format!("{total} {what} match")
        }
        None => format!("more {what} match"),
    };
    assert!(
        stderr.contains(&format!("stopping at the limit of {limit}")) && stderr.contains(&said),
        "{what}: stderr must say the listing was cut: {stderr}"
    );
    // The same without --json: the rows, and the word on stderr.
    let mut human: Vec<&str> = args.to_vec();
    human.extend_from_slice(&["--limit", &limit_text]);
    let (_, stderr) = run(daemon, &human);
    assert!(stderr.contains(&said), "{stderr}");
    items
}

/// Strings of a field of each JSON item.
fn field(items: &[serde_json::Value], name: &str) -> Vec<String> {
    items
        .iter()
        .map(|i| match &i[name] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// Rows of a human table after its header.
fn rows(stdout: &str, header_starts: &str) -> Vec<String> {
    let mut lines = stdout.lines();
    let header = lines.next().unwrap_or_default();
    assert!(header.starts_with(header_starts), "{header}");
    lines.map(str::to_string).collect()
}

#[test]
fn incidents_list_prints_all_100000_and_says_when_it_stops_at_a_limit() {
    let _exclusive = crate::exclusive();
    let dir = bulk_dir();
    let daemon = start(dir.path(), "");
    let addr = daemon.http_addr();
    let key = daemon.api_key();
    let started = Instant::now();
    std::thread::scope(|s| {
        for w in 0..4 {
            let key = &key;
            s.spawn(move || {
                for batch in (w..N / 1000).step_by(4) {
                    let alerts: Vec<String> = (batch * 1000..(batch + 1) * 1000)
                        .map(|i| {
                            format!(
                                r#"{{"status":"firing","labels":{{"alertname":"Load{i}","instance":"host-{i}"}},"annotations":{{"summary":"host {i} is busy"}},"startsAt":"2025-03-14T09:26:53Z","fingerprint":"{i:016x}"}}"#
                            )
                        })
                        .collect();
                    let body = format!(
                        r#"{{"version":"4","groupKey":"bulk","receiver":"vigil","status":"firing","alerts":[{}]}}"#,
                        alerts.join(",")
                    );
                    let reply = http::request(
                        addr,
                        "POST",
                        "/v1/ingest/am",
                        &[
                            ("Authorization", &format!("Bearer {key}")),
                            ("Content-Type", "application/json"),
                        ],
                        body.as_bytes(),
                    );
                    assert_eq!(reply.status, 202, "{}", reply.body);
                }
            });
        }
    });
    eprintln!("{N} alerts in {:?}", started.elapsed());
    let fingerprints = (0..N).map(|i| format!("{i:016x}"));

    let (stdout, stderr) = run(&daemon, &["--json", "incidents", "list"]);
    let (items, truncated) = items_and_truncated(&stdout);
    assert!(truncated.is_none(), "nothing was cut: {stderr}");
    assert!(!stderr.contains("limit"), "{stderr}");
    exactly_once(
        field(&items, "fingerprint"),
        fingerprints.clone(),
        "incidents",
    );
    let ids = field(&items, "id");
    drop(items);

    let (stdout, _) = run(&daemon, &["incidents", "list"]);
    let table = rows(&stdout, "ID");
    let listed: Vec<String> = table
        .iter()
        .map(|r| r.split_whitespace().next().unwrap().to_string())
        .collect();
    exactly_once(listed, ids.clone(), "incident rows");

    let open = run(&daemon, &["--json", "incidents", "list", "--state", "open"]).0;
    assert_eq!(items_and_truncated(&open).0.len(), N);

    let first = cut_at(
        &daemon,
        &["incidents", "list"],
        10,
        Some(N as u64),
        "incidents",
    );
    assert_eq!(field(&first, "id"), ids[..10], "the newest ten, in order");
    assert!(daemon.stop().success());
}

#[test]
fn events_list_prints_all_100000_and_says_when_it_stops_at_a_limit() {
    let _exclusive = crate::exclusive();
    let dir = bulk_dir();
    let daemon = start(dir.path(), "");
    bulk(
        &daemon,
        N,
        |i| {
            Request::Events(EventsRequest::Emit {
                message: format!("event {i}"),
                severity: vigil_store::Severity::Info,
                labels: Default::default(),
            })
        },
        |r| matches!(r, Response::Appended { .. }),
    );
    let messages = (0..N).map(|i| format!("event {i}"));
    let message = |items: &[serde_json::Value]| -> Vec<String> {
        items
            .iter()
            .map(|e| {
                e["event"]["custom"]["message"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };

    let (stdout, stderr) = run(
        &daemon,
        &["--json", "events", "list", "--kind", "custom", "--all"],
    );
    let (items, truncated) = items_and_truncated(&stdout);
    assert!(truncated.is_none() && !stderr.contains("limit"), "{stderr}");
    exactly_once(message(&items), messages.clone(), "events");
    let seqs: Vec<u64> = items.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "oldest first");
    drop(items);

    // A --limit over the old 10 000 cap is honoured.
    let (stdout, stderr) = run(
        &daemon,
        &["events", "list", "--kind", "custom", "--limit", "100000"],
    );
    assert!(
        !stderr.contains("limit"),
        "exactly as many as asked: {stderr}"
    );
    let printed: Vec<String> = stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    exactly_once(printed, seqs.iter().map(u64::to_string), "event lines");

    // The newest 20 000, oldest first, and the word that more match.
    let newest = cut_at(
        &daemon,
        &["events", "list", "--kind", "custom"],
        20_000,
        None,
        "events",
    );
    let newest_seqs: Vec<u64> = newest.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(newest_seqs, seqs[N - 20_000..]);
    // From a seq on, the first ones.
    let from = seqs[10].to_string();
    let first = cut_at(
        &daemon,
        &["events", "list", "--kind", "custom", "--from", &from],
        5,
        None,
        "events",
    );
    let first_seqs: Vec<u64> = first.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(first_seqs, seqs[10..15]);
    // The default of 50 is a limit too, and said.
    let (stdout, stderr) = run(&daemon, &["events", "list"]);
    assert_eq!(stdout.lines().count(), 50);
    assert!(stderr.contains("stopping at the limit of 50"), "{stderr}");
    assert!(daemon.stop().success());
}

#[test]
fn silences_list_prints_all_10000_and_says_when_it_stops_at_a_limit() {
    let _exclusive = crate::exclusive();
    let dir = bulk_dir();
    let daemon = start(dir.path(), "");
    bulk(
        &daemon,
        N_SLOW,
        |i| {
            Request::Silences(SilencesRequest::Add {
                matchers: vec![format!("instance=host-{i}")],
                duration_secs: 3600,
                starts_in_secs: None,
                comment: format!("maintenance {i}"),
            })
        },
        |r| matches!(r, Response::Done { .. }),
    );
    let (stdout, stderr) = run(&daemon, &["--json", "silences", "list"]);
    let (items, truncated) = items_and_truncated(&stdout);
    assert!(truncated.is_none() && !stderr.contains("limit"), "{stderr}");
    exactly_once(
        field(&items, "comment"),
        (0..N_SLOW).map(|i| format!("maintenance {i}")),
        "silences",
    );
    let ids = field(&items, "id");
    drop(items);
    let (stdout, _) = run(&daemon, &["silences", "list"]);
    let listed = rows(&stdout, "ID")
        .iter()
        .map(|r| r.split_whitespace().next().unwrap().to_string())
        .collect();
    exactly_once(listed, ids.clone(), "silence rows");
    let first = cut_at(
        &daemon,
        &["silences", "list"],
        7,
        Some(N_SLOW as u64),
        "silences",
    );
    assert_eq!(field(&first, "id"), ids[..7]);
    assert!(daemon.stop().success());
}

#[test]
fn secrets_list_prints_all_100000_and_says_when_it_stops_at_a_limit() {
    let _exclusive = crate::exclusive();
    let dir = bulk_dir();
    let daemon = start(dir.path(), "");
    bulk(
        &daemon,
        N,
        |i| {
            Request::Secrets(SecretsRequest::Set {
                name: format!("s{i:06}"),
                value: WireSecret::new(format!("value-{i}")),
            })
        },
        |r| matches!(r, Response::SecretsChanged { .. }),
    );
    let names = (0..N).map(|i| format!("s{i:06}"));
    let (stdout, stderr) = run(&daemon, &["--json", "secrets", "list"]);
    let (items, truncated) = items_and_truncated(&stdout);
    assert!(truncated.is_none() && !stderr.contains("limit"), "{stderr}");
    let listed = field(&items, "name");
    assert!(listed.windows(2).all(|w| w[0] < w[1]), "by name");
    exactly_once(listed, names.clone(), "secrets");
    drop(items);
    let (stdout, _) = run(&daemon, &["secrets", "list"]);
    let table = rows(&stdout, "NAME");
    assert!(
        table.last().unwrap().starts_with("master key: key file"),
        "{:?}",
        table.last()
    );
    let listed = table[..table.len() - 1]
        .iter()
        .map(|r| r.split_whitespace().next().unwrap().to_string())
        .collect();
    exactly_once(listed, names, "secret rows");
    let first = cut_at(&daemon, &["secrets", "list"], 3, None, "secrets");
    assert_eq!(field(&first, "name"), ["s000000", "s000001", "s000002"]);
    assert!(daemon.stop().success());
}

#[test]
fn keys_list_prints_all_6000_and_says_when_it_stops_at_a_limit() {
    let _exclusive = crate::exclusive();
    let dir = bulk_dir();
    let daemon = start(dir.path(), "");
    bulk(
        &daemon,
        N_KEYS,
        |i| {
            Request::Keys(KeysRequest::Create {
                name: format!("key {i}"),
                sources: Vec::new(),
                scopes: vec![],
                expires_in_secs: None,
            })
        },
        |r| matches!(r, Response::KeyCreated { .. }),
    );
    let (stdout, stderr) = run(&daemon, &["--json", "keys", "list"]);
    let (items, truncated) = items_and_truncated(&stdout);
    assert!(truncated.is_none() && !stderr.contains("limit"), "{stderr}");
    exactly_once(
        field(&items, "name"),
        (0..N_KEYS).map(|i| format!("key {i}")),
        "API keys",
    );
    let prefixes = field(&items, "prefix");
    drop(items);
    let (stdout, _) = run(&daemon, &["keys", "list"]);
    let listed = rows(&stdout, "PREFIX")
        .iter()
        .map(|r| r.split_whitespace().next().unwrap().to_string())
        .collect();
    exactly_once(listed, prefixes.clone(), "key rows");
    let first = cut_at(
        &daemon,
        &["keys", "list"],
        4,
        Some(N_KEYS as u64),
        "API keys",
    );
    assert_eq!(field(&first, "prefix"), prefixes[..4]);
    assert!(daemon.stop().success());
}
