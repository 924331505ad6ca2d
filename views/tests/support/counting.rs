//! A global allocator that counts live bytes as the daemon's mimalloc would
//! hold them (each block rounded up to its size class), for the footprint
//! tests of the views and of the notifier's groups (`#[path]`-included).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

static LIVE: AtomicIsize = AtomicIsize::new(0);

/// Bytes held now.
pub fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

struct Counting;

/// Mimalloc's size class of a block: whole words up to 8 words, then four
/// classes per power of two.
fn held(size: usize) -> isize {
    let words = size.div_ceil(8).max(1);
    let class = if words <= 8 {
        words
    } else {
        let step = 1 << (words.ilog2() - 2);
        words.div_ceil(step) * step
    };
    (class * 8) as isize
}

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(held(layout.size()), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(held(layout.size()), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(held(new) - held(layout.size()), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;
