//! The unauthenticated routes, kept to what probes and scrapers need: liveness, readiness,
//! metrics and the API description. None of them touches a key, a credential or a policy.
//! Also the answers for unknown paths and methods.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_core::Error;
use serde_json::json;

use super::json;
use crate::api::backend::Backend;
use crate::api::error::ApiError;
use crate::api::node::AppState;
use crate::api::observe::method_label;

/// Cairn's OpenAPI description, as served at `/api/openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../openapi.yaml");

/// `GET /health`: the process answers.
pub(crate) async fn health() -> Response {
    json(StatusCode::OK, json!({"status": "ok"}))
}

/// `GET /ready`: whether the node can serve (the runtime's readiness hook).
pub(crate) async fn ready<B: Backend>(State(app): State<AppState<B>>) -> Response {
    match (app.config.readiness)() {
        Ok(()) => json(StatusCode::OK, json!({"status": "ready"})),
        Err(reason) => ApiError::Core(Error::Unavailable(reason)).into_response(),
    }
}

/// `GET /metrics`: the whole registry in the OpenMetrics text format.
pub(crate) async fn metrics<B: Backend>(State(app): State<AppState<B>>) -> Response {
    let mut response = app.config.metrics.encode().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// `GET /api/openapi.yaml`.
pub(crate) async fn openapi() -> Response {
    let mut response = OPENAPI_YAML.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml"),
    );
    response
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::RouteNotFound
}

pub(crate) async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method_label(request.method()),
    }
}
