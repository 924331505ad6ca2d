//! The daemon family: status, doctor, reload.

use super::output::Out;
use super::{Failure, unexpected};
use vigil_proto::{Request, Response};
use vigilctl::Client;

/// `vigilctl status`.
pub fn status(client: &mut Client, out: &Out) -> Result<(), Failure> {
    match client.call(&Request::Status)? {
        Response::Status(report) => out.status(&report),
        other => Err(unexpected(&other)),
    }
}

/// `vigilctl doctor`.
pub fn doctor(client: &mut Client, out: &Out) -> Result<(), Failure> {
    match client.call(&Request::Doctor)? {
        Response::Doctor { findings } => out.doctor(&findings),
        other => Err(unexpected(&other)),
    }
}

/// `vigilctl reload`.
pub fn reload(client: &mut Client, out: &Out) -> Result<(), Failure> {
    match client.call(&Request::Reload)? {
        Response::Reloaded { message } => out.message(&message),
        other => Err(unexpected(&other)),
    }
}
