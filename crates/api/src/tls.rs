//! TLS the server terminates itself (`tokencomp serve --tls-cert FILE --tls-key FILE`): the
//! certificate chain and private key are read from PEM files once at start-up, and every
//! connection's handshake must finish within the header timeout, like a request's headers.
//!
//! The key is a secret: a key file that others may read is refused (on Unix) with the command
//! that fixes it, rather than served.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The server's TLS settings, built once.
pub type ServerTls = Arc<rustls::ServerConfig>;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
}

fn file_error(path: &Path, message: impl Into<String>) -> TlsError {
    TlsError::File { path: path.display().to_string(), message: message.into() }
}

/// Reads a PEM certificate chain (leaf first) and its PEM private key (PKCS#8, PKCS#1 or SEC1).
pub fn load(cert: &Path, key: &Path) -> Result<ServerTls, TlsError> {
    owner_only(key)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| file_error(cert, format!("cannot read the certificate: {e}")))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_error(cert, format!("not a PEM certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(file_error(cert, "no CERTIFICATE block: the file must hold the certificate chain in PEM"));
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| file_error(key, format!("no PEM private key (PKCS#8, RSA or EC): {e}")))?;
    // ring, not aws-lc-rs: it builds with only a C compiler on every CI machine. rustls marks
    // it deprecated because it lacks post-quantum key exchange (X25519MLKEM768); the classical
    // suites it offers are rustls's safe defaults. See ARCHITECTURE.md (dependencies).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| file_error(cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| file_error(key, format!("the key does not fit the certificate: {e}")))?;
    let mut config = config;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Refuses a key file group or others may read.
fn owner_only(key: &Path) -> Result<(), TlsError> {
    let meta = std::fs::metadata(key).map_err(|e| file_error(key, format!("cannot read the key: {e}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(file_error(
                key,
                format!(
                    "the private key may be read by others (mode {:o}); run `chmod 600 {}`",
                    mode & 0o777,
                    key.display()
                ),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    Ok(())
}
