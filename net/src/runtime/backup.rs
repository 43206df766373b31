//! Backups on the node that takes them: the core's schedule, a local outbox, and the sinks
//! of the backup regions (a local directory per region, or an S3-compatible store).

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use cairn_core::Timestamp;
use cairn_core::backup::{
    BackupConfig, BackupKey, BackupOutput, BackupScheduler, MANIFEST_NAME, Manifest, ManifestEntry,
    ScheduleState, inventory,
};
use cairn_core::crypto::hierarchy::RootKey;
use cairn_core::replication::Node;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::s3::{S3Config, S3Error, S3Sink};
use crate::os_rng::OsRng;
use crate::storage::DataDir;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// An object store of one backup region. Every operation either succeeds or fails with a
/// [`SinkError`]; the backup schedule retries failed uploads and deletions with backoff, so a
/// sink does not retry for long itself.
pub trait BackupSink: Send + Sync + 'static {
    /// Stores `bytes` as `name`, replacing any object of that name whole.
    fn put(&self, name: String, bytes: Vec<u8>) -> BoxFuture<Result<(), SinkError>>;
    /// The object `name`, or `None` if there is none.
    fn get(&self, name: String) -> BoxFuture<Result<Option<Vec<u8>>, SinkError>>;
    /// Deletes `name`; deleting an object that is not there succeeds.
    fn delete(&self, name: String) -> BoxFuture<Result<(), SinkError>>;
    /// Every object's name, sorted.
    fn list(&self) -> BoxFuture<Result<Vec<String>, SinkError>>;
}

/// Why a sink operation failed. Messages name the region's store and the object, never its
/// contents nor credentials.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("backup directory {}: cannot {operation} {name:?}: {source}", root.display())]
    Dir {
        root: PathBuf,
        operation: &'static str,
        name: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    S3(#[from] S3Error),
    #[error("backup sink configuration: {0}")]
    Config(String),
}

impl SinkError {
    /// The error and its sources on one line, for logs: `object_store` keeps the useful part
    /// (the HTTP status, S3's own message, the retries made) in the sources.
    pub fn report(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            let line = s.to_string();
            if !text.contains(&line) {
                text.push_str(": ");
                text.push_str(&line);
            }
            source = s.source();
        }
        text
    }
}

/// One backup region of a node's configuration file (`[[backup]]` in TOML): its name and
/// where its objects go, a local directory (`dir`) or an S3-compatible bucket (`s3`), exactly
/// one of the two.
///
/// ```toml
/// [[backup]]
/// region = "backup-x"
/// dir = "backups/backup-x"
///
/// [[backup]]
/// region = "backup-y"
/// [backup.s3]
/// endpoint = "https://minio.backup-y.internal:9000"
/// bucket = "cairn-backups"
/// region = "eu-west-3"
/// prefix = "prod/cluster-1"
/// # credentials: access_key_id / secret_access_key here, or AWS_ACCESS_KEY_ID /
/// # AWS_SECRET_ACCESS_KEY in the node's environment
/// ```
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BackupRegionConfig {
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Config>,
}

impl BackupRegionConfig {
    /// Makes the relative paths (`dir`, `s3.ca_file`) relative to `base`, the directory of the
    /// configuration file.
    pub fn resolve_paths(&mut self, base: &Path) {
        let abs = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let Some(dir) = &mut self.dir {
            abs(dir);
        }
        if let Some(ca) = self.s3.as_mut().and_then(|s3| s3.ca_file.as_mut()) {
            abs(ca);
        }
    }

    /// Builds the region's sink (creating the directory of a `dir` region). No request is
    /// made to an S3 store yet: one that is down delays only its own uploads.
    pub fn open(&self) -> Result<Arc<dyn BackupSink>, SinkError> {
        match (&self.dir, &self.s3) {
            (Some(dir), None) => Ok(Arc::new(DirSink::new(dir).map_err(|source| {
                SinkError::Dir {
                    root: dir.clone(),
                    operation: "create",
                    name: String::new(),
                    source,
                }
            })?)),
            (None, Some(s3)) => Ok(Arc::new(S3Sink::new(s3)?)),
            _ => Err(SinkError::Config(format!(
                "backup region {} needs exactly one of `dir` and `s3`",
                self.region
            ))),
        }
    }
}

