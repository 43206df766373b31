//! Snapshots of the JSON the API shows: key views and every error body.

use super::Fixture;
use crate::api::{CreateImportServiceKeyRequest, KeyFormat};
use crate::error::Error;
use crate::ids::{CredentialId, DomainId, KeyId, PolicyId};
use crate::key::jwk::examples;
use crate::key::spec::{Curve, KeyType};
use crate::key::state::{KeyState, Refusal, RevocationReason, StateFilter, Transition};

#[test]
fn key_views() {
    let mut f = Fixture::new(40);
    let oct = f
        .create(&CreateImportServiceKeyRequest {
            name: "payments".into(),
            context: Some("team=billing".into()),
            kind: Some(KeyType::Oct),
            size: Some(256),
            ..Default::default()
        })
        .unwrap();
    insta::assert_json_snapshot!("oct_key", f.store.get(f.domain, oct, None).unwrap());

    let rsa = f
        .create(&CreateImportServiceKeyRequest {
            name: "rfc7515".into(),
            keys: Some(vec![examples::rfc7515_a2_rsa()]),
            ..Default::default()
        })
        .unwrap();
    insta::assert_json_snapshot!(
        "rsa_key_jwk",
        f.store.get(f.domain, rsa, Some(KeyFormat::Jwk)).unwrap()
    );

    let ec = f
        .create(&CreateImportServiceKeyRequest {
            name: "rfc7517".into(),
            kind: Some(KeyType::Ec),
            curve: Some(Curve::P256),
            keys: Some(vec![examples::rfc7517_a2_ec()]),
            ..Default::default()
        })
        .unwrap();
    insta::assert_json_snapshot!(
        "ec_key_jwk",
        f.store.get(f.domain, ec, Some(KeyFormat::Jwk)).unwrap()
    );

    f.deactivate(oct, RevocationReason::KeyCompromise).unwrap();
    f.transition(oct, Transition::Destroy).unwrap();
    insta::assert_json_snapshot!(
        "destroyed_compromised_key",
        f.store.get(f.domain, oct, None).unwrap()
    );

    insta::assert_json_snapshot!(
        "listing",
        f.store
            .list(f.domain, StateFilter::All, Some(10), None, |_| true)
            .unwrap()
    );
}

#[test]
fn error_bodies() {
    let key = KeyId::from_uuid(uuid::Uuid::from_u128(
        0x1111_1111_1111_4111_8111_1111_1111_1111,
    ));
    let domain = DomainId::from_uuid(uuid::Uuid::from_u128(
        0x2222_2222_2222_4222_8222_2222_2222_2222,
    ));
    let credential = CredentialId::from_uuid(uuid::Uuid::from_u128(
        0x3333_3333_3333_4333_8333_3333_3333_3333,
    ));
    let policy = PolicyId::from_uuid(uuid::Uuid::from_u128(
        0x4444_4444_4444_4444_8444_4444_4444_4444,
    ));
    let errors = [
        Error::invalid("name", "must be 1 to 32 characters, got 33".into()),
        Error::unsupported(
            "protectionLevel",
            "HSM is not available: Cairn keeps keys in software (SOFTWARE)",
        ),
        Error::DomainNotFound(domain),
        Error::DomainExists(domain),
        Error::KeyNotFound(key),
        Error::KeyExists(key),
        Error::KeyState {
            key,
            state: KeyState::Active,
            operation: "delete".into(),
            refusal: Some(Refusal::DeleteActive),
        },
        Error::KeyState {
            key,
            state: KeyState::Deactivated,
            operation: "encrypt".into(),
            refusal: None,
        },
        Error::OperationNotPermitted {
            key,
            operation: "decrypt".into(),
        },
        Error::AlgorithmMismatch {
            key,
            algorithm: "ES256".into(),
            spec: "RSA 2048".into(),
        },
        Error::malformed(
            "ciphertext",
            "expected a JWE compact serialization of five dot-separated parts",
        ),
        Error::WrongKey {
            what: "ciphertext".into(),
            expected: key,
            found: domain.to_string(),
        },
        Error::DecryptionFailed {
            what: "ciphertext".into(),
        },
        Error::NoPublicKey(KeyType::Oct),
        Error::CredentialNotFound(credential),
        Error::CredentialExists(credential),
        Error::BindingInUse(credential),
        Error::PolicyNotFound(policy),
        Error::PolicyExists(policy),
        Error::Unauthenticated("no client certificate".into()),
        Error::Forbidden {
            action: "okms:apikms:serviceKey/encrypt".into(),
            resource: format!("urn:v1:eu:resource:okms:{domain}/serviceKey/{key}"),
        },
        Error::MaterialCorrupted(key),
        Error::DomainKeyCorrupted(domain),
        Error::Unavailable("zone unavailable".into()),
        Error::Internal("state snapshot format 9 is not 1".into()),
    ];
    let bodies: Vec<serde_json::Value> = errors
        .iter()
        .map(|e| {
            serde_json::json!({
                "status": e.http_status(),
                "body": e.body("error-id".into(), "request-id".into()),
            })
        })
        .collect();
    // Every variant has its own application code.
    let mut codes: Vec<u16> = errors.iter().map(|e| e.code().app()).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(
        codes.len(),
        errors.len() - 1,
        "KeyState appears twice, with one code"
    );
    insta::assert_json_snapshot!("error_bodies", bodies);
}
