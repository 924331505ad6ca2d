//! Snapshots of what `vigilctl` prints, for every command, in human form and
//! with `--json`, against a real daemon: a change of wording, of a column or
//! of a JSON field is a reviewed diff of a `.snap` file (in `ctl_output/`).
//!
//! Each test drives one daemon through one area, command after command, and
//! snapshots the transcript: the command line, its exit status, stdout, and
//! stderr when there is any. What differs from run to run (times, ages,
//! durations, pids, the temporary directory, hashes, ids and keys, the
//! caller's uid and name) is replaced by a placeholder ([`filters`]); the
//! rest, seqs included, is the same every run because each area's commands
//! run one after the other against a daemon of its own.
//!
//! With `CI=true` (as in CI) a missing or different snapshot fails; locally,
//! `INSTA_UPDATE=always cargo test --release --test e2e ctl_output` (or
//! `cargo insta review`) writes them.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use vigil_tests::receiver::Receiver;
use vigil_tests::{Daemon, bin, http, json_lines, ok, open_dir, shared_tempdir};

const SECRET: &str = "whsec_dGVzdC1vbmx5LXdlYmhvb2stc2lnbmluZy1rZXk=";
const VIEWER: u32 = 4242;
const WAIT: Duration = Duration::from_secs(30);

/// A daemon of its own in a temporary directory others may traverse:
/// root is admin, uid [`VIEWER`] a viewer; an alertmanager source `am`; a
/// master key for secrets; and `extra` (e.g. notification routing).
struct Session {
    tmp: tempfile::TempDir,
    dir: PathBuf,
    daemon: Option<Daemon>,
    transcript: String,
}

impl Session {
    fn start(extra: &str) -> Session {
        Session::start_with(|_| extra.to_string())
    }

    /// [`Session::start`] with the extra configuration made from the
    /// session's directory, before the daemon starts (a tree to watch).
    fn start_with(extra: impl FnOnce(&Path) -> String) -> Session {
        use std::os::unix::fs::PermissionsExt;
        let tmp = shared_tempdir();
        let dir = tmp.path().to_path_buf();
        let extra = extra(&dir);
        let run = open_dir(&dir, "run");
        let socket = run.join("control.sock");
        let key = dir.join("master.key");
        std::fs::write(&key, "ab".repeat(32)).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let config = dir.join("vigil.toml");
        std::fs::write(
            &config,
            format!(
                r#"[daemon]
state_dir = "{state}"
socket = "{socket}"
socket_mode = "0666"

[http]
listen = "127.0.0.1:0"

[access.users]
"0" = "admin"
"{VIEWER}" = "viewer"

[secrets]
master_key_file = "{key}"
master_key_env = "VIGIL_TEST_MASTER_KEY_UNSET"

[sources.am]
driver = "alertmanager"

{extra}
"#,
                state = dir.join("state").display(),
                socket = socket.display(),
                key = key.display(),
            ),
        )
        .unwrap();
        let daemon = Daemon::with_config(&config, &socket, &dir.join("state"));
        Session {
            tmp,
            dir,
            daemon: Some(daemon),
            transcript: String::new(),
        }
    }

    fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().expect("the daemon is running")
    }

    /// Stops the daemon (cleanly).
    fn stop(&mut self) {
        let daemon = self.daemon.take().expect("the daemon is running");
        assert!(daemon.stop().success());
    }

    /// Starts the daemon again on the same configuration and state.
    fn restart(&mut self) {
        assert!(self.daemon.is_none(), "stop it first");
        let daemon = Daemon::with_config(
            &self.dir.join("vigil.toml"),
            &self.dir.join("run/control.sock"),
            &self.dir.join("state"),
        );
        self.daemon = Some(daemon);
    }

    /// Waits until the daemon's log holds `needle` `n` times. Waiting on
    /// the log, not with vigilctl: each connection is an entry in the log,
    /// so polling would move the seqs the transcript shows.
    fn wait_log(&self, needle: &str, n: usize) {
        let deadline = Instant::now() + WAIT;
        while self.daemon().stderr().matches(needle).count() < n {
            assert!(
                Instant::now() < deadline,
                "{needle:?} not {n} times in the log:\n{}",
                self.daemon().stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs `vigilctl ARGS` and adds it to the transcript; returns stdout.
    fn run(&mut self, args: &[&str]) -> String {
        let out = Command::new(bin("vigilctl"))
            .arg("--socket")
            .arg(self.dir.join("run/control.sock"))
            .args(args)
            .output()
            .unwrap();
        self.record(args, &out, Shape::AsPrinted)
    }

    /// [`Session::run`], shown in `shape`.
    fn run_shaped(&mut self, args: &[&str], shape: Shape) -> String {
        let out = Command::new(bin("vigilctl"))
            .arg("--socket")
            .arg(self.dir.join("run/control.sock"))
            .args(args)
            .output()
            .unwrap();
        self.record(args, &out, shape)
    }

    /// Runs `vigilctl ARGS` with `input` on stdin, into the transcript.
    fn run_stdin(&mut self, args: &[&str], input: &[u8]) -> String {
        let out = self.daemon().ctl_stdin(args, input);
        self.record(args, &out, Shape::AsPrinted)
    }

    /// Runs `vigilctl ARGS` as the viewer, into the transcript.
    fn run_as_viewer(&mut self, args: &[&str]) -> String {
        let out = self.daemon().ctl_as(VIEWER, VIEWER, &[], args);
        let mut shown = vec!["(as the viewer)"];
        shown.extend_from_slice(args);
        self.record(&shown, &out, Shape::AsPrinted)
    }

    /// Runs `vigilctl ARGS`, then `vigilctl --json ARGS`.
    fn both(&mut self, args: &[&str]) -> (String, String) {
        let human = self.run(args);
        let mut json = vec!["--json"];
        json.extend_from_slice(args);
        (human, self.run(&json))
    }

    /// [`Session::both`], the human form with its column gaps squeezed
    /// ([`Shape::Squeezed`]).
    fn both_squeezed(&mut self, args: &[&str]) {
        self.run_shaped(args, Shape::Squeezed);
        let mut json = vec!["--json"];
        json.extend_from_slice(args);
        self.run(&json);
    }

    /// [`Session::both`] for a listing in an order that varies from run to
    /// run (by random id): its rows are shown sorted ([`Shape::Sorted`]).
    fn both_sorted(&mut self, args: &[&str]) {
        self.run_shaped(args, Shape::Sorted);
        let mut json = vec!["--json"];
        json.extend_from_slice(args);
        self.run_shaped(&json, Shape::Sorted);
    }

    fn record(&mut self, args: &[&str], out: &Output, shape: Shape) -> String {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let (shown, note) = match shape {
            Shape::AsPrinted => (stdout.clone(), ""),
            Shape::Squeezed => (squeeze_columns(&stdout), "   [column gaps squeezed]"),
            Shape::Sorted => (
                sort_rows(&stdout, !args.contains(&"--json")),
                "   [rows sorted]",
            ),
        };
        self.transcript.push_str(&format!(
            "$ vigilctl {}{note}\n[exit {}]\n{shown}",
            args.join(" "),
            out.status
                .code()
                .map_or_else(|| out.status.to_string(), |c| c.to_string())
        ));
        if !stderr.is_empty() {
            self.transcript.push_str(&format!("[stderr]\n{stderr}"));
        }
        self.transcript.push('\n');
        stdout
    }

    /// Adds lines read elsewhere (a follow) to the transcript.
    fn note(&mut self, title: &str, lines: &[String]) {
        self.transcript.push_str(&format!("$ {title}\n"));
        for line in lines {
            self.transcript.push_str(line);
            self.transcript.push('\n');
        }
        self.transcript.push('\n');
    }

    /// Snapshots the transcript under `name`, with [`filters`].
    fn snapshot(self, name: &str) {
        let mut settings = filters(&self.dir);
        settings.set_snapshot_path("ctl_output");
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.bind(|| insta::assert_snapshot!(name, self.transcript));
        drop(self.tmp);
    }
}

/// Replaces what differs between runs with placeholders.
fn filters(dir: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    let me = nix::unistd::getuid();
    let gid = nix::unistd::getgid();
    let name = nix::unistd::User::from_uid(me)
        .ok()
        .flatten()
        .map(|u| u.name);
    // Paths first: they hold digits and letters the others would match.
    // The temporary directory may be reached through a symlink (macOS), so
    // its canonical form too.
    for path in [dir.to_path_buf(), dir.canonicalize().unwrap()] {
        s.add_filter(&regex_escape(&path.display().to_string()), "[TMP]");
    }
    // The version: a release is not a change of wording.
    s.add_filter(
        &format!(r"\b{}\b", regex_escape(env!("CARGO_PKG_VERSION"))),
        "[VERSION]",
    );
    // Times: RFC 3339 (human), UTC micros (JSON), ages and durations.
    s.add_filter(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
        "[TIME]",
    );
    s.add_filter(r"\b1\d{15}\b", "[MICROS]");
    s.add_filter(
        r"((\d+(ms|us|ns|s|m|h|d|days?|months?|years?|y|w))\s*)+ago",
        "[AGE] ago",
    );
    s.add_filter(r"(uptime\s+)\S.*", "${1}[UPTIME]");
    // How long a file integrity scan took.
    s.add_filter(r"bytes hashed in \S+", "bytes hashed in [DURATION]");
    s.add_filter(r#""duration_ms":\d+"#, r#""duration_ms":"[N]""#);
    // A directory's size is the file system's (4096 on ext4, its entries'
    // on tmpfs), in a listing's row and in JSON.
    s.add_filter(r"(\bdir +\d{4} +\S+ +)\d+", "${1}[DIRSIZE]");
    s.add_filter(
        r#"("file_type":"dir","sha256":null,"size":)\d+"#,
        r#"${1}"[DIRSIZE]""#,
    );
    s.add_filter(r#""uptime_secs":\d+"#, r#""uptime_secs":"[UPTIME]""#);
    // What depends on timing inside the daemon: how its writer batched
    // commits, and how far the start-up verification (run beside the
    // first requests) got.
    s.add_filter(
        r"entries in \d+ commits, \d+ fsyncs",
        "entries in [N] commits, [N] fsyncs",
    );
    s.add_filter(r#""commits":\d+"#, r#""commits":"[N]""#);
    s.add_filter(r#""syncs":\d+"#, r#""syncs":"[N]""#);
    s.add_filter(r"ok, \d+ entries, at", "ok, [N] entries, at");
    s.add_filter(
        r#"("last_verify":\{"at":\[MICROS\],"ok":true,"entries":)\d+"#,
        r#"${1}"[N]""#,
    );
    // Pids (the daemon's and vigilctl's, in who-did-it strings).
    s.add_filter(r"\bpid \d+", "pid [PID]");
    s.add_filter(r#""pid":( ?)\d+"#, r#""pid":${1}"[PID]""#);
    // Hashes (digests, links, tags, store ids) and API keys.
    s.add_filter(r"\b[0-9a-f]{64}\b", "[HASH]");
    s.add_filter(r"\b[0-9a-f]{32}\b", "[HEX32]");
    s.add_filter(r"vgl_[A-Za-z0-9_\-]+", "vgl_[KEY]");
    // The seq of a notification's intent follows how many times the test
    // polled for the previous one's outcome (each poll is a logged
    // connection).
    s.add_filter(r#""intent_seq":\d+"#, r#""intent_seq":"[SEQ]""#);
    // Random ids: notifications' (16 hex digits) and API keys' (8).
    s.add_filter(r"\bntf_[0-9a-f]{16}\b", "ntf_[ID]");
    s.add_filter(r"\b[0-9a-f]{8}\b", "[KEYID]");
    // The caller: its uid and name (root in CI, someone else elsewhere).
    s.add_filter(&format!(r"\buid {me}\b"), "uid [UID]");
    s.add_filter(&format!(r#""uid":( ?){me}\b"#), r#""uid":${1}"[UID]""#);
    s.add_filter(&format!(r#""gid":( ?){gid}\b"#), r#""gid":${1}"[GID]""#);
    // A recorded file's owner, in numbers (`vigilctl files show`).
    s.add_filter(&format!(r"\({me}:{gid}\)"), "([UID]:[GID])");
    if let Some(name) = name {
        s.add_filter(&format!(r"\b{}\b", regex_escape(&name)), "[USER]");
    }
    s
}

/// How a command's stdout is shown in a transcript.
#[derive(Clone, Copy)]
enum Shape {
    /// As printed.
    AsPrinted,
    /// For a table with a column whose width follows a value the filters
    /// replace (a pid's digits, an age): runs of spaces between columns
    /// are squeezed to two, so the rest does not depend on that value.
    Squeezed,
    /// For a listing ordered by random ids: rows sorted by all but those
    /// ids (the header stays first).
    Sorted,
}

/// The rows of a listing sorted by what is not random in them: a table's
/// (after its header, `header`) by all but their first column (the key's
/// random prefix), JSON lines by all but their `id` and `prefix`.
fn sort_rows(text: &str, header: bool) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    let skip = usize::from(header).min(lines.len());
    lines[skip..].sort_by_cached_key(|line| {
        if header {
            line.split_once(' ')
                .map_or("", |(_, rest)| rest)
                .to_string()
        } else {
            let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(object) = value.as_object_mut() {
                object.remove("id");
                object.remove("prefix");
            }
            value.to_string()
        }
    });
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// Every run of two or more spaces inside a line made two.
pub(crate) fn squeeze_columns(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut spaces = 0;
        for c in line.chars() {
            if c == ' ' {
                spaces += 1;
                continue;
            }
            out.push_str(&" ".repeat(spaces.min(2)));
            spaces = 0;
            out.push(c);
        }
        out.push('\n');
    }
    out
}

/// `text` as a regex matching itself.
pub(crate) fn regex_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if r"\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/webhooks")
            .join(path),
    )
    .unwrap()
}

/// Lines a running `vigilctl ... --follow` prints, as they come.
fn follow(socket: &Path, args: &[&str]) -> (std::process::Child, mpsc::Receiver<String>) {
    let mut child = Command::new(bin("vigilctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn next_line(rx: &mpsc::Receiver<String>) -> String {
    rx.recv_timeout(WAIT)
        .expect("a line from vigilctl --follow")
}

#[test]
fn status_emit_events_and_logins() {
    let mut s = Session::start("");
    s.both(&["status"]);
    s.both(&["emit", "-m", "disk replaced", "--label", "host=db-1"]);
    s.both(&[
        "emit",
        "-m",
        "failover done",
        "--severity",
        "warning",
        "--label",
        "host=db-2",
        "--label",
        "team=storage",
    ]);
    s.both(&["events", "list", "--kind", "custom"]);
    s.both(&["events", "list", "--kind", "custom", "--limit", "1"]);
    s.both(&[
        "events", "list", "--kind", "custom", "--from", "1", "--limit", "1",
    ]);
    s.both(&["events", "list", "--kind", "genesis"]);
    s.both(&["events", "tail", "-n", "1", "--kind", "custom"]);
    let listed = json_lines(&ok(&s
        .daemon()
        .ctl(&["--json", "events", "list", "--kind", "custom"])));
    let seq = listed[0]["seq"].as_u64().unwrap().to_string();
    s.both(&["events", "show", &seq]);
    s.both(&["events", "show", "999999"]);

    // Follow, bounded: the newest custom event, then one emitted while
    // following; then this test stops its vigilctl.
    for json in [false, true] {
        let mut args = vec!["events", "tail", "-n", "1", "--follow", "--kind", "custom"];
        if json {
            args.insert(0, "--json");
        }
        let (mut child, rx) = follow(&s.daemon().socket, &args);
        let first = next_line(&rx);
        let message = format!("while following (json: {json})");
        ok(&s.daemon().ctl(&["emit", "-m", &message]));
        let second = next_line(&rx);
        child.kill().unwrap();
        child.wait().unwrap();
        s.note(
            &format!("vigilctl {}   (stopped after two lines)", args.join(" ")),
            &[first, second],
        );
    }

    s.both_squeezed(&["logins", "--limit", "3"]);
    s.run_as_viewer(&["emit", "-m", "not allowed"]);
    s.both_squeezed(&["logins", "--limit", "3"]);
    s.both(&["status"]);
    s.snapshot("status_emit_events_and_logins");
}

#[test]
fn verify_doctor_and_reload() {
    let mut s = Session::start("");
    ok(&s.daemon().ctl(&["emit", "-m", "something to verify"]));
    s.both(&["verify"]);
    s.both(&["verify", "--deep"]);
    let key = s.daemon().state_dir.join("verification.key");
    let key = key.to_str().unwrap().to_string();
    s.both(&["verify", "--key", &key]);
    let status = json_lines(&ok(&s.daemon().ctl(&["--json", "status"])));
    let anchor = format!(
        "{}:{}",
        status[0]["head"]["seq"].as_u64().unwrap(),
        status[0]["head"]["link"].as_str().unwrap()
    );
    s.both(&["verify", "--anchor", &anchor]);
    s.both(&["verify", "--anchor", &format!("1:{}", "0".repeat(64))]);
    s.both(&["verify", "--anchor", "nonsense"]);
    s.both(&["doctor"]);
    s.both(&["reload"]);
    // A configuration that does not parse is refused; the old one stays.
    let config = s.dir.join("vigil.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{good}\n[nonsense\n")).unwrap();
    s.both(&["reload"]);
    std::fs::write(&config, good).unwrap();
    s.run(&["reload"]);
    s.run_as_viewer(&["reload"]);
    s.stop();
    let state = s.dir.join("state");
    let state = state.to_str().unwrap().to_string();
    s.both(&["verify", "--offline", "--state-dir", &state, "--key", &key]);
    s.snapshot("verify_doctor_and_reload");
}

#[test]
fn secrets_set_list_delete_rotate() {
    use std::os::unix::fs::PermissionsExt;
    let mut s = Session::start("");
    s.run(&["--json", "secrets", "list"]);
    s.run_stdin(&["secrets", "set", "smtp_password"], b"hunter2\n");
    s.run_stdin(&["--json", "secrets", "set", "webhook_token"], b"tok-123");
    s.run_stdin(&["secrets", "set", "bad name!"], b"x");
    s.both(&["secrets", "list"]);
    s.both(&["secrets", "list", "--limit", "1"]);
    s.both(&["secrets", "rotate"]);
    s.both(&["secrets", "list"]);
    let new_key = s.dir.join("new-master.key");
    std::fs::write(&new_key, "cd".repeat(32)).unwrap();
    std::fs::set_permissions(&new_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let new_key = new_key.to_str().unwrap().to_string();
    s.run(&["secrets", "rewrap", "--new-key-file", &new_key]);
    let loose = s.dir.join("loose.key");
    std::fs::write(&loose, "ef".repeat(32)).unwrap();
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    s.run(&[
        "--json",
        "secrets",
        "rewrap",
        "--new-key-file",
        loose.to_str().unwrap(),
    ]);
    s.run(&["secrets", "delete", "smtp_password"]);
    s.run(&["--json", "secrets", "delete", "webhook_token"]);
    s.both(&["secrets", "delete", "nothing_here"]);
    s.run(&["--json", "secrets", "list"]);
    s.run_as_viewer(&["secrets", "list"]);
    s.snapshot("secrets_set_list_delete_rotate");
}

#[test]
fn keys_create_list_revoke() {
    let mut s = Session::start("");
    s.run(&["--json", "keys", "list"]);
    s.run(&["keys", "create", "--name", "prometheus", "--source", "am"]);
    s.both(&["keys", "list"]);
    s.run(&[
        "--json",
        "keys",
        "create",
        "--name",
        "ci",
        "--expires",
        "90d",
    ]);
    s.both(&["keys", "create", "--name", "x", "--source", "nosuchsource"]);
    // Keys are listed by id, which is random: two show sorted.
    s.both_sorted(&["keys", "list"]);
    let keys = json_lines(&ok(&s.daemon().ctl(&["--json", "keys", "list"])));
    let id = |name: &str| {
        keys.iter()
            .find(|k| k["name"] == name)
            .and_then(|k| k["id"].as_str())
            .unwrap()
            .to_string()
    };
    let (ci, prometheus) = (id("ci"), id("prometheus"));
    s.run(&["keys", "revoke", &ci]);
    s.run(&["--json", "keys", "revoke", &prometheus]);
    s.both(&["keys", "revoke", "nosuchkey"]);
    s.both_sorted(&["keys", "list"]);
    s.run_as_viewer(&["keys", "create", "--name", "sneaky"]);
    s.snapshot("keys_create_list_revoke");
}

#[test]
fn keys_list_stops_at_a_limit() {
    // Two keys alike but for their random ids and prefixes (filtered), so
    // whichever is listed first the output is the same.
    let mut s = Session::start("");
    for _ in 0..2 {
        ok(&s
            .daemon()
            .ctl(&["keys", "create", "--name", "twin", "--source", "am"]));
    }
    s.both(&["keys", "list", "--limit", "1"]);
    s.snapshot("keys_list_stops_at_a_limit");
}

#[test]
fn incidents_list_show_ack_resolve_note() {
    let mut s = Session::start("");
    s.run(&["--json", "incidents", "list"]);
    let key = s.daemon().api_key();
    let reply = http::ingest(
        s.daemon().http_addr(),
        "am",
        &key,
        &[],
        &fixture("alertmanager/firing.json"),
    );
    assert_eq!(reply.status, 202, "{reply:?}");
    s.both(&["incidents", "list"]);
    s.both(&["incidents", "list", "--limit", "1"]);
    let incidents = json_lines(&ok(&s.daemon().ctl(&["--json", "incidents", "list"])));
    let first = incidents[0]["id"].as_str().unwrap().to_string();
    let second = incidents[1]["id"].as_str().unwrap().to_string();
    s.both(&["incidents", "show", &first]);
    s.run(&["incidents", "ack", &first, "--note", "on it"]);
    s.run(&["--json", "incidents", "ack", &second]);
    s.run(&["incidents", "note", &first, "disk ordered"]);
    s.run(&["--json", "incidents", "note", &second, "looking"]);
    s.both(&["incidents", "list", "--state", "acked"]);
    s.run(&["incidents", "resolve", &first, "--note", "disk replaced"]);
    s.run(&["--json", "incidents", "resolve", &second]);
    s.both(&["incidents", "list", "--state", "resolved"]);
    s.both(&["incidents", "list", "--state", "bogus"]);
    s.both(&["incidents", "show", &first]);
    s.both(&["incidents", "show", "999"]);
    s.both(&["incidents", "ack", "999"]);
    s.run_as_viewer(&["incidents", "ack", &first]);
    s.snapshot("incidents_list_show_ack_resolve_note");
}

#[test]
fn silences_add_list_expire() {
    let mut s = Session::start("");
    s.run(&["--json", "silences", "list"]);
    s.run(&[
        "silences",
        "add",
        "--matcher",
        "env=\"prod\"",
        "--matcher",
        "alertname=~\"Disk.*\"",
        "--duration",
        "2h",
        "--comment",
        "disk replacement",
    ]);
    s.run(&[
        "--json",
        "silences",
        "add",
        "--matcher",
        "host=db-1",
        "--duration",
        "1h",
        "--starts-in",
        "3h",
        "--comment",
        "planned",
    ]);
    s.both(&[
        "silences",
        "add",
        "--matcher",
        "nonsense",
        "--duration",
        "1h",
        "--comment",
        "x",
    ]);
    s.both_squeezed(&["silences", "list"]);
    s.both_squeezed(&["silences", "list", "--limit", "1"]);
    let silences = json_lines(&ok(&s.daemon().ctl(&["--json", "silences", "list"])));
    let first = silences[0]["id"].as_str().unwrap().to_string();
    let second = silences[1]["id"].as_str().unwrap().to_string();
    s.run(&["silences", "expire", &first]);
    s.run(&["--json", "silences", "expire", &second]);
    s.both(&["silences", "expire", "999"]);
    s.run(&["--json", "silences", "list"]);
    s.both_squeezed(&["silences", "list", "--all"]);
    s.run_as_viewer(&["silences", "expire", &first]);
    s.snapshot("silences_add_list_expire");
}

#[test]
fn notify_test_and_deliveries_list() {
    let receiver = Receiver::start();
    let mut s = Session::start(&format!(
        r#"[notify]
allow = ["127.0.0.1"]

[notify.route]
receiver = "ops"

[[notify.receivers]]
name = "ops"
[[notify.receivers.webhook_configs]]
url = "{url}"
secret = "{SECRET}"
"#,
        url = receiver.url("/hook")
    ));
    s.run(&["--json", "deliveries", "list"]);
    s.run(&["notify", "test", "ops"]);
    wait_sent(s.daemon(), 1);
    s.run(&["--json", "notify", "test", "ops"]);
    wait_sent(s.daemon(), 2);
    assert_eq!(receiver.wait_for(2, WAIT).len(), 2);
    s.both(&["notify", "test", "nobody"]);
    s.both_squeezed(&["deliveries", "list"]);
    s.both_squeezed(&["deliveries", "list", "--limit", "1"]);
    s.both_squeezed(&["deliveries", "list", "--state", "sent", "--receiver", "ops"]);
    s.run(&["--json", "deliveries", "list", "--state", "given_up"]);
    s.both(&["deliveries", "list", "--state", "bogus"]);
    s.run_as_viewer(&["notify", "test", "ops"]);
    s.snapshot("notify_test_and_deliveries_list");
}

/// Waits until `n` deliveries are listed `sent` (the outcome is recorded
/// after the receiver answered).
fn wait_sent(daemon: &Daemon, n: usize) {
    let deadline = Instant::now() + WAIT;
    loop {
        let listed = json_lines(&ok(&daemon.ctl(&[
            "--json",
            "deliveries",
            "list",
            "--state",
            "sent",
        ])));
        if listed.len() >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{n} deliveries not sent: {listed:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every listing with nothing to list, in human form: the header alone.
#[test]
fn empty_listings_print_their_header() {
    let receiver = Receiver::start();
    let mut s = Session::start(&format!(
        "[notify]\nallow = [\"127.0.0.1\"]\n\n[notify.route]\nreceiver = \"ops\"\n\n\
         [[notify.receivers]]\nname = \"ops\"\n[[notify.receivers.webhook_configs]]\n\
         url = \"{}\"\nsecret = \"{SECRET}\"\n",
        receiver.url("/hook")
    ));
    for args in [
        ["secrets", "list"].as_slice(),
        &["keys", "list"],
        &["incidents", "list"],
        &["silences", "list"],
        &["deliveries", "list"],
        &["files", "list"],
    ] {
        let out = s.run(args);
        assert!(!out.is_empty(), "vigilctl {args:?} printed no header");
    }
    s.snapshot("empty_listings_print_their_header");
}

/// `vigilctl files …` with no `[[collect.files]]`: an empty listing, no
/// record of a path, a scan refused as not configured (and a viewer's as
/// not allowed). The collector's own output is snapshotted with it.
#[test]
fn files_without_file_integrity() {
    let mut s = Session::start("");
    s.both(&["files", "list"]);
    s.both(&["files", "list", "--path", "/etc"]);
    s.both(&["files", "show", "/etc/passwd"]);
    s.both(&["files", "scan"]);
    s.run_as_viewer(&["files", "scan"]);
    s.snapshot("files_without_file_integrity");
}

/// `vigilctl files …` and `status` with the collector running on a small
/// tree (`report_changes`): the baseline, a subtree, a path's history with
/// a change made while vigild was stopped and its diff, a scan on request,
/// and the status lines. The daemon is restarted rather than polled, so
/// the seqs shown are the same every run.
#[test]
fn files_with_file_integrity() {
    use std::os::unix::fs::PermissionsExt;
    let mut s = Session::start_with(|dir| {
        let tree = dir.join("w");
        std::fs::create_dir_all(tree.join("sub")).unwrap();
        for (path, text, mode) in [
            ("conf", "port = 22\n", 0o644),
            ("sub/a", "alpha\n", 0o644),
            ("sub/b", "beta\n", 0o600),
        ] {
            std::fs::write(tree.join(path), text).unwrap();
            std::fs::set_permissions(tree.join(path), std::fs::Permissions::from_mode(mode))
                .unwrap();
        }
        for d in [&tree, &tree.join("sub")] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::os::unix::fs::symlink("conf", tree.join("link")).unwrap();
        let root = tree.canonicalize().unwrap();
        format!(
            "[collect]\nallowed_roots = [\"{root}\"]\n\n[[collect.files]]\nname = \"w\"\npaths = [\"{root}\"]\nreport_changes = true\n",
            root = root.display()
        )
    });
    const FINISHED: &str = "file integrity scan finished";
    s.wait_log(FINISHED, 1);
    let tree = s.dir.canonicalize().unwrap().join("w");
    let at = |p: &str| format!("{}{p}", tree.display());
    s.both_squeezed(&["files", "list"]);
    s.both_squeezed(&["files", "list", "--path", &at("/sub")]);
    s.both(&["files", "show", &at("/conf")]);

    // Changed while vigild is stopped: the next start reports it.
    s.stop();
    std::fs::write(tree.join("conf"), "port = 22\nPermitRootLogin yes\n").unwrap();
    s.restart();
    s.wait_log(FINISHED, 1);
    s.both(&["files", "show", &at("/conf")]);
    s.both(&["files", "show", &at("/link")]);
    s.both(&["status"]);

    // A scan on request (not on a terminal: no progress bar).
    s.run(&["files", "scan"]);
    s.wait_log(FINISHED, 2);
    s.run(&["--json", "files", "scan"]);
    s.wait_log(FINISHED, 3);
    s.both_squeezed(&["files", "list"]);
    s.snapshot("files_with_file_integrity");
}

#[test]
fn connection_access_and_usage_errors() {
    let mut s = Session::start("");
    // A uid the configuration does not name is refused at the door.
    let out = s.daemon().ctl_as(4343, 4343, &[], &["status"]);
    s.record(
        &["(as uid 4343, unmapped)", "status"],
        &out,
        Shape::AsPrinted,
    );
    let out = s.daemon().ctl_as(4343, 4343, &[], &["--json", "status"]);
    s.record(
        &["(as uid 4343, unmapped)", "--json", "status"],
        &out,
        Shape::AsPrinted,
    );
    // Usage errors, before any connection.
    s.run(&["emit"]);
    s.run(&["emit", "-m", "x", "--label", "nokey"]);
    s.run(&["emit", "-m", "x", "--severity", "loud"]);
    s.run(&["events", "list", "--kind", "nope"]);
    s.run(&["events", "show", "notaseq"]);
    s.run(&["keys", "create", "--name", "k", "--expires", "soon"]);
    s.run(&["silences", "add", "--matcher", "a=b", "--comment", "c"]);
    s.run(&["nosuchcommand"]);
    // No daemon at the socket.
    s.stop();
    s.both(&["status"]);
    s.snapshot("connection_access_and_usage_errors");
}
