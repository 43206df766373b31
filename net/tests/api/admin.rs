//! The operator admin API: turned off by default, operators only, and each endpoint's
//! effect on the domains, credentials and policies the key API then honours.

use cairn_core::Timestamp;
use cairn_net::api::admin::{AdminConfig, Issuer, OperatorToken};
use cairn_net::api::{ClientCertificate, system_clock};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};

use crate::common::{Auth, Harness};

const ALICE: &str = "urn:v1:eu:identity:user:acme/alice";

/// A harness whose API has the admin API on: one operator token, one operator certificate,
/// and a client CA.
struct Admin {
    h: Harness,
    op: Auth,
    op_token: String,
    op_cert: Auth,
}

fn admin_harness() -> Admin {
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let token = OperatorToken::generate(&mut rng);
    let op_cert_der = crate::common::client_cert_der(None, crate::common::SanForm::Uri);
    let issuer = Issuer::generate("test client CA", 30, system_clock()).unwrap();
    let config = AdminConfig {
        operator_certificates: vec![AdminConfig::certificate_digest(&op_cert_der)],
        operator_tokens: vec![token.digest()],
        issuer: Some(issuer),
    };
    let h = Harness::with_config(|c| c.admin = Some(config));
    Admin {
        h,
        op: Auth::Bearer(token.expose().to_string()),
        op_token: token.expose().to_string(),
        op_cert: Auth::Cert(op_cert_der),
    }
}

impl Admin {
    async fn op(&self, method: &str, uri: &str, body: Option<Value>) -> crate::common::Reply {
        self.h.call(&self.op, method, uri, body).await
    }

    /// Puts a policy letting `identity` do every key action in `domain`.
    async fn allow_all(&self, domain: &str, identity: &str) {
        let id = new_id();
        let reply = self
            .op(
                "PUT",
                &format!("/admin/v1/domains/{domain}/policies/{id}"),
                Some(json!({
                    "name": "all keys",
                    "identities": [identity],
                    "statements": [{
                        "effect": "allow",
                        "actions": ["okms:apikms:*"],
                        "resources": [format!("urn:v1:eu:resource:okms:{domain}*")],
                    }],
                })),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text());
    }
}

fn cert_der(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn off_by_default_every_admin_path_is_404() {
    let h = Harness::new();
    for (method, uri) in [
        ("GET", "/admin/v1/cluster/status".to_string()),
        ("POST", "/admin/v1/domains".to_string()),
        ("GET", format!("/admin/v1/domains/{}/credentials", h.domain)),
    ] {
        let reply = h
            .call(&Auth::Bearer("cairn_op_x".into()), method, &uri, None)
            .await;
        assert_eq!(reply.status, 404, "{method} {uri}");
        let error = reply.error();
        assert_eq!(
            error["body"]["errors"][0],
            "no such endpoint: see /api/openapi.yaml for the endpoints Cairn serves"
        );
    }
}

#[tokio::test]
async fn only_operators_get_in() {
    let a = admin_harness();
    let h = &a.h;
    let uri = "/admin/v1/cluster/status";

    // Nothing: 401 with the OKMS body and a challenge.
    let none = h.call(&Auth::None, "GET", uri, None).await;
    assert_eq!(none.status, 401);
    assert!(
        none.error()["body"]["errors"][0]
            .as_str()
            .unwrap()
            .contains("operator token")
    );
    assert!(none.headers.contains_key("www-authenticate"));

    // A wrong operator token (right shape, unknown secret): 401.
    let other = OperatorToken::generate(&mut ChaCha20Rng::seed_from_u64(7));
    let wrong = h
        .call(&Auth::Bearer(other.expose().to_string()), "GET", uri, None)
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.error()["body"]["errors"][0],
        "authentication failed: unknown operator token"
    );
    // A truncated one: 401 too.
    let cut = &a.op_token[..a.op_token.len() - 1];
    assert_eq!(
        h.call(&Auth::Bearer(cut.into()), "GET", uri, None)
            .await
            .status,
        401
    );

    // The domain's administrator, certificate or token, has every key right but is no
    // operator: 403.
    let domain_admin = h.call(&h.admin, "GET", uri, None).await;
    assert_eq!(domain_admin.status, 403);
    assert!(
        domain_admin.error()["body"]["errors"][0]
            .as_str()
            .unwrap()
            .contains("this client certificate is not an operator's")
    );
    let (_, domain_token) = h.backend.add_token(h.domain, &[crate::common::ADMIN]);
    let by_token = h.call(&Auth::token(&domain_token), "GET", uri, None).await;
    assert_eq!(by_token.status, 403);
    assert!(
        by_token.error()["body"]["errors"][0]
            .as_str()
            .unwrap()
            .contains("only operators")
    );

    // Operators, by token or by certificate.
    assert_eq!(a.op("GET", uri, None).await.status, 200);
    assert_eq!(h.call(&a.op_cert, "GET", uri, None).await.status, 200);

    // The audit log has the refusals and the grants, and never the token.
    let lines = h.audit.json_lines();
    assert!(lines.iter().all(|l| !l.contains(&a.op_token[9..])));
    let admin_lines: Vec<_> = h
        .audit
        .lines()
        .into_iter()
        .filter(|l| l.route == uri)
        .collect();
    assert_eq!(admin_lines.len(), 7);
    assert_eq!(
        admin_lines
            .iter()
            .filter(|l| l.decision == Some("allow"))
            .count(),
        2
    );
    assert!(
        admin_lines
            .iter()
            .any(|l| l.operation.as_deref() == Some("cairn:admin:cluster/status"))
    );
}

