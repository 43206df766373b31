//! The simulator: configuration, the event loop, and what oracles can inspect.

use std::time::Duration;

use cairn_core::Timestamp;
use cairn_core::replication::{ClusterConfig, Index, Node, NodeId, Timing};

use crate::backup::BackupSimConfig;
use crate::clock::{ClockConfig, Micros, micros_of, timestamp};
use crate::disk::DiskConfig;
use crate::event::{Event, EventQueue};
use crate::fault::FaultRecord;
use crate::history::History;
use crate::host::Host;
use crate::network::{Network, NetworkConfig};
use crate::objectstore::ObjectStore;
use crate::rng::{SimRng, micros};
use crate::scan::{Scanned, Scanner, WireRecord};
use crate::stats::Stats;
use crate::topology::Topology;
use crate::trace::Trace;
use crate::workload::{Workload, WorkloadConfig};

/// Everything a run depends on. Same config ⇒ same run.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    pub seed: u64,
    pub topology: Topology,
    /// The replication timing every node runs with.
    pub timing: Timing,
    pub network: NetworkConfig,
    pub disk: DiskConfig,
    pub clock: ClockConfig,
    pub workload: WorkloadConfig,
    /// Global time at the start of the run.
    pub start: Timestamp,
    /// The cluster's root key (the same file on every node).
    pub root_key: [u8; 32],
    /// Backups by the remote replica to the backup regions' object stores (`None`: off).
    pub backups: Option<BackupSimConfig>,
}

impl SimConfig {
    /// Defaults for everything but the seed and the topology: default timing, latencies,
    /// fsync times and a workload of 4 clients; no faults.
    pub fn new(seed: u64, topology: Topology) -> Self {
        SimConfig {
            seed,
            topology,
            timing: Timing::default(),
            network: NetworkConfig::default(),
            disk: DiskConfig::default(),
            clock: ClockConfig::default(),
            workload: WorkloadConfig::default(),
            // 2026-01-01T00:00:00Z: dates in the state look like dates.
            start: Timestamp::from_millis(1_767_225_600_000),
            root_key: [0x5a; 32],
            backups: None,
        }
    }
}

/// A simulated region: its nodes, network, disks, clocks and clients, driven by one event
/// queue and one seeded RNG. See the crate docs for how to use it.
pub struct Sim {
    pub(crate) config: SimConfig,
    pub(crate) cluster: ClusterConfig,
    /// Global time (µs since the Unix epoch).
    pub(crate) now: Micros,
    pub(crate) queue: EventQueue,
    pub(crate) rng: SimRng,
    pub(crate) hosts: Vec<Host>,
    pub(crate) net: Network,
    pub(crate) workload: Workload,
    pub(crate) history: History,
    pub(crate) stats: Stats,
    pub(crate) trace: Trace,
    pub(crate) scanner: Option<Scanner>,
    pub(crate) capture: Option<Vec<WireRecord>>,
    pub(crate) fault_log: Vec<FaultRecord>,
    /// Request and barrier ids, unique across the run (a restarted node must never see an
    /// id of its previous life again).
    pub(crate) next_request: u64,
    pub(crate) next_barrier: u64,
    /// Events processed at the current instant: time that stops moving while events keep
    /// coming is a livelock (a timer that fires at "now" forever), reported rather than hung.
    pub(crate) same_instant: u64,
    /// The backup regions' object stores (empty when backups are off).
    pub(crate) stores: Vec<ObjectStore>,
    /// Every draw that concerns backups, apart from the main stream.
    pub(crate) backup_rng: SimRng,
}

/// More events than this at one simulated instant is a livelock.
const LIVELOCK_EVENTS: u64 = 200_000;

