//! `cairn recover`: rebuilding a cluster after the loss of its primary region (DESIGN §6),
//! from the remote replica (loses the last seconds) or from the backup regions (at most the
//! last 5 minutes; or the state of any moment of the last 30 days with `--at`).
//!
//! It works on the cluster directory `cairn init` made, whose node files name every data
//! directory, the root key and the backup regions. Everything it uses is verified first
//! (core's `restore`: every object against its manifest digest, its authentication under the
//! backup key, and the continuity of index ranges), and nothing is changed until the restore
//! succeeded. Then the cluster moves to a new **generation**: each node's data directory is
//! set aside (`<dir>.gen<N>`, never deleted: an operator may still need it), a fresh one
//! holds the restored state as its snapshot, and every node file names the new generation.
//! Nodes still running the old generation (a region that was only cut off) are fenced by the
//! new ones; whatever the old region's logs hold beyond the restore point is reported as
//! orphaned writes, listed in the recovery report for an operator to export or replay, never
//! merged silently.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use cairn_core::Timestamp;
use cairn_core::backup::{
    BackupKey, MANIFEST_NAME, Manifest, ManifestEntry, Orphan, Restored, from_replica, orphans,
    restore,
};
use cairn_core::crypto::hierarchy::RootKey;
use cairn_core::replication::storage::{encode_snapshot, recover};
use cairn_core::replication::{Recovered, Role, Snapshot};
use cairn_core::store::State;
use cairn_net::runtime::BackupSink;
use cairn_net::storage::{DataDir, files::SNAPSHOT};
use serde::Serialize;

use super::config::NodeFile;

/// `cairn recover`.
#[derive(clap::Args)]
pub struct RecoverArgs {
    /// The cluster directory (made by `cairn init`): every node file in its `nodes/`.
    #[arg(long, default_value = "cairn-cluster")]
    pub dir: PathBuf,
    /// Restore from the backup regions: the latest backup, or the state at `--at`.
    #[arg(
        long,
        required_unless_present = "from_replica",
        conflicts_with = "from_replica"
    )]
    pub from_backup: bool,
    /// Restore from the remote replica's data directory.
    #[arg(long)]
    pub from_replica: bool,
    /// With `--from-backup`: the state as it was at this time (RFC 3339, e.g.
    /// 2026-11-28T10:00:00Z).
    #[arg(long, requires = "from_backup", value_parser = parse_time)]
    pub at: Option<Timestamp>,
    /// Verify and report what would be restored and lost; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_time(s: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(s)
        .ok_or_else(|| format!("{s:?} is not an RFC 3339 time (e.g. 2026-11-28T10:00:00Z)"))
}

/// What a recovery did, written next to the node files as `recovery-gen<N>.json`.
#[derive(Serialize)]
struct Report {
    /// The generation the cluster moved to.
    generation: u64,
    source: String,
    at: Option<Timestamp>,
    restored_index: u64,
    restored_time: Timestamp,
    keys: usize,
    objects: Vec<String>,
    /// Per node of the old generation whose log could be read: the writes it holds beyond
    /// the restore point.
    orphans: BTreeMap<String, Vec<Orphan>>,
}

