//! What drivers read from a node besides its outputs: replication lag, and the committed log
//! and state that backups are cut from.

use std::sync::Arc;

use super::Node;
use crate::backup::BackupSource;
use crate::replication::config::NodeId;
use crate::replication::log::{Entry, Index};
use crate::replication::snapshot::Snapshot;

/// How far a node is behind the leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lag {
    pub node: NodeId,
    /// Entries the leader has that the node has not confirmed on disk.
    pub entries: u64,
    /// How long the oldest of those has been waiting (0 when caught up).
    pub millis: u64,
}

impl Node {
    /// The lag of `node` as this node sees it: only a leader knows (`None` elsewhere).
    pub fn lag_of(&self, node: NodeId) -> Option<Lag> {
        let p = self.progress_of(node)?;
        let last = self.log.last_index();
        let entries = last.saturating_sub(p.matched);
        let millis = if entries == 0 {
            0
        } else {
            // The oldest missing entry, or the log's start if it was compacted.
            let oldest = self
                .log
                .get(p.matched + 1)
                .or_else(|| self.log.get(self.log.base_index() + 1))
                .map_or(self.now, |e| e.time);
            self.now.saturating_duration_since(oldest).as_millis() as u64
        };
        Some(Lag {
            node,
            entries,
            millis,
        })
    }

    /// The lag of every learner outside the primary region (the remote replicas).
    pub fn remote_lags(&self) -> Vec<Lag> {
        self.config
            .nodes
            .iter()
            .filter(|n| n.region != self.config.primary_region)
            .filter_map(|n| self.lag_of(n.id))
            .collect()
    }
}

impl BackupSource for Node {
    fn committed(&self) -> Index {
        self.commit.min(self.applied)
    }

    fn committed_entries(&self, from: Index, to: Index) -> Option<Vec<Entry>> {
        if from <= self.log.base_index() || to > self.committed() {
            return None;
        }
        let count = usize::try_from(to + 1 - from).ok()?;
        let entries = self.log.slice(from, count).to_vec();
        (entries.len() == count).then_some(entries)
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            index: self.applied,
            term: self.log.term_at(self.applied).unwrap_or(0),
            config: self.config.clone(),
            data: Arc::new(self.store.state().encode()),
        }
    }
}
