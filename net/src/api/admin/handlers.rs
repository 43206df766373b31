//! The admin endpoints. Each starts by extracting an [`Operator`] (404 when the admin API is
//! off, 401/403 for anyone but an operator), then reads the applied state or writes through
//! the replicated log like the key API does.

use std::fmt;
use std::time::Duration;

use axum::extract::RawPathParams;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cairn_core::iam::{Binding, Credential, IdentityUrn, Policy, PolicySpec, ResourceUrn, Token};
use cairn_core::store::{Applied, Command};
use cairn_core::{CredentialId, DomainId, Error, PolicyId, Timestamp};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::auth::Operator;
use super::error::AdminError;
use super::issuer::{IssuedCertificate, MAX_DAYS};
use crate::api::backend::Backend;
use crate::api::error::{ApiError, invalid};
use crate::api::extract::Json;
use crate::api::handlers::json;
use crate::api::rng::BackendRng;

/// Validity of a credential certificate when the request gives no `days`.
pub const DEFAULT_CERTIFICATE_DAYS: u32 = 365;

/// `POST /admin/v1/domains`: the id is drawn at random unless given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateDomainRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<DomainId>,
}

/// A domain as the admin API lists it: counts only, never a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainInfo {
    pub id: DomainId,
    /// RFC 3339, UTC.
    pub created: String,
    pub keys: usize,
    pub credentials: usize,
    pub policies: usize,
}

/// `POST /admin/v1/domains/{domainId}/credentials`.
///
/// A credential is bound to one proof: a bearer token when `token` is true, else a client
/// certificate issued by the cluster's client CA, for the key of `csr` when given (the
/// private key then never leaves its owner) or for a new key pair returned once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCredentialRequest {
    /// 1 to 64 characters; also the certificate's common name (unless the CSR has one).
    pub name: String,
    /// The identity URNs the credential's holder gets, which policies grant rights to.
    pub identities: Vec<IdentityUrn>,
    /// A PEM PKCS #10 certificate signing request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csr: Option<String>,
    /// A bearer token credential instead of a certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<bool>,
    /// Validity in days: 1 to 3650. Certificates default to 365; tokens do not expire
    /// unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
}

/// The kind of proof a credential is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    Certificate,
    Token,
}

/// A new credential, with the secrets that are shown this once: the private key (when the
/// issuer generated it) or the bearer token. `Debug` redacts them; they are wiped on drop.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedCredential {
    pub id: CredentialId,
    pub domain: DomainId,
    pub name: String,
    pub identities: Vec<IdentityUrn>,
    pub kind: CredentialKind,
    /// The issued certificate, PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Its SHA-256 (hex), what the credential is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_sha256: Option<String>,
    /// The certificate's private key (PKCS #8 PEM), only when no CSR was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<Zeroizing<String>>,
    /// The bearer token (`cairn_…`), for token credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Zeroizing<String>>,
    /// RFC 3339, UTC; `null` for a token without expiry.
    pub not_after: Option<String>,
}

impl fmt::Debug for CreatedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedCredential")
            .field("id", &self.id)
            .field("domain", &self.domain)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("certificate_sha256", &self.certificate_sha256)
            .field(
                "private_key",
                &self.private_key.as_ref().map(|_| "<redacted>"),
            )
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// A credential as listed: never a secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialInfo {
    pub id: CredentialId,
    pub name: String,
    pub identities: Vec<IdentityUrn>,
    pub kind: CredentialKind,
    /// The certificate's SHA-256 (hex), for certificate credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_sha256: Option<String>,
    pub created: String,
    pub not_after: Option<String>,
    pub revoked: Option<String>,
}

impl CredentialInfo {
    fn of(c: &Credential) -> Self {
        let (kind, certificate_sha256) = match &c.binding {
            Binding::Certificate { sha256 } => (
                CredentialKind::Certificate,
                Some(crate::api::connection::hex(sha256)),
            ),
            Binding::Token { .. } => (CredentialKind::Token, None),
        };
        CredentialInfo {
            id: c.id,
            name: c.name.clone(),
            identities: c.identities.clone(),
            kind,
            certificate_sha256,
            created: c.created.to_rfc3339(),
            not_after: c.not_after.map(Timestamp::to_rfc3339),
            revoked: c.revoked.map(Timestamp::to_rfc3339),
        }
    }
}

