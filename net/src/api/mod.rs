//! The OKMS-compatible REST API.
//!
//! [`router`] builds the axum router of a node from a [`Backend`] (the node's applied key
//! store and its write path) and an [`ApiConfig`]. Every request goes through the same
//! steps:
//!
//! 1. the request layer (`observe`) picks the request id (the client's `x-request-id` if it
//!    is safe to echo, else a new UUID), and afterwards renders errors as the OKMS body,
//!    counts the request in [`Metrics`] and writes its [`AuditLine`];
//! 2. `context`: authentication (`auth`: client certificate or bearer token → credential
//!    → identities), the caller's rate limit, the ids of the path, the domain check;
//! 3. the query string and JSON body (`extract`), refused with the OKMS body when bad;
//! 4. IAM: the domain's policies decide on the OKMS action and resource URN, deny by default;
//! 5. the operation, on the local applied state for queries and through the replicated log
//!    for writes (`node`), answered with OKMS's status codes.
//!
//! Cairn's own OpenAPI description is `openapi.yaml` beside this file, served at
//! `/api/openapi.yaml`.

pub mod admin;
pub mod audit;
mod auth;
pub mod backend;
pub mod config;
pub mod connection;
mod context;
pub mod error;
mod extract;
mod handlers;
pub mod memory;
pub mod metrics;
mod node;
mod observe;
pub mod rate_limit;
mod rng;
mod routes;

pub use admin::{AdminConfig, ClusterStatus, Issuer, OperatorToken};
pub use audit::{AUDIT_TARGET, AuditLine, AuditSink, MemoryAudit, TracingAudit};
pub use backend::Backend;
pub use config::{ApiConfig, DEFAULT_BODY_LIMIT, RateLimit, system_clock};
pub use connection::{ClientCertificate, ClientConnection};
pub use error::ApiError;
pub use handlers::system::OPENAPI_YAML;
pub use metrics::Metrics;
pub use observe::{REQUEST_ID, SYSTEM_ROUTES};
pub use routes::{endpoints, router};
