//! Credentials: what ties a connection to identity URNs.
//!
//! A credential binds one proof of possession, a client certificate or a bearer token, to a
//! list of identity URNs chosen server-side. Policies then speak about identities, never
//! about certificates, so a certificate can be rotated without touching a policy.
//!
//! Cairn stores only SHA-256 digests. A certificate's digest is not secret (the certificate
//! is public) and is looked up directly. A token's digest stands in for the token: the log,
//! snapshots and backups that replicate credentials never hold anything that authenticates,
//! and the token is shown to its owner once, when it is generated.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::text::check_name;
use super::urn::IdentityUrn;
use crate::CryptoRng;
use crate::b64;
use crate::error::Error;
use crate::ids::CredentialId;
use crate::time::Timestamp;

pub const MAX_NAME_CHARS: usize = 64;
pub const MAX_IDENTITIES: usize = 100;

/// The proof of possession a credential is bound to. Ordered so that the state can index
/// credentials by binding.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Binding {
    /// SHA-256 of the client certificate's DER encoding.
    Certificate {
        #[serde(with = "sha256_serde")]
        sha256: [u8; 32],
    },
    /// SHA-256 of the secret part of a bearer token (never the token itself).
    Token {
        #[serde(with = "sha256_serde")]
        sha256: [u8; 32],
    },
}

impl Binding {
    /// The binding of a client certificate, from its DER encoding.
    pub fn certificate(der: &[u8]) -> Binding {
        Binding::Certificate {
            sha256: Sha256::digest(der).into(),
        }
    }

    pub fn sha256(&self) -> &[u8; 32] {
        match self {
            Binding::Certificate { sha256 } | Binding::Token { sha256 } => sha256,
        }
    }
}

impl fmt::Debug for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Digests are not secret; hex is what operators compare with `sha256sum`.
        let kind = match self {
            Binding::Certificate { .. } => "Certificate",
            Binding::Token { .. } => "Token",
        };
        write!(f, "{kind}(sha256:{})", hex(self.sha256()))
    }
}

/// A credential of a domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    pub id: CredentialId,
    pub name: String,
    /// The identities a caller holding this credential acts as.
    pub identities: Vec<IdentityUrn>,
    pub binding: Binding,
    pub created: Timestamp,
    /// Last instant (inclusive, as X.509 `notAfter`) the credential is usable; `None` for no
    /// expiry.
    pub not_after: Option<Timestamp>,
    /// When it was revoked. A revocation is final whatever the reader's clock says.
    pub revoked: Option<Timestamp>,
}

impl Credential {
    pub fn validate(&self) -> Result<(), Error> {
        check_name(&self.name, MAX_NAME_CHARS).map_err(|e| e.at_field("name"))?;
        let n = self.identities.len();
        if n == 0 || n > MAX_IDENTITIES {
            return Err(Error::invalid(
                "identities",
                format!("needs 1 to {MAX_IDENTITIES} entries, got {n}"),
            ));
        }
        if let Some(not_after) = self.not_after
            && not_after < self.created
        {
            return Err(Error::invalid(
                "not_after",
                format!("{not_after} is before the creation date {}", self.created),
            ));
        }
        Ok(())
    }

    /// Whether the credential may authenticate a request at `now`.
    pub fn usable_at(&self, now: Timestamp) -> Result<(), Error> {
        // Revocation is checked without comparing to `now`: a replica whose clock lags the
        // leader's must not accept a credential the leader has already revoked.
        if let Some(revoked) = self.revoked {
            return Err(Error::Unauthenticated(format!(
                "credential {} was revoked at {revoked}",
                self.id
            )));
        }
        if let Some(not_after) = self.not_after
            && now > not_after
        {
            return Err(Error::Unauthenticated(format!(
                "credential {} expired at {not_after}",
                self.id
            )));
        }
        Ok(())
    }

    /// Whether `secret` is the secret of this credential's token, compared in constant time
    /// so the comparison leaks nothing about how much of a guessed digest was right.
    pub fn accepts_token(&self, secret: &TokenSecret) -> bool {
        match &self.binding {
            Binding::Token { sha256 } => sha256.ct_eq(&secret.sha256()).into(),
            Binding::Certificate { .. } => false,
        }
    }

    /// Whether this credential is bound to the certificate whose DER has digest `sha256`.
    pub fn accepts_certificate(&self, sha256: &[u8; 32]) -> bool {
        match &self.binding {
            Binding::Certificate { sha256: bound } => bound.ct_eq(sha256).into(),
            Binding::Token { .. } => false,
        }
    }
}

