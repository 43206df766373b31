//! A single-node, non-replicated [`Backend`]: one key store behind a lock, every write
//! applied at once as the next log index.
//!
//! For tests and tools that need the real REST API without a cluster: the API's own tests,
//! the CLI's end-to-end tests (a real TLS server in-process), experiments. It has none of the
//! node's promises: nothing is persisted, nothing replicated, and [`MemoryBackend::new`] uses
//! a fixed root key and a seeded generator so that runs repeat. Never give it keys that
//! matter.
//!
//! Besides the [`Backend`] it offers fixtures to seed state without going through the API
//! (domains, credentials, policies), and switches to play a node that is read-only (a zone
//! down) or behind (a follower that has not applied what the cluster committed).

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use cairn_core::crypto::hierarchy::RootKey;
use cairn_core::iam::{Binding, Credential, IdentityUrn, Policy, SecretToken, Token};
use cairn_core::replication::{Index, NodeId, Role};
use cairn_core::store::{Applied, Command, KeyStore, Outcome};
use cairn_core::{CredentialId, DomainId, Error, PolicyId, Timestamp};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng, TryCryptoRng, TryRng};
use serde_json::{Value, json};

use super::admin::{ClusterStatus, MemberStatus, NodeSummary};
use super::backend::Backend;
use super::config::system_clock;

/// The region label of resource URNs this backend reports.
pub const MEMORY_REGION: &str = "eu";

/// The root key of [`MemoryBackend::new`]: fixed, so that it is plainly not for real keys.
const TEST_ROOT_KEY: [u8; 32] = [7; 32];

/// A single key store behind a lock: writes are applied at once with increasing indexes.
///
/// It can also play a follower that is behind: commands given to [`MemoryBackend::lag`]
/// are committed elsewhere but applied here only at the next barrier.
#[derive(Clone)]
pub struct MemoryBackend {
    inner: Arc<Inner>,
}

struct Inner {
    store: RwLock<KeyStore>,
    index: Mutex<Index>,
    rng: Mutex<ChaCha20Rng>,
    read_only: AtomicBool,
    lagging: Mutex<Vec<Command>>,
    barriers: AtomicUsize,
    writes: AtomicUsize,
}

/// The shared generator as an RNG for blocking preparations.
struct SharedRng(Arc<Inner>);

impl TryRng for SharedRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(lock(&self.0.rng).next_u32())
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(lock(&self.0.rng).next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        lock(&self.0.rng).fill_bytes(dst);
        Ok(())
    }
}

impl TryCryptoRng for SharedRng {}

