//! Committed writes per second through one region's replication cores alone: zero network
//! latency, disks that confirm at once, no crypto in the commands. This is the ceiling the
//! protocol code puts on write throughput, to show it is never the bottleneck (goal: over
//! 200,000 commits/s with batching).
//!
//! Run with `cargo bench -p cairn-core --bench replication`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use cairn_core::api::CreateImportServiceKeyRequest;
use cairn_core::crypto::hierarchy::RootKey;
use cairn_core::key::spec::KeyType;
use cairn_core::replication::{
    ClusterConfig, HardState, Input, Node, NodeId, NodeInfo, NodeRng, Output, Packet, Recovered,
    Role, Timing,
};
use cairn_core::store::{Applied, Command};
use cairn_core::{DomainId, Timestamp};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

struct Region {
    nodes: Vec<Node>,
    net: VecDeque<(NodeId, NodeId, Packet)>,
    now: Timestamp,
    acked: u64,
    failed: u64,
}

impl Region {
    fn new(per_zone: u16) -> Region {
        let mut infos = Vec::new();
        for (z, zone) in ["a", "b"].iter().enumerate() {
            for i in 0..per_zone {
                infos.push(NodeInfo {
                    id: NodeId(z as u16 * per_zone + i),
                    name: format!("{zone}{i}"),
                    region: "eu".into(),
                    zone: (*zone).into(),
                    role: Role::Voter,
                });
            }
        }
        infos.push(NodeInfo {
            id: NodeId(2 * per_zone),
            name: "r1".into(),
            region: "remote".into(),
            zone: "r".into(),
            role: Role::Learner,
        });
        let config = ClusterConfig {
            generation: 1,
            primary_region: "eu".into(),
            nodes: infos,
        };
        let now = Timestamp::from_millis(1_000_000);
        let timing = Timing {
            // Snapshots are measured elsewhere; here they would only add noise.
            snapshot_every: u64::MAX,
            max_batch: 4096,
            ..Timing::default()
        };
        let nodes = config
            .nodes
            .iter()
            .map(|n| {
                let rng: NodeRng = Box::new(ChaCha20Rng::seed_from_u64(u64::from(n.id.0)));
                Node::new(
                    n.id,
                    config.clone(),
                    timing.clone(),
                    RootKey::from_bytes(&[1; 32]),
                    Recovered {
                        hard_state: Some(HardState::default()),
                        ..Recovered::default()
                    },
                    now,
                    rng,
                )
            })
            .collect();
        Region {
            nodes,
            net: VecDeque::new(),
            now,
            acked: 0,
            failed: 0,
        }
    }

    fn drain(&mut self, i: usize) {
        let id = self.nodes[i].id();
        while let Some(out) = self.nodes[i].poll_output() {
            match out {
                Output::Send { to, packet } => self.net.push_back((id, to, packet)),
                Output::Persist(b) => {
                    self.nodes[i].handle_input(self.now, Input::Persisted { seq: b.seq })
                }
                Output::PersistSnapshot { seq, .. } => {
                    self.nodes[i].handle_input(self.now, Input::Persisted { seq })
                }
                Output::Reply { result, .. } => match result {
                    Ok(_) => self.acked += 1,
                    Err(_) => self.failed += 1,
                },
                Output::Compact { .. } | Output::BarrierDone { .. } => {}
            }
        }
    }

    fn settle(&mut self) {
        for i in 0..self.nodes.len() {
            self.drain(i);
        }
        while let Some((from, to, packet)) = self.net.pop_front() {
            let i = usize::from(to.0);
            self.nodes[i].handle_input(self.now, Input::Message { from, packet });
            self.drain(i);
        }
    }

    fn elect(&mut self) -> usize {
        for _ in 0..400 {
            self.now = self.now.saturating_add(Duration::from_millis(10));
            for i in 0..self.nodes.len() {
                if self.nodes[i].poll_timeout().is_some_and(|t| t <= self.now) {
                    self.nodes[i].handle_timeout(self.now);
                }
            }
            self.settle();
            if let Some(l) = self.nodes.iter().position(Node::is_leader) {
                return l;
            }
        }
        panic!("no leader");
    }
}

fn main() {
    println!("voters/zone  batch  commits      wall     commits/s");
    for per_zone in [1u16, 2] {
        for batch in [1usize, 64, 1024] {
            let mut region = Region::new(per_zone);
            let leader = region.elect();
            let mut rng = ChaCha20Rng::seed_from_u64(9);
            let domain = DomainId::random(&mut rng);
            let store = region.nodes[leader].store();
            let create_domain = store.prepare_domain(domain, &mut rng).unwrap();
            region.nodes[leader].handle_input(
                region.now,
                Input::Propose {
                    request: 0,
                    command: create_domain,
                },
            );
            region.settle();
            let req = CreateImportServiceKeyRequest {
                name: "k".into(),
                kind: Some(KeyType::Oct),
                size: Some(256),
                ..Default::default()
            };
            let create_key = region.nodes[leader]
                .store()
                .prepare_key(domain, &req, &mut rng)
                .unwrap();
            region.nodes[leader].handle_input(
                region.now,
                Input::Propose {
                    request: 1,
                    command: create_key,
                },
            );
            region.settle();
            let key = *region.nodes[leader]
                .store()
                .state()
                .domain(domain)
                .unwrap()
                .keys
                .keys()
                .next()
                .unwrap();
            assert_eq!(
                (region.acked, region.failed),
                (2, 0),
                "setup writes acknowledged: {:?}",
                region.nodes.iter().map(Node::status).collect::<Vec<_>>()
            );
            let _ = Applied::DomainCreated(domain);

            let rename = Command::RenameKey {
                domain,
                key,
                name: "renamed".into(),
            };
            let total = 200_000usize.div_ceil(batch) * batch;
            let start = Instant::now();
            let mut request = 2;
            for _ in 0..total / batch {
                for _ in 0..batch {
                    region.nodes[leader].handle_input(
                        region.now,
                        Input::Propose {
                            request,
                            command: rename.clone(),
                        },
                    );
                    request += 1;
                }
                region.settle();
            }
            let wall = start.elapsed();
            assert_eq!(region.failed, 0);
            assert_eq!(region.acked as usize, total + 2, "every write acknowledged");
            println!(
                "{per_zone:>11}  {batch:>5}  {total:>7}  {:>8.2?}  {:>12.0}",
                wall,
                total as f64 / wall.as_secs_f64()
            );
        }
    }
}
