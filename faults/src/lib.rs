//! Fault injection for the real binaries: loaded with `LD_PRELOAD`, this
//! library stands in front of libc's `write`, `pwrite64`, `writev`,
//! `pwritev`, `fsync`, `fdatasync`, `rename`, `renameat` and `renameat2`,
//! and fails or crashes the ones a plan names. Everything else passes
//! through untouched, so the daemon under test is the one that ships.
//!
//! The plan is read from the environment once:
//!
//! * `VIGIL_FAULTS`: rules separated by `;`, each a list of `key=value`
//!   separated by `,`:
//!   - `op`: `write`, `fsync` (a regular file's fsync or fdatasync),
//!     `dirsync` (fsync of a directory) or `rename`;
//!   - `path`: the call counts only if the file's path contains this
//!     (for a rename, either path); only paths starting with `/` count, so
//!     sockets and pipes never do;
//!   - `nth`: the first counted call that is hit (1-based, default 1);
//!   - `times`: how many calls from `nth` on are hit (default 1, a
//!     transient fault; `0` hits every one after, a persistent fault);
//!   - `do`: `eio` or `enospc` (the call is not made and fails with that
//!     error), `crash` (the process is killed with SIGKILL before the
//!     call is made), or `note` (only reported: to count the calls a run
//!     makes before choosing which to hit).
//! * `VIGIL_FAULTS_ARM`: counting starts only once this file exists, so a
//!   test can let the program start up untouched and arm the plan later.
//! * `VIGIL_FAULTS_REPORT`: a file to which one line is appended for every
//!   fault injected (`<op> <do> <path>`), so a test can tell that its fault
//!   really happened.
//!
//! A plan that does not parse aborts the process with a message, so a test
//! with a typo fails instead of silently running without faults.
//!
//! Rust's std and every crate above it reach the kernel through these libc
//! functions; `rustix` does too, because vigild builds it with its libc
//! backend (see daemon/Cargo.toml).

// Interposing libc functions is FFI by nature: every hook is an
// `extern "C"` function that forwards raw pointers to the real one.
#![allow(unsafe_code)]
#![allow(clippy::missing_safety_doc)]

mod plan;

use libc::{c_char, c_int, c_uint, c_void, iovec, off_t, size_t, ssize_t};
use plan::{Action, Op};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The next definition of `name` after this library (libc's).
fn next_symbol(cache: &AtomicUsize, name: &std::ffi::CStr) -> usize {
    let mut found = cache.load(Ordering::Relaxed);
    if found == 0 {
        // SAFETY: dlsym with a NUL-terminated name; RTLD_NEXT is valid in a
        // shared object.
        found = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) } as usize;
        if found == 0 {
            plan::die(b"vigil-faults: libc function not found\n");
        }
        cache.store(found, Ordering::Relaxed);
    }
    found
}

/// The real libc function `$name` with type `$ty`.
macro_rules! real {
    ($name:literal, $ty:ty) => {{
        static CACHE: AtomicUsize = AtomicUsize::new(0);
        let found = next_symbol(&CACHE, $name);
        // SAFETY: the symbol libc exports under this name has this type.
        unsafe { std::mem::transmute::<usize, $ty>(found) }
    }};
}

/// What to do with a call: `None` goes on with the real call, `Some(-1)`
/// returns a failure (errno set).
fn inject(action: Option<Action>) -> Option<c_int> {
    match action? {
        Action::Fail(errno) => {
            // SAFETY: errno is thread-local and always valid.
            unsafe { *libc::__errno_location() = errno };
            Some(-1)
        }
        Action::Crash => plan::crash(),
        Action::Note => None,
    }
}

fn on_fd(op: Op, fd: c_int) -> Option<c_int> {
    inject(plan::decide_fd(op, fd))
}

type WriteFn = unsafe extern "C" fn(c_int, *const c_void, size_t) -> ssize_t;
type PwriteFn = unsafe extern "C" fn(c_int, *const c_void, size_t, off_t) -> ssize_t;
type WritevFn = unsafe extern "C" fn(c_int, *const iovec, c_int) -> ssize_t;
type PwritevFn = unsafe extern "C" fn(c_int, *const iovec, c_int, off_t) -> ssize_t;
type SyncFn = unsafe extern "C" fn(c_int) -> c_int;
type RenameFn = unsafe extern "C" fn(*const c_char, *const c_char) -> c_int;
type RenameatFn = unsafe extern "C" fn(c_int, *const c_char, c_int, *const c_char) -> c_int;
type Renameat2Fn =
    unsafe extern "C" fn(c_int, *const c_char, c_int, *const c_char, c_uint) -> c_int;

