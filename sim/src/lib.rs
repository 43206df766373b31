//! Deterministic simulation of whole Cairn regions (DESIGN §8.2).
//!
//! `cairn-sim` runs the real replication [`Node`](cairn_core::replication::Node)s of
//! `cairn-core` in one process, with simulated networks, disks, clocks and clients, driven
//! by a single event queue and a single seeded RNG. No tokio, no threads, no OS clock, no OS
//! randomness: the same [`SimConfig`] (seed included) gives the same run, event for event,
//! which [`Sim::trace_hash`] and the [`History`] show.
//!
//! # Using it
//!
//! ```
//! use std::time::Duration;
//! use cairn_sim::{Fault, Sim, SimConfig, Target, Topology};
//!
//! let mut sim = Sim::new(SimConfig::new(42, Topology::SMALL));
//! sim.run_for(Duration::from_secs(2));                 // elect a leader, create the domain
//! let b1 = sim.id("b1").unwrap();
//! sim.schedule_in(Duration::from_secs(1), Fault::Crash(Target::Node(b1)));
//! sim.schedule_in(Duration::from_secs(3), Fault::Restart(Target::Node(b1)));
//! sim.run_for(Duration::from_secs(6));
//! sim.stop_workload();
//! sim.run_for(Duration::from_secs(3));
//! assert!(sim.history().acknowledged_writes().count() > 0);
//! for op in sim.history().acknowledged_writes() {
//!     let ack = op.ack.as_ref().unwrap();              // G1: synced on voters at the ack
//!     assert!(!ack.durable_on.is_empty());
//! }
//! ```
//!
//! # Driving a run
//!
//! * [`Sim::new`]`(`[`SimConfig::new`]`(seed, topology))`, then adjust the config's public
//!   fields before building: [`Timing`](cairn_core::replication::Timing) (e.g. a small
//!   `snapshot_every`), [`NetworkConfig`], [`DiskConfig`], [`ClockConfig`],
//!   [`WorkloadConfig`] (clients, think time, [`OpMix`], timeout…).
//! * [`Sim::run_for`], [`Sim::run_until`], [`Sim::run_until_condition`], [`Sim::step`].
//! * [`Sim::schedule`] / [`Sim::schedule_in`] a [`Fault`] at a time, or [`Sim::apply`] it now.
//!   Nodes are named by [`NodeId`](cairn_core::replication::NodeId); [`Sim::id`]`("b1")`
//!   finds one; [`Target`] names a node, a zone, a region or all.
//! * [`Sim::stop_workload`] before final checks, so the region settles.
//! * [`Sim::rng`] for scenario choices drawn from the run's own stream.
//!
//! # What an oracle looks at
//!
//! * [`Sim::history`]: every client operation ([`Op`]) with node, invocation and completion
//!   times, [`OpResult`] (definite or not), and for acknowledged writes the voters whose
//!   synced disk held the entry at the instant of the ack, and those excused by a disk
//!   lost or corrupted meanwhile ([`Ack`], for G1);
//! * [`Sim::workload`]: the clients' model — acknowledged keys ([`KeyModel`]) with their
//!   known state, imported key bytes and a sample ciphertext each; [`Workload::secrets`]
//!   (every imported key's bytes, for G6);
//! * [`Sim::hosts`]: per node its [`Life`], the running
//!   [`Node`](cairn_core::replication::Node) (status, progress, store), its [`Disk`] (synced
//!   bytes, [`Disk::holds`]`(index, term)`, [`Disk::read_back`]), its crash and restart
//!   records ([`CrashRecord`], [`RestartRecord`]);
//! * [`Sim::set_scanner`] (every message sent and every disk write issued, with the
//!   workload's secrets) and [`Sim::capture_wire`] (G6);
//! * [`Sim::replica_digests`]: applied index and state digest of every running node (G8);
//! * [`Sim::leader`], [`Sim::network`], [`Sim::stats`], [`Sim::fault_log`],
//!   [`Sim::trace_hash`].
//!
//! # Model
//!
//! * **Time** ([`clock`]): global time in microseconds since the Unix epoch (the run starts
//!   at [`SimConfig::start`]); nodes see millisecond
//!   [`Timestamp`](cairn_core::Timestamp)s with a per-node skew (±20 ms by default), never
//!   going backwards.
//! * **Network** ([`network`]): one-way latency by distance (same zone 0.1–0.5 ms, other
//!   zone 1–3 ms, other region 15–40 ms), per directed link loss, duplication, reordering
//!   (extra delay up to 20 ms) and delay spikes (0.2–2 s), and partitions as cut directed
//!   links (checked at send and at delivery). Messages travel as encoded bytes.
//! * **Disks** ([`disk`]): core's storage format; a write is durable when an fsync that
//!   started after it completes (0.5–3 ms, 1 % spikes of 20–150 ms; one fsync at a time, so
//!   writes group); a crash loses unsynced writes and, with probability 0.5, tears the one in
//!   progress; corruption is found at restart; restarts repair the log (torn tail and
//!   anything from a damaged record on are cut off).
//! * **Clients** ([`workload`], [`client`]): 4 clients by default, one operation
//!   outstanding each, 20–200 ms think time, 0.2–1 ms latency to their node, 5 s timeout.
//! * **Faults** ([`Fault`]): crashes (maybe torn), restarts, losses and replacements of
//!   hosts, partitions of a node, zone or region, one-way cuts, link faults, slow disks,
//!   log and hard-state corruption, clock skew, workload stop/resume.
//!
//! * **Backups** ([`backup`], [`objectstore`]): with [`SimConfig::backups`] set, the remote
//!   replica runs core's backup schedule and the simulator carries it out against one object
//!   store per backup region (`backup-x`, `backup-y`): uploads and deletes take simulated
//!   time and fail while a store is down; [`Fault::Store`] takes a store down, slows it, or
//!   alters or removes an object; [`Sim::restore_from_backups`] and
//!   [`Sim::restore_from_replica`] rebuild the state as a recovery would;
//!   [`Fault::NewGeneration`] lets a node of a rebuilt region reach the old one (fencing).
//!
//! With the `planted-bugs` feature (on in this crate's tests) the switches of
//! [`Timing::bugs`](cairn_core::replication::Timing) reach the nodes through
//! [`SimConfig::timing`]; `tests/planted.rs` shows the G1 records and the scanner catching
//! them.
//!
//! # Known core behaviours that shape scenarios (as of this writing)
//!
//! * A follower whose durable log shrank — a [`Fault::Replace`]d host, or one restarted
//!   after [`Fault::CorruptLog`] — is never resent by the leader what it lost (the leader
//!   keeps its old `Progress::matched` and clamps `next` above it); the two exchange
//!   appends and rejections in a tight loop. Client barriers (fetches from peers) are what
//!   eventually repair it, unless the log was compacted.
//! * A voter that abstains (damaged log, replacement) until it hears a leader blocks every
//!   election in which its vote is needed (one voter per zone, or both voters of a zone).
//!
//! # Determinism rules (for whoever changes this crate)
//!
//! * Every random choice comes from the one [`SimRng`], in event order; RNGs given to the
//!   core are forked from it when created. No `HashMap` whose order can matter; no clock
//!   reads; no threads; floating point only to compare a draw with a probability.
//! * Events at the same instant run in the order they were scheduled.
//! * A `Sim` is `Send`: independent seeds can run on separate threads.
//!
//! # Speed
//!
//! Release build, one core: a 10-minute run of a 5-node region with the default workload
//! takes about 1.5 s fault-free and 0.5 s with a zone lost after 2 minutes
//! (`cargo run --release -p cairn-sim --example speed`); most of the time is the core
//! itself (unsealing keys on every replica).

