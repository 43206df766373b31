//! What the TLS acceptor knows about a connection, handed to every request on it.
//!
//! The acceptor ([`crate::tls::serve`]) inserts a [`ClientConnection`] into each request's
//! extensions; nothing a client sends can put one there, so a handler may trust it. Tests
//! that drive the router directly insert one themselves.

use std::net::SocketAddr;
use std::sync::Arc;

use cairn_core::DomainId;
use rustls::pki_types::CertificateDer;
use sha2::{Digest, Sha256};
use x509_parser::der_parser::asn1_rs::{self, Any, FromDer, Tag, TaggedExplicit};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::X509Certificate;

/// The client address and, when the client presented one, its verified certificate.
#[derive(Clone, Debug)]
pub struct ClientConnection {
    pub remote: SocketAddr,
    pub certificate: Option<Arc<ClientCertificate>>,
}

/// OID of the Microsoft User Principal Name otherName, where OKMS access certificates carry
/// `okms.domain:<uuid>`.
pub const UPN_OID: &str = "1.3.6.1.4.1.311.20.2.3";
/// The prefix of the domain name in a certificate's subjectAltName.
pub const DOMAIN_SAN_PREFIX: &str = "okms.domain:";

/// A client certificate that passed TLS verification against the configured CA bundle
/// (chain, validity period, client-auth usage): its digest, which credentials are bound to,
/// and the domains its subjectAltName names.
///
/// Accepted forms of the domain name in the subjectAltName, each with the value
/// `okms.domain:<uuid>` (lowercase hyphenated UUID):
///
/// * an `otherName` with the UPN OID 1.3.6.1.4.1.311.20.2.3 and a UTF8String value, as
///   OKMS issues them;
/// * a `uniformResourceIdentifier` (`okms.domain` is a valid URI scheme), which every
///   certificate tool can write.
///
/// Other SAN entries are ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCertificate {
    chain: Vec<CertificateDer<'static>>,
    sha256: [u8; 32],
    domains: Vec<DomainId>,
}

impl ClientCertificate {
    /// Reads a chain that TLS verified, end-entity certificate first. `None` for an empty
    /// chain. A certificate whose extensions do not parse names no domain (it then
    /// authenticates nothing when domain names are required).
    pub fn from_chain(chain: &[CertificateDer<'_>]) -> Option<Self> {
        let leaf = chain.first()?;
        let domains = match X509Certificate::from_der(leaf) {
            Ok((_, cert)) => san_domains(&cert),
            Err(_) => Vec::new(),
        };
        Some(ClientCertificate {
            chain: chain.iter().map(|c| c.clone().into_owned()).collect(),
            sha256: Sha256::digest(leaf).into(),
            domains,
        })
    }

    /// A certificate alone (no intermediates), e.g. in tests that drive the router without
    /// TLS.
    pub fn from_der(der: &[u8]) -> Self {
        ClientCertificate::from_chain(&[CertificateDer::from(der)])
            .expect("a chain of one certificate is not empty")
    }

    /// The verified chain, end-entity certificate first, as the client sent it.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// SHA-256 of the certificate's DER encoding.
    pub fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }

    /// The digest in lowercase hex, as operators compare it with `sha256sum` and as the
    /// audit log records it.
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }

    /// The domains named in the subjectAltName (see the type's docs).
    pub fn domains(&self) -> &[DomainId] {
        &self.domains
    }
}

fn san_domains(cert: &X509Certificate<'_>) -> Vec<DomainId> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    let mut domains: Vec<DomainId> = san
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::OtherName(oid, value) if oid.to_id_string() == UPN_OID => upn_value(value),
            GeneralName::URI(uri) => Some((*uri).to_string()),
            _ => None,
        })
        .filter_map(|text| text.strip_prefix(DOMAIN_SAN_PREFIX)?.parse().ok())
        .collect();
    domains.sort_unstable();
    domains.dedup();
    domains
}

/// The UTF8String inside an otherName's `[0] EXPLICIT` value.
fn upn_value(value: &[u8]) -> Option<String> {
    let (_, tagged) = TaggedExplicit::<Any<'_>, asn1_rs::Error, 0>::from_der(value).ok()?;
    let inner = tagged.into_inner();
    if inner.tag() != Tag::Utf8String {
        return None;
    }
    std::str::from_utf8(inner.data).ok().map(str::to_string)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}
