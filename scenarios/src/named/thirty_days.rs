//! thirty-days: 31 simulated days of light traffic with backups every 5 minutes, a full one
//! daily, and 30-day retention: G9 over a whole retention period and then some.
//!
//! To cover a month in seconds, the region is the smallest one (a voter per zone and the
//! replica), its leader sends heartbeats every 2 s (election timeouts from 20 s), and one
//! client acts about once a minute; none imports keys (a workload without known secrets
//! makes the G6 scanner idle, which it must be to scan a month; G6 on backup objects is
//! checked by the other backup scenarios).

use std::time::Duration;

use cairn_core::backup::BackupConfig;
use cairn_core::replication::PlantedBugs;
use cairn_sim::{BackupSimConfig, OpMix, SimConfig, Topology};

use super::Outcome;
use super::backups::{backup_section, conclude, describe_restore};
use crate::oracles::g9;
use crate::report::Report;
use crate::run::Run;
use crate::violation::{Promise, Violation};

const DAY: Duration = Duration::from_secs(86_400);

pub fn run(seed: u64) -> Outcome {
    run_with(
        seed,
        PlantedBugs::default(),
        31 * DAY,
        BackupConfig::default(),
    )
}

/// The scenario scaled down 24 times in its slow parts (31 hours of traffic, a full backup
/// hourly, 30-hour retention; still a backup every 5 minutes): the same checks in a few
/// seconds, for debug builds and for the planted retention bug.
pub fn run_scaled(seed: u64, bugs: PlantedBugs) -> Outcome {
    let schedule = BackupConfig {
        full_every: DAY / 24,
        retention: 30 * DAY / 24,
        ..BackupConfig::default()
    };
    run_with(seed, bugs, 31 * DAY / 24, schedule)
}

/// The configuration of the run: the smallest region, slow heartbeats, a light workload.
pub fn sim_config(seed: u64, bugs: PlantedBugs, schedule: BackupConfig) -> SimConfig {
    let mut config = SimConfig::new(seed, Topology::SMALL);
    config.timing.heartbeat = Duration::from_secs(2);
    config.timing.election_min = Duration::from_secs(20);
    config.timing.zone_timeout = Duration::from_secs(7);
    config.timing.write_timeout = Duration::from_secs(10);
    config.timing.barrier_timeout = Duration::from_secs(1);
    config.timing.bugs = bugs;
    config.workload.clients = 1;
    config.workload.think = (Duration::from_secs(30), Duration::from_secs(90));
    config.workload.timeout = Duration::from_secs(30);
    config.workload.mix = OpMix {
        import: 0,
        ..OpMix::DEFAULT
    };
    config.backups = Some(BackupSimConfig {
        schedule,
        ..BackupSimConfig::default()
    });
    config
}

/// `span` of traffic under `schedule` (the scenario: 31 days under the default schedule;
/// tests of the retention oracle scale the schedule down).
pub fn run_with(seed: u64, bugs: PlantedBugs, span: Duration, schedule: BackupConfig) -> Outcome {
    let (retention, interval, full_every) =
        (schedule.retention, schedule.interval, schedule.full_every);
    let mut run = Run::new(sim_config(seed, bugs, schedule));
    run.sim.run_for(span);
    run.finish(Duration::from_secs(60));

    let sim = &run.sim;
    let mut r = Report::new(&format!(
        "thirty-days (seed {seed}): {:.2} days of traffic on a voter per zone and the replica r1, a backup every {:?}, a full one every {:.2} days, retention {:.2} days",
        span.as_secs_f64() / 86_400.0,
        interval,
        full_every.as_secs_f64() / 86_400.0,
        retention.as_secs_f64() / 86_400.0
    ));
    r.section("operations");
    r.phase("whole run", sim.history(), run.start_us, u64::MAX);
    r.line(format!(
        "  keys acknowledged: {}; events simulated: {}",
        sim.workload().keys().len(),
        sim.stats().events
    ));
    backup_section(&mut r, &run);
    let (figures, _) = g9::check(sim);
    r.line(format!(
        "  deletions: {}, the youngest at {}; oldest backup held at the end: {}",
        figures.deleted,
        figures
            .youngest_deleted
            .map_or("-".into(), |d| g9::days(d.as_micros() as u64)),
        figures
            .oldest_held
            .map_or("-".into(), |d| g9::days(d.as_micros() as u64)),
    ));
    r.section("recovery");
    let latest = sim.restore_from_backups(None);
    r.line(format!(
        "  cairn recover --from-backup: {}",
        describe_restore(&run, &latest)
    ));
    let (_, latest_v) = g9::restorable(sim, None);
    let mut at_v = Vec::new();
    if span > retention {
        let at = sim.now().saturating_sub(retention);
        let past = sim.restore_from_backups(Some(at));
        r.line(format!(
            "  cairn recover --from-backup --at (now - {:.2} days): {}",
            retention.as_secs_f64() / 86_400.0,
            describe_restore(&run, &past)
        ));
        let (_, v) = g9::restorable(sim, Some(at));
        at_v = v;
        if let Ok(x) = &past {
            let behind = at.saturating_duration_since(x.time);
            if x.time > at || behind > Duration::from_secs(600) {
                at_v.push(Violation::new(
                    Promise::G9,
                    format!("restored to {:.0} s before --at", behind.as_secs_f64()),
                ));
            }
        }
    }
    r.section("checked (recovery)");
    r.check(
        Promise::G9,
        "the latest backups restore and hold every key up to the index restored",
        latest_v,
    );
    if span > retention {
        r.check(
            Promise::G9,
            "the state of one retention period ago restores, to within 10 minutes of the time asked",
            at_v,
        );
    }
    conclude("thirty-days", seed, r, &run)
}
