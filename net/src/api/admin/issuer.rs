//! The cluster's client CA, as the admin API (and `cairn init`) use it to issue the
//! certificates of domain credentials.
//!
//! Every certificate issued here names exactly one domain, the one it is issued for, as a
//! URI subjectAltName `okms.domain:<uuid>` (see [`crate::api::ClientCertificate`]), carries
//! the client-auth extended key usage and is not a CA. Nothing the requester sends reaches
//! the certificate except the public key and a common name: the subjectAltNames, extensions
//! and other subject attributes of a CSR are dropped, so that a CSR cannot pick another
//! domain, become a CA or claim a server name.
//!
//! Signing uses rcgen on ring. ECDSA signatures and generated key pairs draw from the OS
//! CSPRNG inside ring; only the serial number comes from the caller's RNG. Certificates are
//! therefore not reproducible from a seed, which is fine: they are made before a command is
//! prepared, and only their digest enters the log.

use std::fmt;
use std::time::Duration;

use cairn_core::{CryptoRng, DomainId, Timestamp};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber, SubjectPublicKeyInfo,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateSigningRequestDer};
use sha2::{Digest, Sha256};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;
use zeroize::Zeroizing;

use crate::api::connection::DOMAIN_SAN_PREFIX;

/// Longest validity a credential certificate may get, in days (10 years).
pub const MAX_DAYS: u32 = 3650;
/// Longest common name (X.509's upper bound, `ub-common-name`).
pub const MAX_COMMON_NAME: usize = 64;
/// Smallest RSA modulus accepted in a CSR.
const MIN_RSA_BITS: usize = 2048;
/// How far before "now" a certificate starts to be valid, so that a client or node whose
/// clock is a little behind does not refuse a certificate fresh from the issuer.
const BACKDATE: Duration = Duration::from_secs(5 * 60);

/// Why a CA could not be loaded or a certificate not issued. Messages never quote a key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IssuerError {
    #[error("the client CA certificate is not a PEM X.509 certificate")]
    BadCaCertificate,
    #[error("the client CA certificate is not a CA (basicConstraints cA is not set)")]
    NotCa,
    #[error("the client CA key is not a PEM PKCS#8 private key of a supported type: {0}")]
    BadCaKey(String),
    #[error("the client CA key does not belong to the client CA certificate")]
    KeyMismatch,
    #[error("invalid days: must be 1 to {MAX_DAYS}, got {0}")]
    Days(u32),
    #[error(
        "invalid common name: must be 1 to {MAX_COMMON_NAME} characters without control characters"
    )]
    CommonName,
    /// The CSR is unreadable, its signature does not verify, or its key is unsupported.
    #[error("invalid csr: {0}")]
    Csr(String),
    #[error("certificate issuance failed: {0}")]
    Signing(String),
}

/// A certificate issued for a domain credential.
pub struct IssuedCertificate {
    pub certificate_pem: String,
    pub der: Vec<u8>,
    /// SHA-256 of `der`: what the credential's binding holds.
    pub sha256: [u8; 32],
    /// The private key (PKCS#8 PEM) when the issuer generated the key pair; `None` for a
    /// signed CSR, whose key never left its owner.
    pub private_key_pem: Option<Zeroizing<String>>,
    /// The certificate's notAfter (whole seconds), which the credential expires with.
    pub not_after: Timestamp,
}