/// The bearer-token format: `cairn_<credential id, 32 hex>_<secret, 43 base64url>`.
///
/// The credential id in clear lets the server find the one digest to compare against
/// instead of searching; the `cairn_` prefix lets secret scanners recognize a leaked token.
/// The secret is 32 random bytes from the caller's RNG.
pub enum Token {}

impl Token {
    pub const PREFIX: &'static str = "cairn_";
    const ID_HEX: usize = 32;
    const SECRET_B64: usize = 43;
    /// Length of every token string.
    pub const LEN: usize = Self::PREFIX.len() + Self::ID_HEX + 1 + Self::SECRET_B64;

    /// A new token for credential `id`, and the binding to store in its place.
    pub fn generate<R: CryptoRng + ?Sized>(
        id: CredentialId,
        rng: &mut R,
    ) -> (SecretToken, Binding) {
        let mut secret = TokenSecret(Zeroizing::new([0u8; 32]));
        rng.fill_bytes(&mut secret.0[..]);
        let encoded = Zeroizing::new(b64::encode_url(&secret.0[..]));
        // Sized up front so that no reallocation leaves a copy of the secret behind.
        let mut text = Zeroizing::new(String::with_capacity(Self::LEN));
        text.push_str(Self::PREFIX);
        text.push_str(&hex(id.as_bytes()));
        text.push('_');
        text.push_str(&encoded);
        debug_assert_eq!(text.len(), Self::LEN);
        let binding = Binding::Token {
            sha256: secret.sha256(),
        };
        (
            SecretToken {
                credential: id,
                text,
            },
            binding,
        )
    }

    /// Splits a presented token into the credential it names and its secret; `None` for
    /// anything not exactly in the format (one spelling per token: lowercase hex, canonical
    /// base64url).
    pub fn parse(token: &str) -> Option<(CredentialId, TokenSecret)> {
        if token.len() != Self::LEN || !token.is_ascii() {
            return None;
        }
        let rest = token.strip_prefix(Self::PREFIX)?;
        let (id_hex, rest) = rest.split_at(Self::ID_HEX);
        // The secret may itself contain '_' (base64url): split by position, not by '_'.
        let secret_b64 = rest.strip_prefix('_')?;
        let id = CredentialId::from_uuid(uuid::Uuid::from_bytes(unhex(id_hex)?));
        let decoded = Zeroizing::new(b64::decode_url(secret_b64)?);
        let mut secret = TokenSecret(Zeroizing::new([0u8; 32]));
        if decoded.len() != secret.0.len() {
            return None;
        }
        secret.0.copy_from_slice(&decoded);
        Some((id, secret))
    }
}

/// A complete bearer token, to be shown once to its owner. Zeroized on drop; its Debug shows
/// only the credential id, and it has no Display so that it cannot slip into a log by way of
/// `format!`.
pub struct SecretToken {
    credential: CredentialId,
    text: Zeroizing<String>,
}

impl SecretToken {
    pub fn credential(&self) -> CredentialId {
        self.credential
    }

