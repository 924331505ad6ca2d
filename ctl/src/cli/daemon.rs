//! The daemon family: status, doctor, reload.

use super::Failure;
use super::output::Out;
use vigil_proto::Request;
use vigilctl::Client;

/// `vigilctl status`.
pub fn status(client: &mut Client, out: &Out) -> Result<(), Failure> {
    let report = client.ask(Request::status())?;
    out.status(&report)
}

/// `vigilctl doctor`.
pub fn doctor(client: &mut Client, out: &Out) -> Result<(), Failure> {
    out.doctor(&client.ask(Request::doctor())?)
}

/// `vigilctl reload`.
pub fn reload(client: &mut Client, out: &Out) -> Result<(), Failure> {
    out.message(&client.ask(Request::reload())?)
}
