//! Tests of the key store through its public operations, with a fixture that plays the role
//! of the log: it numbers commands and stamps them with a simulated time.

mod crypto;
mod import;
mod lifecycle;
mod properties;
mod snapshots;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::api::CreateImportServiceKeyRequest;
use crate::crypto::hierarchy::RootKey;
use crate::ids::{DomainId, KeyId};
use crate::key::spec::{Curve, KeyType};
use crate::key::state::{RevocationReason, Transition};
use crate::store::command::{Applied, Command, Outcome};
use crate::store::keystore::KeyStore;
use crate::time::Timestamp;

/// 2026-11-28T15:08:11Z.
pub(crate) const T0: u64 = 1_795_878_491_000;

pub(crate) struct Fixture {
    pub store: KeyStore,
    pub rng: ChaCha20Rng,
    pub index: u64,
    pub now: Timestamp,
    pub domain: DomainId,
}

impl Fixture {
    pub fn new(seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let store = KeyStore::new(RootKey::from_bytes(&[7; 32]));
        let domain = DomainId::random(&mut rng);
        let mut f = Fixture {
            store,
            rng,
            index: 0,
            now: Timestamp::from_millis(T0),
            domain,
        };
        let cmd = f.store.prepare_domain(domain, &mut f.rng).unwrap();
        assert_eq!(f.apply(&cmd), Ok(Applied::DomainCreated(domain)));
        f
    }

    /// Applies `cmd` as the next log entry, one second after the previous one.
    pub fn apply(&mut self, cmd: &Command) -> Outcome {
        self.index += 1;
        self.now = self.now.saturating_add(std::time::Duration::from_secs(1));
        // Through the log's encoding, as a replica would receive it.
        let cmd = Command::decode(&cmd.encode()).expect("commands round-trip");
        self.store.apply(self.index, self.now, &cmd)
    }

    pub fn create(&mut self, req: &CreateImportServiceKeyRequest) -> Result<KeyId, crate::Error> {
        let cmd = self.store.prepare_key(self.domain, req, &mut self.rng)?;
        match self.apply(&cmd)? {
            Applied::KeyCreated { key, .. } => Ok(key),
            other => panic!("create applied as {other:?}"),
        }
    }

    pub fn new_key(&mut self, kind: KeyType, size: Option<u32>, curve: Option<Curve>) -> KeyId {
        self.create(&CreateImportServiceKeyRequest {
            name: format!("{kind:?}-{}", self.index),
            kind: Some(kind),
            size,
            curve,
            ..Default::default()
        })
        .expect("key created")
    }

    pub fn oct(&mut self) -> KeyId {
        self.new_key(KeyType::Oct, Some(256), None)
    }

    pub fn transition(&mut self, key: KeyId, t: Transition) -> Outcome {
        let cmd = self
            .store
            .prepare_transition(self.domain, key, t, self.now)?;
        self.apply(&cmd)
    }

    pub fn deactivate(&mut self, key: KeyId, reason: RevocationReason) -> Outcome {
        self.transition(key, Transition::Deactivate(reason))
    }
}