pub fn run(args: RecoverArgs) -> anyhow::Result<()> {
    let files = node_files(&args.dir)?;
    let first = &files[0].1;
    let generation = first.cluster.generation;
    for (path, f) in &files[1..] {
        if f.cluster.generation != generation {
            bail!(
                "{} names generation {}, {} names {generation}: the node files disagree",
                path.display(),
                f.cluster.generation,
                files[0].0.display()
            );
        }
    }
    if !args.dry_run {
        refuse_if_running(&files)?;
    }
    let root = zeroize::Zeroizing::new(super::node::read_root_key(&first.root_key_file)?);
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let (restored, source, replica_terms) = if args.from_replica {
        let replica = files
            .iter()
            .map(|(_, f)| f)
            .find(|f| is_replica(f))
            .context(
                "no node file describes a remote replica (a learner outside the primary region)",
            )?;
        let (recovered, damaged) = read_data_dir(&replica.data_dir)?.with_context(|| {
            format!(
                "the replica's data directory {} does not exist",
                replica.data_dir.display()
            )
        })?;
        if let Some(at) = damaged {
            eprintln!(
                "warning: the replica's log is damaged at byte {at}: restoring what precedes it"
            );
        }
        let terms: BTreeMap<u64, u64> = recovered
            .entries
            .iter()
            .map(|e| (e.index, e.term))
            .collect();
        let restored = from_replica(&recovered, &first.cluster.config())
            .map_err(|e| anyhow::anyhow!("the replica's data does not rebuild: {e}"))?;
        (restored, format!("replica {}", replica.name()), Some(terms))
    } else {
        let taker = files
            .iter()
            .map(|(_, f)| f)
            .find(|f| !f.backups.is_empty())
            .context("no node file configures backup regions")?;
        let key = BackupKey::from_root(&RootKey::from_bytes(&root));
        let restored = rt.block_on(from_backups(taker, key, args.at))?;
        let source = match args.at {
            Some(t) => format!("backups as of {t}"),
            None => "backups (latest)".to_string(),
        };
        (restored, source, None)
    };

    let state = State::decode(&restored.snapshot.data)
        .map_err(|e| anyhow::anyhow!("the restored state does not decode: {e}"))?;
    let keys: usize = state.domains().map(|d| d.keys.len()).sum();
    println!(
        "restored from {source}: up to index {} (written at {}), {keys} keys in {} domains{}",
        restored.index,
        restored.time,
        state.domains().count(),
        if restored.objects.is_empty() {
            String::new()
        } else {
            format!(", from {} backup objects", restored.objects.len())
        }
    );

    // What the old generation's logs hold beyond the restore point.
    let mut lost = BTreeMap::new();
    for (_, f) in &files {
        if f.cluster
            .config()
            .node(cairn_core::replication::NodeId(f.id))
            .is_some_and(|n| n.role == Role::Learner)
        {
            continue;
        }
        let Ok(Some((recovered, _))) = read_data_dir(&f.data_dir) else {
            println!(
                "  {}: data directory not readable here; its writes cannot be compared",
                f.name()
            );
            continue;
        };
        let (found, divergence) = orphans(&recovered.entries, restored.index, |i| {
            replica_terms.as_ref().and_then(|t| t.get(&i).copied())
        });
        let keys_created = found
            .iter()
            .filter(|o| o.what.starts_with("create key"))
            .count();
        match found.last() {
            Some(last) => println!(
                "  {}: {} writes after the restore point are not in it ({keys_created} key creations; the last at index {}, {}) — orphaned",
                f.name(),
                found.len(),
                last.index,
                last.time
            ),
            None => println!("  {}: nothing after the restore point", f.name()),
        }
        if let Some(gap) = compacted_past(&recovered, restored.index) {
            println!("  {}: {gap}", f.name());
        }
        if let Some(d) = divergence {
            println!(
                "  {}: its log contradicts the restored history from index {d}",
                f.name()
            );
        }
        lost.insert(f.name().to_string(), found);
    }

    let next = generation + 1;
    if args.dry_run {
        println!("dry run: nothing changed (a recovery would start generation {next})");
        return Ok(());
    }
    let mut config = first.cluster.config();
    config.generation = next;
    let snapshot = encode_snapshot(&Snapshot {
        index: restored.index,
        // The new generation starts a history of its own: its first leader's term follows.
        term: 0,
        config,
        data: Arc::clone(&restored.snapshot.data),
    });
    for (path, f) in &files {
        let data = &f.data_dir;
        if data.exists() {
            let aside = PathBuf::from(format!("{}.gen{generation}", data.display()));
            if aside.exists() {
                bail!("{} already exists; move it away first", aside.display());
            }
            std::fs::rename(data, &aside).with_context(|| {
                format!("cannot set {} aside as {}", data.display(), aside.display())
            })?;
            let shown = std::fs::canonicalize(&aside).unwrap_or(aside);
            println!("  {}: old data kept in {}", f.name(), shown.display());
        }
        DataDir::new(data)?
            .replace(SNAPSHOT, &snapshot)
            .with_context(|| format!("writing the restored state into {}", data.display()))?;
        set_generation(path, next)?;
    }
    let report = Report {
        generation: next,
        source,
        at: args.at,
        restored_index: restored.index,
        restored_time: restored.time,
        keys,
        objects: restored.objects,
        orphans: lost,
    };
    let report_path = args.dir.join(format!("recovery-gen{next}.json"));
    std::fs::write(&report_path, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("cannot write {}", report_path.display()))?;
    println!(
        "generation {next} is ready: start every node again (cairn server --config nodes/<name>.toml)"
    );
    println!("nodes still running generation {generation} are fenced by the new ones");
    println!(
        "report, with every orphaned write: {}",
        report_path.display()
    );
    Ok(())
}

