//! Queries: reads and cryptographic operations on a node's applied state.
//!
//! None of these change the replicated state, so any node answers them, leader or not.
//! A key must exist, be in a state that allows the use, and list the operation among its
//! `operations`; checks run in that order so that the error names the first thing to fix.

use std::sync::Arc;

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::api::{KeyFormat, ListServiceKeysResponse, ServiceKeyView};
use crate::crypto::aead::random_nonce;
use crate::crypto::jwe::{self, Content};
use crate::crypto::jws;
use crate::crypto::sign::{self, SignatureAlgorithm, SignatureFormat};
use crate::error::Error;
use crate::ids::{DomainId, KeyId};
use crate::key::jwk::Jwk;
use crate::key::operation::Operation;
use crate::key::spec::KeyType;
use crate::key::state::{StateFilter, Usage};
use crate::store::keyring::Unsealed;
use crate::store::keystore::KeyStore;
use crate::store::listing;
use crate::store::record::KeyRecord;
use crate::{b64, store::validate};

/// Largest plaintext `encrypt` takes, and largest message `sign` takes (OKMS: 4 KiB).
pub const PLAINTEXT_MAX: usize = 4096;
/// Longest `context` of encrypt/decrypt.
pub const CONTEXT_MAX: usize = 64;
/// Longest ciphertext token accepted. OKMS caps the field at 5464 characters, which a 4 KiB
/// plaintext's own ciphertext exceeds once the JWE header, IV and tag are added; Cairn must be
/// able to decrypt everything it encrypts, so it allows 8 KiB.
pub const CIPHERTEXT_MAX: usize = 8192;
/// Longest data-key blob accepted (OKMS: 5000).
pub const DATA_KEY_BLOB_MAX: usize = 5000;
/// Data-key sizes in bits (OKMS: 64–4096).
pub const DATA_KEY_BITS: std::ops::RangeInclusive<i64> = 64..=4096;
/// Random byte counts (OKMS: 1–4096).
pub const RANDOM_BYTES: std::ops::RangeInclusive<u32> = 1..=4096;

/// A key allowed to sign, holding its unsealed material (zeroized with the last handle).
pub struct SigningKey {
    id: KeyId,
    spec: crate::key::spec::KeySpec,
    unsealed: Arc<Unsealed>,
}

impl SigningKey {
    /// Signs `message` (or a digest, with `is_digest`), returning the signature as the
    /// format asks: standard base64 for `raw`, a compact JWS for `jws` and `jwt`.
    pub fn sign<R: CryptoRng + ?Sized>(
        &self,
        alg: SignatureAlgorithm,
        message: &[u8],
        is_digest: bool,
        format: SignatureFormat,
        rng: &mut R,
    ) -> Result<String, Error> {
        check_plaintext("message", message)?;
        let Unsealed::Private { material, .. } = &*self.unsealed else {
            return Err(sign::mismatch(self.id, alg, self.spec));
        };
        match format {
            SignatureFormat::Raw => {
                let signature = sign::sign(self.id, material, alg, message, is_digest, rng)?;
                Ok(b64::encode_std(&signature))
            }
            SignatureFormat::Jws | SignatureFormat::Jwt => {
                if is_digest {
                    return Err(Error::invalid(
                        "isdigest",
                        format!(
                            "a {} signs the message itself, not a digest",
                            format_name(format)
                        ),
                    ));
                }
                jws::sign_compact(self.id, material, alg, message, format.typ(), rng)
            }
        }
    }
}

/// A key allowed to verify, holding its public key.
pub struct VerifyingKey {
    id: KeyId,
    spec: crate::key::spec::KeySpec,
    unsealed: Arc<Unsealed>,
}

