//! Cryptographic operations: encrypt, decrypt, data keys, sign, verify, random bytes.
//!
//! Plaintext, messages and data keys are decoded into buffers that are wiped when dropped,
//! and answered as [`SecretString`]s; none of them is ever logged (the audit line has no
//! field that could hold one).

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use cairn_core::api::{
    DecryptDataKeyRequest, DecryptDataKeyResponse, DecryptRequest, DecryptResponse, EncryptRequest,
    EncryptResponse, GenerateDataKeyRequest, GenerateDataKeyResponse, GetRandomResponse,
    SecretString, SignRequest, SignResponse, VerifyRequest, VerifyResponse,
};
use cairn_core::b64;
use cairn_core::crypto::sign::SignatureFormat;
use cairn_core::iam::Action;
use cairn_core::store::KeyStore;
use zeroize::Zeroizing;

use super::json;
use crate::api::backend::Backend;
use crate::api::context::Ctx;
use crate::api::error::{ApiError, invalid};
use crate::api::extract::{Json, Query};
use crate::api::rng::BackendRng;

const SIGNATURE_FORMATS: &str = "raw, jws, jwt";

/// Standard base64 (with padding), as OKMS sends binary fields, into a wiped buffer.
fn decode(field: &str, text: &str) -> Result<Zeroizing<Vec<u8>>, ApiError> {
    b64::decode_std(text)
        .map(Zeroizing::new)
        .ok_or_else(|| invalid(field, "not standard base64 (RFC 4648 §4, with padding)"))
}

fn encode(bytes: &[u8]) -> SecretString {
    SecretString::new(b64::encode_std(bytes))
}

/// `POST …/servicekey/{keyId}/encrypt`: up to 4 KiB under an `oct` key, with an optional
/// `context` bound as associated data.
pub(crate) async fn encrypt<B: Backend>(
    ctx: Ctx<B>,
    query: Query,
    Json(request): Json<EncryptRequest>,
) -> Result<Response, ApiError> {
    query.allow(&[])?;
    let key = ctx.key()?;
    ctx.authorize(Action::ServiceKeyEncrypt, &ctx.key_urn(key))?;
    let plaintext = decode("plaintext", request.plaintext.expose())?;
    let domain = ctx.domain;
    let context = request.context.as_deref();
    let ciphertext = ctx
        .app
        .query(|store, rng| store.encrypt(domain, key, &plaintext, context, rng))
        .await?;
    Ok(json(StatusCode::OK, EncryptResponse { ciphertext }))
}

/// `POST …/servicekey/{keyId}/decrypt`.
pub(crate) async fn decrypt<B: Backend>(
    ctx: Ctx<B>,
    query: Query,
    Json(request): Json<DecryptRequest>,
) -> Result<Response, ApiError> {
    query.allow(&[])?;
    let key = ctx.key()?;
    ctx.authorize(Action::ServiceKeyDecrypt, &ctx.key_urn(key))?;
    let domain = ctx.domain;
    let context = request.context.as_deref();
    let plaintext = ctx
        .app
        .query(|store, _| store.decrypt(domain, key, &request.ciphertext, context))
        .await?;
    Ok(json(
        StatusCode::OK,
        DecryptResponse {
            plaintext: encode(&plaintext),
        },
    ))
}

/// `POST …/servicekey/{keyId}/datakey`: a new data key, in clear and wrapped; 201.
pub(crate) async fn data_key<B: Backend>(
    ctx: Ctx<B>,
    query: Query,
    Json(request): Json<GenerateDataKeyRequest>,
) -> Result<Response, ApiError> {
    query.allow(&[])?;
    let key = ctx.key()?;
    ctx.authorize(Action::DataKeyCreate, &ctx.key_urn(key))?;
    let domain = ctx.domain;
    let name = request.name.as_deref();
    let data_key = ctx
        .app
        .query(|store, rng| store.generate_data_key(domain, key, name, request.size, rng))
        .await?;
    Ok(json(
        StatusCode::CREATED,
        GenerateDataKeyResponse {
            key: data_key.blob.clone(),
            plaintext: encode(&data_key.plaintext),
        },
    ))
}