fn unexpected(applied: &Applied) -> AdminError {
    ApiError::Core(Error::Internal(format!(
        "the write applied as {applied:?}, not as the change asked for"
    )))
    .into()
}

/// The id named `name` in the path.
fn path_id<T: std::str::FromStr>(params: &RawPathParams, name: &str) -> Result<T, AdminError> {
    let value = params
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .ok_or_else(|| ApiError::Core(Error::Internal(format!("route has no {name}"))))?;
    value.parse().map_err(|_| {
        invalid(
            name,
            "not a UUID in hyphenated form (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
        )
        .into()
    })
}

impl<B: Backend> Operator<B> {
    fn domain_urn(&self, domain: DomainId) -> String {
        ResourceUrn::domain(&self.app.region, domain)
            .as_str()
            .to_string()
    }

    fn domain_info(&self, domain: DomainId) -> Result<DomainInfo, Error> {
        self.app.backend.read(|store| {
            let d = store.state().domain(domain)?;
            Ok(DomainInfo {
                id: d.id,
                created: d.created.to_rfc3339(),
                keys: d.keys.len(),
                credentials: d.credentials.len(),
                policies: d.policies.len(),
            })
        })
    }

    /// 404 unless the domain exists (after a barrier, in case it was just created).
    async fn require_domain(&self, domain: DomainId) -> Result<(), AdminError> {
        self.app
            .query(|store, _| store.state().domain(domain).map(|_| ()))
            .await?;
        Ok(())
    }
}

/// `GET /admin/v1/cluster/status`.
pub(crate) async fn cluster_status<B: Backend>(op: Operator<B>) -> Result<Response, AdminError> {
    op.record("cluster/status", "cluster");
    let status = op
        .app
        .backend
        .cluster_status()
        .ok_or(AdminError::StatusUnavailable)?;
    Ok(json(StatusCode::OK, status))
}

/// `POST /admin/v1/domains`.
pub(crate) async fn create_domain<B: Backend>(
    op: Operator<B>,
    Json(request): Json<CreateDomainRequest>,
) -> Result<Response, AdminError> {
    let backend = op.app.backend.clone();
    let id = request
        .id
        .unwrap_or_else(|| DomainId::random(&mut BackendRng(&backend)));
    op.record("domain/create", op.domain_urn(id));
    let applied = op
        .app
        .write(|store| store.prepare_domain(id, &mut BackendRng(&backend)))
        .await?;
    if applied != Applied::DomainCreated(id) {
        return Err(unexpected(&applied));
    }
    Ok(json(StatusCode::CREATED, op.domain_info(id)?))
}

/// `GET /admin/v1/domains`.
pub(crate) async fn list_domains<B: Backend>(op: Operator<B>) -> Result<Response, AdminError> {
    op.record("domain/list", "domains");
    let domains: Vec<DomainInfo> = op.app.backend.read(|store| {
        store
            .state()
            .domains()
            .map(|d| DomainInfo {
                id: d.id,
                created: d.created.to_rfc3339(),
                keys: d.keys.len(),
                credentials: d.credentials.len(),
                policies: d.policies.len(),
            })
            .collect()
    });
    Ok(json(StatusCode::OK, domains))
}

/// The proof a new credential is bound to, and what to show its owner once.
struct Proof {
    binding: Binding,
    not_after: Option<Timestamp>,
    issued: Option<IssuedCertificate>,
    token: Option<Zeroizing<String>>,
}