    /// The token text, for the one response that hands it out.
    pub fn expose(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretToken")
            .field("credential", &self.credential)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The secret part of a presented token. Zeroized on drop; redacted in Debug.
pub struct TokenSecret(Zeroizing<[u8; 32]>);

impl TokenSecret {
    /// The digest stored in a [`Binding::Token`].
    pub fn sha256(&self) -> [u8; 32] {
        Sha256::digest(&self.0[..]).into()
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(<redacted>)")
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    s
}

/// Lowercase hex only, so that one value has one spelling.
fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let s = s.as_bytes();
    if s.len() != 2 * N {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        *o = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

/// Digests as 64 lowercase hex digits in JSON, as raw bytes in binary formats (postcard).
mod sha256_serde {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(digest: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&super::hex(digest))
        } else {
            digest.serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            super::unhex(&s).ok_or_else(|| D::Error::custom("expected 64 lowercase hex digits"))
        } else {
            <[u8; 32]>::deserialize(d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn rng(seed: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(seed)
    }

    fn credential(id: CredentialId, binding: Binding) -> Credential {
        Credential {
            id,
            name: "ci deploy".into(),
            identities: vec![IdentityUrn::new("urn:v1:eu:identity:user:acme/ci").unwrap()],
            binding,
            created: Timestamp::from_millis(1_000_000),
            not_after: None,
            revoked: None,
        }
    }

    #[test]
    fn token_format_and_round_trip() {
        let mut rng = rng(1);
        let id = CredentialId::random(&mut rng);
        let (token, binding) = Token::generate(id, &mut rng);
        let text = token.expose();
        assert_eq!(text.len(), Token::LEN);
        assert_eq!(Token::LEN, 82);
        let simple = id.as_uuid().simple().to_string();
        assert!(text.starts_with(&format!("cairn_{simple}_")), "{text}");
        assert!(
            text[39..]
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(token.credential(), id);

        let (parsed_id, secret) = Token::parse(text).unwrap();
        assert_eq!(parsed_id, id);
        assert_eq!(
            Binding::Token {
                sha256: secret.sha256()
            },
            binding
        );
        assert!(credential(id, binding).accepts_token(&secret));
    }

    #[test]
    fn generation_is_deterministic_per_seed_and_secrets_differ() {
        let id = CredentialId::from_uuid(uuid::Uuid::nil());
        let (a, _) = Token::generate(id, &mut rng(5));
        let (b, _) = Token::generate(id, &mut rng(5));
        let (c, _) = Token::generate(id, &mut rng(6));
        assert_eq!(a.expose(), b.expose());
        assert_ne!(a.expose(), c.expose());
    }

    #[test]
    fn secrets_with_underscores_parse() {
        // Find a seed whose secret contains '_' to show parsing does not split on it.
        let id = CredentialId::from_uuid(uuid::Uuid::nil());
        let (token, binding) = (0..)
            .map(|seed| Token::generate(id, &mut rng(seed)))
            .find(|(t, _)| t.expose()[39..].contains('_'))
            .unwrap();
        let (_, secret) = Token::parse(token.expose()).unwrap();
        assert_eq!(secret.sha256(), *binding.sha256());
    }

    #[test]
    fn malformed_tokens_do_not_parse() {
        let mut rng = rng(2);
        let id = CredentialId::random(&mut rng);
        let (token, _) = Token::generate(id, &mut rng);
        let good = token.expose().to_string();
        assert!(Token::parse(&good).is_some());
        let upper_id = format!("cairn_{}{}", good[6..38].to_uppercase(), &good[38..]);
        let mut wrong_sep = good.clone();
        wrong_sep.replace_range(38..39, "-");
        let mut bad_b64 = good.clone();
        bad_b64.replace_range(50..51, "+");
        for bad in [
            String::new(),
            good[..81].to_string(),
            format!("{good}A"),
            format!(" {}", &good[1..]),
            good.replacen("cairn_", "Cairn_", 1),
            upper_id,
            wrong_sep,
            bad_b64,
            non_canonical_last_char(&good),
            format!("{}é", &good[..80]),
        ] {
            assert!(Token::parse(&bad).is_none(), "{bad:?}");
        }
    }

    /// The same token with non-zero trailing bits in its last character: 43 base64url
    /// characters carry 258 bits for 256, so a canonical last character has its 2 low bits
    /// clear, and a decoder that ignored them would accept 4 spellings of one secret.
    fn non_canonical_last_char(token: &str) -> String {
        const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let last = token.as_bytes()[81];
        let index = URL.iter().position(|&c| c == last).unwrap();
        assert_eq!(index % 4, 0, "canonical encoding");
        format!("{}{}", &token[..81], char::from(URL[index | 1]))
    }

    #[test]
    fn wrong_secret_and_other_credentials_token_are_refused() {
        let mut rng = rng(3);
        let alice = CredentialId::random(&mut rng);
        let bob = CredentialId::random(&mut rng);
        let (alice_token, alice_binding) = Token::generate(alice, &mut rng);
        let (bob_token, _) = Token::generate(bob, &mut rng);
        let alice_cred = credential(alice, alice_binding);

        let (named, bob_secret) = Token::parse(bob_token.expose()).unwrap();
        assert_eq!(named, bob);
        assert!(!alice_cred.accepts_token(&bob_secret));

        // Alice's id with a guessed secret.
        let mut forged = alice_token.expose().to_string();
        let guess = b64::encode_url(&[7u8; 32]);
        forged.replace_range(39.., &guess);
        let (named, guessed) = Token::parse(&forged).unwrap();
        assert_eq!(named, alice);
        assert!(!alice_cred.accepts_token(&guessed));

        // A certificate credential never accepts a token, even one with the same digest.
        let (_, secret) = Token::parse(alice_token.expose()).unwrap();
        let cert = credential(
            alice,
            Binding::Certificate {
                sha256: secret.sha256(),
            },
        );
        assert!(!cert.accepts_token(&secret));
    }

    #[test]
    fn certificates_are_matched_by_digest() {
        let der = b"not really DER, but bytes all the same";
        let cred = credential(
            CredentialId::from_uuid(uuid::Uuid::nil()),
            Binding::certificate(der),
        );
        let digest: [u8; 32] = Sha256::digest(der).into();
        assert!(cred.accepts_certificate(&digest));
        assert!(!cred.accepts_certificate(&[0; 32]));
    }

    #[test]
    fn revoked_or_expired_credentials_are_unusable() {
        let id = CredentialId::from_uuid(uuid::Uuid::nil());
        let mut cred = credential(id, Binding::Token { sha256: [1; 32] });
        let t = Timestamp::from_millis;
        assert_eq!(cred.usable_at(t(5_000_000)), Ok(()));

        cred.not_after = Some(t(2_000_000));
        assert_eq!(
            cred.usable_at(t(2_000_000)),
            Ok(()),
            "not_after is inclusive"
        );
        match cred.usable_at(t(2_000_001)) {
            Err(Error::Unauthenticated(reason)) => {
                assert!(
                    reason.contains("expired at 1970-01-01T00:33:20Z"),
                    "{reason}"
                );
                assert!(reason.contains(&id.to_string()));
            }
            other => panic!("{other:?}"),
        }

        cred.not_after = None;
        cred.revoked = Some(t(3_000_000));
        // Revoked is final, even for a reader whose clock is behind the revocation.
        for now in [t(1_500_000), t(3_000_000), t(9_000_000)] {
            match cred.usable_at(now) {
                Err(Error::Unauthenticated(reason)) => {
                    assert!(reason.contains("revoked"), "{reason}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let mut rng = rng(4);
        let id = CredentialId::random(&mut rng);
        let (token, _) = Token::generate(id, &mut rng);
        let secret_part = &token.expose()[39..];
        let debug = format!("{token:?}");
        assert!(!debug.contains(secret_part), "{debug}");
        assert!(debug.contains("redacted"));
        assert!(debug.contains(&id.to_string()));
        let (_, secret) = Token::parse(token.expose()).unwrap();
        let debug = format!("{secret:?} {:#?}", secret);
        assert_eq!(debug, "TokenSecret(<redacted>) TokenSecret(<redacted>)");
    }

    #[test]
    fn validation() {
        let id = CredentialId::from_uuid(uuid::Uuid::nil());
        let good = credential(id, Binding::Token { sha256: [1; 32] });
        good.validate().unwrap();
        let field = |c: &Credential| match c.validate() {
            Err(Error::InvalidArgument { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let mut c = good.clone();
        c.name = "x".repeat(65);
        assert_eq!(field(&c), "name");
        c.name = String::new();
        assert_eq!(field(&c), "name");
        let mut c = good.clone();
        c.identities = vec![good.identities[0].clone(); 100];
        c.validate().unwrap();
        c.identities.push(good.identities[0].clone());
        assert_eq!(field(&c), "identities");
        c.identities.clear();
        assert_eq!(field(&c), "identities");
        let mut c = good.clone();
        c.not_after = Some(Timestamp::from_millis(999_999));
        assert_eq!(field(&c), "not_after");
    }

    #[test]
    fn serde_json_and_postcard() {
        let id = CredentialId::from_uuid(uuid::Uuid::nil());
        let mut sha = [0u8; 32];
        sha[0] = 0xab;
        sha[31] = 0x01;
        let cred = credential(id, Binding::Certificate { sha256: sha });
        let json = serde_json::to_value(&cred).unwrap();
        assert_eq!(
            json["binding"]["certificate"]["sha256"],
            format!("ab{}01", "0".repeat(60))
        );
        assert_eq!(
            serde_json::from_value::<Credential>(json.clone()).unwrap(),
            cred
        );
        let mut upper = json;
        upper["binding"]["certificate"]["sha256"] = format!("AB{}01", "0".repeat(60)).into();
        assert!(serde_json::from_value::<Credential>(upper).is_err());

        let bytes = postcard::to_allocvec(&cred).unwrap();
        assert_eq!(postcard::from_bytes::<Credential>(&bytes).unwrap(), cred);
        assert!(format!("{:?}", cred.binding).contains(&format!("sha256:ab{}01", "0".repeat(60))));
    }
}
