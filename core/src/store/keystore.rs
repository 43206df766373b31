//! The key store of one node: the replicated [`State`] plus the node's [`Keyring`].

use crate::crypto::hierarchy::RootKey;
use crate::error::Error;
use crate::store::command::{Applied, Command, Outcome};
use crate::store::keyring::Keyring;
use crate::store::state::State;
use crate::time::Timestamp;

/// Applies commands and answers queries (crypto operations, reads).
///
/// Commands change the replicated state; everything else is a query on it. The root key
/// never leaves this struct, and nothing this struct returns holds it.
pub struct KeyStore {
    pub(crate) root: RootKey,
    pub(crate) state: State,
    pub(crate) keyring: Keyring,
    pub(crate) bugs: crate::replication::PlantedBugs,
}

impl KeyStore {
    /// An empty store for a node holding `root`.
    pub fn new(root: RootKey) -> Self {
        KeyStore {
            root,
            state: State::new(),
            keyring: Keyring::default(),
            bugs: crate::replication::PlantedBugs::default(),
        }
    }

    /// A store loaded from a state snapshot ([`State::encode`]), every key unsealed.
    pub fn from_snapshot(root: RootKey, snapshot: &[u8]) -> Result<Self, Error> {
        let mut store = KeyStore::new(root);
        store.restore(snapshot)?;
        Ok(store)
    }

    /// Replaces the whole state by a snapshot (a follower too far behind its leader).
    pub fn restore(&mut self, snapshot: &[u8]) -> Result<(), Error> {
        let state = State::decode(snapshot)?;
        let mut keyring = Keyring::default();
        for domain in state.domains() {
            keyring.add_domain(&self.root, domain);
            for record in domain.keys.values() {
                keyring.refresh_key(domain.id, record);
            }
        }
        self.state = state;
        self.keyring = keyring;
        Ok(())
    }

    /// Switches on planted bugs (only with the `planted-bugs` feature do any exist).
    pub fn set_planted_bugs(&mut self, bugs: crate::replication::PlantedBugs) {
        self.bugs = bugs;
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// Applies the command at log `index`, stamped `time` by the leader, and keeps the keyring
    /// in step.
    pub fn apply(&mut self, index: u64, time: Timestamp, command: &Command) -> Outcome {
        let outcome = self.state.apply(index, time, command);
        match &outcome {
            Ok(Applied::DomainCreated(id)) => {
                let domain = self.state.domain(*id).expect("just created");
                self.keyring.add_domain(&self.root, domain);
            }
            Ok(Applied::KeyCreated { domain, key } | Applied::KeyChanged { domain, key }) => {
                let record = self
                    .state
                    .domain(*domain)
                    .and_then(|d| d.key(*key))
                    .expect("just applied");
                self.keyring.refresh_key(*domain, record);
            }
            _ => {}
        }
        outcome
    }
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("applied_index", &self.state.applied_index())
            .field("unsealed_keys", &self.keyring.len())
            .finish_non_exhaustive()
    }
}
