//! Authentication: which credential a request comes with.
//!
//! Two proofs are accepted:
//!
//! * a **client certificate**, verified by TLS against the configured CA bundle. Its DER's
//!   SHA-256 is looked up among the credentials' bindings. Unless configured otherwise, the
//!   certificate must also name the credential's domain in its subjectAltName
//!   (`okms.domain:<uuid>`, see [`ClientCertificate`]), as OKMS access certificates do, so
//!   that a certificate issued for one domain and bound by mistake to another is refused;
//! * an `Authorization: Bearer cairn_…` **token**. Its credential id is looked up (in the
//!   path's domain first), and its secret compared with the stored digest in constant time.
//!
//! When both are present the certificate decides if it is bound to a credential; otherwise
//! the token is tried (a service mesh may present a certificate of its own).
//!
//! The credential must be usable now (not revoked, not expired). The caller's identities
//! are the credential's identity URNs plus the credential's own URN
//! (`urn:v1:<region>:identity:credential:<domain>/<credential>`), so that a policy can deny
//! one leaked credential without touching its owner's identities.

use axum::http::{HeaderMap, header};
use cairn_core::iam::{Binding, Credential, IdentityUrn, Token, TokenSecret};
use cairn_core::store::KeyStore;
use cairn_core::{CredentialId, DomainId, Error};

use super::backend::Backend;
use super::connection::{ClientCertificate, ClientConnection};
use super::error::ApiError;
use super::node::App;
use super::rate_limit;

/// An authenticated caller.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub domain: DomainId,
    pub credential: CredentialId,
    pub identities: Vec<IdentityUrn>,
}

/// The proofs a request carries.
enum Proof<'a> {
    Certificate(&'a ClientCertificate, Option<(CredentialId, TokenSecret)>),
    Token(CredentialId, TokenSecret),
}

/// What a lookup found: a credential of a domain, and whether a certificate found it.
struct Found {
    domain: DomainId,
    credential: Credential,
    certificate: Option<ClientCertificate>,
}

fn unauthenticated(reason: &str) -> ApiError {
    ApiError::Core(Error::Unauthenticated(reason.to_string()))
}

/// The bearer token of the `Authorization` header: `None` without the header, an error for
/// another scheme or a token that is not in Cairn's format. The token never appears in an
/// error message.
fn bearer(headers: &HeaderMap) -> Result<Option<(CredentialId, TokenSecret)>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| unauthenticated("the Authorization header is not ASCII"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(unauthenticated(
            "unsupported Authorization scheme: use a client certificate or \
             \"Authorization: Bearer cairn_…\"",
        ));
    }
    Token::parse(token.trim())
        .map(Some)
        .ok_or_else(|| unauthenticated("malformed bearer token"))
}

fn by_certificate(store: &KeyStore, cert: &ClientCertificate) -> Option<Found> {
    let state = store.state();
    let binding = Binding::Certificate {
        sha256: *cert.sha256(),
    };
    let (domain, id) = state.credential_for(&binding)?;
    let credential = state.domain(domain).ok()?.credentials.get(&id)?;
    credential
        .accepts_certificate(cert.sha256())
        .then(|| Found {
            domain,
            credential: credential.clone(),
            certificate: Some(cert.clone()),
        })
}

/// The credential `id` whose token secret is `secret`, in `prefer` first (the path's
/// domain), then in any domain (so that a token of another domain is told apart from an
/// unknown one).
fn by_token(
    store: &KeyStore,
    id: CredentialId,
    secret: &TokenSecret,
    prefer: Option<DomainId>,
) -> Option<Found> {
    let state = store.state();
    let preferred = prefer.and_then(|d| state.domain(d).ok());
    preferred
        .into_iter()
        .chain(state.domains())
        .find_map(|domain| {
            let credential = domain.credentials.get(&id)?;
            credential.accepts_token(secret).then(|| Found {
                domain: domain.id,
                credential: credential.clone(),
                certificate: None,
            })
        })
}

fn lookup(store: &KeyStore, proof: &Proof<'_>, prefer: Option<DomainId>) -> Option<Found> {
    match proof {
        Proof::Certificate(cert, token) => by_certificate(store, cert).or_else(|| {
            token
                .as_ref()
                .and_then(|(id, secret)| by_token(store, *id, secret, prefer))
        }),
        Proof::Token(id, secret) => by_token(store, *id, secret, prefer),
    }
}

/// Authenticates a request. `path_domain` is the `okmsId` of the path, when it has a valid
/// one.
pub(crate) async fn authenticate<B: Backend>(
    app: &App<B>,
    headers: &HeaderMap,
    connection: Option<&ClientConnection>,
    path_domain: Option<DomainId>,
) -> Result<Caller, ApiError> {
    let limit_key = match connection {
        Some(c) => rate_limit::Caller::Address(c.remote.ip()),
        None => rate_limit::Caller::Unknown,
    };
    let certificate = connection.and_then(|c| c.certificate.as_deref());
    let token = bearer(headers);
    let proof = match (certificate, token) {
        (Some(cert), Ok(token)) => Proof::Certificate(cert, token),
        // A malformed Authorization header next to a certificate: let the certificate try.
        (Some(cert), Err(_)) => Proof::Certificate(cert, None),
        (None, Ok(Some((id, secret)))) => Proof::Token(id, secret),
        (None, Ok(None)) => {
            return Err(unauthenticated(
                "no client certificate and no bearer token: every request needs one",
            ));
        }
        (None, Err(e)) => return Err(e),
    };

    let mut found = app.backend.read(|store| lookup(store, &proof, path_domain));
    if found.is_none() {
        // Unknown here; a credential created a moment ago may not have reached this node.
        // Waiting on the cluster costs it something, so unknown callers pay from their
        // address's bucket first.
        app.limiter
            .check(limit_key)
            .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
        app.backend.barrier().await;
        found = app.backend.read(|store| lookup(store, &proof, path_domain));
    }
    let Some(found) = found else {
        return Err(unauthenticated(match proof {
            Proof::Certificate(..) => "this client certificate is not bound to any credential",
            Proof::Token(..) => "unknown bearer token",
        }));
    };

    let now = (app.config.clock)();
    found.credential.usable_at(now)?;
    if let Some(cert) = &found.certificate
        && app.config.require_domain_san
        && !cert.domains().contains(&found.domain)
    {
        return Err(ApiError::Core(Error::Unauthenticated(format!(
            "the client certificate does not name domain {} in its subjectAltName \
             (okms.domain:<uuid>)",
            found.domain
        ))));
    }
    let mut identities = found.credential.identities.clone();
    identities.push(IdentityUrn::credential(
        &app.region,
        found.domain,
        found.credential.id,
    ));
    Ok(Caller {
        domain: found.domain,
        credential: found.credential.id,
        identities,
    })
}
