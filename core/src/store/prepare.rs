//! Turning requests into commands: validation, and every random draw (ids, material,
//! nonces), so that applying the command later is deterministic.
//!
//! Preparation checks everything it can up front, so a bad request fails before it costs a
//! round of replication; `apply` checks again what depends on the state at its log position
//! (the id may have been taken in between).

use rand_core::CryptoRng;

use crate::api::{CreateImportServiceKeyRequest, ProtectionLevel};
use crate::error::Error;
use crate::iam::{Credential, Policy};
use crate::ids::{DomainId, KeyId};
use crate::key::jwk::Imported;
use crate::key::material::Material;
use crate::key::operation::Operations;
use crate::key::spec::KeySpec;
use crate::key::state::Transition;
use crate::store::command::{Command, NewKey};
use crate::store::keystore::KeyStore;
use crate::store::record::{Origin, StoredMaterial};
use crate::store::state::{CONTEXT_MAX, NAME_MAX};
use crate::store::validate;

impl KeyStore {
    /// A new domain with a fresh KEK sealed under the root key.
    pub fn prepare_domain<R: CryptoRng + ?Sized>(
        &self,
        id: DomainId,
        rng: &mut R,
    ) -> Result<Command, Error> {
        if self.state.domain(id).is_ok() {
            return Err(Error::DomainExists(id));
        }
        let (_, sealed_kek) = self.root.new_domain_kek(id, rng);
        Ok(Command::CreateDomain { id, sealed_kek })
    }

    /// Creates (generates) or imports a key, as `POST /v1/servicekey` asks: both halves of
    /// the preparation, [`KeyStore::prepare_material`] then [`KeyStore::seal_key`].
    pub fn prepare_key<R: CryptoRng + ?Sized>(
        &self,
        domain: DomainId,
        req: &CreateImportServiceKeyRequest,
        rng: &mut R,
    ) -> Result<Command, Error> {
        let prepared = KeyStore::prepare_material(req, rng)?;
        self.seal_key(domain, req, &prepared, rng)
    }

    /// The half of a key's preparation that needs no state: checking the request and
    /// generating (or importing) the material. RSA generation takes up to seconds, so drivers
    /// run this away from the node and only [`KeyStore::seal_key`] against it.
    pub fn prepare_material<R: CryptoRng + ?Sized>(
        req: &CreateImportServiceKeyRequest,
        rng: &mut R,
    ) -> Result<PreparedMaterial, Error> {
        validate::name("name", &req.name, NAME_MAX)?;
        if let Some(context) = &req.context {
            validate::text("context", context, CONTEXT_MAX)?;
        }
        match req.protection_level {
            None | Some(ProtectionLevel::Software) => {}
            Some(other) => {
                return Err(Error::unsupported(
                    "protectionLevel",
                    format!(
                        "{} is not available: Cairn keeps keys in software (SOFTWARE)",
                        other.as_str()
                    ),
                ));
            }
        }
        if req.extractable == Some(true) {
            return Err(Error::unsupported(
                "extractable",
                "Cairn keys are never extractable: key material does not leave the service",
            ));
        }
        let (origin, imported) = match &req.keys {
            None => {
                let kind = req.kind.ok_or_else(|| {
                    Error::invalid("type", "a new key needs a type: oct, RSA or EC".into())
                })?;
                let spec = KeySpec::new(kind, req.size, req.curve)?;
                (
                    Origin::Generated,
                    Imported::Private(Material::generate(spec, rng)?),
                )
            }
            Some(keys) => {
                let [jwk] = keys.as_slice() else {
                    return Err(Error::invalid(
                        "keys",
                        format!("an import takes exactly one JWK, got {}", keys.len()),
                    ));
                };
                let imported = jwk.import()?;
                check_declared(req, imported.spec())?;
                (Origin::Imported, imported)
            }
        };
        let spec = imported.spec();
        let has_private = matches!(imported, Imported::Private(_));
        let requested = req.operations.clone().or_else(|| {
            req.keys
                .as_ref()
                .and_then(|k| k[0].key_ops)
                .map(|o| o.iter().collect())
        });
        let operations =
            Operations::for_new_key(spec.key_type(), has_private, requested.as_deref())?;
        Ok(PreparedMaterial {
            origin,
            imported,
            operations,
        })
    }

