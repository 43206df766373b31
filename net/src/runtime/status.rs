//! The node's view of its cluster, as the admin API reports it
//! ([`crate::api::admin::ClusterStatus`]).
//!
//! Everything comes from the core node under its lock: `Node::status()` for this node's
//! term, leader and indexes, the configuration for the members, and on the leader only the
//! replication progress and lag of every other node (`Node::progress()`, `Node::lag_of()`).
//! On other nodes those fields are `null`: not known here.

use std::time::Duration;

use cairn_core::Timestamp;
use cairn_core::replication::{Node, Role};

use super::NodeRuntime;
use crate::api::admin::{BackupStatus, ClusterStatus, MemberStatus, NodeSummary};

/// A node the leader has not heard from for this long is reported unreachable.
const REACHABLE_WITHIN: Duration = Duration::from_secs(5);

impl NodeRuntime {
    /// This node's view of its cluster, now. Only the node that takes the backups (the
    /// remote replica) knows the last one; elsewhere `last_backup` is `null`.
    pub fn cluster_status(&self) -> ClusterStatus {
        let now = super::now();
        let mut status = self.inspect(|node| status_of(node, &self.shared.urn_region, now));
        let last = self
            .shared
            .last_backup_ms
            .load(std::sync::atomic::Ordering::Relaxed);
        status.last_backup =
            (last > 0).then(|| BackupStatus::new(Timestamp::from_millis(last), now));
        status
    }
}

fn status_of(node: &Node, region: &str, now: Timestamp) -> ClusterStatus {
    let status = node.status();
    let config = node.config();
    let progress = node.progress();
    let leading = status.leader == Some(status.id) && status.role == "leader";
    let me = config.node(status.id);
    let summary = NodeSummary {
        id: status.id,
        name: me.map_or_else(|| status.id.to_string(), |n| n.name.clone()),
        zone: me.map(|n| n.zone.clone()).unwrap_or_default(),
        role: me.map_or(Role::Learner, |n| n.role),
    };
    let nodes = config
        .nodes
        .iter()
        .map(|n| {
            if n.id == status.id {
                return MemberStatus {
                    id: n.id,
                    name: n.name.clone(),
                    zone: n.zone.clone(),
                    role: n.role,
                    match_index: Some(status.persisted),
                    lag_entries: leading.then_some(0),
                    lag_ms: leading.then_some(0),
                    reachable: Some(true),
                };
            }
            let p = progress.get(&n.id);
            let lag = node.lag_of(n.id);
            MemberStatus {
                id: n.id,
                name: n.name.clone(),
                zone: n.zone.clone(),
                role: n.role,
                match_index: p.map(|p| p.matched),
                lag_entries: lag.map(|l| l.entries),
                lag_ms: lag.map(|l| l.millis),
                reachable: p.map(|p| {
                    p.last_heard
                        .is_some_and(|t| now.saturating_duration_since(t) <= REACHABLE_WITHIN)
                }),
            }
        })
        .collect();
    let replica_lag_ms = node.remote_lags().iter().map(|l| l.millis).max();
    ClusterStatus {
        region: region.to_string(),
        node: summary,
        leader: status.leader,
        term: status.term,
        commit_index: status.commit,
        applied_index: status.applied,
        nodes,
        replica_lag_ms,
        last_backup: None,
    }
}