impl VerifyingKey {
    /// See [`KeyStore::verify`].
    pub fn verify(
        &self,
        alg: Option<SignatureAlgorithm>,
        message: Option<&[u8]>,
        is_digest: bool,
        signature: &str,
    ) -> Result<bool, Error> {
        if let Some(message) = message {
            check_plaintext("message", message)?;
        }
        let Some(public) = self.unsealed.public() else {
            let alg = alg.unwrap_or(SignatureAlgorithm::Es256);
            return Err(sign::mismatch(self.id, alg, self.spec));
        };
        if signature.contains('.') {
            if is_digest {
                return Err(Error::invalid(
                    "isdigest",
                    "a JWS is verified against its payload, not a digest".into(),
                ));
            }
            return jws::verify_compact(self.id, public, signature, alg, message);
        }
        let alg = alg.ok_or_else(|| {
            Error::invalid(
                "alg",
                "a raw signature needs the algorithm that made it".into(),
            )
        })?;
        let message = message.ok_or_else(|| {
            Error::invalid(
                "message",
                "a raw signature is verified against a message".into(),
            )
        })?;
        let Some(signature) = b64::decode_std(signature) else {
            return Err(Error::malformed("signature", "not standard base64"));
        };
        sign::verify(self.id, public, alg, message, is_digest, &signature)
    }
}

/// A new data key: its plaintext for the caller, and the blob to store beside the data.
pub struct DataKey {
    pub plaintext: Zeroizing<Vec<u8>>,
    pub blob: String,
}

impl KeyStore {
    /// The view of a key (`GET /v1/servicekey/{id}`), with its public JWK when asked.
    pub fn get(
        &self,
        domain: DomainId,
        key: KeyId,
        format: Option<KeyFormat>,
    ) -> Result<ServiceKeyView, Error> {
        let record = self.state.domain(domain)?.key(key)?;
        let jwk = match format {
            None => None,
            Some(KeyFormat::Jwk) => Some(self.public_jwk(domain, record)?),
        };
        Ok(ServiceKeyView::of(record, jwk))
    }

    /// A page of a domain's keys. `visible` lets the caller hide keys IAM does not let it
    /// see (OKMS checks `serviceKey/get` on each listed key); hidden keys still advance the
    /// cursor, so pages stay consistent.
    pub fn list(
        &self,
        domain: DomainId,
        filter: StateFilter,
        max: Option<u32>,
        token: Option<&str>,
        visible: impl Fn(&KeyRecord) -> bool,
    ) -> Result<ListServiceKeysResponse, Error> {
        let page = listing::list(self.state.domain(domain)?, filter, max, token)?;
        Ok(ListServiceKeysResponse {
            objects_list: page
                .keys
                .into_iter()
                .filter(|k| visible(k))
                .map(|k| ServiceKeyView::of(k, None))
                .collect(),
            continuation_token: page.continuation_token,
            is_truncated: page.is_truncated,
        })
    }

    /// Encrypts up to 4 KiB into a JWE naming the key.
    pub fn encrypt<R: CryptoRng + ?Sized>(
        &self,
        domain: DomainId,
        key: KeyId,
        plaintext: &[u8],
        context: Option<&str>,
        rng: &mut R,
    ) -> Result<String, Error> {
        check_plaintext("plaintext", plaintext)?;
        check_context(context)?;
        let (record, unsealed) =
            self.usable(domain, key, Operation::Encrypt, Usage::Protect, "encrypt")?;
        let Unsealed::Oct { aead, header } = &*unsealed else {
            return Err(not_symmetric(record, "encrypt"));
        };
        let nonce = random_nonce(rng);
        Ok(jwe::seal_known(
            aead,
            header,
            plaintext,
            context.map(str::as_bytes),
            nonce,
        ))
    }

    /// Decrypts what [`KeyStore::encrypt`] produced with this key and context.
    pub fn decrypt(
        &self,
        domain: DomainId,
        key: KeyId,
        ciphertext: &str,
        context: Option<&str>,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        check_context(context)?;
        self.open(
            domain,
            key,
            ciphertext,
            CIPHERTEXT_MAX,
            &Content::Data,
            context,
            Operation::Decrypt,
            "decrypt",
        )
    }

