//! Key management: create or import, list, get, rename, lifecycle transitions.

use std::cell::Cell;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cairn_core::api::{
    CreateImportServiceKeyRequest, DeactivateServiceKeyRequest, KeyFormat, PatchServiceKeyRequest,
};
use cairn_core::iam::{Action, ResourceUrn, evaluate};
use cairn_core::key::spec::KeyType;
use cairn_core::key::state::{StateFilter, Transition};
use cairn_core::store::{Applied, KeyRecord, KeyStore};
use cairn_core::{Error, KeyId};

use super::json;
use crate::api::backend::Backend;
use crate::api::context::Ctx;
use crate::api::error::ApiError;
use crate::api::extract::{Json, Query};
use crate::api::rng::BackendRng;

const KEY_FORMATS: &str = "jwk";
const STATES: &str = "pre_active, active, deactivated, compromised, destroyed, \
                      destroyed_compromised, all";

fn format_param(query: &Query) -> Result<Option<KeyFormat>, ApiError> {
    query.allow(&["format"])?;
    query.parse_enum("format", KEY_FORMATS)
}

fn unexpected(applied: &Applied) -> ApiError {
    ApiError::Core(Error::Internal(format!(
        "the write applied as {applied:?}, not as the change asked for"
    )))
}

/// `POST …/servicekey`: creates a key, or imports one when `keys` is given (IAM
/// `serviceKey/create` or `serviceKey/import` on the domain). 201 with the new key.
pub(crate) async fn create<B: Backend>(
    ctx: Ctx<B>,
    query: Query,
    Json(request): Json<CreateImportServiceKeyRequest>,
) -> Result<Response, ApiError> {
    let format = format_param(&query)?;
    let action = if request.keys.is_some() {
        Action::ServiceKeyImport
    } else {
        Action::ServiceKeyCreate
    };
    ctx.authorize(action, &ctx.domain_urn())?;
    // Refused before the write, not after: the key must not be created when the answer
    // would be an error.
    let kind = request
        .keys
        .as_ref()
        .and_then(|keys| keys.first())
        .map(|jwk| jwk.kty)
        .or(request.kind);
    if format.is_some() && kind == Some(KeyType::Oct) {
        return Err(Error::NoPublicKey(KeyType::Oct).into());
    }

    let domain = ctx.domain;
    let request = Arc::new(request);
    // Generation (seconds for RSA) away from the node; then sealing against its state.
    let prepared = {
        let request = request.clone();
        ctx.app
            .blocking(move |rng| KeyStore::prepare_material(&request, rng))
            .await?
    };
    let backend = ctx.app.backend.clone();
    let key = match ctx
        .app
        .write(|store| store.seal_key(domain, &request, &prepared, &mut BackendRng(&backend)))
        .await?
    {
        Applied::KeyCreated { key, .. } => key,
        other => return Err(unexpected(&other)),
    };
    ctx.scope.update(|line| line.key = Some(key));
    let view = ctx
        .app
        .query(|store, _| store.get(domain, key, format))
        .await?;
    Ok(json(StatusCode::CREATED, view))
}

/// `GET …/servicekey`: a page of the domain's keys in `state` (default `active`, as the
/// OKMS CLI lists), showing only the keys on which the caller has `serviceKey/get`.
pub(crate) async fn list<B: Backend>(ctx: Ctx<B>, query: Query) -> Result<Response, ApiError> {
    query.allow(&["state", "max", "continuation-token"])?;
    let filter = query
        .parse_enum::<StateFilter>("state", STATES)?
        .unwrap_or(StateFilter::Active);
    let max = query.parse_u32("max", "between 10 and 100")?;
    let token = query.get("continuation-token");
    let domain = ctx.domain;
    let region = &ctx.app.region;
    let identities = &ctx.identities;
    let (page, hidden) = ctx
        .app
        .query(|store, _| {
            let policies = &store.state().domain(domain)?.policies;
            let hidden = Cell::new(0usize);
            let visible = |key: &KeyRecord| {
                let urn = ResourceUrn::service_key(region, domain, key.id);
                let allowed = evaluate(
                    policies.values(),
                    identities,
                    Action::ServiceKeyGet,
                    urn.as_str(),
                )
                .is_allowed();
                if !allowed {
                    hidden.set(hidden.get() + 1);
                }
                allowed
            };
            let page = store.list(domain, filter, max, token, visible)?;
            Ok((page, hidden.get()))
        })
        .await?;
    ctx.record_filter(Action::ServiceKeyGet, page.objects_list.len(), hidden);
    Ok(json(StatusCode::OK, page))
}

