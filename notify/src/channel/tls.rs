//! The TLS client configuration outbound channels share: the system's
//! trusted roots plus the operator's extra ones, ring as the provider,
//! TLS 1.2 and 1.3 only, no client certificate.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::{ClientConfig, RootCertStore, crypto};

use super::error::SendError;

/// A ready client configuration and what it trusts.
#[derive(Clone)]
pub(crate) struct Trust {
    config: Arc<ClientConfig>,
    /// How many system roots were found: zero on a minimal container, where
    /// a certificate error needs a different hint.
    system_roots: usize,
}

impl Trust {
    /// Loads the system roots (tolerating none) and adds `extra_roots_pem`.
    /// `alpn` is offered in the handshake (`http/1.1` for HTTP, none for
    /// SMTP).
    pub(crate) fn new(extra_roots_pem: Option<&[u8]>, alpn: &[&[u8]]) -> Result<Self, SendError> {
        let mut roots = RootCertStore::empty();
        // Unreadable files among the system's are skipped, as are
        // certificates rustls cannot use: one broken file in
        // /etc/ssl/certs should not stop every notification.
        let native = rustls_native_certs::load_native_certs();
        let (system_roots, _ignored) = roots.add_parsable_certificates(native.certs);
        if let Some(pem) = extra_roots_pem {
            for cert in parse_pem(pem)? {
                roots.add(cert).map_err(|e| {
                    SendError::Config(format!(
                        "an extra CA certificate cannot be used as a trust anchor: {e}"
                    ))
                })?;
            }
        }
        let provider = Arc::new(crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| SendError::Config(format!("TLS setup: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Self {
            config: Arc::new(config),
            system_roots,
        })
    }

    /// Performs the handshake over `tcp`, checking the certificate against
    /// `server_name` (also sent as SNI when it is a name).
    pub(crate) async fn handshake(
        &self,
        tcp: TcpStream,
        server_name: &str,
        origin: &str,
    ) -> Result<TlsStream<TcpStream>, SendError> {
        let name = ServerName::try_from(server_name.to_owned()).map_err(|_| {
            SendError::Config(format!("{origin}: {server_name} is not a valid TLS name"))
        })?;
        TlsConnector::from(Arc::clone(&self.config))
            .connect(name, tcp)
            .await
            .map_err(|e| SendError::Tls(format!("{origin}: {e}{}", self.hint())))
    }

    /// Advice to add to a certificate error when the system has no roots.
    pub(crate) fn hint(&self) -> &'static str {
        if self.system_roots == 0 {
            " (this system has no trusted CA certificates; install ca-certificates or configure the receiver's CA as an extra root)"
        } else {
            ""
        }
    }
}

/// Checks an extra CA file as the senders will read it, without building
/// a client (which would load the system's roots): for configuration
/// checks.
pub fn check_roots(pem: &[u8]) -> Result<(), SendError> {
    parse_pem(pem).map(drop)
}

/// The certificates in a PEM file; an empty or unreadable file is a
/// configuration error rather than a silently empty trust list.
pub(crate) fn parse_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, SendError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SendError::Config(format!("the extra CA file is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(SendError::Config(
            "the extra CA file contains no CERTIFICATE block".to_owned(),
        ));
    }
    Ok(certs)
}
