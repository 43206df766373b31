//! G9: a backup every 5 minutes (± [`JITTER`]), each stored in both backup regions while
//! they are up, kept 30 days and then deleted, none deleted younger; every backup can be
//! verified and restored.
//!
//! Read from what the object stores saw (every request with its outcome, and the clear
//! header of every object uploaded), from the backup taker's crashes and restarts, and by
//! restoring the backups as a recovery would.

use std::collections::BTreeMap;
use std::time::Duration;

use cairn_core::backup::object::{Header, Kind};
use cairn_core::backup::{BackupConfig, Restored};
use cairn_sim::clock::micros_of;
use cairn_sim::{Fault, Life, Sim, StoreOpKind, StoreOutcome};

use crate::violation::{Promise, Violation, capped};

/// How far from its 5-minute mark a backup may be cut (the schedule keeps the rhythm on the
/// replica's clock; this covers clock adjustments and millisecond rounding).
pub const JITTER: Duration = Duration::from_secs(1);
/// Beyond the longest retry delay, how long a region that is up may take to receive a
/// backup, or to have an expired one deleted.
pub const SETTLE: Duration = Duration::from_secs(60);

/// What the checks counted, for reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    /// Backups cut (seen by the stores), of which full ones.
    pub backups: usize,
    pub full: usize,
    /// Per region: backups stored there at some point, and held at the end.
    pub stored: Vec<(String, usize, usize)>,
    /// Deletions carried out, and the youngest age at which one was started.
    pub deleted: usize,
    pub youngest_deleted: Option<Duration>,
    /// The oldest backup held anywhere at the end.
    pub oldest_held: Option<Duration>,
    /// The longest time between two consecutive backups (the taker running throughout).
    pub longest_gap: Duration,
}

struct Ctx<'a> {
    sim: &'a Sim,
    config: BackupConfig,
    end: u64,
    /// When the taker was not running: `(from, to)`.
    taker_down: Vec<(u64, u64)>,
    disk_losses: Vec<u64>,
    /// When the taker's clock was set (the schedule keeps its rhythm on that clock, so a
    /// jump moves the next cut by as much).
    clock_set: Vec<u64>,
}

impl Ctx<'_> {
    fn taker_down_during(&self, from: u64, to: u64) -> bool {
        self.taker_down.iter().any(|(a, b)| *a <= to && *b >= from)
    }

    fn clock_set_during(&self, from: u64, to: u64) -> bool {
        self.clock_set.iter().any(|t| *t >= from && *t <= to)
    }

    fn settle(&self) -> u64 {
        (self.config.retry_max + SETTLE).as_micros() as u64
    }
}

fn us(d: Duration) -> u64 {
    d.as_micros() as u64
}

/// Checks G9 over the whole run so far.
pub fn check(sim: &Sim) -> (Figures, Vec<Violation>) {
    let mut figures = Figures::default();
    let Some(config) = cairn_sim::backup::schedule_config(sim).cloned() else {
        return (figures, Vec::new());
    };
    let Some(taker) = sim.backup_taker() else {
        return (figures, Vec::new());
    };
    let host = sim.host(taker);
    let end = sim.now_micros();
    let mut taker_down = Vec::new();
    let mut restarts = host.restarts().iter().map(|r| r.at_us).peekable();
    for crash in host.crashes() {
        while restarts.next_if(|r| *r < crash.at_us).is_some() {}
        let back = restarts.peek().copied().unwrap_or(u64::MAX);
        taker_down.push((crash.at_us, back));
    }
    if host.life() == Life::Lost && taker_down.last().is_none_or(|d| d.1 != u64::MAX) {
        taker_down.push((host.disk_losses().last().copied().unwrap_or(end), u64::MAX));
    }
    let clock_set = sim
        .fault_log()
        .iter()
        .filter(|f| {
            f.effective && matches!(f.fault, Fault::ClockSkew { node, .. } if node == taker)
        })
        .map(|f| f.at_us)
        .collect();
    let cx = Ctx {
        sim,
        config,
        end,
        taker_down,
        disk_losses: host.disk_losses().to_vec(),
        clock_set,
    };
    let mut found = Vec::new();
    // Every backup cut, by generation and sequence, from the headers the stores saw.
    let mut objects: BTreeMap<(u64, u64), (String, Header)> = BTreeMap::new();
    for store in sim.stores() {
        for op in store.log() {
            if let Some(h) = &op.header {
                objects
                    .entry((h.generation, h.seq))
                    .or_insert_with(|| (op.object.clone(), h.clone()));
            }
        }
    }
    figures.backups = objects.len();
    figures.full = objects
        .values()
        .filter(|(_, h)| h.kind == Kind::Full)
        .count();
    cadence(&cx, &objects, &mut figures, &mut found);
    both_regions(&cx, &objects, &mut figures, &mut found);
    retention(&cx, &objects, &mut figures, &mut found);
    (figures, capped(found, 8))
}

