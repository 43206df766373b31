//! Signatures with the JWA algorithm names OKMS uses (RFC 7518 §3): ECDSA on the NIST curves,
//! RSASSA-PKCS1-v1_5 and RSASSA-PSS.
//!
//! Private-key operations are side-channel hardened, with randomness from the caller's RNG:
//!
//! * RSA runs on `rsa` 0.10's constant-time arithmetic (crypto-bigint; 0.9 was exposed to the
//!   Marvin timing attack, RUSTSEC-2023-0071) and blinds every private operation with the
//!   passed RNG (`pkcs1v15_sign_prehash_with_rng`, `pss_sign_prehash_with_rng`). Blinding
//!   does not change a PKCS#1 v1.5 signature, which stays deterministic; PSS draws its salt
//!   (as long as the digest, as JWA requires) from the same RNG.
//! * ECDSA is hedged: the nonce is RFC 6979's deterministic one with fresh RNG bytes mixed in
//!   as additional data (`RandomizedPrehashSigner::sign_prehash_with_rng`), so a weak RNG
//!   cannot leak the key and a fault attack gains nothing from repeated signing.
//!
//! With a seeded RNG every output is reproducible, which the simulator relies on.
//!
//! Raw signatures are what the API returns (in base64): IEEE P1363 `r‖s` for ECDSA, each half
//! as long as a field element, and the modulus-length octet string for RSA.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use p256::ecdsa::signature::hazmat::{PrehashVerifier, RandomizedPrehashSigner};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::error::Error;
use crate::ids::KeyId;
use crate::key::material::{Material, PublicKey};
use crate::key::spec::{Curve, KeySpec};

/// A JWA digital-signature algorithm (the API's `alg`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SignatureAlgorithm {
    #[serde(rename = "ES256")]
    Es256,
    #[serde(rename = "ES384")]
    Es384,
    #[serde(rename = "ES512")]
    Es512,
    #[serde(rename = "RS256")]
    Rs256,
    #[serde(rename = "RS384")]
    Rs384,
    #[serde(rename = "RS512")]
    Rs512,
    #[serde(rename = "PS256")]
    Ps256,
    #[serde(rename = "PS384")]
    Ps384,
    #[serde(rename = "PS512")]
    Ps512,
}

/// The hash under an algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl SignatureAlgorithm {
    /// Every algorithm, in the API's order.
    pub const ALL: [SignatureAlgorithm; 9] = [
        SignatureAlgorithm::Es256,
        SignatureAlgorithm::Es384,
        SignatureAlgorithm::Es512,
        SignatureAlgorithm::Rs256,
        SignatureAlgorithm::Rs384,
        SignatureAlgorithm::Rs512,
        SignatureAlgorithm::Ps256,
        SignatureAlgorithm::Ps384,
        SignatureAlgorithm::Ps512,
    ];

    pub const fn as_str(self) -> &'static str {
        use SignatureAlgorithm::*;
        match self {
            Es256 => "ES256",
            Es384 => "ES384",
            Es512 => "ES512",
            Rs256 => "RS256",
            Rs384 => "RS384",
            Rs512 => "RS512",
            Ps256 => "PS256",
            Ps384 => "PS384",
            Ps512 => "PS512",
        }
    }

    const fn hash(self) -> Hash {
        use SignatureAlgorithm::*;
        match self {
            Es256 | Rs256 | Ps256 => Hash::Sha256,
            Es384 | Rs384 | Ps384 => Hash::Sha384,
            Es512 | Rs512 | Ps512 => Hash::Sha512,
        }
    }

    /// Whether the algorithm can be used with a key: each ECDSA algorithm with its one curve
    /// (JWA pairs ES512 with P-521), RSA algorithms with an RSA key of any offered size.
    pub fn fits(self, spec: KeySpec) -> bool {
        use SignatureAlgorithm::*;
        match (self, spec) {
            (Es256, KeySpec::Ec { curve }) => curve == Curve::P256,
            (Es384, KeySpec::Ec { curve }) => curve == Curve::P384,
            (Es512, KeySpec::Ec { curve }) => curve == Curve::P521,
            (Rs256 | Rs384 | Rs512 | Ps256 | Ps384 | Ps512, KeySpec::Rsa { .. }) => true,
            _ => false,
        }
    }

    /// Length in bytes of the digest the algorithm signs (what `isdigest` messages must be).
    pub const fn digest_len(self) -> usize {
        match self.hash() {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }

    /// Hashes `message` with the algorithm's hash.
    pub fn digest(self, message: &[u8]) -> Vec<u8> {
        let digest = match self.hash() {
            Hash::Sha256 => Sha256::digest(message).to_vec(),
            Hash::Sha384 => Sha384::digest(message).to_vec(),
            Hash::Sha512 => Sha512::digest(message).to_vec(),
        };
        debug_assert_eq!(digest.len(), self.digest_len());
        digest
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the nine algorithms (exact, case-sensitive: JOSE names are).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a signature algorithm: use one of ES256, ES384, ES512, RS256, RS384, RS512, PS256, PS384, PS512"
)]
pub struct UnknownAlgorithm;