impl fmt::Debug for IssuedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCertificate")
            .field("sha256", &crate::api::connection::hex(&self.sha256))
            .field("not_after", &self.not_after)
            .field(
                "private_key_pem",
                &self.private_key_pem.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// The client CA: its certificate and private key, both PEM. The key is wiped from memory
/// when the issuer is dropped, and never shown by `Debug`.
#[derive(Clone)]
pub struct Issuer {
    certificate_pem: String,
    key_pem: Zeroizing<String>,
    subject: String,
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("subject", &self.subject)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl Issuer {
    /// Loads the client CA from its certificate and PKCS#8 private key, both PEM. Checks
    /// up front what would otherwise fail on the first issuance, or worse, issue
    /// certificates TLS then refuses: the certificate is a CA and the key is its key.
    pub fn from_pem(certificate_pem: &str, key_pem: &str) -> Result<Issuer, IssuerError> {
        let der = CertificateDer::from_pem_slice(certificate_pem.as_bytes())
            .map_err(|_| IssuerError::BadCaCertificate)?;
        let (_, cert) =
            X509Certificate::from_der(&der).map_err(|_| IssuerError::BadCaCertificate)?;
        let is_ca = cert
            .basic_constraints()
            .ok()
            .flatten()
            .is_some_and(|bc| bc.value.ca);
        if !is_ca {
            return Err(IssuerError::NotCa);
        }
        let key = KeyPair::from_pem(key_pem).map_err(|e| IssuerError::BadCaKey(e.to_string()))?;
        if key.public_key_raw() != cert.public_key().subject_public_key.data.as_ref() {
            return Err(IssuerError::KeyMismatch);
        }
        Ok(Issuer {
            certificate_pem: certificate_pem.to_string(),
            key_pem: Zeroizing::new(key_pem.to_string()),
            subject: cert.subject().to_string(),
        })
    }

    /// A new self-signed client CA (P-256), valid `days` from `now`: for `cairn init` and
    /// for tests. Its key is generated from the OS CSPRNG (inside ring).
    pub fn generate(common_name: &str, days: u32, now: Timestamp) -> Result<Issuer, IssuerError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| IssuerError::Signing(e.to_string()))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = subject(common_name)?;
        params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let (not_before, not_after, _) = validity(now, days)?;
        params.not_before = not_before;
        params.not_after = not_after;
        let cert = params
            .self_signed(&key)
            .map_err(|e| IssuerError::Signing(e.to_string()))?;
        let key_pem = Zeroizing::new(key.serialize_pem());
        Issuer::from_pem(&cert.pem(), &key_pem)
    }

    /// The CA certificate (PEM): what nodes and clients put in their CA bundle.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The CA private key (PKCS#8 PEM), for `cairn init` to write to its file once.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// Issues a certificate for `domain` with a new P-256 key pair, both returned (the key
    /// only here: keep it). Valid `days` (1 to [`MAX_DAYS`]) from `now`; the serial number
    /// comes from `rng`.
    pub fn issue<R: CryptoRng + ?Sized>(
        &self,
        domain: DomainId,
        common_name: &str,
        days: u32,
        now: Timestamp,
        rng: &mut R,
    ) -> Result<IssuedCertificate, IssuerError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| IssuerError::Signing(e.to_string()))?;
        let private_key_pem = Zeroizing::new(key.serialize_pem());
        let mut issued = self.sign(&key, domain, common_name, days, now, rng)?;
        issued.private_key_pem = Some(private_key_pem);
        Ok(issued)
    }

    /// Issues a certificate for `domain` to the key of a PEM CSR, whose signature must
    /// verify (proof that the requester holds the key). Of the CSR's subject only the
    /// common name is kept (or `default_common_name` when it has none); its subjectAltNames
    /// and extensions are dropped.
    pub fn sign_csr<R: CryptoRng + ?Sized>(
        &self,
        csr_pem: &str,
        domain: DomainId,
        default_common_name: &str,
        days: u32,
        now: Timestamp,
        rng: &mut R,
    ) -> Result<IssuedCertificate, IssuerError> {
        let csr_err = |reason: &str| IssuerError::Csr(reason.to_string());
        let der = CertificateSigningRequestDer::from_pem_slice(csr_pem.as_bytes())
            .map_err(|_| csr_err("not a PEM certificate signing request (PKCS #10)"))?;
        let (rest, csr) = X509CertificationRequest::from_der(der.as_ref())
            .map_err(|_| csr_err("not a well-formed PKCS #10 certificate signing request"))?;
        if !rest.is_empty() {
            return Err(csr_err(
                "trailing bytes after the certificate signing request",
            ));
        }
        csr.verify_signature().map_err(|_| {
            csr_err("its signature does not verify with its own public key (or uses an unsupported algorithm)")
        })?;
        let info = &csr.certification_request_info;
        match info.subject_pki.parsed() {
            Ok(PublicKey::RSA(rsa)) if rsa.key_size() < MIN_RSA_BITS => {
                return Err(IssuerError::Csr(format!(
                    "an RSA key of {} bits is too small: at least {MIN_RSA_BITS}",
                    rsa.key_size()
                )));
            }
            Ok(PublicKey::RSA(_) | PublicKey::EC(_)) => {}
            // Ed25519 and others: SubjectPublicKeyInfo below refuses what rcgen cannot use.
            _ => {}
        }
        // The key's algorithm comes from its own SubjectPublicKeyInfo, not from the CSR's
        // signature algorithm (a P-384 key may sign its CSR with SHA-256).
        let public = SubjectPublicKeyInfo::from_der(info.subject_pki.raw).map_err(|_| {
            csr_err("unsupported public key: use P-256, P-384, Ed25519 or RSA of 2048 bits or more")
        })?;
        let common_name = match info.subject.iter_common_name().next() {
            Some(cn) => cn
                .as_str()
                .map_err(|_| csr_err("its common name is not a readable string"))?
                .to_string(),
            None => default_common_name.to_string(),
        };
        self.sign(&public, domain, &common_name, days, now, rng)
    }

    fn sign<R: CryptoRng + ?Sized>(
        &self,
        public: &impl rcgen::PublicKeyData,
        domain: DomainId,
        common_name: &str,
        days: u32,
        now: Timestamp,
        rng: &mut R,
    ) -> Result<IssuedCertificate, IssuerError> {
        let signing = |e: rcgen::Error| IssuerError::Signing(e.to_string());
        let mut params = CertificateParams::default();
        params.distinguished_name = subject(common_name)?;
        let san = format!("{DOMAIN_SAN_PREFIX}{domain}");
        params.subject_alt_names = vec![SanType::URI(san.try_into().map_err(signing)?)];
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let (not_before, not_after, expiry) = validity(now, days)?;
        params.not_before = not_before;
        params.not_after = not_after;
        // Random, not rcgen's default (a hash of the public key): the same key certified
        // twice must give two certificates with distinct serials, and distinct digests.
        let mut serial = [0u8; 16];
        rng.fill_bytes(&mut serial);
        serial[0] &= 0x7f;
        serial[0] |= 0x01;
        params.serial_number = Some(SerialNumber::from_slice(&serial));

        let key = KeyPair::from_pem(&self.key_pem).map_err(signing)?;
        let issuer =
            rcgen::Issuer::from_ca_cert_pem(&self.certificate_pem, key).map_err(signing)?;
        let cert = params.signed_by(public, &issuer).map_err(signing)?;
        let der = cert.der().to_vec();
        Ok(IssuedCertificate {
            certificate_pem: cert.pem(),
            sha256: Sha256::digest(&der).into(),
            der,
            private_key_pem: None,
            not_after: expiry,
        })
    }
}

