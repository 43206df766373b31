//! Who is an operator, and what the admin API may sign with.
//!
//! Operators are configured on each node, outside the replicated state, on purpose: the
//! admin API creates domains and credentials, so an operator must not be something an
//! operator (or a compromised domain administrator) can mint through the API itself. Nodes
//! keep only SHA-256 digests of the operators' certificates and tokens, so a node's
//! configuration file holds nothing that authenticates.

use std::fmt;

use cairn_core::CryptoRng;
use cairn_core::b64;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroizing;

use super::issuer::Issuer;

/// The admin API of a node. `ApiConfig::admin` holds it; `None` turns the admin API off
/// (every admin route answers 404, before any authentication).
#[derive(Clone, Default)]
pub struct AdminConfig {
    /// SHA-256 of the DER of each operator's client certificate. TLS has verified the
    /// certificate against the client CA bundle before its digest is compared; the digest
    /// then singles out the few certificates of that CA that are operators'.
    pub operator_certificates: Vec<[u8; 32]>,
    /// SHA-256 of each operator bearer token (`cairn_op_…`, see [`OperatorToken`]), as
    /// [`AdminConfig::operator_token_digest`] computes it.
    pub operator_tokens: Vec<[u8; 32]>,
    /// The client CA, to sign the certificates of new credentials. Without it the admin API
    /// still creates token credentials, and refuses certificate ones with a clear message.
    pub issuer: Option<Issuer>,
}

impl fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Counts only: the digests are not secret, but a debug print has no use for them.
        f.debug_struct("AdminConfig")
            .field("operator_certificates", &self.operator_certificates.len())
            .field("operator_tokens", &self.operator_tokens.len())
            .field("issuer", &self.issuer)
            .finish()
    }
}

impl AdminConfig {
    /// The digest an operator token is configured by: SHA-256 of its text. Computed for
    /// any text; [`OperatorToken::is_well_formed`] tells whether it is a token at all.
    pub fn operator_token_digest(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The digest an operator certificate is configured by: SHA-256 of its DER encoding,
    /// the value `sha256sum` prints for the DER file and the audit log records.
    pub fn certificate_digest(der: &[u8]) -> [u8; 32] {
        Sha256::digest(der).into()
    }

    /// A digest written as 64 hex digits (either case), as a configuration file holds it.
    pub fn parse_digest(hex: &str) -> Option<[u8; 32]> {
        let hex = hex.trim().as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let nibble = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        };
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
            *o = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(out)
    }

    /// Whether `sha256` is an operator certificate's digest. Every configured digest is
    /// compared, in constant time, so the time taken tells nothing about which one matched
    /// or how close a guess came.
    pub fn is_operator_certificate(&self, sha256: &[u8; 32]) -> bool {
        any_equal(&self.operator_certificates, sha256)
    }

    /// Whether `token` is an operator's token (compared by digest, in constant time).
    pub fn is_operator_token(&self, token: &str) -> bool {
        let digest = Zeroizing::new(AdminConfig::operator_token_digest(token));
        any_equal(&self.operator_tokens, &digest)
    }
}

fn any_equal(known: &[[u8; 32]], presented: &[u8; 32]) -> bool {
    let found = known
        .iter()
        .fold(Choice::from(0), |acc, d| acc | d.ct_eq(presented));
    found.into()
}

/// An operator bearer token: `cairn_op_` then 43 base64url characters (32 random bytes).
///
/// The `cairn_op_` prefix tells it apart from a domain credential's token (`cairn_<hex>_…`)
/// at a glance and lets secret scanners recognize a leaked one. It is shown once, when
/// generated (`cairn init`); nodes keep only its digest. Zeroized on drop, redacted in
/// `Debug`, and without `Display` so that it cannot reach a log by way of `format!`.
pub struct OperatorToken(Zeroizing<String>);

impl OperatorToken {
    pub const PREFIX: &'static str = "cairn_op_";
    const SECRET_B64: usize = 43;
    /// Length of every operator token.
    pub const LEN: usize = Self::PREFIX.len() + Self::SECRET_B64;

    /// A new token from 32 bytes of `rng` (the OS CSPRNG outside simulations).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> OperatorToken {
        let mut secret = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut secret[..]);
        // Sized up front so that no reallocation leaves a copy of the secret behind.
        let mut text = Zeroizing::new(String::with_capacity(Self::LEN));
        text.push_str(Self::PREFIX);
        b64::encode_url_into(&secret[..], &mut text);
        debug_assert_eq!(text.len(), Self::LEN);
        OperatorToken(text)
    }

    /// The token text, to show its owner once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What a node's configuration holds in its place.
    pub fn digest(&self) -> [u8; 32] {
        AdminConfig::operator_token_digest(&self.0)
    }

    /// Whether `text` has the shape of an operator token: the prefix, then exactly 43
    /// base64url characters in canonical form (one spelling per token).
    pub fn is_well_formed(text: &str) -> bool {
        text.len() == Self::LEN
            && text.strip_prefix(Self::PREFIX).is_some_and(|secret| {
                b64::decode_url(secret).is_some_and(|bytes| {
                    let ok = bytes.len() == 32;
                    drop(Zeroizing::new(bytes));
                    ok
                })
            })
    }
}

impl fmt::Debug for OperatorToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OperatorToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;

    #[test]
    fn tokens_have_their_format_and_match_their_digest_only() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let token = OperatorToken::generate(&mut rng);
        let text = token.expose();
        assert_eq!(text.len(), 52);
        assert!(text.starts_with("cairn_op_"));
        assert!(OperatorToken::is_well_formed(text));
        let config = AdminConfig {
            operator_tokens: vec![[0; 32], token.digest()],
            ..AdminConfig::default()
        };
        assert!(config.is_operator_token(text));
        let other = OperatorToken::generate(&mut rng);
        assert!(!config.is_operator_token(other.expose()));
        assert!(!config.is_operator_token(""));
        assert!(!format!("{token:?}").contains(&text[9..]));
    }

    #[test]
    fn malformed_tokens_are_told_apart() {
        let token = OperatorToken::generate(&mut ChaCha20Rng::seed_from_u64(1));
        let good = token.expose();
        for bad in [
            "",
            &good[..51],
            &format!("{good}A"),
            &good.replacen("cairn_op_", "cairn_xx_", 1),
            &format!("{}+", &good[..51]),
            "cairn_0123456789abcdef0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(!OperatorToken::is_well_formed(bad), "{bad:?}");
        }
    }

    #[test]
    fn digests_parse_from_hex() {
        let digest = AdminConfig::certificate_digest(b"der");
        let hex: String = digest.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(AdminConfig::parse_digest(&hex), Some(digest));
        assert_eq!(AdminConfig::parse_digest(&hex.to_lowercase()), Some(digest));
        assert_eq!(AdminConfig::parse_digest(&hex[1..]), None);
        assert_eq!(AdminConfig::parse_digest(&format!("{}g", &hex[1..])), None);
        let config = AdminConfig {
            operator_certificates: vec![digest],
            ..AdminConfig::default()
        };
        assert!(config.is_operator_certificate(&digest));
        assert!(!config.is_operator_certificate(&[0; 32]));
        assert!(!AdminConfig::default().is_operator_certificate(&digest));
    }
}
