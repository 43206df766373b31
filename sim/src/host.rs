//! The node driver: one [`Host`] per node — its core [`Node`], disk, clock and timer — and
//! the code that feeds the node its inputs and carries out its outputs.
//!
//! After every input the host drains `poll_output` completely: `Send` goes to the network
//! (encoded once), `Persist`/`PersistSnapshot`/`Compact` to the disk, `Reply` and
//! `BarrierDone` to the client layer. Then it starts an fsync if the disk has pending writes
//! and none is running (group commit), and arms its wakeup from `poll_timeout`.
//!
//! Timers are cheap: a host keeps at most one live wakeup. A later deadline keeps the
//! earlier wakeup (which, when it fires early, just re-arms); an earlier one schedules a new
//! wakeup and makes the old one stale through a generation counter.
//!
//! Lifecycle: a crash drops the `Node` (its memory) and the disk's unsynced writes (maybe
//! tearing the last one), and every client waiting on the node gets `NodeDown`; a restart
//! recovers the disk with `storage::recover` and builds a new `Node` from it; a lost host
//! has no disk any more; a replacement starts with an empty disk and catches up.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cairn_core::Timestamp;
use cairn_core::backup::BackupScheduler;
use cairn_core::crypto::hierarchy::RootKey;
use cairn_core::replication::{
    HardState, Index, Input, Node, NodeId, NodeInfo, Output, Packet, Recovered,
};
use rand_chacha::ChaCha20Rng;

use crate::clock::{Micros, NodeClock};
use crate::disk::{CrashDamage, Disk, DiskFile, DiskRecovery};
use crate::event::Event;
use crate::history::OpId;
use crate::history::OpResult;
use crate::network::Fate;
use crate::scan::{Scanned, Source, WireRecord};
use crate::sim::Sim;

/// Whether a host runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Life {
    Up,
    /// Crashed; its disk remains and it can be restarted.
    Down,
    /// Gone with its disk (it can only be replaced).
    Lost,
}

/// A crash of a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrashRecord {
    pub at_us: Micros,
    pub damage: CrashDamage,
}

/// A (re)start of a host from its disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestartRecord {
    pub at_us: Micros,
    pub disk: DiskRecovery,
    /// The hard state read back (`None`: neither slot was readable, the node will never
    /// vote again).
    pub hard_state: Option<HardState>,
    /// The node was told its log lost entries (it abstains until caught up).
    pub log_damaged: bool,
    pub snapshot_index: Option<Index>,
    /// Entries recovered after the snapshot.
    pub entries: usize,
    /// A replacement host with an empty disk.
    pub replaced: bool,
}

/// One simulated machine.
pub struct Host {
    pub(crate) info: NodeInfo,
    pub(crate) node: Option<Node>,
    pub(crate) disk: Disk,
    pub(crate) clock: NodeClock,
    pub(crate) life: Life,
    /// Bumped by every crash and restart: events of an older incarnation are stale.
    pub(crate) incarnation: u32,
    /// When the live wakeup fires, if any.
    pub(crate) timer: Option<Micros>,
    pub(crate) timer_generation: u64,
    /// For request preparation (key generation, nonces) on this host.
    pub(crate) rng: ChaCha20Rng,
    /// This host's fsync latency, when a fault made its disk slower or faster than the
    /// configured one.
    pub(crate) fsync: Option<(Duration, Duration)>,
    /// Writes proposed here and not answered: request id → operation.
    pub(crate) writes: BTreeMap<u64, OpId>,
    /// Barriers started here: barrier id → operation to resume.
    pub(crate) barriers: BTreeMap<u64, OpId>,
    pub(crate) crashes: Vec<CrashRecord>,
    pub(crate) restarts: Vec<RestartRecord>,
    /// When the disk was lost (the host lost or replaced).
    pub(crate) disk_losses: Vec<Micros>,
    /// The backup schedule, on the node that takes backups while it runs.
    pub(crate) backup: Option<BackupScheduler>,
    pub(crate) backup_timer: Option<Micros>,
    pub(crate) backup_timer_generation: u64,
}

