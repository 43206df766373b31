//! The operator admin API, under `/admin/v1`: cluster status, and the domains, credentials
//! and policies that the key API itself cannot create.
//!
//! It is off unless the node is given an [`AdminConfig`] (`ApiConfig::admin`); when off,
//! every admin path answers 404 before any authentication. Operators authenticate with a
//! bearer token `cairn_op_…` or a client certificate whose SHA-256 digest the node's
//! configuration lists ([`auth`]); domain credentials, whatever their policies, are refused
//! (403). Writes go through the replicated log exactly like the key API's, with the core's
//! `KeyStore::prepare_*` and `Command`s, so that every node applies them in the same order.
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | `/admin/v1/cluster/status` | 200 [`ClusterStatus`] |
//! | POST | `/admin/v1/domains` `{id?}` | 201 [`DomainInfo`] |
//! | GET | `/admin/v1/domains` | 200 `[DomainInfo]` |
//! | POST | `/admin/v1/domains/{domainId}/credentials` | 201 [`CreatedCredential`] |
//! | GET | `/admin/v1/domains/{domainId}/credentials` | 200 `[CredentialInfo]` |
//! | DELETE | `/admin/v1/domains/{domainId}/credentials/{credentialId}` | 204 (revokes) |
//! | PUT | `/admin/v1/domains/{domainId}/policies/{policyId}` | 201 new, 200 replaced |
//! | GET | `/admin/v1/domains/{domainId}/policies[/{policyId}]` | 200 |
//! | DELETE | `/admin/v1/domains/{domainId}/policies/{policyId}` | 204 |

mod auth;
pub mod config;
pub mod error;
mod handlers;
pub mod issuer;
pub mod status;

pub use config::{AdminConfig, OperatorToken};
pub use error::AdminError;
pub use handlers::{
    CreateCredentialRequest, CreateDomainRequest, CreatedCredential, CredentialInfo,
    CredentialKind, DEFAULT_CERTIFICATE_DAYS, DomainInfo,
};
pub use issuer::{IssuedCertificate, Issuer, IssuerError};
pub use status::{BackupStatus, ClusterStatus, MemberStatus, NodeSummary};

use axum::Router;
use axum::routing::{get, post, put};

use super::backend::Backend;
use super::node::AppState;

/// The admin routes, with their method and path template.
pub const ADMIN_ENDPOINTS: [(&str, &str); 10] = [
    ("GET", "/admin/v1/cluster/status"),
    ("POST", "/admin/v1/domains"),
    ("GET", "/admin/v1/domains"),
    ("POST", "/admin/v1/domains/{domainId}/credentials"),
    ("GET", "/admin/v1/domains/{domainId}/credentials"),
    (
        "DELETE",
        "/admin/v1/domains/{domainId}/credentials/{credentialId}",
    ),
    ("GET", "/admin/v1/domains/{domainId}/policies"),
    ("PUT", "/admin/v1/domains/{domainId}/policies/{policyId}"),
    ("GET", "/admin/v1/domains/{domainId}/policies/{policyId}"),
    ("DELETE", "/admin/v1/domains/{domainId}/policies/{policyId}"),
];

/// Adds the admin routes to `router`. They are always routed; each handler answers 404
/// when the node has no admin configuration.
pub(crate) fn routes<B: Backend>(router: Router<AppState<B>>) -> Router<AppState<B>> {
    router
        .route(
            "/admin/v1/cluster/status",
            get(handlers::cluster_status::<B>),
        )
        .route(
            "/admin/v1/domains",
            post(handlers::create_domain::<B>).get(handlers::list_domains::<B>),
        )
        .route(
            "/admin/v1/domains/{domainId}/credentials",
            post(handlers::create_credential::<B>).get(handlers::list_credentials::<B>),
        )
        .route(
            "/admin/v1/domains/{domainId}/credentials/{credentialId}",
            axum::routing::delete(handlers::revoke_credential::<B>),
        )
        .route(
            "/admin/v1/domains/{domainId}/policies",
            get(handlers::list_policies::<B>),
        )
        .route(
            "/admin/v1/domains/{domainId}/policies/{policyId}",
            put(handlers::put_policy::<B>)
                .get(handlers::get_policy::<B>)
                .delete(handlers::delete_policy::<B>),
        )
}
