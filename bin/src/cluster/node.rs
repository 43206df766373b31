//! Starting one node from its configuration file: storage, transport, backups, the API over
//! mutual TLS, metrics. Shared by `cairn server` (one node per process) and `cairn dev` (a
//! whole region in one process).

use std::sync::Arc;

use anyhow::Context;
use cairn_core::replication::{NodeId, Timing};
use cairn_net::api::{self, ApiConfig, RateLimit};
use cairn_net::runtime::{BackupSetup, NodeRuntime, RuntimeConfig};
use cairn_net::tls::{TlsSettings, server_config};
use cairn_net::transport::identity::NodeTls;
use tokio::net::TcpListener;
use tokio::sync::watch;
use zeroize::Zeroizing;

use super::config::NodeFile;
use super::gauges;

/// A node that is up: its runtime, and the API server task.
pub struct Running {
    pub name: String,
    pub runtime: NodeRuntime,
    pub api: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Reads the root key file: exactly 32 bytes, and not readable by others.
pub fn read_root_key(path: &std::path::Path) -> anyhow::Result<[u8; 32]> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read the root key file {}", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        anyhow::bail!(
            "the root key file {} is readable by group or others; run `chmod 600` on it",
            path.display()
        );
    }
    let bytes = Zeroizing::new(std::fs::read(path)?);
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        anyhow::anyhow!(
            "the root key file {} must hold exactly 32 bytes, it holds {}",
            path.display(),
            bytes.len()
        )
    })
}

/// Starts the node of `file`; the API stops when `shutdown` turns true.
pub async fn start(file: &NodeFile, shutdown: watch::Receiver<bool>) -> anyhow::Result<Running> {
    let name = file.name().to_string();
    let root = Zeroizing::new(read_root_key(&file.root_key_file)?);
    let node_tls = NodeTls::load(&file.tls.cert, &file.tls.key, &file.tls.cluster_ca)
        .context("the node's TLS files")?;
    let backups = if file.backups.is_empty() {
        None
    } else {
        let mut setup = BackupSetup::open(&file.backups)
            .map_err(|e| anyhow::anyhow!("the backup regions of {name}: {}", e.report()))?;
        if let Some(schedule) = file.backup_schedule {
            setup.config.interval = std::time::Duration::from_secs(schedule.interval_seconds);
        }
        Some(setup)
    };
    let config = RuntimeConfig {
        id: NodeId(file.id),
        cluster: file.cluster.config(),
        timing: Timing::default(),
        data_dir: file.data_dir.clone(),
        urn_region: file.urn_region.clone(),
        listen_peers: file.listen_peers,
        peers: file.cluster.peers(),
        backups,
    };
    let runtime = NodeRuntime::start(config, *root, &node_tls)
        .await
        .with_context(|| format!("starting node {name}"))?;

    let tls = TlsSettings::from_pem_files(&file.tls.cert, &file.tls.key, &file.tls.client_ca)
        .context("the API's TLS files")?;
    let tls = server_config(&tls).context("the API's TLS configuration")?;
    let mut api_config = ApiConfig::default();
    if let Some(limit) = file.rate_limit {
        api_config.rate_limit = (limit.per_second > 0).then_some(RateLimit {
            per_second: limit.per_second,
            burst: limit.burst.max(1),
        });
    }
    gauges::register(&api_config.metrics, runtime.clone());
    let ready = runtime.clone();
    api_config.readiness = Arc::new(move || readiness(&ready));
    api_config.admin = super::admin::config(file)?;
    let app = api::router(runtime.clone(), api_config);
    let listener = TcpListener::bind(file.listen_api)
        .await
        .with_context(|| format!("cannot listen for the API on {}", file.listen_api))?;
    let mut stop = shutdown;
    let api = tokio::spawn(cairn_net::tls::serve(listener, tls, app, async move {
        let _ = stop.wait_for(|s| *s).await;
    }));
    tracing::info!(node = %name, api = %file.listen_api, peers = %file.listen_peers, "node started");
    Ok(Running { name, runtime, api })
}

/// Ready once the node serves state a leader has confirmed: it knows a leader, or it is a
/// learner that has applied something.
fn readiness(runtime: &NodeRuntime) -> Result<(), String> {
    let s = runtime.status();
    if s.fenced {
        return Err("this node belongs to an older generation of the cluster".into());
    }
    if s.diverged.is_some() {
        return Err("this node's log contradicts the leader's; an operator must replace it".into());
    }
    if s.leader.is_none() {
        return Err("no leader known yet".into());
    }
    Ok(())
}
