//! The errors of the HTTP layer, and how every one of them becomes the OKMS error body.
//!
//! Most errors are the core's [`Error`]: its status and `error_code` are the API's. The few
//! that only exist at the HTTP level (rate limit, oversized body, unknown route, wrong method,
//! a credential used on another domain's path) get codes of their own with the REST major, in
//! the same layout (`error_code` bits: major, minor, category, application code), with
//! application codes from `0x100` up so that they never collide with the core's.
//!
//! A handler cannot know the request id, so an error response leaves the handler as a status
//! and an [`ErrorReport`] extension; the request layer (`observe`) turns it into the
//! body, with a fresh `error_id`, and the request id it chose.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cairn_core::error::{Category, ErrorCode, Major, minor};
use cairn_core::{DomainId, Error};

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The core's errors, bad input included.
    #[error(transparent)]
    Core(#[from] Error),

    /// The caller's token bucket is empty.
    #[error("too many requests: retry in {} s", retry_after.as_secs().max(1))]
    TooManyRequests { retry_after: Duration },

    /// The body is longer than the configured limit.
    #[error("request body too large: the limit is {limit} bytes")]
    PayloadTooLarge { limit: usize },

    /// No endpoint has this path.
    #[error("no such endpoint: see /api/openapi.yaml for the endpoints Cairn serves")]
    RouteNotFound,

    /// The path exists but not with this method.
    #[error("method {method} is not allowed on this endpoint")]
    MethodNotAllowed { method: String },

    /// An authenticated caller addressed a domain its credential does not belong to.
    #[error("access denied: the credential belongs to domain {own}, not to domain {requested}")]
    OtherDomain { own: DomainId, requested: DomainId },
}

const fn rest(category: Category, app: u16) -> ErrorCode {
    ErrorCode::new(Major::Rest, minor::REST_SERVICE_KEYS, category, app)
}

pub const TOO_MANY_REQUESTS: ErrorCode = rest(Category::TooManyRequests, 0x101);
pub const PAYLOAD_TOO_LARGE: ErrorCode = rest(Category::BadArgument, 0x102);
pub const ROUTE_NOT_FOUND: ErrorCode = rest(Category::NotFound, 0x103);
pub const METHOD_NOT_ALLOWED: ErrorCode = rest(Category::Argument, 0x104);
pub const OTHER_DOMAIN: ErrorCode = rest(Category::Authorization, 0x105);
/// For an error response that some layer produced without a report (should not happen:
/// every error path of ours makes one; this keeps even a surprise in the OKMS shape).
pub const UNREPORTED: ErrorCode = rest(Category::Internal, 0x106);

impl ApiError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Core(e) => e.code(),
            ApiError::TooManyRequests { .. } => TOO_MANY_REQUESTS,
            ApiError::PayloadTooLarge { .. } => PAYLOAD_TOO_LARGE,
            ApiError::RouteNotFound => ROUTE_NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => METHOD_NOT_ALLOWED,
            ApiError::OtherDomain { .. } => OTHER_DOMAIN,
        }
    }

    pub fn status(&self) -> StatusCode {
        let status = match self {
            ApiError::Core(e) => e.http_status(),
            ApiError::TooManyRequests { .. } => 429,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::RouteNotFound => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::OtherDomain { .. } => 403,
        };
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// What the request layer needs to write an error body. The message never holds secrets:
/// core messages are written that way, and ours quote at most the names of fields, query
/// parameters and methods the client sent, never a value.
#[derive(Clone, Debug)]
pub struct ErrorReport {
    pub code: ErrorCode,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after } => Some(*retry_after),
            _ => None,
        };
        response.extensions_mut().insert(ErrorReport {
            code: self.code(),
            message: self.to_string(),
            retry_after,
        });
        response
    }
}

/// Bad input as the core words it: `invalid <field>: <reason>`.
pub fn invalid(field: &str, reason: impl Into<String>) -> ApiError {
    ApiError::Core(Error::invalid(field, reason.into()))
}
