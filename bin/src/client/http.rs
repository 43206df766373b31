//! The HTTPS connection to a Cairn endpoint: hyper over rustls (ring), the server checked
//! against the profile's CA (or the system's roots), the client certificate or bearer token
//! of the profile.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::api_error::ApiFailure;
use super::config::Profile;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Long enough for an RSA-4096 key generation on a busy node.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
const REQUEST_ID: &str = "x-request-id";

/// A connection to one endpoint, with the profile's credentials.
pub struct Client {
    http: HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    endpoint: String,
    token: Option<HeaderValue>,
}

/// A successful answer.
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Reply {
    /// The body as `T`.
    pub fn json<T: DeserializeOwned>(&self) -> anyhow::Result<T> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "unexpected answer from the server (HTTP {}): {}",
                self.status,
                snippet(&self.body)
            )
        })
    }
}

/// The first part of a body, for messages.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

impl Client {
    pub fn new(profile: &Profile) -> anyhow::Result<Client> {
        let tls = tls_config(profile)?;
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
        tcp.set_nodelay(true);
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let token = profile
            .token
            .as_ref()
            .map(|t| {
                let mut value = HeaderValue::from_str(&format!("Bearer {t}"))
                    .context("the bearer token has characters a header cannot carry")?;
                value.set_sensitive(true);
                anyhow::Ok(value)
            })
            .transpose()?;
        Ok(Client {
            http: HyperClient::builder(TokioExecutor::new()).build(https),
            endpoint: profile.endpoint.clone(),
            token,
        })
    }

    /// `method path` with an optional JSON body; a 2xx answer, or an [`ApiFailure`].
    pub async fn call<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&B>,
    ) -> anyhow::Result<Reply> {
        let url = format!("{}{path_and_query}", self.endpoint);
        let mut request = Request::builder()
            .method(method.clone())
            .uri(&url)
            .header(header::ACCEPT, "application/json")
            .header(
                header::USER_AGENT,
                concat!("cairn-cli/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, token.clone());
        }
        let payload = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Bytes::from(serde_json::to_vec(body).context("cannot encode the request")?)
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(payload))
            .with_context(|| format!("invalid request URL {url}"))?;

        let exchange = async {
            let response = self.http.request(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            anyhow::Ok((parts, body))
        };
        let (parts, body) = match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                return Err(e).with_context(|| format!("{method} {url}: no answer"));
            }
            Err(_) => bail!("{method} {url}: no answer within {REQUEST_TIMEOUT:?}"),
        };
        if parts.status.is_success() {
            return Ok(Reply {
                status: parts.status,
                body,
            });
        }
        let request_id = parts
            .headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Err(ApiFailure::new(method, path_and_query, parts.status, request_id, &body).into())
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Reply> {
        self.call::<()>(Method::GET, path, None).await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<Reply> {
        self.call::<()>(Method::DELETE, path, None).await
    }

    pub async fn post<B: Serialize + ?Sized>(&self, path: &str, body: &B) -> anyhow::Result<Reply> {
        self.call(Method::POST, path, Some(body)).await
    }
}

fn tls_config(profile: &Profile) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = RootCertStore::empty();
    match &profile.ca {
        Some(path) => {
            let certs = read_certificates(path, "CA bundle")?;
            for cert in certs {
                roots
                    .add(cert)
                    .with_context(|| format!("CA bundle {}", path.display()))?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(native.certs);
            if added == 0 {
                bail!(
                    "no system CA certificates found; set `ca` in profile {:?} or CAIRN_CA",
                    profile.name
                );
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots);
    Ok(match &profile.certificate {
        Some(files) => {
            let chain = read_certificates(&files.cert, "client certificate")?;
            let pem = std::fs::read(&files.key)
                .with_context(|| format!("cannot read the private key {}", files.key.display()))?;
            // Not the parser's message: it may quote the file.
            let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|_| {
                anyhow::anyhow!(
                    "{} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)",
                    files.key.display()
                )
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .context("the client certificate and its key do not go together")?
        }
        None => builder.with_no_client_auth(),
    })
}

fn read_certificates(
    path: &std::path::Path,
    what: &str,
) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path)
        .with_context(|| format!("cannot read the {what} {}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| anyhow::anyhow!("the {what} {} is not valid PEM", path.display()))?;
    if certs.is_empty() {
        bail!("the {what} {} holds no CERTIFICATE", path.display());
    }
    Ok(certs)
}
