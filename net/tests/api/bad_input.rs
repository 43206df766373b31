//! Bad input gets the OKMS error body and changes nothing.

use cairn_core::b64;
use serde_json::{Value, json};

use crate::common::{Auth, Harness, Reply};

const KEY: &str = "0b9d4c3e-2a1f-4e5d-8c7b-6a5f4e3d2c1b";
const EC_KEY: &str = "1d3e5f70-8192-4a3b-8c4d-5e6f708192a3";

enum Body {
    None,
    Json(Value),
    Raw(Vec<u8>),
}

struct Case {
    name: &'static str,
    method: &'static str,
    /// Relative to `/api/{domain}/v1`, or absolute when it starts with `!`.
    path: String,
    body: Body,
    status: u16,
}

fn case(name: &'static str, method: &'static str, path: &str, body: Body, status: u16) -> Case {
    Case {
        name,
        method,
        path: path.to_string(),
        body,
        status,
    }
}

#[tokio::test]
async fn bad_input_is_refused_with_the_okms_body_and_changes_nothing() {
    let h = Harness::new();
    h.create(json!({"id": KEY, "name": "aes", "type": "oct", "size": 256}))
        .await;
    h.create(json!({"id": EC_KEY, "name": "ec", "type": "EC", "curve": "P-256"}))
        .await;
    let ciphertext = h
        .admin(
            "POST",
            &h.api(&format!("/servicekey/{KEY}/encrypt")),
            Some(json!({"plaintext": b64::encode_std(b"secret text")})),
        )
        .await
        .json()["ciphertext"]
        .as_str()
        .unwrap()
        .to_string();
    let mut altered = ciphertext.clone().into_bytes();
    let last = altered.len() - 3;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();

    let key = |rest: &str| format!("/servicekey/{KEY}{rest}");
    let ec = |rest: &str| format!("/servicekey/{EC_KEY}{rest}");
    let cases = vec![
        case(
            "malformed JSON",
            "POST",
            "/servicekey",
            Body::Raw(b"{\"name\":".to_vec()),
            400,
        ),
        case(
            "not JSON",
            "POST",
            "/servicekey",
            Body::Raw(b"name=x".to_vec()),
            400,
        ),
        case("empty body", "POST", "/servicekey", Body::None, 400),
        case(
            "JSON but not an object",
            "POST",
            "/servicekey",
            Body::Json(json!(["name"])),
            400,
        ),
        case(
            "missing field",
            "POST",
            "/servicekey",
            Body::Json(json!({"type": "oct"})),
            400,
        ),
        case(
            "unknown field",
            "POST",
            "/servicekey",
            Body::Json(json!({"name": "x", "type": "oct", "color": "red"})),
            400,
        ),
        case(
            "wrong type",
            "POST",
            "/servicekey",
            Body::Json(json!({"name": "x", "type": "oct", "size": "big"})),
            400,
        ),
        case(
            "unknown key type",
            "POST",
            "/servicekey",
            Body::Json(json!({"name": "x", "type": "DES"})),
            400,
        ),
        case(
            "name over 32 characters",
            "POST",
            "/servicekey",
            Body::Json(json!({"name": "n".repeat(33), "type": "oct"})),
            400,
        ),
        case(
            "HSM protection",
            "POST",
            "/servicekey",
            Body::Json(json!({"name": "x", "type": "oct", "protectionLevel": "HSM"})),
            400,
        ),
        case(
            "extractable",
            "POST",
            "/servicekey",
            Body::Json(json!({"name": "x", "type": "oct", "extractable": true})),
            400,
        ),
        case(
            "oct key with format=jwk",
            "POST",
            "/servicekey?format=jwk",
            Body::Json(json!({"name": "x", "type": "oct"})),
            400,
        ),
        case(
            "body over the limit",
            "POST",
            "/servicekey",
            Body::Raw(format!("{{\"name\":\"{}\"}}", "x".repeat(70_000)).into_bytes()),
            413,
        ),
        case(
            "invalid key id in the path",
            "GET",
            "/servicekey/not-a-uuid",
            Body::None,
            400,
        ),
        case(
            "unhyphenated key id",
            "GET",
            "/servicekey/0b9d4c3e2a1f4e5d8c7b6a5f4e3d2c1b",
            Body::None,
            400,
        ),
        case(
            "invalid domain id in the path",
            "GET",
            "!/api/acme/v1/servicekey",
            Body::None,
            400,
        ),
        case(
            "unknown key",
            "GET",
            "/servicekey/33333333-3333-4333-8333-333333333333",
            Body::None,
            404,
        ),
        case(
            "rename to an empty name",
            "PATCH",
            &key(""),
            Body::Json(json!({"name": ""})),
            400,
        ),
        case(
            "unknown revocation reason",
            "POST",
            &key("/deactivate"),
            Body::Json(json!({"reason": "bored"})),
            400,
        ),
        case(
            "plaintext not base64",
            "POST",
            &key("/encrypt"),
            Body::Json(json!({"plaintext": "not base64!"})),
            400,
        ),
        case(
            "empty plaintext",
            "POST",
            &key("/encrypt"),
            Body::Json(json!({"plaintext": ""})),
            400,
        ),
        case(
            "plaintext over 4 KiB",
            "POST",
            &key("/encrypt"),
            Body::Json(json!({"plaintext": b64::encode_std(&[1u8; 4097])})),
            400,
        ),
        case(
            "context over 64 characters",
            "POST",
            &key("/encrypt"),
            Body::Json(json!({"plaintext": "AA==", "context": "c".repeat(65)})),
            400,
        ),
        case(
            "truncated ciphertext",
            "POST",
            &key("/decrypt"),
            Body::Json(json!({"ciphertext": &ciphertext[..ciphertext.len() - 10]})),
            400,
        ),
        case(
            "altered ciphertext",
            "POST",
            &key("/decrypt"),
            Body::Json(json!({ "ciphertext": altered })),
            400,
        ),
        case(
            "ciphertext over 8192 characters",
            "POST",
            &key("/decrypt"),
            Body::Json(json!({"ciphertext": "e".repeat(8193)})),
            400,
        ),
        case(
            "data key size not a multiple of 8",
            "POST",
            &key("/datakey"),
            Body::Json(json!({"size": 100})),
            400,
        ),
        case(
            "data key blob garbage",
            "POST",
            &key("/datakey/decrypt"),
            Body::Json(json!({"key": "garbage"})),
            400,
        ),
        case(
            "unknown algorithm",
            "POST",
            &ec("/sign"),
            Body::Json(json!({"message": "AA==", "alg": "ES999"})),
            400,
        ),
        case(
            "algorithm of another curve",
            "POST",
            &ec("/sign"),
            Body::Json(json!({"message": "AA==", "alg": "ES384"})),
            400,
        ),
        case(
            "RSA algorithm on an EC key",
            "POST",
            &ec("/verify"),
            Body::Json(json!({"message": "AA==", "signature": "AA==", "alg": "RS256"})),
            400,
        ),
        case(
            "sign with an oct key",
            "POST",
            &key("/sign"),
            Body::Json(json!({"message": "AA==", "alg": "ES256"})),
            400,
        ),
        case(
            "unknown signature format",
            "POST",
            &ec("/sign?format=pem"),
            Body::Json(json!({"message": "AA==", "alg": "ES256"})),
            400,
        ),
        case("max below 10", "GET", "/servicekey?max=5", Body::None, 400),
        case(
            "max above 100",
            "GET",
            "/servicekey?max=101",
            Body::None,
            400,
        ),
        case(
            "max not a number",
            "GET",
            "/servicekey?max=ten",
            Body::None,
            400,
        ),
        case(
            "unknown state",
            "GET",
            "/servicekey?state=sleeping",
            Body::None,
            400,
        ),
        case(
            "forged continuation token",
            "GET",
            "/servicekey?continuation-token=garbage!",
            Body::None,
            400,
        ),
        case(
            "unknown key format",
            "GET",
            &key("?format=pem"),
            Body::None,
            400,
        ),
        case(
            "unknown query parameter",
            "GET",
            &key("?formt=jwk"),
            Body::None,
            400,
        ),
        case(
            "repeated query parameter",
            "GET",
            "/random?length=1&length=2",
            Body::None,
            400,
        ),
        case(
            "random length 0",
            "GET",
            "/random?length=0",
            Body::None,
            400,
        ),
        case(
            "random length over 4096",
            "GET",
            "/random?length=4097",
            Body::None,
            400,
        ),
        case(
            "random length negative",
            "GET",
            "/random?length=-1",
            Body::None,
            400,
        ),
        case(
            "unknown endpoint",
            "GET",
            "/servicekey/x/y/z",
            Body::None,
            404,
        ),
        case("unknown path", "GET", "!/v2/servicekey", Body::None, 404),
        case("wrong method", "PUT", &key(""), Body::None, 405),
    ];

    let index = h.backend.applied_index();
    let mut snapshot = Vec::new();
    for c in &cases {
        let uri = match c.path.strip_prefix('!') {
            Some(absolute) => absolute.to_string(),
            None => h.api(&c.path),
        };
        let reply: Reply = match &c.body {
            Body::None => h.call(&h.admin, c.method, &uri, None).await,
            Body::Json(v) => h.call(&h.admin, c.method, &uri, Some(v.clone())).await,
            Body::Raw(bytes) => h.raw(&h.admin, c.method, &uri, Some(bytes.clone())).await,
        };
        assert_eq!(reply.status, c.status, "{}: {}", c.name, reply.text());
        let mut error = reply.error();
        error["case"] = json!(c.name);
        snapshot.push(error);
    }
    assert_eq!(
        h.backend.applied_index(),
        index,
        "bad input changed the state"
    );
    let text = serde_json::to_string_pretty(&snapshot)
        .unwrap()
        .replace(&h.domain.to_string(), "[domain]");
    let snapshot: Value = serde_json::from_str(&text).unwrap();
    insta::assert_json_snapshot!("bad_input", snapshot);

    // One audit line per request, none of them quoting what was sent.
    let lines = h.audit.json_lines();
    assert!(lines.len() >= cases.len());
    assert!(!lines.iter().any(|l| l.contains(&ciphertext)));
}

