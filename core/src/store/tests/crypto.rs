//! Cryptographic operations through the key store.

use super::Fixture;
use crate::api::CreateImportServiceKeyRequest;
use crate::crypto::sign::{SignatureAlgorithm, SignatureFormat};
use crate::error::Error;
use crate::key::operation::Operation;
use crate::key::spec::{Curve, KeyType};
use crate::key::state::RevocationReason;
use crate::store::keystore::KeyStore;
use crate::{b64, ids::KeyId};

#[test]
fn encrypt_decrypt_every_aes_size_with_and_without_context() {
    let mut f = Fixture::new(1);
    for bits in [128, 192, 256] {
        let key = f.new_key(KeyType::Oct, Some(bits), None);
        for context in [None, Some("tenant=42")] {
            let ct = f
                .store
                .encrypt(f.domain, key, b"attack at dawn", context, &mut f.rng)
                .unwrap();
            let pt = f.store.decrypt(f.domain, key, &ct, context).unwrap();
            assert_eq!(&*pt, b"attack at dawn");
        }
        let ct = f
            .store
            .encrypt(f.domain, key, b"x", Some("a"), &mut f.rng)
            .unwrap();
        for wrong in [None, Some("b"), Some("A")] {
            assert!(matches!(
                f.store.decrypt(f.domain, key, &ct, wrong),
                Err(Error::DecryptionFailed { .. })
            ));
        }
    }
}

