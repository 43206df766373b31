//! Authentication, authorization, the audit log, metrics, rate limits and system routes.

use std::sync::Arc;
use std::time::Duration;

use cairn_core::b64;
use cairn_core::{CredentialId, Timestamp};
use cairn_net::api::{ApiConfig, RateLimit, system_clock};
use serde_json::json;

use crate::common::{ADMIN, Auth, Harness, SanForm, client_cert_der};

const BOB: &str = "urn:v1:eu:identity:user:acme/bob";

async fn status(h: &Harness, auth: &Auth, uri: &str) -> u16 {
    h.call(auth, "GET", uri, None).await.status
}

#[tokio::test]
async fn authentication() {
    let h = Harness::new();
    let key = h.oct("k").await;
    let get = h.api(&format!("/servicekey/{key}"));

    // No proof at all.
    let none = h.call(&Auth::None, "GET", &get, None).await;
    assert_eq!(none.status, 401);
    assert_eq!(
        none.error()["body"]["errors"][0],
        "authentication failed: no client certificate and no bearer token: every request needs one"
    );

    // A certificate bound to no credential.
    let stranger = Auth::Cert(client_cert_der(Some(h.domain), SanForm::Upn));
    assert_eq!(status(&h, &stranger, &get).await, 401);

    // The SAN may be a URI; it must name the credential's domain.
    let uri_cert = client_cert_der(Some(h.domain), SanForm::Uri);
    h.backend
        .add_certificate(h.domain, &uri_cert, &[ADMIN], None);
    assert_eq!(status(&h, &Auth::Cert(uri_cert), &get).await, 200);
    let no_san = client_cert_der(None, SanForm::Upn);
    h.backend.add_certificate(h.domain, &no_san, &[ADMIN], None);
    let reply = h.call(&Auth::Cert(no_san.clone()), "GET", &get, None).await;
    assert_eq!(reply.status, 401, "{}", reply.text());
    assert!(reply.text().contains("subjectAltName"));

    // Unless the check is turned off.
    let relaxed = Harness::with_config(|c| c.require_domain_san = false);
    relaxed
        .backend
        .add_certificate(relaxed.domain, &no_san, &[ADMIN], None);
    assert_eq!(
        status(&relaxed, &Auth::Cert(no_san), &relaxed.api("/random")).await,
        200
    );

    // A credential of another domain: authenticated, but not here.
    let other = h.backend.create_domain();
    let other_cert = client_cert_der(Some(other), SanForm::Upn);
    h.backend
        .add_certificate(other, &other_cert, &[ADMIN], None);
    let reply = h
        .call(&Auth::Cert(other_cert.clone()), "GET", &get, None)
        .await;
    assert_eq!(reply.status, 403, "{}", reply.text());
    // On the legacy path it acts on its own domain, where the key does not exist and
    // nothing allows it.
    let legacy = h
        .call(
            &Auth::Cert(other_cert),
            "GET",
            &format!("/v1/servicekey/{key}"),
            None,
        )
        .await;
    assert_eq!(legacy.status, 403, "{}", legacy.text());

    // Expired and revoked credentials.
    let expired_cert = client_cert_der(Some(h.domain), SanForm::Upn);
    let past = system_clock().saturating_sub(Duration::from_secs(60));
    h.backend
        .add_certificate(h.domain, &expired_cert, &[ADMIN], Some(past));
    let reply = h.call(&Auth::Cert(expired_cert), "GET", &get, None).await;
    assert_eq!(reply.status, 401);
    assert!(reply.text().contains("expired"), "{}", reply.text());
    let revoked_cert = client_cert_der(Some(h.domain), SanForm::Upn);
    let revoked = h
        .backend
        .add_certificate(h.domain, &revoked_cert, &[ADMIN], None);
    assert_eq!(
        status(&h, &Auth::Cert(revoked_cert.clone()), &get).await,
        200
    );
    h.backend.revoke(h.domain, revoked);
    let reply = h.call(&Auth::Cert(revoked_cert), "GET", &get, None).await;
    assert_eq!(reply.status, 401);
    assert!(reply.text().contains("revoked"), "{}", reply.text());

    // Bearer tokens: good, wrong secret, malformed, other domain, other scheme.
    let (_, token) = h.backend.add_token(h.domain, &[ADMIN]);
    let good = Auth::token(&token);
    assert_eq!(status(&h, &good, &get).await, 200);
    assert_eq!(status(&h, &good, "/v1/random").await, 200, "legacy path");
    let mut forged = token.expose().to_string();
    let guess = b64::encode_url(&[7u8; 32]);
    forged.replace_range(39.., &guess);
    assert_eq!(status(&h, &Auth::Bearer(forged), &get).await, 401);
    assert_eq!(
        status(&h, &Auth::Bearer("cairn_nope".into()), &get).await,
        401
    );
    let (_, other_token) = h.backend.add_token(other, &[ADMIN]);
    assert_eq!(status(&h, &Auth::token(&other_token), &get).await, 403);
    let basic = axum::http::Request::builder()
        .uri(&get)
        .header("authorization", "Basic dXNlcjpwYXNz")
        .body(axum::body::Body::empty())
        .unwrap();
    let basic = h.send(basic).await;
    assert_eq!(basic.status, 401);
    assert!(basic.text().contains("unsupported Authorization scheme"));

    // A certificate bound to nothing next to a good token: the token decides.
    let both = Auth::Both(
        client_cert_der(Some(h.domain), SanForm::Upn),
        token.expose().to_string(),
    );
    assert_eq!(status(&h, &both, &get).await, 200);
}

