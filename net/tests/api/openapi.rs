//! Cairn's OpenAPI description against what the router serves.

use std::collections::BTreeSet;

use cairn_net::api::{OPENAPI_YAML, endpoints};
use serde_json::{Value, json};

use crate::common::{Auth, Harness};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn description() -> Value {
    let yaml: serde_norway::Value = serde_norway::from_str(OPENAPI_YAML).expect("valid YAML");
    serde_json::to_value(yaml).expect("JSON-compatible")
}

/// Every (METHOD, path) the description lists.
fn described(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            if METHODS.contains(&method.as_str()) {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// The status codes documented for an operation.
fn documented(doc: &Value, method: &str, path: &str) -> BTreeSet<u16> {
    doc["paths"][path][method.to_lowercase()]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} is not described"))
        .keys()
        .map(|code| code.parse().unwrap())
        .collect()
}

/// Follows every `$ref` of the document to check that it resolves.
fn check_refs(doc: &Value, node: &Value, dangling: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                let pointer = target.trim_start_matches('#');
                if doc.pointer(pointer).is_none() {
                    dangling.push(target.clone());
                }
            }
            for value in map.values() {
                check_refs(doc, value, dangling);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| check_refs(doc, v, dangling)),
        _ => {}
    }
}

#[test]
fn the_description_lists_exactly_the_routes() {
    let doc = description();
    assert_eq!(doc["openapi"], "3.1.0");
    let served: BTreeSet<(String, String)> = endpoints()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p))
        .collect();
    let listed = described(&doc);
    let missing: Vec<_> = served.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&served).collect();
    assert!(missing.is_empty(), "served but not described: {missing:?}");
    assert!(extra.is_empty(), "described but not served: {extra:?}");

    let mut dangling = Vec::new();
    check_refs(&doc, &doc, &mut dangling);
    assert!(dangling.is_empty(), "dangling $refs: {dangling:?}");

    // Every operation has a unique operationId, and every error answer is the OKMS body.
    let mut ids = BTreeSet::new();
    for (method, path) in &listed {
        let op = &doc["paths"][path][method.to_lowercase()];
        assert!(
            ids.insert(op["operationId"].as_str().unwrap().to_string()),
            "{method} {path}"
        );
        for code in documented(&doc, method, path) {
            if code >= 400 {
                let response = &op["responses"][code.to_string()];
                let target = response["$ref"].as_str().unwrap_or_default();
                let resolved = doc.pointer(target.trim_start_matches('#')).unwrap();
                assert_eq!(
                    resolved["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorResponse",
                    "{method} {path} {code}"
                );
            }
        }
    }
}

/// A request for each described operation: the router must route it (no "no such endpoint"
/// or "method not allowed"), and answer with a status the description lists.
#[tokio::test]
async fn every_described_operation_is_routed_and_answers_a_documented_status() {
    let doc = description();
    let h = Harness::new();
    let key = h.oct("probe").await;
    let ec = h
        .create(json!({"name": "probe-ec", "type": "EC", "curve": "P-256"}))
        .await;
    for (method, path) in described(&doc) {
        let key = if path.ends_with("/sign") || path.ends_with("/verify") {
            &ec
        } else {
            &key
        };
        let uri = path
            .replace("{okmsId}", &h.domain.to_string())
            .replace("{keyId}", key);
        let body = (method == "POST" || method == "PATCH").then(|| json!({}));
        let reply = h.call(&h.admin, &method, &uri, body).await;
        if reply.status >= 400 {
            let code = reply.json()["error_code"].as_u64().unwrap();
            assert!(
                code != u64::from(cairn_net::api::error::ROUTE_NOT_FOUND.0)
                    && code != u64::from(cairn_net::api::error::METHOD_NOT_ALLOWED.0),
                "{method} {path} is not routed: {}",
                reply.text()
            );
        }
        let statuses = documented(&doc, &method, &path);
        assert!(
            statuses.contains(&reply.status),
            "{method} {path} answered {} which is not in {statuses:?}: {}",
            reply.status,
            reply.text()
        );
    }
}

/// Representative answers, each with a status the description documents for it.
#[tokio::test]
async fn documented_status_codes() {
    let doc = description();
    let h = Harness::new();
    let api = |rest: &str| h.api(rest);
    let create = "/api/{okmsId}/v1/servicekey";
    let one = "/api/{okmsId}/v1/servicekey/{keyId}";

    let mut checks: Vec<(u16, &str, &str, u16)> = Vec::new();
    let created = h
        .admin(
            "POST",
            &api("/servicekey"),
            Some(json!({"id": "0b9d4c3e-2a1f-4e5d-8c7b-6a5f4e3d2c1b", "name": "k", "type": "oct", "size": 192})),
        )
        .await;
    checks.push((created.status, "POST", create, 201));
    let clash = h
        .admin(
            "POST",
            &api("/servicekey"),
            Some(json!({"id": "0b9d4c3e-2a1f-4e5d-8c7b-6a5f4e3d2c1b", "name": "k", "type": "oct", "size": 192})),
        )
        .await;
    checks.push((clash.status, "POST", create, 409));
    let key = "/servicekey/0b9d4c3e-2a1f-4e5d-8c7b-6a5f4e3d2c1b";
    let missing = h
        .admin(
            "GET",
            &api("/servicekey/55555555-5555-4555-8555-555555555555"),
            None,
        )
        .await;
    checks.push((missing.status, "GET", one, 404));
    let anonymous = h.call(&Auth::None, "GET", &api(key), None).await;
    checks.push((anonymous.status, "GET", one, 401));
    let active_delete = h.admin("DELETE", &api(key), None).await;
    checks.push((active_delete.status, "DELETE", one, 400));
    let deactivated = h
        .admin(
            "POST",
            &api(&format!("{key}/deactivate")),
            Some(json!({"reason": "unspecified"})),
        )
        .await;
    checks.push((
        deactivated.status,
        "POST",
        "/api/{okmsId}/v1/servicekey/{keyId}/deactivate",
        204,
    ));
    h.backend.set_read_only(true);
    let read_only = h.admin("DELETE", &api(key), None).await;
    checks.push((read_only.status, "DELETE", one, 503));
    h.backend.set_read_only(false);
    let deleted = h.admin("DELETE", &api(key), None).await;
    checks.push((deleted.status, "DELETE", one, 204));
    let data_key = h
        .admin(
            "POST",
            &api(&format!("{key}/datakey")),
            Some(json!({"size": 256})),
        )
        .await;
    checks.push((
        data_key.status,
        "POST",
        "/api/{okmsId}/v1/servicekey/{keyId}/datakey",
        400,
    ));
    let too_big = h
        .raw(
            &h.admin,
            "POST",
            &api(&format!("{key}/encrypt")),
            Some(vec![b' '; 100_000]),
        )
        .await;
    checks.push((
        too_big.status,
        "POST",
        "/api/{okmsId}/v1/servicekey/{keyId}/encrypt",
        413,
    ));
    let random = h.admin("GET", "/v1/random?length=16", None).await;
    checks.push((random.status, "GET", "/v1/random", 200));

    for (got, method, path, expected) in checks {
        assert_eq!(got, expected, "{method} {path}");
        assert!(
            documented(&doc, method, path).contains(&got),
            "{method} {path}: {got} is not documented"
        );
    }
    // 405 is described once, globally.
    let wrong_method = h.admin("PUT", &api(key), None).await;
    assert_eq!(wrong_method.status, 405);
    assert!(doc["info"]["description"].as_str().unwrap().contains("405"));
}
