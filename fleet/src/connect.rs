//! Reaching the broker: servers, TLS with the operator's CA and an
//! optional client certificate, and one of NATS's logins. Secrets arrive
//! as [`SecretValue`]s and go straight into the client: no file, no log.

use crate::error::FleetError;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls::{ClientConfig, RootCertStore, crypto};
use vigil_store::SecretValue;

/// How to log in.
#[derive(Clone, Debug, Default)]
pub enum Login {
    /// No credentials (a server without authorization).
    #[default]
    Anonymous,
    /// `user` and a password.
    Password {
        /// The user.
        user: String,
        /// The password.
        password: SecretValue,
    },
    /// A token.
    Token(SecretValue),
}

/// TLS toward the servers.
#[derive(Clone, Debug, Default)]
pub struct Tls {
    /// CA certificates (PEM) the servers' certificates must chain to;
    /// `None`: the system's.
    pub ca_pem: Option<Vec<u8>>,
    /// A client certificate chain (PEM) and its private key (PEM).
    pub client: Option<(Vec<u8>, SecretValue)>,
}

/// Where the broker is and how to reach it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// `nats://host:4222`, `tls://host:4222`, one or more.
    pub servers: Vec<String>,
    /// TLS, required when set.
    pub tls: Option<Tls>,
    /// The login.
    pub login: Login,
    /// The connection's name, as the server's monitoring shows it.
    pub name: String,
    /// How long a connection attempt or a request may take.
    pub timeout: Duration,
}

impl Endpoint {
    /// The servers, for messages.
    pub fn servers_text(&self) -> String {
        self.servers.join(",")
    }

    fn failed(&self, reason: impl std::fmt::Display) -> FleetError {
        FleetError::Connect {
            servers: self.servers_text(),
            reason: reason.to_string(),
        }
    }

    /// Connects once (no retry: the caller decides when to try again). The
    /// client reconnects by itself after a connection it made is lost.
    pub async fn connect(&self) -> Result<async_nats::Client, FleetError> {
        let mut options = async_nats::ConnectOptions::new()
            .name(&self.name)
            .connection_timeout(self.timeout)
            .request_timeout(Some(self.timeout))
            .max_reconnects(None::<usize>);
        options = match &self.login {
            Login::Anonymous => options,
            Login::Password { user, password } => {
                let password = password
                    .expose_str()
                    .ok_or_else(|| FleetError::Config("the NATS password is not UTF-8".into()))?;
                options.user_and_password(user.clone(), password.to_string())
            }
            Login::Token(token) => {
                let token = token
                    .expose_str()
                    .ok_or_else(|| FleetError::Config("the NATS token is not UTF-8".into()))?;
                options.token(token.to_string())
            }
        };
        if let Some(tls) = &self.tls {
            options = options
                .require_tls(true)
                .tls_client_config(client_config(tls)?);
        }
        options
            .connect(self.servers.clone())
            .await
            .map_err(|e| self.failed(e))
    }
}

/// The rustls configuration for `tls`: its CA or the system's roots, and
/// its client certificate.
fn client_config(tls: &Tls) -> Result<ClientConfig, FleetError> {
    let mut roots = RootCertStore::empty();
    match &tls.ca_pem {
        Some(pem) => {
            let certs = parse_certs(pem, "the CA file")?;
            for cert in certs {
                roots.add(cert).map_err(|e| {
                    FleetError::Config(format!("the CA certificate cannot be used: {e}"))
                })?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
        }
    }
    let provider = Arc::new(crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| FleetError::Config(format!("TLS setup: {e}")))?
        .with_root_certificates(roots);
    match &tls.client {
        None => Ok(builder.with_no_client_auth()),
        Some((chain, key)) => {
            let chain = parse_certs(chain, "the client certificate")?;
            // The key's parse error is not shown: it could quote the key.
            let key = PrivateKeyDer::from_pem_slice(key.expose()).map_err(|_| {
                FleetError::Config("the client key is not a PEM private key".into())
            })?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                FleetError::Config(format!(
                    "the client certificate and key cannot be used together: {e}"
                ))
            })
        }
    }
}

fn parse_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, FleetError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| FleetError::Config(format!("{what} is not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(FleetError::Config(format!("{what} holds no certificate")));
    }
    Ok(certs)
}
