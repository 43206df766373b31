//! Where the client finds the service and its credentials: a TOML file of named profiles,
//! overridden field by field by `CAIRN_*` environment variables.
//!
//! ```toml
//! default_profile = "dev"          # optional; otherwise the profile named "default"
//!
//! [profiles.dev]
//! endpoint = "https://127.0.0.1:8443"
//! ca = "dev/ca.pem"                # relative paths are relative to this file
//! cert = "dev/admin.pem"           # client certificate and its key…
//! key = "dev/admin.key"
//! domain = "5b1f…"                 # the okmsId; without it, the certificate's domain
//!
//! [profiles.ops]
//! endpoint = "https://kms.example:8443"
//! token = "cairn_…"                # …or a bearer token
//! ```
//!
//! The file is optional: the environment alone (`CAIRN_ENDPOINT`, …) is a complete
//! configuration, which is what scripts and CI want.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;
use uuid::Uuid;

pub const ENV_PROFILE: &str = "CAIRN_PROFILE";
pub const ENV_ENDPOINT: &str = "CAIRN_ENDPOINT";
pub const ENV_CA: &str = "CAIRN_CA";
pub const ENV_CERT: &str = "CAIRN_CERT";
pub const ENV_KEY: &str = "CAIRN_KEY";
pub const ENV_TOKEN: &str = "CAIRN_TOKEN";
pub const ENV_DOMAIN: &str = "CAIRN_DOMAIN";

const DEFAULT_PROFILE: &str = "default";

/// The configuration file as written.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    default_profile: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, ProfileEntry>,
}

/// One profile as written; every field may also come from the environment.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileEntry {
    endpoint: Option<String>,
    ca: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    token: Option<String>,
    domain: Option<String>,
}

/// A client certificate and its private key, as PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// What a command connects with, once the file and the environment are merged.
#[derive(Clone, PartialEq, Eq)]
pub struct Profile {
    /// The profile's name, for messages.
    pub name: String,
    /// `https://host:port`, with any path prefix, without a trailing `/`.
    pub endpoint: String,
    /// The CA bundle that signs the server's certificate; the system's roots without it.
    pub ca: Option<PathBuf>,
    pub certificate: Option<CertificateFiles>,
    pub token: Option<String>,
    /// The domain (okmsId); without it, the key API is called on its legacy paths, where the
    /// server takes the domain from the client certificate.
    pub domain: Option<Uuid>,
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .field("ca", &self.ca)
            .field("certificate", &self.certificate)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("domain", &self.domain)
            .finish()
    }
}

/// `$XDG_CONFIG_HOME/cairn/config.toml`, else `~/.config/cairn/config.toml`.
pub fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = match env("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(xdg) => PathBuf::from(xdg),
        None => PathBuf::from(env("HOME").filter(|v| !v.is_empty())?).join(".config"),
    };
    Some(base.join("cairn").join("config.toml"))
}

