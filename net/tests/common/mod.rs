//! The helpers the API tests share, around the in-memory backend of `cairn_net::api::memory`.
#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request};
use cairn_core::iam::SecretToken;
use cairn_core::{CredentialId, DomainId};
use cairn_net::api::{
    ApiConfig, ClientCertificate, ClientConnection, MemoryAudit, Metrics, router,
};
use serde_json::{Value, json};
use tower::ServiceExt;

pub use cairn_net::api::memory::MemoryBackend;

/// A self-signed client certificate naming `domain` in its SAN, in the form `form`.
pub fn client_cert_der(domain: Option<DomainId>, form: SanForm) -> Vec<u8> {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "test client");
    if let Some(domain) = domain {
        params.subject_alt_names.push(san(domain, form));
    }
    params.self_signed(&key).unwrap().der().to_vec()
}

#[derive(Clone, Copy, Debug)]
pub enum SanForm {
    Upn,
    Uri,
}

/// The UPN otherName OID, 1.3.6.1.4.1.311.20.2.3.
pub const UPN_OID: [u64; 10] = [1, 3, 6, 1, 4, 1, 311, 20, 2, 3];

pub fn san(domain: DomainId, form: SanForm) -> rcgen::SanType {
    let value = format!("okms.domain:{domain}");
    match form {
        SanForm::Upn => rcgen::SanType::OtherName((UPN_OID.to_vec(), value.into())),
        SanForm::Uri => rcgen::SanType::URI(value.try_into().unwrap()),
    }
}

/// How a test request authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Cert(Vec<u8>),
    Bearer(String),
    Both(Vec<u8>, String),
}

impl Auth {
    pub fn token(token: &SecretToken) -> Auth {
        Auth::Bearer(token.expose().to_string())
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {:?} (status {})",
                String::from_utf8_lossy(&self.body),
                self.status
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// An OKMS error body with its random ids replaced, checked for shape on the way.
    pub fn error(&self) -> Value {
        let mut body = self.json();
        let object = body.as_object().expect("error body is an object");
        let mut keys: Vec<_> = object.keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["error_code", "error_id", "errors", "request_id"],
            "{body}"
        );
        let error_id = body["error_id"].as_str().unwrap();
        assert_eq!(error_id.len(), 36, "error_id is a UUID: {error_id}");
        assert!(uuid::Uuid::parse_str(error_id).is_ok());
        let request_id = body["request_id"].as_str().unwrap().to_string();
        assert_eq!(
            self.headers["x-request-id"].to_str().unwrap(),
            request_id,
            "the body and the header carry the same request id"
        );
        assert_eq!(self.headers["content-type"], "application/json");
        body["error_id"] = json!("[error_id]");
        body["request_id"] = json!("[request_id]");
        json!({"status": self.status, "body": body})
    }
}

/// The router over a fresh backend with one domain, an administrator (certificate, all key
/// actions allowed) and a captured audit log.
pub struct Harness {
    pub backend: MemoryBackend,
    pub router: Router,
    pub audit: Arc<MemoryAudit>,
    pub metrics: Metrics,
    pub domain: DomainId,
    pub admin: Auth,
    pub admin_credential: CredentialId,
}

pub const ADMIN: &str = "urn:v1:eu:identity:user:acme/admin";

impl Harness {
    pub fn new() -> Self {
        Harness::with_config(|_| {})
    }

    pub fn with_config(configure: impl FnOnce(&mut ApiConfig)) -> Self {
        let backend = MemoryBackend::new(1);
        let domain = backend.create_domain();
        let der = client_cert_der(Some(domain), SanForm::Upn);
        let admin_credential = backend.add_certificate(domain, &der, &[ADMIN], None);
        backend.put_policy(
            domain,
            json!({
                "name": "admin",
                "identities": [ADMIN],
                "statements": [{
                    "effect": "allow",
                    "actions": ["okms:apikms:*"],
                    "resources": [format!("urn:v1:eu:resource:okms:{domain}*")],
                }],
            }),
        );
        let audit = Arc::new(MemoryAudit::new());
        let mut config = ApiConfig {
            audit: audit.clone(),
            ..ApiConfig::default()
        };
        configure(&mut config);
        let metrics = config.metrics.clone();
        let router = router(backend.clone(), config);
        Harness {
            backend,
            router,
            audit,
            metrics,
            domain,
            admin: Auth::Cert(der),
            admin_credential,
        }
    }

    /// `/api/{domain}/v1{rest}`.
    pub fn api(&self, rest: &str) -> String {
        format!("/api/{}/v1{rest}", self.domain)
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn call(&self, auth: &Auth, method: &str, uri: &str, body: Option<Value>) -> Reply {
        let body = body.map(|b| b.to_string().into_bytes());
        self.raw(auth, method, uri, body).await
    }

    pub async fn raw(&self, auth: &Auth, method: &str, uri: &str, body: Option<Vec<u8>>) -> Reply {
        let mut builder = Request::builder().method(method).uri(uri);
        if body.is_some() {
            builder = builder.header("content-type", "application/json");
        }
        let (cert, bearer) = match auth {
            Auth::None => (None, None),
            Auth::Cert(der) => (Some(der), None),
            Auth::Bearer(token) => (None, Some(token)),
            Auth::Both(der, token) => (Some(der), Some(token)),
        };
        if let Some(token) = bearer {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        let mut request = builder.body(Body::from(body.unwrap_or_default())).unwrap();
        request.extensions_mut().insert(ClientConnection {
            remote: "192.0.2.7:50000".parse().unwrap(),
            certificate: cert.map(|der| Arc::new(ClientCertificate::from_der(der))),
        });
        self.send(request).await
    }

    /// The administrator's call.
    pub async fn admin(&self, method: &str, uri: &str, body: Option<Value>) -> Reply {
        self.call(&self.admin, method, uri, body).await
    }

    /// Creates a key as the administrator and returns its id.
    pub async fn create(&self, body: Value) -> String {
        let reply = self
            .admin("POST", &self.api("/servicekey"), Some(body))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        reply.json()["id"].as_str().unwrap().to_string()
    }

    pub async fn oct(&self, name: &str) -> String {
        self.create(json!({"name": name, "type": "oct", "size": 256, "operations": ["encrypt", "decrypt", "wrapKey", "unwrapKey"]}))
            .await
    }
}
