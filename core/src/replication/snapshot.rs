//! Snapshots: the applied key-store state at a log position, which replaces the log before it.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::replication::config::ClusterConfig;
use crate::replication::log::{Index, Term};

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The last entry the snapshot covers, and its term.
    pub index: Index,
    pub term: Term,
    pub config: ClusterConfig,
    /// `State::encode()` of the key store: sealed material only, never plaintext (G6).
    /// Shared, because a leader sends the same bytes to every follower that needs them.
    pub data: Arc<Vec<u8>>,
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Snapshot {{ index: {}, term: {}, {} bytes }}",
            self.index,
            self.term,
            self.data.len()
        )
    }
}
