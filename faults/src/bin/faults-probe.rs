//! Makes the file-system calls its arguments name, one per argument, and
//! prints how each went: the program the preload library's tests run.
//!
//! `write:PATH`, `fsync:PATH`, `dirsync:DIR`, `rename:FROM:TO`.

use std::io::Write;

fn run(step: &str) -> std::io::Result<()> {
    let (op, rest) = step.split_once(':').unwrap_or((step, ""));
    match op {
        "write" => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(rest)?
            .write_all(b"x"),
        "fsync" => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(rest)?
            .sync_all(),
        "dirsync" => std::fs::File::open(rest)?.sync_all(),
        "rename" => {
            let (from, to) = rest.split_once(':').unwrap_or((rest, ""));
            std::fs::rename(from, to)
        }
        _ => Err(std::io::Error::other(format!("unknown step {step}"))),
    }
}

fn main() {
    for step in std::env::args().skip(1) {
        match run(&step) {
            Ok(()) => println!("{step} ok"),
            Err(e) => println!("{step} {}", e.raw_os_error().unwrap_or(-1)),
        }
    }
}