    /// A new data key of `bits` bits (64–4096, a multiple of 8), wrapped by the key.
    pub fn generate_data_key<R: CryptoRng + ?Sized>(
        &self,
        domain: DomainId,
        key: KeyId,
        name: Option<&str>,
        bits: i64,
        rng: &mut R,
    ) -> Result<DataKey, Error> {
        if !DATA_KEY_BITS.contains(&bits) || bits % 8 != 0 {
            return Err(Error::invalid(
                "size",
                format!("must be a multiple of 8 between 64 and 4096 bits, got {bits}"),
            ));
        }
        if let Some(name) = name {
            validate::text("name", name, crate::store::state::NAME_MAX)?;
        }
        let (record, unsealed) = self.usable(
            domain,
            key,
            Operation::WrapKey,
            Usage::Protect,
            "create a data key",
        )?;
        let Unsealed::Oct { aead, .. } = &*unsealed else {
            return Err(not_symmetric(record, "create a data key"));
        };
        let mut plaintext = Zeroizing::new(vec![0u8; usize::try_from(bits / 8).unwrap_or(0)]);
        rng.fill_bytes(&mut plaintext);
        let nonce = random_nonce(rng);
        let content = Content::DataKey {
            name: name.filter(|n| !n.is_empty()).map(str::to_string),
        };
        let blob = jwe::seal(aead, key, record.version, &content, &plaintext, None, nonce);
        Ok(DataKey { plaintext, blob })
    }

    /// Opens a data-key blob made by this key.
    pub fn decrypt_data_key(
        &self,
        domain: DomainId,
        key: KeyId,
        blob: &str,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let content = Content::DataKey { name: None };
        self.open(
            domain,
            key,
            blob,
            DATA_KEY_BLOB_MAX,
            &content,
            None,
            Operation::UnwrapKey,
            "decrypt a data key",
        )
    }

    /// Signs `message` (or a digest, with `is_digest`), returning the signature as the
    /// format asks: standard base64 for `raw`, a compact JWS for `jws` and `jwt`.
    #[allow(clippy::too_many_arguments)]
    pub fn sign<R: CryptoRng + ?Sized>(
        &self,
        domain: DomainId,
        key: KeyId,
        alg: SignatureAlgorithm,
        message: &[u8],
        is_digest: bool,
        format: SignatureFormat,
        rng: &mut R,
    ) -> Result<String, Error> {
        self.signing_key(domain, key)?
            .sign(alg, message, is_digest, format, rng)
    }

    /// Verifies a raw signature (base64, with `alg` and `message`) or a compact JWS (with
    /// `message` optional: when given it must be the token's payload). A signature that does
    /// not verify is `Ok(false)`.
    pub fn verify(
        &self,
        domain: DomainId,
        key: KeyId,
        alg: Option<SignatureAlgorithm>,
        message: Option<&[u8]>,
        is_digest: bool,
        signature: &str,
    ) -> Result<bool, Error> {
        self.verifying_key(domain, key)?
            .verify(alg, message, is_digest, signature)
    }

    /// A key that may sign now, detached from the store: a driver takes it under its lock and
    /// signs after releasing it (an RSA signature takes milliseconds).
    pub fn signing_key(&self, domain: DomainId, key: KeyId) -> Result<SigningKey, Error> {
        let (record, unsealed) =
            self.usable(domain, key, Operation::Sign, Usage::Protect, "sign")?;
        Ok(SigningKey {
            id: key,
            spec: record.spec,
            unsealed,
        })
    }

    /// A key that may verify now, detached from the store.
    pub fn verifying_key(&self, domain: DomainId, key: KeyId) -> Result<VerifyingKey, Error> {
        let (record, unsealed) =
            self.usable(domain, key, Operation::Verify, Usage::Process, "verify")?;
        Ok(VerifyingKey {
            id: key,
            spec: record.spec,
            unsealed,
        })
    }

    /// `len` random bytes (1–4096) from the node's RNG.
    pub fn random<R: CryptoRng + ?Sized>(
        len: u32,
        rng: &mut R,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        if !RANDOM_BYTES.contains(&len) {
            return Err(Error::invalid(
                "length",
                format!("must be between 1 and 4096, got {len}"),
            ));
        }
        let mut bytes = Zeroizing::new(vec![0u8; len as usize]);
        rng.fill_bytes(&mut bytes);
        Ok(bytes)
    }

