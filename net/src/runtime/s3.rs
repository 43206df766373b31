//! A backup region that is an S3-compatible object store (AWS S3, MinIO, Ceph RGW, …),
//! through the `object_store` crate.
//!
//! Every object is written with one `PUT`, which S3 makes atomic: a reader sees the previous
//! object or the new one, never a part (the local [`super::DirSink`] gets the same promise
//! from rename). Objects live under an optional prefix, so that several clusters or
//! environments can share a bucket.

mod http;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cairn_core::api::SecretString;
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{BackoffConfig, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};

use super::backup::{BackupSink, BoxFuture, SinkError};

/// Where a backup region's objects go, as a node's configuration file gives it (the `s3`
/// table of a `[[backup]]` region, see [`super::BackupRegionConfig`]).
///
/// Credentials are `access_key_id` and `secret_access_key` (and `session_token`) when the
/// file gives them, else `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (and
/// `AWS_SESSION_TOKEN`) from the node's environment; one of the two is required. Nothing else
/// is read from the environment, and no instance-metadata endpoint is ever asked.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// The service's URL (`https://minio.internal:9000`); none for AWS itself, whose endpoint
    /// follows from `region`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    /// Objects are stored as `prefix/name`; empty for the bucket's root.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<SecretString>,
    /// For temporary credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<SecretString>,
    /// Accept an `http://` endpoint. Only for tests against a local server: requests carry
    /// signed credentials and the object names.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_http: bool,
    /// `bucket.endpoint/name` instead of `endpoint/bucket/name`. Off by default: path-style
    /// requests work with every S3-compatible server (MinIO, moto, Ceph), and AWS still
    /// accepts them.
    #[serde(default, skip_serializing_if = "is_false")]
    pub virtual_hosted_style: bool,
    /// PEM bundle of the CAs to trust for the endpoint instead of the system's (a private
    /// MinIO, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Seconds for one HTTP exchange.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_s: u64,
    /// Retries of one operation inside the sink (connection refused, 5xx, a timed-out
    /// idempotent request), with backoff from 100 ms. Kept short: the backup schedule retries
    /// a failed upload itself, without holding up the next backup.
    #[serde(default = "default_max_retries")]
    pub max_retries: usize,
    /// No retry inside the sink starts later than this many seconds after the first attempt.
    #[serde(default = "default_retry_timeout")]
    pub retry_timeout_s: u64,
}

fn default_request_timeout() -> u64 {
    60
}

fn default_max_retries() -> usize {
    3
}

fn default_retry_timeout() -> u64 {
    30
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl S3Config {
    /// A configuration with the defaults of the file form and no credentials (they then come
    /// from the environment).
    pub fn new(bucket: impl Into<String>, region: impl Into<String>) -> S3Config {
        S3Config {
            endpoint: None,
            bucket: bucket.into(),
            region: region.into(),
            prefix: String::new(),
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            allow_http: false,
            virtual_hosted_style: false,
            ca_file: None,
            request_timeout_s: default_request_timeout(),
            max_retries: default_max_retries(),
            retry_timeout_s: default_retry_timeout(),
        }
    }

    /// The credentials to sign with: the configuration's, or else the environment's (`env`
    /// looks a variable up; [`S3Sink::new`] passes the process environment).
    pub fn credentials(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Credentials, S3Error> {
        match (&self.access_key_id, &self.secret_access_key) {
            (Some(id), Some(secret)) => Ok(Credentials {
                access_key_id: id.clone(),
                secret_access_key: secret.clone(),
                session_token: self.session_token.clone(),
            }),
            (Some(_), None) | (None, Some(_)) => Err(S3Error::Config(
                "give both access_key_id and secret_access_key, or neither (to take \
                 AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment)"
                    .into(),
            )),
            (None, None) => {
                let var = |name: &str| env(name).filter(|v| !v.is_empty());
                match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
                    (Some(id), Some(secret)) => Ok(Credentials {
                        access_key_id: id,
                        secret_access_key: secret.into(),
                        session_token: self
                            .session_token
                            .clone()
                            .or_else(|| var("AWS_SESSION_TOKEN").map(SecretString::from)),
                    }),
                    _ => Err(S3Error::Config(format!(
                        "no credentials for bucket {}: set access_key_id and \
                         secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                        self.bucket
                    ))),
                }
            }
        }
    }
}

/// What requests are signed with.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: Option<SecretString>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("prefix", &self.prefix)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("allow_http", &self.allow_http)
            .field("virtual_hosted_style", &self.virtual_hosted_style)
            .field("ca_file", &self.ca_file)
            .field("request_timeout_s", &self.request_timeout_s)
            .field("max_retries", &self.max_retries)
            .field("retry_timeout_s", &self.retry_timeout_s)
            .finish_non_exhaustive()
    }
}