#[tokio::test]
async fn errors_carry_the_request_id() {
    let h = Harness::new();
    let mut request = axum::http::Request::builder()
        .uri(h.api("/servicekey/nope"))
        .header("x-request-id", "trace-1234")
        .body(axum::body::Body::empty())
        .unwrap();
    request
        .extensions_mut()
        .insert(cairn_net::api::ClientConnection {
            remote: "192.0.2.1:1".parse().unwrap(),
            certificate: match &h.admin {
                Auth::Cert(der) => Some(std::sync::Arc::new(
                    cairn_net::api::ClientCertificate::from_der(der),
                )),
                _ => unreachable!(),
            },
        });
    let reply = h.send(request).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.headers["x-request-id"], "trace-1234");
    assert_eq!(reply.json()["request_id"], "trace-1234");

    // Two errors, two error ids; a successful answer has a request id too.
    let a = h
        .admin("GET", &h.api("/servicekey/nope"), None)
        .await
        .json();
    let b = h
        .admin("GET", &h.api("/servicekey/nope"), None)
        .await
        .json();
    assert_ne!(a["error_id"], b["error_id"]);
    assert_ne!(a["request_id"], b["request_id"]);
    let ok = h.admin("GET", &h.api("/random"), None).await;
    let id = ok.headers["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
}