#[test]
fn limits_of_encrypt() {
    let mut f = Fixture::new(2);
    let key = f.oct();
    let big = vec![7u8; 4096];
    let ct = f
        .store
        .encrypt(f.domain, key, &big, None, &mut f.rng)
        .unwrap();
    assert!(ct.len() <= super::super::query::CIPHERTEXT_MAX);
    assert_eq!(
        &*f.store.decrypt(f.domain, key, &ct, None).unwrap(),
        &big[..]
    );
    for bad in [&[][..], &vec![0u8; 4097][..]] {
        assert!(matches!(
            f.store.encrypt(f.domain, key, bad, None, &mut f.rng),
            Err(Error::InvalidArgument { .. })
        ));
    }
    let long_context = "c".repeat(65);
    assert!(matches!(
        f.store
            .encrypt(f.domain, key, b"x", Some(&long_context), &mut f.rng),
        Err(Error::InvalidArgument { .. })
    ));
    let too_long = "a".repeat(8193);
    assert!(matches!(
        f.store.decrypt(f.domain, key, &too_long, None),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn a_ciphertext_only_opens_with_its_own_key() {
    let mut f = Fixture::new(3);
    let (k1, k2) = (f.oct(), f.oct());
    let ct = f
        .store
        .encrypt(f.domain, k1, b"secret", None, &mut f.rng)
        .unwrap();
    assert!(matches!(
        f.store.decrypt(f.domain, k2, &ct, None),
        Err(Error::WrongKey { expected, .. }) if expected == k2
    ));
    // Rewriting the kid in the header to point at k2 breaks authentication.
    let mut parts: Vec<String> = ct.split('.').map(str::to_string).collect();
    let header = String::from_utf8(b64::decode_url(&parts[0]).unwrap()).unwrap();
    parts[0] = b64::encode_url(header.replace(&k1.to_string(), &k2.to_string()).as_bytes());
    let forged = parts.join(".");
    assert!(matches!(
        f.store.decrypt(f.domain, k2, &forged, None),
        Err(Error::DecryptionFailed { .. })
    ));
    // Unknown key and unknown domain.
    let ghost = KeyId::random(&mut f.rng);
    assert_eq!(
        f.store.decrypt(f.domain, ghost, &ct, None),
        Err(Error::KeyNotFound(ghost))
    );
}

#[test]
fn state_and_operations_gate_each_use() {
    let mut f = Fixture::new(4);
    let key = f.oct();
    let ct = f
        .store
        .encrypt(f.domain, key, b"old", None, &mut f.rng)
        .unwrap();
    f.deactivate(key, RevocationReason::Superseded).unwrap();
    // A deactivated key still decrypts (to move data off it) but no longer encrypts.
    assert_eq!(&*f.store.decrypt(f.domain, key, &ct, None).unwrap(), b"old");
    assert!(matches!(
        f.store.encrypt(f.domain, key, b"new", None, &mut f.rng),
        Err(Error::KeyState { .. })
    ));
    f.transition(key, crate::key::state::Transition::Destroy)
        .unwrap();
    assert!(matches!(
        f.store.decrypt(f.domain, key, &ct, None),
        Err(Error::KeyState { .. })
    ));

    let encrypt_only = f
        .create(&CreateImportServiceKeyRequest {
            name: "enc-only".into(),
            kind: Some(KeyType::Oct),
            size: Some(128),
            operations: Some(vec![Operation::Encrypt]),
            ..Default::default()
        })
        .unwrap();
    let ct = f
        .store
        .encrypt(f.domain, encrypt_only, b"x", None, &mut f.rng)
        .unwrap();
    assert!(matches!(
        f.store.decrypt(f.domain, encrypt_only, &ct, None),
        Err(Error::OperationNotPermitted { .. })
    ));
    assert!(matches!(
        f.store
            .generate_data_key(f.domain, encrypt_only, None, 256, &mut f.rng),
        Err(Error::OperationNotPermitted { .. })
    ));
}

#[test]
fn data_keys() {
    let mut f = Fixture::new(5);
    let key = f.oct();
    for bits in [64, 128, 256, 4096] {
        let dk = f
            .store
            .generate_data_key(f.domain, key, Some("db"), bits, &mut f.rng)
            .unwrap();
        assert_eq!(dk.plaintext.len() as i64 * 8, bits);
        let opened = f.store.decrypt_data_key(f.domain, key, &dk.blob).unwrap();
        assert_eq!(opened, dk.plaintext);
        // A blob is not a ciphertext, and a ciphertext is not a blob.
        assert!(matches!(
            f.store.decrypt(f.domain, key, &dk.blob, None),
            Err(Error::Malformed { .. })
        ));
    }
    let ct = f
        .store
        .encrypt(f.domain, key, b"x", None, &mut f.rng)
        .unwrap();
    assert!(matches!(
        f.store.decrypt_data_key(f.domain, key, &ct),
        Err(Error::Malformed { .. })
    ));
    for bad in [0, 63, 65, 4097, 4104, -8] {
        assert!(
            matches!(
                f.store
                    .generate_data_key(f.domain, key, None, bad, &mut f.rng),
                Err(Error::InvalidArgument { .. })
            ),
            "{bad}"
        );
    }
    let ec = f.new_key(KeyType::Ec, None, Some(Curve::P256));
    assert!(
        f.store
            .generate_data_key(f.domain, ec, None, 256, &mut f.rng)
            .is_err()
    );
}

#[test]
fn sign_and_verify_every_algorithm_in_every_format() {
    let mut f = Fixture::new(6);
    let rsa = f.new_key(KeyType::Rsa, Some(2048), None);
    let keys = [
        (
            f.new_key(KeyType::Ec, None, Some(Curve::P256)),
            vec![SignatureAlgorithm::Es256],
        ),
        (
            f.new_key(KeyType::Ec, None, Some(Curve::P384)),
            vec![SignatureAlgorithm::Es384],
        ),
        (
            f.new_key(KeyType::Ec, None, Some(Curve::P521)),
            vec![SignatureAlgorithm::Es512],
        ),
        (
            rsa,
            vec![
                SignatureAlgorithm::Rs256,
                SignatureAlgorithm::Rs384,
                SignatureAlgorithm::Rs512,
                SignatureAlgorithm::Ps256,
                SignatureAlgorithm::Ps384,
                SignatureAlgorithm::Ps512,
            ],
        ),
    ];
    let msg = br#"{"sub":"alice"}"#;
    for (key, algs) in &keys {
        for alg in algs {
            let raw = sign(&mut f, *key, *alg, msg, false, SignatureFormat::Raw).unwrap();
            let domain = f.domain;
            let verify = |store: &KeyStore, m: &[u8], sig: &str| {
                store.verify(domain, *key, Some(*alg), Some(m), false, sig)
            };
            assert_eq!(verify(&f.store, msg, &raw), Ok(true), "{alg}");
            assert_eq!(verify(&f.store, b"other", &raw), Ok(false), "{alg}");
            let mut tampered = b64::decode_std(&raw).unwrap();
            tampered[5] ^= 1;
            assert_eq!(
                verify(&f.store, msg, &b64::encode_std(&tampered)),
                Ok(false),
                "{alg}"
            );
            assert_eq!(
                verify(&f.store, msg, "AAAA"),
                Ok(false),
                "{alg}: short garbage"
            );

            // A digest signed with isdigest verifies against the message.
            let digest = alg.digest(msg);
            let over_digest =
                sign(&mut f, *key, *alg, &digest, true, SignatureFormat::Raw).unwrap();
            assert_eq!(verify(&f.store, msg, &over_digest), Ok(true), "{alg}");

            for format in [SignatureFormat::Jws, SignatureFormat::Jwt] {
                let token = sign(&mut f, *key, *alg, msg, false, format).unwrap();
                assert_eq!(token.split('.').count(), 3);
                assert_eq!(
                    f.store.verify(f.domain, *key, None, None, false, &token),
                    Ok(true)
                );
                assert_eq!(
                    f.store
                        .verify(f.domain, *key, Some(*alg), Some(msg), false, &token),
                    Ok(true)
                );
                assert_eq!(
                    f.store
                        .verify(f.domain, *key, None, Some(b"other"), false, &token),
                    Ok(false)
                );
                assert!(sign(&mut f, *key, *alg, &digest, true, format).is_err());
            }
        }
    }
    // An algorithm that does not fit the key is an error, not a false.
    let p256 = keys[0].0;
    assert!(matches!(
        sign(
            &mut f,
            p256,
            SignatureAlgorithm::Rs256,
            msg,
            false,
            SignatureFormat::Raw
        ),
        Err(Error::AlgorithmMismatch { .. })
    ));
    assert!(matches!(
        sign(
            &mut f,
            p256,
            SignatureAlgorithm::Es384,
            msg,
            false,
            SignatureFormat::Raw
        ),
        Err(Error::AlgorithmMismatch { .. })
    ));
    assert!(matches!(
        f.store.verify(
            f.domain,
            rsa,
            Some(SignatureAlgorithm::Es256),
            Some(msg),
            false,
            "AAAA"
        ),
        Err(Error::AlgorithmMismatch { .. })
    ));
    // A raw signature needs its algorithm and message; a non-JSON message is no JWT.
    assert!(
        f.store
            .verify(f.domain, rsa, None, Some(msg), false, "AAAA")
            .is_err()
    );
    assert!(
        sign(
            &mut f,
            rsa,
            SignatureAlgorithm::Rs256,
            b"not json",
            false,
            SignatureFormat::Jwt
        )
        .is_err()
    );
    // An oct key cannot sign.
    let oct = f.oct();
    assert!(
        sign(
            &mut f,
            oct,
            SignatureAlgorithm::Es256,
            msg,
            false,
            SignatureFormat::Raw
        )
        .is_err()
    );
}

#[test]
fn a_deactivated_key_verifies_but_does_not_sign() {
    let mut f = Fixture::new(7);
    let key = f.new_key(KeyType::Ec, None, Some(Curve::P256));
    let alg = SignatureAlgorithm::Es256;
    let sig = sign(&mut f, key, alg, b"m", false, SignatureFormat::Raw).unwrap();
    f.deactivate(key, RevocationReason::KeyCompromise).unwrap();
    assert_eq!(
        f.store
            .verify(f.domain, key, Some(alg), Some(b"m"), false, &sig),
        Ok(true)
    );
    assert!(matches!(
        sign(&mut f, key, alg, b"m", false, SignatureFormat::Raw),
        Err(Error::KeyState { .. })
    ));
}

#[test]
fn random_bytes() {
    let mut f = Fixture::new(8);
    assert_eq!(KeyStore::random(1, &mut f.rng).unwrap().len(), 1);
    assert_eq!(KeyStore::random(4096, &mut f.rng).unwrap().len(), 4096);
    assert!(KeyStore::random(0, &mut f.rng).is_err());
    assert!(KeyStore::random(4097, &mut f.rng).is_err());
    let (a, b) = (
        KeyStore::random(32, &mut f.rng).unwrap(),
        KeyStore::random(32, &mut f.rng).unwrap(),
    );
    assert_ne!(a, b);
}

fn sign(
    f: &mut Fixture,
    key: KeyId,
    alg: SignatureAlgorithm,
    msg: &[u8],
    is_digest: bool,
    format: SignatureFormat,
) -> Result<String, Error> {
    f.store
        .sign(f.domain, key, alg, msg, is_digest, format, &mut f.rng)
}
