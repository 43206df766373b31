//! TCP between nodes: mutual TLS with the cluster CA, versioned length-delimited frames,
//! one outbound connection per peer with reconnection and backoff, and bounded queues.
//!
//! Messages are best effort, as the protocol expects: when a peer is slow or away its queue
//! fills and further messages to it are dropped (and counted) rather than letting memory
//! grow; replication resends what was lost.

pub mod frame;
pub mod identity;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use cairn_core::replication::{NodeId, Packet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use identity::{NodeTls, TlsError, peer_node, server_name};

/// Packets received, with the verified sender.
pub type Inbound = mpsc::Sender<(NodeId, Packet)>;

pub struct TransportConfig {
    pub id: NodeId,
    pub listen: SocketAddr,
    pub peers: BTreeMap<NodeId, SocketAddr>,
    /// Packets queued per peer before new ones are dropped.
    pub queue: usize,
}

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct TransportStats {
    pub sent: AtomicU64,
    pub dropped: AtomicU64,
    pub received: AtomicU64,
    pub connects: AtomicU64,
}

pub struct Transport {
    queues: BTreeMap<NodeId, mpsc::Sender<Bytes>>,
    pub stats: Arc<TransportStats>,
    pub local_addr: SocketAddr,
}

impl Transport {
    /// Listens for peers and starts one connection task per peer.
    pub async fn start(
        config: TransportConfig,
        tls: &NodeTls,
        inbound: Inbound,
    ) -> Result<Transport, TlsError> {
        let stats = Arc::new(TransportStats::default());
        let acceptor = TlsAcceptor::from(Arc::new(tls.server_config()?));
        let connector = TlsConnector::from(Arc::new(tls.client_config()?));
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| TlsError::Config(format!("cannot listen on {}: {e}", config.listen)))?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        tokio::spawn(accept_loop(
            listener,
            acceptor,
            config.peers.keys().copied().collect(),
            inbound,
            stats.clone(),
        ));
        let mut queues = BTreeMap::new();
        for (peer, addr) in &config.peers {
            if *peer == config.id {
                continue;
            }
            let (tx, rx) = mpsc::channel(config.queue);
            queues.insert(*peer, tx);
            tokio::spawn(connect_loop(
                *peer,
                *addr,
                connector.clone(),
                rx,
                stats.clone(),
            ));
        }
        Ok(Transport {
            queues,
            stats,
            local_addr,
        })
    }

    /// Queues `packet` for `to`; drops it if the peer's queue is full.
    pub fn send(&self, to: NodeId, packet: &Packet) {
        let Some(queue) = self.queues.get(&to) else {
            return;
        };
        let mut buf = BytesMut::new();
        frame::encode(&packet.encode(), &mut buf);
        match queue.try_send(buf.freeze()) {
            Ok(()) => {
                self.stats.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    known: Vec<NodeId>,
    inbound: Inbound,
    stats: Arc<TransportStats>,
) {
    loop {
        let Ok((tcp, addr)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let acceptor = acceptor.clone();
        let inbound = inbound.clone();
        let known = known.clone();
        let stats = stats.clone();
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let Ok(tls) = acceptor.accept(tcp).await else {
                tracing::warn!(%addr, "peer TLS handshake failed");
                return;
            };
            let from = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(peer_node);
            let Some(from) = from.filter(|f| known.contains(f)) else {
                tracing::warn!(%addr, "peer certificate names no node of this cluster");
                return;
            };
            read_frames(tls, from, inbound, stats).await;
        });
    }
}

async fn read_frames<S: AsyncReadExt + Unpin>(
    mut stream: S,
    from: NodeId,
    inbound: Inbound,
    stats: Arc<TransportStats>,
) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        loop {
            match frame::decode(&mut buf) {
                Ok(Some(payload)) => {
                    let Some(packet) = Packet::decode(&payload) else {
                        tracing::warn!(node = %from, "undecodable packet; closing the connection");
                        return;
                    };
                    stats.received.fetch_add(1, Ordering::Relaxed);
                    if inbound.send((from, packet)).await.is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(node = %from, error = %e, "bad frame; closing the connection");
                    return;
                }
            }
        }
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Keeps one connection to `peer` open, reconnecting with exponential backoff (100 ms to
/// 5 s), and writes the queued frames to it.
async fn connect_loop(
    peer: NodeId,
    addr: SocketAddr,
    connector: TlsConnector,
    mut queue: mpsc::Receiver<Bytes>,
    stats: Arc<TransportStats>,
) {
    let mut backoff = Duration::from_millis(100);
    let mut pending: Option<Bytes> = None;
    loop {
        let connected = async {
            let tcp = TcpStream::connect(addr).await?;
            tcp.set_nodelay(true)?;
            connector.connect(server_name(peer), tcp).await
        };
        let mut stream = match tokio::time::timeout(Duration::from_secs(5), connected).await {
            Ok(Ok(s)) => {
                backoff = Duration::from_millis(100);
                stats.connects.fetch_add(1, Ordering::Relaxed);
                s
            }
            _ => {
                // While the peer is away, drop what is queued for it: stale messages are
                // worse than none, and the queue must not hold memory for a dead peer.
                while queue.try_recv().is_ok() {
                    stats.dropped.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        loop {
            let next = match pending.take() {
                Some(b) => b,
                None => match queue.recv().await {
                    Some(b) => b,
                    None => return,
                },
            };
            if stream.write_all(&next).await.is_err() {
                pending = Some(next);
                break;
            }
            // Write everything queued meanwhile before flushing: pipelining.
            let mut failed = false;
            while let Ok(more) = queue.try_recv() {
                if stream.write_all(&more).await.is_err() {
                    pending = Some(more);
                    failed = true;
                    break;
                }
            }
            if failed || stream.flush().await.is_err() {
                break;
            }
        }
    }
}
