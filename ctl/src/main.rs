//! `vigilctl`: drives `vigild` over its control socket.
//!
//! Exit status: 0 success, 1 a check failed (verify found damage, doctor
//! found errors), 2 usage or connection errors.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
