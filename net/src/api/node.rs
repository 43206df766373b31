//! The API's view of the node: shared state of the handlers, and the query and write
//! patterns that keep a follower's answers right.
//!
//! A node answers from its applied state, which on a follower may be a little behind the
//! leader. Two rules follow:
//!
//! * A query that finds no key or domain waits once for the node to catch up
//!   ([`Backend::barrier`]) and asks again before answering 404: a key created through
//!   another node a moment ago must not look missing here (read-your-writes, DESIGN §5).
//! * A write prepared against local state that refuses it (unknown key, a transition the
//!   current state forbids) is prepared once more after a barrier before the refusal is
//!   answered. The authoritative answer to a write is the outcome of applying it in log
//!   order, which is what the API returns once the command is committed.

use std::sync::Arc;

use cairn_core::iam::Region;
use cairn_core::store::{Applied, Command, KeyStore};
use cairn_core::{CryptoRng, Error};

use super::backend::Backend;
use super::config::ApiConfig;
use super::error::ApiError;
use super::rate_limit::RateLimiter;
use super::rng::BackendRng;

/// What every handler shares.
pub(crate) struct App<B> {
    pub backend: B,
    pub config: ApiConfig,
    pub region: Region,
    pub limiter: RateLimiter,
}

pub(crate) type AppState<B> = Arc<App<B>>;

/// Errors that a node that is behind may give wrongly.
fn maybe_stale(e: &Error) -> bool {
    matches!(e, Error::KeyNotFound(_) | Error::DomainNotFound(_))
}

/// Refusals of a preparation that a node that is behind may give wrongly.
fn maybe_stale_refusal(e: &Error) -> bool {
    maybe_stale(e) || matches!(e, Error::KeyState { .. })
}

impl<B: Backend> App<B> {
    /// A query on the applied state, asked again after a barrier when it finds no key or
    /// domain. `f` gets the backend's randomness for the queries that draw.
    pub async fn query<R>(
        &self,
        f: impl Fn(&KeyStore, &mut BackendRng<'_, B>) -> Result<R, Error> + Send + Sync,
    ) -> Result<R, ApiError> {
        let run = || {
            self.backend
                .read(|store| f(store, &mut BackendRng(&self.backend)))
        };
        match run() {
            Err(e) if maybe_stale(&e) => {
                self.backend.barrier().await;
                Ok(run()?)
            }
            other => Ok(other?),
        }
    }

    /// CPU-heavy work (key generation, signatures) on a blocking thread, away from the
    /// async workers and from the node's lock.
    pub async fn blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn CryptoRng) -> Result<R, Error> + Send + 'static,
    ) -> Result<R, ApiError> {
        Ok(self.backend.blocking(f).await?)
    }

    /// Prepares a command from the local state (again after a barrier if the local state
    /// refuses it) and commits it.
    pub async fn write(
        &self,
        prepare: impl Fn(&KeyStore) -> Result<Command, Error> + Send + Sync,
    ) -> Result<Applied, ApiError> {
        let command = match self.backend.read(&prepare) {
            Err(e) if maybe_stale_refusal(&e) => {
                self.backend.barrier().await;
                self.backend.read(&prepare)?
            }
            other => other?,
        };
        self.commit(command).await
    }

    /// Commits a prepared command; the answer is what applying it did.
    pub async fn commit(&self, command: Command) -> Result<Applied, ApiError> {
        let (_index, outcome) = self.backend.write(command).await?;
        Ok(outcome?)
    }
}
