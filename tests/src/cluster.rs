//! `cairn init` into a temporary directory, then one `cairn server` process per node.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::client::Client;

/// The `cairn` binary of this checkout, built once per test process.
pub fn binary() -> anyhow::Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| build().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn build() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    // The same profile and target directory as this test binary.
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the test binary is not in target/<profile>/deps")?;
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .context("profile directory")?;
    let target_dir = profile_dir.parent().context("target directory")?;
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "-p",
        "cairn",
        "--bin",
        "cairn",
        "--manifest-path",
    ])
    .arg(&manifest)
    .arg("--target-dir")
    .arg(target_dir);
    match profile {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    let status = cmd.status().context("running cargo build -p cairn")?;
    if !status.success() {
        bail!("cargo build -p cairn failed");
    }
    let bin = profile_dir.join("cairn");
    if !bin.exists() {
        bail!("{} was not built", bin.display());
    }
    Ok(bin)
}

pub struct Node {
    pub name: String,
    pub zone: String,
    pub config: PathBuf,
    pub api: SocketAddr,
    child: Option<Child>,
    log: PathBuf,
}

/// A cluster of processes; every process is killed when it is dropped.
pub struct Cluster {
    pub dir: PathBuf,
    pub nodes: Vec<Node>,
    pub client: Client,
    _tmp: TempDir,
}

/// A directory removed on drop (kept, and printed, if the test panicked, for its logs).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("cluster files and node logs kept in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Ports no other test process of this machine is likely to use: derived from the pid.
fn base_port(salt: u16) -> u16 {
    20_000 + ((std::process::id() as u16 % 400) * 50 + salt * 10) % 40_000
}

impl Cluster {
    /// `cairn init` with two voters per zone and a remote replica, then every node started.
    pub fn start(salt: u16) -> anyhow::Result<Cluster> {
        Cluster::start_with(salt, "")
    }

    /// As [`Cluster::start`], with `extra` (TOML tables) appended to every node's file.
    pub fn start_with(salt: u16, extra: &str) -> anyhow::Result<Cluster> {
        let bin = binary()?;
        let tmp = std::env::temp_dir().join(format!("cairn-e2e-{}-{salt}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp)?;
        let tmp = TempDir(tmp);
        let dir = tmp.0.join("cluster");
        let port = base_port(salt);
        let out = Command::new(&bin)
            .arg("init")
            .arg("--dir")
            .arg(&dir)
            .args(["--port", &port.to_string()])
            .args(["--peer-port", &(port + 5).to_string()])
            .output()?;
        if !out.status.success() {
            bail!(
                "cairn init failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let summary: Summary = toml::from_str(&std::fs::read_to_string(dir.join("cluster.toml"))?)
            .context("cluster.toml")?;
        let client = Client::new(
            &std::fs::read(dir.join("tls/cluster-ca.pem"))?,
            &std::fs::read(dir.join("client/admin.pem"))?,
            &std::fs::read(dir.join("client/admin.key"))?,
            summary.domain.clone(),
        )?;
        let nodes = summary
            .nodes
            .iter()
            .zip(&summary.endpoints)
            .map(|(config, endpoint)| {
                let name = config
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("?")
                    .to_string();
                Ok(Node {
                    zone: name[..1].to_string(),
                    log: tmp.0.join(format!("{name}.log")),
                    name,
                    config: config.clone(),
                    api: endpoint
                        .trim_start_matches("https://")
                        .parse()
                        .context("endpoint")?,
                    child: None,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if !extra.is_empty() {
            for path in &summary.nodes {
                let mut text = std::fs::read_to_string(path)?;
                text.push('\n');
                text.push_str(extra);
                std::fs::write(path, text)?;
            }
        }
        let mut cluster = Cluster {
            dir,
            nodes,
            client,
            _tmp: tmp,
        };
        for i in 0..cluster.nodes.len() {
            cluster.start_node(i)?;
        }
        Ok(cluster)
    }

    pub fn index(&self, name: &str) -> usize {
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    pub fn api(&self, name: &str) -> SocketAddr {
        self.nodes[self.index(name)].api
    }

    pub fn start_node(&mut self, i: usize) -> anyhow::Result<()> {
        let bin = binary()?;
        let node = &mut self.nodes[i];
        assert!(node.child.is_none(), "{} is already running", node.name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)?;
        let child = Command::new(bin)
            .arg("server")
            .arg("--config")
            .arg(&node.config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", node.name))?;
        node.child = Some(child);
        Ok(())
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(&mut self, name: &str) {
        let i = self.index(name);
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self, name: &str) -> anyhow::Result<()> {
        let i = self.index(name);
        self.start_node(i)
    }

    /// The server log of `name`, for failure messages.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(&self.nodes[self.index(name)].log).unwrap_or_default()
    }

    /// Creates keys through `via` until one succeeds (a leader is elected and both zones
    /// are up), or `within` passes.
    pub async fn wait_writable(&self, via: &str, within: Duration) -> anyhow::Result<String> {
        let deadline = Instant::now() + within;
        let mut last = String::new();
        while Instant::now() < deadline {
            match self.client.create_key(self.api(via), "probe").await {
                Ok(r) if r.status == 201 => {
                    return r.body["id"]
                        .as_str()
                        .map(str::to_string)
                        .context("a created key has an id");
                }
                Ok(r) => last = format!("{} {}", r.status, r.body),
                Err(e) => last = format!("{e:#}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("no write succeeded through {via} within {within:?}; last answer: {last}")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// What the tests read of `cluster.toml` (written by `cairn init`).
#[derive(serde::Deserialize)]
struct Summary {
    domain: String,
    endpoints: Vec<String>,
    nodes: Vec<PathBuf>,
}
