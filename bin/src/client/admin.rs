//! The operator commands, over the admin API (`/admin/v1/…`): they need a profile with an
//! operator token (`token = "cairn_op_…"`) or an operator client certificate.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use http::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::output::{block, display, table, text};
use super::{Common, Rendered, Session};

#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: ClusterCommand,
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Roles, leader, term, commit index, each node's lag, the remote replica's lag and the
    /// last backup, as the node of the endpoint sees them (the leader knows the lags).
    Status,
}

#[derive(Debug, Args)]
pub struct DomainArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: DomainCommand,
}

#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Creates a domain (an okmsId).
    Create {
        /// Its id; drawn by the server without it.
        #[arg(long)]
        id: Option<Uuid>,
    },
    /// Lists the domains.
    List,
}

#[derive(Debug, Args)]
pub struct CredentialArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: CredentialCommand,
}

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Creates a credential: a client certificate issued by the cluster's client CA (for the
    /// key of --csr, or a new key pair), or a bearer token with --token.
    Create {
        /// The domain [default: the profile's].
        #[arg(long)]
        domain: Option<Uuid>,
        /// A name for people (also the certificate's common name).
        #[arg(long)]
        name: String,
        /// An identity URN the credential's holder gets (repeat for several), e.g.
        /// urn:v1:eu:identity:user:acme/alice.
        #[arg(long = "identity", required = true)]
        identities: Vec<String>,
        /// A PEM certificate signing request: the private key stays with its owner.
        #[arg(long, value_name = "FILE", conflicts_with = "token")]
        csr: Option<PathBuf>,
        /// A bearer token instead of a certificate.
        #[arg(long)]
        token: bool,
        /// Validity in days (certificates: 365 by default; tokens: no expiry by default).
        #[arg(long)]
        days: Option<u32>,
        /// Write the certificate to PREFIX.pem and its new private key to PREFIX.key
        /// (mode 0600) instead of printing them.
        #[arg(long, value_name = "PREFIX")]
        out: Option<PathBuf>,
    },
    /// Lists the domain's credentials (never a secret).
    List {
        #[arg(long)]
        domain: Option<Uuid>,
    },
    /// Revokes a credential.
    Revoke {
        #[arg(long)]
        domain: Option<Uuid>,
        id: Uuid,
    },
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Creates or replaces a policy from a JSON file (`-` for standard input):
    /// {"name", "description"?, "identities": [URN patterns], "statements": [{"effect",
    /// "actions", "resources"}]}.
    Put {
        #[arg(long)]
        domain: Option<Uuid>,
        /// The policy's id; a new one without it.
        #[arg(long)]
        id: Option<Uuid>,
        file: String,
    },
    /// Lists the domain's policies.
    List {
        #[arg(long)]
        domain: Option<Uuid>,
    },
    /// Shows a policy.
    Get {
        #[arg(long)]
        domain: Option<Uuid>,
        id: Uuid,
    },
    /// Deletes a policy.
    Delete {
        #[arg(long)]
        domain: Option<Uuid>,
        id: Uuid,
    },
}

fn domain_of(session: &Session, given: Option<Uuid>) -> anyhow::Result<Uuid> {
    given.or(session.profile.domain).with_context(|| {
        format!(
            "no domain: give --domain or set `domain` in profile {:?} (or CAIRN_DOMAIN)",
            session.profile.name
        )
    })
}

fn opt(value: &Value, field: &str) -> String {
    match value.get(field) {
        None | Some(Value::Null) => "-".into(),
        Some(v) => display(v),
    }
}

