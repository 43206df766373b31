//! The network between nodes: latency by distance, faults per directed link, partitions.
//!
//! Messages travel as bytes (the simulator encodes each [`Packet`](cairn_core::replication::Packet)
//! once when it is sent and decodes it at delivery), so what the G6 oracle scans is exactly
//! what would cross a wire. The network decides each message's fate when it is sent
//! ([`Network::route`]) and is asked again at delivery whether the link is still up, so a
//! partition also drops what was already in flight.
//!
//! Tables are dense `n × n` matrices indexed by node id (ids are `0..n`): a lookup per
//! message, nothing per pair of nodes per event.

use std::time::Duration;

use cairn_core::replication::{ClusterConfig, NodeId};

use crate::clock::Micros;
use crate::rng::{SimRng, micros};

/// One-way latencies by distance, and the faults every link starts with.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkConfig {
    /// Between two nodes of one zone.
    pub same_zone: (Duration, Duration),
    /// Between zones of one region.
    pub cross_zone: (Duration, Duration),
    /// Between regions.
    pub cross_region: (Duration, Duration),
    /// The faults of every link at the start (none by default).
    pub faults: LinkFaults,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            same_zone: (Duration::from_micros(100), Duration::from_micros(500)),
            cross_zone: (Duration::from_millis(1), Duration::from_millis(3)),
            cross_region: (Duration::from_millis(15), Duration::from_millis(40)),
            faults: LinkFaults::NONE,
        }
    }
}

/// What can go wrong on one directed link, per message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkFaults {
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a message is delivered twice (the copy with its own latency).
    pub duplicate: f64,
    /// Probability that a message gets an extra delay uniform in `0..=reorder_max`, which
    /// lets later messages overtake it.
    pub reorder: f64,
    pub reorder_max: Duration,
    /// Probability of a delay spike: an extra delay drawn from `spike_delay`.
    pub spike: f64,
    pub spike_delay: (Duration, Duration),
}

impl LinkFaults {
    /// A perfect link (latency only).
    pub const NONE: LinkFaults = LinkFaults {
        loss: 0.0,
        duplicate: 0.0,
        reorder: 0.0,
        reorder_max: Duration::from_millis(20),
        spike: 0.0,
        spike_delay: (Duration::from_millis(200), Duration::from_secs(2)),
    };

    /// A flaky link, for swarm runs: a little of everything.
    pub const FLAKY: LinkFaults = LinkFaults {
        loss: 0.02,
        duplicate: 0.01,
        reorder: 0.05,
        reorder_max: Duration::from_millis(20),
        spike: 0.002,
        spike_delay: (Duration::from_millis(200), Duration::from_secs(2)),
    };
}

impl Default for LinkFaults {
    fn default() -> Self {
        LinkFaults::NONE
    }
}

/// How far apart two nodes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distance {
    SameZone,
    CrossZone,
    CrossRegion,
}

/// What happens to one sent message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Lost by a link fault.
    Lost,
    /// The link is cut.
    Cut,
    /// Delivered after this many microseconds, and a duplicate after the second delay.
    Deliver(Micros, Option<Micros>),
}

/// The links between the nodes of a cluster.
#[derive(Clone, Debug)]
pub struct Network {
    n: usize,
    config: NetworkConfig,
    distance: Vec<Distance>,
    cut: Vec<bool>,
    faults: Vec<LinkFaults>,
}

impl Network {
    /// # Panics
    /// If node ids are not `0..n` (see [`crate::topology`]).
    pub fn new(cluster: &ClusterConfig, config: NetworkConfig) -> Self {
        let n = cluster.nodes.len();
        assert!(
            cluster
                .nodes
                .iter()
                .enumerate()
                .all(|(i, node)| usize::from(node.id.0) == i),
            "node ids must be 0..n"
        );
        let mut distance = Vec::with_capacity(n * n);
        for a in &cluster.nodes {
            for b in &cluster.nodes {
                distance.push(if a.region != b.region {
                    Distance::CrossRegion
                } else if a.zone != b.zone {
                    Distance::CrossZone
                } else {
                    Distance::SameZone
                });
            }
        }
        Network {
            n,
            faults: vec![config.faults; n * n],
            config,
            distance,
            cut: vec![false; n * n],
        }
    }

