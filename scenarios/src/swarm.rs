//! Swarm runs: every seed draws its own topology and fault mix, runs, heals, and is checked
//! by every oracle. A failing seed prints itself and the one command that replays it.
//!
//! Two families of mixes keep every check meaningful:
//!
//! * **chaos** — crashes (some torn), restarts, host losses or replacements, partitions of
//!   nodes and zones, one-way cuts, lossy and duplicating and reordering links, delay
//!   spikes, slow disks, corrupted logs and hard-state slots, clock skew. At most one voter
//!   loses or damages its disk per run (more is beyond what any promise covers). Checked:
//!   G1, G6, G8, keys, and liveness once everything healed.
//! * **zone outage** — one zone is cut off or crashes for a while, with only benign company
//!   (slow disks, skew). Checked as above, plus G3 with its one-second refusal bound.
//!
//! Independently of the family, half of the seeds with a remote replica take backups on a
//! scaled schedule while their backup regions suffer an outage or damaged objects
//! ([`backup_plan`](crate::backup_plan)); G9 checks them.

use std::collections::BTreeMap;
use std::time::Duration;

use cairn_core::replication::{NodeId, PlantedBugs};
use cairn_sim::{Fault, HardSlot, LinkFaults, SimConfig, SimRng, Target, Topology};

use crate::backup_plan::{self, StorePlan};
use crate::oracles::{Outage, g9};
use crate::run::{REFUSAL_BOUND, Run};
use crate::violation::Violation;

/// The faulty part of a swarm run; then everything heals for [`CALM`].
pub const FAULTY: Duration = Duration::from_secs(30);
pub const CALM: Duration = Duration::from_secs(15);

/// The kind of fault mix a seed drew.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Chaos,
    ZoneOutage,
}

/// What one seed did and found.
#[derive(Clone, Debug)]
pub struct SeedReport {
    pub seed: u64,
    pub topology: Topology,
    pub family: Family,
    pub faults: BTreeMap<&'static str, usize>,
    pub simulated: Duration,
    pub events: u64,
    pub acknowledged: usize,
    /// Whether it took backups, and what its backup regions went through.
    pub backups: Option<StorePlan>,
    pub violations: Vec<Violation>,
    pub trace_hash: [u8; 32],
}

impl SeedReport {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// The command that replays this seed.
    pub fn replay(&self) -> String {
        replay_command(self.seed)
    }
}

pub fn replay_command(seed: u64) -> String {
    format!("cargo run --release -p cairn -- sim swarm --from {seed} --seeds 1")
}

/// Runs one seed.
pub fn run_seed(seed: u64) -> SeedReport {
    run_seed_with(seed, PlantedBugs::default())
}

/// Runs one seed with bugs planted (only the `planted-bugs` feature has any).
pub fn run_seed_with(seed: u64, bugs: PlantedBugs) -> SeedReport {
    run(seed, bugs).0
}

/// Runs one seed and keeps the simulation, to look at it.
pub fn run_seed_verbose(seed: u64) -> (SeedReport, cairn_sim::Sim) {
    let (report, run) = run(seed, PlantedBugs::default());
    (report, run.sim)
}

fn run(seed: u64, bugs: PlantedBugs) -> (SeedReport, Run) {
    let mut draw = SimRng::new(seed ^ 0x5741_524d);
    let topology = Topology {
        voters_per_zone: if draw.chance(0.5) { 1 } else { 2 },
        learners: draw.below(3) as u16,
    };
    let family = if draw.chance(0.3) {
        Family::ZoneOutage
    } else {
        Family::Chaos
    };
    let mut config = SimConfig::new(seed, topology);
    config.timing.bugs = bugs;
    config.timing.snapshot_every = 100 + draw.below(400);
    config.workload.clients = 2 + draw.below(10) as usize;
    let backups = backup_plan::draw(seed, topology);
    if backups.is_some() {
        config.backups = Some(backup_plan::sim_config());
    }
    let mut run = Run::new(config);
    match family {
        Family::Chaos => plan_chaos(&mut run, &mut draw),
        Family::ZoneOutage => plan_zone_outage(&mut run, &mut draw),
    }
    if let Some(plan) = &backups {
        backup_plan::schedule_faults(&mut run, plan);
    }
    let healed = run.at(FAULTY);
    run.sim.schedule(stamp(healed), Fault::Heal);
    run.sim
        .schedule(stamp(healed), Fault::Network(LinkFaults::NONE));
    run.sim.schedule(stamp(healed), Fault::Restart(Target::All));
    run.sim.schedule(
        stamp(healed),
        Fault::DiskLatency {
            target: Target::All,
            fsync: None,
        },
    );
    run.healed_us = Some(healed);
    run.sim.run_for(FAULTY + CALM);
    run.finish(Duration::from_secs(5));

    let mut faults = BTreeMap::new();
    for f in run.sim.fault_log().iter().filter(|f| f.effective) {
        *faults.entry(f.fault.kind()).or_insert(0) += 1;
    }
    let mut violations = run.violations(REFUSAL_BOUND);
    if backups.is_some() {
        violations.extend(g9::check(&run.sim).1);
        violations.extend(g9::restorable(&run.sim, None).1);
    }
    let report = SeedReport {
        seed,
        topology,
        family,
        faults,
        simulated: run.sim.elapsed(),
        events: run.sim.stats().events,
        acknowledged: run.sim.history().acknowledged_writes().count(),
        backups,
        violations,
        trace_hash: run.sim.trace_hash(),
    };
    (report, run)
}

