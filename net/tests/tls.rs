//! The real acceptor on loopback: mutual TLS with rcgen certificates, a rustls client and
//! plain HTTP/1.1 requests.

mod common;

use std::sync::Arc;
use std::time::Duration;

use cairn_net::api::{ApiConfig, MemoryAudit, router};
use cairn_net::tls::{TlsSettings, serve, server_config};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;

use common::{ADMIN, MemoryBackend, SanForm, san};

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    cert: rcgen::Certificate,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        Ca { params, key, cert }
    }

    /// A leaf certificate and its key, signed by this CA.
    fn issue(&self, params: CertificateParams) -> (rcgen::Certificate, KeyPair) {
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert, key)
    }

    fn client(&self, san: Vec<SanType>) -> (CertificateDer<'static>, KeyPair) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "access certificate");
        params.subject_alt_names = san;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let (cert, key) = self.issue(params);
        (cert.der().clone(), key)
    }
}

fn private(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

fn client_config(
    ca: &Ca,
    identity: Option<(CertificateDer<'static>, &KeyPair)>,
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.cert.der().clone()).unwrap();
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(vec![cert], private(key))
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

/// One HTTP/1.1 request over a new TLS connection: the status code, or the I/O error.
async fn request(
    addr: std::net::SocketAddr,
    config: Arc<ClientConfig>,
    path: &str,
    bearer: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let tcp = TcpStream::connect(addr).await?;
    let connector = TlsConnector::from(config);
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n");
    tls.write_all(head.as_bytes()).await?;
    let mut response = Vec::new();
    tls.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no HTTP response: {text:?}")))?;
    Ok((status, text))
}

#[tokio::test]
async fn mutual_tls_end_to_end() {
    let backend = MemoryBackend::new(9);
    let domain = backend.create_domain();
    backend.put_policy(
        domain,
        serde_json::json!({
            "name": "admin",
            "identities": [ADMIN],
            "statements": [{"effect": "allow", "actions": ["okms:apikms:*"], "resources": ["*"]}],
        }),
    );

    let ca = Ca::new("cairn test CA");
    let mut server_params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    server_params
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let (server_cert, server_key) = ca.issue(server_params);
    let (client_cert, client_key) = ca.client(vec![san(domain, SanForm::Upn)]);
    backend.add_certificate(domain, client_cert.as_ref(), &[ADMIN], None);
    let (_, token) = backend.add_token(domain, &[ADMIN]);

    // A client certificate from another CA, bound to a credential all the same: TLS refuses it.
    let rogue_ca = Ca::new("rogue CA");
    let (rogue_cert, rogue_key) = rogue_ca.client(vec![san(domain, SanForm::Upn)]);
    backend.add_certificate(domain, rogue_cert.as_ref(), &[ADMIN], None);

    // Through PEM, as the node reads its files.
    let settings = TlsSettings::from_pem(
        server_cert.pem().as_bytes(),
        server_key.serialize_pem().as_bytes(),
        ca.cert.pem().as_bytes(),
    );
    let settings = match settings {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let tls = server_config(&settings).unwrap();
    let audit = Arc::new(MemoryAudit::new());
    let app = router(
        backend.clone(),
        ApiConfig {
            audit: audit.clone(),
            ..ApiConfig::default()
        },
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, tls, app, async {
        let _ = stopped.await;
    }));

    let random = format!("/api/{domain}/v1/random?length=8");
    let with_cert = client_config(&ca, Some((client_cert.clone(), &client_key)));
    let (status, text) = request(addr, with_cert.clone(), &random, None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(text.to_lowercase().contains("x-request-id:"), "{text}");
    let (status, _) = request(addr, with_cert.clone(), "/v1/random", None)
        .await
        .unwrap();
    assert_eq!(status, 200, "legacy path, domain from the certificate");

    // No certificate: a bearer token works, nothing at all does not.
    let anonymous = client_config(&ca, None);
    let (status, _) = request(addr, anonymous.clone(), &random, Some(token.expose()))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let (status, text) = request(addr, anonymous.clone(), &random, None)
        .await
        .unwrap();
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("\"error_code\""), "{text}");
    let (status, _) = request(addr, anonymous.clone(), "/health", None)
        .await
        .unwrap();
    assert_eq!(status, 200);

    // A certificate of another CA never reaches the API.
    // The client trusts our server; only its certificate is at fault.
    let rogue = client_config(&ca, Some((rogue_cert, &rogue_key)));
    let refused =
        tokio::time::timeout(Duration::from_secs(10), request(addr, rogue, &random, None))
            .await
            .expect("the server answers the handshake promptly");
    assert!(refused.is_err(), "{refused:?}");

    // The audit lines name the client address and the certificate.
    let lines = audit.lines();
    let with_certificate = lines
        .iter()
        .find(|l| l.certificate_sha256.is_some())
        .expect("a request with a certificate");
    assert!(
        with_certificate
            .client
            .as_deref()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert_eq!(with_certificate.status, 200);
    assert_eq!(
        lines.len(),
        4,
        "health is not audited; the rogue never got in"
    );

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(15), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}

#[test]
fn bad_pem_is_refused_without_quoting_it() {
    let err = TlsSettings::from_pem(b"nothing", b"-----BEGIN PRIVATE KEY-----\nsecret!!\n", b"")
        .unwrap_err()
        .to_string();
    assert!(!err.contains("secret"), "{err}");
    assert!(!err.contains("nothing"), "{err}");
}
