//! Tests of the SSRF guard, written as its specification.
//!
//! DNS is scripted with [`Dns`] so that every answer (public, private,
//! changing between lookups) is chosen by the test; only the `connect`
//! tests and the `localhost` ones touch the real network stack, and only
//! on 127.0.0.1.

mod allowlist;
mod bypass;
mod connecting;
mod parsing;
mod passing;
mod rebinding;
mod secrets;

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Blocked, Destination, Pinned, Policy, Resolver};

/// A scripted resolver: each name has a list of answers, one used per
/// lookup (the last one repeats); other names get `fallback`, or do not
/// exist. Counts lookups so tests can prove DNS was (not) asked.
#[derive(Default)]
struct Dns {
    answers: Mutex<HashMap<String, Vec<Vec<IpAddr>>>>,
    fallback: Option<Vec<IpAddr>>,
    lookups: AtomicUsize,
}

impl Dns {
    fn new() -> Self {
        Self::default()
    }

    /// A DNS where every name resolves to a public address, so anything
    /// refused is refused by the guard itself.
    fn everything_public() -> Self {
        Self {
            fallback: Some(ips(&["93.184.215.14"])),
            ..Self::default()
        }
    }

    /// Adds the next answer for `name`.
    fn answer(self, name: &str, addrs: &[&str]) -> Self {
        self.answers
            .lock()
            .unwrap()
            .entry(name.to_owned())
            .or_default()
            .push(ips(addrs));
        self
    }

    fn lookups(&self) -> usize {
        self.lookups.load(Ordering::SeqCst)
    }
}

impl Resolver for Dns {
    async fn lookup(&self, host: &str, _port: u16) -> io::Result<Vec<IpAddr>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let mut answers = self.answers.lock().unwrap();
        match answers.get_mut(host) {
            Some(queue) if queue.len() > 1 => Ok(queue.remove(0)),
            Some(queue) => Ok(queue[0].clone()),
            None => self
                .fallback
                .clone()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such host")),
        }
    }
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|ip| ip.parse().unwrap()).collect()
}

fn policy(entries: &[&str]) -> Policy {
    Policy::new(entries).unwrap()
}

/// Parses and checks `url`, the way a notifier does.
async fn check(policy: &Policy, url: &str, dns: &Dns) -> Result<Pinned, Blocked> {
    let destination = Destination::parse(url)?;
    policy.check_with(&destination, dns).await
}

/// The refusal of `url`, as an operator reads it.
async fn refusal(policy: &Policy, url: &str, dns: &Dns) -> String {
    match check(policy, url, dns).await {
        Ok(pinned) => panic!("{url} should be refused, passed as {pinned:?}"),
        Err(blocked) => blocked.to_string(),
    }
}

/// The addresses `url` is pinned to.
async fn pinned(policy: &Policy, url: &str, dns: &Dns) -> Vec<String> {
    match check(policy, url, dns).await {
        Ok(pinned) => pinned.addrs().iter().map(ToString::to_string).collect(),
        Err(blocked) => panic!("{url} should pass, refused: {blocked}"),
    }
}
