//! The replicated state and the deterministic `apply`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::iam::Binding;
use crate::ids::{CredentialId, DomainId};
use crate::key::operation::{Operation, Operations};
use crate::key::spec::KeyType;
use crate::key::state::Lifecycle;
use crate::store::command::{Applied, Command, NewKey, Outcome};
use crate::store::domain::Domain;
use crate::store::record::{KeyRecord, StoredMaterial};
use crate::store::validate;
use crate::time::Timestamp;

/// Longest key name (OKMS `name`).
pub const NAME_MAX: usize = 32;
/// Longest key context (OKMS `context`).
pub const CONTEXT_MAX: usize = 64;

/// Everything replicated: the same sequence of commands gives the same state, byte for byte,
/// on every node (G8). It holds no plaintext material and does not depend on the root key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    applied_index: u64,
    domains: BTreeMap<DomainId, Domain>,
    /// Derived from `domains`: which credential a certificate or token digest belongs to.
    /// Not serialized; rebuilt when a snapshot is loaded.
    bindings: BTreeMap<Binding, (DomainId, CredentialId)>,
}

/// The serialized form of a [`State`].
#[derive(Serialize, Deserialize)]
struct Snapshot {
    format: u32,
    applied_index: u64,
    domains: BTreeMap<DomainId, Domain>,
}

const SNAPSHOT_FORMAT: u32 = 1;

impl State {
    pub fn new() -> Self {
        State::default()
    }

    /// The index of the last command applied (0 before any).
    pub fn applied_index(&self) -> u64 {
        self.applied_index
    }

    pub fn domain(&self, id: DomainId) -> Result<&Domain, Error> {
        self.domains.get(&id).ok_or(Error::DomainNotFound(id))
    }

    pub fn domains(&self) -> impl Iterator<Item = &Domain> {
        self.domains.values()
    }

    /// The credential a certificate or token digest is bound to.
    pub fn credential_for(&self, binding: &Binding) -> Option<(DomainId, CredentialId)> {
        self.bindings.get(binding).copied()
    }

    /// Applies the command at log position `index`, stamped `time` by the leader.
    ///
    /// Refusals (unknown key, refused transition, …) are outcomes, not failures: they are
    /// the same on every replica and leave the state unchanged except for `applied_index`.
    pub fn apply(&mut self, index: u64, time: Timestamp, command: &Command) -> Outcome {
        // Applying out of order would silently fork this replica from the others.
        assert!(
            index > self.applied_index,
            "command {index} applied after {}",
            self.applied_index
        );
        self.applied_index = index;
        match command {
            Command::CreateDomain { id, sealed_kek } => {
                if self.domains.contains_key(id) {
                    return Err(Error::DomainExists(*id));
                }
                self.domains.insert(
                    *id,
                    Domain {
                        id: *id,
                        created: time,
                        sealed_kek: sealed_kek.clone(),
                        keys: BTreeMap::new(),
                        credentials: BTreeMap::new(),
                        policies: BTreeMap::new(),
                    },
                );
                Ok(Applied::DomainCreated(*id))
            }
            Command::CreateKey(new) => self.create_key(new, time),
            Command::RenameKey { domain, key, name } => {
                validate::name("name", name, NAME_MAX)?;
                let record = self.key_mut(*domain, *key)?;
                record.name.clone_from(name);
                Ok(Applied::KeyChanged {
                    domain: *domain,
                    key: *key,
                })
            }
            Command::Transition {
                domain,
                key,
                transition,
            } => {
                let record = self.key_mut(*domain, *key)?;
                let next = record
                    .lifecycle
                    .after(*transition, time)
                    .map_err(|refusal| Error::KeyState {
                        key: *key,
                        state: record.lifecycle.state,
                        operation: transition.name().into(),
                        refusal: Some(refusal),
                    })?;
                if next.state.is_destroyed() {
                    // The record stays (it is still listed) but the material is gone.
                    record.material = StoredMaterial::Erased;
                }
                record.lifecycle = next;
                Ok(Applied::KeyChanged {
                    domain: *domain,
                    key: *key,
                })
            }
            Command::CreateCredential { domain, credential } => {
                credential.validate()?;
                let d = self.domain_mut(*domain)?;
                if d.credentials.contains_key(&credential.id) {
                    return Err(Error::CredentialExists(credential.id));
                }
                if let Some((_, owner)) = self.bindings.get(&credential.binding) {
                    return Err(Error::BindingInUse(*owner));
                }
                let d = self.domain_mut(*domain)?;
                d.credentials.insert(credential.id, credential.clone());
                self.bindings
                    .insert(credential.binding.clone(), (*domain, credential.id));
                Ok(Applied::CredentialCreated {
                    domain: *domain,
                    credential: credential.id,
                })
            }
            Command::RevokeCredential { domain, credential } => {
                let d = self.domain_mut(*domain)?;
                let c = d
                    .credentials
                    .get_mut(credential)
                    .ok_or(Error::CredentialNotFound(*credential))?;
                c.revoked.get_or_insert(time);
                Ok(Applied::CredentialRevoked {
                    domain: *domain,
                    credential: *credential,
                })
            }
            Command::PutPolicy { domain, policy } => {
                policy.validate()?;
                let d = self.domain_mut(*domain)?;
                d.policies.insert(policy.id, policy.clone());
                Ok(Applied::PolicyPut {
                    domain: *domain,
                    policy: policy.id,
                })
            }
            Command::DeletePolicy { domain, policy } => {
                let d = self.domain_mut(*domain)?;
                d.policies
                    .remove(policy)
                    .ok_or(Error::PolicyNotFound(*policy))?;
                Ok(Applied::PolicyDeleted {
                    domain: *domain,
                    policy: *policy,
                })
            }
        }
    }

