//! The node configuration file (`cairn server --config FILE`), TOML.
//!
//! One file per node, all written by `cairn init`: the node's own settings at the top, the
//! whole cluster (which every node must agree on) under `[cluster]`. Relative paths are
//! relative to the file's directory, so that an initialised cluster directory can be moved
//! or copied to the hosts as it is.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use cairn_core::replication::{ClusterConfig, NodeId, NodeInfo, Role};
use cairn_net::runtime::BackupRegionConfig;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFile {
    /// This node's id in `[cluster]`.
    pub id: u16,
    pub data_dir: PathBuf,
    /// 32 bytes, mode 0600: the root of the key hierarchy (DESIGN §7).
    pub root_key_file: PathBuf,
    /// The region label of resource and identity URNs (`urn:v1:<label>:…`).
    #[serde(default = "default_urn_region")]
    pub urn_region: String,
    /// Where the REST API listens.
    pub listen_api: SocketAddr,
    /// Where the node listens for its peers.
    pub listen_peers: SocketAddr,
    pub tls: TlsFiles,
    #[serde(default)]
    pub admin: Option<AdminFiles>,
    /// Backup regions, each a local directory or an S3-compatible bucket; only on the node
    /// that takes the backups (the remote replica).
    #[serde(default, rename = "backup")]
    pub backups: Vec<BackupRegionConfig>,
    /// How often backups are cut; absent: every 5 minutes, which the promise of losing at
    /// most 5 minutes of writes with the primary region and the replica (G5) rests on.
    #[serde(default)]
    pub backup_schedule: Option<BackupScheduleFile>,
    pub cluster: ClusterFile,
    /// Requests per second (and burst) allowed to each credential; absent: the API's
    /// default (1000/s, bursts of 2000); `per_second = 0` turns the limit off.
    #[serde(default)]
    pub rate_limit: Option<RateLimitFile>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitFile {
    pub per_second: u32,
    pub burst: u32,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupScheduleFile {
    pub interval_seconds: u64,
}

fn default_urn_region() -> String {
    "eu".into()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The node's certificate (cluster CA), used both between nodes and for the API.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The CA of node certificates.
    pub cluster_ca: PathBuf,
    /// The CA of client certificates.
    pub client_ca: PathBuf,
}

/// Operator access to `/admin/v1`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminFiles {
    /// SHA-256 (hex) of each operator token; the tokens themselves are never stored.
    #[serde(default)]
    pub operator_token_sha256: Vec<String>,
    /// The client CA's private key, to issue credentials' certificates.
    pub client_ca_key: PathBuf,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    pub generation: u64,
    pub primary_region: String,
    #[serde(rename = "node")]
    pub nodes: Vec<ClusterNode>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterNode {
    pub id: u16,
    pub name: String,
    pub region: String,
    pub zone: String,
    pub role: Role,
    /// Where its peers reach it.
    pub peer: SocketAddr,
    /// Where clients reach its API.
    pub api: SocketAddr,
}

impl ClusterFile {
    pub fn config(&self) -> ClusterConfig {
        ClusterConfig {
            generation: self.generation,
            primary_region: self.primary_region.clone(),
            nodes: self
                .nodes
                .iter()
                .map(|n| NodeInfo {
                    id: NodeId(n.id),
                    name: n.name.clone(),
                    region: n.region.clone(),
                    zone: n.zone.clone(),
                    role: n.role,
                })
                .collect(),
        }
    }

    pub fn peers(&self) -> BTreeMap<NodeId, SocketAddr> {
        self.nodes.iter().map(|n| (NodeId(n.id), n.peer)).collect()
    }
}

impl NodeFile {
    /// Reads `path` and makes its relative paths absolute.
    pub fn load(path: &Path) -> anyhow::Result<NodeFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the node configuration {}", path.display()))?;
        let mut file: NodeFile = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid node configuration", path.display()))?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        file.resolve(&base);
        file.check()
            .with_context(|| format!("in {}", path.display()))?;
        Ok(file)
    }

    fn resolve(&mut self, base: &Path) {
        let abs = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        abs(&mut self.data_dir);
        abs(&mut self.root_key_file);
        abs(&mut self.tls.cert);
        abs(&mut self.tls.key);
        abs(&mut self.tls.cluster_ca);
        abs(&mut self.tls.client_ca);
        if let Some(a) = &mut self.admin {
            abs(&mut a.client_ca_key);
        }
        for b in &mut self.backups {
            b.resolve_paths(base);
        }
    }

    fn check(&self) -> anyhow::Result<()> {
        let config = self.cluster.config();
        config.validate().context("the [cluster] section")?;
        if config.node(NodeId(self.id)).is_none() {
            bail!("node id {} is not in the [cluster] section", self.id);
        }
        if self
            .backup_schedule
            .is_some_and(|s| s.interval_seconds == 0)
        {
            bail!("[backup_schedule] interval_seconds must be at least 1");
        }
        Ok(())
    }

    pub fn name(&self) -> &str {
        self.cluster
            .nodes
            .iter()
            .find(|n| n.id == self.id)
            .map_or("?", |n| n.name.as_str())
    }
}
