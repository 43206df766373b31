//! Typed errors, and the OKMS error body they become.
//!
//! Every error knows its HTTP status and its OKMS `error_code`, whose layout clients decode:
//! bits 24–31 the major (system), 16–23 the minor (component), 12–15 the category, 0–11 an
//! application code unique to the error. Messages never contain key material, plaintext or
//! anything a caller sent as secret: only ids, names of fields and fixed reasons.

use serde::{Deserialize, Serialize};

use crate::ids::{CredentialId, DomainId, KeyId, PolicyId};
use crate::key::spec::KeyType;
use crate::key::state::{KeyState, Refusal};

/// The system that raised an error (`error_code` bits 24–31), as the OKMS SDK names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Major {
    Ccm = 1,
    Ssm = 2,
    Rest = 3,
    Kmip = 4,
    Db = 5,
    Xlib = 6,
}

/// Components (`error_code` bits 16–23), numbered as in the OKMS SDK.
pub mod minor {
    pub const GENERAL: u8 = 1;
    pub const CCM_IAM: u8 = 2;
    pub const CCM_DOMAIN: u8 = 3;
    /// "DSK manager": the domain service keys.
    pub const CCM_SERVICE_KEYS: u8 = 4;
    pub const REST_AUTH: u8 = 2;
    pub const REST_SERVICE_KEYS: u8 = 3;
    pub const DB_FILE: u8 = 2;
}

/// The kind of failure (`error_code` bits 12–15).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Category {
    Internal = 1,
    Argument = 2,
    Authentication = 3,
    Authorization = 4,
    NotFound = 5,
    Database = 6,
    Unavailable = 7,
    BadArgument = 8,
    TooManyRequests = 9,
    Conflict = 10,
}

impl Category {
    /// The HTTP status that goes with the category.
    pub const fn http_status(self) -> u16 {
        match self {
            Category::Internal | Category::Database => 500,
            Category::Argument | Category::BadArgument => 400,
            Category::Authentication => 401,
            Category::Authorization => 403,
            Category::NotFound => 404,
            Category::Unavailable => 503,
            Category::TooManyRequests => 429,
            Category::Conflict => 409,
        }
    }
}

/// An OKMS `error_code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    pub const fn new(major: Major, minor: u8, category: Category, app: u16) -> Self {
        assert!(app < 0x1000, "application codes have 12 bits");
        ErrorCode(
            (major as u32) << 24 | (minor as u32) << 16 | (category as u32) << 12 | app as u32,
        )
    }

    pub const fn major(self) -> u8 {
        (self.0 >> 24) as u8
    }

    pub const fn minor(self) -> u8 {
        (self.0 >> 16) as u8
    }

    pub const fn category(self) -> u8 {
        ((self.0 >> 12) & 0xf) as u8
    }

    pub const fn app(self) -> u16 {
        (self.0 & 0xfff) as u16
    }
}

