//! A node's unsealed keys: the only place plaintext material lives, in memory.
//!
//! The keyring is derived from the replicated state and the node's root key, and kept in step
//! with it as commands apply. It is never serialized. Unsealing happens once per key, when its
//! creation applies (or when a snapshot loads), so that crypto requests pay for neither the
//! unsealing nor the key schedule or the parsing of a private key.
//!
//! A failure to unseal does not stop the state machine (the replicated state must not depend
//! on a node's root key, or replicas would diverge): the key is marked corrupted on this node
//! and every use of it fails with an integrity error (G6: detected, never served).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::crypto::aead::Aead;
use crate::crypto::hierarchy::{DomainKek, RootKey};
use crate::crypto::jwe::KnownHeader;
use crate::error::Error;
use crate::ids::{DomainId, KeyId};
use crate::key::material::{Material, PublicKey};
use crate::store::domain::Domain;
use crate::store::record::{KeyRecord, StoredMaterial};

/// A key ready for use.
pub enum Unsealed {
    /// An AES key, keyed once, with the JWE header its ciphertexts carry.
    Oct { aead: Aead, header: KnownHeader },
    /// An asymmetric private key and its public key.
    Private {
        material: Material,
        public: PublicKey,
    },
    /// An imported public key alone.
    Public(PublicKey),
}

impl Unsealed {
    pub fn public(&self) -> Option<&PublicKey> {
        match self {
            Unsealed::Oct { .. } => None,
            Unsealed::Private { public, .. } | Unsealed::Public(public) => Some(public),
        }
    }
}

impl std::fmt::Debug for Unsealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unsealed::Oct { .. } => "Unsealed::Oct(redacted)",
            Unsealed::Private { .. } => "Unsealed::Private(redacted)",
            Unsealed::Public(_) => "Unsealed::Public",
        })
    }
}

/// Unsealed domain KEKs and keys of one node.
#[derive(Default)]
pub struct Keyring {
    keks: BTreeMap<DomainId, Option<DomainKek>>,
    keys: BTreeMap<(DomainId, KeyId), Result<Arc<Unsealed>, Error>>,
}

impl Keyring {
    /// Unseals a domain's KEK; a KEK that fails authentication is remembered as corrupted.
    pub fn add_domain(&mut self, root: &RootKey, domain: &Domain) {
        self.keks.insert(
            domain.id,
            root.open_domain_kek(domain.id, &domain.sealed_kek),
        );
    }

    /// The unsealed KEK of `domain`.
    pub fn kek(&self, domain: DomainId) -> Result<&DomainKek, Error> {
        match self.keks.get(&domain) {
            Some(Some(kek)) => Ok(kek),
            Some(None) => Err(Error::DomainKeyCorrupted(domain)),
            None => Err(Error::DomainNotFound(domain)),
        }
    }

    /// Unseals `record` (or forgets it once its material is erased).
    pub fn refresh_key(&mut self, domain: DomainId, record: &KeyRecord) {
        let slot = (domain, record.id);
        if matches!(record.material, StoredMaterial::Erased) {
            // Dropping the last Arc zeroizes the material.
            self.keys.remove(&slot);
            return;
        }
        if self.keys.get(&slot).is_some_and(Result::is_ok) {
            return;
        }
        let unsealed = self.unseal(domain, record).map(Arc::new);
        self.keys.insert(slot, unsealed);
    }

    /// The unsealed form of a key whose record says it has material.
    pub fn key(&self, domain: DomainId, key: KeyId) -> Result<Arc<Unsealed>, Error> {
        match self.keys.get(&(domain, key)) {
            Some(result) => result.clone(),
            None => Err(Error::KeyNotFound(key)),
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn unseal(&self, domain: DomainId, record: &KeyRecord) -> Result<Unsealed, Error> {
        let corrupted = || Error::MaterialCorrupted(record.id);
        match &record.material {
            StoredMaterial::Secret { sealed, public } => {
                let kek = self.kek(domain)?;
                let bytes = kek
                    .open_material(domain, record.id, record.version, sealed)
                    .ok_or_else(corrupted)?;
                let material =
                    Material::from_sealable_bytes(record.spec, &bytes).map_err(|_| corrupted())?;
                if let Some(oct) = material.as_oct() {
                    let aead = Aead::new(oct).ok_or_else(corrupted)?;
                    let header = KnownHeader::data(aead.key_bits(), record.id, record.version);
                    return Ok(Unsealed::Oct { aead, header });
                }
                let public_key = material.public_key().ok_or_else(corrupted)?;
                // The clear public part must be the private key's own: a mismatch would let
                // verification and signing disagree.
                if public.as_deref() != Some(public_key.to_spki_der().as_slice()) {
                    return Err(corrupted());
                }
                Ok(Unsealed::Private {
                    material,
                    public: public_key,
                })
            }
            StoredMaterial::PublicOnly { public } => PublicKey::from_spki_der(record.spec, public)
                .map(Unsealed::Public)
                .map_err(|_| corrupted()),
            StoredMaterial::Erased => Err(Error::Internal(format!(
                "key {} has no material to unseal",
                record.id
            ))),
        }
    }
}