/// Why the S3 sink could not be built or an operation failed. Messages name the bucket and
/// objects, never the credentials.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("S3 sink configuration: {0}")]
    Config(String),
    #[error("cannot read the CA bundle {}: {source}", path.display())]
    CaFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("CA bundle {}: {reason}", path.display())]
    CaPem { path: PathBuf, reason: String },
    #[error("invalid object name {name:?}: {reason}")]
    Name { name: String, reason: String },
    #[error("S3 {operation} of {name:?} in bucket {bucket}: {source}")]
    Store {
        operation: &'static str,
        bucket: String,
        name: String,
        source: Box<object_store::Error>,
    },
}

/// The sink of one backup region on an S3-compatible store.
#[derive(Clone, Debug)]
pub struct S3Sink {
    store: Arc<AmazonS3>,
    bucket: String,
    prefix: Option<Path>,
}

impl S3Sink {
    /// Checks the configuration and builds the client; no request is made yet. Credentials
    /// missing from `config` are taken from the process environment.
    pub fn new(config: &S3Config) -> Result<S3Sink, S3Error> {
        S3Sink::with_env(config, |name| std::env::var(name).ok())
    }

    /// [`S3Sink::new`] with the environment looked up by `env`.
    pub fn with_env(
        config: &S3Config,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<S3Sink, S3Error> {
        let credentials = config.credentials(env)?;
        let connector = http::HyperConnector {
            tls: Arc::new(tls_config(config)?),
            allow_http: config.allow_http,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(config.request_timeout_s.max(1)),
        };
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(5),
                base: 2.0,
            },
            max_retries: config.max_retries,
            retry_timeout: Duration::from_secs(config.retry_timeout_s),
        };
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&credentials.access_key_id)
            .with_secret_access_key(credentials.secret_access_key.expose())
            .with_allow_http(config.allow_http)
            .with_virtual_hosted_style_request(config.virtual_hosted_style)
            .with_retry(retry)
            .with_http_connector(connector);
        if let Some(endpoint) = &config.endpoint {
            if endpoint.starts_with("http://") && !config.allow_http {
                return Err(S3Error::Config(format!(
                    "endpoint {endpoint} is plain HTTP; set allow_http for a local test server"
                )));
            }
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(token) = &credentials.session_token {
            builder = builder.with_token(token.expose());
        }
        let store = builder
            .build()
            .map_err(|e| S3Error::Config(e.to_string()))?;
        let prefix = config.prefix.trim_matches('/');
        let prefix = if prefix.is_empty() {
            None
        } else {
            Some(Path::parse(prefix).map_err(|e| S3Error::Name {
                name: config.prefix.clone(),
                reason: e.to_string(),
            })?)
        };
        Ok(S3Sink {
            store: Arc::new(store),
            bucket: config.bucket.clone(),
            prefix,
        })
    }

    /// The object's key in the bucket. Names are parsed, not escaped: a name that S3 would
    /// store under another key (empty, empty segments, `..`, a trailing `/`) is refused
    /// rather than renamed, so that what `list` answers is what `put` was given.
    fn path(&self, name: &str) -> Result<Path, S3Error> {
        let refuse = |reason: String| S3Error::Name {
            name: name.to_string(),
            reason,
        };
        let parsed = Path::parse(name).map_err(|e| refuse(e.to_string()))?;
        if name.is_empty() || parsed.as_ref() != name {
            return Err(refuse(format!(
                "S3 would store it as {:?}",
                parsed.as_ref()
            )));
        }
        Ok(match &self.prefix {
            Some(prefix) => prefix.parts().chain(parsed.parts()).collect(),
            None => parsed,
        })
    }

    fn failed(&self, operation: &'static str, name: &str, source: object_store::Error) -> S3Error {
        S3Error::Store {
            operation,
            bucket: self.bucket.clone(),
            name: name.to_string(),
            source: Box::new(source),
        }
    }

    /// Stores `bytes` as `name`, replacing any object of that name, atomically.
    pub async fn put_object(&self, name: &str, bytes: Vec<u8>) -> Result<(), S3Error> {
        let path = self.path(name)?;
        self.store
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(|e| self.failed("put", name, e))?;
        Ok(())
    }

    /// The object `name`, or `None` if there is none. A missing bucket is an error, not an
    /// empty region: S3 answers both with 404, and only its message tells them apart.
    pub async fn get_object(&self, name: &str) -> Result<Option<Vec<u8>>, S3Error> {
        let path = self.path(name)?;
        let result = match self.store.get(&path).await {
            Ok(result) => result,
            Err(e @ object_store::Error::NotFound { .. }) if !no_such_bucket(&e) => {
                return Ok(None);
            }
            Err(e) => return Err(self.failed("get", name, e)),
        };
        let bytes = result
            .bytes()
            .await
            .map_err(|e| self.failed("get", name, e))?;
        Ok(Some(bytes.to_vec()))
    }

    /// Deletes `name`; deleting an object that is not there succeeds, deleting from a bucket
    /// that is not there does not.
    pub async fn delete_object(&self, name: &str) -> Result<(), S3Error> {
        let path = self.path(name)?;
        match self.store.delete(&path).await {
            Ok(()) => Ok(()),
            Err(e @ object_store::Error::NotFound { .. }) if !no_such_bucket(&e) => Ok(()),
            Err(e) => Err(self.failed("delete", name, e)),
        }
    }

    /// Every object under the prefix, by name relative to it, sorted.
    pub async fn list_objects(&self) -> Result<Vec<String>, S3Error> {
        let metas: Vec<_> = self
            .store
            .list(self.prefix.as_ref())
            .try_collect()
            .await
            .map_err(|e| self.failed("list", "", e))?;
        let mut names: Vec<String> = metas
            .into_iter()
            .filter_map(|meta| match &self.prefix {
                Some(prefix) => meta
                    .location
                    .prefix_match(prefix)
                    .map(|rest| rest.map(|p| p.as_ref().to_string()).collect::<Vec<_>>())
                    .map(|parts| parts.join("/")),
                None => Some(meta.location.to_string()),
            })
            .collect();
        names.sort();
        Ok(names)
    }
}