impl BackupSetup {
    /// The sinks of `regions`, with the default schedule (every 5 minutes, a full backup a
    /// day, 30 days kept) over all of them.
    pub fn open(regions: &[BackupRegionConfig]) -> Result<BackupSetup, SinkError> {
        let mut sinks: BTreeMap<String, Arc<dyn BackupSink>> = BTreeMap::new();
        for r in regions {
            if sinks.insert(r.region.clone(), r.open()?).is_some() {
                return Err(SinkError::Config(format!(
                    "backup region {} is configured twice",
                    r.region
                )));
            }
        }
        Ok(BackupSetup {
            config: BackupConfig {
                regions: sinks.keys().cloned().collect(),
                ..BackupConfig::default()
            },
            sinks,
        })
    }
}

/// The schedule state of `generation` taken over from what every region holds
/// ([`inventory`], [`ScheduleState::adopt`]); a region that cannot be read counts as holding
/// everything, so that nothing there outlives its retention.
async fn adopt(setup: &BackupSetup, key: &BackupKey, generation: u64) -> ScheduleState {
    let mut held = Vec::new();
    for region in &setup.config.regions {
        let sink = &setup.sinks[region];
        match read_region(sink.as_ref(), key).await {
            Ok(entries) => {
                tracing::info!(%region, objects = entries.len(), "took over the backups a region holds");
                held.push(Some(entries));
            }
            Err(e) => {
                tracing::warn!(%region, error = %e.report(), "cannot read a backup region; its objects are assumed stored there");
                held.push(None);
            }
        }
    }
    ScheduleState::adopt(generation, &held)
}

/// What one region holds, as [`inventory`] describes it: the manifest is read, and so is
/// every object it does not list (only those need opening).
async fn read_region(
    sink: &dyn BackupSink,
    key: &BackupKey,
) -> Result<Vec<ManifestEntry>, SinkError> {
    let names = sink.list().await?;
    let mut fetched: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut listed = std::collections::BTreeSet::new();
    if names.iter().any(|n| n == MANIFEST_NAME)
        && let Some(bytes) = sink.get(MANIFEST_NAME.to_string()).await?
    {
        if let Ok(m) = Manifest::open(key, &bytes) {
            listed.extend(m.entries.into_iter().map(|e| e.name));
        }
        fetched.insert(MANIFEST_NAME.to_string(), bytes);
    }
    for name in names
        .iter()
        .filter(|n| *n != MANIFEST_NAME && !listed.contains(*n))
    {
        if let Some(bytes) = sink.get(name.clone()).await? {
            fetched.insert(name.clone(), bytes);
        }
    }
    Ok(inventory(key, &names, |n| fetched.get(n).cloned()))
}

/// A backup region that is a directory (the default, and what `cairn dev` uses). Objects are
/// written to a temporary name, fsynced and renamed, like any atomic file write.
pub struct DirSink {
    root: PathBuf,
}

impl DirSink {
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<DirSink> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        Ok(DirSink { root })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn failed(
        root: &Path,
        operation: &'static str,
        name: &str,
    ) -> impl FnOnce(std::io::Error) -> SinkError + use<> {
        let (root, name) = (root.to_path_buf(), name.to_string());
        move |source| SinkError::Dir {
            root,
            operation,
            name,
            source,
        }
    }
}