/// The node files of the cluster in `dir`, by path.
fn node_files(dir: &Path) -> anyhow::Result<Vec<(PathBuf, NodeFile)>> {
    let nodes = dir.join("nodes");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&nodes)
        .with_context(|| format!("{} is not a cluster directory (no nodes/)", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!("{} holds no node file", nodes.display());
    }
    paths
        .into_iter()
        .map(|p| NodeFile::load(&p).map(|f| (p, f)))
        .collect()
}

fn is_replica(f: &NodeFile) -> bool {
    let config = f.cluster.config();
    config
        .node(cairn_core::replication::NodeId(f.id))
        .is_some_and(|n| n.role == Role::Learner && n.region != config.primary_region)
}

/// A node must not run while its data directory is replaced: refuse if any node's peer
/// address on this host is taken.
fn refuse_if_running(files: &[(PathBuf, NodeFile)]) -> anyhow::Result<()> {
    for (_, f) in files {
        if let Err(e) = std::net::TcpListener::bind(f.listen_peers)
            && e.kind() == std::io::ErrorKind::AddrInUse
        {
            bail!(
                "{} seems to be running ({} is in use): stop every node before a recovery",
                f.name(),
                f.listen_peers
            );
        }
    }
    Ok(())
}

/// What a node's data directory holds, read without changing it (`None` if it does not
/// exist), and where its log is damaged if it is.
fn read_data_dir(path: &Path) -> anyhow::Result<Option<(Recovered, Option<usize>)>> {
    if !path.exists() {
        return Ok(None);
    }
    let contents = DataDir::new(path)?
        .read()
        .with_context(|| format!("cannot read {}", path.display()))?;
    let (recovered, report) = recover(
        &contents.log,
        contents.snapshot.as_deref(),
        (&contents.slot_a, &contents.slot_b),
    );
    Ok(Some((recovered, report.damaged_at)))
}

/// The writes of an old node that its snapshot swallowed beyond the restore point `restored`
/// (they are in its state but no longer in its log, so they cannot be listed one by one).
fn compacted_past(recovered: &Recovered, restored: u64) -> Option<String> {
    let s = recovered.snapshot.as_ref().filter(|s| s.index > restored)?;
    Some(format!(
        "its snapshot (index {}) is past the restore point: writes {}..={} cannot be listed one by one",
        s.index,
        restored + 1,
        s.index
    ))
}

