//! A small HTTPS client with the administrator's certificate: one request per connection
//! (HTTP/1.1, `Connection: close`), so that a killed node shows up as a failed request and
//! never as a stale pooled connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Every request gives up after this long: a hung node must fail the test, not stall it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Client {
    pub config: Arc<ClientConfig>,
    pub domain: String,
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Value,
}

impl Client {
    pub fn new(ca: &[u8], cert: &[u8], key: &[u8], domain: String) -> anyhow::Result<Client> {
        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(ca) {
            roots.add(c?)?;
        }
        let chain = CertificateDer::pem_slice_iter(cert).collect::<Result<Vec<_>, _>>()?;
        let key = PrivateKeyDer::from_pem_slice(key)?;
        let config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_root_certificates(roots)
                .with_client_auth_cert(chain, key)?;
        Ok(Client {
            config: Arc::new(config),
            domain,
        })
    }

    pub async fn request(
        &self,
        addr: SocketAddr,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Response> {
        tokio::time::timeout(
            REQUEST_TIMEOUT,
            self.request_inner(addr, method, path, body),
        )
        .await
        .with_context(|| format!("{method} {path} on {addr} timed out"))?
    }

    async fn request_inner(
        &self,
        addr: SocketAddr,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Response> {
        let tcp = TcpStream::connect(addr).await?;
        let mut tls = TlsConnector::from(self.config.clone())
            .connect(ServerName::try_from(addr.ip().to_string())?, tcp)
            .await?;
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        tls.write_all(head.as_bytes()).await?;
        tls.write_all(body.as_bytes()).await?;
        let mut raw = Vec::new();
        // A peer that closes without close_notify still gave us the whole response.
        if let Err(e) = tls.read_to_end(&mut raw).await
            && raw.is_empty()
        {
            return Err(e.into());
        }
        let text = String::from_utf8_lossy(&raw);
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            bail!("no HTTP response from {addr}: {text:?}");
        };
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("no status line from {addr}: {head:?}"))?;
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_string()
        };
        let body = if body.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&body).unwrap_or(Value::String(body))
        };
        Ok(Response { status, body })
    }

    /// `POST /api/{domain}/v1/servicekey`: a new AES-256 key; its id.
    pub async fn create_key(&self, addr: SocketAddr, name: &str) -> anyhow::Result<Response> {
        let body = serde_json::json!({
            "name": name, "type": "oct", "size": 256, "operations": ["encrypt", "decrypt"],
        });
        self.request(addr, "POST", &self.keys_path(), Some(&body))
            .await
    }

    pub fn keys_path(&self) -> String {
        format!("/api/{}/v1/servicekey", self.domain)
    }

    /// Every key id `addr` lists (all states), following the continuation tokens.
    pub async fn list_ids(
        &self,
        addr: SocketAddr,
    ) -> anyhow::Result<std::collections::BTreeSet<String>> {
        let mut ids = std::collections::BTreeSet::new();
        let mut token: Option<String> = None;
        loop {
            let mut path = format!("{}?state=all&max=100", self.keys_path());
            if let Some(t) = &token {
                path.push_str(&format!("&continuation-token={t}"));
            }
            let r = self.request(addr, "GET", &path, None).await?;
            if r.status != 200 {
                bail!("listing keys on {addr}: {} {}", r.status, r.body);
            }
            for k in r.body["objects_list"].as_array().into_iter().flatten() {
                ids.insert(k["id"].as_str().unwrap_or_default().to_string());
            }
            if r.body["is_truncated"] != Value::Bool(true) {
                return Ok(ids);
            }
            token = r.body["continuation_token"].as_str().map(str::to_string);
        }
    }

    pub async fn get_key(&self, addr: SocketAddr, id: &str) -> anyhow::Result<Response> {
        self.request(addr, "GET", &format!("{}/{id}", self.keys_path()), None)
            .await
    }

    pub async fn encrypt(
        &self,
        addr: SocketAddr,
        id: &str,
        plaintext_b64: &str,
    ) -> anyhow::Result<Response> {
        let body = serde_json::json!({ "plaintext": plaintext_b64 });
        self.key_operation(addr, id, "encrypt", &body).await
    }

    pub async fn decrypt(
        &self,
        addr: SocketAddr,
        id: &str,
        ciphertext: &str,
    ) -> anyhow::Result<Response> {
        let body = serde_json::json!({ "ciphertext": ciphertext });
        self.key_operation(addr, id, "decrypt", &body).await
    }

    /// `POST /api/{domain}/v1/servicekey/{id}/{operation}`.
    async fn key_operation(
        &self,
        addr: SocketAddr,
        id: &str,
        operation: &str,
        body: &Value,
    ) -> anyhow::Result<Response> {
        let path = format!("{}/{id}/{operation}", self.keys_path());
        self.request(addr, "POST", &path, Some(body)).await
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}
