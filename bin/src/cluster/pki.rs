//! The cluster CA and node certificates written by `cairn init`.
//!
//! Node certificates name the node (`n<id>.nodes.cairn`, which peers verify, DESIGN §7) and
//! the host the API is reached at, and allow both server and client authentication since
//! nodes connect to each other. Client certificates come from the client CA instead (the
//! admin API's issuer), so that a client certificate can never pass for a node.

use std::net::IpAddr;

use anyhow::Context;
use cairn_core::replication::NodeId;
use cairn_net::transport::identity::node_dns_name;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use zeroize::Zeroizing;

/// Ten years: the cluster CA and node certificates are replaced by re-running init or by
/// the operator's own PKI, not by expiry in the middle of an outage.
const VALIDITY_DAYS: i64 = 3650;

pub struct ClusterCa {
    params: CertificateParams,
    key: KeyPair,
    pub certificate_pem: String,
}

/// A certificate and its private key, PEM.
pub struct Issued {
    pub certificate_pem: String,
    pub key_pem: Zeroizing<String>,
}

fn validity(params: &mut CertificateParams) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(VALIDITY_DAYS);
}

impl ClusterCa {
    pub fn generate(name: &str) -> anyhow::Result<ClusterCa> {
        let key = KeyPair::generate().context("generating the cluster CA key")?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        validity(&mut params);
        let cert = params.self_signed(&key).context("signing the cluster CA")?;
        Ok(ClusterCa {
            params,
            key,
            certificate_pem: cert.pem(),
        })
    }

    pub fn key_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(self.key.serialize_pem())
    }

    /// The certificate of node `id`, reachable by clients at `host`.
    pub fn node(&self, id: NodeId, name: &str, host: &str) -> anyhow::Result<Issued> {
        let key = KeyPair::generate().context("generating a node key")?;
        let mut params = CertificateParams::new(vec![node_dns_name(id)])?;
        params
            .distinguished_name
            .push(DnType::CommonName, format!("cairn node {name}"));
        let extra = match host.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(host.try_into().context("the host name")?),
        };
        params.subject_alt_names.push(extra);
        if host != "localhost" {
            params
                .subject_alt_names
                .push(SanType::DnsName("localhost".try_into()?));
        }
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        validity(&mut params);
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params
            .signed_by(&key, &issuer)
            .context("signing a node certificate")?;
        Ok(Issued {
            certificate_pem: cert.pem(),
            key_pem: Zeroizing::new(key.serialize_pem()),
        })
    }
}
