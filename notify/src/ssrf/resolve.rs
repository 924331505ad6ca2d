//! Name resolution, behind a trait so tests can script DNS answers
//! (including ones that change between two lookups, as in rebinding).

use std::future::Future;
use std::io;
use std::net::IpAddr;

/// Resolves a host name to addresses. [`Policy::check_with`] calls it at
/// most once per check.
///
/// [`Policy::check_with`]: super::Policy::check_with
pub trait Resolver: Send + Sync {
    /// The addresses `host` resolves to, in the order to try them. `port`
    /// is passed for resolvers that need one (getaddrinfo's service).
    fn lookup(&self, host: &str, port: u16)
    -> impl Future<Output = io::Result<Vec<IpAddr>>> + Send;
}

/// The system resolver (`getaddrinfo`, through tokio's blocking pool).
///
/// Only ever given names: numeric-looking hosts are parsed by the guard
/// itself and never reach it.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    async fn lookup(&self, host: &str, port: u16) -> io::Result<Vec<IpAddr>> {
        let answers = tokio::net::lookup_host((host, port)).await?;
        Ok(answers.map(|addr| addr.ip()).collect())
    }
}