impl Sim {
    /// Builds the region: every node starts with an empty disk at `config.start`, clients
    /// start after a random part of their think time.
    pub fn new(config: SimConfig) -> Sim {
        let cluster = config.topology.cluster();
        cluster.validate().expect("topologies are valid");
        let mut rng = SimRng::new(config.seed);
        let workload = Workload::new(config.workload.clone(), &mut rng);
        let mut sim = Sim {
            net: Network::new(&cluster, config.network.clone()),
            now: micros_of(config.start),
            queue: EventQueue::default(),
            rng,
            hosts: Vec::new(),
            workload,
            history: History::default(),
            stats: Stats::default(),
            trace: Trace::default(),
            scanner: None,
            capture: None,
            fault_log: Vec::new(),
            next_request: 1,
            next_barrier: 1,
            same_instant: 0,
            stores: config
                .backups
                .iter()
                .flat_map(|b| b.schedule.regions.iter())
                .map(|r| ObjectStore::new(r.clone()))
                .collect(),
            backup_rng: SimRng::new(config.seed ^ 0xbac0_5eed_0000_0001),
            cluster,
            config,
        };
        let max_skew = sim.config.clock.max_skew.as_millis() as i64;
        for info in sim.cluster.nodes.clone() {
            let skew = sim.rng.range(0, 2 * max_skew as u64) as i64 - max_skew;
            let host = sim.new_host(info, skew);
            sim.hosts.push(host);
        }
        for i in 0..sim.hosts.len() {
            sim.drain(i);
            sim.start_backups(i);
        }
        for c in 0..sim.workload.clients.len() {
            sim.workload.clients[c].scheduled = true;
            let first = sim
                .rng
                .micros_between((Duration::ZERO, sim.config.workload.think.1));
            sim.queue
                .push(sim.now + first, Event::ClientWake { client: c });
        }
        sim
    }

    // ---- running ----

    /// Processes the next event. Returns `false` when nothing is left to happen.
    pub fn step(&mut self) -> bool {
        let Some((at, event)) = self.queue.pop() else {
            return false;
        };
        if at > self.now {
            self.same_instant = 0;
        }
        self.same_instant += 1;
        assert!(
            self.same_instant < LIVELOCK_EVENTS,
            "livelock: {LIVELOCK_EVENTS} events at t = {} µs without time moving (seed {}; last: {})",
            self.now,
            self.config.seed,
            event.kind()
        );
        self.now = self.now.max(at);
        self.stats.events += 1;
        self.trace_event(&event);
        match event {
            Event::Deliver { from, to, bytes } => self.on_deliver(from, to, &bytes),
            Event::Wakeup { node, generation } => self.on_wakeup(usize::from(node.0), generation),
            Event::FsyncDone { node, incarnation } => {
                self.on_fsync_done(usize::from(node.0), incarnation);
            }
            Event::ClientWake { client } => self.on_client_wake(client),
            Event::ClientArrive { op } => self.on_client_arrive(op),
            Event::QueryRun { op, incarnation } => self.on_query_run(op, incarnation),
            Event::ClientReceive { op, result } => self.on_client_receive(op, *result),
            Event::ClientTimeout { op } => self.on_client_timeout(op),
            Event::Fault(fault) => self.apply(*fault),
            Event::BackupWakeup { node, generation } => {
                self.on_backup_wakeup(usize::from(node.0), generation);
            }
            Event::StoreDone(request) => self.on_store_done(*request),
        }
        true
    }

    fn trace_event(&mut self, event: &Event) {
        let at = self.now;
        let kind = event.kind();
        let t = &mut self.trace;
        match event {
            Event::Deliver { from, to, bytes } => {
                t.event(at, kind, u64::from(from.0), u64::from(to.0));
                t.bytes(bytes);
            }
            Event::Wakeup { node, generation } => t.event(at, kind, u64::from(node.0), *generation),
            Event::FsyncDone { node, incarnation } => {
                t.event(at, kind, u64::from(node.0), u64::from(*incarnation));
            }
            Event::ClientWake { client } => t.event(at, kind, *client as u64, 0),
            Event::ClientArrive { op } | Event::ClientTimeout { op } => {
                t.event(at, kind, *op as u64, 0);
            }
            Event::QueryRun { op, incarnation } => {
                t.event(at, kind, *op as u64, u64::from(*incarnation));
            }
            Event::ClientReceive { op, result } => {
                t.event(at, kind, *op as u64, 0);
                t.bytes(result.name().as_bytes());
            }
            Event::Fault(fault) => {
                t.event(at, kind, 0, 0);
                t.bytes(fault.kind().as_bytes());
            }
            Event::BackupWakeup { node, generation } => {
                t.event(at, kind, u64::from(node.0), *generation);
            }
            Event::StoreDone(r) => {
                t.event(at, kind, r.store as u64, u64::from(r.node.0));
                t.bytes(r.object.as_bytes());
            }
        }
    }

    /// Processes every event up to global time `t` (inclusive); time then reads `t`.
    pub fn run_until(&mut self, t: Timestamp) {
        self.run_until_micros(micros_of(t));
    }