impl FromStr for SignatureAlgorithm {
    type Err = UnknownAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SignatureAlgorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or(UnknownAlgorithm)
    }
}

/// How a signature is returned (the sign endpoint's `format`): the raw signature, a JWS in
/// compact serialization, or a JWS whose header says it is a JWT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureFormat {
    #[default]
    Raw,
    Jws,
    Jwt,
}

impl SignatureFormat {
    /// The JWS header `typ` of the format: `JWT` for `jwt`, none otherwise.
    pub const fn typ(self) -> Option<&'static str> {
        match self {
            SignatureFormat::Jwt => Some("JWT"),
            SignatureFormat::Raw | SignatureFormat::Jws => None,
        }
    }
}

/// The error for an algorithm that does not fit the key (ES256 on an RSA key, ES384 on
/// P-256, anything on an AES key).
pub(crate) fn mismatch(kid: KeyId, alg: SignatureAlgorithm, spec: KeySpec) -> Error {
    Error::AlgorithmMismatch {
        key: kid,
        algorithm: alg.as_str().to_string(),
        spec: spec.to_string(),
    }
}

/// The digest to sign or verify: the message itself when the caller already hashed it (then
/// it must be exactly as long as the algorithm's digest), else its hash.
fn prehash(
    alg: SignatureAlgorithm,
    message: &[u8],
    is_digest: bool,
) -> Result<Cow<'_, [u8]>, Error> {
    if !is_digest {
        return Ok(Cow::Owned(alg.digest(message)));
    }
    if message.len() != alg.digest_len() {
        return Err(Error::invalid(
            "message",
            format!(
                "with isdigest, {alg} takes a {}-byte digest, not {} bytes",
                alg.digest_len(),
                message.len()
            ),
        ));
    }
    Ok(Cow::Borrowed(message))
}

/// Signs `message` (or, with `is_digest`, the digest the caller computed) and returns the raw
/// signature. `kid` only names the key in errors.
pub fn sign<R: CryptoRng + ?Sized>(
    kid: KeyId,
    material: &Material,
    alg: SignatureAlgorithm,
    message: &[u8],
    is_digest: bool,
    rng: &mut R,
) -> Result<Vec<u8>, Error> {
    use SignatureAlgorithm::*;
    let spec = material.spec();
    if !alg.fits(spec) {
        return Err(mismatch(kid, alg, spec));
    }
    let digest = prehash(alg, message, is_digest)?;
    let failed = |e: &dyn fmt::Display| Error::Internal(format!("{alg} signing failed: {e}"));
    let signature = match (material, alg) {
        (Material::Rsa(k), Rs256) => k.pkcs1v15_sign_prehash_with_rng::<Sha256, R>(rng, &digest),
        (Material::Rsa(k), Rs384) => k.pkcs1v15_sign_prehash_with_rng::<Sha384, R>(rng, &digest),
        (Material::Rsa(k), Rs512) => k.pkcs1v15_sign_prehash_with_rng::<Sha512, R>(rng, &digest),
        (Material::Rsa(k), Ps256) => k.pss_sign_prehash_with_rng::<Sha256, R>(rng, &digest),
        (Material::Rsa(k), Ps384) => k.pss_sign_prehash_with_rng::<Sha384, R>(rng, &digest),
        (Material::Rsa(k), Ps512) => k.pss_sign_prehash_with_rng::<Sha512, R>(rng, &digest),
        (Material::P256(k), _) => {
            let sig: p256::ecdsa::Signature = k
                .sign_prehash_with_rng(rng, &digest)
                .map_err(|e| failed(&e))?;
            Ok(sig.to_bytes().to_vec())
        }
        (Material::P384(k), _) => {
            let sig: p384::ecdsa::Signature = k
                .sign_prehash_with_rng(rng, &digest)
                .map_err(|e| failed(&e))?;
            Ok(sig.to_bytes().to_vec())
        }
        (Material::P521(k), _) => {
            let sig: p521::ecdsa::Signature = k
                .sign_prehash_with_rng(rng, &digest)
                .map_err(|e| failed(&e))?;
            Ok(sig.to_bytes().to_vec())
        }
        // `fits` let through only the pairs above.
        _ => return Err(mismatch(kid, alg, spec)),
    };
    let signature = signature.map_err(|e| failed(&e))?;
    debug_assert_eq!(signature.len(), signature_len(spec));
    Ok(signature)
}

