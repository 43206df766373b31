//! The request context every key endpoint starts from: who is calling, on which domain and
//! key, and the IAM check of what they ask.
//!
//! Extracting a [`Ctx`] authenticates the caller (401), draws from its rate-limit bucket
//! (429), reads the ids of the path (400), and refuses a credential used on another domain's
//! path (403), in that order: an unauthenticated caller learns nothing about the path, not
//! even whether its ids are well formed. On the legacy paths (`/v1/…`) the domain is the
//! credential's.
//!
//! Authorization ([`Ctx::authorize`]) runs before the key is looked up, so a caller without
//! rights gets 403 whether or not the key exists, and cannot probe for key ids.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use cairn_core::iam::{Action, Decision, IdentityUrn, ResourceUrn, evaluate};
use cairn_core::{DomainId, Error, KeyId};

use super::auth::{self, Caller};
use super::backend::Backend;
use super::connection::ClientConnection;
use super::error::{ApiError, invalid};
use super::node::AppState;
use super::observe::Scope;
use super::rate_limit;

/// An authenticated request on a domain (and a key, for the per-key endpoints).
pub(crate) struct Ctx<B> {
    pub app: AppState<B>,
    pub scope: Scope,
    pub domain: DomainId,
    key: Option<KeyId>,
    pub identities: Vec<IdentityUrn>,
}

fn parse_id<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ApiError> {
    value.parse().map_err(|_| {
        invalid(
            name,
            "not a UUID in hyphenated form (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
        )
    })
}

impl<B: Backend> FromRequestParts<AppState<B>> for Ctx<B> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState<B>,
    ) -> Result<Self, Self::Rejection> {
        let scope = parts
            .extensions
            .get::<Scope>()
            .cloned()
            .ok_or_else(|| ApiError::Core(Error::Internal("request scope missing".into())))?;
        let params = RawPathParams::from_request_parts(parts, app)
            .await
            .map_err(|_| invalid("path", "not a valid percent-encoded path"))?;
        let mut okms_id = None;
        let mut key_id = None;
        for (name, value) in &params {
            match name {
                "okmsId" => okms_id = Some(value.to_string()),
                "keyId" => key_id = Some(value.to_string()),
                _ => {}
            }
        }
        let path_domain = okms_id
            .as_deref()
            .map(|v| parse_id::<DomainId>("okmsId", v));

        let connection = parts.extensions.get::<ClientConnection>();
        let caller = auth::authenticate(
            app,
            &parts.headers,
            connection,
            path_domain.as_ref().and_then(|d| d.as_ref().ok()).copied(),
        )
        .await?;
        let Caller {
            domain: own,
            credential,
            identities,
        } = caller;
        scope.update(|line| {
            line.credential = Some(credential);
            line.identities.clone_from(&identities);
            line.domain = Some(own);
        });
        app.limiter
            .check(rate_limit::Caller::Credential(credential))
            .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;

        let domain = match path_domain {
            None => own,
            Some(parsed) => parsed?,
        };
        scope.update(|line| line.domain = Some(domain));
        if domain != own {
            return Err(ApiError::OtherDomain {
                own,
                requested: domain,
            });
        }
        let key = key_id
            .as_deref()
            .map(|v| parse_id::<KeyId>("keyId", v))
            .transpose()?;
        Ok(Ctx {
            app: app.clone(),
            scope,
            domain,
            key,
            identities,
        })
    }
}

impl<B: Backend> Ctx<B> {
    /// The key of the path (only the per-key routes extract one).
    pub fn key(&self) -> Result<KeyId, ApiError> {
        let key = self
            .key
            .ok_or_else(|| ApiError::Core(Error::Internal("route has no keyId".into())))?;
        self.scope.update(|line| line.key = Some(key));
        Ok(key)
    }

    pub fn domain_urn(&self) -> ResourceUrn {
        ResourceUrn::domain(&self.app.region, self.domain)
    }

    pub fn key_urn(&self, key: KeyId) -> ResourceUrn {
        ResourceUrn::service_key(&self.app.region, self.domain, key)
    }

    /// Evaluates the domain's policies for `action` on `resource`, records the decision for
    /// the audit line, and refuses with 403 unless allowed.
    pub fn authorize(&self, action: Action, resource: &ResourceUrn) -> Result<(), ApiError> {
        self.scope.update(|line| {
            line.operation = Some(action.as_str().to_string());
            line.resource = Some(resource.as_str().to_string());
        });
        let decision: Decision = self.app.backend.read(|store| {
            let domain = store.state().domain(self.domain)?;
            Ok::<_, Error>(evaluate(
                domain.policies.values(),
                &self.identities,
                action,
                resource.as_str(),
            ))
        })?;
        self.scope.update(|line| line.set_decision(&decision));
        Ok(decision.require(action, resource.as_str())?)
    }

    /// Records that a listing was filtered key by key with `action`.
    pub fn record_filter(&self, action: Action, listed: usize, hidden: usize) {
        let resource = format!("{}/serviceKey/*", self.domain_urn());
        self.scope.update(|line| {
            line.operation = Some(action.as_str().to_string());
            line.resource = Some(resource);
            line.decision = Some("filter");
            line.reason = Some(format!(
                "{listed} keys listed, {hidden} hidden: {action} denied on them"
            ));
        });
    }
}
