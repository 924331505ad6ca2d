//! The plan: which calls to fail or crash, read once from the environment,
//! and the decision for each call. Nothing here calls a hooked function:
//! paths are read with `readlink`, reports written with raw syscalls.

#![allow(unsafe_code)]

use libc::{c_char, c_int};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The kinds of call a rule counts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Op {
    Write,
    /// fsync or fdatasync of a regular file; of a directory it is `DirSync`.
    Sync,
    DirSync,
    Rename,
}

/// What happens to a hit call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    /// Not made; fails with this errno.
    Fail(c_int),
    /// The process is killed with SIGKILL before the call.
    Crash,
    /// Only reported; the call goes on (to count the calls a run makes).
    Note,
}

struct Rule {
    op: Op,
    path: Vec<u8>,
    nth: u64,
    /// 0: every call from `nth` on.
    times: u64,
    action: Action,
    /// `do=` as written, for the report.
    action_name: String,
    seen: AtomicU64,
}

impl Rule {
    fn parse(text: &str) -> Result<Rule, String> {
        let mut rule = Rule {
            op: Op::Write,
            path: Vec::new(),
            nth: 1,
            times: 1,
            action: Action::Fail(libc::EIO),
            action_name: "eio".into(),
            seen: AtomicU64::new(0),
        };
        let mut has_op = false;
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}` is not key=value"))?;
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("{key}={value}: not a number"))
            };
            match key {
                "op" => {
                    rule.op = match value {
                        "write" => Op::Write,
                        "fsync" => Op::Sync,
                        "dirsync" => Op::DirSync,
                        "rename" => Op::Rename,
                        _ => return Err(format!("unknown op `{value}`")),
                    };
                    has_op = true;
                }
                "path" => rule.path = value.as_bytes().to_vec(),
                "nth" => rule.nth = number()?.max(1),
                "times" => rule.times = number()?,
                "do" => {
                    rule.action = match value {
                        "eio" => Action::Fail(libc::EIO),
                        "enospc" => Action::Fail(libc::ENOSPC),
                        "crash" => Action::Crash,
                        "note" => Action::Note,
                        _ => return Err(format!("unknown action `{value}`")),
                    };
                    rule.action_name = value.into();
                }
                _ => return Err(format!("unknown key `{key}`")),
            }
        }
        if !has_op {
            return Err(format!("`{text}` names no op"));
        }
        Ok(rule)
    }

    /// Counts the call if it is this rule's, and says whether it is hit.
    fn hits(&self, op: Op, paths: &[&[u8]]) -> bool {
        if op != self.op
            || !paths
                .iter()
                .any(|p| p.starts_with(b"/") && contains(p, &self.path))
        {
            return false;
        }
        let n = self.seen.fetch_add(1, Ordering::Relaxed) + 1;
        n >= self.nth && (self.times == 0 || n < self.nth + self.times)
    }
}

struct Plan {
    rules: Vec<Rule>,
    arm: Option<Vec<u8>>,
    armed: AtomicBool,
    report: Option<Vec<u8>>,
}

impl Plan {
    fn from_env() -> Option<Plan> {
        let text = env("VIGIL_FAULTS")?;
        let text = String::from_utf8_lossy(&text).into_owned();
        let mut rules = Vec::new();
        for part in text.split(';').filter(|p| !p.trim().is_empty()) {
            match Rule::parse(part) {
                Ok(rule) => rules.push(rule),
                Err(why) => die(format!("vigil-faults: VIGIL_FAULTS: {why}\n").as_bytes()),
            }
        }
        let arm = env("VIGIL_FAULTS_ARM");
        Some(Plan {
            rules,
            armed: AtomicBool::new(arm.is_none()),
            arm,
            report: env("VIGIL_FAULTS_REPORT"),
        })
    }

    fn armed(&self) -> bool {
        if self.armed.load(Ordering::Relaxed) {
            return true;
        }
        let Some(arm) = &self.arm else { return true };
        let mut buf = [0u8; PATH_MAX];
        let Some(path) = c_path(arm, &mut buf) else {
            return false;
        };
        // SAFETY: a NUL-terminated path in `buf`.
        let exists = unsafe { libc::access(path, libc::F_OK) } == 0;
        if exists {
            self.armed.store(true, Ordering::Relaxed);
        }
        exists
    }

    fn decide(&self, op: Op, paths: &[&[u8]]) -> Option<Action> {
        if !self.armed() {
            return None;
        }
        // Every rule counts the call, so each rule's `nth` is its own; the
        // first one hit decides.
        let hit: Vec<&Rule> = self.rules.iter().filter(|r| r.hits(op, paths)).collect();
        let rule = hit.first()?;
        self.report(rule, paths.first().copied().unwrap_or_default());
        Some(rule.action)
    }

    fn report(&self, rule: &Rule, path: &[u8]) {
        let Some(report) = &self.report else { return };
        let mut line = format!("{:?} {} ", rule.op, rule.action_name).into_bytes();
        line.extend_from_slice(path);
        line.push(b'\n');
        let mut buf = [0u8; PATH_MAX];
        let Some(name) = c_path(report, &mut buf) else {
            return;
        };
        let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC;
        // SAFETY: a NUL-terminated path; the descriptor is closed below.
        let fd = unsafe { libc::open(name, flags, 0o644) };
        if fd >= 0 {
            raw_write(fd, &line);
            // SAFETY: the descriptor opened above.
            unsafe { libc::close(fd) };
        }
    }
}

static PLAN: OnceLock<Option<Plan>> = OnceLock::new();

fn plan() -> Option<&'static Plan> {
    PLAN.get_or_init(Plan::from_env).as_ref()
}

const PATH_MAX: usize = libc::PATH_MAX as usize;

/// The decision for a call on a descriptor.
pub fn decide_fd(op: Op, fd: c_int) -> Option<Action> {
    let plan = plan()?;
    let op = if op == Op::Sync && is_dir(fd) {
        Op::DirSync
    } else {
        op
    };
    if !plan.rules.iter().any(|r| r.op == op) {
        return None;
    }
    let mut buf = [0u8; PATH_MAX];
    let path = fd_path(fd, &mut buf)?;
    plan.decide(op, &[path])
}

/// The decision for a rename of `old` to `new`, each relative to a
/// directory descriptor as in `renameat`.
pub fn decide_rename(old: (c_int, *const c_char), new: (c_int, *const c_char)) -> Option<Action> {
    let plan = plan()?;
    if !plan.rules.iter().any(|r| r.op == Op::Rename) {
        return None;
    }
    let (mut old_buf, mut new_buf) = ([0u8; PATH_MAX], [0u8; PATH_MAX]);
    let old = at_path(old, &mut old_buf)?;
    let new = at_path(new, &mut new_buf)?;
    plan.decide(Op::Rename, &[new, old])
}

fn is_dir(fd: c_int) -> bool {
    // SAFETY: fstat fills `st`, zeroed before.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    (unsafe { libc::fstat(fd, &mut st) } == 0) && (st.st_mode & libc::S_IFMT) == libc::S_IFDIR
}

/// The path a descriptor refers to, from /proc/self/fd.
fn fd_path(fd: c_int, buf: &mut [u8; PATH_MAX]) -> Option<&[u8]> {
    let mut link = [0u8; 64];
    let name = format!("/proc/self/fd/{fd}");
    link[..name.len()].copy_from_slice(name.as_bytes());
    // SAFETY: `link` is NUL-terminated (zeroed, shorter than 64 bytes);
    // readlink writes at most `buf.len()` bytes.
    let n = unsafe { libc::readlink(link.as_ptr().cast(), buf.as_mut_ptr().cast(), buf.len()) };
    let n = usize::try_from(n).ok()?;
    Some(&buf[..n])
}

/// An absolute path for `name` relative to `dir` (as in `renameat`).
fn at_path((dir, name): (c_int, *const c_char), buf: &mut [u8; PATH_MAX]) -> Option<&[u8]> {
    if name.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated string from the caller of rename.
    let name = unsafe { std::ffi::CStr::from_ptr(name) }.to_bytes();
    if name.starts_with(b"/") {
        let len = name.len().min(buf.len());
        buf[..len].copy_from_slice(&name[..len]);
        return Some(&buf[..len]);
    }
    let base_len = if dir == libc::AT_FDCWD {
        // SAFETY: getcwd writes a NUL-terminated path of at most the length.
        let got = unsafe { libc::getcwd(buf.as_mut_ptr().cast(), buf.len()) };
        if got.is_null() {
            return None;
        }
        buf.iter().position(|&b| b == 0)?
    } else {
        fd_path(dir, buf)?.len()
    };
    let total = base_len + 1 + name.len();
    if total > buf.len() {
        return None;
    }
    buf[base_len] = b'/';
    buf[base_len + 1..total].copy_from_slice(name);
    Some(&buf[..total])
}

/// `path` NUL-terminated in `buf`.
fn c_path(path: &[u8], buf: &mut [u8; PATH_MAX]) -> Option<*const c_char> {
    if path.len() >= buf.len() {
        return None;
    }
    buf[..path.len()].copy_from_slice(path);
    buf[path.len()] = 0;
    Some(buf.as_ptr().cast())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

fn env(name: &str) -> Option<Vec<u8>> {
    let name = std::ffi::CString::new(name).ok()?;
    // SAFETY: getenv with a NUL-terminated name; the value is copied at once.
    let value = unsafe { libc::getenv(name.as_ptr()) };
    if value.is_null() {
        return None;
    }
    // SAFETY: getenv returned a NUL-terminated string.
    Some(
        unsafe { std::ffi::CStr::from_ptr(value) }
            .to_bytes()
            .to_vec(),
    )
}

/// write(2) straight to the kernel, past the hooks.
fn raw_write(fd: c_int, bytes: &[u8]) {
    // SAFETY: a valid buffer and its length.
    unsafe { libc::syscall(libc::SYS_write, fd, bytes.as_ptr(), bytes.len()) };
}

/// Kills the process as `kill -9` would, at this very call.
pub fn crash() -> ! {
    // SAFETY: signals this process; SIGKILL cannot be caught.
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    loop {
        // SAFETY: waits for the signal to land.
        unsafe { libc::pause() };
    }
}

/// Writes `message` to stderr and aborts.
pub fn die(message: &[u8]) -> ! {
    raw_write(2, message);
    std::process::abort()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_with_defaults_and_refuse_typos() {
        let rule = Rule::parse("op=fsync,path=/s/db,nth=3,times=0,do=crash").unwrap();
        assert_eq!(
            (rule.op, rule.nth, rule.times, rule.action),
            (Op::Sync, 3, 0, Action::Crash)
        );
        let rule = Rule::parse("op=rename").unwrap();
        assert_eq!((rule.nth, rule.times), (1, 1));
        assert_eq!(rule.action, Action::Fail(libc::EIO));
        for bad in ["op=fsnyc", "do=eio", "op=write,nth=x", "op=write,when=1"] {
            assert!(Rule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_rule_hits_its_nth_matching_call_for_its_times() {
        let rule = Rule::parse("op=write,path=/db/,nth=2,times=2").unwrap();
        let hits: Vec<bool> = [
            &b"/x/db/1.jnl"[..],
            b"/x/other",
            b"/x/db/1.jnl",
            b"socket:[1]",
            b"/x/db/2.jnl",
            b"/x/db/2.jnl",
        ]
        .iter()
        .map(|p| rule.hits(Op::Write, &[p]))
        .collect();
        assert_eq!(hits, [false, false, true, false, true, false]);
        assert!(!rule.hits(Op::Sync, &[b"/x/db/1.jnl"]));
        let forever = Rule::parse("op=write,times=0,nth=2").unwrap();
        let hits: Vec<bool> = (0..4).map(|_| forever.hits(Op::Write, &[b"/f"])).collect();
        assert_eq!(hits, [false, true, true, true]);
    }
}