/// Everything the core can refuse or fail with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum Error {
    /// A field of a request is missing, out of range or malformed.
    #[error("invalid {field}: {reason}")]
    InvalidArgument { field: String, reason: String },

    /// A feature Cairn deliberately does not offer (e.g. HSM protection).
    #[error("unsupported {field}: {reason}")]
    Unsupported { field: String, reason: String },

    #[error("domain {0} not found")]
    DomainNotFound(DomainId),

    #[error("domain {0} already exists")]
    DomainExists(DomainId),

    #[error("service key {0} not found")]
    KeyNotFound(KeyId),

    #[error("a service key with id {0} already exists in this domain")]
    KeyExists(KeyId),

    /// The key's state forbids the operation (a refused transition, or a use of a key that is
    /// not active).
    #[error("service key {key} is {state}: cannot {operation}{}", refusal.map(|r| format!(" ({r})")).unwrap_or_default())]
    KeyState {
        key: KeyId,
        state: KeyState,
        operation: String,
        refusal: Option<Refusal>,
    },

    /// The key's `operations` do not include what was asked.
    #[error("service key {key} does not allow {operation}")]
    OperationNotPermitted { key: KeyId, operation: String },

    /// A signature algorithm that does not fit the key (ES256 on an RSA key, ES384 on P-256).
    #[error("algorithm {algorithm} does not fit service key {key} ({spec})")]
    AlgorithmMismatch {
        key: KeyId,
        algorithm: String,
        spec: String,
    },

    /// A ciphertext, data-key blob or signature that cannot even be parsed.
    #[error("malformed {what}: {reason}")]
    Malformed { what: String, reason: String },

    /// A well-formed ciphertext or blob that names another key.
    #[error("this {what} was made with key {found}, not {expected}")]
    WrongKey {
        what: String,
        expected: KeyId,
        found: String,
    },

    /// Authentication of a ciphertext failed: altered bytes, wrong key, wrong context.
    #[error("decryption failed: the {what}, its context or the key does not match")]
    DecryptionFailed { what: String },

    #[error("key type {0} has no public key to export")]
    NoPublicKey(KeyType),

    #[error("credential {0} not found")]
    CredentialNotFound(CredentialId),

    #[error("credential {0} already exists")]
    CredentialExists(CredentialId),

    #[error("this certificate or token is already bound to credential {0}")]
    BindingInUse(CredentialId),

    #[error("policy {0} not found")]
    PolicyNotFound(PolicyId),

    #[error("policy {0} already exists")]
    PolicyExists(PolicyId),

    /// The caller could not be authenticated.
    #[error("authentication failed: {0}")]
    Unauthenticated(String),

    /// IAM denied the action.
    #[error("access denied: {action} on {resource}")]
    Forbidden { action: String, resource: String },

    /// Stored key material failed authentication when unsealed: never served (G6).
    #[error("stored material of service key {0} failed its integrity check")]
    MaterialCorrupted(KeyId),

    /// A domain key-encryption key failed authentication under the root key (corruption, or
    /// a node started with another cluster's root key).
    #[error("key-encryption key of domain {0} failed its integrity check")]
    DomainKeyCorrupted(DomainId),

    /// Writes cannot be committed right now (issue: a zone is down).
    #[error("read-only: {0}")]
    Unavailable(String),

    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A shorthand for [`Error::InvalidArgument`].
    pub fn invalid(field: &str, reason: String) -> Error {
        Error::InvalidArgument {
            field: field.to_string(),
            reason,
        }
    }

    pub fn malformed(what: &str, reason: impl Into<String>) -> Error {
        Error::Malformed {
            what: what.to_string(),
            reason: reason.into(),
        }
    }

    pub fn unsupported(field: &str, reason: impl Into<String>) -> Error {
        Error::Unsupported {
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    /// The OKMS `error_code` of this error.
    pub fn code(&self) -> ErrorCode {
        use Category as C;
        use Major::*;
        use minor::*;
        let (major, minor, category, app) = match self {
            Error::InvalidArgument { .. } => (Ccm, CCM_SERVICE_KEYS, C::BadArgument, 0x001),
            Error::Unsupported { .. } => (Ccm, CCM_SERVICE_KEYS, C::Argument, 0x002),
            Error::DomainNotFound(_) => (Ccm, CCM_DOMAIN, C::NotFound, 0x003),
            Error::DomainExists(_) => (Ccm, CCM_DOMAIN, C::Conflict, 0x004),
            Error::KeyNotFound(_) => (Ccm, CCM_SERVICE_KEYS, C::NotFound, 0x005),
            Error::KeyExists(_) => (Ccm, CCM_SERVICE_KEYS, C::Conflict, 0x006),
            Error::KeyState { .. } => (Ccm, CCM_SERVICE_KEYS, C::Argument, 0x007),
            Error::OperationNotPermitted { .. } => (Ccm, CCM_SERVICE_KEYS, C::Argument, 0x008),
            Error::AlgorithmMismatch { .. } => (Ccm, CCM_SERVICE_KEYS, C::Argument, 0x009),
            Error::Malformed { .. } => (Ccm, CCM_SERVICE_KEYS, C::BadArgument, 0x00a),
            Error::WrongKey { .. } => (Ccm, CCM_SERVICE_KEYS, C::BadArgument, 0x00b),
            Error::DecryptionFailed { .. } => (Ccm, CCM_SERVICE_KEYS, C::BadArgument, 0x00c),
            Error::NoPublicKey(_) => (Ccm, CCM_SERVICE_KEYS, C::Argument, 0x00d),
            Error::CredentialNotFound(_) => (Ccm, CCM_IAM, C::NotFound, 0x00e),
            Error::CredentialExists(_) => (Ccm, CCM_IAM, C::Conflict, 0x00f),
            Error::BindingInUse(_) => (Ccm, CCM_IAM, C::Conflict, 0x010),
            Error::PolicyNotFound(_) => (Ccm, CCM_IAM, C::NotFound, 0x011),
            Error::PolicyExists(_) => (Ccm, CCM_IAM, C::Conflict, 0x012),
            Error::Unauthenticated(_) => (Rest, REST_AUTH, C::Authentication, 0x013),
            Error::Forbidden { .. } => (Ccm, CCM_IAM, C::Authorization, 0x014),
            Error::MaterialCorrupted(_) => (Db, GENERAL, C::Database, 0x015),
            Error::DomainKeyCorrupted(_) => (Db, GENERAL, C::Database, 0x016),
            Error::Unavailable(_) => (Ccm, GENERAL, C::Unavailable, 0x017),
            Error::Internal(_) => (Ccm, GENERAL, C::Internal, 0x018),
        };
        ErrorCode::new(major, minor, category, app)
    }

    /// The HTTP status the API answers with.
    pub fn http_status(&self) -> u16 {
        let category = self.code().category();
        CATEGORIES
            .iter()
            .find(|c| **c as u8 == category)
            .map_or(500, |c| c.http_status())
    }

    /// The OKMS error body. `error_id` identifies this occurrence and `request_id` the
    /// request; both come from the driver.
    pub fn body(&self, error_id: String, request_id: String) -> ErrorBody {
        ErrorBody {
            error_id,
            error_code: self.code().0,
            errors: vec![self.to_string()],
            request_id,
        }
    }
}

const CATEGORIES: [Category; 10] = [
    Category::Internal,
    Category::Argument,
    Category::Authentication,
    Category::Authorization,
    Category::NotFound,
    Category::Database,
    Category::Unavailable,
    Category::BadArgument,
    Category::TooManyRequests,
    Category::Conflict,
];

/// The OKMS `ErrorResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    pub error_id: String,
    pub error_code: u32,
    pub errors: Vec<String>,
    pub request_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_layout_round_trips() {
        let c = ErrorCode::new(
            Major::Rest,
            minor::REST_AUTH,
            Category::Authentication,
            0x13,
        );
        assert_eq!(c.major(), 3);
        assert_eq!(c.minor(), 2);
        assert_eq!(c.category(), 3);
        assert_eq!(c.app(), 0x13);
        assert_eq!(c.0, 0x0302_3013);
    }

    #[test]
    fn statuses() {
        let key = KeyId::from_uuid(uuid::Uuid::nil());
        assert_eq!(Error::KeyNotFound(key).http_status(), 404);
        assert_eq!(Error::KeyExists(key).http_status(), 409);
        assert_eq!(Error::invalid("name", "too long".into()).http_status(), 400);
        assert_eq!(Error::Unavailable("zone b down".into()).http_status(), 503);
        assert_eq!(
            Error::Unauthenticated("no certificate".into()).http_status(),
            401
        );
        assert_eq!(
            Error::Forbidden {
                action: "a".into(),
                resource: "r".into()
            }
            .http_status(),
            403
        );
        assert_eq!(Error::MaterialCorrupted(key).http_status(), 500);
    }
}