    fn public_jwk(&self, domain: DomainId, record: &KeyRecord) -> Result<Jwk, Error> {
        if record.spec.key_type() == KeyType::Oct {
            return Err(Error::NoPublicKey(KeyType::Oct));
        }
        if record.lifecycle.state.is_destroyed() {
            return Err(Error::KeyState {
                key: record.id,
                state: record.lifecycle.state,
                operation: "export its public key".into(),
                refusal: None,
            });
        }
        let unsealed = self.keyring.key(domain, record.id)?;
        let public = unsealed.public().ok_or(Error::NoPublicKey(KeyType::Oct))?;
        Ok(public.to_jwk(record.id, record.operations))
    }

    #[allow(clippy::too_many_arguments)]
    fn open(
        &self,
        domain: DomainId,
        key: KeyId,
        token: &str,
        max_len: usize,
        content: &Content,
        context: Option<&str>,
        op: Operation,
        action: &str,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let what = match content {
            Content::Data => "ciphertext",
            Content::DataKey { .. } => "data key",
        };
        if token.is_empty() || token.len() > max_len {
            return Err(Error::malformed(
                what,
                format!("must be 1 to {max_len} characters, got {}", token.len()),
            ));
        }
        let (record, unsealed) = self.usable(domain, key, op, Usage::Process, action)?;
        let Unsealed::Oct { aead, header } = &*unsealed else {
            return Err(not_symmetric(record, action));
        };
        let parsed = jwe::parse(token, content, Some(header))?;
        if parsed.kid() != key {
            return Err(Error::WrongKey {
                what: what.into(),
                expected: key,
                found: parsed.kid().to_string(),
            });
        }
        if parsed.version() != record.version {
            return Err(Error::malformed(
                what,
                format!(
                    "names key version {}, which this key does not have",
                    parsed.version()
                ),
            ));
        }
        parsed.open(aead, context.map(str::as_bytes))
    }

    /// The key if it may be used for `op` now; see the module docs for the order of checks.
    fn usable(
        &self,
        domain: DomainId,
        key: KeyId,
        op: Operation,
        usage: Usage,
        action: &str,
    ) -> Result<(&KeyRecord, Arc<Unsealed>), Error> {
        let record = self.state.domain(domain)?.key(key)?;
        if !record.lifecycle.state.allows(usage) {
            return Err(Error::KeyState {
                key,
                state: record.lifecycle.state,
                operation: action.into(),
                refusal: None,
            });
        }
        if !record.operations.contains(op) {
            return Err(Error::OperationNotPermitted {
                key,
                operation: op.as_str().into(),
            });
        }
        Ok((record, self.keyring.key(domain, key)?))
    }
}

fn check_plaintext(field: &str, bytes: &[u8]) -> Result<(), Error> {
    if bytes.is_empty() || bytes.len() > PLAINTEXT_MAX {
        return Err(Error::invalid(
            field,
            format!("must be 1 to {PLAINTEXT_MAX} bytes, got {}", bytes.len()),
        ));
    }
    Ok(())
}

/// The context is associated data, not text for humans: any characters, at most 64.
fn check_context(context: Option<&str>) -> Result<(), Error> {
    let len = context.map_or(0, |c| c.chars().count());
    if len > CONTEXT_MAX {
        return Err(Error::invalid(
            "context",
            format!("must be at most {CONTEXT_MAX} characters, got {len}"),
        ));
    }
    Ok(())
}

fn not_symmetric(record: &KeyRecord, action: &str) -> Error {
    Error::unsupported(
        "key",
        format!(
            "{} keys cannot {action}; use an oct key",
            record.spec.key_type()
        ),
    )
}

fn format_name(format: SignatureFormat) -> &'static str {
    match format {
        SignatureFormat::Raw => "raw signature",
        SignatureFormat::Jws => "JWS",
        SignatureFormat::Jwt => "JWT",
    }
}