/// The environment of the process, for [`resolve`]. Empty variables count as unset.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Merges the configuration file (`config`, or the default path when it exists), the
/// profile chosen by `--profile`, `CAIRN_PROFILE` or the file's `default_profile`, and the
/// `CAIRN_*` overrides.
pub fn resolve(
    config: Option<&Path>,
    profile: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Profile> {
    let (file, path) = match config {
        Some(path) => (Some(read(path)?), Some(path.to_path_buf())),
        None => match default_path(env) {
            Some(path) if path.exists() => (Some(read(&path)?), Some(path)),
            _ => (None, None),
        },
    };
    let file = file.unwrap_or_default();
    let where_ = || {
        path.as_ref()
            .map_or("no configuration file".to_string(), |p| {
                p.display().to_string()
            })
    };

    let chosen = profile
        .map(str::to_string)
        .or_else(|| env(ENV_PROFILE))
        .or_else(|| file.default_profile.clone());
    let name = chosen.clone().unwrap_or_else(|| DEFAULT_PROFILE.into());
    let mut entry = match file.profiles.get(&name) {
        Some(entry) => entry.clone(),
        // Only a profile asked for by name must exist: with none asked, the environment
        // alone may configure everything.
        None if chosen.is_some() => {
            let known: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
            bail!(
                "no profile {name:?} in {} (profiles: {})",
                where_(),
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            );
        }
        None => ProfileEntry::default(),
    };
    // Paths of the file are relative to it, so that a profile directory can be moved whole.
    if let Some(dir) = path.as_deref().and_then(Path::parent) {
        for p in [&mut entry.ca, &mut entry.cert, &mut entry.key]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
    }

    let endpoint = env(ENV_ENDPOINT).or(entry.endpoint).with_context(|| {
        format!(
            "no endpoint: set `endpoint` in profile {name:?} ({}) or {ENV_ENDPOINT}",
            where_()
        )
    })?;
    let endpoint = check_endpoint(&endpoint)?;
    let ca = env(ENV_CA).map(PathBuf::from).or(entry.ca);
    let cert = env(ENV_CERT).map(PathBuf::from).or(entry.cert);
    let key = env(ENV_KEY).map(PathBuf::from).or(entry.key);
    let certificate = match (cert, key) {
        (Some(cert), Some(key)) => Some(CertificateFiles { cert, key }),
        (None, None) => None,
        (Some(_), None) => bail!("profile {name:?} has a client certificate but no `key`"),
        (None, Some(_)) => bail!("profile {name:?} has a `key` but no client certificate (`cert`)"),
    };
    let token = env(ENV_TOKEN).or(entry.token);
    let domain = env(ENV_DOMAIN)
        .or(entry.domain)
        .map(|d| {
            Uuid::parse_str(&d)
                .with_context(|| format!("domain {d:?} of profile {name:?} is not a UUID"))
        })
        .transpose()?;
    Ok(Profile {
        name,
        endpoint,
        ca,
        certificate,
        token,
        domain,
    })
}

fn read(path: &Path) -> anyhow::Result<ConfigFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("configuration file {}", path.display()))
}