/// `GET …/servicekey/{keyId}`, with the public JWK under `format=jwk`.
pub(crate) async fn get<B: Backend>(ctx: Ctx<B>, query: Query) -> Result<Response, ApiError> {
    let format = format_param(&query)?;
    let key = ctx.key()?;
    ctx.authorize(Action::ServiceKeyGet, &ctx.key_urn(key))?;
    let domain = ctx.domain;
    let view = ctx
        .app
        .query(|store, _| store.get(domain, key, format))
        .await?;
    Ok(json(StatusCode::OK, view))
}

/// `PATCH …/servicekey/{keyId}`: renames the key; 200 with the key as it is now.
pub(crate) async fn patch<B: Backend>(
    ctx: Ctx<B>,
    query: Query,
    Json(request): Json<PatchServiceKeyRequest>,
) -> Result<Response, ApiError> {
    query.allow(&[])?;
    let key = ctx.key()?;
    ctx.authorize(Action::ServiceKeyUpdate, &ctx.key_urn(key))?;
    let domain = ctx.domain;
    match ctx
        .app
        .write(|store| store.prepare_rename(domain, key, &request.name))
        .await?
    {
        Applied::KeyChanged { .. } => {}
        other => return Err(unexpected(&other)),
    }
    let view = ctx
        .app
        .query(|store, _| store.get(domain, key, None))
        .await?;
    Ok(json(StatusCode::OK, view))
}

async fn transition<B: Backend>(
    ctx: &Ctx<B>,
    key: KeyId,
    transition: Transition,
) -> Result<Response, ApiError> {
    let domain = ctx.domain;
    let now = (ctx.app.config.clock)();
    match ctx
        .app
        .write(|store| store.prepare_transition(domain, key, transition, now))
        .await?
    {
        Applied::KeyChanged { .. } => Ok(StatusCode::NO_CONTENT.into_response()),
        other => Err(unexpected(&other)),
    }
}

/// `DELETE …/servicekey/{keyId}`: destroys the key's material; the record stays listed.
pub(crate) async fn delete<B: Backend>(ctx: Ctx<B>, query: Query) -> Result<Response, ApiError> {
    query.allow(&[])?;
    let key = ctx.key()?;
    ctx.authorize(Action::ServiceKeyDelete, &ctx.key_urn(key))?;
    transition(&ctx, key, Transition::Destroy).await
}

/// `POST …/servicekey/{keyId}/activate` (no body; one sent is ignored, as OKMS describes
/// none).
pub(crate) async fn activate<B: Backend>(ctx: Ctx<B>, query: Query) -> Result<Response, ApiError> {
    query.allow(&[])?;
    let key = ctx.key()?;
    ctx.authorize(Action::ServiceKeyActivate, &ctx.key_urn(key))?;
    transition(&ctx, key, Transition::Activate).await
}

/// `POST …/servicekey/{keyId}/deactivate` with a revocation `reason`; `key_compromise`
/// makes the key `compromised`.
pub(crate) async fn deactivate<B: Backend>(
    ctx: Ctx<B>,
    query: Query,
    Json(request): Json<DeactivateServiceKeyRequest>,
) -> Result<Response, ApiError> {
    query.allow(&[])?;
    let key = ctx.key()?;
    ctx.authorize(Action::ServiceKeyDeactivate, &ctx.key_urn(key))?;
    transition(&ctx, key, Transition::Deactivate(request.reason)).await
}
