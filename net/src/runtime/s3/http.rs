//! The HTTP client that `object_store` talks to S3 through: hyper over rustls with the ring
//! provider, the same TLS stack as the rest of Cairn. `object_store`'s own client is reqwest,
//! which would bring a second TLS stack and aws-lc into the build for one feature.
//!
//! `object_store` retries and backs off by itself; this client only moves bytes, classifies
//! failures so that the retry logic can tell a refused connection from a bad answer, and
//! bounds each request by a deadline.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::rt::TokioExecutor;
use object_store::ClientOptions;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpRequestBody,
    HttpResponse, HttpResponseBody, HttpService,
};

/// Builds [`HyperService`]s for `object_store`.
#[derive(Clone, Debug)]
pub(super) struct HyperConnector {
    pub tls: Arc<rustls::ClientConfig>,
    pub allow_http: bool,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl HttpConnector for HyperConnector {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(self.connect_timeout));
        tcp.set_nodelay(true);
        let builder = HttpsConnectorBuilder::new().with_tls_config((*self.tls).clone());
        // An endpoint given as http:// is refused unless plain HTTP was asked for (tests
        // against a local server): backups are encrypted, but credentials are signed into
        // every request and the listing would be readable on the wire.
        let https = if self.allow_http {
            builder.https_or_http()
        } else {
            builder.https_only()
        }
        .enable_http1()
        .enable_http2()
        .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Ok(HttpClient::new(HyperService {
            client,
            timeout: self.request_timeout,
        }))
    }
}

/// One pooled hyper client.
#[derive(Debug)]
struct HyperService {
    client: Client<HttpsConnector<TcpConnector>, HttpRequestBody>,
    timeout: Duration,
}

#[async_trait::async_trait]
impl HttpService for HyperService {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let exchange = async {
            let response = self.client.request(request).await.map_err(classify)?;
            let (parts, body) = response.into_parts();
            // Read whole: backup objects are read whole by the sink anyway, and a body that
            // fails half-way is then one retryable error rather than a broken stream.
            let body = body
                .collect()
                .await
                .map_err(|e| HttpError::new(HttpErrorKind::Interrupted, e))?
                .to_bytes();
            Ok(HttpResponse::from_parts(
                parts,
                HttpResponseBody::from(body),
            ))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(HttpError::new(
                HttpErrorKind::Timeout,
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no complete answer within {:?}", self.timeout),
                ),
            )),
        }
    }
}

/// Tells `object_store` which failures it may retry (as its own reqwest client does):
/// connections that could not be made and requests that were never sent, always; requests
/// cut off half-way, when idempotent. A refused TLS handshake is not retried: a certificate
/// the endpoint's CA does not sign will not be fixed by retrying.
fn classify(e: hyper_util::client::legacy::Error) -> HttpError {
    let kind = if tls_refused(&e) {
        HttpErrorKind::Unknown
    } else if e.is_connect() {
        HttpErrorKind::Connect
    } else {
        refine(&e)
    };
    HttpError::new(kind, e)
}

fn refine(e: &(dyn std::error::Error + 'static)) -> HttpErrorKind {
    let mut next = e.source();
    while let Some(e) = next {
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_closed() || h.is_incomplete_message() || h.is_body_write_aborted() {
                return HttpErrorKind::Request;
            }
            if h.is_timeout() {
                return HttpErrorKind::Timeout;
            }
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            match io.kind() {
                io::ErrorKind::TimedOut => return HttpErrorKind::Timeout,
                io::ErrorKind::ConnectionAborted
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof => return HttpErrorKind::Interrupted,
                _ => {}
            }
        }
        next = e.source();
    }
    HttpErrorKind::Unknown
}

fn tls_refused(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if e.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        // `io::Error::source` skips the error it wraps; `get_ref` is the way in.
        next = match e.downcast_ref::<io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    false
}
