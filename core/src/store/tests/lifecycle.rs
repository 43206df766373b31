//! Key management through commands: create, rename, transitions, listing.

use uuid::Uuid;

use super::Fixture;
use crate::api::{CreateImportServiceKeyRequest, KeyFormat, ProtectionLevel};
use crate::error::Error;
use crate::ids::{DomainId, KeyId};
use crate::key::spec::{Curve, KeyType};
use crate::key::state::{KeyState, Refusal, RevocationReason, StateFilter, Transition};
use crate::store::command::Applied;
use crate::store::record::StoredMaterial;

#[test]
fn a_caller_supplied_id_is_kept_and_a_clash_is_a_conflict() {
    let mut f = Fixture::new(10);
    let id = Uuid::from_u128(0x0123_4567_89ab_4def_8123_4567_89ab_cdef);
    let req = CreateImportServiceKeyRequest {
        id: Some(id),
        name: "mine".into(),
        kind: Some(KeyType::Oct),
        size: Some(256),
        ..Default::default()
    };
    assert_eq!(f.create(&req), Ok(KeyId::from_uuid(id)));
    // Refused at preparation…
    assert_eq!(f.create(&req), Err(Error::KeyExists(KeyId::from_uuid(id))));
    assert_eq!(Error::KeyExists(KeyId::from_uuid(id)).http_status(), 409);
    // …and at application, when two creates with one id race through the log.
    let mut g = Fixture::new(10);
    let first = g.store.prepare_key(g.domain, &req, &mut g.rng).unwrap();
    let second = g.store.prepare_key(g.domain, &req, &mut g.rng).unwrap();
    assert!(g.apply(&first).is_ok());
    assert_eq!(
        g.apply(&second),
        Err(Error::KeyExists(KeyId::from_uuid(id)))
    );
}

