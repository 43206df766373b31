//! A swarm of seeds, each with its own topology and fault mix, every oracle on each.
//!
//! `CAIRN_SWARM_SEEDS` sets how many (default 300); `CAIRN_SWARM_FROM` where to start.
//! Longer sweeps: `cargo run --release -p cairn -- sim swarm --seeds 10000`.

use cairn_scenarios::swarm::{Summary, run_seed};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn the_swarm_finds_no_violation() {
    let from = env("CAIRN_SWARM_FROM", 0);
    let seeds = env("CAIRN_SWARM_SEEDS", 300);
    let mut summary = Summary::default();
    for seed in from..from + seeds {
        summary.add(run_seed(seed));
    }
    let failures: Vec<String> = summary
        .failed
        .iter()
        .map(|r| {
            format!(
                "seed {} ({:?}, {:?}): {}\n  replay: {}",
                r.seed,
                r.family,
                r.topology,
                r.violations
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
                r.replay()
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {seeds} seeds broke a promise:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The sweep exercised what it claims to.
    assert!(summary.acknowledged > 0);
    assert!(
        summary.with_backups > 0 || seeds < 50,
        "no seed took backups"
    );
    for kind in [
        "crash",
        "isolate",
        "restart",
        "replace",
        "corrupt_log",
        "network_faults",
        "store_down",
        "store_corrupt",
        "store_remove",
    ] {
        assert!(
            summary.faults.get(kind).copied().unwrap_or(0) > 0 || seeds < 50,
            "no {kind} fault in {seeds} seeds"
        );
    }
}

#[test]
fn a_seed_replays_identically() {
    let a = run_seed(7);
    let b = run_seed(7);
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.events, b.events);
    assert_ne!(run_seed(8).trace_hash, a.trace_hash);
}
