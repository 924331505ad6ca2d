//! `vigilctl verify`: in the daemon (no key), here with the key over a
//! streamed chain (the key never reaches the daemon), or offline on a
//! stopped daemon's state directory.

use super::Failure;
use super::output::Out;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use vigil_proto::{AuditRequest, Request, Response, raw_body};
use vigil_store::{
    Hash, Log, StoreError, StreamVerifier, VerificationKey, VerifyOptions, read_verification_key,
};
use vigilctl::Client;

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The verification key file: also check every seal (done here, never sent to the daemon).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Decode every event body, not only the chain's own entries.
    #[arg(long)]
    pub deep: bool,
    /// An anchor `SEQ:LINK` from the journal that the chain must still hold.
    #[arg(long, value_name = "SEQ:LINK", value_parser = parse_anchor)]
    pub anchor: Option<(u64, Hash)>,
    /// Verify a store directly, with the daemon stopped.
    #[arg(long, requires = "state_dir")]
    pub offline: bool,
    /// The daemon's state directory (with --offline).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Verify an export file made by `vigilctl export` (no store, no daemon).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["offline", "state_dir", "anchor", "deep"])]
    pub export: Option<PathBuf>,
    /// With --export and --key: accept a header without a seal (an export made with --offline).
    #[arg(long, requires = "export")]
    pub allow_unsealed: bool,
}

/// An `--anchor` that is not `SEQ:LINK`.
#[derive(Debug, thiserror::Error)]
enum BadAnchor {
    #[error("an anchor is SEQ:LINK")]
    Shape,
    #[error("`{0}` is not a seq")]
    Seq(String),
    #[error("the link must be 64 hex digits")]
    Link,
}

fn parse_anchor(s: &str) -> Result<(u64, Hash), BadAnchor> {
    let (seq, link) = s.split_once(':').ok_or(BadAnchor::Shape)?;
    let seq = seq.parse().map_err(|_| BadAnchor::Seq(seq.to_string()))?;
    let link = Hash::from_hex(link).ok_or(BadAnchor::Link)?;
    Ok((seq, link))
}

fn load_key(path: &Path) -> Result<VerificationKey, Failure> {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        eprintln!(
            "vigilctl: warning: {} is readable by others; keep the verification key private (chmod 0600)",
            path.display()
        );
    }
    read_verification_key(path).map_err(|e| Failure::Error(e.to_string()))
}

fn bar(out: &Out, total: u64) -> Option<ProgressBar> {
    if out.json() || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "verifying {bar:40} {pos}/{len} entries ({per_sec}, eta {eta})",
        )
        .ok()?,
    );
    Some(bar)
}

/// Against the running daemon.
/// `vigilctl logins`.
pub fn logins(client: &mut Client, limit: u32, out: &Out) -> Result<(), Failure> {
    out.logins(&client.ask(Request::logins(limit))?)
}

/// `vigilctl verify`, in the daemon or, with `--key`, here.
pub fn online(client: &mut Client, args: &VerifyArgs, out: &Out) -> Result<(), Failure> {
    match &args.key {
        None => {
            client.send(&Request::Audit(AuditRequest::Verify {
                deep: args.deep,
                anchor: args.anchor,
            }))?;
            let mut progress = None;
            loop {
                match client.receive()? {
                    Response::Progress { done, total } => {
                        let bar = progress.get_or_insert_with(|| bar(out, total));
                        if let Some(bar) = bar {
                            bar.set_position(done);
                        }
                    }
                    Response::Verified(report) => {
                        if let Some(Some(bar)) = progress {
                            bar.finish_and_clear();
                        }
                        return out.verify(&report);
                    }
                    other => return Err(super::unexpected(&other)),
                }
            }
        }
        Some(path) => {
            let key = load_key(path)?;
            client.send(&Request::Audit(AuditRequest::Chain))?;
            let header = match client.receive()? {
                Response::ChainHeader(h) => h,
                other => return Err(super::unexpected(&other)),
            };
            let checkpoint = header
                .checkpoint
                .as_ref()
                .map(|c| raw_body(c).map(|b| (c.seal, b)))
                .transpose()
                .map_err(|e| Failure::Error(e.to_string()))?;
            let mut verifier = StreamVerifier::new(
                header.store_id,
                Some(&key),
                args.deep,
                header.cut,
                checkpoint.as_ref().map(|(s, b)| (s, b.as_deref())),
            )
            .map_err(|e| Failure::Error(e.to_string()))?
            .with_anchor(args.anchor)
            .prunes_accounted(header.format >= 2);
            let total = header
                .head
                .seq
                .saturating_sub(header.cut.map_or(0, |c| c.cut_seq));
            let progress = bar(out, total);
            loop {
                match client.receive()? {
                    Response::Chain { entries } => {
                        for e in &entries {
                            let body = raw_body(e).map_err(|e| Failure::Error(e.to_string()))?;
                            verifier.push(&e.seal, body.as_deref());
                        }
                        if let Some(bar) = &progress {
                            bar.inc(entries.len() as u64);
                        }
                    }
                    Response::End => break,
                    other => return Err(super::unexpected(&other)),
                }
            }
            if let Some(bar) = progress {
                bar.finish_and_clear();
            }
            out.verify(&verifier.finish(header.head))
        }
    }
}

/// Opens a stopped daemon's store read-only for `vigilctl COMMAND --offline`;
/// a store a running vigild holds is refused with what to do instead.
pub fn open_stopped(state_dir: &Path, command: &str) -> Result<Log, Failure> {
    let store = state_dir.join("store");
    Log::open_read_only(&store).map_err(|e| match e {
        StoreError::Locked { .. } => Failure::Error(format!(
            "the store at {} is in use by a running vigild; nothing was touched. Run `vigilctl {command}` against the daemon instead, or stop it first",
            store.display()
        )),
        other => Failure::Error(other.to_string()),
    })
}

/// On an export file.
pub fn exported(args: &VerifyArgs, out: &Out) -> Result<(), Failure> {
    let path = args.export.as_ref().expect("called with --export");
    let key = args.key.as_deref().map(load_key).transpose()?;
    super::export::verify(path, key.as_ref(), args.allow_unsealed, out)
}

/// On a stopped daemon's store.
pub fn offline(args: &VerifyArgs, out: &Out) -> Result<(), Failure> {
    let state_dir = args
        .state_dir
        .as_ref()
        .expect("clap requires --state-dir with --offline");
    let log = open_stopped(state_dir, "verify")?;
    let key = args.key.as_deref().map(load_key).transpose()?;
    let total = log.head().seq.saturating_sub(log.first_seq()) + 1;
    let progress = bar(out, total);
    let report_progress = |done: u64| {
        if let Some(bar) = &progress {
            bar.set_position(done);
        }
    };
    let report = log
        .verify(&VerifyOptions {
            key: key.as_ref(),
            anchor: args.anchor,
            deep: args.deep,
            progress: Some(&report_progress),
            ..Default::default()
        })
        .map_err(|e| Failure::Error(e.to_string()))?;
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    out.verify(&report)
}
