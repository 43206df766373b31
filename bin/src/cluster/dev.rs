//! `cairn dev`: a whole region on loopback in one process, for trying Cairn and developing
//! against it.
//!
//! Two zones with two voters each and a remote replica that takes backups every 5 minutes
//! into two local directories: the topology of production, with the same code (each node
//! has its own data directory, fsyncs, TLS between nodes and mutual TLS on its API). The
//! first run creates the cluster with `cairn init`; later runs start the same one again, so
//! keys survive a restart.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use tokio::sync::watch;

use super::config::NodeFile;
use super::init::{Layout, SUMMARY, Summary};

#[derive(Args)]
pub struct DevArgs {
    /// Where the region keeps its keys, certificates and data.
    #[arg(long, default_value = ".cairn-dev")]
    pub dir: PathBuf,
    /// First API port; node i listens on port + i.
    #[arg(long, default_value_t = 8441)]
    pub port: u16,
    /// First port between nodes; node i listens on peer-port + i.
    #[arg(long, default_value_t = 9441)]
    pub peer_port: u16,
}

pub fn run(args: DevArgs) -> anyhow::Result<()> {
    super::init_tracing(false);
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let dir = args.dir.canonicalize()?;
    let created = !dir.join(SUMMARY).exists();
    let summary = if created {
        let layout = Layout {
            api_port: args.port,
            peer_port: args.peer_port,
            ..Layout::default()
        };
        let summary = super::init::init(&dir, &layout)?;
        write_profile(&dir, &summary)?;
        summary
    } else {
        toml::from_str(
            &std::fs::read_to_string(dir.join(SUMMARY)).context("reading the cluster summary")?,
        )
        .context("the cluster summary")?
    };
    let files = summary
        .nodes
        .iter()
        .map(|p| NodeFile::load(p))
        .collect::<anyhow::Result<Vec<_>>>()?;

    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async move {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut nodes = Vec::new();
        for file in &files {
            nodes.push(super::node::start(file, stop_rx.clone()).await?);
        }
        // Writes need a leader: wait for one (a second or two) before saying "ready".
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        while nodes[0].runtime.status().leader.is_none() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        println!("{}", banner(&dir, &summary, &files, created));
        super::stop_signal().await;
        println!("stopping the region (data stays in {})", dir.display());
        let _ = stop_tx.send(true);
        for node in nodes {
            let _ = node.api.await;
        }
        Ok(())
    })
}

/// The client profiles the CLI reads (`CAIRN_CONFIG`): `dev`, the administrator of the
/// first domain, and `ops`, the operator. Mode 0600: it holds the operator token.
fn write_profile(dir: &Path, summary: &Summary) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let token = zeroize::Zeroizing::new(std::fs::read_to_string(&summary.operator_token)?);
    let text = zeroize::Zeroizing::new(format!(
        "# Written by `cairn dev`.\n\
         default_profile = \"dev\"\n\n\
         # The administrator of the first domain.\n\
         [profiles.dev]\n\
         endpoint = \"{endpoint}\"\n\
         ca = \"../tls/cluster-ca.pem\"\n\
         cert = \"admin.pem\"\n\
         key = \"admin.key\"\n\
         domain = \"{domain}\"\n\n\
         # The operator (cluster status, domains, credentials, policies).\n\
         [profiles.ops]\n\
         endpoint = \"{endpoint}\"\n\
         ca = \"../tls/cluster-ca.pem\"\n\
         token = \"{token}\"\n",
        endpoint = summary.endpoints[0],
        domain = summary.domain,
        token = token.trim(),
    ));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dir.join("client/config.toml"))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

fn banner(dir: &Path, summary: &Summary, files: &[NodeFile], created: bool) -> String {
    let rel = |p: &Path| {
        std::env::current_dir()
            .ok()
            .and_then(|cwd| p.strip_prefix(cwd).ok().map(Path::to_path_buf))
            .unwrap_or_else(|| p.to_path_buf())
            .display()
            .to_string()
    };
    let nodes: Vec<String> = files
        .iter()
        .map(|f| {
            let n = f
                .cluster
                .nodes
                .iter()
                .find(|n| n.id == f.id)
                .expect("checked at load");
            format!("{} ({}, {:?}) https://{}", n.name, n.zone, n.role, n.api).to_lowercase()
        })
        .collect();
    let endpoint = &summary.endpoints[0];
    let (ca, cert, key) = (
        rel(&summary.ca),
        rel(&summary.client_cert),
        rel(&summary.client_key),
    );
    let domain = summary.domain;
    format!(
        "\nCairn dev region {state} in {dir}\n\
         \n  nodes     {nodes}\
         \n  endpoint  {endpoint}\
         \n  CA        {ca}\
         \n  client    {cert} (key {key})\
         \n  domain    {domain}\
         \n  operator  token in {token}\
         \n  backups   every 5 minutes into {backups}/backup-x and backup-y\
         \n\nTry it:\
         \n  export CAIRN_CONFIG={profile}\
         \n  cairn keys create --name demo --type oct --size 256 --operations encrypt,decrypt\
         \n  cairn keys list\
         \n  cairn cluster status --profile ops\
         \n\nor with curl:\
         \n  curl --cacert {ca} --cert {cert} --key {key} \\\
         \n    -H 'content-type: application/json' \\\
         \n    -d '{{\"name\":\"demo\",\"type\":\"oct\",\"size\":256,\"operations\":[\"encrypt\",\"decrypt\"]}}' \\\
         \n    {endpoint}/api/{domain}/v1/servicekey\
         \n\nCtrl-C stops the region; its keys stay in {dir} for the next `cairn dev`.\n",
        state = if created {
            "created and started"
        } else {
            "started"
        },
        dir = rel(dir),
        nodes = nodes.join("\n            "),
        token = rel(&summary.operator_token),
        backups = rel(&dir.join("backups")),
        profile = rel(&dir.join("client/config.toml")),
    )
}