impl Host {
    pub fn id(&self) -> NodeId {
        self.info.id
    }

    pub fn info(&self) -> &NodeInfo {
        &self.info
    }

    pub fn name(&self) -> &str {
        &self.info.name
    }

    pub fn life(&self) -> Life {
        self.life
    }

    pub fn is_up(&self) -> bool {
        self.life == Life::Up
    }

    /// The running node (`None` while down or lost).
    pub fn node(&self) -> Option<&Node> {
        self.node.as_ref()
    }

    pub fn disk(&self) -> &Disk {
        &self.disk
    }

    pub fn clock(&self) -> &NodeClock {
        &self.clock
    }

    /// The fsync latency a [`Fault::DiskLatency`](crate::Fault::DiskLatency) gave this
    /// host, if any.
    pub fn fsync_override(&self) -> Option<(Duration, Duration)> {
        self.fsync
    }

    pub fn incarnation(&self) -> u32 {
        self.incarnation
    }

    pub fn crashes(&self) -> &[CrashRecord] {
        &self.crashes
    }

    pub fn restarts(&self) -> &[RestartRecord] {
        &self.restarts
    }

    /// When this host's disk was lost (by [`Fault::Lose`] or [`Fault::Replace`]).
    ///
    /// [`Fault::Lose`]: crate::Fault::Lose
    /// [`Fault::Replace`]: crate::Fault::Replace
    pub fn disk_losses(&self) -> &[Micros] {
        &self.disk_losses
    }
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("name", &self.info.name)
            .field("life", &self.life)
            .field("status", &self.node.as_ref().map(Node::status))
            .finish_non_exhaustive()
    }
}

impl Sim {
    pub(crate) fn new_host(&mut self, info: NodeInfo, skew_ms: i64) -> Host {
        let mut host = Host {
            node: None,
            disk: Disk::new(),
            clock: NodeClock::new(skew_ms),
            life: Life::Down,
            incarnation: 0,
            timer: None,
            timer_generation: 0,
            rng: self.rng.fork(),
            fsync: None,
            writes: BTreeMap::new(),
            barriers: BTreeMap::new(),
            crashes: Vec::new(),
            restarts: Vec::new(),
            disk_losses: Vec::new(),
            backup: None,
            backup_timer: None,
            backup_timer_generation: 0,
            info,
        };
        let (recovered, _) = host.disk.recover();
        let now = host.clock.now(self.now);
        host.node = Some(self.make_node(host.info.id, recovered, now));
        host.life = Life::Up;
        host
    }

    fn make_node(&mut self, id: NodeId, recovered: Recovered, now: Timestamp) -> Node {
        Node::new(
            id,
            self.cluster.clone(),
            self.config.timing.clone(),
            RootKey::from_bytes(&self.config.root_key),
            recovered,
            now,
            Box::new(self.rng.fork()),
        )
    }

    /// The node's local time now.
    pub(crate) fn local_now(&mut self, i: usize) -> Timestamp {
        let now = self.now;
        self.hosts[i].clock.now(now)
    }

    /// Feeds one input to a running node (the caller drains its outputs).
    pub(crate) fn input(&mut self, i: usize, input: Input) {
        let local = self.local_now(i);
        if let Some(node) = self.hosts[i].node.as_mut() {
            node.handle_input(local, input);
        }
    }

    /// Carries out every output of node `i`, then starts an fsync and arms the timer.
    pub(crate) fn drain(&mut self, i: usize) {
        while let Some(out) = self.hosts[i].node.as_mut().and_then(Node::poll_output) {
            match out {
                Output::Send { to, packet } => self.send(i, to, &packet),
                Output::Persist(batch) => {
                    self.write_disk(i, |disk, scan| disk.persist(&batch, scan));
                }
                Output::PersistSnapshot { seq, snapshot } => {
                    self.write_disk(i, |disk, scan| disk.persist_snapshot(seq, &snapshot, scan));
                }
                Output::Compact { upto } => self.hosts[i].disk.compact(upto),
                Output::Reply { request, result } => self.on_reply(i, request, result),
                Output::BarrierDone { id } => self.on_barrier_done(i, id),
            }
        }
        if self.hosts[i].disk.start_fsync() {
            let latency = match self.hosts[i].fsync {
                Some(range) => self.rng.micros_between(range),
                None => self.config.disk.fsync_latency(&mut self.rng),
            };
            let event = Event::FsyncDone {
                node: self.hosts[i].info.id,
                incarnation: self.hosts[i].incarnation,
            };
            self.queue.push(self.now + latency, event);
        }
        self.arm_timer(i);
    }