/// Checks a raw signature. A signature that does not verify — altered, of the wrong length,
/// not even an encoding of one — is `Ok(false)`: OKMS answers `{"result": false}`. Only a
/// request that cannot be checked at all is an error: an algorithm that does not fit the key,
/// or an `is_digest` message that is not a digest of the algorithm's length.
pub fn verify(
    kid: KeyId,
    public: &PublicKey,
    alg: SignatureAlgorithm,
    message: &[u8],
    is_digest: bool,
    signature: &[u8],
) -> Result<bool, Error> {
    use SignatureAlgorithm::*;
    let spec = public.spec();
    if !alg.fits(spec) {
        return Err(mismatch(kid, alg, spec));
    }
    let digest = prehash(alg, message, is_digest)?;
    let valid = match (public, alg) {
        (PublicKey::Rsa(k), Rs256) => k
            .pkcs1v15_verify_prehash::<Sha256>(&digest, signature)
            .is_ok(),
        (PublicKey::Rsa(k), Rs384) => k
            .pkcs1v15_verify_prehash::<Sha384>(&digest, signature)
            .is_ok(),
        (PublicKey::Rsa(k), Rs512) => k
            .pkcs1v15_verify_prehash::<Sha512>(&digest, signature)
            .is_ok(),
        // Salt as long as the digest (RFC 7518 §3.5), which `pss_verify_prehash` requires.
        (PublicKey::Rsa(k), Ps256) => k.pss_verify_prehash::<Sha256>(&digest, signature).is_ok(),
        (PublicKey::Rsa(k), Ps384) => k.pss_verify_prehash::<Sha384>(&digest, signature).is_ok(),
        (PublicKey::Rsa(k), Ps512) => k.pss_verify_prehash::<Sha512>(&digest, signature).is_ok(),
        (PublicKey::P256(k), _) => p256::ecdsa::Signature::from_slice(signature)
            .is_ok_and(|sig| k.verify_prehash(&digest, &sig).is_ok()),
        (PublicKey::P384(k), _) => p384::ecdsa::Signature::from_slice(signature)
            .is_ok_and(|sig| k.verify_prehash(&digest, &sig).is_ok()),
        (PublicKey::P521(k), _) => p521::ecdsa::Signature::from_slice(signature)
            .is_ok_and(|sig| k.verify_prehash(&digest, &sig).is_ok()),
        _ => return Err(mismatch(kid, alg, spec)),
    };
    Ok(valid)
}