/// Only HTTPS: the client sends credentials and key operations' data.
fn check_endpoint(endpoint: &str) -> anyhow::Result<String> {
    let trimmed = endpoint.trim().trim_end_matches('/');
    let uri: http::Uri = trimmed
        .parse()
        .with_context(|| format!("endpoint {endpoint:?} is not a URL"))?;
    if uri.scheme_str() != Some("https") || uri.host().is_none() {
        bail!("endpoint {endpoint:?} must be an https:// URL with a host");
    }
    if uri.query().is_some() {
        bail!("endpoint {endpoint:?} must not have a query string");
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    const DOMAIN: &str = "5b1f7f7e-8a8e-4c1e-9d7a-0d7b0f1c2e3a";

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("config.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn profiles_environment_and_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            &format!(
                r#"
                default_profile = "dev"
                [profiles.dev]
                endpoint = "https://127.0.0.1:8443/"
                ca = "certs/ca.pem"
                cert = "/abs/admin.pem"
                key = "certs/admin.key"
                domain = "{DOMAIN}"
                [profiles.ops]
                endpoint = "https://kms.example"
                token = "cairn_secret"
                "#
            ),
        );
        let dev = resolve(Some(&path), None, &env(&[])).unwrap();
        assert_eq!(dev.name, "dev");
        assert_eq!(dev.endpoint, "https://127.0.0.1:8443");
        assert_eq!(dev.ca, Some(dir.path().join("certs/ca.pem")));
        let cert = dev.certificate.unwrap();
        assert_eq!(cert.cert, PathBuf::from("/abs/admin.pem"));
        assert_eq!(cert.key, dir.path().join("certs/admin.key"));
        assert_eq!(dev.domain, Some(Uuid::parse_str(DOMAIN).unwrap()));

        // CAIRN_PROFILE picks another; --profile wins over it.
        let ops = resolve(Some(&path), None, &env(&[(ENV_PROFILE, "ops")])).unwrap();
        assert_eq!(ops.token.as_deref(), Some("cairn_secret"));
        assert!(!format!("{ops:?}").contains("cairn_secret"));
        let dev = resolve(Some(&path), Some("dev"), &env(&[(ENV_PROFILE, "ops")])).unwrap();
        assert_eq!(dev.name, "dev");

        // Each variable overrides its field alone.
        let over = resolve(
            Some(&path),
            Some("ops"),
            &env(&[
                (ENV_ENDPOINT, "https://other:1"),
                (ENV_DOMAIN, DOMAIN),
                (ENV_CERT, "c.pem"),
                (ENV_KEY, "k.pem"),
            ]),
        )
        .unwrap();
        assert_eq!(over.endpoint, "https://other:1");
        assert_eq!(over.token.as_deref(), Some("cairn_secret"));
        assert_eq!(over.certificate.unwrap().cert, PathBuf::from("c.pem"));

        let err = resolve(Some(&path), Some("nope"), &env(&[])).unwrap_err();
        assert!(err.to_string().contains("dev, ops"), "{err}");
    }

    #[test]
    fn default_path_and_environment_only() {
        let dir = tempfile::tempdir().unwrap();
        let xdg = dir.path().to_str().unwrap();
        assert_eq!(
            default_path(&env(&[("XDG_CONFIG_HOME", xdg), ("HOME", "/home/x")])),
            Some(dir.path().join("cairn/config.toml"))
        );
        assert_eq!(
            default_path(&env(&[("HOME", "/home/x")])),
            Some(PathBuf::from("/home/x/.config/cairn/config.toml"))
        );
        // No file at the default path: the environment is enough.
        let p = resolve(
            None,
            None,
            &env(&[
                ("XDG_CONFIG_HOME", xdg),
                (ENV_ENDPOINT, "https://kms:8443"),
                (ENV_TOKEN, "t"),
            ]),
        )
        .unwrap();
        assert_eq!(p.name, "default");
        assert_eq!(p.endpoint, "https://kms:8443");
        // A file at the default path is read.
        std::fs::create_dir_all(dir.path().join("cairn")).unwrap();
        std::fs::write(
            dir.path().join("cairn/config.toml"),
            "[profiles.default]\nendpoint = \"https://from-file\"\n",
        )
        .unwrap();
        let p = resolve(None, None, &env(&[("XDG_CONFIG_HOME", xdg)])).unwrap();
        assert_eq!(p.endpoint, "https://from-file");
    }

    #[test]
    fn refusals() {
        let dir = tempfile::tempdir().unwrap();
        let none = env(&[]);
        let missing = resolve(Some(&dir.path().join("absent.toml")), None, &none).unwrap_err();
        assert!(missing.to_string().contains("absent.toml"), "{missing}");
        let no_endpoint = resolve(None, None, &none).unwrap_err();
        assert!(
            no_endpoint.to_string().contains(ENV_ENDPOINT),
            "{no_endpoint}"
        );
        for (vars, needle) in [
            (vec![(ENV_ENDPOINT, "http://kms")], "https://"),
            (
                vec![(ENV_ENDPOINT, "https://kms"), (ENV_CERT, "c")],
                "no `key`",
            ),
            (
                vec![(ENV_ENDPOINT, "https://kms"), (ENV_DOMAIN, "acme")],
                "not a UUID",
            ),
        ] {
            let err = resolve(None, None, &env(&vars)).unwrap_err();
            assert!(format!("{err:#}").contains(needle), "{err:#}");
        }
        let path = write(
            dir.path(),
            "[profiles.x]\nendpoint = \"https://a\"\ntypo = 1\n",
        );
        let err = resolve(Some(&path), Some("x"), &none).unwrap_err();
        assert!(format!("{err:#}").contains("typo"), "{err:#}");
    }
}
