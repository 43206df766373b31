//! Backups in swarm runs: half of the seeds with a remote replica take backups on a schedule
//! scaled down to the run (a 45-second run sees cuts, daily fulls in miniature, deletions),
//! while its backup regions suffer an outage or damage to stored objects. Checked at the end
//! by G9: the cadence, retention (nothing deleted younger), and that the latest backups
//! restore and hold every key up to the index restored.
//!
//! The draws come from a stream of their own, and the simulator's backup randomness is
//! separate too, so a seed's topology, fault plan and traffic are those it has without
//! backups.

use std::time::Duration;

use cairn_core::backup::BackupConfig;
use cairn_sim::{BackupSimConfig, Fault, SimRng, StoreFault, Topology};

use crate::run::Run;
use crate::swarm::FAULTY;

/// The scaled schedule: a backup every 2 s, a "daily" full every 10 s, kept 36 s. Retention
/// is long enough that a day short (a thirtieth: 1.2 s) exceeds G9's jitter of one second.
pub fn schedule() -> BackupConfig {
    BackupConfig {
        interval: Duration::from_secs(2),
        full_every: Duration::from_secs(10),
        retention: Duration::from_secs(36),
        retry_min: Duration::from_millis(200),
        retry_max: Duration::from_secs(2),
        ..BackupConfig::default()
    }
}

/// What happens to the backup regions during a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorePlan {
    Calm,
    /// One region is down from `from` to `to` (offsets into the run, in ms).
    Outage {
        region: String,
        from: u64,
        to: u64,
    },
    /// Stored objects of the first region are altered or removed, at these offsets (ms);
    /// each drawn among the objects the other region holds too, so that a good copy remains
    /// (damage to every copy is beyond what any backup scheme survives).
    Damage(Vec<(u64, bool)>),
}

/// Whether seed `seed` takes backups, and how its regions fare.
pub fn draw(seed: u64, topology: Topology) -> Option<StorePlan> {
    let mut draw = SimRng::new(seed ^ 0x4241_434b_5550);
    if topology.learners == 0 || !draw.chance(0.5) {
        return None;
    }
    let faulty = FAULTY.as_millis() as u64;
    let regions = schedule().regions;
    Some(match draw.below(3) {
        0 => StorePlan::Calm,
        1 => {
            let from = draw.range(2_000, faulty / 2);
            StorePlan::Outage {
                region: regions[draw.below(regions.len() as u64) as usize].clone(),
                from,
                to: from + draw.range(1_000, faulty / 2),
            }
        }
        _ => StorePlan::Damage(
            (0..draw.range(1, 4))
                .map(|_| (draw.range(5_000, faulty), draw.chance(0.5)))
                .collect(),
        ),
    })
}

/// The simulator's backup configuration for a swarm run.
pub fn sim_config() -> BackupSimConfig {
    BackupSimConfig {
        schedule: schedule(),
        ..BackupSimConfig::default()
    }
}

/// Schedules the store faults of `plan` in `run`.
pub fn schedule_faults(run: &mut Run, plan: &StorePlan) {
    let stamp = |us: u64| cairn_core::Timestamp::from_millis(us / 1000);
    let at = |run: &Run, ms: u64| stamp(run.at(Duration::from_millis(ms)));
    match plan {
        StorePlan::Calm => {}
        StorePlan::Outage { region, from, to } => {
            for (ms, down) in [(*from, true), (*to, false)] {
                let when = at(run, ms);
                run.sim.schedule(
                    when,
                    Fault::Store {
                        region: region.clone(),
                        fault: StoreFault::Outage { down },
                    },
                );
            }
        }
        StorePlan::Damage(faults) => {
            let region = schedule().regions[0].clone();
            for (ms, corrupt) in faults {
                let fault = if *corrupt {
                    StoreFault::Corrupt(None)
                } else {
                    StoreFault::Remove(None)
                };
                let when = at(run, *ms);
                run.sim.schedule(
                    when,
                    Fault::Store {
                        region: region.clone(),
                        fault,
                    },
                );
            }
        }
    }
}
