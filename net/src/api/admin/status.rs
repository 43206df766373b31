//! What `GET /admin/v1/cluster/status` reports: a node's view of its cluster.
//!
//! The API does not compute it: the node's runtime knows the replication state and the
//! backups, and fills a [`ClusterStatus`] through [`crate::api::Backend::cluster_status`].
//! These are plain data so that the runtime, the API and the CLI (which deserializes the
//! same JSON) agree on one shape.
//!
//! Only a leader knows how far each peer is behind; on other nodes the per-node progress
//! fields are `null`, meaning "not known here", never "zero".

use cairn_core::Timestamp;
use cairn_core::replication::{Index, NodeId, Role, Term};
use serde::{Deserialize, Serialize};

/// A node's view of its cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// The region label of this deployment (as in resource URNs).
    pub region: String,
    /// The node that answered.
    pub node: NodeSummary,
    /// The leader this node follows (itself when it leads), `null` while it knows none.
    pub leader: Option<NodeId>,
    pub term: Term,
    /// The highest log index this node knows to be committed.
    pub commit_index: Index,
    /// The highest log index this node has applied to its key store.
    pub applied_index: Index,
    /// Every node of the configuration, this one included, in configuration order.
    pub nodes: Vec<MemberStatus>,
    /// How far the remote replica is behind, in milliseconds (G4's measured loss window);
    /// `null` when this node cannot tell (not the leader) or there is no remote replica.
    pub replica_lag_ms: Option<u64>,
    /// The newest backup this node knows of; `null` when it knows none.
    pub last_backup: Option<BackupStatus>,
}

/// Who a node is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSummary {
    pub id: NodeId,
    pub name: String,
    pub zone: String,
    /// `voter` or `learner`, from the cluster configuration.
    pub role: Role,
}

/// One node of the cluster as the answering node sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberStatus {
    pub id: NodeId,
    pub name: String,
    pub zone: String,
    pub role: Role,
    /// The highest index the leader knows this node has on disk (leader only).
    pub match_index: Option<Index>,
    /// Entries the leader has that this node has not confirmed (leader only).
    pub lag_entries: Option<u64>,
    /// How long the oldest of those has been waiting, in milliseconds (leader only).
    pub lag_ms: Option<u64>,
    /// Whether the answering node hears from this one; `null` when it cannot tell.
    pub reachable: Option<bool>,
}

/// The newest backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupStatus {
    /// When it was taken (RFC 3339, UTC, whole seconds).
    #[serde(with = "rfc3339")]
    pub at: Timestamp,
    /// Its age when the status was read, in seconds.
    pub age_seconds: u64,
}

impl BackupStatus {
    /// A backup taken `at`, as seen at `now`.
    pub fn new(at: Timestamp, now: Timestamp) -> Self {
        BackupStatus {
            at,
            age_seconds: now.saturating_duration_since(at).as_secs(),
        }
    }
}

/// Timestamps as RFC 3339 text in JSON, as every date of the API is written.
pub(crate) mod rfc3339 {
    use cairn_core::Timestamp;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&text).ok_or_else(|| D::Error::custom("expected an RFC 3339 date"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_shape() {
        let status = ClusterStatus {
            region: "eu".into(),
            node: NodeSummary {
                id: NodeId(1),
                name: "a1".into(),
                zone: "a".into(),
                role: Role::Voter,
            },
            leader: None,
            term: 3,
            commit_index: 10,
            applied_index: 9,
            nodes: vec![MemberStatus {
                id: NodeId(5),
                name: "r1".into(),
                zone: "r".into(),
                role: Role::Learner,
                match_index: Some(8),
                lag_entries: Some(2),
                lag_ms: Some(40),
                reachable: None,
            }],
            replica_lag_ms: Some(40),
            last_backup: Some(BackupStatus::new(
                Timestamp::from_millis(1_795_878_491_000),
                Timestamp::from_millis(1_795_878_551_500),
            )),
        };
        let value = serde_json::to_value(&status).unwrap();
        assert_eq!(
            value,
            json!({
                "region": "eu",
                "node": {"id": 1, "name": "a1", "zone": "a", "role": "voter"},
                "leader": null,
                "term": 3,
                "commit_index": 10,
                "applied_index": 9,
                "nodes": [{
                    "id": 5, "name": "r1", "zone": "r", "role": "learner",
                    "match_index": 8, "lag_entries": 2, "lag_ms": 40, "reachable": null,
                }],
                "replica_lag_ms": 40,
                "last_backup": {"at": "2026-11-28T15:08:11Z", "age_seconds": 60},
            })
        );
        assert_eq!(
            serde_json::from_value::<ClusterStatus>(value).unwrap(),
            status
        );
    }
}
