//! `vigilctl import alertmanager`, end to end: the fixtures (real
//! Alertmanager configurations, as Debian's amtool confirms) convert into
//! configurations `vigild --check-config` accepts, no credential of theirs
//! reaches stdout or stderr, what cannot be carried is reported, and the
//! converted routing tree sends the same alerts to the same receivers as
//! the real Alertmanager does with the original.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use vigil_tests::receiver::Receiver;
use vigil_tests::{Daemon, bin, http, ok, write_config};

/// The port the routing fixture's webhooks name; replaced by the test's.
const FIXTURE_PORT: &str = "127.0.0.1:9099";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/alertmanager")
        .join(name)
}

fn import(args: &[&str], stdin: Option<&[u8]>, cwd: &Path) -> Output {
    let mut child = Command::new(bin("vigilctl"))
        .args(["import", "alertmanager"])
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

/// `vigild --check-config` on `toml` (after the test's `[daemon]` table).
fn check_config(dir: &Path, toml: &str) {
    let config = write_config(dir, toml);
    let out = Command::new(bin("vigild"))
        .arg("--check-config")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "vigild --check-config refused the converted configuration:\n{}\n{toml}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A peer tool's path; the suite installs it (`scripts/test`).
fn which(tools: &[&str]) -> PathBuf {
    tools
        .iter()
        .flat_map(|tool| {
            ["/usr/bin", "/usr/local/bin", "/bin"]
                .iter()
                .map(move |d| Path::new(d).join(tool))
        })
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("none of {tools:?} is installed (scripts/test installs them)"))
}

#[test]
fn the_fixtures_convert_into_configurations_vigild_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["alertmanager.yml", "kitchen-sink.yml"] {
        // They are Alertmanager configurations to begin with.
        let amtool = Command::new(which(&["amtool"]))
            .arg("check-config")
            .arg(fixture(name))
            .output()
            .unwrap();
        ok(&amtool);
        let path = fixture(name);
        let out = import(&[path.to_str().unwrap()], None, tmp.path());
        let toml = ok(&out);
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        check_config(&dir, &toml);
    }
    // From stdin, the same (bar the name in the header).
    let yaml = std::fs::read(fixture("alertmanager.yml")).unwrap();
    let from_stdin = ok(&import(&["-"], Some(&yaml), tmp.path()));
    let from_file = ok(&import(
        &[fixture("alertmanager.yml").to_str().unwrap()],
        None,
        tmp.path(),
    ));
    let body = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert!(from_stdin.starts_with("# Vigil configuration converted from <stdin>"));
    assert_eq!(body(&from_stdin), body(&from_file));
}

