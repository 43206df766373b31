//! Settings of the REST API.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use cairn_core::Timestamp;

use super::admin::AdminConfig;
use super::audit::{AuditSink, TracingAudit};
use super::metrics::Metrics;

/// Largest request body accepted. The largest legitimate bodies are an encrypt of 4 KiB
/// (5464 base64 characters), a decrypt of its 8 KiB ciphertext, and the import of an RSA-4096
/// private JWK (about 4 KiB): 64 KiB leaves room for all of them and stops a client from
/// making the server buffer megabytes.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// How the API is run.
#[derive(Clone)]
pub struct ApiConfig {
    /// Largest request body, in bytes; longer ones get 413 with the OKMS body.
    pub body_limit: usize,
    /// Per-caller token bucket; `None` turns rate limiting off.
    pub rate_limit: Option<RateLimit>,
    /// Whether a client certificate must name its credential's domain in its
    /// subjectAltName (`okms.domain:<uuid>`, see [`super::ClientCertificate`]). On by
    /// default, as OKMS does; turning it off trusts the credential binding alone.
    pub require_domain_san: bool,
    /// Where the audit lines go.
    pub audit: Arc<dyn AuditSink>,
    /// The registry `/metrics` serves; the runtime registers its own gauges in it.
    pub metrics: Metrics,
    /// The wall clock: credential expiry and the dates of lifecycle transitions.
    pub clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    /// What `/ready` answers: `Err(reason)` while the node cannot serve (still catching up,
    /// no store yet). Always ready by default.
    pub readiness: Arc<dyn Fn() -> Result<(), String> + Send + Sync>,
    /// The operator admin API (`/admin/v1/…`); `None` (the default) turns it off: its paths
    /// then answer 404.
    pub admin: Option<AdminConfig>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            body_limit: DEFAULT_BODY_LIMIT,
            rate_limit: Some(RateLimit::default()),
            require_domain_san: true,
            audit: Arc::new(TracingAudit),
            metrics: Metrics::new(),
            clock: Arc::new(system_clock),
            readiness: Arc::new(|| Ok(())),
            admin: None,
        }
    }
}

impl fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiConfig")
            .field("body_limit", &self.body_limit)
            .field("rate_limit", &self.rate_limit)
            .field("require_domain_san", &self.require_domain_san)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

/// The system clock as a core timestamp.
pub fn system_clock() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Timestamp::from_millis(millis)
}

/// A token bucket per caller: `burst` requests at once, refilled at `per_second`.
///
/// Callers are told apart by credential; requests that fail authentication share a bucket
/// per client address, which bounds how fast one address can guess tokens or make this node
/// wait on the cluster for unknown credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

impl Default for RateLimit {
    /// Generous: meant to stop a runaway client, not to meter a normal one.
    fn default() -> Self {
        RateLimit {
            per_second: 1000,
            burst: 2000,
        }
    }
}