fn stamp(us: u64) -> cairn_core::Timestamp {
    cairn_core::Timestamp::from_millis(us / 1000)
}

fn plan_chaos(run: &mut Run, draw: &mut SimRng) {
    let nodes: Vec<NodeId> = run.sim.hosts().iter().map(|h| h.id()).collect();
    let voters: Vec<NodeId> = run.sim.cluster().voter_ids().collect();
    let pick = |draw: &mut SimRng, from: &[NodeId]| from[draw.below(from.len() as u64) as usize];
    // The one voter allowed to lose or damage its disk in this run (learners may too).
    let fragile = pick(draw, &voters);
    let may_lose_disk = |id: NodeId| id == fragile || !voters.contains(&id);
    for _ in 0..draw.range(3, 14) {
        let at = run.at(Duration::from_millis(
            draw.range(2_000, FAULTY.as_millis() as u64 - 1_000),
        ));
        let node = pick(draw, &nodes);
        let fault = match draw.below(14) {
            0 => Fault::Crash(Target::Node(node)),
            1 => Fault::CrashTorn(Target::Node(node)),
            2 => Fault::CrashRestart {
                target: Target::Node(node),
                down_for: Duration::from_millis(draw.range(100, 4_000)),
            },
            3 => Fault::Isolate(Target::Node(node)),
            4 => Fault::Isolate(Target::zone(if draw.chance(0.5) { "a" } else { "b" })),
            5 => Fault::Cut {
                from: node,
                to: pick(draw, &nodes),
            },
            6 => Fault::Network(LinkFaults {
                loss: draw.below(15) as f64 / 100.0,
                duplicate: draw.below(5) as f64 / 100.0,
                reorder: draw.below(30) as f64 / 100.0,
                ..LinkFaults::FLAKY
            }),
            7 => Fault::ClockSkew {
                node,
                skew_ms: draw.range(0, 2_000) as i64 - 1_000,
            },
            8 => Fault::Heal,
            9 => Fault::DiskLatency {
                target: Target::Node(node),
                fsync: Some((Duration::from_millis(5), Duration::from_millis(100))),
            },
            10 if may_lose_disk(node) => Fault::CorruptLog(node),
            11 if may_lose_disk(node) => Fault::Replace(node),
            12 if may_lose_disk(node) => Fault::CorruptHardState(node, HardSlot::Newest),
            13 if may_lose_disk(node) => Fault::Lose(Target::Node(node)),
            _ => Fault::CrashRestart {
                target: Target::Node(node),
                down_for: Duration::from_millis(draw.range(100, 2_000)),
            },
        };
        run.sim.schedule(stamp(at), fault);
    }
}

fn plan_zone_outage(run: &mut Run, draw: &mut SimRng) {
    let zone = if draw.chance(0.5) { "a" } else { "b" };
    let from = run.at(Duration::from_millis(draw.range(3_000, 10_000)));
    let to = from + draw.range(2_000_000, 15_000_000);
    let crash = draw.chance(0.5);
    run.sim.schedule(
        stamp(from),
        if crash {
            Fault::Crash(Target::zone(zone))
        } else {
            Fault::Isolate(Target::zone(zone))
        },
    );
    run.sim.schedule(
        stamp(to),
        if crash {
            Fault::Restart(Target::zone(zone))
        } else {
            Fault::Heal
        },
    );
    // The outage starts at the fault's millisecond; G3 watches it until the zone is back.
    run.outages.push(Outage {
        zone: zone.into(),
        from_us: from / 1000 * 1000,
        to_us: to / 1000 * 1000,
    });
    if draw.chance(0.5) {
        run.sim.schedule(
            stamp(run.at(Duration::from_secs(1))),
            Fault::DiskLatency {
                target: Target::zone(if zone == "a" { "b" } else { "a" }),
                fsync: Some((Duration::from_millis(2), Duration::from_millis(20))),
            },
        );
    }
}

/// Totals of a sweep, for the summary.
#[derive(Default, Debug)]
pub struct Summary {
    pub seeds: u64,
    pub failed: Vec<SeedReport>,
    pub simulated: Duration,
    pub events: u64,
    pub acknowledged: usize,
    /// Seeds that took backups.
    pub with_backups: usize,
    pub faults: BTreeMap<&'static str, usize>,
}

impl Summary {
    pub fn add(&mut self, r: SeedReport) {
        self.seeds += 1;
        self.simulated += r.simulated;
        self.events += r.events;
        self.acknowledged += r.acknowledged;
        self.with_backups += usize::from(r.backups.is_some());
        for (k, n) in &r.faults {
            *self.faults.entry(k).or_insert(0) += n;
        }
        if !r.passed() {
            self.failed.push(r);
        }
    }
}
