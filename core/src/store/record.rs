//! A service key as the replicated state holds it: metadata, lifecycle, and material only in
//! sealed form.

use serde::{Deserialize, Serialize};

use crate::crypto::hierarchy::Sealed;
use crate::ids::KeyId;
use crate::key::operation::Operations;
use crate::key::spec::KeySpec;
use crate::key::state::Lifecycle;

/// The material of a key, as stored and replicated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredMaterial {
    /// Secret (oct) or private (RSA, EC) material sealed under the domain KEK, with the
    /// public key of an asymmetric key (SPKI DER) kept in clear for exports and verifies.
    Secret {
        sealed: Sealed,
        public: Option<Vec<u8>>,
    },
    /// An imported public key alone (SPKI DER): it can verify, nothing else.
    PublicOnly { public: Vec<u8> },
    /// The key was destroyed: its material is gone for good.
    Erased,
}

impl StoredMaterial {
    pub fn public_der(&self) -> Option<&[u8]> {
        match self {
            StoredMaterial::Secret { public, .. } => public.as_deref(),
            StoredMaterial::PublicOnly { public } => Some(public),
            StoredMaterial::Erased => None,
        }
    }

    pub fn has_private(&self) -> bool {
        matches!(self, StoredMaterial::Secret { .. })
    }
}

/// Where a key's material came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    Generated,
    Imported,
}

/// A service key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub id: KeyId,
    pub name: String,
    /// Free text the caller attached at creation (OKMS `context`), not a cryptographic input.
    pub context: Option<String>,
    pub spec: KeySpec,
    pub operations: Operations,
    pub origin: Origin,
    pub lifecycle: Lifecycle,
    /// The material version that ciphertexts name. Cairn has no rotation yet, so every key has
    /// version 1; the field exists so that tokens made today stay readable when it comes.
    pub version: u32,
    pub material: StoredMaterial,
}