pub async fn cluster(session: &Session, command: &ClusterCommand) -> anyhow::Result<Rendered> {
    match command {
        ClusterCommand::Status => {
            let status: Value = session
                .client
                .get("/admin/v1/cluster/status")
                .await?
                .json()?;
            let node = status.get("node").cloned().unwrap_or(Value::Null);
            let leader = status.get("leader").and_then(Value::as_u64);
            let name_of = |id: u64| {
                status
                    .get("nodes")
                    .and_then(Value::as_array)
                    .and_then(|nodes| {
                        nodes
                            .iter()
                            .find(|n| n.get("id").and_then(Value::as_u64) == Some(id))
                    })
                    .map_or(id.to_string(), |n| format!("{} ({id})", text(n, "name")))
            };
            let backup = match status.get("last_backup") {
                Some(b) if !b.is_null() => {
                    format!("{} ({} s ago)", text(b, "at"), text(b, "age_seconds"))
                }
                _ => "unknown".into(),
            };
            let mut out = block(&[
                ("region", text(&status, "region")),
                (
                    "answered by",
                    format!(
                        "{} ({}, zone {}, {})",
                        text(&node, "name"),
                        text(&node, "id"),
                        text(&node, "zone"),
                        text(&node, "role")
                    ),
                ),
                ("leader", leader.map_or("none known".into(), name_of)),
                ("term", text(&status, "term")),
                ("commit index", text(&status, "commit_index")),
                ("applied index", text(&status, "applied_index")),
                (
                    "replica lag",
                    status
                        .get("replica_lag_ms")
                        .and_then(Value::as_u64)
                        .map_or("unknown".into(), |ms| format!("{ms} ms")),
                ),
                ("last backup", backup),
            ]);
            let rows: Vec<Vec<String>> = status
                .get("nodes")
                .and_then(Value::as_array)
                .map(|nodes| {
                    nodes
                        .iter()
                        .map(|n| {
                            let id = n.get("id").and_then(Value::as_u64);
                            let role = if id.is_some() && id == leader {
                                format!("{} (leader)", text(n, "role"))
                            } else {
                                text(n, "role")
                            };
                            vec![
                                text(n, "id"),
                                text(n, "name"),
                                text(n, "zone"),
                                role,
                                opt(n, "match_index"),
                                opt(n, "lag_entries"),
                                opt(n, "lag_ms"),
                                opt(n, "reachable"),
                            ]
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push('\n');
            out.push_str(&table(
                &[
                    "ID",
                    "NAME",
                    "ZONE",
                    "ROLE",
                    "MATCH",
                    "LAG",
                    "LAG MS",
                    "REACHABLE",
                ],
                &rows,
            ));
            Ok(Rendered::new(status, out))
        }
    }
}

fn domain_table(domains: &[Value]) -> String {
    let rows: Vec<Vec<String>> = domains
        .iter()
        .map(|d| {
            vec![
                text(d, "id"),
                text(d, "created"),
                text(d, "keys"),
                text(d, "credentials"),
                text(d, "policies"),
            ]
        })
        .collect();
    table(&["ID", "CREATED", "KEYS", "CREDENTIALS", "POLICIES"], &rows)
}

pub async fn domain(session: &Session, command: &DomainCommand) -> anyhow::Result<Rendered> {
    match command {
        DomainCommand::Create { id } => {
            let body = match id {
                Some(id) => json!({ "id": id }),
                None => json!({}),
            };
            let domain: Value = session
                .client
                .post("/admin/v1/domains", &body)
                .await?
                .json()?;
            let out = block(&[
                ("id", text(&domain, "id")),
                ("created", text(&domain, "created")),
            ]);
            Ok(Rendered::new(domain, out))
        }
        DomainCommand::List => {
            let domains: Value = session.client.get("/admin/v1/domains").await?.json()?;
            let list = domains.as_array().cloned().unwrap_or_default();
            Ok(Rendered::new(domains, domain_table(&list)))
        }
    }
}

/// Writes `contents` to a new file, readable by its owner only when `private`.
fn write_new(path: &Path, contents: &str, private: bool) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    if private {
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn with_extension(prefix: &Path, ext: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_os_string();
    name.push(ext);
    PathBuf::from(name)
}

fn credential_table(list: &[Value]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            vec![
                text(c, "id"),
                text(c, "name"),
                text(c, "kind"),
                text(c, "identities"),
                opt(c, "not_after"),
                opt(c, "revoked"),
            ]
        })
        .collect();
    table(
        &["ID", "NAME", "KIND", "IDENTITIES", "NOT AFTER", "REVOKED"],
        &rows,
    )
}

pub async fn credential(
    session: &Session,
    command: &CredentialCommand,
) -> anyhow::Result<Rendered> {
    match command {
        CredentialCommand::Create {
            domain,
            name,
            identities,
            csr,
            token,
            days,
            out,
        } => {
            let domain = domain_of(session, *domain)?;
            let mut body = json!({ "name": name, "identities": identities });
            if let Some(path) = csr {
                let pem = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the CSR {}", path.display()))?;
                body["csr"] = json!(pem);
            }
            if *token {
                body["token"] = json!(true);
            }
            if let Some(days) = days {
                body["days"] = json!(days);
            }
            let mut created: Value = session
                .client
                .post(&format!("/admin/v1/domains/{domain}/credentials"), &body)
                .await?
                .json()?;
            let mut fields = vec![
                ("id", text(&created, "id")),
                ("domain", text(&created, "domain")),
                ("name", text(&created, "name")),
                ("kind", text(&created, "kind")),
                ("identities", text(&created, "identities")),
                ("not after", opt(&created, "not_after")),
            ];
            let mut secrets = String::new();
            match out {
                Some(prefix) => {
                    if let Some(cert) = created.get("certificate").and_then(Value::as_str) {
                        let path = with_extension(prefix, ".pem");
                        write_new(&path, cert, false)?;
                        fields.push(("certificate", path.display().to_string()));
                    }
                    if let Some(key) = created.get("private_key").and_then(Value::as_str) {
                        let path = with_extension(prefix, ".key");
                        write_new(&path, key, true)?;
                        fields.push(("private key", path.display().to_string()));
                    }
                    if let Some(token) = created.get("token").and_then(Value::as_str) {
                        let path = with_extension(prefix, ".token");
                        write_new(&path, &format!("{token}\n"), true)?;
                        fields.push(("token", path.display().to_string()));
                    }
                    // Written to files: not repeated on standard output.
                    if let Some(map) = created.as_object_mut() {
                        for field in ["private_key", "token"] {
                            if let Some(Value::String(s)) = map.remove(field) {
                                drop(zeroize::Zeroizing::new(s));
                            }
                        }
                    }
                }
                None => {
                    if let Some(token) = created.get("token").and_then(Value::as_str) {
                        fields.push(("token", token.to_string()));
                        secrets.push_str("\nThe token is shown this once: keep it.\n");
                    }
                    for field in ["certificate", "private_key"] {
                        if let Some(pem) = created.get(field).and_then(Value::as_str) {
                            secrets.push('\n');
                            secrets.push_str(pem);
                        }
                    }
                    if created.get("private_key").is_some() {
                        secrets.push_str("\nThe private key is shown this once: keep it.\n");
                    }
                }
            }
            let out = block(&fields) + &secrets;
            Ok(Rendered::new(created, out))
        }
        CredentialCommand::List { domain } => {
            let domain = domain_of(session, *domain)?;
            let list: Value = session
                .client
                .get(&format!("/admin/v1/domains/{domain}/credentials"))
                .await?
                .json()?;
            let rows = list.as_array().cloned().unwrap_or_default();
            Ok(Rendered::new(list, credential_table(&rows)))
        }
        CredentialCommand::Revoke { domain, id } => {
            let domain = domain_of(session, *domain)?;
            session
                .client
                .delete(&format!("/admin/v1/domains/{domain}/credentials/{id}"))
                .await?;
            Ok(Rendered::new(
                json!({ "id": id, "result": "revoked" }),
                format!("credential {id}: revoked"),
            ))
        }
    }
}

fn policy_table(list: &[Value]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|p| {
            let statements = p
                .get("statements")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            vec![
                text(p, "id"),
                text(p, "name"),
                text(p, "identities"),
                statements.to_string(),
            ]
        })
        .collect();
    table(&["ID", "NAME", "IDENTITIES", "STATEMENTS"], &rows)
}

fn policy_text(policy: &Value) -> String {
    let mut out = block(&[
        ("id", text(policy, "id")),
        ("name", text(policy, "name")),
        ("description", text(policy, "description")),
        ("identities", text(policy, "identities")),
    ]);
    if let Some(statements) = policy.get("statements").and_then(Value::as_array) {
        for (i, s) in statements.iter().enumerate() {
            out.push_str(&format!(
                "statement {i}: {} {} on {}\n",
                text(s, "effect"),
                text(s, "actions"),
                text(s, "resources")
            ));
        }
    }
    out
}

pub async fn policy(session: &Session, command: &PolicyCommand) -> anyhow::Result<Rendered> {
    let client = &session.client;
    match command {
        PolicyCommand::Put { domain, id, file } => {
            let domain = domain_of(session, *domain)?;
            let text = if file == "-" {
                std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
            } else {
                std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?
            };
            let spec: Value = serde_json::from_str(&text)
                .with_context(|| format!("the policy in {file} is not JSON"))?;
            if !spec.is_object() {
                bail!("the policy in {file} is not a JSON object");
            }
            let id = match id {
                Some(id) => *id,
                None => {
                    let mut bytes = [0u8; 16];
                    getrandom::fill(&mut bytes).context("the OS random number generator failed")?;
                    uuid::Builder::from_random_bytes(bytes).into_uuid()
                }
            };
            let policy: Value = client
                .call(
                    Method::PUT,
                    &format!("/admin/v1/domains/{domain}/policies/{id}"),
                    Some(&spec),
                )
                .await?
                .json()?;
            let out = policy_text(&policy);
            Ok(Rendered::new(policy, out))
        }
        PolicyCommand::List { domain } => {
            let domain = domain_of(session, *domain)?;
            let list: Value = client
                .get(&format!("/admin/v1/domains/{domain}/policies"))
                .await?
                .json()?;
            let rows = list.as_array().cloned().unwrap_or_default();
            Ok(Rendered::new(list, policy_table(&rows)))
        }
        PolicyCommand::Get { domain, id } => {
            let domain = domain_of(session, *domain)?;
            let policy: Value = client
                .get(&format!("/admin/v1/domains/{domain}/policies/{id}"))
                .await?
                .json()?;
            let out = policy_text(&policy);
            Ok(Rendered::new(policy, out))
        }
        PolicyCommand::Delete { domain, id } => {
            let domain = domain_of(session, *domain)?;
            client
                .delete(&format!("/admin/v1/domains/{domain}/policies/{id}"))
                .await?;
            Ok(Rendered::new(
                json!({ "id": id, "result": "deleted" }),
                format!("policy {id}: deleted"),
            ))
        }
    }
}
