//! Request and response bodies of the service-key management endpoints (OKMS 2.14 schemas).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::KeyId;
use crate::key::jwk::Jwk;
use crate::key::operation::{Operation, Operations};
use crate::key::spec::{Curve, KeyType};
use crate::key::state::{KeyState, RevocationReason};
use crate::store::record::KeyRecord;

/// OKMS `ProtectionLevelEnum`. Cairn keeps keys in software only; the other levels are
/// parsed so that asking for them gets a clear refusal rather than a parse error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProtectionLevel {
    Software,
    Hsm,
    ManagedHsm,
}

impl ProtectionLevel {
    pub const fn as_str(self) -> &'static str {
        match self {
            ProtectionLevel::Software => "SOFTWARE",
            ProtectionLevel::Hsm => "HSM",
            ProtectionLevel::ManagedHsm => "MANAGED_HSM",
        }
    }
}

/// `POST /v1/servicekey`: create a key, or import one when `keys` is given.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateImportServiceKeyRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<KeyType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<Curve>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operations: Option<Vec<Operation>>,
    #[serde(
        default,
        rename = "protectionLevel",
        skip_serializing_if = "Option::is_none"
    )]
    pub protection_level: Option<ProtectionLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<Jwk>>,
    /// Cairn extension. Keys are never extractable: material does not leave the service, so
    /// only `false` is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extractable: Option<bool>,
}

/// `PATCH /v1/servicekey/{keyId}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchServiceKeyRequest {
    pub name: String,
}

/// `POST /v1/servicekey/{keyId}/deactivate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeactivateServiceKeyRequest {
    pub reason: RevocationReason,
}

/// The `format` query parameter of get/create.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyFormat {
    Jwk,
}

/// OKMS `GetServiceKeyResponse`: a key's public view.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceKeyView {
    pub id: KeyId,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: KeyType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<Curve>,
    pub operations: Operations,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u16>,
    #[serde(rename = "protectionLevel")]
    pub protection_level: ProtectionLevel,
    /// Always false (see [`CreateImportServiceKeyRequest::extractable`]).
    pub extractable: bool,
    /// `state`, the RFC 3339 dates and the creation `context`, all strings as OKMS shows
    /// them; a BTreeMap keeps their order stable.
    pub attributes: BTreeMap<String, String>,
    /// The public JWK, with `format=jwk` on an asymmetric key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<Jwk>>,
}

impl ServiceKeyView {
    /// The view of `record`; `jwk` is its public JWK when the caller asked for `format=jwk`.
    pub fn of(record: &KeyRecord, jwk: Option<Jwk>) -> Self {
        let lc = &record.lifecycle;
        let mut attributes = BTreeMap::new();
        attributes.insert("state".to_string(), state_name(lc.state).to_string());
        attributes.insert("original_creation_date".into(), lc.created.to_rfc3339());
        for (name, date) in [
            ("activation_date", lc.activated),
            ("deactivation_date", lc.deactivated),
            ("compromise_date", lc.compromised),
        ] {
            if let Some(date) = date {
                attributes.insert(name.into(), date.to_rfc3339());
            }
        }
        if let Some(context) = &record.context {
            attributes.insert("context".into(), context.clone());
        }
        ServiceKeyView {
            id: record.id,
            name: record.name.clone(),
            kind: record.spec.key_type(),
            curve: record.spec.curve(),
            operations: record.operations,
            size: record.spec.size(),
            protection_level: ProtectionLevel::Software,
            extractable: false,
            attributes,
            keys: jwk.map(|j| vec![j]),
        }
    }
}

fn state_name(state: KeyState) -> &'static str {
    state.as_str()
}

/// OKMS `ListServiceKeysResponse`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListServiceKeysResponse {
    pub objects_list: Vec<ServiceKeyView>,
    /// Where the next page starts. Always present (the schema requires it): when the listing
    /// is complete, following it returns an empty page.
    pub continuation_token: String,
    pub is_truncated: bool,
}
