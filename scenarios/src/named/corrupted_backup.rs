//! corrupted-backup: backup objects are altered or deleted behind the replica's back. A
//! restore uses the good copy from the other region; when no good copy is left it refuses,
//! naming the object, and a restore to a time before it still works.

use cairn_core::backup::RestoreError;
use cairn_core::backup::object::Kind;
use cairn_core::replication::PlantedBugs;
use cairn_sim::StoreFault;

use super::Outcome;
use super::backups::{backup_section, conclude, config, describe_restore, mins, since_ts, store};
use crate::oracles::g9;
use crate::report::Report;
use crate::run::Run;
use crate::violation::{Promise, Violation};

pub fn run(seed: u64) -> Outcome {
    run_with(seed, PlantedBugs::default())
}

pub fn run_with(seed: u64, bugs: PlantedBugs) -> Outcome {
    let mut run = Run::new(config(seed, bugs));
    run.sim.run_for(mins(16.0));
    run.sim.stop_workload();
    run.sim.run_for(mins(0.1));
    // The two newest incrementals that hold entries.
    let manifest = run.sim.backup_manifest();
    let mut incs = manifest
        .entries
        .iter()
        .filter(|e| e.header.kind == Kind::Incremental && e.header.last >= e.header.first)
        .rev();
    let newest = incs.next().expect("incrementals after 16 minutes").clone();
    let older = incs.next().expect("two incrementals").clone();
    run.sim.apply(store(
        "backup-x",
        StoreFault::Corrupt(Some(newest.name.clone())),
    ));
    run.sim.apply(store(
        "backup-y",
        StoreFault::Remove(Some(older.name.clone())),
    ));
    let (one_bad, one_bad_v) = g9::restorable(&run.sim, None);
    let one_bad_text = describe_restore(&run, &run.sim.restore_from_backups(None));
    run.sim.apply(store(
        "backup-y",
        StoreFault::Corrupt(Some(newest.name.clone())),
    ));
    let none_good = run.sim.restore_from_backups(None);
    let refused = match &none_good {
        Err(RestoreError::Digest(n) | RestoreError::Object { name: n, .. })
            if *n == newest.name =>
        {
            Vec::new()
        }
        other => vec![Violation::new(
            Promise::G9,
            format!(
                "a restore with both copies of {} altered must refuse naming it; it {}",
                newest.name,
                describe_restore(&run, other)
            ),
        )],
    };
    let before = cairn_core::Timestamp::from_millis(older.header.created.as_millis() - 1);
    let (earlier, earlier_v) = g9::restorable(&run.sim, Some(before));
    let earlier_ok = match &earlier {
        Some(x) if x.time <= before && x.index < newest.header.first => Vec::new(),
        Some(x) => vec![Violation::new(
            Promise::G9,
            format!("restored past --at, to index {}", x.index),
        )],
        None => Vec::new(),
    };

    let sim = &run.sim;
    let mut r = Report::new(&format!(
        "corrupted-backup (seed {seed}): after 16 minutes, the newest incremental backup is altered in backup-x and the one before it deleted from backup-y; then the newest is altered in backup-y too"
    ));
    r.timeline(sim, run.start_us);
    r.section("operations");
    r.phase("whole run", sim.history(), run.start_us, u64::MAX);
    backup_section(&mut r, &run);
    r.section("recovery");
    r.line(format!("  newest incremental: {}", newest.name));
    r.line(format!("  the one before: {}", older.name));
    r.line(format!(
        "  with one good copy of each: {one_bad_text}{}",
        one_bad.as_ref().map_or(String::new(), |x| format!(
            " ({} used)",
            x.objects.join(", ")
        ))
    ));
    r.line(format!(
        "  with no good copy of the newest: {}",
        describe_restore(&run, &none_good)
    ));
    r.line(format!(
        "  --at {} (just before the one before was cut): {}",
        since_ts(&run, before),
        describe_restore(&run, &sim.restore_from_backups(Some(before)))
    ));
    r.section("checked (recovery)");
    r.check(
        Promise::G9,
        "with a good copy of every object in some region, the restore succeeds and holds every key up to its index",
        one_bad_v,
    );
    r.check(
        Promise::G6,
        "with no good copy left, the restore refuses and names the altered object",
        refused,
    );
    let mut v = earlier_v;
    v.extend(earlier_ok);
    r.check(
        Promise::G9,
        "a restore --at a time before the altered object succeeds and stops before it",
        v,
    );
    conclude("corrupted-backup", seed, r, &run)
}