/// Length of a raw signature made with a key of `spec`: the modulus length for RSA, two field
/// elements for ECDSA.
pub fn signature_len(spec: KeySpec) -> usize {
    match spec {
        KeySpec::Rsa { bits } => usize::from(bits).div_ceil(8),
        KeySpec::Ec { curve } => 2 * curve.field_len(),
        KeySpec::Oct { .. } => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SignatureAlgorithm::*;
    use proptest::prelude::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn rng(seed: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(seed)
    }

    fn kid() -> KeyId {
        KeyId::random(&mut rng(99))
    }

    fn ec_key(curve: Curve, seed: u64) -> Material {
        Material::generate(KeySpec::Ec { curve }, &mut rng(seed)).unwrap()
    }

    const MESSAGE: &[u8] = b"The quick brown fox jumps over the lazy dog";

    /// Everything a signature must satisfy, for one key and one algorithm.
    fn check_algorithm(material: &Material, alg: SignatureAlgorithm) {
        let spec = material.spec();
        let public = material.public_key().unwrap();
        let kid = kid();

        let sig = sign(kid, material, alg, MESSAGE, false, &mut rng(1)).unwrap();
        assert_eq!(
            sig.len(),
            signature_len(spec),
            "{alg}: raw signature length"
        );
        assert!(
            verify(kid, &public, alg, MESSAGE, false, &sig).unwrap(),
            "{alg}: verifies"
        );

        // Determinism: the same seed gives the same signature.
        let again = sign(kid, material, alg, MESSAGE, false, &mut rng(1)).unwrap();
        assert_eq!(sig, again, "{alg}: same seed, same signature");

        // The digest path signs and verifies the same thing.
        let digest = alg.digest(MESSAGE);
        let from_digest = sign(kid, material, alg, &digest, true, &mut rng(2)).unwrap();
        assert!(
            verify(kid, &public, alg, MESSAGE, false, &from_digest).unwrap(),
            "{alg}"
        );
        assert!(
            verify(kid, &public, alg, &digest, true, &sig).unwrap(),
            "{alg}"
        );

        // Altered signature, altered message, garbage: false, never an error.
        for i in [0, sig.len() / 2, sig.len() - 1] {
            let mut tampered = sig.clone();
            tampered[i] ^= 0x01;
            assert!(
                !verify(kid, &public, alg, MESSAGE, false, &tampered).unwrap(),
                "{alg}: byte {i}"
            );
        }
        assert!(
            !verify(
                kid,
                &public,
                alg,
                b"The quick brown fox jumps over the lazy cog",
                false,
                &sig
            )
            .unwrap()
        );
        for garbage in [
            vec![],
            vec![0; sig.len()],
            vec![0xff; sig.len()],
            sig[1..].to_vec(),
            [&sig[..], &[0]].concat(),
        ] {
            assert!(
                !verify(kid, &public, alg, MESSAGE, false, &garbage).unwrap(),
                "{alg}: garbage"
            );
        }

        // A digest of the wrong length is a bad request, for sign and verify alike.
        for len in [0, alg.digest_len() - 1, alg.digest_len() + 1] {
            let err = sign(kid, material, alg, &vec![0; len], true, &mut rng(3)).unwrap_err();
            assert!(
                matches!(err, Error::InvalidArgument { ref field, .. } if field == "message"),
                "{err}"
            );
            let err = verify(kid, &public, alg, &vec![0; len], true, &sig).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
        }

        // Every other algorithm is refused with AlgorithmMismatch when it does not fit.
        for other in SignatureAlgorithm::ALL
            .into_iter()
            .filter(|o| !o.fits(spec))
        {
            let err = sign(kid, material, other, MESSAGE, false, &mut rng(4)).unwrap_err();
            assert_eq!(err, mismatch(kid, other, spec));
            let err = verify(kid, &public, other, MESSAGE, false, &sig).unwrap_err();
            assert!(matches!(err, Error::AlgorithmMismatch { .. }), "{err}");
        }
    }

    #[test]
    fn ecdsa_round_trips_on_every_curve() {
        for (curve, alg) in [
            (Curve::P256, Es256),
            (Curve::P384, Es384),
            (Curve::P521, Es512),
        ] {
            let key = ec_key(curve, 10);
            assert!(alg.fits(key.spec()));
            check_algorithm(&key, alg);
        }
    }

    #[test]
    fn ecdsa_is_hedged() {
        // RFC 6979 alone would give one signature per (key, message); the RNG's bytes make
        // each seed's signature different, while one seed stays reproducible.
        let key = ec_key(Curve::P256, 11);
        let a = sign(kid(), &key, Es256, MESSAGE, false, &mut rng(1)).unwrap();
        let b = sign(kid(), &key, Es256, MESSAGE, false, &mut rng(2)).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn rsa_round_trips_with_every_algorithm() {
        let key = Material::generate(KeySpec::Rsa { bits: 2048 }, &mut rng(12)).unwrap();
        for alg in [Rs256, Rs384, Rs512, Ps256, Ps384, Ps512] {
            check_algorithm(&key, alg);
        }
        // PKCS#1 v1.5 is deterministic whatever the blinding; PSS salts are random.
        let a = sign(kid(), &key, Rs256, MESSAGE, false, &mut rng(1)).unwrap();
        let b = sign(kid(), &key, Rs256, MESSAGE, false, &mut rng(2)).unwrap();
        assert_eq!(a, b);
        let a = sign(kid(), &key, Ps256, MESSAGE, false, &mut rng(1)).unwrap();
        let b = sign(kid(), &key, Ps256, MESSAGE, false, &mut rng(2)).unwrap();
        assert_ne!(a, b);
        // A PKCS#1 v1.5 signature is not a PSS one, and the hash is part of the signature.
        let public = key.public_key().unwrap();
        assert!(!verify(kid(), &public, Rs256, MESSAGE, false, &a).unwrap());
        let rs256 = sign(kid(), &key, Rs256, MESSAGE, false, &mut rng(1)).unwrap();
        assert!(!verify(kid(), &public, Ps256, MESSAGE, false, &rs256).unwrap());
        assert!(!verify(kid(), &public, Rs384, MESSAGE, false, &rs256).unwrap());
    }

    #[test]
    fn aes_keys_sign_nothing() {
        let key = Material::generate(KeySpec::Oct { bits: 256 }, &mut rng(13)).unwrap();
        for alg in SignatureAlgorithm::ALL {
            let err = sign(kid(), &key, alg, MESSAGE, false, &mut rng(1)).unwrap_err();
            assert!(matches!(err, Error::AlgorithmMismatch { .. }), "{err}");
        }
    }

    #[test]
    fn fits_pairs_each_ecdsa_algorithm_with_its_curve() {
        let p256 = KeySpec::Ec { curve: Curve::P256 };
        let p384 = KeySpec::Ec { curve: Curve::P384 };
        let p521 = KeySpec::Ec { curve: Curve::P521 };
        let rsa = KeySpec::Rsa { bits: 3072 };
        let oct = KeySpec::Oct { bits: 256 };
        assert!(Es256.fits(p256) && !Es256.fits(p384) && !Es256.fits(rsa));
        assert!(Es384.fits(p384) && !Es384.fits(p521));
        assert!(Es512.fits(p521) && !Es512.fits(p256));
        for alg in [Rs256, Rs384, Rs512, Ps256, Ps384, Ps512] {
            assert!(alg.fits(rsa) && alg.fits(KeySpec::Rsa { bits: 2048 }));
            assert!(!alg.fits(p256) && !alg.fits(oct));
        }
        assert!(SignatureAlgorithm::ALL.iter().all(|a| !a.fits(oct)));
        assert_eq!(
            [Es256, Rs384, Ps512].map(SignatureAlgorithm::digest_len),
            [32, 48, 64]
        );
    }

    #[test]
    fn api_names() {
        for alg in SignatureAlgorithm::ALL {
            let json = serde_json::to_string(&alg).unwrap();
            assert_eq!(json, format!("\"{}\"", alg.as_str()));
            assert_eq!(
                serde_json::from_str::<SignatureAlgorithm>(&json).unwrap(),
                alg
            );
            assert_eq!(alg.as_str().parse::<SignatureAlgorithm>(), Ok(alg));
        }
        for bad in ["none", "es256", "HS256", "EdDSA", ""] {
            assert_eq!(bad.parse::<SignatureAlgorithm>(), Err(UnknownAlgorithm));
            assert!(serde_json::from_str::<SignatureAlgorithm>(&format!("\"{bad}\"")).is_err());
        }
        assert_eq!(
            serde_json::to_string(&SignatureFormat::Jwt).unwrap(),
            "\"jwt\""
        );
        assert_eq!(
            serde_json::from_str::<SignatureFormat>("\"raw\"").unwrap(),
            SignatureFormat::Raw
        );
        assert_eq!(
            serde_json::from_str::<SignatureFormat>("\"jws\"").unwrap(),
            SignatureFormat::Jws
        );
        assert!(serde_json::from_str::<SignatureFormat>("\"JWS\"").is_err());
        assert_eq!(SignatureFormat::Jwt.typ(), Some(crate::crypto::jws::JWT));
        assert_eq!(SignatureFormat::Jws.typ(), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn ecdsa_sign_verify_any_message(message in proptest::collection::vec(any::<u8>(), 0..512), seed: u64, flip: usize) {
            let key = ec_key(Curve::P256, 20);
            let public = key.public_key().unwrap();
            let sig = sign(kid(), &key, Es256, &message, false, &mut rng(seed)).unwrap();
            prop_assert_eq!(sig.len(), 64);
            prop_assert!(verify(kid(), &public, Es256, &message, false, &sig).unwrap());
            let mut tampered = sig.clone();
            tampered[flip % 64] ^= 0x80;
            prop_assert!(!verify(kid(), &public, Es256, &message, false, &tampered).unwrap());
            let mut other = message.clone();
            other.push(0);
            prop_assert!(!verify(kid(), &public, Es256, &other, false, &sig).unwrap());
        }
    }
}