/// `POST /admin/v1/domains/{domainId}/credentials`.
pub(crate) async fn create_credential<B: Backend>(
    op: Operator<B>,
    params: RawPathParams,
    Json(request): Json<CreateCredentialRequest>,
) -> Result<Response, AdminError> {
    let domain: DomainId = path_id(&params, "domainId")?;
    op.record("credential/create", op.domain_urn(domain));
    op.require_domain(domain).await?;
    let CreateCredentialRequest {
        name,
        identities,
        csr,
        token,
        days,
    } = request;
    let csr = csr.map(Zeroizing::new);
    if let Some(days) = days
        && (days == 0 || days > MAX_DAYS)
    {
        return Err(invalid("days", format!("must be 1 to {MAX_DAYS}, got {days}")).into());
    }
    let backend = op.app.backend.clone();
    let id = CredentialId::random(&mut BackendRng(&backend));
    let now = (op.app.config.clock)();
    let proof = if token == Some(true) {
        if csr.is_some() {
            return Err(invalid(
                "csr",
                "a token credential takes no certificate signing request",
            )
            .into());
        }
        let (secret, binding) = Token::generate(id, &mut BackendRng(&backend));
        Proof {
            binding,
            not_after: days.map(|d| now.saturating_add(Duration::from_secs(u64::from(d) * 86_400))),
            issued: None,
            token: Some(Zeroizing::new(secret.expose().to_string())),
        }
    } else {
        let issuer = op
            .app
            .config
            .admin
            .as_ref()
            .and_then(|a| a.issuer.as_ref())
            .ok_or_else(|| {
                invalid(
                    "token",
                    "this node has no client CA to issue certificates with: ask for a token \
                     credential (\"token\": true)",
                )
            })?;
        let days = days.unwrap_or(DEFAULT_CERTIFICATE_DAYS);
        let mut rng = BackendRng(&backend);
        let issued = match &csr {
            Some(csr) => issuer.sign_csr(csr, domain, &name, days, now, &mut rng)?,
            None => issuer.issue(domain, &name, days, now, &mut rng)?,
        };
        Proof {
            binding: Binding::Certificate {
                sha256: issued.sha256,
            },
            not_after: Some(issued.not_after),
            issued: Some(issued),
            token: None,
        }
    };
    let credential = Credential {
        id,
        name: name.clone(),
        identities: identities.clone(),
        binding: proof.binding,
        created: now,
        not_after: proof.not_after,
        revoked: None,
    };
    let applied = op
        .app
        .write(|store| store.prepare_credential(domain, credential.clone()))
        .await?;
    if applied
        != (Applied::CredentialCreated {
            domain,
            credential: id,
        })
    {
        return Err(unexpected(&applied));
    }
    let kind = if proof.token.is_some() {
        CredentialKind::Token
    } else {
        CredentialKind::Certificate
    };
    let (certificate, certificate_sha256, private_key) = match proof.issued {
        Some(mut issued) => (
            Some(std::mem::take(&mut issued.certificate_pem)),
            Some(crate::api::connection::hex(&issued.sha256)),
            issued.private_key_pem.take(),
        ),
        None => (None, None, None),
    };
    let created = CreatedCredential {
        id,
        domain,
        name,
        identities,
        kind,
        certificate,
        certificate_sha256,
        private_key,
        token: proof.token,
        not_after: proof.not_after.map(Timestamp::to_rfc3339),
    };
    let body = Zeroizing::new(
        serde_json::to_vec(&created)
            .map_err(|e| ApiError::Core(Error::Internal(format!("encoding: {e}"))))?,
    );
    let mut response = (StatusCode::CREATED, body.to_vec()).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// `GET /admin/v1/domains/{domainId}/credentials`.
pub(crate) async fn list_credentials<B: Backend>(
    op: Operator<B>,
    params: RawPathParams,
) -> Result<Response, AdminError> {
    let domain: DomainId = path_id(&params, "domainId")?;
    op.record("credential/list", op.domain_urn(domain));
    let list = op
        .app
        .query(|store, _| {
            Ok(store
                .state()
                .domain(domain)?
                .credentials
                .values()
                .map(CredentialInfo::of)
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(json(StatusCode::OK, list))
}

/// `DELETE /admin/v1/domains/{domainId}/credentials/{credentialId}`: revokes it (the record
/// stays, so that the audit log's references keep their meaning).
pub(crate) async fn revoke_credential<B: Backend>(
    op: Operator<B>,
    params: RawPathParams,
) -> Result<Response, AdminError> {
    let domain: DomainId = path_id(&params, "domainId")?;
    let credential: CredentialId = path_id(&params, "credentialId")?;
    op.record(
        "credential/revoke",
        format!("{}/credential/{credential}", op.domain_urn(domain)),
    );
    let applied = op
        .app
        .write(|store| {
            let d = store.state().domain(domain)?;
            if !d.credentials.contains_key(&credential) {
                return Err(Error::CredentialNotFound(credential));
            }
            Ok(Command::RevokeCredential { domain, credential })
        })
        .await?;
    if applied != (Applied::CredentialRevoked { domain, credential }) {
        return Err(unexpected(&applied));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /admin/v1/domains/{domainId}/policies`.
pub(crate) async fn list_policies<B: Backend>(
    op: Operator<B>,
    params: RawPathParams,
) -> Result<Response, AdminError> {
    let domain: DomainId = path_id(&params, "domainId")?;
    op.record("policy/list", op.domain_urn(domain));
    let list = op
        .app
        .query(|store, _| {
            Ok(store
                .state()
                .domain(domain)?
                .policies
                .values()
                .cloned()
                .collect::<Vec<Policy>>())
        })
        .await?;
    Ok(json(StatusCode::OK, list))
}

/// `PUT /admin/v1/domains/{domainId}/policies/{policyId}`: creates (201) or replaces (200).
pub(crate) async fn put_policy<B: Backend>(
    op: Operator<B>,
    params: RawPathParams,
    Json(spec): Json<PolicySpec>,
) -> Result<Response, AdminError> {
    let domain: DomainId = path_id(&params, "domainId")?;
    let id: PolicyId = path_id(&params, "policyId")?;
    op.record(
        "policy/put",
        format!("{}/policy/{id}", op.domain_urn(domain)),
    );
    let policy = spec.into_policy(id)?;
    let existed = op
        .app
        .query(|store, _| Ok(store.state().domain(domain)?.policies.contains_key(&id)))
        .await?;
    let applied = op
        .app
        .write(|store| store.prepare_policy(domain, policy.clone()))
        .await?;
    if applied != (Applied::PolicyPut { domain, policy: id }) {
        return Err(unexpected(&applied));
    }
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(json(status, policy))
}

/// `GET /admin/v1/domains/{domainId}/policies/{policyId}`.
pub(crate) async fn get_policy<B: Backend>(
    op: Operator<B>,
    params: RawPathParams,
) -> Result<Response, AdminError> {
    let domain: DomainId = path_id(&params, "domainId")?;
    let id: PolicyId = path_id(&params, "policyId")?;
    op.record(
        "policy/get",
        format!("{}/policy/{id}", op.domain_urn(domain)),
    );
    let policy = op
        .app
        .query(|store, _| {
            store
                .state()
                .domain(domain)?
                .policies
                .get(&id)
                .cloned()
                .ok_or(Error::PolicyNotFound(id))
        })
        .await?;
    Ok(json(StatusCode::OK, policy))
}

/// `DELETE /admin/v1/domains/{domainId}/policies/{policyId}`.
pub(crate) async fn delete_policy<B: Backend>(
    op: Operator<B>,
    params: RawPathParams,
) -> Result<Response, AdminError> {
    let domain: DomainId = path_id(&params, "domainId")?;
    let id: PolicyId = path_id(&params, "policyId")?;
    op.record(
        "policy/delete",
        format!("{}/policy/{id}", op.domain_urn(domain)),
    );
    let applied = op
        .app
        .write(|store| {
            let d = store.state().domain(domain)?;
            if !d.policies.contains_key(&id) {
                return Err(Error::PolicyNotFound(id));
            }
            Ok(Command::DeletePolicy { domain, policy: id })
        })
        .await?;
    if applied != (Applied::PolicyDeleted { domain, policy: id }) {
        return Err(unexpected(&applied));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
