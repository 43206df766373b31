//! The endpoint handlers: key management, cryptographic operations, and the few
//! unauthenticated system routes.

pub(crate) mod crypto;
pub(crate) mod keys;
pub(crate) mod system;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A JSON answer with `status`.
pub(crate) fn json<T: Serialize>(status: StatusCode, body: T) -> Response {
    (status, Json(body)).into_response()
}