/// libc's `write`, unless the plan says otherwise.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, count: size_t) -> ssize_t {
    if let Some(ret) = on_fd(Op::Write, fd) {
        return ret as ssize_t;
    }
    let real = real!(c"write", WriteFn);
    // SAFETY: forwards the caller's arguments unchanged.
    unsafe { real(fd, buf, count) }
}

/// libc's `pwrite64`, unless the plan says otherwise.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pwrite64(
    fd: c_int,
    buf: *const c_void,
    count: size_t,
    offset: off_t,
) -> ssize_t {
    if let Some(ret) = on_fd(Op::Write, fd) {
        return ret as ssize_t;
    }
    let real = real!(c"pwrite64", PwriteFn);
    // SAFETY: forwards the caller's arguments unchanged.
    unsafe { real(fd, buf, count, offset) }
}

/// libc's `writev`, unless the plan says otherwise.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const iovec, count: c_int) -> ssize_t {
    if let Some(ret) = on_fd(Op::Write, fd) {
        return ret as ssize_t;
    }
    let real = real!(c"writev", WritevFn);
    // SAFETY: forwards the caller's arguments unchanged.
    unsafe { real(fd, iov, count) }
}

/// libc's `pwritev`, unless the plan says otherwise.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pwritev(
    fd: c_int,
    iov: *const iovec,
    count: c_int,
    offset: off_t,
) -> ssize_t {
    if let Some(ret) = on_fd(Op::Write, fd) {
        return ret as ssize_t;
    }
    let real = real!(c"pwritev", PwritevFn);
    // SAFETY: forwards the caller's arguments unchanged.
    unsafe { real(fd, iov, count, offset) }
}

/// libc's `fsync`, unless the plan says otherwise.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsync(fd: c_int) -> c_int {
    if let Some(ret) = on_fd(Op::Sync, fd) {
        return ret;
    }
    let real = real!(c"fsync", SyncFn);
    // SAFETY: forwards the caller's argument unchanged.
    unsafe { real(fd) }
}

/// libc's `fdatasync`, unless the plan says otherwise.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fdatasync(fd: c_int) -> c_int {
    if let Some(ret) = on_fd(Op::Sync, fd) {
        return ret;
    }
    let real = real!(c"fdatasync", SyncFn);
    // SAFETY: forwards the caller's argument unchanged.
    unsafe { real(fd) }
}

/// libc's `rename`, unless the plan says otherwise.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rename(old: *const c_char, new: *const c_char) -> c_int {
    let at = libc::AT_FDCWD;
    if let Some(ret) = inject(plan::decide_rename((at, old), (at, new))) {
        return ret;
    }
    let real = real!(c"rename", RenameFn);
    // SAFETY: forwards the caller's arguments unchanged.
    unsafe { real(old, new) }
}

/// libc's `renameat`, unless the plan says otherwise.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn renameat(
    old_dir: c_int,
    old: *const c_char,
    new_dir: c_int,
    new: *const c_char,
) -> c_int {
    if let Some(ret) = inject(plan::decide_rename((old_dir, old), (new_dir, new))) {
        return ret;
    }
    let real = real!(c"renameat", RenameatFn);
    // SAFETY: forwards the caller's arguments unchanged.
    unsafe { real(old_dir, old, new_dir, new) }
}

/// libc's `renameat2`, unless the plan says otherwise.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn renameat2(
    old_dir: c_int,
    old: *const c_char,
    new_dir: c_int,
    new: *const c_char,
    flags: c_uint,
) -> c_int {
    if let Some(ret) = inject(plan::decide_rename((old_dir, old), (new_dir, new))) {
        return ret;
    }
    let real = real!(c"renameat2", Renameat2Fn);
    // SAFETY: forwards the caller's arguments unchanged.
    unsafe { real(old_dir, old, new_dir, new, flags) }
}
