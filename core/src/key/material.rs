//! Plaintext key material: the secret of a service key, and the public half of asymmetric
//! keys.
//!
//! Plaintext material only ever lives in memory: it is sealed (see `to_sealable_bytes`)
//! before it enters the log, and every secret zeroizes itself when dropped (the RustCrypto
//! key types do it themselves, the AES bytes sit in [`Zeroizing`]). `Debug` never prints a
//! secret, so a stray `{:?}` in a log line cannot leak one.
//!
//! Every constructor here checks the invariants the rest of the crate relies on: AES keys are
//! 16, 24 or 32 bytes, RSA moduli exactly 2048, 3072 or 4096 bits, EC keys on an offered
//! curve. The variants are public so that other modules can match on them, but material
//! should be built through [`Material::generate`], [`Material::oct`],
//! [`Material::from_sealable_bytes`] or a JWK import.

use std::fmt;

use p256::elliptic_curve::Generate;
use rand_core::CryptoRng;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::key::spec::{Curve, KeySpec};

/// The secret of a service key.
#[derive(Clone)]
pub enum Material {
    /// An AES key of 16, 24 or 32 bytes.
    Oct(Zeroizing<Vec<u8>>),
    /// An RSA private key (two primes, validated, CRT values precomputed).
    Rsa(Box<rsa::PrivateKey>),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
}

/// The public half of an asymmetric key: what verification needs and what may be exported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    Rsa(rsa::PublicKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
}

const SEALED: &str = "key material";

impl Material {
    /// Draws fresh material for `spec` from `rng`: random bytes for AES, a random scalar for
    /// EC, and for RSA two random primes giving a modulus of exactly the requested size with
    /// e = 65537. The same RNG state always gives the same key (the simulator relies on it).
    pub fn generate<R: CryptoRng + ?Sized>(spec: KeySpec, rng: &mut R) -> Result<Material, Error> {
        check_offered(spec)?;
        let material = match spec {
            KeySpec::Oct { bits } => {
                let mut key = Zeroizing::new(vec![0u8; usize::from(bits / 8)]);
                rng.fill_bytes(&mut key);
                Material::Oct(key)
            }
            KeySpec::Rsa { bits } => {
                // `PrivateKey::new` uses e = 65537 (F4).
                let key = rsa::PrivateKey::new(rng, usize::from(bits))
                    .map_err(|e| Error::Internal(format!("RSA key generation failed: {e}")))?;
                Material::Rsa(Box::new(key))
            }
            KeySpec::Ec { curve: Curve::P256 } => {
                Material::P256(p256::ecdsa::SigningKey::generate_from_rng(rng))
            }
            KeySpec::Ec { curve: Curve::P384 } => {
                Material::P384(p384::ecdsa::SigningKey::generate_from_rng(rng))
            }
            KeySpec::Ec { curve: Curve::P521 } => {
                Material::P521(p521::ecdsa::SigningKey::generate_from_rng(rng))
            }
        };
        debug_assert_eq!(material.spec(), spec);
        Ok(material)
    }

    /// Wraps the bytes of an AES key, refusing any length but 16, 24 or 32 bytes.
    pub fn oct(bytes: Zeroizing<Vec<u8>>) -> Result<Material, Error> {
        match bytes.len() {
            16 | 24 | 32 => Ok(Material::Oct(bytes)),
            n => Err(Error::invalid(
                "key",
                format!("an AES key has 16, 24 or 32 bytes, not {n}"),
            )),
        }
    }

    /// What this material is: type and size or curve.
    pub fn spec(&self) -> KeySpec {
        let spec = match self {
            Material::Oct(k) => KeySpec::Oct {
                bits: bits_u16(k.len() * 8),
            },
            Material::Rsa(k) => KeySpec::Rsa {
                bits: bits_u16(k.n().bit_width() as usize),
            },
            Material::P256(_) => KeySpec::Ec { curve: Curve::P256 },
            Material::P384(_) => KeySpec::Ec { curve: Curve::P384 },
            Material::P521(_) => KeySpec::Ec { curve: Curve::P521 },
        };
        debug_assert!(
            check_offered(spec).is_ok(),
            "material outside the offered specs"
        );
        spec
    }

    /// The public half, or `None` for an AES key, which has none.
    pub fn public_key(&self) -> Option<PublicKey> {
        Some(match self {
            Material::Oct(_) => return None,
            Material::Rsa(k) => PublicKey::Rsa(k.to_public_key()),
            Material::P256(k) => PublicKey::P256(*k.verifying_key()),
            Material::P384(k) => PublicKey::P384(*k.verifying_key()),
            Material::P521(k) => PublicKey::P521(*k.verifying_key()),
        })
    }

