//! Helpers for end-to-end tests that run the real binaries: start `vigild`
//! (development mode or a given config), run `vigilctl` (also as another
//! user), stop or kill the daemon, read its output.

pub mod canary;
pub mod faults;
pub mod http;
pub mod nats;
pub mod receiver;
pub mod smtp;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// A workspace binary, next to the running test's own directory.
/// `cargo test --workspace` builds `vigild` and `vigilctl` (their packages
/// have integration tests of their own).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built; run the whole suite: cargo test --workspace",
        path.display()
    );
    path
}

/// Polls `found` every 50 ms until it gives something, for up to 30 s;
/// panics naming `what` when it never does.
pub fn wait_for<T>(what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(t) = found() {
            return t;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// Writes `DIR/vigil.toml` in the layout [`Daemon::in_dir`] expects (state
/// in `DIR/state`, socket `DIR/control.sock`, mode 0600) followed by
/// `rest`, and returns its path.
pub fn write_config(dir: &Path, rest: &str) -> PathBuf {
    let path = dir.join("vigil.toml");
    let text = format!(
        "[daemon]\nstate_dir = \"{}\"\nsocket = \"{}\"\nsocket_mode = \"0600\"\n\n{rest}",
        dir.join("state").display(),
        dir.join("control.sock").display(),
    );
    std::fs::write(&path, text).expect("write the configuration");
    path
}

/// Whether a dev banner line is its last (the `vigilctl ... status` hint).
pub fn banner_end(line: &str) -> bool {
    line.contains("--socket") && line.trim_end().ends_with(" status")
}

/// How a `vigild` that never became ready ended.
#[derive(Debug)]
pub struct NotReady {
    /// Its exit status.
    pub status: ExitStatus,
    /// Everything it wrote to stderr.
    pub stderr: String,
}

/// A running `vigild`.
pub struct Daemon {
    child: Child,
    /// The control socket.
    pub socket: PathBuf,
    /// The state directory.
    pub state_dir: PathBuf,
    stdout: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

fn collect_stderr(child: &mut Child) -> Arc<Mutex<String>> {
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut pipe = child.stderr.take().expect("stderr piped");
    let sink = stderr.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    stderr
}

fn stdout_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let pipe = child.stdout.take().expect("stdout piped");
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Daemon {
    /// `vigild --dev --state-dir DIR`, run in `cwd`; waits for "ready".
    pub fn dev(cwd: &Path, state_dir: Option<&Path>) -> Daemon {
        let mut cmd = Command::new(bin("vigild"));
        // Port 0: tests run side by side; `http_addr` says where it went.
        cmd.args(["--dev", "--listen", "127.0.0.1:0"])
            .current_dir(cwd);
        if let Some(dir) = state_dir {
            cmd.arg("--state-dir").arg(dir);
        }
        let state = cwd.join(state_dir.unwrap_or(Path::new("vigil-data")));
        Daemon::spawn(cmd, state.join("control.sock"), state)
    }

    /// `vigild --dev --state-dir DIR EXTRA...`, run in `cwd`; waits for "ready".
    pub fn dev_with(cwd: &Path, state_dir: &Path, extra: &[&str]) -> Daemon {
        let (cmd, state) = Daemon::dev_command(cwd, state_dir, extra);
        Daemon::spawn(cmd, state.join("control.sock"), state)
    }

    /// `vigild --dev --state-dir DIR EXTRA...` in `cwd`, and the state
    /// directory it will use.
    fn dev_command(cwd: &Path, state_dir: &Path, extra: &[&str]) -> (Command, PathBuf) {
        let mut cmd = Command::new(bin("vigild"));
        cmd.args(["--dev", "--listen", "127.0.0.1:0"])
            .arg("--state-dir")
            .arg(state_dir)
            .args(extra)
            .current_dir(cwd);
        (cmd, cwd.join(state_dir))
    }

    /// `vigild --config FILE`; waits until the socket answers.
    pub fn with_config(config: &Path, socket: &Path, state_dir: &Path) -> Daemon {
        let mut cmd = Command::new(bin("vigild"));
        cmd.arg("--config").arg(config);
        Daemon::spawn(cmd, socket.to_path_buf(), state_dir.to_path_buf())
    }

    /// `vigild --config FILE` for a config whose state directory is
    /// `DIR/state` and socket `DIR/control.sock`, the layout the tests'
    /// config writers use.
    pub fn in_dir(config: &Path, dir: &Path) -> Daemon {
        Daemon::with_config(config, &dir.join("control.sock"), &dir.join("state"))
    }

    /// `vigild --dev --state-dir DIR` in `cwd` with `env` added; how it
    /// ended if it exits before it is ready.
    pub fn try_dev_env(
        cwd: &Path,
        state_dir: &Path,
        env: &[(String, std::ffi::OsString)],
    ) -> Result<Daemon, NotReady> {
        let (mut cmd, state) = Daemon::dev_command(cwd, state_dir, &[]);
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        Daemon::try_spawn(cmd, state.join("control.sock"), state)
    }

    fn spawn(cmd: Command, socket: PathBuf, state_dir: PathBuf) -> Daemon {
        Daemon::try_spawn(cmd, socket, state_dir).unwrap_or_else(|e| {
            panic!(
                "vigild exited with {} before it was ready:\n{}",
                e.status, e.stderr
            )
        })
    }

    fn try_spawn(
        mut cmd: Command,
        socket: PathBuf,
        state_dir: PathBuf,
    ) -> Result<Daemon, NotReady> {
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("VIGIL_LOG", "info");
        let mut child = cmd.spawn().expect("start vigild");
        let stderr = collect_stderr(&mut child);
        let stdout = stdout_lines(&mut child);
        let mut daemon = Daemon {
            child,
            socket,
            state_dir,
            stdout,
            stderr,
        };
        match daemon.ready() {
            Ok(()) => Ok(daemon),
            Err(status) => {
                // Let the reader thread drain what is left of stderr.
                std::thread::sleep(Duration::from_millis(50));
                Err(NotReady {
                    status,
                    stderr: daemon.stderr(),
                })
            }
        }
    }

    /// Waits for "vigild ready"; the exit status if it exits first.
    fn ready(&mut self) -> Result<(), ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.stderr().contains("vigild ready") {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("vigild not ready within 60s:\n{}", self.stderr());
    }

    /// A new API key for every source (`vigilctl keys create`).
    pub fn api_key(&self) -> String {
        let created = ok(&self.ctl(&["--json", "keys", "create", "--name", "t"]));
        let created: serde_json::Value =
            serde_json::from_str(created.trim()).expect("keys create --json");
        created["secret"].as_str().expect("the key").to_string()
    }

    /// Everything the daemon wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Where the ingestion listener is (from its "ingestion listening" log line).
    pub fn http_addr(&self) -> std::net::SocketAddr {
        let stderr = self.stderr();
        stderr
            .lines()
            .filter(|l| l.contains("ingestion listening"))
            .find_map(|l| {
                let rest = &l[l.find("listen=")? + 7..];
                rest.split_whitespace().next()?.parse().ok()
            })
            .unwrap_or_else(|| panic!("no ingestion listener in the log:\n{stderr}"))
    }

    /// Lines the daemon printed on stdout so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.try_iter().collect()
    }

    /// Lines on stdout up to and including the first that `is_last` picks,
    /// waiting for it up to 30 s (the banner comes on its own pipe, so it
    /// can lag behind the "ready" line on stderr).
    pub fn stdout_until(&self, is_last: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut lines = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.stdout.recv_timeout(left) {
                Ok(line) => {
                    let last = is_last(&line);
                    lines.push(line);
                    if last {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        lines
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs `vigilctl --socket SOCKET ARGS...`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        Command::new(bin("vigilctl"))
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run vigilctl")
    }

    /// Runs `vigilctl` with `input` on its stdin.
    pub fn ctl_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        use std::io::Write;
        let mut child = Command::new(bin("vigilctl"))
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run vigilctl");
        child
            .stdin
            .take()
            .expect("stdin piped")
            .write_all(input)
            .expect("write stdin");
        child.wait_with_output().expect("vigilctl output")
    }

    /// Runs vigilctl as another uid/gid (and supplementary groups), via setpriv.
    pub fn ctl_as(&self, uid: u32, gid: u32, groups: &[u32], args: &[&str]) -> Output {
        as_user(uid, gid, groups)
            .arg(bin("vigilctl"))
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run setpriv")
    }

    /// Sends a signal.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        nix::sys::signal::kill(pid, signal).expect("signal vigild");
    }

    /// SIGTERM, and waits for the exit.
    pub fn stop(mut self) -> ExitStatus {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        self.wait()
    }

    /// Waits for it to exit on its own (up to 60 s); its status and stderr.
    pub fn exited(mut self) -> (ExitStatus, String) {
        let status = self.wait();
        std::thread::sleep(Duration::from_millis(50));
        (status, self.stderr())
    }

    /// SIGKILL, and waits.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill vigild");
        let _ = self.child.wait();
    }

    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("vigild did not stop within 60s:\n{}", self.stderr());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A `setpriv` command that runs what is appended to it as another
/// uid/gid (and supplementary groups, or none).
pub fn as_user(uid: u32, gid: u32, groups: &[u32]) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={uid}"))
        .arg(format!("--regid={gid}"));
    if groups.is_empty() {
        cmd.arg("--clear-groups");
    } else {
        let list: Vec<String> = groups.iter().map(u32::to_string).collect();
        cmd.arg(format!("--groups={}", list.join(",")));
    }
    cmd
}

/// stdout of a successful command (panics with stderr otherwise).
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "command failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Parses JSON lines.
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// A directory others may enter (for sockets other users must reach).
pub fn open_dir(parent: &Path, name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// A temporary directory whose ancestors others can traverse (tempfile
/// makes 0700 directories).
pub fn shared_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// Runs `vigild ARGS` expecting it to exit on its own within 30s; returns
/// its exit code and stderr.
pub fn vigild_fails(args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = Command::new(bin("vigild"));
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start vigild");
    let stderr = collect_stderr(&mut child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            std::thread::sleep(Duration::from_millis(50));
            let text = stderr.lock().unwrap_or_else(|e| e.into_inner()).clone();
            return (status.code(), text);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("vigild kept running; expected it to refuse to start");
}

/// `vigilctl emit MESSAGE` through `client`: the seq the daemon
/// acknowledged, or `None` once it refuses or is gone.
pub fn emit_acknowledged(client: &mut vigilctl::Client, message: &str) -> Option<u64> {
    let request = vigil_proto::Request::Events(vigil_proto::EventsRequest::Emit {
        message: message.to_string(),
        severity: vigil_store::Severity::Info,
        labels: Default::default(),
    });
    match client.call(&request) {
        Ok(vigil_proto::Response::Appended { head }) => Some(head.seq),
        _ => None,
    }
}

/// `NAME SHA256` lines of every secret in the state directory's store,
/// read offline (the daemon stopped) with the master key in `key`.
pub fn secret_digests(state: &Path, key: &Path) -> Vec<String> {
    let out = Command::new(bin("store-tool"))
        .arg("secrets")
        .arg(state.join("store"))
        .arg(key)
        .output()
        .expect("run store-tool");
    let mut lines: Vec<String> = ok(&out).lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// What [`secret_digests`] gives for these `(name, value)` secrets.
pub fn expected_digests(secrets: &[(String, String)]) -> Vec<String> {
    let mut lines: Vec<String> = secrets
        .iter()
        .map(|(n, v)| format!("{n} {}", vigil_store::Hash::sha256(v.as_bytes()).to_hex()))
        .collect();
    lines.sort();
    lines
}

/// Files under `dir` whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle)
            {
                hits.push(path);
            }
        }
    }
    hits
}