fn subject(common_name: &str) -> Result<DistinguishedName, IssuerError> {
    let len = common_name.chars().count();
    if len == 0 || len > MAX_COMMON_NAME || common_name.chars().any(char::is_control) {
        return Err(IssuerError::CommonName);
    }
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    Ok(name)
}

/// notBefore, notAfter, and notAfter as a timestamp (whole seconds, as X.509 keeps it).
fn validity(
    now: Timestamp,
    days: u32,
) -> Result<(time::OffsetDateTime, time::OffsetDateTime, Timestamp), IssuerError> {
    if days == 0 || days > MAX_DAYS {
        return Err(IssuerError::Days(days));
    }
    let secs = |t: Timestamp| i64::try_from(t.as_millis() / 1000).unwrap_or(i64::MAX);
    let at = |s: i64| {
        time::OffsetDateTime::from_unix_timestamp(s)
            .map_err(|_| IssuerError::Signing("the clock is out of range".into()))
    };
    let start = secs(now.saturating_sub(BACKDATE));
    let end = secs(now).saturating_add(i64::from(days) * 86_400);
    let expiry = Timestamp::from_millis(u64::try_from(end).unwrap_or(0).saturating_mul(1000));
    Ok((at(start)?, at(end)?, expiry))
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;
    use crate::api::ClientCertificate;

    const NOW: Timestamp = Timestamp::from_millis(1_795_878_491_042);

    fn domain(n: u8) -> DomainId {
        DomainId::from_uuid(uuid::Uuid::from_bytes([n; 16]))
    }

    #[test]
    fn issued_certificates_name_their_domain_only() {
        let ca = Issuer::generate("test client CA", 30, NOW).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let issued = ca.issue(domain(1), "alice", 10, NOW, &mut rng).unwrap();
        let key = issued.private_key_pem.as_ref().unwrap();
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(!format!("{issued:?}").contains(key.as_str()));
        let cert = ClientCertificate::from_der(&issued.der);
        assert_eq!(cert.domains(), [domain(1)]);
        assert_eq!(cert.sha256(), &issued.sha256);
        assert_eq!(
            issued.not_after,
            Timestamp::from_millis((NOW.as_millis() / 1000 + 10 * 86_400) * 1000)
        );
        let (_, parsed) = X509Certificate::from_der(&issued.der).unwrap();
        assert!(!parsed.is_ca());
        let eku = parsed.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth && !eku.server_auth);
    }

    #[test]
    fn a_csr_keeps_its_key_and_common_name_and_nothing_else() {
        let ca = Issuer::generate("test client CA", 30, NOW).unwrap();
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, "bob");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "evil");
        params.subject_alt_names = vec![SanType::URI(
            format!("okms.domain:{}", domain(2)).try_into().unwrap(),
        )];
        params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let csr = params.serialize_request(&key).unwrap().pem().unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let issued = ca
            .sign_csr(&csr, domain(1), "fallback", 1, NOW, &mut rng)
            .unwrap();
        assert!(issued.private_key_pem.is_none());
        assert_eq!(
            ClientCertificate::from_der(&issued.der).domains(),
            [domain(1)]
        );
        let (_, parsed) = X509Certificate::from_der(&issued.der).unwrap();
        assert!(!parsed.is_ca());
        assert_eq!(parsed.subject().to_string(), "CN=bob");
        assert_eq!(
            parsed.public_key().subject_public_key.data.as_ref(),
            key.public_key_raw()
        );
        // Certified twice: two serials, two digests.
        let again = ca
            .sign_csr(&csr, domain(1), "fallback", 1, NOW, &mut rng)
            .unwrap();
        assert_ne!(again.sha256, issued.sha256);
    }

    #[test]
    fn bad_input_is_refused() {
        let ca = Issuer::generate("test client CA", 30, NOW).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        assert_eq!(
            ca.issue(domain(1), "x", 0, NOW, &mut rng).unwrap_err(),
            IssuerError::Days(0)
        );
        assert_eq!(
            ca.issue(domain(1), "x", 3651, NOW, &mut rng).unwrap_err(),
            IssuerError::Days(3651)
        );
        assert_eq!(
            ca.issue(domain(1), "a\nb", 1, NOW, &mut rng).unwrap_err(),
            IssuerError::CommonName
        );
        assert!(matches!(
            ca.sign_csr("not a csr", domain(1), "x", 1, NOW, &mut rng),
            Err(IssuerError::Csr(_))
        ));
        // A CSR whose signature does not match its key.
        let key = KeyPair::generate().unwrap();
        let csr = CertificateParams::default()
            .serialize_request(&key)
            .unwrap();
        let mut der = csr.der().to_vec();
        let last = der.len() - 1;
        der[last] ^= 1;
        let pem = pem_of(&der);
        assert!(matches!(
            ca.sign_csr(&pem, domain(1), "x", 1, NOW, &mut rng),
            Err(IssuerError::Csr(_))
        ));
    }

    fn pem_of(der: &[u8]) -> String {
        let b64 = cairn_core::b64::encode_std(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
            lines.join("\n")
        )
    }

    #[test]
    fn loading_checks_the_ca_and_its_key() {
        let ca = Issuer::generate("test client CA", 30, NOW).unwrap();
        let other = Issuer::generate("other CA", 30, NOW).unwrap();
        assert!(Issuer::from_pem(ca.certificate_pem(), ca.key_pem()).is_ok());
        assert_eq!(
            Issuer::from_pem(ca.certificate_pem(), other.key_pem()).unwrap_err(),
            IssuerError::KeyMismatch
        );
        assert_eq!(
            Issuer::from_pem("garbage", ca.key_pem()).unwrap_err(),
            IssuerError::BadCaCertificate
        );
        assert!(matches!(
            Issuer::from_pem(ca.certificate_pem(), "garbage"),
            Err(IssuerError::BadCaKey(_))
        ));
        // A leaf is not a CA.
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let leaf = ca.issue(domain(1), "leaf", 1, NOW, &mut rng).unwrap();
        assert_eq!(
            Issuer::from_pem(
                &leaf.certificate_pem,
                leaf.private_key_pem.as_ref().unwrap()
            )
            .unwrap_err(),
            IssuerError::NotCa
        );
        assert!(!format!("{ca:?}").contains(ca.key_pem()));
    }
}
