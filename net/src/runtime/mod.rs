//! The node runtime: the tokio task that drives one core `Node` (DESIGN §4), wired to the
//! transport, the disk writer, the backup sinks and the API.
//!
//! The node sits behind a lock shared with the API: the driver task takes it to feed inputs
//! and drain outputs, request handlers take it briefly to read the applied key store. Inputs
//! are taken in batches (every event queued since the last wake-up) before outputs are
//! drained, so that under load many writes share one `Persist` and one fsync.

mod backup;
mod clock;
mod s3;
mod status;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use cairn_core::crypto::hierarchy::RootKey;
use cairn_core::error::Error;
use cairn_core::replication::{
    ClusterConfig, Index, Input, Node, NodeId, Output, Packet, Status, Timing,
};
use cairn_core::store::{Command, KeyStore, Outcome};
use tokio::sync::{mpsc, oneshot};

use crate::os_rng::OsRng;
use crate::storage::{self, DataDir, DiskWrite, Done, Writer};
use crate::transport::identity::NodeTls;
use crate::transport::{Transport, TransportConfig};

pub use backup::{BackupRegionConfig, BackupSetup, BackupSink, DirSink, SinkError};
pub use clock::now;
pub use s3::{Credentials, S3Config, S3Error, S3Sink};

/// Everything a node needs to run.
pub struct RuntimeConfig {
    pub id: NodeId,
    pub cluster: ClusterConfig,
    pub timing: Timing,
    pub data_dir: PathBuf,
    /// The region label of resource URNs.
    pub urn_region: String,
    /// Where this node listens for its peers, and where they listen.
    pub listen_peers: SocketAddr,
    pub peers: BTreeMap<NodeId, SocketAddr>,
    /// Backups, on the node that takes them (the remote replica).
    pub backups: Option<BackupSetup>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("data directory: {0}")]
    Storage(#[from] std::io::Error),
    #[error("transport: {0}")]
    Transport(#[from] crate::transport::identity::TlsError),
    #[error("configuration: {0}")]
    Config(String),
}

enum Event {
    Message(NodeId, Packet),
    Propose {
        command: Command,
        reply: WriteReply,
    },
    Barrier(oneshot::Sender<()>),
    Disk(Done),
    Backup(backup::SinkResult),
    /// Stop handling events; answered once nothing more will be.
    Stop(oneshot::Sender<()>),
}

struct Shared {
    node: RwLock<Node>,
    events: mpsc::UnboundedSender<Event>,
    urn_region: String,
    /// The node stopped (its disk failed, or it was asked to) and answers writes with
    /// `Unavailable`.
    failed: AtomicBool,
    /// Most recent fsync durations (µs), for metrics and benchmarks.
    last_fsync_micros: AtomicU64,
    /// When the newest backup stored in every backup region was cut (ms since the epoch;
    /// 0: none, or this node takes no backups).
    last_backup_ms: AtomicU64,
    transport: Arc<crate::transport::TransportStats>,
    peer_addr: SocketAddr,
}

/// A running node; cheap to clone. It is the API's [`crate::api::Backend`].
#[derive(Clone)]
pub struct NodeRuntime {
    shared: Arc<Shared>,
}

impl NodeRuntime {
    /// Recovers the node from its data directory, connects it to its peers and starts its
    /// driver task.
    pub async fn start(
        config: RuntimeConfig,
        root: [u8; 32],
        tls: &NodeTls,
    ) -> Result<NodeRuntime, StartError> {
        config
            .cluster
            .validate()
            .map_err(|e| StartError::Config(e.to_string()))?;
        let dir = DataDir::new(&config.data_dir)?;
        let storage::Loaded {
            recovered,
            report,
            counter,
            newest_slot,
        } = storage::load(&dir)?;
        if report.torn_tail_bytes > 0 {
            tracing::warn!(
                bytes = report.torn_tail_bytes,
                "dropped a torn write at the end of the log (never confirmed)"
            );
        }
        if recovered.log_damaged {
            tracing::error!(
                ?report,
                "the log is damaged: this node abstains from elections until its peers have repaired it"
            );
        }
        if recovered.hard_state.is_none() {
            tracing::error!(
                "the hard state is unreadable: this node will never vote again without an operator"
            );
        }
        let (events_tx, mut events_rx) = mpsc::unbounded_channel();
        let node = Node::new(
            config.id,
            config.cluster.clone(),
            config.timing.clone(),
            RootKey::from_bytes(&root),
            recovered,
            now(),
            Box::new(OsRng),
        );

        let (inbound_tx, mut inbound_rx) = mpsc::channel::<(NodeId, Packet)>(4096);
        let transport = Transport::start(
            TransportConfig {
                id: config.id,
                listen: config.listen_peers,
                peers: config.peers.clone(),
                queue: 4096,
            },
            tls,
            inbound_tx,
        )
        .await?;
        let forward = events_tx.clone();
        tokio::spawn(async move {
            while let Some((from, packet)) = inbound_rx.recv().await {
                if forward.send(Event::Message(from, packet)).is_err() {
                    return;
                }
            }
        });
        let disk_events = events_tx.clone();
        let writer = Writer::spawn(dir.clone(), counter, newest_slot, move |done| {
            let _ = disk_events.send(Event::Disk(done));
        })?;

        let shared = Arc::new(Shared {
            node: RwLock::new(node),
            events: events_tx.clone(),
            urn_region: config.urn_region.clone(),
            failed: AtomicBool::new(false),
            last_fsync_micros: AtomicU64::new(0),
            last_backup_ms: AtomicU64::new(0),
            transport: transport.stats.clone(),
            peer_addr: transport.local_addr,
        });
        let mut backups = match config.backups {
            Some(setup) => Some(
                backup::Backups::start(
                    setup,
                    &root,
                    &dir,
                    config.cluster.generation,
                    events_tx.clone(),
                    Event::Backup,
                )
                .await?,
            ),
            None => None,
        };
        if let Some(b) = &backups {
            shared.publish_last_backup(b);
        }
        let runtime = NodeRuntime {
            shared: shared.clone(),
        };
        tokio::spawn(async move {
            let mut driver = Driver {
                shared,
                transport,
                writer,
                writes: HashMap::new(),
                barriers: HashMap::new(),
                // Request ids must not repeat across restarts: the log may still hold entries
                // proposed by an earlier run of this node under the same numbers.
                next_id: {
                    let mut b = [0u8; 8];
                    getrandom::fill(&mut b).expect("the OS random number generator failed");
                    u64::from_le_bytes(b) >> 2
                },
            };
            loop {
                let deadline = driver.next_deadline(backups.as_ref());
                let event = tokio::select! {
                    e = events_rx.recv() => match e {
                        Some(e) => Some(e),
                        None => return,
                    },
                    () = clock::sleep_until(deadline) => None,
                };
                let mut batch: Vec<Event> = event.into_iter().collect();
                while batch.len() < 4096 {
                    match events_rx.try_recv() {
                        Ok(e) => batch.push(e),
                        Err(_) => break,
                    }
                }
                if !driver.step(batch, backups.as_mut()) {
                    return;
                }
            }
        });
        Ok(runtime)
    }

    /// Stops the node: it handles no more messages, timers or disk completions, and answers
    /// writes with `Unavailable`. Uploads already handed to a backup sink may still land.
    /// Returns once the node has stopped (at once if it already had).
    pub async fn stop(&self) {
        let (done, stopped) = oneshot::channel();
        if self.shared.events.send(Event::Stop(done)).is_ok() {
            let _ = stopped.await;
        }
    }

    pub fn status(&self) -> Status {
        self.shared.node.read().expect("node lock").status()
    }

    /// Runs `f` on the node (leader's progress, lags, …) under the lock.
    pub fn inspect<R>(&self, f: impl FnOnce(&Node) -> R) -> R {
        f(&self.shared.node.read().expect("node lock"))
    }

    pub fn last_fsync(&self) -> Duration {
        Duration::from_micros(self.shared.last_fsync_micros.load(Ordering::Relaxed))
    }

    pub fn peer_addr(&self) -> SocketAddr {
        self.shared.peer_addr
    }

    pub fn transport_stats(&self) -> &crate::transport::TransportStats {
        &self.shared.transport
    }
}

impl Shared {
    /// Makes the newest backup every region holds known to status requests.
    fn publish_last_backup(&self, backups: &backup::Backups) {
        let last = backups
            .last_complete()
            .map_or(0, cairn_core::Timestamp::as_millis);
        self.last_backup_ms.store(last, Ordering::Relaxed);
    }
}

/// Where the answer to a write goes.
type WriteReply = oneshot::Sender<Result<(Index, Outcome), Error>>;

struct Driver {
    shared: Arc<Shared>,
    transport: Transport,
    writer: Writer,
    writes: HashMap<u64, WriteReply>,
    barriers: HashMap<u64, oneshot::Sender<()>>,
    next_id: u64,
}

impl Driver {
    fn next_deadline(&self, backups: Option<&backup::Backups>) -> cairn_core::Timestamp {
        let node = self.shared.node.read().expect("node lock").poll_timeout();
        let backup = backups.and_then(backup::Backups::poll_timeout);
        [node, backup]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or_else(|| now().saturating_add(Duration::from_secs(1)))
    }

    /// Feeds a batch of events and the timeouts that are due, then performs the outputs.
    /// Returns false once the node must stop.
    fn step(&mut self, batch: Vec<Event>, mut backups: Option<&mut backup::Backups>) -> bool {
        let now = now();
        let mut outputs = Vec::new();
        {
            let mut node = self.shared.node.write().expect("node lock");
            for event in batch {
                match event {
                    Event::Message(from, packet) => {
                        node.handle_input(now, Input::Message { from, packet })
                    }
                    Event::Propose { command, reply } => {
                        let request = self.next_id;
                        self.next_id += 1;
                        self.writes.insert(request, reply);
                        node.handle_input(now, Input::Propose { request, command });
                    }
                    Event::Barrier(reply) => {
                        let id = self.next_id;
                        self.next_id += 1;
                        self.barriers.insert(id, reply);
                        node.handle_input(now, Input::Barrier { id });
                    }
                    Event::Disk(Done::Persisted { seq, fsync }) => {
                        self.shared
                            .last_fsync_micros
                            .store(fsync.as_micros() as u64, Ordering::Relaxed);
                        node.handle_input(now, Input::Persisted { seq });
                    }
                    Event::Disk(Done::Failed(reason)) => {
                        tracing::error!(%reason, "disk write failed: the node stops");
                        self.shared.failed.store(true, Ordering::SeqCst);
                        for (_, reply) in self.writes.drain() {
                            let _ = reply
                                .send(Err(Error::Unavailable("this node's disk failed".into())));
                        }
                        return false;
                    }
                    Event::Stop(done) => {
                        self.shared.failed.store(true, Ordering::SeqCst);
                        for (_, reply) in self.writes.drain() {
                            let _ =
                                reply.send(Err(Error::Unavailable("this node is stopping".into())));
                        }
                        let _ = done.send(());
                        return false;
                    }
                    Event::Backup(result) => {
                        if let Some(b) = backups.as_deref_mut() {
                            b.on_result(now, result);
                            // Only a completed upload can make a newer backup complete.
                            self.shared.publish_last_backup(b);
                        }
                    }
                }
            }
            if node.poll_timeout().is_some_and(|t| t <= now) {
                node.handle_timeout(now);
            }
            if let Some(b) = backups.as_deref_mut() {
                b.tick(now, &node);
            }
            while let Some(out) = node.poll_output() {
                outputs.push(out);
            }
        }
        for out in outputs {
            match out {
                Output::Send { to, packet } => self.transport.send(to, &packet),
                Output::Persist(batch) => self.writer.write(DiskWrite::Batch(batch)),
                Output::PersistSnapshot { seq, snapshot } => {
                    self.writer.write(DiskWrite::Snapshot { seq, snapshot })
                }
                Output::Compact { upto } => self.writer.write(DiskWrite::Compact { upto }),
                Output::Reply { request, result } => {
                    if let Some(reply) = self.writes.remove(&request) {
                        let _ = reply.send(result);
                    }
                }
                Output::BarrierDone { id } => {
                    if let Some(reply) = self.barriers.remove(&id) {
                        let _ = reply.send(());
                    }
                }
            }
        }
        if let Some(b) = backups {
            b.perform();
        }
        true
    }
}

impl crate::api::Backend for NodeRuntime {
    fn read<R>(&self, f: impl FnOnce(&KeyStore) -> R) -> R {
        f(self.shared.node.read().expect("node lock").store())
    }

    async fn blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn cairn_core::CryptoRng) -> R + Send + 'static,
    ) -> R {
        tokio::task::spawn_blocking(move || f(&mut OsRng))
            .await
            .expect("blocking work does not panic")
    }

    fn fill_random(&self, buf: &mut [u8]) {
        getrandom::fill(buf).expect("the OS random number generator failed");
    }

    fn write(
        &self,
        command: Command,
    ) -> impl std::future::Future<Output = Result<(Index, Outcome), Error>> + Send {
        let shared = self.shared.clone();
        async move {
            if shared.failed.load(Ordering::SeqCst) {
                return Err(Error::Unavailable("this node's disk failed".into()));
            }
            let (tx, rx) = oneshot::channel();
            if shared
                .events
                .send(Event::Propose { command, reply: tx })
                .is_err()
            {
                return Err(Error::Unavailable("this node is stopping".into()));
            }
            rx.await
                .unwrap_or_else(|_| Err(Error::Unavailable("this node is stopping".into())))
        }
    }

    fn barrier(&self) -> impl std::future::Future<Output = ()> + Send {
        let shared = self.shared.clone();
        async move {
            let (tx, rx) = oneshot::channel();
            if shared.events.send(Event::Barrier(tx)).is_ok() {
                let _ = tokio::time::timeout(Duration::from_secs(2), rx).await;
            }
        }
    }

    fn region(&self) -> &str {
        &self.shared.urn_region
    }

    fn cluster_status(&self) -> Option<crate::api::ClusterStatus> {
        Some(NodeRuntime::cluster_status(self))
    }
}