    /// The AES key bytes, for an `oct` key.
    pub fn as_oct(&self) -> Option<&[u8]> {
        match self {
            Material::Oct(k) => Some(k),
            _ => None,
        }
    }

    /// The canonical plaintext that gets sealed before the material enters the log: the raw
    /// bytes of an AES key, the PKCS#8 DER of an RSA key, the fixed-length big-endian scalar
    /// of an EC key (the JWK `d`). The same key always encodes to the same bytes, so sealed
    /// records are reproducible from a seed.
    pub fn to_sealable_bytes(&self) -> Zeroizing<Vec<u8>> {
        match self {
            Material::Oct(k) => k.clone(),
            Material::Rsa(k) => {
                // Only a key with more than two primes fails to encode; ours have two.
                let der = k
                    .to_pkcs8_der()
                    .expect("a two-prime RSA key encodes as PKCS#8");
                Zeroizing::new(der.as_bytes().to_vec())
            }
            Material::P256(k) => Zeroizing::new(Zeroizing::new(k.to_bytes()).to_vec()),
            Material::P384(k) => Zeroizing::new(Zeroizing::new(k.to_bytes()).to_vec()),
            Material::P521(k) => Zeroizing::new(Zeroizing::new(k.to_bytes()).to_vec()),
        }
    }

    /// Decodes what [`Material::to_sealable_bytes`] produced, and checks that it is a key of
    /// exactly `spec` in its canonical encoding (a record that decodes to another kind of key
    /// than its metadata says is corrupt, never served).
    pub fn from_sealable_bytes(spec: KeySpec, bytes: &[u8]) -> Result<Material, Error> {
        check_offered(spec).map_err(|_| Error::malformed(SEALED, "not an offered key spec"))?;
        let material = match spec {
            KeySpec::Oct { bits } => {
                if bytes.len() != usize::from(bits / 8) {
                    return Err(Error::malformed(SEALED, format!("not an AES-{bits} key")));
                }
                Material::Oct(Zeroizing::new(bytes.to_vec()))
            }
            KeySpec::Rsa { .. } => {
                let key = rsa::PrivateKey::from_pkcs8_der(bytes)
                    .map_err(|_| Error::malformed(SEALED, "not a valid PKCS#8 RSA private key"))?;
                Material::Rsa(Box::new(key))
            }
            KeySpec::Ec { curve } => {
                if bytes.len() != curve.field_len() {
                    return Err(Error::malformed(SEALED, format!("not a {curve} scalar")));
                }
                let invalid = |_| Error::malformed(SEALED, format!("not a valid {curve} scalar"));
                match curve {
                    Curve::P256 => {
                        Material::P256(p256::ecdsa::SigningKey::from_slice(bytes).map_err(invalid)?)
                    }
                    Curve::P384 => {
                        Material::P384(p384::ecdsa::SigningKey::from_slice(bytes).map_err(invalid)?)
                    }
                    Curve::P521 => {
                        Material::P521(p521::ecdsa::SigningKey::from_slice(bytes).map_err(invalid)?)
                    }
                }
            }
        };
        if material.spec() != spec {
            return Err(Error::malformed(
                SEALED,
                format!("holds a {} key, expected {spec}", material.spec()),
            ));
        }
        // One key, one encoding: a DER variant that still decodes is not ours.
        if !bool::from(material.to_sealable_bytes().as_slice().ct_eq(bytes)) {
            return Err(Error::malformed(SEALED, "not in canonical form"));
        }
        Ok(material)
    }
}

/// Constant-time on the secret bytes, so that comparing keys reveals nothing but the result.
impl PartialEq for Material {
    fn eq(&self, other: &Self) -> bool {
        self.spec() == other.spec()
            && bool::from(
                self.to_sealable_bytes()
                    .as_slice()
                    .ct_eq(other.to_sealable_bytes().as_slice()),
            )
    }
}

impl Eq for Material {}

/// Redacted: only the kind of key is shown.
impl fmt::Debug for Material {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Material({}, <redacted>)", self.spec())
    }
}

impl PublicKey {
    /// What key this is the public half of.
    pub fn spec(&self) -> KeySpec {
        match self {
            PublicKey::Rsa(k) => KeySpec::Rsa {
                bits: bits_u16(k.n().bit_width() as usize),
            },
            PublicKey::P256(_) => KeySpec::Ec { curve: Curve::P256 },
            PublicKey::P384(_) => KeySpec::Ec { curve: Curve::P384 },
            PublicKey::P521(_) => KeySpec::Ec { curve: Curve::P521 },
        }
    }

