//! The shape of the simulated region: which nodes exist, where, and with which role.
//!
//! DESIGN §1: a primary region with zones `a` and `b` holding the voters, a remote replica
//! (`r1`, a learner in another region) and optionally extra learners in the primary region
//! that only scale the API. Node ids are dense (`0..n`, in the order a1…, b1…, r1, l2, …) so
//! that the simulator can index its tables by id.

use cairn_core::replication::{ClusterConfig, NodeId, NodeInfo, Role};

/// The primary region's name in every simulated cluster.
pub const PRIMARY_REGION: &str = "eu-west";
/// The remote replica's region.
pub const REMOTE_REGION: &str = "eu-central";
/// The zones of the primary region, in order.
pub const PRIMARY_ZONES: [&str; 2] = ["a", "b"];
/// The remote replica's zone.
pub const REMOTE_ZONE: &str = "r";

/// How many voters per primary zone, and how many learners.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Topology {
    /// 1 (commit needs both zones) or 2 (a zone may lose one host and keep writing).
    pub voters_per_zone: u16,
    /// 0 to 2: the first is the remote replica `r1` (region `eu-central`, zone `r`); the
    /// next ones are API nodes of the primary region (`l2` in zone a, `l3` in zone b, …).
    pub learners: u16,
}

impl Topology {
    /// One voter per zone and the remote replica: the smallest full region.
    pub const SMALL: Topology = Topology {
        voters_per_zone: 1,
        learners: 1,
    };
    /// Two voters per zone and the remote replica (5 nodes).
    pub const FULL: Topology = Topology {
        voters_per_zone: 2,
        learners: 1,
    };

    /// The cluster configuration (generation 1) of this topology.
    ///
    /// # Panics
    /// If `voters_per_zone` is 0.
    pub fn cluster(&self) -> ClusterConfig {
        assert!(self.voters_per_zone > 0, "a region needs voters");
        let mut nodes = Vec::new();
        let mut next = 0u16;
        let mut add = |name: String, region: &str, zone: &str, role: Role| {
            nodes.push(NodeInfo {
                id: NodeId(next),
                name,
                region: region.into(),
                zone: zone.into(),
                role,
            });
            next += 1;
        };
        for zone in PRIMARY_ZONES {
            for i in 1..=self.voters_per_zone {
                add(format!("{zone}{i}"), PRIMARY_REGION, zone, Role::Voter);
            }
        }
        for i in 1..=self.learners {
            if i == 1 {
                add("r1".into(), REMOTE_REGION, REMOTE_ZONE, Role::Learner);
            } else {
                let zone = PRIMARY_ZONES[usize::from(i) % 2];
                add(format!("l{i}"), PRIMARY_REGION, zone, Role::Learner);
            }
        }
        ClusterConfig {
            generation: 1,
            primary_region: PRIMARY_REGION.into(),
            nodes,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn names(t: Topology) -> Vec<String> {
        t.cluster().nodes.into_iter().map(|n| n.name).collect()
    }

    #[test]
    fn names_roles_and_places() {
        assert_eq!(names(Topology::SMALL), ["a1", "b1", "r1"]);
        let full = Topology {
            voters_per_zone: 2,
            learners: 2,
        };
        assert_eq!(names(full), ["a1", "a2", "b1", "b2", "r1", "l2"]);
        let c = full.cluster();
        c.validate().unwrap();
        assert_eq!(c.quorum(), 3);
        assert_eq!(c.primary_zones(), BTreeSet::from(["a", "b"]));
        let r1 = &c.nodes[4];
        assert_eq!(
            (r1.role, r1.region.as_str(), r1.zone.as_str()),
            (Role::Learner, REMOTE_REGION, REMOTE_ZONE)
        );
        let l2 = &c.nodes[5];
        assert_eq!(
            (l2.role, l2.region.as_str()),
            (Role::Learner, PRIMARY_REGION)
        );
        assert!(
            c.nodes
                .iter()
                .enumerate()
                .all(|(i, n)| usize::from(n.id.0) == i)
        );
        let bare = Topology {
            voters_per_zone: 1,
            learners: 0,
        };
        assert_eq!(names(bare), ["a1", "b1"]);
    }
}