#[tokio::test]
async fn unknown_ids_in_the_path_are_not_revealed_to_strangers() {
    let h = Harness::new();
    // Unauthenticated: 401 whatever the path holds.
    for uri in [
        "/api/acme/v1/servicekey".to_string(),
        h.api("/servicekey/not-a-uuid"),
    ] {
        assert_eq!(status(&h, &Auth::None, &uri).await, 401, "{uri}");
    }
    // Authenticated without rights: 403 whether the key exists or not.
    let (_, token) = h.backend.add_token(h.domain, &[BOB]);
    let bob = Auth::token(&token);
    let key = h.oct("k").await;
    assert_eq!(
        status(&h, &bob, &h.api(&format!("/servicekey/{key}"))).await,
        403
    );
    assert_eq!(
        status(
            &h,
            &bob,
            &h.api("/servicekey/44444444-4444-4444-8444-444444444444")
        )
        .await,
        403
    );
}

#[tokio::test]
async fn policies_decide_and_the_audit_log_says_why() {
    let h = Harness::new();
    let key = h.oct("shared").await;
    let other_key = h.oct("private").await;
    let domain = h.domain;
    let allow = h.backend.put_policy(
        domain,
        json!({
            "name": "bob uses keys",
            "identities": [BOB],
            "statements": [{
                "effect": "allow",
                "actions": ["okms:apikms:serviceKey/*"],
                "resources": [format!("urn:v1:eu:resource:okms:{domain}/serviceKey/{key}")],
            }],
        }),
    );
    let deny = h.backend.put_policy(
        domain,
        json!({
            "name": "nobody decrypts",
            "identities": ["urn:v1:eu:identity:*"],
            "statements": [{
                "effect": "deny",
                "actions": ["okms:apikms:serviceKey/decrypt"],
                "resources": ["*"],
            }],
        }),
    );
    let (bob_id, token) = h.backend.add_token(domain, &[BOB]);
    let bob = Auth::token(&token);
    let secret = b64::encode_std(b"the password is swordfish");

    let encrypted = h
        .call(
            &bob,
            "POST",
            &h.api(&format!("/servicekey/{key}/encrypt")),
            Some(json!({ "plaintext": secret })),
        )
        .await;
    assert_eq!(encrypted.status, 200, "{}", encrypted.text());
    let ciphertext = encrypted.json()["ciphertext"].as_str().unwrap().to_string();

    // Explicit deny wins over the allow.
    let denied = h
        .call(
            &bob,
            "POST",
            &h.api(&format!("/servicekey/{key}/decrypt")),
            Some(json!({ "ciphertext": ciphertext })),
        )
        .await;
    assert_eq!(denied.status, 403, "{}", denied.text());
    let error = denied.error();
    assert_eq!(
        error["body"]["errors"][0],
        format!(
            "access denied: okms:apikms:serviceKey/decrypt on urn:v1:eu:resource:okms:{domain}/serviceKey/{key}"
        )
    );
    // Even the administrator.
    let admin_denied = h
        .admin(
            "POST",
            &h.api(&format!("/servicekey/{key}/decrypt")),
            Some(json!({ "ciphertext": ciphertext })),
        )
        .await;
    assert_eq!(admin_denied.status, 403);

    // Deny by default: another key, creation, random bytes.
    let other = h
        .call(
            &bob,
            "GET",
            &h.api(&format!("/servicekey/{other_key}")),
            None,
        )
        .await;
    assert_eq!(other.status, 403);
    let create = h
        .call(
            &bob,
            "POST",
            &h.api("/servicekey"),
            Some(json!({"name": "x", "type": "oct"})),
        )
        .await;
    assert_eq!(create.status, 403);
    assert_eq!(status(&h, &bob, &h.api("/random")).await, 403);

    // Listing shows only what may be read.
    let listed = h.call(&bob, "GET", &h.api("/servicekey"), None).await;
    assert_eq!(listed.status, 200);
    let ids: Vec<_> = listed.json()["objects_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, std::slice::from_ref(&key));

    // A policy can name one credential by its own URN.
    h.backend.put_policy(
        domain,
        json!({
            "name": "bob's leaked token",
            "identities": [format!("urn:v1:eu:identity:credential:{domain}/{bob_id}")],
            "statements": [{"effect": "deny", "actions": ["okms:apikms:*"], "resources": ["*"]}],
        }),
    );
    let cut_off = h
        .call(
            &bob,
            "POST",
            &h.api(&format!("/servicekey/{key}/encrypt")),
            Some(json!({ "plaintext": secret })),
        )
        .await;
    assert_eq!(cut_off.status, 403);

    // The audit log: one line per request, with the decisions, and no secret.
    let lines = h.audit.lines();
    let json_lines = h.audit.json_lines();
    for line in &json_lines {
        assert!(!line.contains(&secret), "plaintext in {line}");
        assert!(!line.contains(&ciphertext), "ciphertext in {line}");
        assert!(!line.contains(token.expose()), "token in {line}");
        assert!(
            !line.contains(&token.expose()[39..]),
            "token secret in {line}"
        );
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(value["request_id"].is_string() && value["status"].is_number());
    }
    let allowed = lines
        .iter()
        .find(|l| {
            l.status == 200
                && l.operation.as_deref() == Some("okms:apikms:serviceKey/encrypt")
                && l.credential == Some(bob_id)
        })
        .expect("the allowed encrypt is logged");
    assert_eq!(allowed.decision, Some("allow"));
    assert_eq!(allowed.policy, Some(allow));
    assert_eq!(allowed.statement, Some(0));
    assert_eq!(allowed.key.map(|k| k.to_string()), Some(key.clone()));
    assert_eq!(allowed.client.as_deref(), Some("192.0.2.7:50000"));
    assert!(allowed.identities.iter().any(|i| i.as_str() == BOB));
    assert_eq!(allowed.method, "POST");
    assert_eq!(allowed.route, "/api/{okmsId}/v1/servicekey/{keyId}/encrypt");
    let denied = lines
        .iter()
        .find(|l| {
            l.status == 403
                && l.operation.as_deref() == Some("okms:apikms:serviceKey/decrypt")
                && l.credential == Some(bob_id)
        })
        .expect("the denied decrypt is logged");
    assert_eq!(denied.decision, Some("deny"));
    assert_eq!(denied.policy, Some(deny));
    assert!(denied.reason.as_deref().unwrap().contains("explicit deny"));
    assert_eq!(denied.error_code, Some(0x0102_4014));
    let by_default = lines
        .iter()
        .find(|l| l.operation.as_deref() == Some("okms:apikms:random/get"))
        .unwrap();
    assert_eq!(by_default.decision, Some("deny"));
    assert_eq!(by_default.policy, None);
    let listing = lines
        .iter()
        .find(|l| l.decision == Some("filter") && l.credential == Some(bob_id))
        .unwrap();
    assert!(
        listing
            .reason
            .as_deref()
            .unwrap()
            .starts_with("1 keys listed, 1 hidden")
    );
    let admin_line = lines
        .iter()
        .find(|l| l.credential == Some(h.admin_credential))
        .unwrap();
    assert_eq!(
        admin_line.certificate_sha256.as_ref().map(String::len),
        Some(64)
    );
    let unauthenticated = h.call(&Auth::None, "GET", &h.api("/random"), None).await;
    assert_eq!(unauthenticated.status, 401);
    let last = h.audit.lines().pop().unwrap();
    assert_eq!(last.status, 401);
    assert_eq!(last.credential, None::<CredentialId>);
    assert_eq!(last.decision, None);
}

#[tokio::test]
async fn rate_limit_per_credential() {
    let h = Harness::with_config(|c| {
        c.rate_limit = Some(RateLimit {
            per_second: 1,
            burst: 3,
        })
    });
    let uri = h.api("/random");
    for _ in 0..3 {
        assert_eq!(status(&h, &h.admin.clone(), &uri).await, 200);
    }
    let limited = h.admin("GET", &uri, None).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.headers["retry-after"], "1");
    let body = limited.error();
    assert!(
        body["body"]["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("too many requests")
    );
    // Another credential has its own bucket.
    let (_, token) = h.backend.add_token(h.domain, &[ADMIN]);
    assert_eq!(status(&h, &Auth::token(&token), &uri).await, 200);
}

#[tokio::test]
async fn system_routes_metrics_and_readiness() {
    let h = Harness::with_config(|c: &mut ApiConfig| {
        c.readiness = Arc::new(|| Err("catching up with the leader".into()));
        c.clock = Arc::new(|| Timestamp::from_millis(1_795_878_491_000));
    });
    let health = h.call(&Auth::None, "GET", "/health", None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json(), json!({"status": "ok"}));
    let ready = h.call(&Auth::None, "GET", "/ready", None).await;
    assert_eq!(ready.status, 503);
    assert_eq!(
        ready.error()["body"]["errors"][0],
        "read-only: catching up with the leader"
    );
    let openapi = h.call(&Auth::None, "GET", "/api/openapi.yaml", None).await;
    assert_eq!(openapi.status, 200);
    assert!(openapi.text().contains("\nopenapi: 3.1.0\n"));

    h.oct("k").await;
    let metrics = h.call(&Auth::None, "GET", "/metrics", None).await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = metrics.text();
    assert!(
        text.contains(
            r#"cairn_http_requests_total{route="/api/{okmsId}/v1/servicekey",method="POST",status="201"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains("cairn_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(!text.contains(&h.domain.to_string()), "no ids in metrics");

    // System routes are not audited; the API requests are, with the configured clock.
    let lines = h.audit.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0].time, "2026-11-28T15:08:11.000Z");
    // The runtime can add its own metrics to the same registry.
    let gauge = prometheus_client::metrics::gauge::Gauge::<i64>::default();
    gauge.set(7);
    h.metrics
        .registry()
        .register("node_commit_index", "test gauge", gauge);
    let text = h.call(&Auth::None, "GET", "/metrics", None).await.text();
    assert!(text.contains("cairn_node_commit_index 7"), "{text}");
}