    /// The half of a key's preparation that needs the state: its id, and its material sealed
    /// under the domain KEK. Fast.
    pub fn seal_key<R: CryptoRng + ?Sized>(
        &self,
        domain: DomainId,
        req: &CreateImportServiceKeyRequest,
        prepared: &PreparedMaterial,
        rng: &mut R,
    ) -> Result<Command, Error> {
        let d = self.state.domain(domain)?;
        let id = match req.id {
            Some(uuid) => KeyId::from_uuid(uuid),
            None => KeyId::random(rng),
        };
        if d.keys.contains_key(&id) {
            return Err(Error::KeyExists(id));
        }
        let kek = self.keyring.kek(domain)?;
        let PreparedMaterial {
            origin,
            imported,
            operations,
        } = prepared;
        let (origin, operations) = (*origin, *operations);
        let spec = imported.spec();
        #[cfg(feature = "planted-bugs")]
        let leaked = match (&imported, self.bugs.leak_material()) {
            (Imported::Private(m), true) => m.to_sealable_bytes().to_vec(),
            _ => Vec::new(),
        };
        let material = match imported {
            Imported::Private(material) => StoredMaterial::Secret {
                sealed: kek.seal_material(domain, id, 1, &material.to_sealable_bytes(), rng),
                public: material.public_key().map(|p| p.to_spki_der()),
            },
            Imported::Public(public) => StoredMaterial::PublicOnly {
                public: public.to_spki_der(),
            },
        };
        Ok(Command::CreateKey(Box::new(NewKey {
            domain,
            id,
            name: req.name.clone(),
            context: req.context.clone(),
            spec,
            operations,
            origin,
            material,
            #[cfg(feature = "planted-bugs")]
            leaked,
        })))
    }

    /// `PATCH`: a new name.
    pub fn prepare_rename(
        &self,
        domain: DomainId,
        key: KeyId,
        name: &str,
    ) -> Result<Command, Error> {
        validate::name("name", name, NAME_MAX)?;
        self.state.domain(domain)?.key(key)?;
        Ok(Command::RenameKey {
            domain,
            key,
            name: name.to_string(),
        })
    }

    /// Activate, deactivate or delete; refused here already when the current state forbids
    /// it, so that the caller gets the answer without a round of replication.
    pub fn prepare_transition(
        &self,
        domain: DomainId,
        key: KeyId,
        transition: Transition,
        now: crate::time::Timestamp,
    ) -> Result<Command, Error> {
        let record = self.state.domain(domain)?.key(key)?;
        record
            .lifecycle
            .after(transition, now)
            .map_err(|refusal| Error::KeyState {
                key,
                state: record.lifecycle.state,
                operation: transition.name().into(),
                refusal: Some(refusal),
            })?;
        Ok(Command::Transition {
            domain,
            key,
            transition,
        })
    }

    pub fn prepare_credential(
        &self,
        domain: DomainId,
        credential: Credential,
    ) -> Result<Command, Error> {
        credential.validate()?;
        let d = self.state.domain(domain)?;
        if d.credentials.contains_key(&credential.id) {
            return Err(Error::CredentialExists(credential.id));
        }
        if let Some((_, owner)) = self.state.credential_for(&credential.binding) {
            return Err(Error::BindingInUse(owner));
        }
        Ok(Command::CreateCredential { domain, credential })
    }

    pub fn prepare_policy(&self, domain: DomainId, policy: Policy) -> Result<Command, Error> {
        policy.validate()?;
        self.state.domain(domain)?;
        Ok(Command::PutPolicy { domain, policy })
    }
}

/// Checked, generated or imported material of a new key, not yet sealed; never serialized,
/// zeroized on drop (the material types wipe themselves).
pub struct PreparedMaterial {
    origin: Origin,
    imported: Imported,
    operations: Operations,
}

impl std::fmt::Debug for PreparedMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PreparedMaterial({}, redacted)", self.imported.spec())
    }
}

/// On import, `type`, `size` and `curve` are optional; when given they must describe the JWK.
fn check_declared(req: &CreateImportServiceKeyRequest, spec: KeySpec) -> Result<(), Error> {
    let mismatch = |field: &str, declared: String| {
        Err(Error::invalid(
            field,
            format!("{declared} does not describe the imported key ({spec})"),
        ))
    };
    if let Some(kind) = req.kind
        && kind != spec.key_type()
    {
        return mismatch("type", kind.to_string());
    }
    if let Some(size) = req.size
        && Some(size) != spec.size().map(u32::from)
    {
        return mismatch("size", size.to_string());
    }
    if let Some(curve) = req.curve
        && Some(curve) != spec.curve()
    {
        return mismatch("curve", curve.to_string());
    }
    Ok(())
}
