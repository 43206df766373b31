//! A small swarm: many seeds, each with its own mix of faults, then a heal. Whatever
//! happened, every acknowledged write was durable on a commit quorum when acknowledged, and
//! once healed the replicas converge and serve every acknowledged key.
//!
//! (Disk corruption and host replacement are left out: see the ignored tests in
//! `lifecycle.rs` for the core bug they hit.)

mod common;

use std::time::Duration;

use cairn_sim::{Fault, LinkFaults, Sim, SimRng, Target, Topology};

fn swarm_run(seed: u64) -> Sim {
    let mut draw = SimRng::new(seed ^ 0x5eed);
    let topology = if draw.chance(0.5) {
        Topology::SMALL
    } else {
        Topology::FULL
    };
    let mut config = common::config(seed, topology);
    config.timing.snapshot_every = 200;
    let mut sim = Sim::new(config);
    let n = sim.hosts().len() as u64;
    let node = |draw: &mut SimRng| cairn_core::replication::NodeId(draw.below(n) as u16);
    let faults = draw.range(2, 8);
    for _ in 0..faults {
        let at = Duration::from_millis(draw.range(2_000, 14_000));
        let fault = match draw.below(9) {
            0 => Fault::Crash(Target::Node(node(&mut draw))),
            1 => Fault::CrashRestart {
                target: Target::Node(node(&mut draw)),
                down_for: Duration::from_millis(draw.range(100, 3000)),
            },
            2 => Fault::Isolate(Target::Node(node(&mut draw))),
            3 => Fault::Isolate(Target::zone(if draw.chance(0.5) { "a" } else { "b" })),
            4 => Fault::Cut {
                from: node(&mut draw),
                to: node(&mut draw),
            },
            5 => Fault::Network(LinkFaults::FLAKY),
            6 => Fault::ClockSkew {
                node: node(&mut draw),
                skew_ms: draw.range(0, 2000) as i64 - 1000,
            },
            7 => Fault::DiskLatency {
                target: Target::zone(if draw.chance(0.5) { "a" } else { "b" }),
                fsync: Some((Duration::from_millis(5), Duration::from_millis(80))),
            },
            _ => Fault::Heal,
        };
        sim.schedule_in(at, fault);
    }
    sim.schedule_in(Duration::from_secs(15), Fault::Heal);
    sim.schedule_in(Duration::from_secs(15), Fault::Network(LinkFaults::NONE));
    sim.schedule_in(Duration::from_secs(15), Fault::Restart(Target::All));
    sim.run_for(Duration::from_secs(18));
    sim
}

#[test]
fn many_seeds_heal_and_converge() {
    for seed in 100..124 {
        let mut sim = swarm_run(seed);
        common::assert_acks_durable(&sim);
        common::settle(&mut sim);
        let context = format!("seed {seed}: faults {:?}", sim.fault_log());
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            common::assert_converged(&sim);
            common::assert_keys_usable(&sim);
        }));
        if let Err(e) = result {
            panic!("{context}\n{:?}", e.downcast_ref::<String>());
        }
        assert!(sim.history().acknowledged_writes().count() > 0, "{context}");
    }
}
