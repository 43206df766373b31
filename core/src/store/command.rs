//! The only way the replicated state changes: commands, applied in log order.
//!
//! Everything random (ids, material, nonces) is drawn before a command is made, and material
//! is sealed before it enters one, so applying a command is deterministic and a serialized
//! command never holds plaintext material.

use serde::{Deserialize, Serialize};

use crate::crypto::hierarchy::Sealed;
use crate::iam::{Credential, Policy};
use crate::ids::{CredentialId, DomainId, KeyId, PolicyId};
use crate::key::operation::Operations;
use crate::key::spec::KeySpec;
use crate::key::state::Transition;
use crate::store::record::{Origin, StoredMaterial};

/// A change to the replicated state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// A new tenant, with its KEK sealed under the root key.
    CreateDomain {
        id: DomainId,
        sealed_kek: Sealed,
    },
    /// A new key, generated or imported.
    CreateKey(Box<NewKey>),
    /// PATCH of a key: its name is the only mutable metadata.
    RenameKey {
        domain: DomainId,
        key: KeyId,
        name: String,
    },
    /// Activate, deactivate or delete.
    Transition {
        domain: DomainId,
        key: KeyId,
        transition: Transition,
    },
    CreateCredential {
        domain: DomainId,
        credential: Credential,
    },
    RevokeCredential {
        domain: DomainId,
        credential: CredentialId,
    },
    /// Creates or replaces a policy.
    PutPolicy {
        domain: DomainId,
        policy: Policy,
    },
    DeletePolicy {
        domain: DomainId,
        policy: PolicyId,
    },
}

/// A key as it enters the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKey {
    pub domain: DomainId,
    pub id: KeyId,
    pub name: String,
    pub context: Option<String>,
    pub spec: KeySpec,
    pub operations: Operations,
    pub origin: Origin,
    pub material: StoredMaterial,
    /// Filled only by the planted `leak_material` bug, to prove the G6 checker works.
    #[cfg(feature = "planted-bugs")]
    pub leaked: Vec<u8>,
}

impl Command {
    /// The domain a command changes.
    pub fn domain(&self) -> DomainId {
        match self {
            Command::CreateDomain { id, .. } => *id,
            Command::CreateKey(k) => k.domain,
            Command::RenameKey { domain, .. }
            | Command::Transition { domain, .. }
            | Command::CreateCredential { domain, .. }
            | Command::RevokeCredential { domain, .. }
            | Command::PutPolicy { domain, .. }
            | Command::DeletePolicy { domain, .. } => *domain,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("commands always serialize")
    }

    pub fn decode(bytes: &[u8]) -> Option<Command> {
        postcard::from_bytes(bytes).ok()
    }
}

/// What applying a command did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Applied {
    DomainCreated(DomainId),
    KeyCreated {
        domain: DomainId,
        key: KeyId,
    },
    KeyChanged {
        domain: DomainId,
        key: KeyId,
    },
    CredentialCreated {
        domain: DomainId,
        credential: CredentialId,
    },
    CredentialRevoked {
        domain: DomainId,
        credential: CredentialId,
    },
    PolicyPut {
        domain: DomainId,
        policy: PolicyId,
    },
    PolicyDeleted {
        domain: DomainId,
        policy: PolicyId,
    },
}

/// The result of applying a command: the same on every replica.
pub type Outcome = Result<Applied, crate::error::Error>;