#[test]
fn invalid_creates_are_refused_with_the_field_named() {
    let mut f = Fixture::new(11);
    let base = CreateImportServiceKeyRequest {
        name: "k".into(),
        kind: Some(KeyType::Oct),
        size: Some(256),
        ..Default::default()
    };
    let cases: Vec<(CreateImportServiceKeyRequest, &str)> = vec![
        (
            CreateImportServiceKeyRequest {
                name: "x".repeat(33),
                ..base.clone()
            },
            "name",
        ),
        (
            CreateImportServiceKeyRequest {
                name: String::new(),
                ..base.clone()
            },
            "name",
        ),
        (
            CreateImportServiceKeyRequest {
                context: Some("c".repeat(65)),
                ..base.clone()
            },
            "context",
        ),
        (
            CreateImportServiceKeyRequest {
                kind: None,
                ..base.clone()
            },
            "type",
        ),
        (
            CreateImportServiceKeyRequest {
                size: Some(512),
                ..base.clone()
            },
            "size",
        ),
        (
            CreateImportServiceKeyRequest {
                curve: Some(Curve::P256),
                ..base.clone()
            },
            "curve",
        ),
        (
            CreateImportServiceKeyRequest {
                operations: Some(vec![crate::key::operation::Operation::Sign]),
                ..base.clone()
            },
            "operations",
        ),
        (
            CreateImportServiceKeyRequest {
                protection_level: Some(ProtectionLevel::Hsm),
                ..base.clone()
            },
            "protectionLevel",
        ),
        (
            CreateImportServiceKeyRequest {
                extractable: Some(true),
                ..base.clone()
            },
            "extractable",
        ),
    ];
    for (req, field) in cases {
        match f.create(&req) {
            Err(
                Error::InvalidArgument { field: got, .. } | Error::Unsupported { field: got, .. },
            ) => {
                assert_eq!(got, field, "{req:?}");
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    let ghost = DomainId::random(&mut f.rng);
    assert_eq!(
        f.store.prepare_key(ghost, &base, &mut f.rng).unwrap_err(),
        Error::DomainNotFound(ghost)
    );
    // Nothing was created by the refusals.
    assert!(f.store.state().domain(f.domain).unwrap().keys.is_empty());
}

#[test]
fn okms_lifecycle_through_commands() {
    let mut f = Fixture::new(12);
    let key = f.oct();
    let state = |f: &Fixture| {
        f.store
            .state()
            .domain(f.domain)
            .unwrap()
            .key(key)
            .unwrap()
            .lifecycle
            .state
    };
    assert_eq!(state(&f), KeyState::Active);
    assert!(f.transition(key, Transition::Activate).is_ok());
    assert!(matches!(
        f.transition(key, Transition::Destroy),
        Err(Error::KeyState {
            refusal: Some(Refusal::DeleteActive),
            ..
        })
    ));
    f.deactivate(key, RevocationReason::Unspecified).unwrap();
    assert_eq!(state(&f), KeyState::Deactivated);
    f.deactivate(key, RevocationReason::KeyCompromise).unwrap();
    assert_eq!(state(&f), KeyState::Compromised);
    let view = f.store.get(f.domain, key, None).unwrap();
    assert!(view.attributes.contains_key("compromise_date"));
    f.transition(key, Transition::Activate).unwrap();
    let view = f.store.get(f.domain, key, None).unwrap();
    assert_eq!(view.attributes["state"], "active");
    assert!(!view.attributes.contains_key("compromise_date"));

    f.deactivate(key, RevocationReason::CessationOfOperation)
        .unwrap();
    assert_eq!(
        f.transition(key, Transition::Destroy),
        Ok(Applied::KeyChanged {
            domain: f.domain,
            key
        })
    );
    let record = f
        .store
        .state()
        .domain(f.domain)
        .unwrap()
        .key(key)
        .unwrap()
        .clone();
    assert_eq!(record.lifecycle.state, KeyState::Destroyed);
    assert_eq!(
        record.material,
        StoredMaterial::Erased,
        "material erased, record kept"
    );
    assert!(
        f.store.keyring.key(f.domain, key).is_err(),
        "unsealed copy dropped"
    );
    // Deleting again is not an error.
    assert!(f.transition(key, Transition::Destroy).is_ok());
}

#[test]
fn rename() {
    let mut f = Fixture::new(13);
    let key = f.oct();
    let cmd = f.store.prepare_rename(f.domain, key, "renamed").unwrap();
    f.apply(&cmd).unwrap();
    assert_eq!(f.store.get(f.domain, key, None).unwrap().name, "renamed");
    assert!(
        f.store
            .prepare_rename(f.domain, key, &"n".repeat(33))
            .is_err()
    );
    let ghost = KeyId::random(&mut f.rng);
    assert_eq!(
        f.store.prepare_rename(f.domain, ghost, "x"),
        Err(Error::KeyNotFound(ghost))
    );
}

#[test]
fn public_jwk_only_for_asymmetric_keys() {
    let mut f = Fixture::new(14);
    let ec = f.new_key(KeyType::Ec, None, Some(Curve::P384));
    let view = f.store.get(f.domain, ec, Some(KeyFormat::Jwk)).unwrap();
    let jwk = &view.keys.unwrap()[0];
    assert_eq!(jwk.kid.as_deref(), Some(ec.to_string().as_str()));
    assert!(jwk.d.is_none(), "never the private part");
    let oct = f.oct();
    assert_eq!(
        f.store
            .get(f.domain, oct, Some(KeyFormat::Jwk))
            .unwrap_err(),
        Error::NoPublicKey(KeyType::Oct)
    );
}

#[test]
fn listing_pages_through_every_key_once() {
    let mut f = Fixture::new(15);
    let mut created: Vec<KeyId> = (0..25).map(|_| f.oct()).collect();
    for k in &created[..5] {
        f.deactivate(*k, RevocationReason::Unspecified).unwrap();
    }
    created.sort();

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = f
            .store
            .list(
                f.domain,
                StateFilter::All,
                Some(10),
                token.as_deref(),
                |_| true,
            )
            .unwrap();
        pages += 1;
        seen.extend(page.objects_list.iter().map(|k| k.id));
        token = Some(page.continuation_token.clone());
        if !page.is_truncated {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created, "every key once, in id order");
    // Following the last token gives an empty, complete page.
    let end = f
        .store
        .list(
            f.domain,
            StateFilter::All,
            Some(10),
            token.as_deref(),
            |_| true,
        )
        .unwrap();
    assert!(end.objects_list.is_empty() && !end.is_truncated);

    let active = f
        .store
        .list(f.domain, StateFilter::Active, None, None, |_| true)
        .unwrap();
    assert_eq!(active.objects_list.len(), 20);
    let deactivated = f
        .store
        .list(f.domain, StateFilter::Deactivated, None, None, |_| true)
        .unwrap();
    assert_eq!(deactivated.objects_list.len(), 5);

    for max in [0, 9, 101] {
        assert!(
            f.store
                .list(f.domain, StateFilter::All, Some(max), None, |_| true)
                .is_err()
        );
    }
    assert!(
        f.store
            .list(f.domain, StateFilter::All, None, Some("garbage!"), |_| true)
            .is_err()
    );
}
