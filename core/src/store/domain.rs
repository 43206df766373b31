//! A domain (tenant): its KEK, keys, credentials and policies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::crypto::hierarchy::Sealed;
use crate::iam::{Credential, Policy};
use crate::ids::{CredentialId, DomainId, KeyId, PolicyId};
use crate::store::record::KeyRecord;
use crate::time::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    pub id: DomainId,
    pub created: Timestamp,
    /// The domain KEK, sealed under the cluster root key.
    pub sealed_kek: Sealed,
    pub keys: BTreeMap<KeyId, KeyRecord>,
    pub credentials: BTreeMap<CredentialId, Credential>,
    pub policies: BTreeMap<PolicyId, Policy>,
}

impl Domain {
    pub fn key(&self, id: KeyId) -> Result<&KeyRecord, crate::error::Error> {
        self.keys
            .get(&id)
            .ok_or(crate::error::Error::KeyNotFound(id))
    }
}
