//! A rough swarm over many seeds, to look for core bugs (the real swarm and oracles live in
//! `cairn-scenarios`). Each seed draws a topology and a few faults, then everything is healed
//! and restarted; the run fails if an acknowledged write was not on a commit quorum of synced
//! disks when acknowledged (G1), if the running replicas do not converge, or if one of them
//! cannot serve an acknowledged key.
//!
//! ```text
//! cargo run --release -p cairn-sim --example swarm_probe -- [light|heavy] [seeds]
//! SEED=12 cargo run --release -p cairn-sim --example swarm_probe    # replay one, heavy
//! ```
//!
//! `heavy` adds log corruption and host replacement (`NO_CORRUPTION=1`: replacement only).
//! G1 is checked on [`Ack::durable_or_disk_fault`](cairn_sim::Ack::durable_or_disk_fault).
//! Known failures (core, as of this writing): replaced or damaged followers never resent
//! what they lost (message storms, no convergence), abstaining voters blocking elections,
//! and — expected — seeds that lose every voter's disk.

use std::time::{Duration, Instant};

use cairn_core::key::state::KeyState;
use cairn_core::replication::NodeId;
use cairn_sim::{Fault, LinkFaults, Sim, SimConfig, SimRng, Target, Topology};

fn run(seed: u64, heavy: bool, verbose: bool) -> Result<Sim, String> {
    let mut draw = SimRng::new(seed ^ 0x5eed);
    let topology = if draw.chance(0.5) {
        Topology::SMALL
    } else {
        Topology::FULL
    };
    let mut config = SimConfig::new(seed, topology);
    config.timing.snapshot_every = 200;
    let mut sim = Sim::new(config);
    let n = sim.hosts().len() as u64;
    let node = |draw: &mut SimRng| NodeId(draw.below(n) as u16);
    for _ in 0..draw.range(2, 12) {
        let at = Duration::from_millis(draw.range(2_000, 25_000));
        let fault = match draw.below(if heavy { 11 } else { 9 }) {
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
            5 => Fault::Network(LinkFaults {
                loss: 0.1,
                duplicate: 0.05,
                reorder: 0.2,
                ..LinkFaults::FLAKY
            }),
            6 => Fault::ClockSkew {
                node: node(&mut draw),
                skew_ms: draw.range(0, 2000) as i64 - 1000,
            },
            7 => Fault::Heal,
            8 => Fault::DiskLatency {
                target: Target::zone(if draw.chance(0.5) { "a" } else { "b" }),
                fsync: Some((Duration::from_millis(5), Duration::from_millis(80))),
            },
            9 if std::env::var("NO_CORRUPTION").is_err() => Fault::CorruptLog(node(&mut draw)),
            _ => Fault::Replace(node(&mut draw)),
        };
        sim.schedule_in(at, fault);
    }
    sim.schedule_in(Duration::from_secs(26), Fault::Heal);
    sim.schedule_in(Duration::from_secs(26), Fault::Network(LinkFaults::NONE));
    sim.schedule_in(Duration::from_secs(26), Fault::Restart(Target::All));
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sim.run_for(Duration::from_secs(28));
        sim.stop_workload();
        sim.run_for(Duration::from_secs(5));
    }));
    if ran.is_err() && verbose {
        for f in sim.fault_log() {
            println!("{:>6} ms  {:?}", (f.at_us / 1000) % 1_000_000, f.fault);
        }
    }
    if let Err(e) = ran {
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()));
        return Err(format!("panic: {msg:?}"));
    }
    if verbose {
        for f in sim.fault_log() {
            println!("{:>6} ms  {:?}", (f.at_us / 1000) % 1_000_000, f.fault);
        }
        for h in sim.hosts() {
            println!("{} {:?}", h.name(), h.node().map(|n| n.status()));
        }
    }
    check(&sim).map(|()| sim)
}

fn check(sim: &Sim) -> Result<(), String> {
    for op in sim.history().acknowledged_writes() {
        let ack = op.ack.as_ref().expect("acks are recorded");
        let holders = ack.durable_or_disk_fault();
        if !sim.cluster().is_commit_quorum(&holders) {
            return Err(format!(
                "G1: op {} at index {} durable on {:?}",
                op.id, ack.index, ack.durable_on
            ));
        }
    }
    let digests = sim.replica_digests();
    if digests
        .iter()
        .any(|d| (d.1, d.2) != (digests[0].1, digests[0].2))
    {
        let applied: Vec<_> = digests
            .iter()
            .map(|d| (sim.host(d.0).name().to_string(), d.1))
            .collect();
        return Err(format!("not converged (applied): {applied:?}"));
    }
    for host in sim.hosts().iter().filter(|h| h.is_up()) {
        let store = host.node().expect("up").store();
        for key in sim.workload().keys() {
            if store.get(key.domain, key.id, None).is_err() {
                let op = sim.history().get(key.created_by);
                return Err(format!(
                    "{} lost key {} (op {} on {}, {:?}, invoked at {} ms, ack {:?})",
                    host.name(),
                    key.id,
                    op.id,
                    sim.host(op.node).name(),
                    op.result,
                    (op.invoked_us / 1000) % 1_000_000,
                    op.ack
                ));
            }
            let usable = matches!(key.state, Some(KeyState::Active | KeyState::Deactivated));
            if let (Some(s), true) = (&key.sample, usable)
                && store
                    .decrypt(key.domain, key.id, &s.ciphertext, s.context.as_deref())
                    .is_err()
            {
                return Err(format!("{} cannot decrypt with {}", host.name(), key.id));
            }
        }
    }
    Ok(())
}

fn main() {
    if let Some(seed) = std::env::var("SEED").ok().and_then(|s| s.parse().ok()) {
        match run(seed, true, true) {
            Ok(_) => println!("seed {seed}: ok"),
            Err(e) => println!("seed {seed}: {e}"),
        }
        return;
    }
    let heavy = std::env::args().nth(1).as_deref() == Some("heavy");
    let count: u64 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let start = Instant::now();
    let (mut failures, mut rollbacks) = (0, 0);
    for seed in 0..count {
        let t = Instant::now();
        match run(seed, heavy, false) {
            Ok(sim) => {
                rollbacks += sim
                    .hosts()
                    .iter()
                    .flat_map(|h| h.restarts())
                    .filter(|r| r.disk.hard_state_rollback.is_some())
                    .count();
            }
            Err(e) => {
                failures += 1;
                println!("seed {seed}: {e} ({:?} wall)", t.elapsed());
            }
        }
    }
    println!(
        "{failures} failures in {count} seeds, {:?}; {rollbacks} restarts read an older hard \
         state than the newest synced one",
        start.elapsed()
    );
}
