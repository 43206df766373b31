//! The node in a tiny in-process cluster: instant network (with partitions), instant disks,
//! a manual clock. The full simulator (faults, latencies, oracles) is the `sim` crate; these
//! tests pin the protocol's basic behaviours.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::api::CreateImportServiceKeyRequest;
use crate::ids::{DomainId, KeyId};
use crate::key::spec::KeyType;
use crate::replication::config::tests::region;
use crate::replication::io::PersistBatch;
use crate::store::{Applied, Command};

struct Cluster {
    nodes: BTreeMap<NodeId, Node>,
    now: Timestamp,
    net: VecDeque<(NodeId, NodeId, Packet)>,
    /// Nodes that are down (their messages are dropped and they get no input).
    down: BTreeSet<NodeId>,
    /// Links cut in both directions.
    cut: BTreeSet<(NodeId, NodeId)>,
    replies: BTreeMap<(NodeId, u64), Result<(Index, Outcome), Error>>,
    next_request: u64,
    rng: ChaCha20Rng,
    /// Sent messages, for determinism checks.
    trace: Vec<String>,
}

impl Cluster {
    fn new(config: ClusterConfig, seed: u64) -> Self {
        let now = Timestamp::from_millis(1_000_000);
        let timing = Timing {
            snapshot_every: 50,
            ..Timing::default()
        };
        let nodes = config
            .nodes
            .iter()
            .map(|n| {
                let rng: NodeRng =
                    Box::new(ChaCha20Rng::seed_from_u64(seed * 100 + u64::from(n.id.0)));
                let recovered = Recovered {
                    hard_state: Some(HardState::default()),
                    ..Recovered::default()
                };
                let node = Node::new(
                    n.id,
                    config.clone(),
                    timing.clone(),
                    RootKey::from_bytes(&[5; 32]),
                    recovered,
                    now,
                    rng,
                );
                (n.id, node)
            })
            .collect();
        Cluster {
            nodes,
            now,
            net: VecDeque::new(),
            down: BTreeSet::new(),
            cut: BTreeSet::new(),
            replies: BTreeMap::new(),
            next_request: 1,
            rng: ChaCha20Rng::seed_from_u64(seed),
            trace: Vec::new(),
        }
    }

    fn drain(&mut self, id: NodeId) {
        let node = self.nodes.get_mut(&id).unwrap();
        let mut persisted = None;
        while let Some(out) = node.poll_output() {
            match out {
                Output::Send { to, packet } => {
                    self.trace.push(format!("{id}->{to} {}", packet.msg.kind()));
                    self.net.push_back((id, to, packet));
                }
                Output::Persist(PersistBatch { seq, .. }) | Output::PersistSnapshot { seq, .. } => {
                    persisted = Some(seq);
                }
                Output::Compact { .. } => {}
                Output::Reply { request, result } => {
                    self.replies.insert((id, request), result);
                }
                Output::BarrierDone { id: b } => {
                    self.replies.insert(
                        (id, u64::MAX - b),
                        Ok((
                            0,
                            Ok(Applied::DomainCreated(DomainId::from_uuid(
                                uuid::Uuid::nil(),
                            ))),
                        )),
                    );
                }
            }
            // Instant disks: confirm each write as soon as it is handed out.
            if let Some(seq) = persisted.take() {
                node.handle_input(self.now, Input::Persisted { seq });
            }
        }
    }

    /// Delivers messages until the network is quiet.
    fn settle(&mut self) {
        for id in self.ids() {
            self.drain(id);
        }
        let mut budget = 100_000;
        while let Some((from, to, packet)) = self.net.pop_front() {
            budget -= 1;
            assert!(budget > 0, "the cluster never settles");
            if self.down.contains(&from) || self.down.contains(&to) || self.is_cut(from, to) {
                continue;
            }
            let now = self.now;
            self.nodes
                .get_mut(&to)
                .unwrap()
                .handle_input(now, Input::Message { from, packet });
            self.drain(to);
        }
    }

    fn is_cut(&self, a: NodeId, b: NodeId) -> bool {
        self.cut.contains(&(a, b)) || self.cut.contains(&(b, a))
    }

    /// Moves time forward in 10 ms steps, firing timeouts and settling after each.
    fn run_for(&mut self, d: Duration) {
        let end = self.now.saturating_add(d);
        while self.now < end {
            self.now = self.now.saturating_add(Duration::from_millis(10));
            for id in self.ids() {
                if self.down.contains(&id) {
                    continue;
                }
                let now = self.now;
                let node = self.nodes.get_mut(&id).unwrap();
                if node.poll_timeout().is_some_and(|t| t <= now) {
                    node.handle_timeout(now);
                }
                self.drain(id);
            }
            self.settle();
        }
    }