/// Whether S3 said the bucket itself is missing (its error code, in the answer's body).
fn no_such_bucket(e: &object_store::Error) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(e) = next {
        if e.to_string().contains("NoSuchBucket") {
            return true;
        }
        next = e.source();
    }
    false
}

fn tls_config(config: &S3Config) -> Result<rustls::ClientConfig, S3Error> {
    let mut roots = RootCertStore::empty();
    match &config.ca_file {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|source| S3Error::CaFile {
                path: path.clone(),
                source,
            })?;
            let certs = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| S3Error::CaPem {
                    path: path.clone(),
                    reason: "not valid PEM".into(),
                })?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(S3Error::CaPem {
                    path: path.clone(),
                    reason: "no usable CERTIFICATE section".into(),
                });
            }
        }
        None => {
            // Unreadable system certificates are skipped: the ones that load are enough
            // for a public endpoint, and a private one names its CA in `ca_file`.
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| S3Error::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tls)
}

impl BackupSink for S3Sink {
    fn put(&self, name: String, bytes: Vec<u8>) -> BoxFuture<Result<(), SinkError>> {
        let sink = self.clone();
        Box::pin(async move { Ok(sink.put_object(&name, bytes).await?) })
    }

    fn get(&self, name: String) -> BoxFuture<Result<Option<Vec<u8>>, SinkError>> {
        let sink = self.clone();
        Box::pin(async move { Ok(sink.get_object(&name).await?) })
    }

    fn delete(&self, name: String) -> BoxFuture<Result<(), SinkError>> {
        let sink = self.clone();
        Box::pin(async move { Ok(sink.delete_object(&name).await?) })
    }

    fn list(&self) -> BoxFuture<Result<Vec<String>, SinkError>> {
        let sink = self.clone();
        Box::pin(async move { Ok(sink.list_objects().await?) })
    }
}