    /// The X.509 SubjectPublicKeyInfo DER (the "PUBLIC KEY" of PEM files).
    pub fn to_spki_der(&self) -> Vec<u8> {
        // Encoding a valid key into a growable buffer cannot fail.
        const OK: &str = "a valid public key encodes as SPKI";
        match self {
            PublicKey::Rsa(k) => k.to_public_key_der().expect(OK).as_bytes().to_vec(),
            PublicKey::P256(k) => k.to_public_key_der().expect(OK).as_bytes().to_vec(),
            PublicKey::P384(k) => k.to_public_key_der().expect(OK).as_bytes().to_vec(),
            PublicKey::P521(k) => k.to_public_key_der().expect(OK).as_bytes().to_vec(),
        }
    }

    /// Decodes a SubjectPublicKeyInfo and checks that it is a key of exactly `spec`.
    pub fn from_spki_der(spec: KeySpec, der: &[u8]) -> Result<PublicKey, Error> {
        const WHAT: &str = "public key";
        check_offered(spec).map_err(|_| Error::malformed(WHAT, "not an offered key spec"))?;
        let invalid = |_| {
            Error::malformed(
                WHAT,
                format!("not a DER SubjectPublicKeyInfo of a {spec} key"),
            )
        };
        let key = match spec {
            KeySpec::Oct { .. } => {
                return Err(Error::malformed(WHAT, "oct keys have no public key"));
            }
            KeySpec::Rsa { .. } => {
                PublicKey::Rsa(rsa::PublicKey::from_public_key_der(der).map_err(invalid)?)
            }
            KeySpec::Ec { curve: Curve::P256 } => PublicKey::P256(
                p256::ecdsa::VerifyingKey::from_public_key_der(der).map_err(invalid)?,
            ),
            KeySpec::Ec { curve: Curve::P384 } => PublicKey::P384(
                p384::ecdsa::VerifyingKey::from_public_key_der(der).map_err(invalid)?,
            ),
            KeySpec::Ec { curve: Curve::P521 } => PublicKey::P521(
                p521::ecdsa::VerifyingKey::from_public_key_der(der).map_err(invalid)?,
            ),
        };
        if key.spec() != spec {
            return Err(Error::malformed(
                WHAT,
                format!("holds a {} key, expected {spec}", key.spec()),
            ));
        }
        Ok(key)
    }
}

/// Refuses the specs a caller could build by hand but OKMS does not offer (`KeySpec`'s
/// fields are public).
fn check_offered(spec: KeySpec) -> Result<(), Error> {
    match spec {
        KeySpec::Oct { bits } if !KeySpec::OCT_SIZES.contains(&bits) => Err(Error::invalid(
            "size",
            format!(
                "{bits} is not an oct key size; use one of {:?}",
                KeySpec::OCT_SIZES
            ),
        )),
        KeySpec::Rsa { bits } if !KeySpec::RSA_SIZES.contains(&bits) => Err(Error::invalid(
            "size",
            format!(
                "{bits} is not an RSA key size; use one of {:?}",
                KeySpec::RSA_SIZES
            ),
        )),
        _ => Ok(()),
    }
}

