//! `vigilctl`: drives `vigild` over its control socket.
//!
//! Exit status: 0 success, 1 a check failed (verify found damage, doctor
//! found errors), 2 usage or connection errors.

mod cli;

use std::process::ExitCode;

// The allocator vigild uses: verifying an export or a fleet's stream
// allocates and frees a few small values per entry.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::main()
}
