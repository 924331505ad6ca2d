//! Test helper: appends to a store from several threads and prints every
//! acknowledged seq, so a parent can SIGKILL it at any moment and check that
//! everything acknowledged survived.
//!
//! Usage: `crash-appender append STORE KEY TAG` (creates the store if absent),
//! `crash-appender hold STORE` (opens it and waits to be killed).

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use vigil_store::{Actor, Custom, Event, Log, LogOptions, Severity};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("append") if args.len() == 5 => {
            append(Path::new(&args[2]), Path::new(&args[3]), &args[4])
        }
        Some("hold") if args.len() == 3 => hold(Path::new(&args[2])),
        _ => {
            eprintln!("usage: crash-appender append STORE KEY TAG | hold STORE");
            std::process::exit(2);
        }
    }
}

fn open(store: &Path, key: &Path) -> Log {
    let result = if store.exists() {
        Log::open(store, LogOptions::default())
    } else {
        Log::create(store, key, LogOptions::default())
    };
    result.unwrap_or_else(|e| {
        eprintln!("crash-appender: {e}");
        std::process::exit(1);
    })
}

fn append(store: &Path, key: &Path, tag: &str) {
    let log = open(store, key);
    log.advance_epoch("start").expect("advance epoch");
    let out = Arc::new(Mutex::new(std::io::stdout()));
    println!("ready");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (log, out, tag) = (log.clone(), out.clone(), tag.to_string());
            std::thread::spawn(move || {
                for i in 0.. {
                    let message = format!("{tag}-{t}-{i}");
                    let event = Event::Custom(Custom {
                        actor: Actor::Daemon,
                        severity: Severity::Info,
                        message: message.clone(),
                        labels: Default::default(),
                    });
                    let head = log.append(&event).expect("append");
                    let mut out = out.lock().expect("stdout lock");
                    writeln!(out, "{} {message}", head.seq).expect("stdout");
                    out.flush().expect("stdout");
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

fn hold(store: &Path) {
    let _log = Log::open(store, LogOptions::default()).unwrap_or_else(|e| {
        eprintln!("crash-appender: {e}");
        std::process::exit(1);
    });
    println!("ready");
    std::io::stdout().flush().expect("stdout");
    loop {
        std::thread::park();
    }
}
