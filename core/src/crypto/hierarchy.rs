//! The key hierarchy (DESIGN §7): root key → one key-encryption key (KEK) per domain → the
//! material of each key.
//!
//! The root key comes from a file given to each node and never enters the log. A domain KEK
//! is random, and travels in the log only sealed under the root key; a key's material travels
//! only sealed under its domain's KEK. So logs, snapshots, replication messages and backups
//! never hold plaintext material (G6), and a root key can later be rotated by resealing the
//! KEKs alone.
//!
//! Every seal binds what the sealed bytes belong to (domain, key id, version) as associated
//! data, so sealed material moved to another key or domain fails authentication instead of
//! being served.

use std::fmt;

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::aead::{Aead, random_nonce};
use crate::crypto::kdf::{self, Purpose};
use crate::ids::{DomainId, KeyId};

/// Length of the root key and of domain KEKs (AES-256).
pub const KEY_LEN: usize = 32;

const KEK_LABEL: &[u8] = b"cairn/v1/domain-kek";
const MATERIAL_LABEL: &[u8] = b"cairn/v1/key-material";

/// Bytes sealed with AES-256-GCM-SIV: `nonce ‖ ciphertext ‖ tag`.
///
/// Its Debug shows only the length: sealed bytes are safe to log, but nothing gains from it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sealed(#[serde(with = "serde_bytes")] Vec<u8>);

impl Sealed {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Sealed(bytes)
    }
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed({} bytes)", self.0.len())
    }
}

/// The cluster's root key. It encrypts nothing itself: subkeys derived from it (see
/// [`kdf`](crate::crypto::kdf)) seal domain KEKs and backups.
pub struct RootKey {
    root: Zeroizing<[u8; KEY_LEN]>,
    kek_sealer: Aead,
}

impl RootKey {
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> Self {
        let sealing = kdf::derive(bytes, Purpose::DomainKeys);
        RootKey {
            root: Zeroizing::new(*bytes),
            kek_sealer: Aead::new(sealing.as_ref()).expect("32-byte key"),
        }
    }

    /// The subkey for `purpose` (backups use it; domain KEKs use theirs internally).
    pub fn subkey(&self, purpose: Purpose) -> Zeroizing<[u8; KEY_LEN]> {
        kdf::derive(&self.root, purpose)
    }

    /// Seals a fresh KEK for `domain`, drawn from `rng`, and returns it with its sealed form.
    pub fn new_domain_kek<R: CryptoRng + ?Sized>(
        &self,
        domain: DomainId,
        rng: &mut R,
    ) -> (DomainKek, Sealed) {
        let mut raw = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill_bytes(raw.as_mut());
        let nonce = random_nonce(rng);
        let sealed = Sealed(self.kek_sealer.seal(&nonce, &kek_aad(domain), raw.as_ref()));
        (
            DomainKek(Aead::new(raw.as_ref()).expect("32-byte key")),
            sealed,
        )
    }

    /// Opens a domain's sealed KEK; `None` if it fails authentication (corruption, or a node
    /// started with another cluster's root key).
    pub fn open_domain_kek(&self, domain: DomainId, sealed: &Sealed) -> Option<DomainKek> {
        let raw = self.kek_sealer.open(&kek_aad(domain), &sealed.0).ok()?;
        Aead::new(&raw)
            .filter(|a| a.key_bits() == 256)
            .map(DomainKek)
    }
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey(redacted)")
    }
}

/// A domain's key-encryption key, unsealed: it lives only in a node's memory.
#[derive(Clone)]
pub struct DomainKek(Aead);

impl DomainKek {
    /// Seals the material of version `version` of `key`.
    pub fn seal_material<R: CryptoRng + ?Sized>(
        &self,
        domain: DomainId,
        key: KeyId,
        version: u32,
        material: &[u8],
        rng: &mut R,
    ) -> Sealed {
        let nonce = random_nonce(rng);
        Sealed(
            self.0
                .seal(&nonce, &material_aad(domain, key, version), material),
        )
    }

    /// Opens sealed material; `None` if it is not exactly what was sealed for this key.
    pub fn open_material(
        &self,
        domain: DomainId,
        key: KeyId,
        version: u32,
        sealed: &Sealed,
    ) -> Option<Zeroizing<Vec<u8>>> {
        self.0
            .open(&material_aad(domain, key, version), &sealed.0)
            .ok()
    }
}

impl fmt::Debug for DomainKek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DomainKek(redacted)")
    }
}

fn kek_aad(domain: DomainId) -> Vec<u8> {
    [KEK_LABEL, domain.as_bytes()].concat()
}

fn material_aad(domain: DomainId, key: KeyId, version: u32) -> Vec<u8> {
    [
        MATERIAL_LABEL,
        domain.as_bytes(),
        key.as_bytes(),
        &version.to_be_bytes(),
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn seals_bind_domain_key_and_version() {
        let rng = &mut ChaCha20Rng::seed_from_u64(1);
        let root = RootKey::from_bytes(&[9; KEY_LEN]);
        let (d1, d2) = (DomainId::random(rng), DomainId::random(rng));
        let (k1, k2) = (KeyId::random(rng), KeyId::random(rng));

        let (kek, sealed_kek) = root.new_domain_kek(d1, rng);
        assert!(root.open_domain_kek(d1, &sealed_kek).is_some());
        assert!(
            root.open_domain_kek(d2, &sealed_kek).is_none(),
            "moved to another domain"
        );
        let other_root = RootKey::from_bytes(&[8; KEY_LEN]);
        assert!(
            other_root.open_domain_kek(d1, &sealed_kek).is_none(),
            "another cluster"
        );

        let sealed = kek.seal_material(d1, k1, 1, b"secret material", rng);
        assert_eq!(
            kek.open_material(d1, k1, 1, &sealed)
                .as_deref()
                .map(Vec::as_slice),
            Some(&b"secret material"[..])
        );
        assert!(
            kek.open_material(d1, k2, 1, &sealed).is_none(),
            "another key"
        );
        assert!(
            kek.open_material(d2, k1, 1, &sealed).is_none(),
            "another domain"
        );
        assert!(
            kek.open_material(d1, k1, 2, &sealed).is_none(),
            "another version"
        );
        for i in 0..sealed.as_bytes().len() {
            let mut bytes = sealed.as_bytes().to_vec();
            bytes[i] ^= 0x80;
            assert!(
                kek.open_material(d1, k1, 1, &Sealed(bytes)).is_none(),
                "byte {i}"
            );
        }
    }

    #[test]
    fn sealed_bytes_do_not_contain_the_plaintext() {
        let rng = &mut ChaCha20Rng::seed_from_u64(2);
        let root = RootKey::from_bytes(&[1; KEY_LEN]);
        let d = DomainId::random(rng);
        let (kek, _) = root.new_domain_kek(d, rng);
        let secret = [0x5a; 32];
        let sealed = kek.seal_material(d, KeyId::random(rng), 1, &secret, rng);
        assert!(
            !sealed
                .as_bytes()
                .windows(8)
                .any(|w| secret.windows(8).any(|s| s == w))
        );
        assert_eq!(
            format!("{sealed:?}"),
            format!("Sealed({} bytes)", 12 + 32 + 16)
        );
    }
}
