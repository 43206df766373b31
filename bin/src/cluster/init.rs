//! `cairn init`: everything a new cluster needs, in one directory.
//!
//! The first domain, its administrator credential and policy must exist before anyone can
//! call the API, yet writes need an elected leader. So they are not written through the
//! log: init applies them to a key store of its own and writes the resulting state as the
//! same snapshot (index 3, term 0) into every node's data directory. Every node starts from
//! byte-identical committed state, exactly as if it had received that snapshot from a leader.

use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use cairn_core::crypto::hierarchy::RootKey;
use cairn_core::iam::credential::{Binding, Credential};
use cairn_core::iam::policy::Policy;
use cairn_core::iam::urn::IdentityUrn;
use cairn_core::replication::storage::encode_snapshot;
use cairn_core::replication::{NodeId, Role, Snapshot};
use cairn_core::store::{Command, KeyStore};
use cairn_core::{CredentialId, DomainId};
use cairn_net::api::admin::{Issuer, OperatorToken};
use cairn_net::os_rng::OsRng;
use cairn_net::storage::{DataDir, files::SNAPSHOT};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use cairn_net::runtime::BackupRegionConfig;

use super::config::{AdminFiles, ClusterFile, ClusterNode, NodeFile, TlsFiles};
use super::pki::ClusterCa;

/// The shape of the cluster to create.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The address every node binds and clients use.
    pub host: String,
    /// Node `i` serves its API on `api_port + i` and listens for peers on `peer_port + i`.
    pub api_port: u16,
    pub peer_port: u16,
    /// 1 or 2 voters in each of the two zones.
    pub voters_per_zone: u16,
    /// Whether to add the remote replica (a learner in another region, which takes the
    /// backups).
    pub replica: bool,
    pub primary_region: String,
    pub replica_region: String,
    /// The label of URNs.
    pub urn_region: String,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            host: "127.0.0.1".into(),
            api_port: 8441,
            peer_port: 9441,
            voters_per_zone: 2,
            replica: true,
            primary_region: "eu-west-1".into(),
            replica_region: "eu-central-1".into(),
            urn_region: "eu".into(),
        }
    }
}

/// What init created, for the operator (also written as `cluster.toml`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub domain: DomainId,
    /// The API of every node, `https://host:port`.
    pub endpoints: Vec<String>,
    /// The node configuration files.
    pub nodes: Vec<PathBuf>,
    /// The CA that signed the nodes' certificates: what clients trust.
    pub ca: PathBuf,
    /// The administrator's client certificate and key for `domain`.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// The operator token for `/admin/v1` (the file, mode 0600).
    pub operator_token: PathBuf,
    pub admin_identity: String,
}

pub const SUMMARY: &str = "cluster.toml";
const CLIENT_CERT_DAYS: u32 = 365;

