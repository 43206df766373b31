//! Who a peer is: nodes authenticate each other with certificates of the cluster CA, whose
//! DNS name says which node they are (`n<id>.nodes.cairn`).
//!
//! The node id of an inbound connection comes from its verified certificate, never from the
//! bytes it sends: a compromised host can speak only as itself.

use std::path::Path;
use std::sync::Arc;

use cairn_core::replication::NodeId;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// The DNS name in node `id`'s certificate.
pub fn node_dns_name(id: NodeId) -> String {
    format!("n{}.nodes.cairn", id.0)
}

/// Reads a node id back from a DNS name of that form.
pub fn node_from_dns_name(name: &str) -> Option<NodeId> {
    let id = name.strip_prefix('n')?.strip_suffix(".nodes.cairn")?;
    id.parse().ok().map(NodeId)
}

/// A node's TLS material: its certificate chain and key, and the cluster CA.
pub struct NodeTls {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub ca: RootCertStore,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("TLS configuration: {0}")]
    Config(String),
}

impl NodeTls {
    pub fn load(cert: &Path, key: &Path, ca: &Path) -> Result<NodeTls, TlsError> {
        let read = |p: &Path, e: &dyn std::fmt::Display| TlsError::Read {
            path: p.display().to_string(),
            reason: e.to_string(),
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(|e| read(cert, &e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| read(cert, &e))?;
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| read(key, &e))?;
        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(ca).map_err(|e| read(ca, &e))? {
            roots
                .add(c.map_err(|e| read(ca, &e))?)
                .map_err(|e| read(ca, &e))?;
        }
        Ok(NodeTls {
            chain,
            key: key_der,
            ca: roots,
        })
    }

    fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    /// Accepts only peers with a certificate of the cluster CA.
    pub fn server_config(&self) -> Result<ServerConfig, TlsError> {
        let verifier = WebPkiClientVerifier::builder_with_provider(
            Arc::new(self.ca.clone()),
            Self::provider(),
        )
        .build()
        .map_err(|e| TlsError::Config(e.to_string()))?;
        ServerConfig::builder_with_provider(Self::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| TlsError::Config(e.to_string()))
    }

    /// Connects as this node, trusting only the cluster CA.
    pub fn client_config(&self) -> Result<ClientConfig, TlsError> {
        ClientConfig::builder_with_provider(Self::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_root_certificates(self.ca.clone())
            .with_client_auth_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| TlsError::Config(e.to_string()))
    }
}

/// The name to verify when connecting to `id`.
pub fn server_name(id: NodeId) -> ServerName<'static> {
    ServerName::try_from(node_dns_name(id)).expect("valid DNS name")
}

/// The node a verified peer certificate belongs to.
pub fn peer_node(cert: &CertificateDer<'_>) -> Option<NodeId> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let san = parsed.subject_alternative_name().ok()??;
    san.value.general_names.iter().find_map(|n| match n {
        x509_parser::extensions::GeneralName::DNSName(d) => node_from_dns_name(d),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(node_dns_name(NodeId(3)), "n3.nodes.cairn");
        assert_eq!(node_from_dns_name("n3.nodes.cairn"), Some(NodeId(3)));
        assert_eq!(node_from_dns_name("n3.nodes.evil"), None);
        assert_eq!(node_from_dns_name("nx.nodes.cairn"), None);
    }
}