    fn at(&self, from: NodeId, to: NodeId) -> usize {
        usize::from(from.0) * self.n + usize::from(to.0)
    }

    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }

    pub fn distance(&self, from: NodeId, to: NodeId) -> Distance {
        self.distance[self.at(from, to)]
    }

    /// Whether messages from `from` to `to` are dropped by a partition.
    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.cut[self.at(from, to)]
    }

    /// Cuts one direction: `from` can no longer reach `to` (the other way still works).
    pub fn cut(&mut self, from: NodeId, to: NodeId) {
        let i = self.at(from, to);
        self.cut[i] = true;
    }

    pub fn heal_link(&mut self, from: NodeId, to: NodeId) {
        let i = self.at(from, to);
        self.cut[i] = false;
    }

    /// Cuts every link between a node for which `inside` holds and one for which it does
    /// not, both ways (isolating a node, a zone or a region).
    pub fn isolate(&mut self, inside: impl Fn(NodeId) -> bool) {
        for a in 0..self.n {
            for b in 0..self.n {
                let (x, y) = (id(a), id(b));
                if inside(x) != inside(y) {
                    self.cut(x, y);
                }
            }
        }
    }

    /// Removes every partition (link faults stay).
    pub fn heal(&mut self) {
        self.cut.fill(false);
    }

    /// The directed links that are cut, in order.
    pub fn cut_links(&self) -> Vec<(NodeId, NodeId)> {
        (0..self.n * self.n)
            .filter(|i| self.cut[*i])
            .map(|i| (id(i / self.n), id(i % self.n)))
            .collect()
    }

    pub fn link_faults(&self, from: NodeId, to: NodeId) -> &LinkFaults {
        &self.faults[self.at(from, to)]
    }

    pub fn set_link_faults(&mut self, from: NodeId, to: NodeId, faults: LinkFaults) {
        let i = self.at(from, to);
        self.faults[i] = faults;
    }

    /// The same faults on every link.
    pub fn set_all_faults(&mut self, faults: LinkFaults) {
        self.faults.fill(faults);
    }

    /// Decides the fate of a message sent now from `from` to `to`.
    pub fn route(&self, from: NodeId, to: NodeId, rng: &mut SimRng) -> Fate {
        let i = self.at(from, to);
        if self.cut[i] {
            return Fate::Cut;
        }
        let faults = &self.faults[i];
        if rng.chance(faults.loss) {
            return Fate::Lost;
        }
        let first = self.delay(self.distance[i], faults, rng);
        let copy = rng
            .chance(faults.duplicate)
            .then(|| self.delay(self.distance[i], faults, rng));
        Fate::Deliver(first, copy)
    }

    fn delay(&self, distance: Distance, faults: &LinkFaults, rng: &mut SimRng) -> Micros {
        let range = match distance {
            Distance::SameZone => self.config.same_zone,
            Distance::CrossZone => self.config.cross_zone,
            Distance::CrossRegion => self.config.cross_region,
        };
        let mut d = rng.micros_between(range);
        if rng.chance(faults.reorder) {
            d += rng.range(0, micros(faults.reorder_max));
        }
        if rng.chance(faults.spike) {
            d += rng.micros_between(faults.spike_delay);
        }
        d.max(1)
    }
}

fn id(i: usize) -> NodeId {
    NodeId(u16::try_from(i).expect("small clusters"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Topology;

    fn net() -> Network {
        Network::new(&Topology::FULL.cluster(), NetworkConfig::default())
    }

    #[test]
    fn latency_follows_distance() {
        let n = net();
        let mut rng = SimRng::new(3);
        let (a1, a2, b1, r1) = (NodeId(0), NodeId(1), NodeId(2), NodeId(4));
        for _ in 0..200 {
            let Fate::Deliver(same, None) = n.route(a1, a2, &mut rng) else {
                panic!()
            };
            let Fate::Deliver(zone, None) = n.route(a1, b1, &mut rng) else {
                panic!()
            };
            let Fate::Deliver(region, None) = n.route(b1, r1, &mut rng) else {
                panic!()
            };
            assert!((100..=500).contains(&same), "{same}");
            assert!((1000..=3000).contains(&zone), "{zone}");
            assert!((15_000..=40_000).contains(&region), "{region}");
        }
    }

    #[test]
    fn partitions_cut_exactly_the_links_asked() {
        let mut n = net();
        n.isolate(|id| id == NodeId(0) || id == NodeId(1)); // zone a
        assert!(n.is_cut(NodeId(0), NodeId(2)) && n.is_cut(NodeId(2), NodeId(1)));
        assert!(!n.is_cut(NodeId(0), NodeId(1)) && !n.is_cut(NodeId(2), NodeId(4)));
        assert_eq!(n.cut_links().len(), 2 * 2 * 3);
        n.heal();
        assert!(n.cut_links().is_empty());
        n.cut(NodeId(3), NodeId(0));
        assert!(n.is_cut(NodeId(3), NodeId(0)) && !n.is_cut(NodeId(0), NodeId(3)));
        let mut rng = SimRng::new(1);
        assert_eq!(n.route(NodeId(3), NodeId(0), &mut rng), Fate::Cut);
        n.heal_link(NodeId(3), NodeId(0));
        assert!(matches!(
            n.route(NodeId(3), NodeId(0), &mut rng),
            Fate::Deliver(..)
        ));
    }

    #[test]
    fn link_faults_lose_duplicate_and_delay() {
        let mut n = net();
        let faults = LinkFaults {
            loss: 0.3,
            duplicate: 0.3,
            spike: 0.1,
            ..LinkFaults::NONE
        };
        n.set_link_faults(NodeId(0), NodeId(1), faults);
        let mut rng = SimRng::new(9);
        let (mut lost, mut dup, mut spikes) = (0, 0, 0);
        for _ in 0..2000 {
            match n.route(NodeId(0), NodeId(1), &mut rng) {
                Fate::Lost => lost += 1,
                Fate::Deliver(d, copy) => {
                    dup += usize::from(copy.is_some());
                    spikes += usize::from(d > 100_000);
                }
                Fate::Cut => unreachable!(),
            }
        }
        assert!((450..750).contains(&lost), "{lost}");
        assert!((300..550).contains(&dup), "{dup}");
        assert!((80..220).contains(&spikes), "{spikes}");
        // Other links are untouched.
        assert_eq!(n.link_faults(NodeId(1), NodeId(0)), &LinkFaults::NONE);
    }
}