fn cadence(
    cx: &Ctx<'_>,
    objects: &BTreeMap<(u64, u64), (String, Header)>,
    figures: &mut Figures,
    found: &mut Vec<Violation>,
) {
    let limit = us(cx.config.interval + JITTER);
    let list: Vec<&Header> = objects.values().map(|(_, h)| h).collect();
    for w in list.windows(2) {
        let (a, b) = (micros_of(w[0].created), micros_of(w[1].created));
        if w[0].generation != w[1].generation
            || cx.taker_down_during(a, b)
            || cx.clock_set_during(a, b)
        {
            continue;
        }
        let gap = b.saturating_sub(a);
        figures.longest_gap = figures.longest_gap.max(Duration::from_micros(gap));
        if gap > limit {
            found.push(Violation::new(
                Promise::G9,
                format!(
                    "{:.1} s between backups {} and {} (promise: {:?} ± {JITTER:?})",
                    gap as f64 / 1e6,
                    w[0].name(),
                    w[1].name(),
                    cx.config.interval
                ),
            ));
        }
    }
    if let Some(last) = list.last() {
        let at = micros_of(last.created);
        let since = cx.end.saturating_sub(at);
        if since > limit + cx.settle() && !cx.taker_down_during(at, cx.end) {
            found.push(Violation::new(
                Promise::G9,
                format!(
                    "no backup in the last {:.1} s of the run (the replica running)",
                    since as f64 / 1e6
                ),
            ));
        }
    }
}

fn both_regions(
    cx: &Ctx<'_>,
    objects: &BTreeMap<(u64, u64), (String, Header)>,
    figures: &mut Figures,
    found: &mut Vec<Violation>,
) {
    let w = cx.settle();
    for store in cx.sim.stores() {
        let done: BTreeMap<&str, u64> = store
            .log()
            .iter()
            .filter(|op| op.kind == StoreOpKind::Upload && op.outcome == StoreOutcome::Done)
            .map(|op| (op.object.as_str(), op.done_us))
            .collect();
        let held = objects
            .values()
            .filter(|(name, _)| store.get(name).is_some())
            .count();
        let stored = objects
            .values()
            .filter(|(name, _)| done.contains_key(name.as_str()))
            .count();
        figures
            .stored
            .push((store.name().to_string(), stored, held));
        for (name, h) in objects.values() {
            let created = micros_of(h.created);
            // The first moment from which the region and the taker were up for `w`.
            let mut starts: Vec<u64> = vec![created];
            starts.extend(
                store
                    .outages()
                    .iter()
                    .filter_map(|(_, to)| *to)
                    .filter(|t| *t > created),
            );
            starts.extend(cx.taker_down.iter().map(|d| d.1).filter(|t| *t > created));
            starts.sort_unstable();
            let window = starts.into_iter().find(|s| {
                let e = s.saturating_add(w);
                !store.down_during(*s, e) && !cx.taker_down_during(*s, e)
            });
            let Some(s) = window else { continue };
            let deadline = s.saturating_add(w);
            let expired = created + us(cx.config.retention) <= deadline;
            let outbox_lost = cx
                .disk_losses
                .iter()
                .any(|l| *l >= created && *l <= deadline);
            if deadline > cx.end || expired || outbox_lost {
                continue;
            }
            if done.get(name.as_str()).is_none_or(|t| *t > deadline) {
                found.push(Violation::new(
                    Promise::G9,
                    format!(
                        "backup {name} not stored in {} within {:.0} s although the region was up",
                        store.name(),
                        w as f64 / 1e6
                    ),
                ));
            }
        }
    }
}