pub mod backup;
pub mod client;
pub mod clock;
pub mod disk;
mod event;
pub mod fault;
pub mod history;
pub mod host;
pub mod network;
pub mod objectstore;
pub mod rng;
pub mod scan;
pub mod sim;
pub mod stats;
pub mod topology;
mod trace;
pub mod workload;

pub use backup::{BackupSimConfig, StoreFault};
pub use clock::{ClockConfig, Micros, NodeClock};
pub use disk::{
    BackupFiles, CrashDamage, Disk, DiskConfig, DiskFile, DiskRecovery, DiskStats, HardSlot,
};
pub use fault::{Fault, FaultRecord, Target};
pub use history::{Ack, History, Op, OpId, OpKind, OpResult};
pub use host::{CrashRecord, Host, Life, RestartRecord};
pub use network::{Distance, LinkFaults, Network, NetworkConfig};
pub use objectstore::{ObjectStore, StoreDamage, StoreOp, StoreOpKind, StoreOutcome, StoredObject};
pub use rng::SimRng;
pub use scan::{Scanned, Scanner, Source, WireRecord};
pub use sim::{Sim, SimConfig};
pub use stats::Stats;
pub use topology::Topology;
pub use workload::{DomainModel, KeyModel, OpMix, Sample, Targets, Workload, WorkloadConfig};
