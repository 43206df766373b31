//! What the backup and recovery scenarios share: their configuration, the figures of the
//! backups, and the checks every one of them reports.

use std::time::Duration;

use cairn_core::backup::{RestoreError, Restored};
use cairn_core::replication::PlantedBugs;
use cairn_sim::clock::micros_of;
use cairn_sim::{BackupSimConfig, Sim, SimConfig, Topology};

use super::{Outcome, check_g1, check_g6, check_g8};
use crate::oracles::{self, g9};
use crate::report::Report;
use crate::run::Run;
use crate::violation::Promise;

/// Two voters per zone, the remote replica taking backups to `backup-x` and `backup-y`
/// every 5 minutes, and four clients at a few operations per second each (scenarios run
/// for tens of simulated minutes).
pub fn config(seed: u64, bugs: PlantedBugs) -> SimConfig {
    let mut config = SimConfig::new(seed, Topology::FULL);
    config.workload.clients = 4;
    config.workload.think = (Duration::from_millis(200), Duration::from_millis(1200));
    config.timing.bugs = bugs;
    config.backups = Some(BackupSimConfig::default());
    config
}

pub fn mins(m: f64) -> Duration {
    Duration::from_secs_f64(m * 60.0)
}

/// Seconds since the start of the run, for reports.
pub fn since(run: &Run, us: u64) -> String {
    format!("{:.3} s", us.saturating_sub(run.start_us) as f64 / 1e6)
}

/// A timestamp as time since the start of the run.
pub fn since_ts(run: &Run, t: cairn_core::Timestamp) -> String {
    since(run, micros_of(t))
}

/// The lag of the remote replica as the leader sees it: `(entries, ms)`.
pub fn replica_lag(sim: &Sim) -> Option<(u64, u64)> {
    let leader = sim.node(sim.leader()?)?;
    let lag = leader.remote_lags().into_iter().next()?;
    Some((lag.entries, lag.millis))
}

/// The backup figures and the G9 checks, as of now.
pub fn backup_section(r: &mut Report, run: &Run) {
    let sim = &run.sim;
    let (figures, violations) = g9::check(sim);
    r.section("backups");
    r.line(format!(
        "  backups cut: {} ({} full); longest time between two: {:.3} s",
        figures.backups,
        figures.full,
        figures.longest_gap.as_secs_f64()
    ));
    for (region, stored, held) in &figures.stored {
        r.line(format!(
            "  {region}: {stored} stored, {held} held at the end"
        ));
    }
    for s in sim.stores() {
        let failed = s
            .log()
            .iter()
            .filter(|op| op.outcome == cairn_sim::StoreOutcome::Failed)
            .count();
        if failed > 0 || !s.outages().is_empty() {
            r.line(format!(
                "  {}: {failed} requests failed, {} outage(s)",
                s.name(),
                s.outages().len()
            ));
        }
    }
    r.line(format!(
        "  longest successful upload: {} ms",
        oracles::g5::longest_upload(sim).as_millis()
    ));
    r.section("checked (backups)");
    r.check(
        Promise::G9,
        &format!(
            "a backup every {:?} ± {:?} while the replica runs, stored in every region that is up within {:?}, none deleted younger than the retention, none kept beyond it",
            cairn_sim::backup::schedule_config(sim).map(|c| c.interval).unwrap_or_default(),
            g9::JITTER,
            cairn_sim::backup::schedule_config(sim).map(|c| c.retry_max).unwrap_or_default()
                + g9::SETTLE
        ),
        violations,
    );
}

/// A restore in words.
pub fn describe_restore(run: &Run, r: &Result<Restored, RestoreError>) -> String {
    match r {
        Ok(x) => format!(
            "restored up to index {} (written at {}), from {} object(s)",
            x.index,
            since_ts(run, x.time),
            x.objects.len()
        ),
        Err(e) => format!("refused: {e}"),
    }
}

/// The checks every scenario of this family reports at the end (G1, G6, G8), then the
/// outcome.
pub fn conclude(name: &'static str, seed: u64, mut report: Report, run: &Run) -> Outcome {
    let sim = &run.sim;
    report.section("checked");
    check_g1(&mut report, sim);
    check_g6(&mut report, run, "messages, disk writes and backup objects");
    check_g8(&mut report, sim, "running replicas");
    let violations = report.violations().to_vec();
    Outcome {
        name,
        seed,
        report: report.into_text(),
        violations,
    }
}

/// A fault of backup region `region`'s object store.
pub fn store(region: &str, fault: cairn_sim::StoreFault) -> cairn_sim::Fault {
    cairn_sim::Fault::Store {
        region: region.into(),
        fault,
    }
}
