//! The route table and the router built from it.
//!
//! One table lists every endpoint; the router is built from it and [`endpoints`] reports
//! it, so the OpenAPI test can check the description against exactly what is served.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{MethodFilter, MethodRouter, on};
use cairn_core::iam::Region;

use super::admin;
use super::backend::Backend;
use super::config::ApiConfig;
use super::handlers::{crypto, keys, system};
use super::node::{App, AppState};
use super::observe::observe;
use super::rate_limit::RateLimiter;

/// The key API under `/api/{okmsId}/v1` (and, for the legacy paths, under `/v1`).
#[derive(Clone, Copy, Debug)]
enum Endpoint {
    Create,
    List,
    Get,
    Patch,
    Delete,
    Activate,
    Deactivate,
    Encrypt,
    Decrypt,
    DataKey,
    DataKeyDecrypt,
    Sign,
    Verify,
    Random,
}

const KEY_ENDPOINTS: [(&str, &str, Endpoint); 14] = [
    ("POST", "/servicekey", Endpoint::Create),
    ("GET", "/servicekey", Endpoint::List),
    ("GET", "/servicekey/{keyId}", Endpoint::Get),
    ("PATCH", "/servicekey/{keyId}", Endpoint::Patch),
    ("DELETE", "/servicekey/{keyId}", Endpoint::Delete),
    ("POST", "/servicekey/{keyId}/activate", Endpoint::Activate),
    (
        "POST",
        "/servicekey/{keyId}/deactivate",
        Endpoint::Deactivate,
    ),
    ("POST", "/servicekey/{keyId}/encrypt", Endpoint::Encrypt),
    ("POST", "/servicekey/{keyId}/decrypt", Endpoint::Decrypt),
    ("POST", "/servicekey/{keyId}/datakey", Endpoint::DataKey),
    (
        "POST",
        "/servicekey/{keyId}/datakey/decrypt",
        Endpoint::DataKeyDecrypt,
    ),
    ("POST", "/servicekey/{keyId}/sign", Endpoint::Sign),
    ("POST", "/servicekey/{keyId}/verify", Endpoint::Verify),
    ("GET", "/random", Endpoint::Random),
];

/// The prefixes the key API is served under: OKMS's, and the legacy one whose domain is the
/// caller's credential's.
const KEY_PREFIXES: [&str; 2] = ["/api/{okmsId}/v1", "/v1"];

/// The unauthenticated routes.
const SYSTEM_ENDPOINTS: [(&str, &str); 4] = [
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/metrics"),
    ("GET", "/api/openapi.yaml"),
];

fn filter(method: &str) -> MethodFilter {
    match method {
        "GET" => MethodFilter::GET,
        "POST" => MethodFilter::POST,
        "PATCH" => MethodFilter::PATCH,
        "DELETE" => MethodFilter::DELETE,
        other => unreachable!("no route uses {other}"),
    }
}

fn handler<B: Backend>(method: &str, endpoint: Endpoint) -> MethodRouter<AppState<B>> {
    let f = filter(method);
    match endpoint {
        Endpoint::Create => on(f, keys::create::<B>),
        Endpoint::List => on(f, keys::list::<B>),
        Endpoint::Get => on(f, keys::get::<B>),
        Endpoint::Patch => on(f, keys::patch::<B>),
        Endpoint::Delete => on(f, keys::delete::<B>),
        Endpoint::Activate => on(f, keys::activate::<B>),
        Endpoint::Deactivate => on(f, keys::deactivate::<B>),
        Endpoint::Encrypt => on(f, crypto::encrypt::<B>),
        Endpoint::Decrypt => on(f, crypto::decrypt::<B>),
        Endpoint::DataKey => on(f, crypto::data_key::<B>),
        Endpoint::DataKeyDecrypt => on(f, crypto::decrypt_data_key::<B>),
        Endpoint::Sign => on(f, crypto::sign::<B>),
        Endpoint::Verify => on(f, crypto::verify::<B>),
        Endpoint::Random => on(f, crypto::random::<B>),
    }
}

/// Every method and path template served, key API and system routes alike.
pub fn endpoints() -> Vec<(&'static str, String)> {
    let mut all = Vec::new();
    for prefix in KEY_PREFIXES {
        for (method, path, _) in KEY_ENDPOINTS {
            all.push((method, format!("{prefix}{path}")));
        }
    }
    for (method, path) in SYSTEM_ENDPOINTS {
        all.push((method, path.to_string()));
    }
    all
}

/// The REST API of a node: the OKMS service-key endpoints under `/api/{okmsId}/v1/…` and
/// the legacy `/v1/…`, plus `/health`, `/ready`, `/metrics` and `/api/openapi.yaml`, and
/// the operator admin API under `/admin/v1/…` (see [`admin`]) when `config.admin` is set
/// (its paths answer 404 otherwise).
///
/// Serve it with [`crate::tls::serve`], which authenticates clients by certificate;
/// without it (a test driving the router), only bearer tokens authenticate.
///
/// # Panics
///
/// If the backend's region label is not a valid one (1 to 32 of `a-z`, `0-9`, `-`): that is
/// a configuration error to stop on at startup.
pub fn router<B: Backend>(backend: B, config: ApiConfig) -> Router {
    let region = Region::new(backend.region()).unwrap_or_else(|e| {
        panic!(
            "invalid region label {:?} for resource URNs: {e}",
            backend.region()
        )
    });
    let body_limit = config.body_limit;
    let admin_on = config.admin.is_some();
    let limiter = RateLimiter::new(config.rate_limit);
    let app: AppState<B> = Arc::new(App {
        backend,
        config,
        region,
        limiter,
    });

    let mut router = Router::new();
    for prefix in KEY_PREFIXES {
        for (method, path, endpoint) in KEY_ENDPOINTS {
            router = router.route(&format!("{prefix}{path}"), handler::<B>(method, endpoint));
        }
    }
    if admin_on {
        router = admin::routes(router);
    }
    router
        .route("/health", axum::routing::get(system::health))
        .route("/ready", axum::routing::get(system::ready::<B>))
        .route("/metrics", axum::routing::get(system::metrics::<B>))
        .route("/api/openapi.yaml", axum::routing::get(system::openapi))
        .fallback(system::not_found)
        .method_not_allowed_fallback(system::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(app.clone(), observe::<B>))
        .with_state(app)
}