fn join_error(e: tokio::task::JoinError) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl BackupSink for DirSink {
    fn put(&self, name: String, bytes: Vec<u8>) -> BoxFuture<Result<(), SinkError>> {
        let path = self.path(&name);
        let failed = DirSink::failed(&self.root, "write", &name);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let tmp = path.with_extension("tmp");
                {
                    use std::io::Write;
                    let mut f = std::fs::File::create(&tmp)?;
                    f.write_all(&bytes)?;
                    f.sync_all()?;
                }
                std::fs::rename(&tmp, &path)?;
                if let Some(parent) = path.parent() {
                    std::fs::File::open(parent)?.sync_all()?;
                }
                Ok(())
            })
            .await
            .map_err(join_error)
            .and_then(|r| r)
            .map_err(failed)
        })
    }

    fn get(&self, name: String) -> BoxFuture<Result<Option<Vec<u8>>, SinkError>> {
        let path = self.path(&name);
        let failed = DirSink::failed(&self.root, "read", &name);
        Box::pin(async move {
            match tokio::fs::read(&path).await {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(failed(e)),
            }
        })
    }

    fn delete(&self, name: String) -> BoxFuture<Result<(), SinkError>> {
        let path = self.path(&name);
        let failed = DirSink::failed(&self.root, "delete", &name);
        Box::pin(async move {
            match tokio::fs::remove_file(&path).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(failed(e)),
            }
        })
    }

    fn list(&self) -> BoxFuture<Result<Vec<String>, SinkError>> {
        let root = self.root.clone();
        let failed = DirSink::failed(&self.root, "list", "");
        Box::pin(async move {
            tokio::task::spawn_blocking(move || -> std::io::Result<Vec<String>> {
                let mut names = Vec::new();
                let mut dirs = vec![root.clone()];
                while let Some(dir) = dirs.pop() {
                    for entry in std::fs::read_dir(&dir)? {
                        let path = entry?.path();
                        if path.is_dir() {
                            dirs.push(path);
                        } else if path.extension().is_none_or(|x| x != "tmp") {
                            let rel = path.strip_prefix(&root).map_err(std::io::Error::other)?;
                            names.push(rel.to_string_lossy().replace('\\', "/"));
                        }
                    }
                }
                names.sort();
                Ok(names)
            })
            .await
            .map_err(join_error)
            .and_then(|r| r)
            .map_err(failed)
        })
    }
}

/// Backups of a node: the schedule and the sink of every backup region.
pub struct BackupSetup {
    pub config: BackupConfig,
    pub sinks: BTreeMap<String, Arc<dyn BackupSink>>,
}

/// The answer of a sink.
#[derive(Debug)]
pub enum SinkResult {
    Uploaded {
        region: String,
        outbox: String,
        ok: bool,
    },
    Deleted {
        region: String,
        name: String,
        ok: bool,
    },
}

const STATE_FILE: &str = "backup.state";
const OUTBOX: &str = "backup-outbox";

pub(super) struct Backups {
    scheduler: BackupScheduler,
    sinks: BTreeMap<String, Arc<dyn BackupSink>>,
    dir: DataDir,
    outbox: PathBuf,
    actions: Vec<BackupOutput>,
    notify: Arc<dyn Fn(SinkResult) + Send + Sync>,
}