    fn ids(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    fn leader(&self) -> Option<NodeId> {
        let leaders: Vec<NodeId> = self
            .nodes
            .values()
            .filter(|n| n.is_leader() && !self.down.contains(&n.id()))
            .map(|n| n.id())
            .collect();
        assert!(
            leaders.len() <= 1 || {
                let terms: BTreeSet<_> = leaders
                    .iter()
                    .map(|l| self.nodes[l].status().term)
                    .collect();
                terms.len() == leaders.len()
            },
            "two leaders in one term"
        );
        leaders
            .into_iter()
            .max_by_key(|l| self.nodes[l].status().term)
    }

    fn elect(&mut self) -> NodeId {
        self.run_for(Duration::from_secs(3));
        self.leader().expect("a leader is elected")
    }

    /// Proposes `command` at `at` and runs until it is answered.
    fn write(&mut self, at: NodeId, command: Command) -> Result<(Index, Outcome), Error> {
        let request = self.next_request;
        self.next_request += 1;
        let now = self.now;
        self.nodes
            .get_mut(&at)
            .unwrap()
            .handle_input(now, Input::Propose { request, command });
        self.drain(at);
        for _ in 0..300 {
            if let Some(r) = self.replies.remove(&(at, request)) {
                return r;
            }
            self.run_for(Duration::from_millis(10));
        }
        panic!("write at {at} never answered");
    }

    fn create_domain(&mut self, at: NodeId) -> DomainId {
        let domain = DomainId::random(&mut self.rng);
        let cmd = self.nodes[&at]
            .store()
            .prepare_domain(domain, &mut self.rng)
            .unwrap();
        let (_, outcome) = self.write(at, cmd).expect("domain created");
        assert_eq!(outcome, Ok(Applied::DomainCreated(domain)));
        domain
    }

    fn create_key(&mut self, at: NodeId, domain: DomainId) -> Result<KeyId, Error> {
        let req = CreateImportServiceKeyRequest {
            name: "k".into(),
            kind: Some(KeyType::Oct),
            size: Some(256),
            ..Default::default()
        };
        let cmd = self.nodes[&at]
            .store()
            .prepare_key(domain, &req, &mut self.rng)?;
        match self.write(at, cmd)? {
            (_, Ok(Applied::KeyCreated { key, .. })) => Ok(key),
            (_, other) => panic!("unexpected outcome {other:?}"),
        }
    }

    fn can_encrypt(&mut self, at: NodeId, domain: DomainId, key: KeyId) -> bool {
        self.nodes[&at]
            .store()
            .encrypt(domain, key, b"x", None, &mut self.rng)
            .is_ok()
    }

    fn isolate_zone(&mut self, zone: &str) {
        let config = self.nodes.values().next().unwrap().config().clone();
        for a in &config.nodes {
            for b in &config.nodes {
                if (a.zone == zone) != (b.zone == zone) {
                    self.cut.insert((a.id, b.id));
                }
            }
        }
    }
}

#[test]
fn a_leader_is_elected_and_writes_reach_every_node() {
    let mut c = Cluster::new(region(1, 1), 1);
    let leader = c.elect();
    let domain = c.create_domain(leader);
    let key = c.create_key(leader, domain).unwrap();
    c.run_for(Duration::from_millis(200));
    for id in c.ids() {
        assert!(c.can_encrypt(id, domain, key), "{id} cannot use the key");
    }
    let digests: BTreeSet<_> = c
        .nodes
        .values()
        .map(|n| n.store().state().digest())
        .collect();
    assert_eq!(digests.len(), 1, "replicas diverged");
}

#[test]
fn followers_and_learners_forward_writes_and_answer_after_applying_them() {
    let mut c = Cluster::new(region(2, 1), 2);
    let leader = c.elect();
    let domain = c.create_domain(leader);
    for id in c.ids() {
        let key = c.create_key(id, domain).expect("forwarded write succeeds");
        // The node that answered serves the key right away (read-your-writes).
        assert!(c.can_encrypt(id, domain, key));
    }
}

#[test]
fn an_acknowledged_key_is_served_in_the_other_zone_when_the_first_dies_right_after() {
    let mut c = Cluster::new(region(2, 0), 3);
    let leader = c.elect();
    let domain = c.create_domain(leader);
    let key = c.create_key(leader, domain).unwrap();
    let zone = c.nodes[&leader].config().node(leader).unwrap().zone.clone();
    // The leader's zone dies at the instant of the acknowledgement.
    let dead: Vec<NodeId> = c.nodes[&leader]
        .config()
        .nodes
        .iter()
        .filter(|n| n.zone == zone)
        .map(|n| n.id)
        .collect();
    c.down.extend(dead.iter().copied());
    c.net.clear();
    let survivors: Vec<NodeId> = c.ids().into_iter().filter(|i| !dead.contains(i)).collect();
    // At least one voter of the other zone serves it at once; the others after a barrier.
    assert!(survivors.iter().any(|id| c.can_encrypt(*id, domain, key)));
    for id in &survivors {
        let now = c.now;
        c.nodes
            .get_mut(id)
            .unwrap()
            .handle_input(now, Input::Barrier { id: 7 });
        c.drain(*id);
    }
    c.run_for(Duration::from_millis(300));
    for id in survivors {
        assert!(
            c.can_encrypt(id, domain, key),
            "{id} lost an acknowledged key"
        );
    }
}

#[test]
fn with_a_zone_gone_writes_are_refused_quickly_and_reads_go_on() {
    let mut c = Cluster::new(region(1, 1), 4);
    let leader = c.elect();
    let domain = c.create_domain(leader);
    let key = c.create_key(leader, domain).unwrap();
    c.isolate_zone("b");
    let start = c.now;
    let refused = c.create_key(leader, domain);
    assert!(matches!(refused, Err(Error::Unavailable(_))), "{refused:?}");
    assert!(
        c.now.saturating_duration_since(start) <= Duration::from_secs(1),
        "refused after {:?}",
        c.now.saturating_duration_since(start)
    );
    c.run_for(Duration::from_secs(2));
    for id in c.ids() {
        assert!(c.can_encrypt(id, domain, key));
        let r = c.create_key(id, domain);
        assert!(matches!(r, Err(Error::Unavailable(_))), "{id}: {r:?}");
    }
    // Healed: writes work again.
    c.cut.clear();
    c.run_for(Duration::from_secs(3));
    let leader = c.leader().expect("a leader after healing");
    assert!(c.create_key(leader, domain).is_ok());
}

#[test]
fn two_voters_per_zone_survive_the_loss_of_one_host() {
    let mut c = Cluster::new(region(2, 0), 5);
    let leader = c.elect();
    let domain = c.create_domain(leader);
    c.down.insert(leader);
    c.run_for(Duration::from_secs(3));
    let new_leader = c.leader().expect("re-elected");
    assert_ne!(new_leader, leader);
    assert!(c.create_key(new_leader, domain).is_ok());
}

#[test]
fn a_node_far_behind_catches_up_by_snapshot() {
    let mut c = Cluster::new(region(1, 2), 6);
    let leader = c.elect();
    let domain = c.create_domain(leader);
    let lagging = NodeId(3);
    c.down.insert(lagging);
    let mut keys = Vec::new();
    for i in 0..120 {
        match c.create_key(leader, domain) {
            Ok(k) => keys.push(k),
            Err(e) => panic!(
                "write {i}: {e}; {:#?}",
                c.nodes
                    .values()
                    .map(|n| (n.status(), n.progress()))
                    .collect::<Vec<_>>()
            ),
        }
    }
    assert!(
        c.nodes[&leader].log.base_index() > 0,
        "the leader compacted its log"
    );
    c.down.remove(&lagging);
    c.run_for(Duration::from_secs(2));
    for key in keys {
        assert!(c.can_encrypt(lagging, domain, key));
    }
    assert_eq!(
        c.nodes[&lagging].store().state().digest(),
        c.nodes[&leader].store().state().digest()
    );
}

#[test]
fn a_single_voter_commits_alone() {
    let mut config = region(1, 0);
    config.nodes.truncate(1);
    let mut c = Cluster::new(config, 7);
    let leader = c.elect();
    let domain = c.create_domain(leader);
    assert!(c.create_key(leader, domain).is_ok());
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    let run = |seed| {
        let mut c = Cluster::new(region(2, 1), seed);
        let leader = c.elect();
        let domain = c.create_domain(leader);
        for _ in 0..5 {
            c.create_key(NodeId(4), domain).unwrap();
        }
        (c.trace, c.nodes[&leader].store().state().digest())
    };
    assert_eq!(run(11), run(11));
    assert_ne!(run(11).0, run(12).0);
}

/// A node of a newer generation (a rebuilt region) answers a packet of the old one with
/// `Superseded`; the old leader then fences itself and refuses writes, and never answers
/// back (no ping-pong).
#[test]
fn a_node_of_a_newer_generation_tells_the_old_region_it_is_fenced() {
    let mut old = Cluster::new(region(1, 1), 7);
    let leader = old.elect();
    let domain = old.create_domain(leader);
    assert!(old.create_key(leader, domain).is_ok());

    let mut config = region(1, 1);
    config.generation = 2;
    let mut new = Cluster::new(config, 8);
    let target = new.ids()[0];
    let stale = Packet {
        generation: 1,
        term: 1,
        msg: Message::Probe { nonce: 1 },
    };
    let now = new.now;
    let node = new.nodes.get_mut(&target).unwrap();
    node.handle_input(
        now,
        Input::Message {
            from: leader,
            packet: stale,
        },
    );
    let mut answer = None;
    while let Some(out) = node.poll_output() {
        if let Output::Send { to, packet } = out {
            assert_eq!(to, leader);
            answer = Some(packet);
        }
    }
    let answer = answer.expect("the old node is answered");
    assert_eq!(answer.generation, 2);
    assert!(matches!(answer.msg, Message::Superseded));

    let now = old.now;
    let node = old.nodes.get_mut(&leader).unwrap();
    node.handle_input(
        now,
        Input::Message {
            from: target,
            packet: answer,
        },
    );
    assert!(node.status().fenced);
    while let Some(out) = node.poll_output() {
        assert!(
            !matches!(out, Output::Send { to, .. } if to == target),
            "a fenced node answered the newer generation"
        );
    }
    assert!(old.create_key(leader, domain).is_err());
}
