//! Importing keys as JWK through the key store.

use super::Fixture;
use crate::api::CreateImportServiceKeyRequest;
use crate::crypto::sign::{SignatureAlgorithm, SignatureFormat};
use crate::error::Error;
use crate::key::jwk::{Jwk, examples};
use crate::key::operation::Operation;
use crate::key::spec::{Curve, KeyType};
use crate::store::record::{Origin, StoredMaterial};

fn import(
    f: &mut Fixture,
    jwk: Jwk,
    operations: Option<Vec<Operation>>,
) -> Result<crate::ids::KeyId, Error> {
    f.create(&CreateImportServiceKeyRequest {
        name: "imported".into(),
        keys: Some(vec![jwk]),
        operations,
        ..Default::default()
    })
}

#[test]
fn an_imported_aes_key_decrypts_what_its_bytes_encrypt() {
    let mut f = Fixture::new(20);
    let k = crate::b64::encode_url(&[0x42; 32]);
    let key = import(&mut f, examples::jwk(&[("kty", "oct"), ("k", &k)]), None).unwrap();
    let record = f.store.state().domain(f.domain).unwrap().key(key).unwrap();
    assert_eq!(record.origin, Origin::Imported);
    assert_eq!(record.spec, crate::key::spec::KeySpec::Oct { bits: 256 });
    let ct = f
        .store
        .encrypt(f.domain, key, b"hi", None, &mut f.rng)
        .unwrap();
    assert_eq!(&*f.store.decrypt(f.domain, key, &ct, None).unwrap(), b"hi");
    // The same bytes imported again as another key decrypt nothing of the first's: the kid
    // is bound, not only the key bytes.
    let twin = import(&mut f, examples::jwk(&[("kty", "oct"), ("k", &k)]), None).unwrap();
    assert!(f.store.decrypt(f.domain, twin, &ct, None).is_err());
}

#[test]
fn an_imported_rsa_private_key_signs_like_the_rfc() {
    let mut f = Fixture::new(21);
    let key = import(&mut f, examples::rfc7515_a2_rsa(), None).unwrap();
    let view = f.store.get(f.domain, key, None).unwrap();
    assert_eq!((view.kind, view.size), (KeyType::Rsa, Some(2048)));
    let sig = f
        .store
        .sign(
            f.domain,
            key,
            SignatureAlgorithm::Rs256,
            b"payload",
            false,
            SignatureFormat::Raw,
            &mut f.rng,
        )
        .unwrap();
    assert_eq!(
        f.store.verify(
            f.domain,
            key,
            Some(SignatureAlgorithm::Rs256),
            Some(b"payload"),
            false,
            &sig
        ),
        Ok(true)
    );
}

#[test]
fn a_public_only_key_verifies_and_does_nothing_else() {
    let mut f = Fixture::new(22);
    // Sign with the private key, then import only its public half.
    let private = import(&mut f, examples::rfc7517_a2_ec(), None).unwrap();
    let sig = f
        .store
        .sign(
            f.domain,
            private,
            SignatureAlgorithm::Es256,
            b"m",
            false,
            SignatureFormat::Jws,
            &mut f.rng,
        )
        .unwrap();
    let public = import(&mut f, examples::rfc7517_a1_ec(), None).unwrap();
    let record = f
        .store
        .state()
        .domain(f.domain)
        .unwrap()
        .key(public)
        .unwrap();
    assert!(matches!(record.material, StoredMaterial::PublicOnly { .. }));
    assert_eq!(
        record.operations.iter().collect::<Vec<_>>(),
        [Operation::Verify]
    );
    // The JWS names the private key's id; verify the raw signature inside it instead.
    let raw_sig =
        crate::b64::encode_std(&crate::b64::decode_url(sig.split('.').nth(2).unwrap()).unwrap());
    let signing_input = sig.rsplit_once('.').unwrap().0;
    assert_eq!(
        f.store.verify(
            f.domain,
            public,
            Some(SignatureAlgorithm::Es256),
            Some(signing_input.as_bytes()),
            false,
            &raw_sig
        ),
        Ok(true)
    );
    assert!(
        f.store
            .sign(
                f.domain,
                public,
                SignatureAlgorithm::Es256,
                b"m",
                false,
                SignatureFormat::Raw,
                &mut f.rng
            )
            .is_err()
    );
    assert!(matches!(
        import(
            &mut f,
            examples::rfc7517_a1_ec(),
            Some(vec![Operation::Sign])
        ),
        Err(Error::InvalidArgument { .. })
    ));
}

#[test]
fn declared_type_size_and_curve_must_describe_the_jwk() {
    let mut f = Fixture::new(23);
    for (kind, size, curve) in [
        (Some(KeyType::Rsa), None, None),
        (None, Some(3072), None),
        (None, None, Some(Curve::P384)),
    ] {
        let req = CreateImportServiceKeyRequest {
            name: "x".into(),
            kind,
            size,
            curve,
            keys: Some(vec![examples::rfc7517_a2_ec()]),
            ..Default::default()
        };
        assert!(
            matches!(f.create(&req), Err(Error::InvalidArgument { .. })),
            "{kind:?} {size:?} {curve:?}"
        );
    }
    let two = CreateImportServiceKeyRequest {
        name: "x".into(),
        keys: Some(vec![examples::rfc7517_a2_ec(), examples::rfc7517_a2_ec()]),
        ..Default::default()
    };
    assert!(matches!(f.create(&two), Err(Error::InvalidArgument { field, .. }) if field == "keys"));
}
