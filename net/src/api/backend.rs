//! What the REST API needs from the node it runs on.
//!
//! The HTTP layer is written against this trait so that it can be tested against a single
//! in-memory key store, and run in production against the replicated node (the runtime of
//! this crate implements it over the node's driver task).

use std::future::Future;

use cairn_core::error::Error;
use cairn_core::replication::Index;
use cairn_core::store::{Command, KeyStore, Outcome};

use super::admin::ClusterStatus;

/// The node behind the API.
pub trait Backend: Clone + Send + Sync + 'static {
    /// Runs `f` against the node's applied key store, for queries and for preparing
    /// commands. `f` must be short: it holds the store against concurrent applies. CPU-heavy
    /// work never runs here: key generation needs no store
    /// (`KeyStore::prepare_material`), and signatures run on a key taken out of the store
    /// (`KeyStore::signing_key`), both through [`Backend::blocking`].
    fn read<R>(&self, f: impl FnOnce(&KeyStore) -> R) -> R;

    /// Runs `f` on a blocking-capable thread, with the node's RNG but without the store:
    /// RSA key generation takes up to seconds and must neither stall the async workers nor
    /// hold the node.
    fn blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn cairn_core::CryptoRng) -> R + Send + 'static,
    ) -> impl Future<Output = R> + Send;

    /// Fills `buf` from the OS CSPRNG (nonces, random bytes, ids).
    fn fill_random(&self, buf: &mut [u8]);

    /// Submits a prepared command and resolves when it is committed and applied here
    /// (`Ok` with what applying it did) or refused (`Err(Unavailable)`: it may or may not take
    /// effect later).
    fn write(
        &self,
        command: Command,
    ) -> impl Future<Output = Result<(Index, Outcome), Error>> + Send;

    /// Resolves once this node has applied at least what its reachable peers have, so that a
    /// query that still finds nothing may answer "not found" (read-your-writes).
    fn barrier(&self) -> impl Future<Output = ()> + Send;

    /// The region label of resource URNs (`urn:v1:<region>:resource:okms:…`).
    fn region(&self) -> &str;

    /// The node's view of its cluster, for the admin API's `GET /admin/v1/cluster/status`;
    /// `None` for a backend that is not a replicated node (it then answers 503).
    fn cluster_status(&self) -> Option<ClusterStatus> {
        None
    }
}