#[test]
fn no_credential_reaches_the_output_and_what_is_not_carried_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let path = fixture("kitchen-sink.yml");
    let yaml = std::fs::read_to_string(&path).unwrap();
    assert!(
        yaml.matches("CANARY").count() >= 10,
        "the fixture's canaries"
    );
    // Among them, webhook credentials Vigil now carries (as references).
    for canary in [
        "credentials: CANARY-global-bearer",
        "credentials: CANARY-webhook-bearer",
        "password: CANARY-webhook-basic",
        "password: CANARY-basic-password",
        "deploy:CANARY-webhook-password",
        // And those of Opsgenie, Discord and Telegram.
        "opsgenie_api_key: CANARY-opsgenie-key",
        "api_key: CANARY-opsgenie-receiver-key",
        "/api/webhooks/1234/CANARY-discord-webhook",
        "bot_token: CANARY-telegram-token",
    ] {
        assert!(yaml.contains(canary), "the fixture lost {canary}");
    }
    let out = import(&[path.to_str().unwrap()], None, tmp.path());
    let stdout = ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains("CANARY"),
        "a credential on stdout:\n{stdout}"
    );
    assert!(
        !stderr.contains("CANARY"),
        "a credential on stderr:\n{stderr}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    for (prefix, words) in [
        (
            "global.opsgenie_api_key: ",
            "vigilctl secrets set opsgenie.api_key`",
        ),
        (
            "receivers[6].opsgenie_configs[0].api_key: ",
            "vigilctl secrets set opsgenie.opsgenie.0.api_key`",
        ),
        (
            "receivers[6].opsgenie_configs[0].tags: ",
            "a template here is not supported",
        ),
        (
            "receivers[6].opsgenie_configs[0].responders: ",
            "not carried",
        ),
        (
            "receivers[6].opsgenie_configs[1].priority: ",
            "add priority = \"P3\"",
        ),
        (
            "receivers[7].discord_configs[0].webhook_url: ",
            "vigilctl secrets set discord.discord.0.webhook_url`",
        ),
        (
            "receivers[7].discord_configs[0].title: ",
            "fold it into message",
        ),
        (
            "receivers[8].telegram_configs[0].bot_token: ",
            "vigilctl secrets set telegram.telegram.0.bot_token`",
        ),
        (
            "receivers[8].telegram_configs[0].parse_mode: ",
            "plain text",
        ),
        (
            "global.telegram_api_url: ",
            "added \"10.0.0.7\" to notify.allow",
        ),
        (
            "global.smtp_auth_password: ",
            "store it with `vigilctl secrets set smtp.auth_password`",
        ),
        ("global.slack_api_url: ", "secret:slack.api_url"),
        (
            "receivers[1].pagerduty_configs[0].routing_key: ",
            "vigilctl secrets set pager.pagerduty.0.routing_key",
        ),
        (
            "receivers[5].webhook_configs[0].url: ",
            "vigilctl secrets set",
        ),
        (
            "receivers[5].webhook_configs[1].url: ",
            "user:password becomes basic_auth",
        ),
        (
            "receivers[5].webhook_configs[1].url: ",
            "that basic_auth is not carried",
        ),
        (
            "global.http_config.authorization.credentials: ",
            "vigilctl secrets set http_config.authorization`",
        ),
        (
            "global.http_config.authorization: ",
            "Slack, PagerDuty, Opsgenie, Discord and Telegram integrations send no HTTP credentials",
        ),
        (
            "receivers[5].webhook_configs[3].http_config.authorization.credentials: ",
            "vigilctl secrets set hooks.webhook.3.authorization`",
        ),
        (
            "receivers[5].webhook_configs[4].http_config.basic_auth.password: ",
            "vigilctl secrets set hooks.webhook.4.password`",
        ),
        (
            "receivers[5].webhook_configs[0] (and 6 other webhooks): ",
            "imported webhooks are unsigned (sign = false), as Alertmanager's are",
        ),
        ("templates: ", "not carried"),
        ("inhibit_rules[1]: ", "no target matchers"),
        (
            "receivers[2].slack_configs[0].text: ",
            "cannot be translated",
        ),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(prefix) && l.contains(words)),
            "no `{prefix}...{words}` line on stderr:\n{stderr}"
        );
    }
    // Every line names a setting and its line in the YAML.
    for line in &lines {
        assert!(line.contains(": ") && line.ends_with(')'), "{line}");
    }
    // The resolve timeout becomes the Prometheus source's.
    assert!(
        stdout.contains("[sources.prometheus]\ndriver = \"prometheus\"\nresolve_timeout = \"5m\""),
        "{stdout}"
    );
    assert!(!stderr.contains("resolve_timeout"), "{stderr}");
    // Every integration of the fixture is one Vigil has.
    assert!(!stderr.contains("integration yet"), "{stderr}");
    // One note says the webhooks are unsigned, for all of them.
    assert_eq!(stderr.matches("unsigned").count(), 1, "{stderr}");
    assert!(!stdout.contains("signing_secret") && !stderr.contains("signing_secret"));
    // The references are in the TOML instead.
    for reference in [
        "\"secret:smtp.auth_password\"",
        "\"secret:slack.api_url\"",
        "\"secret:pager.pagerduty.0.routing_key\"",
        "\"secret:hooks.webhook.0.url\"",
        "\"file:/etc/alertmanager/secrets/db-pagerduty-key\"",
        "authorization = { type = \"Bearer\", credentials = \"secret:http_config.authorization\" }",
        "authorization = { type = \"Bearer\", credentials = \"secret:hooks.webhook.3.authorization\" }",
        "basic_auth = { username = \"archive\", password = \"secret:hooks.webhook.4.password\" }",
        "url = \"https://deploy.example.com/hook\"\nsign = false\nbasic_auth = { username = \"deploy\", password = \"secret:hooks.webhook.1.password\" }",
        "/alertmanager/secrets/webhook-token\" }",
        "api_key = \"secret:opsgenie.opsgenie.0.api_key\"\napi_url = \"https://api.eu.opsgenie.com/\"\nmessage = \"am.opsgenie.opsgenie.0.message\"\npriority = \"P2\"\n",
        "api_key = \"secret:opsgenie.api_key\"\napi_url = \"https://api.eu.opsgenie.com/\"\ndescription = \"am.opsgenie.opsgenie.1.description\"\ntags = [\"mobile\", \"backend\"]\nsend_resolved = false\n",
        "webhook_url = \"secret:discord.discord.0.webhook_url\"\nmessage = \"am.discord.discord.0.message\"\n",
        "bot_token = \"secret:telegram.telegram.0.bot_token\"\nchat_id = -1001234567890\napi_url = \"http://10.0.0.7:8081\"\nmessage = \"am.telegram.telegram.0.message\"\ndisable_notifications = true\n",
    ] {
        assert!(stdout.contains(reference), "no {reference}:\n{stdout}");
    }
    // Every webhook is unsigned: the global credential goes to the two
    // webhooks without an http_config of their own.
    assert_eq!(
        stdout
            .matches("[[notify.receivers.webhook_configs]]")
            .count(),
        7
    );
    assert_eq!(stdout.matches("\nsign = false\n").count(), 7, "{stdout}");
    assert!(!stdout.contains("\nsecret = "), "{stdout}");
    assert_eq!(
        stdout.matches("secret:http_config.authorization").count(),
        2
    );
}