    /// Runs a write on node `i`'s disk with the scanner watching.
    fn write_disk(
        &mut self,
        i: usize,
        write: impl FnOnce(&mut Disk, &mut dyn FnMut(DiskFile, &[u8])),
    ) {
        let Sim {
            hosts,
            scanner,
            now,
            workload,
            ..
        } = self;
        let (node, at) = (hosts[i].info.id, *now);
        let mut scan = |file: DiskFile, bytes: &[u8]| {
            if let Some(scan) = scanner.as_mut() {
                scan(&Scanned {
                    at_us: at,
                    source: Source::Disk { node, file },
                    bytes,
                    secrets: workload.secrets(),
                });
            }
        };
        write(&mut hosts[i].disk, &mut scan);
    }

    fn send(&mut self, i: usize, to: NodeId, packet: &Packet) {
        let from = self.hosts[i].info.id;
        let bytes = Arc::new(packet.encode());
        self.stats.messages_sent += 1;
        self.stats.message_bytes += bytes.len() as u64;
        if let Some(scan) = self.scanner.as_mut() {
            scan(&Scanned {
                at_us: self.now,
                source: Source::Wire { from, to },
                bytes: &bytes,
                secrets: self.workload.secrets(),
            });
        }
        if let Some(capture) = self.capture.as_mut() {
            capture.push(WireRecord {
                at_us: self.now,
                from,
                to,
                bytes: Arc::clone(&bytes),
            });
        }
        match self.net.route(from, to, &mut self.rng) {
            Fate::Cut => self.stats.dropped_cut += 1,
            Fate::Lost => self.stats.dropped_loss += 1,
            Fate::Deliver(delay, copy) => {
                if let Some(d) = copy {
                    self.stats.duplicated += 1;
                    let bytes = Arc::clone(&bytes);
                    self.queue
                        .push(self.now + d, Event::Deliver { from, to, bytes });
                }
                self.queue
                    .push(self.now + delay, Event::Deliver { from, to, bytes });
            }
        }
    }

    /// Keeps one live wakeup at or before the node's next deadline.
    pub(crate) fn arm_timer(&mut self, i: usize) {
        let now = self.now;
        let host = &mut self.hosts[i];
        let Some(deadline) = host.node.as_ref().and_then(Node::poll_timeout) else {
            return;
        };
        let want = host.clock.global_at(deadline).max(now);
        if host.timer.is_some_and(|t| t <= want) {
            return;
        }
        host.timer_generation += 1;
        host.timer = Some(want);
        let event = Event::Wakeup {
            node: host.info.id,
            generation: host.timer_generation,
        };
        self.queue.push(want, event);
    }

    pub(crate) fn on_wakeup(&mut self, i: usize, generation: u64) {
        let now = self.now;
        let host = &mut self.hosts[i];
        if host.timer_generation != generation {
            return;
        }
        host.timer = None;
        let local = host.clock.now(now);
        let Some(node) = host.node.as_mut() else {
            return;
        };
        if node.poll_timeout().is_some_and(|t| t <= local) {
            node.handle_timeout(local);
            self.stats.timeouts += 1;
            self.drain(i);
        } else {
            self.arm_timer(i);
        }
    }

    pub(crate) fn on_deliver(&mut self, from: NodeId, to: NodeId, bytes: &[u8]) {
        let i = usize::from(to.0);
        if !self.hosts[i].is_up() {
            self.stats.dropped_down += 1;
            return;
        }
        if self.net.is_cut(from, to) {
            self.stats.dropped_cut += 1;
            return;
        }
        let Some(packet) = Packet::decode(bytes) else {
            self.stats.undecodable += 1;
            return;
        };
        self.stats.messages_delivered += 1;
        self.input(i, Input::Message { from, packet });
        self.drain(i);
    }

