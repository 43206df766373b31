//! Who is in the cluster, where, and with which role; and the commit rule that follows.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A node of the cluster, numbered by the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId(pub u16);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// What a node does in replication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A store of the primary region: counts for commits and elections.
    Voter,
    /// Receives the committed log and serves reads and crypto; never votes. The remote
    /// replica is a learner in another region.
    Learner,
}

/// One node of the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub id: NodeId,
    /// A human name (`a1`, `b2`, `r1`), used in logs and reports.
    pub name: String,
    pub region: String,
    pub zone: String,
    pub role: Role,
}

/// The static membership of a cluster generation.
///
/// The commit rule (DESIGN §5): an entry is committed once it is on disk on a majority of
/// voters *and* on at least one voter in every zone of the primary region. With one voter
/// per zone that is "both zones"; with two per zone a zone can lose a host and keep writing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterConfig {
    /// Incremented by every recovery; nodes of an older generation are fenced.
    pub generation: u64,
    pub primary_region: String,
    pub nodes: Vec<NodeInfo>,
}

/// A configuration that cannot work.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("node id {0} appears twice")]
    DuplicateId(NodeId),
    #[error("the cluster has no voter")]
    NoVoter,
    #[error("voter {0} is outside the primary region {1}")]
    VoterOutsidePrimary(String, String),
}

impl ClusterConfig {
    /// Checks the configuration; every node must be built from a valid one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut seen = BTreeSet::new();
        for n in &self.nodes {
            if !seen.insert(n.id) {
                return Err(ConfigError::DuplicateId(n.id));
            }
            if n.role == Role::Voter && n.region != self.primary_region {
                return Err(ConfigError::VoterOutsidePrimary(
                    n.name.clone(),
                    self.primary_region.clone(),
                ));
            }
        }
        if self.voters().next().is_none() {
            return Err(ConfigError::NoVoter);
        }
        Ok(())
    }

    pub fn node(&self, id: NodeId) -> Option<&NodeInfo> {
        self.nodes.iter().find(|n| n.id == id)
    }

    pub fn is_voter(&self, id: NodeId) -> bool {
        self.node(id).is_some_and(|n| n.role == Role::Voter)
    }

    pub fn voters(&self) -> impl Iterator<Item = &NodeInfo> {
        self.nodes.iter().filter(|n| n.role == Role::Voter)
    }

    pub fn voter_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.voters().map(|n| n.id)
    }

    /// The zones of the primary region that hold voters, in a stable order.
    pub fn primary_zones(&self) -> BTreeSet<&str> {
        self.voters().map(|n| n.zone.as_str()).collect()
    }

    /// Votes needed to win an election (a strict majority of voters).
    pub fn quorum(&self) -> usize {
        self.voters().count() / 2 + 1
    }

    /// Whether a set of voters satisfies the commit rule: a majority, and every primary
    /// zone represented.
    pub fn is_commit_quorum(&self, holders: &BTreeSet<NodeId>) -> bool {
        let voters: Vec<&NodeInfo> = self.voters().filter(|n| holders.contains(&n.id)).collect();
        voters.len() >= self.quorum()
            && self
                .primary_zones()
                .iter()
                .all(|z| voters.iter().any(|n| n.zone == *z))
    }

    /// Whether a set of voters covers every primary zone (the rule for acknowledging a
    /// write: read-your-writes across zones).
    pub fn covers_every_zone(&self, holders: &BTreeSet<NodeId>) -> bool {
        self.primary_zones().iter().all(|z| {
            self.voters()
                .any(|n| n.zone == *z && holders.contains(&n.id))
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A region with `per_zone` voters in each of zones a and b, and `learners` learners
    /// (the first in the remote region, as the replica).
    pub(crate) fn region(per_zone: u16, learners: u16) -> ClusterConfig {
        let mut nodes = Vec::new();
        let mut id = 0;
        for zone in ["a", "b"] {
            for i in 1..=per_zone {
                nodes.push(NodeInfo {
                    id: NodeId(id),
                    name: format!("{zone}{i}"),
                    region: "eu-west".into(),
                    zone: zone.into(),
                    role: Role::Voter,
                });
                id += 1;
            }
        }
        for i in 1..=learners {
            nodes.push(NodeInfo {
                id: NodeId(id),
                name: format!("r{i}"),
                region: if i == 1 {
                    "eu-central".into()
                } else {
                    "eu-west".into()
                },
                zone: if i == 1 { "r".into() } else { "a".into() },
                role: Role::Learner,
            });
            id += 1;
        }
        ClusterConfig {
            generation: 1,
            primary_region: "eu-west".into(),
            nodes,
        }
    }

    fn set(ids: &[u16]) -> BTreeSet<NodeId> {
        ids.iter().map(|i| NodeId(*i)).collect()
    }

    #[test]
    fn commit_rule_needs_a_majority_and_both_zones() {
        let one = region(1, 1);
        one.validate().unwrap();
        assert_eq!(one.quorum(), 2);
        assert!(one.is_commit_quorum(&set(&[0, 1])));
        assert!(!one.is_commit_quorum(&set(&[0])));
        assert!(
            !one.is_commit_quorum(&set(&[0, 2])),
            "a learner does not count"
        );

        let two = region(2, 0);
        assert_eq!(two.quorum(), 3);
        assert!(
            two.is_commit_quorum(&set(&[0, 1, 2])),
            "a zone may lose a host"
        );
        assert!(!two.is_commit_quorum(&set(&[0, 1])), "no majority");
        assert!(two.covers_every_zone(&set(&[0, 2])));
        assert!(!two.covers_every_zone(&set(&[0, 1])));
    }

    #[test]
    fn invalid_configurations() {
        let mut c = region(1, 0);
        c.nodes[1].id = NodeId(0);
        assert_eq!(c.validate(), Err(ConfigError::DuplicateId(NodeId(0))));
        let mut c = region(1, 0);
        c.nodes[0].region = "elsewhere".into();
        assert!(matches!(
            c.validate(),
            Err(ConfigError::VoterOutsidePrimary(..))
        ));
    }
}
