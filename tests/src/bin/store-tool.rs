//! Test helper that works on a store directly (the daemon stopped):
//!
//! * `append STORE KEY TAG`: appends from 8 threads and prints every
//!   acknowledged seq (creating the store if absent), so a parent can
//!   SIGKILL it at any moment;
//! * `hold STORE`: opens the store and waits to be killed;
//! * `fill STORE N`: appends N custom events quickly;
//! * `snapshot STORE VIEW garbage|version=N`: damages a view snapshot;
//! * `secrets STORE KEYFILE`: opens the vault and prints `NAME SHA256`
//!   of every secret's value (never the value).

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use vigil_store::{Actor, Custom, Durability, Event, Log, LogOptions, Severity, ViewSnapshot};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    match (arg(1), args.len()) {
        ("append", 5) => append(Path::new(arg(2)), Path::new(arg(3)), arg(4)),
        ("hold", 3) => hold(Path::new(arg(2))),
        ("fill", 4) => fill(Path::new(arg(2)), arg(3).parse().expect("N")),
        ("snapshot", 5) => snapshot(Path::new(arg(2)), arg(3), arg(4)),
        ("secrets", 4) => secrets(Path::new(arg(2)), Path::new(arg(3))),
        _ => {
            eprintln!(
                "usage: store-tool append STORE KEY TAG | hold STORE | fill STORE N | snapshot STORE VIEW garbage|version=N | secrets STORE KEYFILE"
            );
            std::process::exit(2);
        }
    }
}

fn fail(e: impl std::fmt::Display) -> ! {
    eprintln!("store-tool: {e}");
    std::process::exit(1);
}

fn custom(message: String) -> Event {
    Event::Custom(Custom {
        actor: Actor::Daemon,
        severity: Severity::Info,
        message,
        labels: Default::default(),
    })
}

fn append(store: &Path, key: &Path, tag: &str) {
    let log = if store.exists() {
        Log::open(store, LogOptions::default())
    } else {
        Log::create(store, key, LogOptions::default())
    }
    .unwrap_or_else(|e| fail(e));
    log.advance_epoch("start").unwrap_or_else(|e| fail(e));
    let out = Arc::new(Mutex::new(std::io::stdout()));
    println!("ready");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (log, out, tag) = (log.clone(), out.clone(), tag.to_string());
            std::thread::spawn(move || {
                for i in 0.. {
                    let message = format!("{tag}-{t}-{i}");
                    let head = log.append(&custom(message.clone())).expect("append");
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
    let _log = Log::open(store, LogOptions::default()).unwrap_or_else(|e| fail(e));
    println!("ready");
    std::io::stdout().flush().expect("stdout");
    loop {
        std::thread::park();
    }
}

fn fill(store: &Path, n: u64) {
    let log = Log::open(
        store,
        LogOptions {
            durability: Durability::Buffered,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| fail(e));
    let mut done = 0;
    while done < n {
        let batch: Vec<Event> = (done..(done + 1000).min(n))
            .map(|i| custom(format!("filler {i}")))
            .collect();
        done += batch.len() as u64;
        log.append_all(&batch).unwrap_or_else(|e| fail(e));
    }
    log.sync().unwrap_or_else(|e| fail(e));
    log.close().unwrap_or_else(|e| fail(e));
    println!("filled {n}");
}

fn snapshot(store: &Path, view: &str, how: &str) {
    let log = Log::open(store, LogOptions::default()).unwrap_or_else(|e| fail(e));
    let mut snap = log
        .load_snapshot(view)
        .unwrap_or_else(|e| fail(e))
        .unwrap_or_else(|| fail("no snapshot"));
    match how {
        "garbage" => snap.state = vec![0xff; 7],
        other => {
            let v = other
                .strip_prefix("version=")
                .unwrap_or_else(|| fail("garbage or version=N"));
            snap.version = v.parse().unwrap_or_else(|e| fail(e));
        }
    }
    log.save_snapshot(view, &ViewSnapshot { ..snap })
        .unwrap_or_else(|e| fail(e));
    log.close().unwrap_or_else(|e| fail(e));
}

fn secrets(store: &Path, key_file: &Path) {
    use vigil_store::vault::{MasterKey, Vault};
    let log = Log::open_read_only(store).unwrap_or_else(|e| fail(e));
    let bytes = std::fs::read(key_file).unwrap_or_else(|e| fail(e));
    let key = MasterKey::parse(&bytes).unwrap_or_else(|e| fail(e));
    let vault = Vault::open(&log, key, "store-tool").unwrap_or_else(|e| fail(e));
    for info in vault.list().unwrap_or_else(|e| fail(e)) {
        let value = vault
            .get(&info.name)
            .unwrap_or_else(|e| fail(e))
            .unwrap_or_else(|| fail("listed secret vanished"));
        println!(
            "{} {}",
            info.name,
            vigil_store::Hash::sha256(value.expose()).to_hex()
        );
    }
}