    pub(crate) fn on_fsync_done(&mut self, i: usize, incarnation: u32) {
        if self.hosts[i].incarnation != incarnation {
            return;
        }
        self.stats.fsyncs += 1;
        if let Some(seq) = self.hosts[i].disk.complete_fsync() {
            self.input(i, Input::Persisted { seq });
        }
        self.drain(i);
    }

    // ---- lifecycle ----

    /// Crashes a running host; `tear: None` draws it from the disk config. Returns whether
    /// the host was up.
    pub(crate) fn crash(&mut self, i: usize, tear: Option<bool>) -> bool {
        if !self.hosts[i].is_up() {
            return false;
        }
        let tear = tear.unwrap_or_else(|| self.rng.chance(self.config.disk.torn_on_crash));
        let now = self.now;
        let host = &mut self.hosts[i];
        host.node = None;
        host.life = Life::Down;
        host.incarnation += 1;
        host.timer = None;
        host.timer_generation += 1;
        host.writes.clear();
        host.barriers.clear();
        host.backup = None;
        host.backup_timer = None;
        host.backup_timer_generation += 1;
        let damage = host.disk.crash(tear, &mut self.rng);
        host.crashes.push(CrashRecord { at_us: now, damage });
        let id = host.info.id;
        self.fail_clients_of(id);
        true
    }

    /// Restarts a crashed host from its disk. Returns whether it was down.
    pub(crate) fn restart(&mut self, i: usize) -> bool {
        if self.hosts[i].life != Life::Down {
            return false;
        }
        let (recovered, disk) = self.hosts[i].disk.recover();
        self.start(i, recovered, disk, false);
        true
    }

    /// A new machine under the same id, with an empty disk (the old one is crashed and its
    /// disk discarded first if needed).
    ///
    /// It starts as a node whose log was damaged (`log_damaged: true`): it may not vote
    /// until it has caught up with a leader, because the host it replaces may have voted
    /// or acknowledged entries that this empty disk does not remember.
    pub(crate) fn replace(&mut self, i: usize) {
        self.crash(i, Some(false));
        self.hosts[i].disk.wipe();
        self.hosts[i].disk_losses.push(self.now);
        let (mut recovered, disk) = self.hosts[i].disk.recover();
        recovered.log_damaged = true;
        self.start(i, recovered, disk, true);
    }

    /// The host and its disk are gone for good.
    pub(crate) fn lose(&mut self, i: usize) -> bool {
        if self.hosts[i].life == Life::Lost {
            return false;
        }
        self.crash(i, Some(false));
        let now = self.now;
        let host = &mut self.hosts[i];
        host.disk.wipe();
        host.disk_losses.push(now);
        host.life = Life::Lost;
        true
    }

    fn start(&mut self, i: usize, recovered: Recovered, disk: DiskRecovery, replaced: bool) {
        let record = RestartRecord {
            at_us: self.now,
            disk,
            hard_state: recovered.hard_state,
            log_damaged: recovered.log_damaged,
            snapshot_index: recovered.snapshot.as_ref().map(|s| s.index),
            entries: recovered.entries.len(),
            replaced,
        };
        let now = self.local_now(i);
        let node = self.make_node(self.hosts[i].info.id, recovered, now);
        let host = &mut self.hosts[i];
        host.node = Some(node);
        host.life = Life::Up;
        host.incarnation += 1;
        host.restarts.push(record);
        self.drain(i);
        self.start_backups(i);
    }

    /// Every client waiting on node `id` learns that it went down.
    fn fail_clients_of(&mut self, id: NodeId) {
        let waiting: Vec<OpId> = self
            .workload
            .clients
            .iter()
            .filter_map(|c| c.outstanding)
            .filter(|op| self.history.get(*op).node == id)
            .collect();
        for op in waiting {
            self.respond(op, OpResult::NodeDown);
        }
    }
}
