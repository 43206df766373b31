//! Cairn's disasters, scripted and random, with the oracles that check its promises
//! (DESIGN §2, §8).
//!
//! * [`oracles`]: one function per promise, over a finished [`cairn_sim::Sim`];
//! * [`named`]: the scenarios of DESIGN §2 with printed, snapshot-tested reports;
//! * [`swarm`]: random fault mixes, one per seed, every oracle on each;
//! * planted bugs (feature `planted-bugs`, tests only) prove each oracle catches what it
//!   claims to.

pub mod backup_plan;
pub mod named;
pub mod oracles;
pub mod report;
pub mod run;
pub mod swarm;
pub mod violation;

pub use named::{Outcome, SCENARIOS, Scenario};
pub use run::Run;
pub use swarm::{SeedReport, Summary, run_seed};
pub use violation::{Promise, Violation};