/// A poisoned lock means a panic while the store was held: the test or tool is failing
/// already, and going on with the state it left is as good as anything.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl MemoryBackend {
    /// A fresh store with the fixed test root key and a generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        MemoryBackend::with_root_key(RootKey::from_bytes(&TEST_ROOT_KEY), seed)
    }

    /// A fresh store under `root`.
    pub fn with_root_key(root: RootKey, seed: u64) -> Self {
        MemoryBackend {
            inner: Arc::new(Inner {
                store: RwLock::new(KeyStore::new(root)),
                index: Mutex::new(0),
                rng: Mutex::new(ChaCha20Rng::seed_from_u64(seed)),
                read_only: AtomicBool::new(false),
                lagging: Mutex::new(Vec::new()),
                barriers: AtomicUsize::new(0),
                writes: AtomicUsize::new(0),
            }),
        }
    }

    /// Applies `command` as the next log entry, now.
    pub fn apply(&self, command: &Command) -> (Index, Outcome) {
        let mut store = self.inner.store.write().unwrap_or_else(|e| e.into_inner());
        let mut index = lock(&self.inner.index);
        *index += 1;
        let outcome = store.apply(*index, system_clock(), command);
        (*index, outcome)
    }

    /// A command committed by the cluster that this node has not applied yet.
    pub fn lag(&self, command: Command) {
        lock(&self.inner.lagging).push(command);
    }

    /// Makes writes fail as when a zone is down.
    pub fn set_read_only(&self, read_only: bool) {
        self.inner.read_only.store(read_only, Ordering::SeqCst);
    }

    /// How many barriers the API asked for.
    pub fn barriers(&self) -> usize {
        self.inner.barriers.load(Ordering::SeqCst)
    }

    /// How many writes went through [`Backend::write`].
    pub fn writes(&self) -> usize {
        self.inner.writes.load(Ordering::SeqCst)
    }

    pub fn applied_index(&self) -> u64 {
        self.read(|s| s.state().applied_index())
    }

    fn rng(&self) -> MutexGuard<'_, ChaCha20Rng> {
        lock(&self.inner.rng)
    }

    /// Prepares and applies a change, as the write path would.
    fn change(
        &self,
        prepare: impl FnOnce(&KeyStore, &mut ChaCha20Rng) -> Result<Command, Error>,
    ) -> Result<Applied, Error> {
        let command = {
            let store = self.inner.store.read().unwrap_or_else(|e| e.into_inner());
            prepare(&store, &mut self.rng())?
        };
        self.apply(&command).1
    }

    /// A new domain.
    ///
    /// # Panics
    ///
    /// The fixtures panic when the store refuses the change: for tests and tools seeding
    /// their own state, that is a bug in the caller.
    pub fn create_domain(&self) -> DomainId {
        let id = DomainId::random(&mut *self.rng());
        let applied = self.change(|s, rng| s.prepare_domain(id, rng));
        assert_eq!(applied, Ok(Applied::DomainCreated(id)));
        id
    }

    fn add_credential(
        &self,
        domain: DomainId,
        id: CredentialId,
        binding: Binding,
        identities: &[&str],
        not_after: Option<Timestamp>,
    ) -> CredentialId {
        // Created an hour ago, so that a clock a little behind still finds it valid.
        let created = system_clock().saturating_sub(Duration::from_secs(3600));
        let credential = Credential {
            id,
            name: "fixture".into(),
            identities: identities
                .iter()
                .map(|i| IdentityUrn::new(*i).unwrap_or_else(|e| panic!("identity {i}: {e}")))
                .collect(),
            binding,
            created,
            not_after,
            revoked: None,
        };
        let applied = self.change(|s, _| s.prepare_credential(domain, credential));
        assert!(
            matches!(applied, Ok(Applied::CredentialCreated { .. })),
            "{applied:?}"
        );
        id
    }

    /// A credential of `domain` bound to the certificate `der`, for `identities`.
    ///
    /// # Panics
    ///
    /// See [`MemoryBackend::create_domain`]; also on an invalid identity URN.
    pub fn add_certificate(
        &self,
        domain: DomainId,
        der: &[u8],
        identities: &[&str],
        not_after: Option<Timestamp>,
    ) -> CredentialId {
        let id = CredentialId::random(&mut *self.rng());
        self.add_credential(domain, id, Binding::certificate(der), identities, not_after)
    }

    /// A credential of `domain` bound to a new bearer token, for `identities`.
    ///
    /// # Panics
    ///
    /// See [`MemoryBackend::add_certificate`].
    pub fn add_token(&self, domain: DomainId, identities: &[&str]) -> (CredentialId, SecretToken) {
        let id = CredentialId::random(&mut *self.rng());
        let (token, binding) = Token::generate(id, &mut *self.rng());
        self.add_credential(domain, id, binding, identities, None);
        (id, token)
    }

    /// # Panics
    ///
    /// See [`MemoryBackend::create_domain`].
    pub fn revoke(&self, domain: DomainId, credential: CredentialId) {
        let (_, outcome) = self.apply(&Command::RevokeCredential { domain, credential });
        assert!(outcome.is_ok(), "{outcome:?}");
    }

    /// Stores a policy given as its JSON without the id (a `PolicySpec`); returns the id.
    ///
    /// # Panics
    ///
    /// See [`MemoryBackend::create_domain`]; also when `spec` is not a valid policy.
    pub fn put_policy(&self, domain: DomainId, spec: Value) -> PolicyId {
        let id = PolicyId::random(&mut *self.rng());
        let mut policy = spec;
        policy["id"] = json!(id.to_string());
        let policy: Policy =
            serde_json::from_value(policy).unwrap_or_else(|e| panic!("policy: {e}"));
        let applied = self.change(|s, _| s.prepare_policy(domain, policy));
        assert!(applied.is_ok(), "{applied:?}");
        id
    }
}

impl Backend for MemoryBackend {
    fn read<R>(&self, f: impl FnOnce(&KeyStore) -> R) -> R {
        f(&self.inner.store.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn cairn_core::CryptoRng) -> R + Send + 'static,
    ) -> impl Future<Output = R> + Send {
        let inner = self.inner.clone();
        async move {
            match tokio::task::spawn_blocking(move || f(&mut SharedRng(inner))).await {
                Ok(r) => r,
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
    }

    fn fill_random(&self, buf: &mut [u8]) {
        self.rng().fill_bytes(buf);
    }

    fn write(
        &self,
        command: Command,
    ) -> impl Future<Output = Result<(Index, Outcome), Error>> + Send {
        let this = self.clone();
        async move {
            if this.inner.read_only.load(Ordering::SeqCst) {
                return Err(Error::Unavailable("zone b is unavailable".into()));
            }
            this.inner.writes.fetch_add(1, Ordering::SeqCst);
            Ok(this.apply(&command))
        }
    }

    fn barrier(&self) -> impl Future<Output = ()> + Send {
        let this = self.clone();
        async move {
            this.inner.barriers.fetch_add(1, Ordering::SeqCst);
            let pending = std::mem::take(&mut *lock(&this.inner.lagging));
            for command in pending {
                let (_, outcome) = this.apply(&command);
                if let Err(e) = outcome {
                    tracing::warn!(error = %e, "a lagging command failed to apply");
                }
            }
        }
    }

    fn region(&self) -> &str {
        MEMORY_REGION
    }

    /// A cluster of one: this store, a voter that leads itself, everything committed as
    /// soon as applied, no remote replica and no backups.
    fn cluster_status(&self) -> Option<ClusterStatus> {
        let index = *lock(&self.inner.index);
        let me = NodeSummary {
            id: NodeId(1),
            name: "memory".into(),
            zone: "memory".into(),
            role: Role::Voter,
        };
        Some(ClusterStatus {
            region: MEMORY_REGION.into(),
            leader: Some(me.id),
            term: 1,
            commit_index: index,
            applied_index: index,
            nodes: vec![MemberStatus {
                id: me.id,
                name: me.name.clone(),
                zone: me.zone.clone(),
                role: me.role,
                match_index: Some(index),
                lag_entries: Some(0),
                lag_ms: Some(0),
                reachable: Some(true),
            }],
            node: me,
            replica_lag_ms: None,
            last_backup: None,
        })
    }
}
