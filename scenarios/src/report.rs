//! The printed report of a scenario: what happened, what was checked, the figures.
//!
//! Everything in it is a function of the seed, so reports are snapshot-tested: a change in
//! behaviour shows as a diff.

use std::fmt::Write as _;

use cairn_sim::{History, OpResult, Sim};

use crate::violation::{Promise, Violation};

#[derive(Default)]
pub struct Report {
    text: String,
    violations: Vec<Violation>,
}

impl Report {
    pub fn new(title: &str) -> Self {
        let mut r = Report::default();
        r.line(title);
        r
    }

    pub fn line(&mut self, s: impl AsRef<str>) {
        self.text.push_str(s.as_ref());
        self.text.push('\n');
    }

    pub fn section(&mut self, title: &str) {
        self.text.push('\n');
        self.line(format!("{title}:"));
    }

    /// The faults, in time since the start of the run.
    pub fn timeline(&mut self, sim: &Sim, start_us: u64) {
        self.section("what happened");
        for f in sim.fault_log() {
            if !f.effective {
                continue;
            }
            let at = f.at_us.saturating_sub(start_us);
            self.line(format!(
                "  {:>8.3} s  {}",
                at as f64 / 1e6,
                describe(sim, &f.fault)
            ));
        }
    }

    /// Counts of operations invoked in `[from, to)`, by kind of result.
    pub fn phase(&mut self, label: &str, history: &History, from_us: u64, to_us: u64) {
        let (mut writes, mut reads) = (Counts::default(), Counts::default());
        for op in history.ops() {
            if op.invoked_us < from_us || op.invoked_us >= to_us {
                continue;
            }
            let c = if op.kind.is_write() {
                &mut writes
            } else {
                &mut reads
            };
            c.add(op.result.as_ref());
        }
        self.line(format!("  {label:<22} writes {writes}   crypto {reads}"));
    }

    /// A checked promise: pass, or fail with what shows it.
    pub fn check(&mut self, promise: Promise, what: &str, violations: Vec<Violation>) {
        if violations.is_empty() {
            self.line(format!("  [pass] {promise}: {what}"));
        } else {
            self.line(format!("  [FAIL] {promise}: {what}"));
            for v in &violations {
                self.line(format!("         {}", v.detail));
            }
            self.violations.extend(violations);
        }
    }

    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    pub fn into_text(self) -> String {
        self.text
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

#[derive(Default)]
struct Counts {
    total: usize,
    ok: usize,
    refused: usize,
    unknown: usize,
}

impl Counts {
    fn add(&mut self, r: Option<&OpResult>) {
        self.total += 1;
        match r {
            Some(r) if r.is_success() => self.ok += 1,
            Some(r) if r.is_definite() => self.refused += 1,
            Some(OpResult::Unavailable(_)) => self.refused += 1,
            _ => self.unknown += 1,
        }
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>4} (ok {:>4}, refused {:>3}, unknown {:>2})",
            self.total, self.ok, self.refused, self.unknown
        )
    }
}

/// A fault in words, with node names.
pub fn describe(sim: &Sim, fault: &cairn_sim::Fault) -> String {
    use cairn_sim::{Fault, Target};
    let target = |t: &Target| match t {
        Target::Node(id) => sim.host(*id).name().to_string(),
        Target::Zone(z) => format!("zone {z}"),
        Target::Region(r) => format!("region {r}"),
        Target::All => "every node".into(),
    };
    let name = |id: &cairn_core::replication::NodeId| sim.host(*id).name().to_string();
    let mut s = String::new();
    let _ = match fault {
        Fault::Crash(t) => write!(s, "{} crashes", target(t)),
        Fault::CrashTorn(t) => write!(s, "{} crashes in the middle of a write", target(t)),
        Fault::Restart(t) => write!(s, "{} restarts", target(t)),
        Fault::CrashRestart {
            target: t,
            down_for,
        } => {
            write!(s, "{} crashes and restarts after {down_for:?}", target(t))
        }
        Fault::Lose(t) => write!(s, "{} is lost for good, with its disk", target(t)),
        Fault::Replace(id) => write!(s, "{} is replaced by a host with an empty disk", name(id)),
        Fault::Isolate(t) => write!(s, "{} is cut off from the rest", target(t)),
        Fault::Cut { from, to } => write!(s, "link {} -> {} cut", name(from), name(to)),
        Fault::HealLink { from, to } => write!(s, "link {} -> {} healed", name(from), name(to)),
        Fault::Heal => write!(s, "partitions healed"),
        Fault::Network(f) => write!(s, "link faults: {f:?}"),
        Fault::Link { from, to, faults } => {
            write!(s, "link {} -> {}: {faults:?}", name(from), name(to))
        }
        Fault::CorruptLog(id) => write!(s, "a record of {}'s log is corrupted on disk", name(id)),
        Fault::CorruptHardState(id, slot) => {
            write!(
                s,
                "{}'s {slot:?} hard-state slot is corrupted on disk",
                name(id)
            )
        }
        Fault::DiskLatency { target: t, fsync } => {
            write!(s, "{} fsync latency {fsync:?}", target(t))
        }
        Fault::ClockSkew { node, skew_ms } => {
            write!(s, "{}'s clock skewed {skew_ms} ms", name(node))
        }
        Fault::StopWorkload => write!(s, "clients stop"),
        Fault::ResumeWorkload => write!(s, "clients resume"),
        Fault::NewGeneration {
            from,
            generation,
            target: t,
        } => write!(
            s,
            "{} of the rebuilt region (generation {generation}) reaches {}",
            name(from),
            target(t)
        ),
        Fault::Store { region, fault } => match fault {
            cairn_sim::StoreFault::Outage { down: true } => write!(s, "{region} is down"),
            cairn_sim::StoreFault::Outage { down: false } => write!(s, "{region} is back"),
            cairn_sim::StoreFault::UploadLatency(Some(l)) => {
                write!(s, "uploads to {region} take {l:?}")
            }
            cairn_sim::StoreFault::UploadLatency(None) => {
                write!(s, "uploads to {region} back to normal")
            }
            cairn_sim::StoreFault::Corrupt(o) => write!(
                s,
                "a bit of {} in {region} flips",
                o.as_deref().unwrap_or("an object")
            ),
            cairn_sim::StoreFault::Remove(o) => write!(
                s,
                "{} disappears from {region}",
                o.as_deref().unwrap_or("an object")
            ),
        },
    };
    s
}