#[tokio::test]
async fn cluster_status_of_the_memory_backend() {
    let a = admin_harness();
    let reply = a.op("GET", "/admin/v1/cluster/status", None).await;
    assert_eq!(reply.status, 200);
    let status = reply.json();
    assert_eq!(status["region"], "eu");
    assert_eq!(status["leader"], 1);
    assert_eq!(status["node"]["role"], "voter");
    let applied = a.h.backend.applied_index();
    assert_eq!(status["commit_index"], applied);
    assert_eq!(status["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(status["last_backup"], Value::Null);
}

#[tokio::test]
async fn domains_are_created_and_listed() {
    let a = admin_harness();
    let id = new_id();
    let created = a
        .op("POST", "/admin/v1/domains", Some(json!({"id": id})))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let body = created.json();
    assert_eq!(body["id"], id.to_string());
    assert_eq!(body["keys"], 0);
    assert!(Timestamp::parse_rfc3339(body["created"].as_str().unwrap()).is_some());

    // The same id again: 409; an id drawn by the server: 201.
    let again = a
        .op("POST", "/admin/v1/domains", Some(json!({"id": id})))
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(
        again.error()["body"]["errors"][0],
        format!("domain {id} already exists")
    );
    let drawn = a.op("POST", "/admin/v1/domains", Some(json!({}))).await;
    assert_eq!(drawn.status, 201);
    let drawn_id = drawn.json()["id"].as_str().unwrap().to_string();

    // Bad input is refused with the OKMS body, and creates nothing.
    let before = a.h.backend.writes();
    for body in [json!({"id": "acme"}), json!({"name": "x"})] {
        let bad = a.op("POST", "/admin/v1/domains", Some(body)).await;
        assert_eq!(bad.status, 400, "{}", bad.text());
        bad.error();
    }
    assert_eq!(a.h.backend.writes(), before);

    let list = a.op("GET", "/admin/v1/domains", None).await;
    assert_eq!(list.status, 200);
    let ids: Vec<String> = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    for expected in [id.to_string(), drawn_id, a.h.domain.to_string()] {
        assert!(ids.contains(&expected), "{expected} in {ids:?}");
    }
    // The harness's domain counts its credential and policy.
    let harness = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == a.h.domain.to_string())
        .cloned()
        .unwrap();
    assert_eq!(harness["credentials"], 1);
    assert_eq!(harness["policies"], 1);
}

#[tokio::test]
async fn an_issued_certificate_works_on_the_key_api_of_its_domain_only() {
    let a = admin_harness();
    let h = &a.h;
    let domain = h.domain;
    let created = a
        .op(
            "POST",
            &format!("/admin/v1/domains/{domain}/credentials"),
            Some(json!({"name": "alice", "identities": [ALICE], "days": 30})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let body = created.json();
    assert_eq!(body["kind"], "certificate");
    assert!(body.get("token").is_none());
    let pem = body["certificate"].as_str().unwrap();
    assert!(
        body["private_key"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let der = cert_der(pem);
    let cert = ClientCertificate::from_der(&der);
    assert_eq!(cert.domains(), [domain]);
    assert_eq!(body["certificate_sha256"], cert.sha256_hex());
    let not_after = Timestamp::parse_rfc3339(body["not_after"].as_str().unwrap()).unwrap();
    let days = not_after
        .saturating_duration_since(system_clock())
        .as_secs()
        / 86_400;
    assert!((29..=30).contains(&days), "{days}");

    // Without a policy, Alice is authenticated and denied.
    let alice = Auth::Cert(der);
    let denied = h
        .call(
            &alice,
            "POST",
            &h.api("/servicekey"),
            Some(json!({"name": "a", "type": "oct", "size": 256, "operations": ["encrypt", "decrypt"]})),
        )
        .await;
    assert_eq!(denied.status, 403, "{}", denied.text());

    a.allow_all(&domain.to_string(), ALICE).await;
    let key = h
        .call(
            &alice,
            "POST",
            &h.api("/servicekey"),
            Some(json!({"name": "a", "type": "oct", "size": 256, "operations": ["encrypt", "decrypt"]})),
        )
        .await;
    assert_eq!(key.status, 201, "{}", key.text());
    let key = key.json()["id"].as_str().unwrap().to_string();
    let encrypted = h
        .call(
            &alice,
            "POST",
            &h.api(&format!("/servicekey/{key}/encrypt")),
            Some(json!({"plaintext": "aGVsbG8="})),
        )
        .await;
    assert_eq!(encrypted.status, 200, "{}", encrypted.text());
    let ciphertext = encrypted.json()["ciphertext"].clone();
    let decrypted = h
        .call(
            &alice,
            "POST",
            &h.api(&format!("/servicekey/{key}/decrypt")),
            Some(json!({"ciphertext": ciphertext})),
        )
        .await;
    assert_eq!(decrypted.json()["plaintext"], "aGVsbG8=");

    // Another domain's path: 403. The listing shows the credential without its secret.
    let other = a.op("POST", "/admin/v1/domains", Some(json!({}))).await;
    let other = other.json()["id"].as_str().unwrap().to_string();
    let elsewhere = h
        .call(&alice, "GET", &format!("/api/{other}/v1/servicekey"), None)
        .await;
    assert_eq!(elsewhere.status, 403);
    let list = a
        .op(
            "GET",
            &format!("/admin/v1/domains/{domain}/credentials"),
            None,
        )
        .await;
    assert_eq!(list.status, 200);
    let listed = list.json();
    let mine = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == body["id"])
        .cloned()
        .unwrap();
    assert_eq!(mine["identities"], json!([ALICE]));
    assert_eq!(mine["revoked"], Value::Null);
    assert!(!list.text().contains("PRIVATE KEY"));

    // Revoked: the certificate no longer authenticates.
    let id = body["id"].as_str().unwrap();
    let revoke = a
        .op(
            "DELETE",
            &format!("/admin/v1/domains/{domain}/credentials/{id}"),
            None,
        )
        .await;
    assert_eq!(revoke.status, 204, "{}", revoke.text());
    let after = h
        .call(&alice, "GET", &h.api(&format!("/servicekey/{key}")), None)
        .await;
    assert_eq!(after.status, 401);
    let unknown = a
        .op(
            "DELETE",
            &format!("/admin/v1/domains/{domain}/credentials/{}", new_id()),
            None,
        )
        .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn a_csr_is_certified_and_its_key_stays_home() {
    let a = admin_harness();
    let domain = a.h.domain;
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "bob's laptop");
    // A SAN naming another domain is dropped.
    params.subject_alt_names = vec![rcgen::SanType::URI(
        format!("okms.domain:{}", new_id()).try_into().unwrap(),
    )];
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
    let created = a
        .op(
            "POST",
            &format!("/admin/v1/domains/{domain}/credentials"),
            Some(json!({"name": "bob", "identities": [ALICE], "csr": csr})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let body = created.json();
    assert!(body.get("private_key").is_none());
    let der = cert_der(body["certificate"].as_str().unwrap());
    assert_eq!(ClientCertificate::from_der(&der).domains(), [domain]);

    a.allow_all(&domain.to_string(), ALICE).await;
    let listed =
        a.h.call(&Auth::Cert(der), "GET", &a.h.api("/servicekey"), None)
            .await;
    assert_eq!(listed.status, 200, "{}", listed.text());

    // Refusals: a broken CSR, a CSR with a token, bad days, an unknown domain.
    for (body, field) in [
        (
            json!({"name": "x", "identities": [ALICE], "csr": "junk"}),
            "csr",
        ),
        (
            json!({"name": "x", "identities": [ALICE], "csr": csr, "token": true}),
            "csr",
        ),
        (
            json!({"name": "x", "identities": [ALICE], "days": 0}),
            "days",
        ),
        (json!({"name": "x", "identities": []}), "identities"),
        (json!({"name": "x", "identities": ["alice"]}), "body"),
    ] {
        let reply = a
            .op(
                "POST",
                &format!("/admin/v1/domains/{domain}/credentials"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text());
        let message = reply.error()["body"]["errors"][0]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.contains(field), "{body}: {message}");
    }
    let missing = a
        .op(
            "POST",
            &format!("/admin/v1/domains/{}/credentials", new_id()),
            Some(json!({"name": "x", "identities": [ALICE], "token": true})),
        )
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn token_credentials_are_shown_once_and_work() {
    let a = admin_harness();
    let domain = a.h.domain;
    let created = a
        .op(
            "POST",
            &format!("/admin/v1/domains/{domain}/credentials"),
            Some(json!({"name": "ci", "identities": [ALICE], "token": true})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let body = created.json();
    assert_eq!(body["kind"], "token");
    assert_eq!(body["not_after"], Value::Null);
    assert!(body.get("certificate").is_none());
    let token = body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("cairn_"));

    a.allow_all(&domain.to_string(), ALICE).await;
    let ci = Auth::Bearer(token.clone());
    let listed = a.h.call(&ci, "GET", &a.h.api("/servicekey"), None).await;
    assert_eq!(listed.status, 200, "{}", listed.text());

    let list = a
        .op(
            "GET",
            &format!("/admin/v1/domains/{domain}/credentials"),
            None,
        )
        .await;
    assert!(!list.text().contains(&token));
    assert!(
        a.h.audit
            .json_lines()
            .iter()
            .all(|l| !l.contains(&token[40..]))
    );
}

#[tokio::test]
async fn without_a_client_ca_certificates_are_refused_clearly() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let token = OperatorToken::generate(&mut rng);
    let h = Harness::with_config(|c| {
        c.admin = Some(AdminConfig {
            operator_tokens: vec![token.digest()],
            ..AdminConfig::default()
        })
    });
    let reply = h
        .call(
            &Auth::Bearer(token.expose().to_string()),
            "POST",
            &format!("/admin/v1/domains/{}/credentials", h.domain),
            Some(json!({"name": "x", "identities": [ALICE]})),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.error()["body"]["errors"][0]
            .as_str()
            .unwrap()
            .contains("no client CA")
    );
}

#[tokio::test]
async fn policies_are_put_read_listed_and_deleted() {
    let a = admin_harness();
    let domain = a.h.domain;
    let id = new_id();
    let uri = format!("/admin/v1/domains/{domain}/policies/{id}");
    let spec = json!({
        "name": "readers",
        "description": "list only",
        "identities": [ALICE],
        "statements": [{
            "effect": "allow",
            "actions": ["okms:apikms:serviceKey/get"],
            "resources": ["*"],
        }],
    });
    let put = a.op("PUT", &uri, Some(spec.clone())).await;
    assert_eq!(put.status, 201, "{}", put.text());
    assert_eq!(put.json()["id"], id.to_string());
    let mut renamed = spec.clone();
    renamed["name"] = json!("readers v2");
    let replaced = a.op("PUT", &uri, Some(renamed)).await;
    assert_eq!(replaced.status, 200);

    let got = a.op("GET", &uri, None).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json()["name"], "readers v2");
    assert_eq!(got.json()["statements"], spec["statements"]);

    let list = a
        .op("GET", &format!("/admin/v1/domains/{domain}/policies"), None)
        .await;
    assert_eq!(list.json().as_array().unwrap().len(), 2);

    // An unknown action, an unknown field: 400, nothing stored.
    let before = a.h.backend.writes();
    let mut bad = spec.clone();
    bad["statements"][0]["actions"] = json!(["okms:apikms:serviceKey/steal"]);
    assert_eq!(a.op("PUT", &uri, Some(bad)).await.status, 400);
    let mut extra = spec.clone();
    extra["owner"] = json!("me");
    assert_eq!(a.op("PUT", &uri, Some(extra)).await.status, 400);
    assert_eq!(
        a.op("PUT", "/admin/v1/domains/x/policies/y", Some(spec.clone()))
            .await
            .status,
        400
    );
    assert_eq!(a.h.backend.writes(), before);

    assert_eq!(a.op("DELETE", &uri, None).await.status, 204);
    let gone = a.op("GET", &uri, None).await;
    assert_eq!(gone.status, 404);
    gone.error();
    assert_eq!(a.op("DELETE", &uri, None).await.status, 404);
    let nowhere = format!("/admin/v1/domains/{}/policies/{id}", new_id());
    assert_eq!(a.op("PUT", &nowhere, Some(spec)).await.status, 404);
}

#[tokio::test]
async fn writes_when_read_only_answer_503() {
    let a = admin_harness();
    a.h.backend.set_read_only(true);
    let reply = a.op("POST", "/admin/v1/domains", Some(json!({}))).await;
    assert_eq!(reply.status, 503);
    reply.error();
}

/// A fresh random UUID (v4).
fn new_id() -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).unwrap();
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

#[tokio::test]
async fn every_listed_admin_endpoint_is_served_and_guarded() {
    let a = admin_harness();
    for (method, template) in cairn_net::api::admin::ADMIN_ENDPOINTS {
        let uri = template
            .replace("{domainId}", &a.h.domain.to_string())
            .replace("{credentialId}", &new_id().to_string())
            .replace("{policyId}", &new_id().to_string());
        let reply = a.h.call(&Auth::None, method, &uri, None).await;
        assert_eq!(reply.status, 401, "{method} {template}: {}", reply.text());
        let audited = a.h.audit.lines();
        assert_eq!(audited.last().unwrap().route, template);
    }
}
