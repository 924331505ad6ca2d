//! The control socket: inherited from systemd, or bound here.

use crate::config::DaemonConfig;
use anyhow::{Context, bail};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use tokio::net::UnixListener;

/// Binds the configured socket, replacing a stale one but never a live one
/// or something that is not a socket.
pub fn bind(config: &DaemonConfig) -> anyhow::Result<UnixListener> {
    let path = &config.socket;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    remove_stale(path)?;
    let std_listener = std::os::unix::net::UnixListener::bind(path)
        .with_context(|| format!("binding the control socket {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(config.socket_mode.0))
        .with_context(|| format!("setting the mode of {}", path.display()))?;
    if let Some(group) = &config.socket_group {
        let gid = nix::unistd::Group::from_name(group)
            .ok()
            .flatten()
            .with_context(|| format!("socket_group `{group}` does not exist"))?
            .gid;
        nix::unistd::chown(path, None, Some(gid))
            .with_context(|| format!("giving {} to group {group} (needs privileges; under systemd let vigild.socket do it)", path.display()))?;
    }
    std_listener.set_nonblocking(true)?;
    Ok(UnixListener::from_std(std_listener)?)
}

/// Takes over a socket systemd passed in.
pub fn adopt(listener: std::os::unix::net::UnixListener) -> anyhow::Result<UnixListener> {
    listener.set_nonblocking(true)?;
    Ok(UnixListener::from_std(listener)?)
}

fn remove_stale(path: &Path) -> anyhow::Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        bail!(
            "refusing to replace {}: it exists and is not a socket",
            path.display()
        );
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        bail!("another vigild is already listening on {}", path.display());
    }
    std::fs::remove_file(path)
        .with_context(|| format!("removing the stale socket {}", path.display()))
}
