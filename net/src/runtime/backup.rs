//! Backups on the node that takes them: the core's schedule, a local outbox, and the sinks
//! of the backup regions (a local directory per region, or an S3-compatible store).

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use cairn_core::Timestamp;
use cairn_core::backup::{BackupConfig, BackupKey, BackupOutput, BackupScheduler, ScheduleState};
use cairn_core::crypto::hierarchy::RootKey;
use cairn_core::replication::Node;
use tokio::sync::mpsc;

use crate::os_rng::OsRng;
use crate::storage::DataDir;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// An object store of one backup region.
pub trait BackupSink: Send + Sync + 'static {
    fn put(&self, name: String, bytes: Vec<u8>) -> BoxFuture<Result<(), String>>;
    fn get(&self, name: String) -> BoxFuture<Result<Option<Vec<u8>>, String>>;
    fn delete(&self, name: String) -> BoxFuture<Result<(), String>>;
    fn list(&self) -> BoxFuture<Result<Vec<String>, String>>;
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
}

impl BackupSink for DirSink {
    fn put(&self, name: String, bytes: Vec<u8>) -> BoxFuture<Result<(), String>> {
        let path = self.path(&name);
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
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
        })
    }

    fn get(&self, name: String) -> BoxFuture<Result<Option<Vec<u8>>, String>> {
        let path = self.path(&name);
        Box::pin(async move {
            match tokio::fs::read(&path).await {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        })
    }

    fn delete(&self, name: String) -> BoxFuture<Result<(), String>> {
        let path = self.path(&name);
        Box::pin(async move {
            match tokio::fs::remove_file(&path).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.to_string()),
            }
        })
    }

    fn list(&self) -> BoxFuture<Result<Vec<String>, String>> {
        let root = self.root.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut names = Vec::new();
                let mut dirs = vec![root.clone()];
                while let Some(dir) = dirs.pop() {
                    for entry in std::fs::read_dir(&dir).map_err(|e| e.to_string())? {
                        let entry = entry.map_err(|e| e.to_string())?;
                        let path = entry.path();
                        if path.is_dir() {
                            dirs.push(path);
                        } else if path.extension().is_none_or(|x| x != "tmp") {
                            let rel = path.strip_prefix(&root).map_err(|e| e.to_string())?;
                            names.push(rel.to_string_lossy().replace('\\', "/"));
                        }
                    }
                }
                names.sort();
                Ok(names)
            })
            .await
            .map_err(|e| e.to_string())?
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
    pub fn start<E: Send + 'static>(
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
        let saved = std::fs::read(dir.path(STATE_FILE))
            .ok()
            .and_then(|b| ScheduleState::decode(&b));
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
                            Ok(bytes) => sink.put(object.clone(), bytes).await.map_err(|e| tracing::warn!(%region, %object, error = %e, "backup upload failed")).is_ok(),
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
                        let ok = sink.delete(name.clone()).await.is_ok();
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