#[test]
fn a_file_that_cannot_be_converted_is_refused_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.yml");
    std::fs::write(
        &bad,
        "route:\n  receiver: a\n  group_by: [alertname\nreceivers:\n  - name: a\n",
    )
    .unwrap();
    let out = import(&[bad.to_str().unwrap()], None, tmp.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("vigilctl: ") && err.contains("bad.yml: line 4") && err.contains("YAML"),
        "{err}"
    );
    let prometheus = tmp.path().join("prometheus.yml");
    std::fs::write(
        &prometheus,
        "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: node\n",
    )
    .unwrap();
    let out = import(&[prometheus.to_str().unwrap()], None, tmp.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not an Alertmanager configuration"), "{err}");
    let out = import(&["/nonexistent/alertmanager.yml"], None, tmp.path());
    assert_eq!(out.status.code(), Some(2));
}

/// A child process killed when the test ends, however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An RFC 3339 time `offset` seconds from now.
fn at(offset: i64) -> String {
    let now = i64::try_from(http::now_secs()).unwrap();
    jiff::Timestamp::from_second(now + offset)
        .unwrap()
        .to_string()
}

/// Fifty alerts mixing the names, severities, teams (or none),
/// environments (or none) and instances the routing fixture tells apart;
/// `id` names each one.
fn alerts() -> serde_json::Value {
    const NAMES: [&str; 6] = [
        "HighCPU",
        "DiskFull",
        "InstanceDown",
        "LatencyHigh",
        "BackupFailed",
        "Watchdog",
    ];
    const SEVERITIES: [&str; 3] = ["critical", "warning", "info"];
    const TEAMS: [Option<&str>; 4] = [Some("db"), Some("web"), Some("infra"), None];
    const ENVS: [Option<&str>; 3] = [Some("prod"), Some("staging"), None];
    let ends = at(3600);
    let alerts: Vec<serde_json::Value> = (0..50)
        .map(|i| {
            let mut labels = serde_json::json!({
                "alertname": NAMES[i % 6],
                "severity": SEVERITIES[(i / 4) % 3],
                "instance": format!("host-{}", i % 13),
                "id": format!("a{i:02}"),
            });
            if let Some(team) = TEAMS[(i / 2) % 4] {
                labels["team"] = team.into();
            }
            if let Some(env) = ENVS[(i / 4) % 3] {
                labels["env"] = env.into();
            }
            serde_json::json!({
                "labels": labels,
                "annotations": {"summary": format!("alert {i}")},
                "endsAt": ends,
            })
        })
        .collect();
    serde_json::Value::Array(alerts)
}

/// Waits until `hook` has had requests and then none for four seconds
/// (both sides group for one to two seconds), and returns who got which
/// alert: (receiver path, `id` label).
fn settled(hook: &Receiver, who: &str) -> BTreeSet<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(90);
    let (mut count, mut changed) = (0, Instant::now());
    loop {
        let now = hook.received().len();
        if now != count {
            (count, changed) = (now, Instant::now());
        }
        if count > 0 && changed.elapsed() >= Duration::from_secs(4) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{who}: notifications did not settle ({count} so far)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut pairs = BTreeSet::new();
    for r in hook.received() {
        let body = r.json();
        assert_eq!(body["status"], "firing", "{who}: {body}");
        assert_eq!(body["truncatedAlerts"].as_u64().unwrap_or(0), 0, "{who}");
        for alert in body["alerts"].as_array().unwrap() {
            let id = alert["labels"]["id"].as_str().unwrap().to_string();
            pairs.insert((r.path.trim_start_matches('/').to_string(), id));
        }
    }
    pairs
}