fn retention(
    cx: &Ctx<'_>,
    objects: &BTreeMap<(u64, u64), (String, Header)>,
    figures: &mut Figures,
    found: &mut Vec<Violation>,
) {
    let by_name: BTreeMap<&str, &Header> = objects.values().map(|(n, h)| (n.as_str(), h)).collect();
    let retention = us(cx.config.retention);
    let tolerance = us(JITTER);
    for store in cx.sim.stores() {
        for op in store.log() {
            if op.kind != StoreOpKind::Delete || op.outcome != StoreOutcome::Done {
                continue;
            }
            let Some(h) = by_name.get(op.object.as_str()) else {
                continue;
            };
            let age = op.started_us.saturating_sub(micros_of(h.created));
            figures.deleted += 1;
            let age_d = Duration::from_micros(age);
            figures.youngest_deleted =
                Some(figures.youngest_deleted.map_or(age_d, |y| y.min(age_d)));
            // Retention runs on the taker's clock: a clock set meanwhile moves the deletion.
            let created = micros_of(h.created);
            let clock_moved = cx.clock_set_during(created.saturating_sub(tolerance), op.started_us);
            if age + tolerance < retention && !clock_moved {
                found.push(Violation::new(
                    Promise::G9,
                    format!(
                        "backup {} deleted from {} at the age of {} (promise: kept {})",
                        op.object,
                        store.name(),
                        days(age),
                        days(retention)
                    ),
                ));
            }
        }
        // Nothing kept much beyond its time, where deleting was possible.
        let w = cx.settle();
        let from = cx.end.saturating_sub(w);
        let can_delete = !store.down_during(from, cx.end) && !cx.taker_down_during(from, cx.end);
        for name in store.objects().keys() {
            let Some(h) = by_name.get(name.as_str()) else {
                continue;
            };
            let age = cx.end.saturating_sub(micros_of(h.created));
            figures.oldest_held =
                Some(figures.oldest_held.map_or(Duration::from_micros(age), |o| {
                    o.max(Duration::from_micros(age))
                }));
            // A full backup stays while incrementals that need it do (up to a day more).
            let extra = match h.kind {
                Kind::Full => us(cx.config.full_every + cx.config.interval),
                Kind::Incremental => 0,
            };
            if can_delete && age > retention + extra + w {
                found.push(Violation::new(
                    Promise::G9,
                    format!(
                        "backup {name} still in {} at the age of {} (promise: deleted after {})",
                        store.name(),
                        days(age),
                        days(retention)
                    ),
                ));
            }
        }
    }
}

/// Every backup can be verified and restored: the latest restore (or as of `at`) succeeds,
/// and holds every key created at or below the index it restored to.
pub fn restorable(
    sim: &Sim,
    at: Option<cairn_core::Timestamp>,
) -> (Option<Restored>, Vec<Violation>) {
    match sim.restore_from_backups(at) {
        Err(e) => (
            None,
            vec![Violation::new(
                Promise::G9,
                format!(
                    "the backups do not restore{}: {e}",
                    at.map_or(String::new(), |t| format!(" as of {t}"))
                ),
            )],
        ),
        Ok(restored) => {
            let rpo = crate::oracles::rpo::measure(sim, &restored, u64::MAX);
            let found = rpo
                .lost
                .iter()
                .filter(|(_, index, _)| *index <= restored.index)
                .map(|(_, index, key)| {
                    Violation::new(
                        Promise::G9,
                        format!(
                            "the restore to index {} lacks key {key}, created at index {index}",
                            restored.index
                        ),
                    )
                })
                .collect();
            (Some(restored), capped(found, 5))
        }
    }
}

/// `us` microseconds in days, for messages.
pub fn days(us: u64) -> String {
    let d = us as f64 / 86_400e6;
    if d >= 1.0 {
        format!("{d:.3} days")
    } else if us < 60_000_000 {
        format!("{:.1} s", us as f64 / 1e6)
    } else {
        format!("{:.1} min", us as f64 / 60e6)
    }
}