    fn create_key(&mut self, new: &NewKey, time: Timestamp) -> Outcome {
        validate::name("name", &new.name, NAME_MAX)?;
        if let Some(context) = &new.context {
            validate::text("context", context, CONTEXT_MAX)?;
        }
        check_material(new)?;
        let d = self.domain_mut(new.domain)?;
        if d.keys.contains_key(&new.id) {
            return Err(Error::KeyExists(new.id));
        }
        d.keys.insert(
            new.id,
            KeyRecord {
                id: new.id,
                name: new.name.clone(),
                context: new.context.clone(),
                spec: new.spec,
                operations: new.operations,
                origin: new.origin,
                lifecycle: Lifecycle::created(time),
                version: 1,
                material: new.material.clone(),
            },
        );
        Ok(Applied::KeyCreated {
            domain: new.domain,
            key: new.id,
        })
    }

    fn domain_mut(&mut self, id: DomainId) -> Result<&mut Domain, Error> {
        self.domains.get_mut(&id).ok_or(Error::DomainNotFound(id))
    }

    fn key_mut(
        &mut self,
        domain: DomainId,
        key: crate::ids::KeyId,
    ) -> Result<&mut KeyRecord, Error> {
        self.domain_mut(domain)?
            .keys
            .get_mut(&key)
            .ok_or(Error::KeyNotFound(key))
    }

    /// The canonical serialized form (postcard): equal states give equal bytes.
    pub fn encode(&self) -> Vec<u8> {
        let snapshot = SnapshotRef {
            format: SNAPSHOT_FORMAT,
            applied_index: self.applied_index,
            domains: &self.domains,
        };
        postcard::to_stdvec(&snapshot).expect("state always serializes")
    }

    /// Loads a state from [`State::encode`]'s bytes, rebuilding what is derived.
    pub fn decode(bytes: &[u8]) -> Result<State, Error> {
        let snapshot: Snapshot = postcard::from_bytes(bytes)
            .map_err(|e| Error::Internal(format!("undecodable state snapshot: {e}")))?;
        if snapshot.format != SNAPSHOT_FORMAT {
            return Err(Error::Internal(format!(
                "state snapshot format {} is not {SNAPSHOT_FORMAT}",
                snapshot.format
            )));
        }
        let mut bindings = BTreeMap::new();
        for d in snapshot.domains.values() {
            for c in d.credentials.values() {
                if bindings.insert(c.binding.clone(), (d.id, c.id)).is_some() {
                    return Err(Error::Internal(format!(
                        "state snapshot binds one certificate or token twice (credential {})",
                        c.id
                    )));
                }
            }
        }
        Ok(State {
            applied_index: snapshot.applied_index,
            domains: snapshot.domains,
            bindings,
        })
    }

    /// SHA-256 of [`State::encode`]: replicas at the same index must agree on it (G8).
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.encode()).into()
    }
}

#[derive(Serialize)]
struct SnapshotRef<'a> {
    format: u32,
    applied_index: u64,
    domains: &'a BTreeMap<DomainId, Domain>,
}

/// The material of a new key must fit its type: a public key alone only for asymmetric keys,
/// and then only to verify.
fn check_material(new: &NewKey) -> Result<(), Error> {
    let kind = new.spec.key_type();
    let private = match &new.material {
        StoredMaterial::Secret { public, .. } => {
            if (kind == KeyType::Oct) != public.is_none() {
                return Err(Error::Internal(format!(
                    "key {} carries a public part that does not fit its type",
                    new.id
                )));
            }
            true
        }
        StoredMaterial::PublicOnly { .. } if kind != KeyType::Oct => false,
        StoredMaterial::PublicOnly { .. } | StoredMaterial::Erased => {
            return Err(Error::Internal(format!(
                "key {} has no usable material",
                new.id
            )));
        }
    };
    if new.operations.is_empty()
        || !new
            .operations
            .is_subset(Operations::supported(kind, private))
    {
        return Err(Error::invalid(
            "operations",
            format!(
                "{} do not fit a {}{} key",
                serde_json::to_string(&new.operations).unwrap_or_default(),
                if private { "" } else { "public-only " },
                kind
            ),
        ));
    }
    debug_assert!(private || new.operations.iter().all(|op| op == Operation::Verify));
    Ok(())
}
