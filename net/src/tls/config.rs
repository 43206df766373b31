//! The rustls server configuration of the API.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConfig, WebPkiClientVerifier};

/// Why a TLS configuration could not be built. Messages name files and kinds of content,
/// never the content: a key file's bytes must not end up in a log.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what}: {reason}")]
    Pem { what: &'static str, reason: String },
    #[error("client CA bundle: {0}")]
    ClientCa(rustls::Error),
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    #[error("server certificate or key: {0}")]
    Server(rustls::Error),
}

/// What the API's TLS needs: the node's certificate chain and private key, and the CAs
/// that issue client (access) certificates.
pub struct TlsSettings {
    pub cert_chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub client_cas: Vec<CertificateDer<'static>>,
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("cert_chain", &self.cert_chain.len())
            .field("key", &"<redacted>")
            .field("client_cas", &self.client_cas.len())
            .finish()
    }
}

fn pem_reason(e: &pem::Error) -> String {
    // Not `e.to_string()`: some variants quote the offending line.
    match e {
        pem::Error::MissingSectionEnd { .. } => "a PEM section has no END line".into(),
        pem::Error::IllegalSectionStart { .. } => "a PEM BEGIN line is malformed".into(),
        pem::Error::Base64Decode(_) => "a PEM section is not valid base64".into(),
        pem::Error::NoItemsFound => "no PEM section of the expected kind".into(),
        pem::Error::SectionTooLarge => "a PEM section is too large".into(),
        _ => "not valid PEM".into(),
    }
}

fn certificates(what: &'static str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            what,
            reason: pem_reason(&e),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            what,
            reason: "no CERTIFICATE section".into(),
        });
    }
    Ok(certs)
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

impl TlsSettings {
    /// From PEM text: the server chain (leaf first), its private key (PKCS#8, PKCS#1 or
    /// SEC1), and the client CA bundle.
    pub fn from_pem(cert_chain: &[u8], key: &[u8], client_cas: &[u8]) -> Result<Self, TlsError> {
        Ok(TlsSettings {
            cert_chain: certificates("server certificate chain", cert_chain)?,
            key: PrivateKeyDer::from_pem_slice(key).map_err(|e| TlsError::Pem {
                what: "server private key",
                reason: pem_reason(&e),
            })?,
            client_cas: certificates("client CA bundle", client_cas)?,
        })
    }

    /// From PEM files.
    pub fn from_pem_files(
        cert_chain: &Path,
        key: &Path,
        client_cas: &Path,
    ) -> Result<Self, TlsError> {
        let key = zeroize::Zeroizing::new(read(key)?);
        TlsSettings::from_pem(&read(cert_chain)?, &key, &read(client_cas)?)
    }
}

/// A rustls server configuration for the API: the node's certificate, client certificates
/// verified against `client_cas` but optional (bearer tokens need none), ALPN for HTTP/2 and
/// HTTP/1.1, rustls's safe default protocol versions, the `ring` provider.
pub fn server_config(settings: &TlsSettings) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for ca in &settings.client_cas {
        roots.add(ca.clone()).map_err(TlsError::ClientCa)?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Server)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(settings.cert_chain.clone(), settings.key.clone_key())
        .map_err(TlsError::Server)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