/// Key sizes are at most 4096 bits: they always fit.
fn bits_u16(bits: usize) -> u16 {
    u16::try_from(bits).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn rng(seed: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(seed)
    }

    const EC_AND_OCT: [KeySpec; 6] = [
        KeySpec::Oct { bits: 128 },
        KeySpec::Oct { bits: 192 },
        KeySpec::Oct { bits: 256 },
        KeySpec::Ec { curve: Curve::P256 },
        KeySpec::Ec { curve: Curve::P384 },
        KeySpec::Ec { curve: Curve::P521 },
    ];

    #[test]
    fn generated_material_has_the_requested_spec_and_is_deterministic() {
        for spec in EC_AND_OCT {
            let a = Material::generate(spec, &mut rng(1)).unwrap();
            let b = Material::generate(spec, &mut rng(1)).unwrap();
            let c = Material::generate(spec, &mut rng(2)).unwrap();
            assert_eq!(a.spec(), spec);
            assert_eq!(a, b, "{spec}: same seed, same key");
            assert_ne!(a, c, "{spec}: other seed, other key");
            assert_eq!(
                a.public_key().is_none(),
                spec.key_type() == crate::key::spec::KeyType::Oct
            );
        }
    }

    #[test]
    fn sealable_bytes_round_trip_and_check_the_spec() {
        for spec in EC_AND_OCT {
            let m = Material::generate(spec, &mut rng(3)).unwrap();
            let bytes = m.to_sealable_bytes();
            let expected_len = match spec {
                KeySpec::Oct { bits } => usize::from(bits / 8),
                KeySpec::Ec { curve } => curve.field_len(),
                KeySpec::Rsa { .. } => unreachable!(),
            };
            assert_eq!(bytes.len(), expected_len);
            assert_eq!(Material::from_sealable_bytes(spec, &bytes).unwrap(), m);
            // Another spec is refused unless its encoding has the same length (32 random
            // bytes are as good an AES-256 key as a P-256 scalar: the spec comes from the
            // authenticated record, not from the bytes).
            for other in EC_AND_OCT.into_iter().filter(|o| *o != spec) {
                let decoded = Material::from_sealable_bytes(other, &bytes);
                match decoded {
                    Ok(m) => assert_eq!(m.spec(), other),
                    Err(e) => assert!(matches!(e, Error::Malformed { .. }), "{e}"),
                }
            }
            assert!(Material::from_sealable_bytes(spec, &bytes[1..]).is_err());
            assert!(Material::from_sealable_bytes(spec, &[&bytes[..], &[0]].concat()).is_err());
        }
        // The zero scalar and the group order are not keys.
        assert!(
            Material::from_sealable_bytes(KeySpec::Ec { curve: Curve::P256 }, &[0; 32]).is_err()
        );
        assert!(
            Material::from_sealable_bytes(KeySpec::Ec { curve: Curve::P256 }, &[0xff; 32]).is_err()
        );
    }

    #[test]
    fn rsa_2048_generation_sealing_and_spki() {
        let spec = KeySpec::Rsa { bits: 2048 };
        let m = Material::generate(spec, &mut rng(4)).unwrap();
        assert_eq!(m.spec(), spec);
        let Material::Rsa(k) = &m else {
            panic!("not RSA")
        };
        assert_eq!(k.e_bytes().as_ref(), [1, 0, 1]);

        let sealed = m.to_sealable_bytes();
        assert_eq!(sealed, m.to_sealable_bytes(), "deterministic encoding");
        assert_eq!(Material::from_sealable_bytes(spec, &sealed).unwrap(), m);
        let wrong =
            Material::from_sealable_bytes(KeySpec::Rsa { bits: 3072 }, &sealed).unwrap_err();
        assert!(matches!(wrong, Error::Malformed { .. }), "{wrong}");
        let mut flipped = sealed.to_vec();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 1;
        assert!(Material::from_sealable_bytes(spec, &flipped).is_err());

        let public = m.public_key().unwrap();
        assert_eq!(public.spec(), spec);
        let der = public.to_spki_der();
        assert_eq!(PublicKey::from_spki_der(spec, &der).unwrap(), public);
        assert!(PublicKey::from_spki_der(KeySpec::Rsa { bits: 4096 }, &der).is_err());
        assert!(PublicKey::from_spki_der(KeySpec::Ec { curve: Curve::P256 }, &der).is_err());
    }

    #[test]
    fn rsa_3072_and_4096_generation() {
        for bits in [3072, 4096] {
            let spec = KeySpec::Rsa { bits };
            let m = Material::generate(spec, &mut rng(u64::from(bits))).unwrap();
            assert_eq!(m.spec(), spec);
            assert_eq!(m.public_key().unwrap().spec(), spec);
        }
    }

    #[test]
    fn ec_spki_round_trip() {
        for curve in Curve::ALL {
            let spec = KeySpec::Ec { curve };
            let public = Material::generate(spec, &mut rng(5))
                .unwrap()
                .public_key()
                .unwrap();
            let der = public.to_spki_der();
            assert_eq!(PublicKey::from_spki_der(spec, &der).unwrap(), public);
            for other in Curve::ALL.into_iter().filter(|c| *c != curve) {
                assert!(PublicKey::from_spki_der(KeySpec::Ec { curve: other }, &der).is_err());
            }
        }
    }

    #[test]
    fn specs_that_are_not_offered_are_refused() {
        for spec in [KeySpec::Oct { bits: 64 }, KeySpec::Rsa { bits: 1024 }] {
            let err = Material::generate(spec, &mut rng(6)).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
        }
        assert!(Material::oct(Zeroizing::new(vec![7; 20])).is_err());
        assert_eq!(
            Material::oct(Zeroizing::new(vec![7; 24])).unwrap().spec(),
            KeySpec::Oct { bits: 192 }
        );
    }

    #[test]
    fn debug_is_redacted() {
        let m = Material::oct(Zeroizing::new(vec![0xab; 16])).unwrap();
        let shown = format!("{m:?}");
        assert_eq!(shown, "Material(oct 128, <redacted>)");
        let ec = Material::generate(KeySpec::Ec { curve: Curve::P256 }, &mut rng(7)).unwrap();
        let scalar = hex::encode(ec.to_sealable_bytes().as_slice());
        let shown = format!("{ec:?}");
        assert!(!shown.to_lowercase().contains(&scalar[..16]), "{shown}");
    }
}
