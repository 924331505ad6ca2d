//! How the process holds memory: no transparent huge pages, and freed
//! memory given back to the OS promptly.

/// `mi_option_purge_delay` in mimalloc 3's `mimalloc.h` (the `mi_option_e`
/// enum; libmimalloc-sys names no constant for it). The test below checks
/// it by its default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets up the process's memory; call first thing in `main`.
pub fn tune() {
    // mimalloc commits its arena up front, and with transparent huge pages
    // the kernel backs each 2 MiB of it that a thread's heap touches with a
    // huge page: ~35 MB resident at idle for ~2 MB of heap. vigild's heap
    // is many small objects; it gains nothing from huge pages. Best effort.
    let _ = nix::sys::prctl::set_thp_disable(true);
    // mimalloc 3 gives freed memory back ten seconds after it was freed,
    // and only when a thread allocates again: after a burst (a scan's
    // baseline, a backlog delivered) an idle daemon kept ~40 MB it no
    // longer used. 10 ms is what mimalloc 2 did.
    set_option(MI_OPTION_PURGE_DELAY, 10);
}

/// Gives back to the OS, now, what this thread's heap has freed: for
/// after a large structure was replaced (a baseline packed at the end of a
/// scan), which mimalloc would otherwise keep until this thread allocates
/// again, however long after that is.
#[allow(unsafe_code)]
pub fn give_back() {
    // SAFETY: asks mimalloc to collect and purge this thread's free pages;
    // no pointers are passed.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

#[allow(unsafe_code)]
fn set_option(option: libmimalloc_sys::mi_option_t, value: std::ffi::c_long) {
    // SAFETY: sets one of mimalloc's integer options (no pointers);
    // mimalloc reads its options at every use, so a change made at any
    // time takes effect.
    unsafe { libmimalloc_sys::mi_option_set(option, value) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(unsafe_code)]
    fn get_option(option: libmimalloc_sys::mi_option_t) -> std::ffi::c_long {
        // SAFETY: reads one of mimalloc's integer options.
        unsafe { libmimalloc_sys::mi_option_get(option) }
    }

    #[test]
    fn the_option_set_is_the_purge_delay() {
        // Nothing in the tests tunes the allocator: mimalloc 3's default
        // purge delay is 1000 ms, and no other option defaults to that.
        assert_eq!(get_option(MI_OPTION_PURGE_DELAY), 1000);
        set_option(MI_OPTION_PURGE_DELAY, 10);
        assert_eq!(get_option(MI_OPTION_PURGE_DELAY), 10);
        set_option(MI_OPTION_PURGE_DELAY, 1000);
    }
}