impl Backups {
    /// The node's schedule: resumed from its saved state, or, if there is none (a replaced
    /// replica, or the first node of a new generation), taken over from what the backup
    /// regions hold, so that their objects stay listed in the manifests and expire on time.
    /// Starting empty instead would rewrite every manifest without them: the history kept
    /// would silently shrink to what this node uploads from now on.
    pub async fn start<E: Send + 'static>(
        setup: BackupSetup,
        root: &[u8; 32],
        dir: &DataDir,
        generation: u64,
        events: mpsc::UnboundedSender<E>,
        wrap: fn(SinkResult) -> E,
    ) -> std::io::Result<Backups> {
        for region in &setup.config.regions {
            if !setup.sinks.contains_key(region) {
                return Err(std::io::Error::other(format!(
                    "no sink for backup region {region}"
                )));
            }
        }
        let key = BackupKey::from_root(&RootKey::from_bytes(root));
        let saved = match std::fs::read(dir.path(STATE_FILE)) {
            Ok(bytes) => match ScheduleState::decode(&bytes) {
                Some(state) => Some(state),
                None => {
                    tracing::error!(
                        "the saved backup schedule is unreadable; taking over what the backup regions hold"
                    );
                    None
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let saved = match saved {
            Some(state) => state,
            None => adopt(&setup, &key, generation).await,
        };
        let saved = Some(saved);
        let outbox = dir.path(OUTBOX);
        std::fs::create_dir_all(&outbox)?;
        Ok(Backups {
            scheduler: BackupScheduler::new(setup.config, key, generation, saved),
            sinks: setup.sinks,
            dir: dir.clone(),
            outbox,
            actions: Vec::new(),
            notify: Arc::new(move |r| {
                let _ = events.send(wrap(r));
            }),
        })
    }

    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.scheduler.poll_timeout()
    }

    /// When the newest backup that every region holds was cut (what an operator's "last
    /// backup" means: one region alone may be down).
    pub fn last_complete(&self) -> Option<Timestamp> {
        self.scheduler
            .state()
            .objects
            .iter()
            .rev()
            .find(|o| {
                o.copies
                    .iter()
                    .all(|c| *c == cairn_core::backup::schedule::Copy::Stored)
            })
            .map(|o| o.entry.header.created)
    }

    /// Lets the schedule run against the node (under the node's lock) and collects what it
    /// asks for; [`Backups::perform`] does it after the lock is released.
    pub fn tick(&mut self, now: Timestamp, node: &Node) {
        if self.scheduler.poll_timeout().is_some_and(|t| t <= now) {
            self.scheduler.handle_timeout(now, node, &mut OsRng);
        }
        while let Some(out) = self.scheduler.poll_output() {
            self.actions.push(out);
        }
    }

    pub fn on_result(&mut self, now: Timestamp, result: SinkResult) {
        match result {
            SinkResult::Uploaded { region, outbox, ok } => {
                self.scheduler.uploaded(now, &region, &outbox, ok)
            }
            SinkResult::Deleted { region, name, ok } => {
                self.scheduler.deleted(now, &region, &name, ok)
            }
        }
        while let Some(out) = self.scheduler.poll_output() {
            self.actions.push(out);
        }
    }

    fn outbox_path(&self, name: &str) -> PathBuf {
        self.outbox.join(name.replace('/', "_"))
    }

    pub fn perform(&mut self) {
        for action in std::mem::take(&mut self.actions) {
            match action {
                BackupOutput::Keep { name, bytes } => {
                    if let Err(e) = self.dir_replace(&self.outbox_path(&name), &bytes) {
                        tracing::error!(%name, error = %e, "cannot keep a backup object in the outbox");
                    }
                }
                BackupOutput::Discard { name } => {
                    let _ = std::fs::remove_file(self.outbox_path(&name));
                }
                BackupOutput::Save(state) => {
                    if let Err(e) = self.dir.replace(STATE_FILE, &state.encode()) {
                        tracing::error!(error = %e, "cannot save the backup schedule");
                    }
                }
                BackupOutput::Upload {
                    region,
                    outbox,
                    object,
                } => {
                    let sink = self.sinks[&region].clone();
                    let bytes = std::fs::read(self.outbox_path(&outbox));
                    let notify = self.notifier();
                    tokio::spawn(async move {
                        let ok = match bytes {
                            Ok(bytes) => match sink.put(object.clone(), bytes).await {
                                Ok(()) => true,
                                Err(e) => {
                                    tracing::warn!(%region, %object, error = %e.report(), "backup upload failed; it will be retried");
                                    false
                                }
                            },
                            Err(e) => {
                                tracing::error!(%outbox, error = %e, "backup object missing from the outbox");
                                false
                            }
                        };
                        notify(SinkResult::Uploaded { region, outbox, ok });
                    });
                }
                BackupOutput::Delete { region, name } => {
                    let sink = self.sinks[&region].clone();
                    let notify = self.notifier();
                    tokio::spawn(async move {
                        let ok = match sink.delete(name.clone()).await {
                            Ok(()) => true,
                            Err(e) => {
                                tracing::warn!(%region, %name, error = %e.report(), "expired backup not deleted; it will be retried");
                                false
                            }
                        };
                        notify(SinkResult::Deleted { region, name, ok });
                    });
                }
            }
        }
    }

    fn notifier(&self) -> Arc<dyn Fn(SinkResult) + Send + Sync> {
        self.notify.clone()
    }

    fn dir_replace(&self, path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(&self.outbox)?.sync_all()
    }
}
