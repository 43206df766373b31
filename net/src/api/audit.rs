//! The audit log: one JSON line per API request, allowed or denied (DESIGN §7).
//!
//! A line says who (credential, identities, certificate digest, client address), what
//! (method, path, IAM action, resource URN), the decision and the policy statement that made
//! it, and how it ended (status, error code). It never holds a request or response body:
//! no plaintext, ciphertext, signature, key material or token can reach it, because the
//! type has no field that could carry one.

use std::sync::Mutex;

use cairn_core::iam::{Decision, Denial, IdentityUrn};
use cairn_core::{CredentialId, DomainId, KeyId, PolicyId};
use serde::Serialize;

/// The `tracing` target audit lines are emitted under by [`TracingAudit`].
pub const AUDIT_TARGET: &str = "cairn::audit";

/// One request, as the audit log records it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AuditLine {
    /// RFC 3339, UTC, from the API's clock.
    pub time: String,
    pub request_id: String,
    pub method: String,
    /// The path only: query strings are left out (they hold nothing secret today, but a
    /// future parameter might).
    pub path: String,
    /// The route template (`/api/{okmsId}/v1/servicekey/{keyId}/encrypt`), or `unmatched`.
    pub route: String,
    pub status: u16,
    /// The OKMS `error_code` of a failed request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// SHA-256 (hex) of the client certificate presented, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<CredentialId>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<IdentityUrn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainId>,
    /// The IAM action (`okms:apikms:serviceKey/encrypt`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The key the request acted on: the path's, or the new key of a create or import.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyId>,
    /// `allow`, `deny`, or `filter` for a listing (each key checked on its own); absent when
    /// the request failed before authorization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<&'static str>,
    /// The policy and statement that allowed, or explicitly denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<usize>,
    /// The decision in words (`denied by default: no policy statement allows it`), or for a
    /// listing how many keys IAM hid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub duration_ms: u64,
}

impl AuditLine {
    /// Records an IAM decision.
    pub fn set_decision(&mut self, decision: &Decision) {
        let (word, policy, statement) = match *decision {
            Decision::Allow { policy, statement } => ("allow", Some(policy), Some(statement)),
            Decision::Deny(Denial::Explicit { policy, statement }) => {
                ("deny", Some(policy), Some(statement))
            }
            Decision::Deny(Denial::NoMatchingStatement) => ("deny", None, None),
        };
        self.decision = Some(word);
        self.policy = policy;
        self.statement = statement;
        self.reason = Some(decision.to_string());
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

/// Where audit lines go. Implementations must not block for long: `record` runs on the
/// request path.
pub trait AuditSink: Send + Sync + 'static {
    fn record(&self, line: &AuditLine);
}

/// Emits each line as a `tracing` event at INFO under the target [`AUDIT_TARGET`], the JSON
/// line as its message, so that the subscriber decides where audit lines are written.
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingAudit;

impl AuditSink for TracingAudit {
    fn record(&self, line: &AuditLine) {
        tracing::info!(target: AUDIT_TARGET, "{}", line.to_json());
    }
}

/// Keeps lines in memory, for tests.
#[derive(Debug, Default)]
pub struct MemoryAudit {
    lines: Mutex<Vec<AuditLine>>,
}

impl MemoryAudit {
    pub fn new() -> Self {
        MemoryAudit::default()
    }

    /// The lines recorded so far.
    pub fn lines(&self) -> Vec<AuditLine> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The lines recorded so far, as JSON text.
    pub fn json_lines(&self) -> Vec<String> {
        self.lines().iter().map(AuditLine::to_json).collect()
    }
}

impl AuditSink for MemoryAudit {
    fn record(&self, line: &AuditLine) {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line.clone());
    }
}
