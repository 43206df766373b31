//! Keys over HTTP from creation to deletion, the cryptographic operations, the legacy
//! paths, and the follower rules (barrier before 404, writes answered by their outcome).

use cairn_core::api::CreateImportServiceKeyRequest;
use cairn_core::b64;
use cairn_core::key::spec::KeyType;
use cairn_core::key::state::{RevocationReason, Transition};
use cairn_core::store::Command;
use cairn_core::{KeyId, Timestamp};
use cairn_net::api::Backend;
use rand_core::SeedableRng;
use serde_json::{Value, json};

use crate::common::Harness;

fn b64(bytes: &[u8]) -> String {
    b64::encode_std(bytes)
}

#[tokio::test]
async fn full_lifecycle() {
    let h = Harness::new();

    // Create oct, RSA and EC keys.
    let created = h
        .admin(
            "POST",
            &h.api("/servicekey"),
            Some(json!({"name": "aes", "type": "oct", "size": 256, "context": "billing"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let oct = created.json();
    assert_eq!(oct["name"], "aes");
    assert_eq!(oct["type"], "oct");
    assert_eq!(oct["size"], 256);
    assert_eq!(oct["extractable"], false);
    assert_eq!(oct["protectionLevel"], "SOFTWARE");
    assert_eq!(oct["attributes"]["state"], "active");
    assert_eq!(oct["attributes"]["context"], "billing");
    let oct = oct["id"].as_str().unwrap().to_string();

    let rsa = h
        .create(json!({"name": "rsa", "type": "RSA", "size": 2048}))
        .await;
    let ec = h
        .admin(
            "POST",
            &h.api("/servicekey?format=jwk"),
            Some(json!({"name": "ec", "type": "EC", "curve": "P-256"})),
        )
        .await;
    assert_eq!(ec.status, 201, "{}", ec.text());
    let ec_view = ec.json();
    let ec = ec_view["id"].as_str().unwrap().to_string();
    assert_eq!(ec_view["keys"][0]["kid"], ec.as_str());
    assert_eq!(ec_view["keys"][0]["kty"], "EC");
    assert!(ec_view["keys"][0].get("d").is_none(), "public part only");

    // Get, with and without the JWK.
    let got = h
        .admin(
            "GET",
            &h.api(&format!("/servicekey/{rsa}?format=jwk")),
            None,
        )
        .await;
    assert_eq!(got.status, 200);
    let rsa_jwk = got.json()["keys"][0].clone();
    assert_eq!(rsa_jwk["kid"], rsa.as_str());
    assert!(rsa_jwk["n"].is_string() && rsa_jwk.get("d").is_none());
    let got = h
        .admin("GET", &h.api(&format!("/servicekey/{oct}")), None)
        .await;
    assert_eq!(got.status, 200);
    assert!(got.json().get("keys").is_none());
    let no_jwk = h
        .admin(
            "GET",
            &h.api(&format!("/servicekey/{oct}?format=jwk")),
            None,
        )
        .await;
    assert_eq!(no_jwk.status, 400, "an oct key has no public part");

    // Import: an AES key, and the RSA key's public half (verify only).
    let imported = h
        .create(json!({"name": "imported-aes", "keys": [{"kty": "oct", "k": b64::encode_url(&[9u8; 32])}]}))
        .await;
    let public = h
        .create(json!({
            "name": "rsa-public",
            "keys": [{"kty": "RSA", "n": rsa_jwk["n"], "e": rsa_jwk["e"]}],
        }))
        .await;
    let view = h
        .admin("GET", &h.api(&format!("/servicekey/{public}")), None)
        .await
        .json();
    assert_eq!(view["operations"], json!(["verify"]), "{view}");

    // Rename.
    let patched = h
        .admin(
            "PATCH",
            &h.api(&format!("/servicekey/{imported}")),
            Some(json!({"name": "renamed"})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text());
    assert_eq!(patched.json()["name"], "renamed");

    // Encrypt and decrypt, with a context.
    let plaintext = b64(b"attack at dawn");
    let encrypted = h
        .admin(
            "POST",
            &h.api(&format!("/servicekey/{oct}/encrypt")),
            Some(json!({"plaintext": plaintext, "context": "order-42"})),
        )
        .await;
    assert_eq!(encrypted.status, 200, "{}", encrypted.text());
    let ciphertext = encrypted.json()["ciphertext"].as_str().unwrap().to_string();
    let decrypted = h
        .admin(
            "POST",
            &h.api(&format!("/servicekey/{oct}/decrypt")),
            Some(json!({"ciphertext": ciphertext, "context": "order-42"})),
        )
        .await;
    assert_eq!(decrypted.status, 200, "{}", decrypted.text());
    assert_eq!(decrypted.json()["plaintext"], plaintext);
    let wrong_context = h
        .admin(
            "POST",
            &h.api(&format!("/servicekey/{oct}/decrypt")),
            Some(json!({"ciphertext": ciphertext, "context": "order-43"})),
        )
        .await;
    assert_eq!(wrong_context.status, 400);

    // A 4 KiB plaintext, and its ciphertext (longer than OKMS's 5464 characters).
    let big = b64(&[0xa5; 4096]);
    assert_eq!(big.len(), 5464);
    let encrypted = h
        .admin(
            "POST",
            &h.api(&format!("/servicekey/{oct}/encrypt")),
            Some(json!({ "plaintext": big })),
        )
        .await;
    assert_eq!(encrypted.status, 200);
    let ciphertext = encrypted.json()["ciphertext"].as_str().unwrap().to_string();
    assert!(ciphertext.len() > 5464 && ciphertext.len() <= 8192);
    let decrypted = h
        .admin(
            "POST",
            &h.api(&format!("/servicekey/{oct}/decrypt")),
            Some(json!({ "ciphertext": ciphertext })),
        )
        .await;
    assert_eq!(decrypted.json()["plaintext"], big);

    // Data keys.
    let data_key = h
        .admin(
            "POST",
            &h.api(&format!("/servicekey/{oct}/datakey")),
            Some(json!({"name": "disk", "size": 256})),
        )
        .await;
    assert_eq!(data_key.status, 201, "{}", data_key.text());
    let data_key = data_key.json();
    assert_eq!(
        b64::decode_std(data_key["plaintext"].as_str().unwrap())
            .unwrap()
            .len(),
        32
    );
    let opened = h
        .admin(
            "POST",
            &h.api(&format!("/servicekey/{oct}/datakey/decrypt")),
            Some(json!({"key": data_key["key"]})),
        )
        .await;
    assert_eq!(opened.status, 200, "{}", opened.text());
    assert_eq!(opened.json()["plaintext"], data_key["plaintext"]);

    // Sign and verify: raw ECDSA, JWS with RSA-PSS, and the imported public key.
    let message = b64(b"release v1.2.3");
    let signed = h
        .admin(
            "POST",
            &h.api(&format!("/servicekey/{ec}/sign")),
            Some(json!({"message": message, "alg": "ES256"})),
        )
        .await;
    assert_eq!(signed.status, 200, "{}", signed.text());
    let signature = signed.json()["signature"].as_str().unwrap().to_string();
    assert_eq!(b64::decode_std(&signature).unwrap().len(), 64, "P1363 r‖s");
    let verify = |key: String, body: Value| {
        let h = &h;
        async move {
            let reply = h
                .admin(
                    "POST",
                    &h.api(&format!("/servicekey/{key}/verify")),
                    Some(body),
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.text());
            reply.json()["result"].as_bool().unwrap()
        }
    };
    assert!(
        verify(
            ec.clone(),
            json!({"message": message, "signature": signature, "alg": "ES256"})
        )
        .await
    );
    let mut altered = b64::decode_std(&signature).unwrap();
    altered[10] ^= 1;
    assert!(
        !verify(
            ec.clone(),
            json!({"message": message, "signature": b64(&altered), "alg": "ES256"})
        )
        .await
    );

    let jws = h
        .admin(
            "POST",
            &h.api(&format!("/servicekey/{rsa}/sign?format=jws")),
            Some(json!({"message": message, "alg": "PS256"})),
        )
        .await;
    assert_eq!(jws.status, 200, "{}", jws.text());
    let jws = jws.json()["signature"].as_str().unwrap().to_string();
    assert_eq!(jws.split('.').count(), 3);
    assert!(verify(rsa.clone(), json!({ "signature": jws })).await);
    // The JWS names the RSA key in its header: another key, even with the same public
    // half, does not take it as its own.
    assert!(!verify(public.clone(), json!({ "signature": jws })).await);
    let raw = h
        .admin(
            "POST",
            &h.api(&format!("/servicekey/{rsa}/sign?format=raw")),
            Some(json!({"message": message, "alg": "RS256"})),
        )
        .await
        .json()["signature"]
        .clone();
    assert!(
        verify(
            public.clone(),
            json!({"message": message, "signature": raw, "alg": "RS256"})
        )
        .await
    );
    let jwt = h
        .admin(
            "POST",
            &h.api(&format!("/servicekey/{ec}/sign?format=jwt")),
            Some(json!({"message": b64(br#"{"sub":"ci"}"#), "alg": "ES256"})),
        )
        .await;
    assert_eq!(jwt.status, 200);

    // Random bytes.
    let random = h.admin("GET", &h.api("/random?length=32"), None).await;
    assert_eq!(random.status, 200);
    let bytes = b64::decode_std(random.json()["bytes"].as_str().unwrap()).unwrap();
    assert_eq!(bytes.len(), 32);
    let one = h.admin("GET", &h.api("/random"), None).await;
    assert_eq!(
        b64::decode_std(one.json()["bytes"].as_str().unwrap())
            .unwrap()
            .len(),
        1,
        "length defaults to 1"
    );

    // Lifecycle: deactivate, refuse use, activate, compromise, delete.
    let key = |rest: &str| h.api(&format!("/servicekey/{oct}{rest}"));
    let deactivated = h
        .admin(
            "POST",
            &key("/deactivate"),
            Some(json!({"reason": "superseded"})),
        )
        .await;
    assert_eq!(deactivated.status, 204, "{}", deactivated.text());
    assert!(deactivated.body.is_empty());
    let view = h.admin("GET", &key(""), None).await.json();
    assert_eq!(view["attributes"]["state"], "deactivated");
    let refused = h
        .admin(
            "POST",
            &key("/encrypt"),
            Some(json!({"plaintext": plaintext})),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    let still_decrypts = h
        .admin(
            "POST",
            &key("/datakey/decrypt"),
            Some(json!({"key": data_key["key"]})),
        )
        .await;
    assert_eq!(still_decrypts.status, 200);
    let active_delete = h
        .admin("DELETE", &h.api(&format!("/servicekey/{ec}")), None)
        .await;
    assert_eq!(active_delete.status, 400, "an active key cannot be deleted");
    assert_eq!(h.admin("POST", &key("/activate"), None).await.status, 204);
    assert_eq!(
        h.admin("GET", &key(""), None).await.json()["attributes"]["state"],
        "active"
    );
    assert_eq!(
        h.admin(
            "POST",
            &key("/deactivate"),
            Some(json!({"reason": "key_compromise"}))
        )
        .await
        .status,
        204
    );
    let view = h.admin("GET", &key(""), None).await.json();
    assert_eq!(view["attributes"]["state"], "compromised");
    assert!(view["attributes"]["compromise_date"].is_string());
    assert_eq!(h.admin("DELETE", &key(""), None).await.status, 204);
    assert_eq!(
        h.admin("GET", &key(""), None).await.json()["attributes"]["state"],
        "destroyed_compromised"
    );

    // Listing: active keys by default, everything with state=all.
    let active = h.admin("GET", &h.api("/servicekey"), None).await.json();
    let ids: Vec<_> = active["objects_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!ids.contains(&oct) && ids.contains(&rsa), "{ids:?}");
    let all = h
        .admin("GET", &h.api("/servicekey?state=all"), None)
        .await
        .json();
    assert_eq!(all["objects_list"].as_array().unwrap().len(), 5);
    assert_eq!(all["is_truncated"], false);
}

#[tokio::test]
async fn pagination() {
    let h = Harness::new();
    let mut created = Vec::new();
    for i in 0..23 {
        created.push(h.oct(&format!("k{i}")).await);
    }
    created.sort();
    let mut seen = Vec::new();
    let mut uri = h.api("/servicekey?max=10");
    let mut pages = 0;
    loop {
        let reply = h.admin("GET", &uri, None).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let page = reply.json();
        pages += 1;
        let keys = page["objects_list"].as_array().unwrap();
        assert!(keys.len() <= 10);
        seen.extend(keys.iter().map(|k| k["id"].as_str().unwrap().to_string()));
        let token = page["continuation_token"].as_str().unwrap();
        assert!(!token.is_empty(), "always present");
        if page["is_truncated"] == false {
            break;
        }
        uri = h.api(&format!("/servicekey?max=10&continuation-token={token}"));
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created, "every key once, in id order");
}

#[tokio::test]
async fn legacy_paths_use_the_credentials_domain() {
    let h = Harness::new();
    let created = h
        .admin(
            "POST",
            "/v1/servicekey",
            Some(json!({"name": "legacy", "type": "oct", "size": 128})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_string();
    let got = h
        .admin("GET", &h.api(&format!("/servicekey/{id}")), None)
        .await;
    assert_eq!(got.status, 200, "the same key under the domain's path");
    let encrypted = h
        .admin(
            "POST",
            &format!("/v1/servicekey/{id}/encrypt"),
            Some(json!({"plaintext": b64(b"x")})),
        )
        .await;
    assert_eq!(encrypted.status, 200);
    let listed = h.admin("GET", "/v1/servicekey", None).await;
    assert_eq!(listed.json()["objects_list"][0]["id"], id.as_str());
    assert_eq!(
        h.admin("GET", "/v1/random?length=4", None).await.status,
        200
    );
    assert_eq!(
        h.admin("DELETE", &format!("/v1/servicekey/{id}"), None)
            .await
            .status,
        400,
        "still active"
    );
    let audit = h.audit.lines();
    let last = audit.last().unwrap();
    assert_eq!(last.route, "/v1/servicekey/{keyId}");
    assert_eq!(last.domain, Some(h.domain));
}

#[tokio::test]
async fn id_clash_is_409_and_unknown_keys_are_404_after_a_barrier() {
    let h = Harness::new();
    let id = "0b9d4c3e-2a1f-4e5d-8c7b-6a5f4e3d2c1b";
    let body = json!({"id": id, "name": "first", "type": "oct", "size": 128});
    let first = h
        .admin("POST", &h.api("/servicekey"), Some(body.clone()))
        .await;
    assert_eq!(first.status, 201, "{}", first.text());
    assert_eq!(first.json()["id"], id);
    let again = h.admin("POST", &h.api("/servicekey"), Some(body)).await;
    assert_eq!(again.status, 409);
    assert_eq!(
        again.error()["body"]["error_code"],
        cairn_core::Error::KeyExists(KeyId::from_uuid(uuid::Uuid::nil()))
            .code()
            .0
    );

    let barriers = h.backend.barriers();
    let missing = h
        .admin(
            "GET",
            &h.api("/servicekey/11111111-1111-4111-8111-111111111111"),
            None,
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        h.backend.barriers(),
        barriers + 1,
        "one barrier before the 404"
    );
}

#[tokio::test]
async fn a_lagging_follower_catches_up_before_answering() {
    let h = Harness::new();
    // A key created through another node: committed, not yet applied here.
    let id = KeyId::from_uuid("22222222-2222-4222-8222-222222222222".parse().unwrap());
    let request = CreateImportServiceKeyRequest {
        id: Some(*id.as_uuid()),
        name: "elsewhere".into(),
        kind: Some(KeyType::Oct),
        size: Some(256),
        ..Default::default()
    };
    let command = h.backend.read(|s| {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([3; 32]);
        s.prepare_key(h.domain, &request, &mut rng)
    });
    h.backend.lag(command.unwrap());
    let got = h
        .admin("GET", &h.api(&format!("/servicekey/{id}")), None)
        .await;
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(h.backend.barriers(), 1);

    // A deactivation applied elsewhere: locally the key is still active, which forbids a
    // delete; the API must not answer that refusal before catching up.
    h.backend.lag(Command::Transition {
        domain: h.domain,
        key: id,
        transition: Transition::Deactivate(RevocationReason::Unspecified),
    });
    let deleted = h
        .admin("DELETE", &h.api(&format!("/servicekey/{id}")), None)
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    assert_eq!(h.backend.barriers(), 2);
}

#[tokio::test]
async fn read_only_region_refuses_writes_and_keeps_serving_crypto() {
    let h = Harness::new();
    let key = h.oct("k").await;
    h.backend.set_read_only(true);
    let created = h
        .admin(
            "POST",
            &h.api("/servicekey"),
            Some(json!({"name": "n", "type": "oct", "size": 256})),
        )
        .await;
    assert_eq!(created.status, 503);
    let body = created.error();
    assert_eq!(
        body["body"]["errors"][0],
        "read-only: zone b is unavailable"
    );
    for (method, rest, body) in [
        ("PATCH", "", Some(json!({"name": "x"}))),
        (
            "POST",
            "/deactivate",
            Some(json!({"reason": "unspecified"})),
        ),
    ] {
        let reply = h
            .admin(method, &h.api(&format!("/servicekey/{key}{rest}")), body)
            .await;
        assert_eq!(reply.status, 503, "{method} {rest}");
    }
    let encrypted = h
        .admin(
            "POST",
            &h.api(&format!("/servicekey/{key}/encrypt")),
            Some(json!({"plaintext": b64(b"still here")})),
        )
        .await;
    assert_eq!(encrypted.status, 200);
}

#[tokio::test]
async fn dates_come_from_the_log() {
    let h = Harness::new();
    let key = h.oct("dated").await;
    let view = h
        .admin("GET", &h.api(&format!("/servicekey/{key}")), None)
        .await
        .json();
    let created = view["attributes"]["original_creation_date"]
        .as_str()
        .unwrap();
    assert!(Timestamp::parse_rfc3339(created).is_some());
}