fn push(addr: SocketAddr, key: Option<&str>, body: &serde_json::Value) {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_str()));
    }
    let reply = http::request(
        addr,
        "POST",
        "/api/v2/alerts",
        &headers,
        body.to_string().as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// The real Alertmanager with `yaml`; returns what `hook` was sent.
fn alertmanager_routes(dir: &Path, yaml: &str, hook: &Receiver) -> BTreeSet<(String, String)> {
    let config = dir.join("alertmanager.yml");
    std::fs::write(&config, yaml).unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.join("alertmanager.log")).unwrap();
    let _am = Killed(
        Command::new(which(&["prometheus-alertmanager", "alertmanager"]))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    vigil_tests::wait_for("Alertmanager to be ready", || {
        std::net::TcpStream::connect(addr).ok()?;
        (http::request(addr, "GET", "/-/ready", &[], b"").status == 200).then_some(())
    });
    push(addr, None, &alerts());
    settled(hook, "Alertmanager")
}

/// Vigil with the configuration imported from `yaml`; returns what
/// `hook` was sent.
fn vigil_routes(dir: &Path, yaml: &str, hook: &Receiver) -> BTreeSet<(String, String)> {
    let source = dir.join("alertmanager.yml");
    std::fs::write(&source, yaml).unwrap();
    let out = import(&[source.to_str().unwrap()], None, dir);
    let imported = ok(&out);
    // What the test harness adds: a free port (the imported webhooks are
    // unsigned and hold no credential, so nothing goes in the vault).
    let config = write_config(
        dir,
        &format!("[http]\nlisten = \"127.0.0.1:0\"\n\n{imported}"),
    );
    let daemon = Daemon::in_dir(&config, dir);
    let key = daemon.api_key();
    push(daemon.http_addr(), Some(&key), &alerts());
    let pairs = settled(hook, "Vigil");
    assert!(daemon.stop().success());
    pairs
}

fn by_receiver(pairs: &BTreeSet<(String, String)>) -> BTreeMap<&str, Vec<&str>> {
    let mut out: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (receiver, id) in pairs {
        out.entry(receiver.as_str()).or_default().push(id.as_str());
    }
    out
}

#[test]
fn the_imported_configuration_routes_like_the_real_alertmanager() {
    let tmp = tempfile::tempdir().unwrap();
    let template = std::fs::read_to_string(fixture("alertmanager.yml")).unwrap();
    assert!(template.contains(FIXTURE_PORT));

    let am_hook = Receiver::start();
    let am_dir = tmp.path().join("alertmanager");
    std::fs::create_dir(&am_dir).unwrap();
    let am_yaml = template.replace(FIXTURE_PORT, &format!("127.0.0.1:{}", am_hook.port()));
    let expected = alertmanager_routes(&am_dir, &am_yaml, &am_hook);

    let vigil_hook = Receiver::start();
    let vigil_dir = tmp.path().join("vigil");
    std::fs::create_dir(&vigil_dir).unwrap();
    let vigil_yaml = template.replace(FIXTURE_PORT, &format!("127.0.0.1:{}", vigil_hook.port()));
    let got = vigil_routes(&vigil_dir, &vigil_yaml, &vigil_hook);

    let (expected_map, got_map) = (by_receiver(&expected), by_receiver(&got));
    assert_eq!(
        got_map,
        expected_map,
        "Vigil's routing differs from Alertmanager's;\nonly Alertmanager: {:?}\nonly Vigil: {:?}",
        expected.difference(&got).collect::<Vec<_>>(),
        got.difference(&expected).collect::<Vec<_>>()
    );
    // The fixture exercises the tree: most receivers get something, the
    // muted and inactive routes nothing, and inhibition holds some back.
    assert_eq!(expected_map.len(), 7, "{expected_map:?}");
    for silent in ["db-quiet", "web-business-hours"] {
        assert!(
            !expected_map.contains_key(silent),
            "{silent}: {expected_map:?}"
        );
    }
    let delivered: BTreeSet<&str> = expected.iter().map(|(_, id)| id.as_str()).collect();
    assert!(delivered.len() < 50, "nothing was inhibited or muted");
}