/// Restores from the backup regions of `taker`: the union of the manifests of the regions
/// that can be read; each object from the first region whose copy matches its manifest.
async fn from_backups(
    taker: &NodeFile,
    key: BackupKey,
    at: Option<Timestamp>,
) -> anyhow::Result<Restored> {
    let mut sinks: Vec<(String, Arc<dyn BackupSink>)> = Vec::new();
    let mut manifests = Vec::new();
    for region in &taker.backups {
        let sink = region
            .open()
            .map_err(|e| anyhow::anyhow!("backup region {}: {}", region.region, e.report()))?;
        match sink.get(MANIFEST_NAME.into()).await {
            Ok(Some(bytes)) => match Manifest::open(&key, &bytes) {
                Ok(m) => {
                    println!(
                        "  backup region {}: {} objects listed",
                        region.region,
                        m.entries.len()
                    );
                    manifests.push(m);
                }
                Err(e) => println!(
                    "  backup region {}: its manifest is unusable ({e})",
                    region.region
                ),
            },
            Ok(None) => println!("  backup region {}: no manifest", region.region),
            Err(e) => println!(
                "  backup region {}: cannot be read ({})",
                region.region,
                e.report()
            ),
        }
        sinks.push((region.region.clone(), sink));
    }
    let manifest = Manifest::union(manifests);
    if manifest.entries.is_empty() {
        bail!("no backup region lists any backup");
    }
    let handle = tokio::runtime::Handle::current();
    // `restore` asks for objects one at a time, as it needs them: on a blocking thread.
    tokio::task::spawn_blocking(move || {
        let fetch = |e: &ManifestEntry| -> Vec<Vec<u8>> {
            handle.block_on(async {
                let mut copies = Vec::new();
                for (_, sink) in &sinks {
                    if let Ok(Some(bytes)) = sink.get(e.name.clone()).await {
                        copies.push(bytes);
                    }
                }
                copies
            })
        };
        restore(&key, &manifest, fetch, at)
    })
    .await
    .context("the restore task")?
    .map_err(|e| anyhow::anyhow!("the backups do not restore: {e}"))
}

/// Rewrites the `[cluster] generation` of the node file at `path`, keeping the rest as it
/// is (relative paths stay relative).
fn set_generation(path: &Path, generation: u64) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let mut doc: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not TOML", path.display()))?;
    let cluster = doc
        .get_mut("cluster")
        .and_then(toml::Value::as_table_mut)
        .with_context(|| format!("{} has no [cluster] section", path.display()))?;
    cluster.insert(
        "generation".into(),
        toml::Value::Integer(i64::try_from(generation)?),
    );
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, toml::to_string_pretty(&doc)?)?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot rewrite {}", path.display()))?;
    Ok(())
}

/// `cairn orphans`: the writes a node of a replaced generation holds beyond what a recovery
/// restored, for a region that was only cut off and comes back after `cairn recover` ran
/// (its logs could not be compared then).
#[derive(clap::Args)]
pub struct OrphansArgs {
    /// The report of the recovery (`recovery-gen<N>.json` in the cluster directory).
    #[arg(long)]
    pub report: PathBuf,
    /// The old node's data directory (read, never changed).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Write the orphaned writes (with their commands, for an operator to replay) to this
    /// JSON file; without it, they are only listed.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run_orphans(args: OrphansArgs) -> anyhow::Result<()> {
    #[derive(serde::Deserialize)]
    struct Restored {
        generation: u64,
        restored_index: u64,
    }
    let report: Restored = serde_json::from_slice(
        &std::fs::read(&args.report)
            .with_context(|| format!("cannot read {}", args.report.display()))?,
    )
    .with_context(|| format!("{} is not a recovery report", args.report.display()))?;
    let (recovered, damaged) = read_data_dir(&args.data_dir)?
        .with_context(|| format!("{} does not exist", args.data_dir.display()))?;
    if let Some(at) = damaged {
        eprintln!("warning: the log is damaged at byte {at}: what follows cannot be listed");
    }
    if let Some(gap) = compacted_past(&recovered, report.restored_index) {
        eprintln!("warning: {gap}");
    }
    let (found, _) = orphans(&recovered.entries, report.restored_index, |_| None);
    println!(
        "{} writes after index {} (restored into generation {}) are only in {}",
        found.len(),
        report.restored_index,
        report.generation,
        args.data_dir.display()
    );
    for o in &found {
        println!("  {:>8}  {}  {}", o.index, o.time, o.what);
    }
    if let Some(out) = &args.out {
        std::fs::write(out, serde_json::to_vec_pretty(&found)?)
            .with_context(|| format!("cannot write {}", out.display()))?;
        println!("written to {}", out.display());
    }
    Ok(())
}
