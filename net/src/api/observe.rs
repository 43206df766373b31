//! The layer around every request: request id, OKMS error bodies, metrics, audit line.
//!
//! It runs after routing, so it knows the route template. Handlers add what they learn (who
//! the caller is, the IAM action and decision) to the request's [`Scope`]; when the response
//! comes back this layer renders an error body if the handler reported one, stamps the
//! `x-request-id` header, counts the request and writes its audit line.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use cairn_core::{ErrorBody, Timestamp};

use super::audit::AuditLine;
use super::backend::Backend;
use super::connection::ClientConnection;
use super::error::{self, ErrorReport};
use super::node::AppState;
use super::rng;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Longest client-chosen request id echoed back.
const REQUEST_ID_MAX: usize = 128;

/// Routes that are neither audited nor authenticated: probes, metrics, the description.
pub const SYSTEM_ROUTES: [&str; 4] = ["/health", "/ready", "/metrics", "/api/openapi.yaml"];

/// What a request has told about itself so far: the audit line being built.
#[derive(Clone, Debug)]
pub(crate) struct Scope(Arc<Mutex<AuditLine>>);

impl Scope {
    pub fn update(&self, f: impl FnOnce(&mut AuditLine)) {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn take(&self) -> AuditLine {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A client's request id, if it is one we can echo safely: 1 to 128 of `A-Z a-z 0-9 . _ -`
/// (a UUID fits; nothing that could break a log line or a header does).
fn client_request_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(&REQUEST_ID)?.to_str().ok()?;
    let ok = !value.is_empty()
        && value.len() <= REQUEST_ID_MAX
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    ok.then(|| value.to_string())
}

pub(crate) async fn observe<B: Backend>(
    State(app): State<AppState<B>>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = tokio::time::Instant::now();
    let request_id =
        client_request_id(request.headers()).unwrap_or_else(|| rng::uuid(&app.backend).to_string());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    let connection = request.extensions().get::<ClientConnection>().cloned();
    let method = method_label(request.method());
    let scope = Scope(Arc::new(Mutex::new(AuditLine {
        time: rfc3339_millis((app.config.clock)()),
        request_id: request_id.clone(),
        method: method.clone(),
        path: request.uri().path().to_string(),
        route: route.clone(),
        client: connection.as_ref().map(|c| c.remote.to_string()),
        certificate_sha256: connection
            .as_ref()
            .and_then(|c| c.certificate.as_ref())
            .map(|c| c.sha256_hex()),
        ..AuditLine::default()
    })));
    request.extensions_mut().insert(scope.clone());

    let mut response = next.run(request).await;

    let status = response.status();
    let report = response.extensions_mut().remove::<ErrorReport>();
    let report = match report {
        Some(report) => Some(report),
        // Some layer answered an error on its own: keep even that in the OKMS shape.
        None if status.is_client_error() || status.is_server_error() => Some(unreported(status)),
        None => None,
    };
    if let Some(report) = &report {
        render_error(&app, &mut response, report, &request_id);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }

    let elapsed = started.elapsed();
    app.config
        .metrics
        .observe(&route, &method, status.as_u16(), elapsed);
    if !SYSTEM_ROUTES.contains(&route.as_str()) {
        let mut line = scope.take();
        line.status = status.as_u16();
        line.error_code = report.as_ref().map(|r| r.code.0);
        line.duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        app.config.audit.record(&line);
    }
    response
}

/// The method as metrics and the audit log name it: one of the standard methods, or
/// `OTHER`, so that a client inventing methods cannot create new metric series.
pub(crate) fn method_label(method: &Method) -> String {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    if KNOWN.contains(method) {
        method.as_str().to_string()
    } else {
        "OTHER".to_string()
    }
}

/// RFC 3339 with milliseconds, so that audit lines of one second keep their order.
fn rfc3339_millis(time: Timestamp) -> String {
    let seconds = time.to_rfc3339();
    match seconds.strip_suffix('Z') {
        Some(base) => format!("{base}.{:03}Z", time.as_millis() % 1000),
        None => seconds,
    }
}

fn unreported(status: StatusCode) -> ErrorReport {
    let code = match status.as_u16() {
        404 => error::ROUTE_NOT_FOUND,
        405 => error::METHOD_NOT_ALLOWED,
        413 => error::PAYLOAD_TOO_LARGE,
        _ => error::UNREPORTED,
    };
    ErrorReport {
        code,
        message: status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase(),
        retry_after: None,
    }
}

fn render_error<B: Backend>(
    app: &AppState<B>,
    response: &mut Response,
    report: &ErrorReport,
    request_id: &str,
) {
    let body = ErrorBody {
        error_id: rng::uuid(&app.backend).to_string(),
        error_code: report.code.0,
        errors: vec![report.message.clone()],
        request_id: request_id.to_string(),
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let status = response.status();
    let headers = response.headers_mut();
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"cairn\""),
        );
    }
    if let Some(wait) = report.retry_after {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
    *response.body_mut() = Body::from(json);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids() {
        let mut headers = HeaderMap::new();
        assert_eq!(client_request_id(&headers), None);
        headers.insert(
            REQUEST_ID,
            HeaderValue::from_static("79b66eba-273e-4f7a-b954-78ed7e70b85d"),
        );
        assert_eq!(
            client_request_id(&headers).as_deref(),
            Some("79b66eba-273e-4f7a-b954-78ed7e70b85d")
        );
        for bad in ["", "a b", "a\"b", "{x}"] {
            headers.insert(REQUEST_ID, HeaderValue::from_str(bad).unwrap());
            assert_eq!(client_request_id(&headers), None, "{bad:?}");
        }
        headers.insert(REQUEST_ID, HeaderValue::from_str(&"a".repeat(129)).unwrap());
        assert_eq!(client_request_id(&headers), None);
    }

    #[test]
    fn labels_and_times() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "OTHER");
        assert_eq!(
            rfc3339_millis(Timestamp::from_millis(1_795_878_491_042)),
            "2026-11-28T15:08:11.042Z"
        );
    }
}
