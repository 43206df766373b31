//! region-loss and region-and-replica-loss: the primary region is lost (G4), or the primary
//! region and the remote replica both are (G5), and the service is rebuilt from what is left.

use cairn_core::replication::PlantedBugs;
use cairn_sim::topology::{PRIMARY_REGION, REMOTE_REGION};
use cairn_sim::{Fault, Target};

use super::Outcome;
use super::backups::{
    backup_section, conclude, config, describe_restore, mins, replica_lag, since, since_ts,
};
use crate::oracles::{g4, g5};
use crate::report::Report;
use crate::run::Run;
use crate::violation::Promise;

/// When the region is lost: at an acknowledgement a little after the 11-minute mark (the
/// replica's scenario); right after the 15-minute backup is cut, while it is being uploaded
/// (the backups' scenario: the worst moment for them).
const LOSS_AFTER_MIN: f64 = 11.0;
const LOSS_AFTER_MIN_BACKUPS: f64 = 15.0;

pub fn run(seed: u64) -> Outcome {
    run_with(seed, PlantedBugs::default(), false)
}

pub fn run_with_replica(seed: u64) -> Outcome {
    run_with(seed, PlantedBugs::default(), true)
}

/// The scenario; `replica_too`: the remote replica is lost with the primary region.
pub fn run_with(seed: u64, bugs: PlantedBugs, replica_too: bool) -> Outcome {
    let name = if replica_too {
        "region-and-replica-loss"
    } else {
        "region-loss"
    };
    let mut run = Run::new(config(seed, bugs));
    let loss_after = if replica_too {
        LOSS_AFTER_MIN_BACKUPS
    } else {
        LOSS_AFTER_MIN
    };
    run.sim.run_for(mins(loss_after));
    // The worst moment: the instant a write is acknowledged.
    let acked = run.sim.history().acknowledged_writes().count();
    run.sim.run_until_condition(mins(1.0), |s| {
        s.history().acknowledged_writes().count() > acked
    });
    let lag = replica_lag(&run.sim);
    let lost_at = run.sim.now_micros();
    run.sim
        .apply(Fault::Isolate(Target::region(PRIMARY_REGION)));
    run.sim.apply(Fault::Lose(Target::region(PRIMARY_REGION)));
    if replica_too {
        run.sim.apply(Fault::Lose(Target::region(REMOTE_REGION)));
    }
    run.sim.run_for(mins(1.0));
    run.sim.stop_workload();
    run.sim.run_for(mins(0.1));

    let sim = &run.sim;
    let mut r = Report::new(&format!(
        "{name} (seed {seed}): 2 voters per zone and a remote replica (r1) taking a backup every 5 minutes to backup-x and backup-y; {} lost at the first acknowledgement after {loss_after} minutes",
        if replica_too {
            "the primary region and the replica are"
        } else {
            "the primary region is"
        }
    ));
    r.timeline(sim, run.start_us);
    r.section("operations");
    r.phase("before the loss", sim.history(), run.start_us, lost_at);
    r.phase("after the loss", sim.history(), lost_at, u64::MAX);
    r.section("at the loss");
    match lag {
        Some((entries, ms)) => r.line(format!(
            "  replica lag measured by the leader: {entries} entries, {ms} ms"
        )),
        None => r.line("  replica lag: no leader to measure it"),
    }
    let lag_ms = lag.map_or(u64::MAX / 2000, |l| l.1);
    backup_section(&mut r, &run);
    r.section("recovery");
    let mut checks = Vec::new();
    if !replica_too {
        let r1 = sim.id("r1").expect("the replica");
        let from_replica = sim.restore_from_replica(r1);
        r.line(format!(
            "  cairn recover --from-replica: {}",
            describe_restore(&run, &from_replica)
        ));
        match &from_replica {
            Ok(restored) => {
                let (rpo, v) = g4::check(sim, restored, lost_at, lag_ms);
                r.line(format!(
                    "  measured RPO (replica): {} (promise G4: at most the lag, {lag_ms} ms + {} ms of clock skew)",
                    rpo.describe(),
                    g4::tolerance(sim).as_millis()
                ));
                checks.push((
                    Promise::G4,
                    "every key acknowledged before the replica's lag at the loss is restored and decrypts its sample".to_string(),
                    v,
                ));
            }
            Err(e) => checks.push((
                Promise::G4,
                "the replica's disk rebuilds the state".to_string(),
                vec![crate::Violation::new(Promise::G4, e.to_string())],
            )),
        }
    }
    let from_backup = sim.restore_from_backups(None);
    r.line(format!(
        "  cairn recover --from-backup: {}",
        describe_restore(&run, &from_backup)
    ));
    let bound = g5::bound(sim);
    match &from_backup {
        Ok(restored) => {
            let (rpo, v) = g5::check(sim, restored, lost_at);
            r.line(format!(
                "  measured RPO (backups): {} (promise G5: at most {:.3} s = interval + longest upload + {} s replica allowance)",
                rpo.describe(),
                bound.as_secs_f64(),
                g5::REPLICA_ALLOWANCE.as_secs()
            ));
            checks.push((
                Promise::G5,
                format!(
                    "every key acknowledged more than {:.3} s before the loss is restored from backups and decrypts its sample",
                    bound.as_secs_f64()
                ),
                v,
            ));
        }
        Err(e) => checks.push((
            Promise::G5,
            "the backups rebuild the state".to_string(),
            vec![crate::Violation::new(Promise::G5, e.to_string())],
        )),
    }
    // A point-in-time restore: as of 7 minutes before the loss.
    let at = cairn_sim::clock::timestamp(lost_at - 7 * 60 * 1_000_000);
    let past = sim.restore_from_backups(Some(at));
    r.line(format!(
        "  cairn recover --from-backup --at {}: {}",
        since_ts(&run, at),
        describe_restore(&run, &past)
    ));
    let past_ok = match &past {
        Ok(x) if x.time <= at => Vec::new(),
        Ok(x) => vec![crate::Violation::new(
            Promise::G9,
            format!("restored past --at: to {}", since_ts(&run, x.time)),
        )],
        Err(e) => vec![crate::Violation::new(Promise::G9, e.to_string())],
    };
    checks.push((
        Promise::G9,
        "a restore --at an earlier time stops at or before it".to_string(),
        past_ok,
    ));
    r.line(format!("  the region was lost at {}", since(&run, lost_at)));
    r.section("checked (recovery)");
    for (p, what, v) in checks {
        r.check(p, &what, v);
    }
    conclude(name, seed, r, &run)
}
