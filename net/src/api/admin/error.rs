//! The errors of the admin API, in the same OKMS error body as the key API's.
//!
//! Most are the key API's own ([`ApiError`]: bad input, unknown domain, read-only, …). The
//! few that only the admin API has get codes of their own in the layout of
//! [`crate::api::error`], with application codes from `0x140` up so that they never collide
//! with the key API's (`0x101`…).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cairn_core::Error;
use cairn_core::error::{Category, ErrorCode, Major, minor};

use super::issuer::IssuerError;
use crate::api::error::{ApiError, ErrorReport};

const fn rest(category: Category, app: u16) -> ErrorCode {
    ErrorCode::new(Major::Rest, minor::REST_SERVICE_KEYS, category, app)
}

/// The admin API is off on this node (no `AdminConfig`).
pub const ADMIN_DISABLED: ErrorCode = rest(Category::NotFound, 0x140);
/// The node's backend reports no cluster status.
pub const STATUS_UNAVAILABLE: ErrorCode = rest(Category::Unavailable, 0x141);

/// Everything an admin request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The key API's errors, which the admin API shares.
    #[error(transparent)]
    Api(#[from] ApiError),

    /// The node has no admin configuration: the routes answer as if they did not exist, and
    /// before any authentication, so that a node without operators does no work for them.
    #[error("no such endpoint: the admin API is not enabled on this node")]
    Disabled,

    /// The backend has no status to give (it is not a replicated node).
    #[error("cluster status unavailable: this node's backend does not report one")]
    StatusUnavailable,
}

impl From<Error> for AdminError {
    fn from(e: Error) -> Self {
        AdminError::Api(ApiError::Core(e))
    }
}

impl From<IssuerError> for AdminError {
    /// Issuance errors are bad input (the request's days, common name or CSR), except a
    /// failure to sign, which is the node's.
    fn from(e: IssuerError) -> Self {
        let core = match &e {
            IssuerError::Days(_) => Error::invalid("days", e.to_string()),
            IssuerError::CommonName => Error::invalid("name", e.to_string()),
            IssuerError::Csr(reason) => Error::invalid("csr", reason.clone()),
            IssuerError::BadCaCertificate
            | IssuerError::NotCa
            | IssuerError::BadCaKey(_)
            | IssuerError::KeyMismatch
            | IssuerError::Signing(_) => Error::Internal(e.to_string()),
        };
        core.into()
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, code) = match self {
            AdminError::Api(e) => return e.into_response(),
            AdminError::Disabled => (StatusCode::NOT_FOUND, ADMIN_DISABLED),
            AdminError::StatusUnavailable => (StatusCode::SERVICE_UNAVAILABLE, STATUS_UNAVAILABLE),
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(ErrorReport {
            code,
            message: self.to_string(),
            retry_after: None,
        });
        response
    }
}