/// `POST …/servicekey/{keyId}/datakey/decrypt`.
pub(crate) async fn decrypt_data_key<B: Backend>(
    ctx: Ctx<B>,
    query: Query,
    Json(request): Json<DecryptDataKeyRequest>,
) -> Result<Response, ApiError> {
    query.allow(&[])?;
    let key = ctx.key()?;
    ctx.authorize(Action::DataKeyDecrypt, &ctx.key_urn(key))?;
    let domain = ctx.domain;
    let plaintext = ctx
        .app
        .query(|store, _| store.decrypt_data_key(domain, key, &request.key))
        .await?;
    Ok(json(
        StatusCode::OK,
        DecryptDataKeyResponse {
            plaintext: encode(&plaintext),
        },
    ))
}

/// `POST …/servicekey/{keyId}/sign?format=raw|jws|jwt`; signing runs on a blocking thread
/// (an RSA-4096 signature takes milliseconds).
pub(crate) async fn sign<B: Backend>(
    ctx: Ctx<B>,
    query: Query,
    Json(request): Json<SignRequest>,
) -> Result<Response, ApiError> {
    query.allow(&["format"])?;
    let format = query
        .parse_enum::<SignatureFormat>("format", SIGNATURE_FORMATS)?
        .unwrap_or_default();
    let key = ctx.key()?;
    ctx.authorize(Action::ServiceKeySign, &ctx.key_urn(key))?;
    let message = Arc::new(decode("message", request.message.expose())?);
    let domain = ctx.domain;
    let (alg, is_digest) = (request.alg, request.isdigest);
    let signer = ctx
        .app
        .query(|store, _| store.signing_key(domain, key))
        .await?;
    let signature = ctx
        .app
        .blocking(move |rng| signer.sign(alg, &message, is_digest, format, rng))
        .await?;
    Ok(json(StatusCode::OK, SignResponse { signature }))
}

/// `POST …/servicekey/{keyId}/verify`: a raw signature (with `alg` and `message`) or a
/// compact JWS. A signature that does not verify is `{"result": false}` with 200.
pub(crate) async fn verify<B: Backend>(
    ctx: Ctx<B>,
    query: Query,
    Json(request): Json<VerifyRequest>,
) -> Result<Response, ApiError> {
    query.allow(&[])?;
    let key = ctx.key()?;
    ctx.authorize(Action::ServiceKeyVerify, &ctx.key_urn(key))?;
    let message = request
        .message
        .as_ref()
        .map(|m| decode("message", m.expose()))
        .transpose()?;
    let message = Arc::new(message);
    let domain = ctx.domain;
    let (alg, is_digest) = (request.alg, request.isdigest);
    let signature = Arc::new(request.signature);
    let verifier = ctx
        .app
        .query(|store, _| store.verifying_key(domain, key))
        .await?;
    let result = ctx
        .app
        .blocking(move |_| {
            verifier.verify(
                alg,
                message.as_ref().as_ref().map(|m| m.as_slice()),
                is_digest,
                &signature,
            )
        })
        .await?;
    Ok(json(StatusCode::OK, VerifyResponse { result }))
}

/// `GET …/random?length=` (1–4096, default 1): IAM `random/get` on the domain.
pub(crate) async fn random<B: Backend>(ctx: Ctx<B>, query: Query) -> Result<Response, ApiError> {
    query.allow(&["length"])?;
    let length = query
        .parse_u32("length", "between 1 and 4096")?
        .unwrap_or(1);
    ctx.authorize(Action::RandomGet, &ctx.domain_urn())?;
    let bytes = KeyStore::random(length, &mut BackendRng(&ctx.app.backend))?;
    Ok(json(
        StatusCode::OK,
        GetRandomResponse {
            bytes: encode(&bytes),
        },
    ))
}
