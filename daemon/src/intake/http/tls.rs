//! TLS for the ingestion listener (rustls), from PEM files.

use crate::config::HttpConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

/// The certificate or key cannot be used: a configuration error, found at
/// start (exit 78), never after "ready".
#[derive(Debug, thiserror::Error)]
#[error("ingestion TLS: {0}")]
pub struct TlsError(String);

/// The acceptor when `tls_cert` and `tls_key` are set.
pub fn acceptor(config: &HttpConfig) -> Result<Option<TlsAcceptor>, TlsError> {
    let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
        return Ok(None);
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError(format!("tls_cert {}: {e}", cert.display())))?;
    // The key's error names the file, never its content.
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| TlsError(format!("tls_key {}: {e}", key.display())))?;
    let server = ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| TlsError(format!("TLS setup: {e}")))?
    .with_no_client_auth()
    .with_single_cert(certs, key_der)
    .map_err(|e| TlsError(format!("tls_cert/tls_key: {e}")))?;
    Ok(Some(TlsAcceptor::from(Arc::new(server))))
}