/// Creates a cluster in `dir`, which must not hold one already.
pub fn init(dir: &Path, layout: &Layout) -> anyhow::Result<Summary> {
    if !(1..=2).contains(&layout.voters_per_zone) {
        bail!("--voters-per-zone must be 1 or 2");
    }
    if dir.join("root.key").exists() {
        bail!(
            "{} already holds a cluster (root.key exists); refusing to overwrite its keys",
            dir.display()
        );
    }
    for sub in ["tls", "nodes", "data", "client", "backups"] {
        std::fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("cannot create {}", dir.join(sub).display()))?;
    }
    let now = cairn_net::runtime::now();
    let mut rng = OsRng;

    let mut root = Zeroizing::new([0u8; 32]);
    getrandom::fill(&mut root[..]).context("the OS random number generator failed")?;
    write_secret(&dir.join("root.key"), &root[..])?;

    let cluster = cluster_file(layout);
    let cluster_ca = ClusterCa::generate("cairn cluster CA")?;
    write_public(
        &dir.join("tls/cluster-ca.pem"),
        cluster_ca.certificate_pem.as_bytes(),
    )?;
    write_secret(
        &dir.join("tls/cluster-ca.key"),
        cluster_ca.key_pem().as_bytes(),
    )?;
    let client_ca =
        Issuer::generate("cairn client CA", 3650, now).context("generating the client CA")?;
    write_public(
        &dir.join("tls/client-ca.pem"),
        client_ca.certificate_pem().as_bytes(),
    )?;
    write_secret(
        &dir.join("tls/client-ca.key"),
        client_ca.key_pem().as_bytes(),
    )?;

    let token = OperatorToken::generate(&mut rng);
    write_secret(
        &dir.join("client/operator.token"),
        token.expose().as_bytes(),
    )?;

    // The first domain, its administrator and the policy that lets them in.
    let mut store = KeyStore::new(RootKey::from_bytes(&root));
    let domain = DomainId::random(&mut rng);
    let issued = client_ca
        .issue(domain, "admin", CLIENT_CERT_DAYS, now, &mut rng)
        .context("issuing the administrator's certificate")?;
    write_public(
        &dir.join("client/admin.pem"),
        issued.certificate_pem.as_bytes(),
    )?;
    let key_pem = issued
        .private_key_pem
        .as_ref()
        .context("the issuer returned no private key")?;
    write_secret(&dir.join("client/admin.key"), key_pem.as_bytes())?;
    let admin_identity = format!("urn:v1:{}:identity:user:admin", layout.urn_region);
    let credential = Credential {
        id: CredentialId::random(&mut rng),
        name: "admin".into(),
        identities: vec![IdentityUrn::new(admin_identity.clone())?],
        binding: Binding::Certificate {
            sha256: issued.sha256,
        },
        created: now,
        not_after: Some(issued.not_after),
        revoked: None,
    };
    let policy: Policy = serde_json::from_value(serde_json::json!({
        "id": cairn_core::PolicyId::random(&mut rng),
        "name": "administrators",
        "description": "Created by cairn init: the administrator may do everything in the domain.",
        "identities": [admin_identity],
        "statements": [{
            "effect": "allow",
            "actions": ["okms:apikms:*"],
            "resources": [format!("urn:v1:{}:resource:okms:{domain}", layout.urn_region),
                          format!("urn:v1:{}:resource:okms:{domain}/*", layout.urn_region)],
        }],
    }))
    .context("the administrators' policy")?;
    let c = store.prepare_domain(domain, &mut rng)?;
    apply(&mut store, 1, now, &c)?;
    let c = store.prepare_credential(domain, credential)?;
    apply(&mut store, 2, now, &c)?;
    let c = store.prepare_policy(domain, policy)?;
    apply(&mut store, 3, now, &c)?;
    let snapshot = Snapshot {
        index: 3,
        term: 0,
        config: cluster.config(),
        data: Arc::new(store.state().encode()),
    };
    let snapshot = encode_snapshot(&snapshot);

    let mut nodes = Vec::new();
    let mut endpoints = Vec::new();
    for n in &cluster.nodes {
        let issued = cluster_ca.node(NodeId(n.id), &n.name, &layout.host)?;
        let cert = PathBuf::from(format!("tls/{}.pem", n.name));
        let key = PathBuf::from(format!("tls/{}.key", n.name));
        write_public(&dir.join(&cert), issued.certificate_pem.as_bytes())?;
        write_secret(&dir.join(&key), issued.key_pem.as_bytes())?;
        let data = PathBuf::from(format!("data/{}", n.name));
        DataDir::new(dir.join(&data))?
            .replace(SNAPSHOT, &snapshot)
            .with_context(|| format!("writing the first snapshot of {}", n.name))?;
        let backups = if n.role == Role::Learner {
            ["backup-x", "backup-y"]
                .iter()
                .map(|r| BackupRegionConfig {
                    region: (*r).into(),
                    dir: Some(PathBuf::from(format!("../backups/{r}"))),
                    s3: None,
                })
                .collect()
        } else {
            Vec::new()
        };
        let file = NodeFile {
            id: n.id,
            data_dir: PathBuf::from("..").join(&data),
            root_key_file: "../root.key".into(),
            urn_region: layout.urn_region.clone(),
            listen_api: n.api,
            listen_peers: n.peer,
            tls: TlsFiles {
                cert: PathBuf::from("..").join(cert),
                key: PathBuf::from("..").join(key),
                cluster_ca: "../tls/cluster-ca.pem".into(),
                client_ca: "../tls/client-ca.pem".into(),
            },
            admin: Some(AdminFiles {
                operator_token_sha256: vec![hex(&token.digest())],
                client_ca_key: "../tls/client-ca.key".into(),
            }),
            backups,
            backup_schedule: None,
            cluster: cluster.clone(),
            rate_limit: None,
        };
        let path = dir.join(format!("nodes/{}.toml", n.name));
        write_public(&path, toml::to_string_pretty(&file)?.as_bytes())?;
        nodes.push(path);
        endpoints.push(format!("https://{}", n.api));
    }
    let summary = Summary {
        domain,
        endpoints,
        nodes,
        ca: dir.join("tls/cluster-ca.pem"),
        client_cert: dir.join("client/admin.pem"),
        client_key: dir.join("client/admin.key"),
        operator_token: dir.join("client/operator.token"),
        admin_identity,
    };
    write_public(
        &dir.join(SUMMARY),
        toml::to_string_pretty(&summary)?.as_bytes(),
    )?;
    Ok(summary)
}

fn apply(
    store: &mut KeyStore,
    index: u64,
    now: cairn_core::Timestamp,
    command: &Command,
) -> anyhow::Result<()> {
    store
        .apply(index, now, command)
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("bootstrapping the first domain: {e}"))
}

fn cluster_file(layout: &Layout) -> ClusterFile {
    let mut nodes = Vec::new();
    let mut add = |name: String, region: &str, zone: String, role: Role| {
        let i = nodes.len() as u16;
        let addr = |port: u16| -> SocketAddr {
            let ip = layout
                .host
                .parse()
                .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
            SocketAddr::new(ip, port + i)
        };
        nodes.push(ClusterNode {
            id: i,
            name,
            region: region.into(),
            zone,
            role,
            peer: addr(layout.peer_port),
            api: addr(layout.api_port),
        });
    };
    for zone in ["a", "b"] {
        for k in 1..=layout.voters_per_zone {
            add(
                format!("{zone}{k}"),
                &layout.primary_region,
                format!("{}{zone}", layout.primary_region),
                Role::Voter,
            );
        }
    }
    if layout.replica {
        add(
            "r1".into(),
            &layout.replica_region,
            format!("{}a", layout.replica_region),
            Role::Learner,
        );
    }
    ClusterFile {
        generation: 1,
        primary_region: layout.primary_region.clone(),
        nodes,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

/// Keys and tokens: readable by the owner only.
fn write_secret(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_with_mode(path, bytes, 0o600)
}

fn write_public(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_with_mode(path, bytes, 0o644)
}
