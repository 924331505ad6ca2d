//! Development mode: an API key made on first start and kept in the state
//! directory, and the banner that says where everything is.

use crate::state::Shared;
use std::path::Path;
use std::sync::Arc;
use vigil_store::{Event, Hash};

/// Development mode's API key: created on first start, kept (0600) in the
/// state directory so every start can print it.
pub async fn api_key(shared: &Arc<Shared>, state_dir: &Path) -> anyhow::Result<String> {
    let path = state_dir.join("dev-api-key");
    if let Ok(key) = std::fs::read_to_string(&path) {
        return Ok(key.trim().to_string());
    }
    let taken = shared.keys();
    let (id, raw) = crate::intake::http::mint_key(|id| taken.contains_key(id))?;
    shared
        .log
        .append_async(&Event::ApiKey(
            vigil_store::ApiKeyChange::CreatedWithScopes {
                id: id.clone(),
                name: "development".into(),
                prefix: format!("vgl_{id}"),
                digest: Hash::sha256(raw.as_bytes()),
                sources: Vec::new(),
                // Development: amtool may read and silence with it too.
                scopes: vigil_store::KeyScope::ALL
                    .iter()
                    .map(|s| s.name().to_string())
                    .collect(),
                expires_at: None,
                actor: vigil_store::Actor::Daemon,
            },
        ))
        .await?;
    shared.refresh_keys().await;
    crate::sys::files::create_private(&path, raw.as_bytes())?;
    Ok(raw)
}

/// Prints where everything is, the API key, and a first alert to send.
pub fn banner(
    shared: &Shared,
    state_dir: &Path,
    socket: &Path,
    key: Option<&str>,
    http: Option<std::net::SocketAddr>,
) {
    let config = shared.config();
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name);
    println!("vigild {} in development mode", env!("CARGO_PKG_VERSION"));
    println!("  state directory   {}", state_dir.display());
    println!("  control socket    {}", socket.display());
    println!(
        "  verification key  {} (K(0): it proves the log untouched; keep a copy off this host)",
        config.verification_key_path().display()
    );
    if let Some(source) = shared.secrets.source() {
        println!("  master key        {source} (wraps the secrets keyring)");
    }
    println!("  you ({}) are admin", me.as_deref().unwrap_or("this user"));
    if let (Some(key), Some(addr)) = (key, http) {
        println!(
            "  ingestion         http://{addr}/v1/ingest/<source> (sources: alertmanager, grafana, github, gitlab, jenkins, pagerduty, generic, prometheus)"
        );
        println!(
            "  Alertmanager API  http://{addr}/api/v2/alerts (point Prometheus's alertmanagers or amtool --alertmanager.url at http://{addr})"
        );
        println!(
            "  API key           {key} (development only; `vigilctl keys create` makes real ones)"
        );
        println!("send a first alert:");
        println!(
            "  curl -sS -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' --data '{{\"version\":\"4\",\"status\":\"firing\",\"receiver\":\"vigil\",\"groupKey\":\"{{}}:{{}}\",\"alerts\":[{{\"status\":\"firing\",\"labels\":{{\"alertname\":\"DiskFull\",\"severity\":\"critical\",\"instance\":\"db1\"}},\"annotations\":{{\"summary\":\"Disk full on db1\"}},\"startsAt\":\"2026-01-01T00:00:00Z\"}}]}}' http://{addr}/v1/ingest/alertmanager"
        );
    }
    println!("ready: in another terminal, run");
    println!(
        "  cargo run -p vigilctl -- --socket {} status",
        socket.display()
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();
}