    /// [`Sim::run_until`] at microsecond resolution.
    pub fn run_until_micros(&mut self, end: Micros) {
        while self.queue.peek_time().is_some_and(|at| at <= end) {
            self.step();
        }
        self.now = self.now.max(end);
    }

    /// Runs for `d` of simulated time.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until_micros(self.now + micros(d));
    }

    /// Runs until `done` holds (checked after every event) or `limit` of simulated time has
    /// passed. Returns whether `done` held.
    pub fn run_until_condition(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&Sim) -> bool,
    ) -> bool {
        let end = self.now + micros(limit);
        while !done(self) {
            if self.queue.peek_time().is_none_or(|at| at > end) {
                self.now = self.now.max(end);
                return done(self);
            }
            self.step();
        }
        true
    }

    /// Clients stop issuing new operations (outstanding ones complete), so that the region
    /// can settle before the final checks.
    pub fn stop_workload(&mut self) {
        self.apply(crate::Fault::StopWorkload);
    }

    /// The run's RNG, for scenarios that draw their own choices (fault schedules, targets)
    /// from the same seeded stream. Every draw changes what follows, deterministically.
    pub fn rng(&mut self) -> &mut SimRng {
        &mut self.rng
    }

    // ---- inspection ----

    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    pub fn cluster(&self) -> &ClusterConfig {
        &self.cluster
    }

    /// Global simulated time.
    pub fn now(&self) -> Timestamp {
        timestamp(self.now)
    }

    pub fn now_micros(&self) -> Micros {
        self.now
    }

    /// Simulated time since the start.
    pub fn elapsed(&self) -> Duration {
        Duration::from_micros(self.now - micros_of(self.config.start))
    }

    /// Every host, indexed by node id.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    pub fn host(&self, id: NodeId) -> &Host {
        &self.hosts[usize::from(id.0)]
    }

    /// The id of the node called `name` (`a1`, `r1`, …).
    pub fn id(&self, name: &str) -> Option<NodeId> {
        self.hosts
            .iter()
            .find(|h| h.info.name == name)
            .map(Host::id)
    }

    /// The running node `id`, if up.
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.host(id).node()
    }

    /// The running leader with the highest term, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.hosts
            .iter()
            .filter_map(Host::node)
            .filter(|n| n.is_leader())
            .max_by_key(|n| n.status().term)
            .map(Node::id)
    }

    /// `(id, applied index, state digest)` of every running node (G8: equal applied index
    /// must mean equal digest). Encodes every state: call it at checkpoints, not per event.
    pub fn replica_digests(&self) -> Vec<(NodeId, Index, [u8; 32])> {
        self.hosts
            .iter()
            .filter_map(Host::node)
            .map(|n| (n.id(), n.status().applied, n.store().state().digest()))
            .collect()
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    pub fn workload(&self) -> &Workload {
        &self.workload
    }

    pub fn network(&self) -> &Network {
        &self.net
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Every fault applied so far, in order.
    pub fn fault_log(&self) -> &[FaultRecord] {
        &self.fault_log
    }

    /// Events waiting in the queue.
    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }

    /// SHA-256 over every event processed so far: its time, kind, the node or client it
    /// concerns, and the bytes of every delivered message. Same seed, same hash.
    pub fn trace_hash(&self) -> [u8; 32] {
        self.trace.hash()
    }

    // ---- scanning (G6) ----

    /// Installs a callback that sees every message sent and every disk write issued, from
    /// now on (replacing any previous one).
    pub fn set_scanner(&mut self, scanner: impl FnMut(&Scanned<'_>) + Send + 'static) {
        self.scanner = Some(Box::new(scanner));
    }

    pub fn clear_scanner(&mut self) {
        self.scanner = None;
    }

    /// Starts (or stops, discarding what was kept) keeping every wire message sent.
    pub fn capture_wire(&mut self, on: bool) {
        self.capture = on.then(Vec::new);
    }

    /// The wire messages captured so far.
    pub fn wire_capture(&self) -> &[WireRecord] {
        self.capture.as_deref().unwrap_or_default()
    }

    /// Takes the captured messages, continuing to capture.
    pub fn take_wire_capture(&mut self) -> Vec<WireRecord> {
        self.capture
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("seed", &self.config.seed)
            .field("now", &self.now())
            .field("hosts", &self.hosts)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}
