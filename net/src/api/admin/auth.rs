//! Operator authentication for the admin API.
//!
//! An operator proves itself with an `Authorization: Bearer cairn_op_…` token or a client
//! certificate (verified by TLS) whose SHA-256 digest the node's [`AdminConfig`] lists.
//! Token digests are compared in constant time against every configured one.
//!
//! * no admin configuration: 404, before anything else;
//! * no proof at all, or an operator token that is not configured: 401;
//! * a proof that is not an operator's (a domain credential's token or certificate): 403.
//!
//! Failed attempts draw from the client address's rate-limit bucket, which bounds how fast
//! one address can guess tokens.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use cairn_core::Error;

use super::config::{AdminConfig, OperatorToken};
use super::error::AdminError;
use crate::api::backend::Backend;
use crate::api::connection::ClientConnection;
use crate::api::error::ApiError;
use crate::api::node::AppState;
use crate::api::observe::Scope;
use crate::api::rate_limit;

/// How the operator authenticated, for the audit line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Proof {
    Token,
    Certificate,
}

/// An authenticated operator's request.
pub(crate) struct Operator<B> {
    pub app: AppState<B>,
    pub scope: Scope,
    proof: Proof,
}

/// What a request presented, before it is checked.
enum Presented {
    Nothing,
    OperatorToken(String),
    OtherBearer,
    Certificate,
}

fn presented(parts: &Parts) -> (Presented, Option<[u8; 32]>) {
    let certificate = parts
        .extensions
        .get::<ClientConnection>()
        .and_then(|c| c.certificate.as_ref())
        .map(|c| *c.sha256());
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        });
    let presented = match bearer {
        Some(token) if token.starts_with(OperatorToken::PREFIX) => Presented::OperatorToken(token),
        Some(_) => Presented::OtherBearer,
        None => match certificate {
            Some(_) => Presented::Certificate,
            None => Presented::Nothing,
        },
    };
    (presented, certificate)
}

fn check(admin: &AdminConfig, parts: &Parts) -> Result<Proof, AdminError> {
    let (presented, certificate) = presented(parts);
    // An operator certificate decides on its own, whatever else the request carries.
    if let Some(sha256) = certificate
        && admin.is_operator_certificate(&sha256)
    {
        return Ok(Proof::Certificate);
    }
    let forbidden = |what: &str| {
        AdminError::Api(ApiError::Core(Error::Forbidden {
            action: "the admin API".into(),
            resource: format!("{what}: only operators may use it"),
        }))
    };
    match presented {
        Presented::OperatorToken(token) => {
            let token = zeroize::Zeroizing::new(token);
            if admin.is_operator_token(&token) {
                Ok(Proof::Token)
            } else {
                Err(ApiError::Core(Error::Unauthenticated("unknown operator token".into())).into())
            }
        }
        Presented::OtherBearer => Err(forbidden("a bearer token that is not an operator token")),
        Presented::Certificate => Err(forbidden("this client certificate is not an operator's")),
        Presented::Nothing => Err(ApiError::Core(Error::Unauthenticated(
            "the admin API needs an operator token (\"Authorization: Bearer cairn_op_…\") or an \
             operator client certificate"
                .into(),
        ))
        .into()),
    }
}

impl<B: Backend> FromRequestParts<AppState<B>> for Operator<B> {
    type Rejection = AdminError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState<B>,
    ) -> Result<Self, Self::Rejection> {
        let Some(admin) = app.config.admin.as_ref() else {
            return Err(AdminError::Disabled);
        };
        let scope = parts
            .extensions
            .get::<Scope>()
            .cloned()
            .ok_or_else(|| ApiError::Core(Error::Internal("request scope missing".into())))?;
        match check(admin, parts) {
            Ok(proof) => Ok(Operator {
                app: app.clone(),
                scope,
                proof,
            }),
            Err(e) => {
                scope.update(|line| {
                    line.operation = Some("cairn:admin".into());
                    line.decision = Some("deny");
                    line.reason = Some("not an operator".into());
                });
                let limit_key = match parts.extensions.get::<ClientConnection>() {
                    Some(c) => rate_limit::Caller::Address(c.remote.ip()),
                    None => rate_limit::Caller::Unknown,
                };
                app.limiter
                    .check(limit_key)
                    .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
                Err(e)
            }
        }
    }
}

impl<B> Operator<B> {
    /// Records the operation in the audit line: `cairn:admin:<operation>` on `resource`.
    pub fn record(&self, operation: &str, resource: impl Into<String>) {
        let proof = self.proof;
        let resource = resource.into();
        self.scope.update(|line| {
            line.operation = Some(format!("cairn:admin:{operation}"));
            line.resource = Some(resource);
            line.decision = Some("allow");
            line.reason = Some(
                match proof {
                    Proof::Token => "operator token",
                    Proof::Certificate => "operator certificate",
                }
                .into(),
            );
        });
    }
}
