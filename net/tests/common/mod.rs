//! The in-memory backend and the helpers the API tests share.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request};
use cairn_core::crypto::hierarchy::RootKey;
use cairn_core::iam::{Binding, Credential, IdentityUrn, Policy, SecretToken, Token};
use cairn_core::replication::Index;
use cairn_core::store::{Applied, Command, KeyStore, Outcome};
use cairn_core::{CredentialId, DomainId, Error, PolicyId, Timestamp};
use cairn_net::api::{
    ApiConfig, Backend, ClientCertificate, ClientConnection, MemoryAudit, Metrics, router,
    system_clock,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng, TryCryptoRng, TryRng};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const REGION: &str = "eu";

/// A single key store behind a lock: writes are applied at once with increasing indexes.
///
/// It can also play a follower that is behind: commands given to [`MemoryBackend::lag`]
/// are committed elsewhere but applied here only at the next barrier.
#[derive(Clone)]
pub struct MemoryBackend {
    inner: Arc<Inner>,
}

struct Inner {
    store: RwLock<KeyStore>,
    index: Mutex<Index>,
    rng: Mutex<ChaCha20Rng>,
    read_only: AtomicBool,
    lagging: Mutex<Vec<Command>>,
    barriers: AtomicUsize,
    writes: AtomicUsize,
}

/// The shared generator as an RNG for blocking preparations.
struct SharedRng(Arc<Inner>);

impl TryRng for SharedRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.0.rng.lock().unwrap().next_u32())
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.0.rng.lock().unwrap().next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.rng.lock().unwrap().fill_bytes(dst);
        Ok(())
    }
}

impl TryCryptoRng for SharedRng {}

impl MemoryBackend {
    pub fn new(seed: u64) -> Self {
        MemoryBackend {
            inner: Arc::new(Inner {
                store: RwLock::new(KeyStore::new(RootKey::from_bytes(&[7; 32]))),
                index: Mutex::new(0),
                rng: Mutex::new(ChaCha20Rng::seed_from_u64(seed)),
                read_only: AtomicBool::new(false),
                lagging: Mutex::new(Vec::new()),
                barriers: AtomicUsize::new(0),
                writes: AtomicUsize::new(0),
            }),
        }
    }

    /// Applies `command` as the next log entry, now.
    pub fn apply(&self, command: &Command) -> (Index, Outcome) {
        let mut store = self.inner.store.write().unwrap();
        let mut index = self.inner.index.lock().unwrap();
        *index += 1;
        let outcome = store.apply(*index, system_clock(), command);
        (*index, outcome)
    }

    /// A command committed by the cluster that this node has not applied yet.
    pub fn lag(&self, command: Command) {
        self.inner.lagging.lock().unwrap().push(command);
    }

    /// Makes writes fail as when a zone is down.
    pub fn set_read_only(&self, read_only: bool) {
        self.inner.read_only.store(read_only, Ordering::SeqCst);
    }

    pub fn barriers(&self) -> usize {
        self.inner.barriers.load(Ordering::SeqCst)
    }

    pub fn writes(&self) -> usize {
        self.inner.writes.load(Ordering::SeqCst)
    }

    pub fn applied_index(&self) -> u64 {
        self.inner.store.read().unwrap().state().applied_index()
    }

    fn rng(&self) -> std::sync::MutexGuard<'_, ChaCha20Rng> {
        self.inner.rng.lock().unwrap()
    }

    pub fn create_domain(&self) -> DomainId {
        let id = DomainId::random(&mut *self.rng());
        let command = self
            .read(|s| s.prepare_domain(id, &mut *self.rng()))
            .unwrap();
        assert_eq!(self.apply(&command).1, Ok(Applied::DomainCreated(id)));
        id
    }

    fn add_credential(
        &self,
        domain: DomainId,
        id: CredentialId,
        binding: Binding,
        identities: &[&str],
        not_after: Option<Timestamp>,
    ) -> CredentialId {
        let created = system_clock().saturating_sub(std::time::Duration::from_secs(3600));
        let credential = Credential {
            id,
            name: "test".into(),
            identities: identities
                .iter()
                .map(|i| IdentityUrn::new(*i).unwrap())
                .collect(),
            binding,
            created,
            not_after,
            revoked: None,
        };
        let command = self
            .read(|s| s.prepare_credential(domain, credential))
            .unwrap();
        assert!(matches!(
            self.apply(&command).1,
            Ok(Applied::CredentialCreated { .. })
        ));
        id
    }

    pub fn add_certificate(
        &self,
        domain: DomainId,
        der: &[u8],
        identities: &[&str],
        not_after: Option<Timestamp>,
    ) -> CredentialId {
        let id = CredentialId::random(&mut *self.rng());
        self.add_credential(domain, id, Binding::certificate(der), identities, not_after)
    }

    pub fn add_token(&self, domain: DomainId, identities: &[&str]) -> (CredentialId, SecretToken) {
        let id = CredentialId::random(&mut *self.rng());
        let (token, binding) = Token::generate(id, &mut *self.rng());
        self.add_credential(domain, id, binding, identities, None);
        (id, token)
    }

    pub fn revoke(&self, domain: DomainId, credential: CredentialId) {
        let (_, outcome) = self.apply(&Command::RevokeCredential { domain, credential });
        assert!(outcome.is_ok());
    }

    /// Stores a policy given as JSON without its id.
    pub fn put_policy(&self, domain: DomainId, spec: Value) -> PolicyId {
        let id = PolicyId::random(&mut *self.rng());
        let mut policy = spec;
        policy["id"] = json!(id.to_string());
        let policy: Policy = serde_json::from_value(policy).unwrap();
        let command = self.read(|s| s.prepare_policy(domain, policy)).unwrap();
        assert!(self.apply(&command).1.is_ok());
        id
    }
}

impl Backend for MemoryBackend {
    fn read<R>(&self, f: impl FnOnce(&KeyStore) -> R) -> R {
        f(&self.inner.store.read().unwrap())
    }

    fn blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn cairn_core::CryptoRng) -> R + Send + 'static,
    ) -> impl Future<Output = R> + Send {
        let inner = self.inner.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut rng = SharedRng(inner);
                f(&mut rng)
            })
            .await
            .expect("blocking work panicked")
        }
    }

    fn fill_random(&self, buf: &mut [u8]) {
        self.rng().fill_bytes(buf);
    }

    fn write(
        &self,
        command: Command,
    ) -> impl Future<Output = Result<(Index, Outcome), Error>> + Send {
        let this = self.clone();
        async move {
            if this.inner.read_only.load(Ordering::SeqCst) {
                return Err(Error::Unavailable("zone b is unavailable".into()));
            }
            this.inner.writes.fetch_add(1, Ordering::SeqCst);
            Ok(this.apply(&command))
        }
    }

    fn barrier(&self) -> impl Future<Output = ()> + Send {
        let this = self.clone();
        async move {
            this.inner.barriers.fetch_add(1, Ordering::SeqCst);
            let pending = std::mem::take(&mut *this.inner.lagging.lock().unwrap());
            for command in pending {
                let (_, outcome) = this.apply(&command);
                assert!(outcome.is_ok(), "{outcome:?}");
            }
        }
    }

    fn region(&self) -> &str {
        REGION
    }
}

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
