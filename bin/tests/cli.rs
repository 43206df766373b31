//! The client and operator commands against a real HTTPS server in this process: net's
//! router over the in-memory backend, served by net's TLS acceptor, with the admin API on.
//!
//! Commands are parsed with clap and run as `cairn` runs them (`client::execute`), with a
//! configuration file of profiles and `CAIRN_*` variables given as the environment. One
//! test runs the built binary for what only a process shows: the exit status and the
//! error on standard error.

#[allow(dead_code)]
#[path = "../src/client/mod.rs"]
mod client;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use cairn_net::api::admin::{AdminConfig, Issuer, OperatorToken};
use cairn_net::api::memory::MemoryBackend;
use cairn_net::api::{ApiConfig, MemoryAudit, router, system_clock};
use cairn_net::tls::{TlsSettings, serve, server_config};
use clap::Parser;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, SanType,
};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use client::output::Output;
use client::{ClientCommand, Rendered, describe_error, execute};

const ALICE: &str = "urn:v1:eu:identity:user:acme/alice";

#[derive(Parser)]
#[command(name = "cairn")]
struct Cli {
    #[command(subcommand)]
    command: ClientCommand,
}

/// A running server and the files a client needs.
struct Server {
    addr: SocketAddr,
    dir: tempfile::TempDir,
    audit: Arc<MemoryAudit>,
    operator_token: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        // The server's CA and certificate for 127.0.0.1.
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::default();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "test server CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let ca_issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
        let server_key = KeyPair::generate().unwrap();
        let mut server_params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        server_params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server_params.signed_by(&server_key, &ca_issuer).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();

        // Client certificates come from the admin API's client CA.
        let client_ca = Issuer::generate("test client CA", 30, system_clock()).unwrap();
        let token = OperatorToken::generate(&mut cairn_net::os_rng::OsRng);
        let admin = AdminConfig {
            operator_certificates: Vec::new(),
            operator_tokens: vec![token.digest()],
            issuer: Some(client_ca.clone()),
        };
        let settings = TlsSettings::from_pem(
            server_cert.pem().as_bytes(),
            server_key.serialize_pem().as_bytes(),
            client_ca.certificate_pem().as_bytes(),
        )
        .unwrap();
        let tls = server_config(&settings).unwrap();
        let audit = Arc::new(MemoryAudit::new());
        let app = router(
            MemoryBackend::new(5),
            ApiConfig {
                audit: audit.clone(),
                admin: Some(admin),
                ..ApiConfig::default()
            },
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(listener, tls, app, async {
            let _ = stopped.await;
        }));
        let server = Server {
            addr,
            dir,
            audit,
            operator_token: token.expose().to_string(),
            _stop: stop,
        };
        server.write_config(&[]);
        server
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The configuration file: an operator profile (the default) and `extra` profiles.
    fn write_config(&self, extra: &[&str]) {
        let mut text = format!(
            "default_profile = \"ops\"\n\n[profiles.ops]\nendpoint = \"https://{}\"\nca = \"ca.pem\"\ntoken = \"{}\"\n",
            self.addr, self.operator_token
        );
        for profile in extra {
            text.push('\n');
            text.push_str(profile);
        }
        std::fs::write(self.path("config.toml"), text).unwrap();
    }

    fn env(&self, vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let mut map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.insert(
            "CAIRN_CONFIG".into(),
            self.path("config.toml").display().to_string(),
        );
        move |name| map.get(name).cloned()
    }

    /// Runs `cairn <args>` with the default environment.
    async fn run(&self, args: &[&str]) -> anyhow::Result<Rendered> {
        self.run_env(args, &[]).await
    }

    async fn run_env(&self, args: &[&str], vars: &[(&str, &str)]) -> anyhow::Result<Rendered> {
        let cli = Cli::try_parse_from(std::iter::once("cairn").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        execute(&cli.command, &self.env(vars)).await
    }

    async fn ok(&self, args: &[&str]) -> Rendered {
        self.run(args)
            .await
            .unwrap_or_else(|e| panic!("{args:?}: {}", describe_error(&e, Output::Text)))
    }

    /// A domain, with Alice's certificate (from the admin API) and a policy letting her
    /// use every key; adds the `alice` profile to the configuration.
    async fn alice(&self) -> String {
        let domain = self.ok(&["domain", "create", "-o", "json"]).await.json["id"]
            .as_str()
            .unwrap()
            .to_string();
        let prefix = self.path("alice");
        let created = self
            .ok(&[
                "credential",
                "create",
                "--domain",
                &domain,
                "--name",
                "alice",
                "--identity",
                ALICE,
                "--out",
                prefix.to_str().unwrap(),
            ])
            .await;
        assert!(created.text.contains("alice.pem"), "{}", created.text);
        assert!(!created.text.contains("PRIVATE KEY"), "{}", created.text);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(self.path("alice.key"))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        let policy = json!({
            "name": "alice uses keys",
            "identities": [ALICE],
            "statements": [{
                "effect": "allow",
                "actions": ["okms:apikms:*"],
                "resources": [format!("urn:v1:eu:resource:okms:{domain}*")],
            }],
        });
        std::fs::write(self.path("policy.json"), policy.to_string()).unwrap();
        let put = self
            .ok(&[
                "policy",
                "put",
                "--domain",
                &domain,
                self.path("policy.json").to_str().unwrap(),
            ])
            .await;
        assert!(
            put.text.contains("statement 0: allow okms:apikms:*"),
            "{}",
            put.text
        );
        self.write_config(&[&format!(
            "[profiles.alice]\nendpoint = \"https://{}\"\nca = \"ca.pem\"\ncert = \"alice.pem\"\nkey = \"alice.key\"\ndomain = \"{domain}\"\n",
            self.addr
        )]);
        domain
    }
}

fn args<'a>(profile: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut all = rest.to_vec();
    all.extend(["--profile", profile]);
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_created_used_and_listed() {
    let s = Server::start().await;
    s.alice().await;
    let a = |rest: &[&'static str]| args("alice", rest);

    let created = s
        .ok(&a(&[
            "keys",
            "create",
            "--name",
            "demo",
            "--type",
            "oct",
            "--size",
            "256",
            "--operations",
            "encrypt,decrypt,wrapKey,unwrapKey",
            "-o",
            "json",
        ]))
        .await;
    let key = created.json["id"].as_str().unwrap().to_string();
    assert_eq!(created.json["attributes"]["state"], "active");
    let json_text = created.for_output(Output::Json).unwrap();
    let reparsed: Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(reparsed, created.json);

    let mut enc_args = args("alice", &["keys", "encrypt"]);
    enc_args.extend([key.as_str(), "attack at dawn", "--context", "c1"]);
    let ciphertext = s.ok(&enc_args).await.text;
    assert!(ciphertext.split('.').count() == 5, "a JWE: {ciphertext}");
    let mut dec_args = args("alice", &["keys", "decrypt"]);
    dec_args.extend([key.as_str(), ciphertext.as_str(), "--context", "c1"]);
    let plaintext = s.ok(&dec_args).await;
    assert_eq!(plaintext.text, "attack at dawn");
    assert_eq!(
        plaintext.json["plaintext"],
        cairn_core::b64::encode_std(b"attack at dawn")
    );

    // From a file too.
    std::fs::write(s.path("secret.bin"), [0u8, 159, 146, 150]).unwrap();
    let at_file = format!("@{}", s.path("secret.bin").display());
    let mut enc_file = args("alice", &["keys", "encrypt"]);
    enc_file.extend([key.as_str(), at_file.as_str()]);
    let ct = s.ok(&enc_file).await.text;
    let mut dec_file = args("alice", &["keys", "decrypt"]);
    dec_file.extend([key.as_str(), ct.as_str()]);
    let back = s.ok(&dec_file).await;
    assert_eq!(
        back.text,
        cairn_core::b64::encode_std(&[0u8, 159, 146, 150]),
        "binary plaintext is shown as base64"
    );

    // Data keys.
    let mut new_dk = args("alice", &["keys", "datakey", "new"]);
    new_dk.push(key.as_str());
    let dk = s.ok(&new_dk).await;
    let wrapped = dk.json["key"].as_str().unwrap().to_string();
    assert!(
        dk.text.contains("plaintext:") && dk.text.contains("key:"),
        "{}",
        dk.text
    );
    let mut open_dk = args("alice", &["keys", "datakey", "decrypt"]);
    open_dk.extend([key.as_str(), wrapped.as_str()]);
    assert_eq!(
        s.ok(&open_dk).await.text,
        dk.json["plaintext"].as_str().unwrap()
    );

    // Listed, as a table and as JSON.
    let list = s.ok(&a(&["keys", "list"])).await;
    assert!(list.text.starts_with("ID"), "{}", list.text);
    assert!(
        list.text.contains("demo") && list.text.contains(&key),
        "{}",
        list.text
    );
    let as_json: Value = serde_json::from_str(&list.for_output(Output::Json).unwrap()).unwrap();
    assert_eq!(as_json.as_array().unwrap().len(), 1);

    // Renamed, deactivated, deleted.
    let mut update = args("alice", &["keys", "update"]);
    update.extend([key.as_str(), "--name", "renamed"]);
    assert!(s.ok(&update).await.text.contains("renamed"));
    let mut deactivate = args("alice", &["keys", "deactivate"]);
    deactivate.extend([key.as_str(), "--reason", "superseded"]);
    s.ok(&deactivate).await;
    let mut get = args("alice", &["keys", "get"]);
    get.push(key.as_str());
    assert_eq!(s.ok(&get).await.json["attributes"]["state"], "deactivated");
    let mut delete = args("alice", &["keys", "delete"]);
    delete.push(key.as_str());
    s.ok(&delete).await;
    let list = s
        .ok(&a(&["keys", "list", "--state", "active", "-o", "json"]))
        .await;
    assert_eq!(list.json, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_verify_and_export() {
    let s = Server::start().await;
    s.alice().await;
    let created = s
        .ok(&args(
            "alice",
            &[
                "keys", "create", "--name", "signer", "--type", "EC", "--curve", "P-256",
            ],
        ))
        .await;
    let key = created.json["id"].as_str().unwrap().to_string();
    assert!(created.text.contains("P-256"), "{}", created.text);

    let mut sign = args("alice", &["keys", "sign"]);
    sign.extend([key.as_str(), "release 1.0", "--alg", "ES256"]);
    let signature = s.ok(&sign).await.text;
    let mut verify = args("alice", &["keys", "verify"]);
    verify.extend([
        key.as_str(),
        "release 1.0",
        signature.as_str(),
        "--alg",
        "ES256",
    ]);
    assert_eq!(s.ok(&verify).await.text, "valid");
    let mut forged = args("alice", &["keys", "verify"]);
    forged.extend([
        key.as_str(),
        "release 2.0",
        signature.as_str(),
        "--alg",
        "ES256",
    ]);
    let err = s.run(&forged).await.unwrap_err();
    assert!(err.to_string().contains("not valid"), "{err:#}");

    let mut export = args("alice", &["keys", "export"]);
    export.push(key.as_str());
    let jwk = s.ok(&export).await.json;
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    assert!(jwk.get("d").is_none(), "public part only: {jwk}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_show_the_okms_error_clearly() {
    let s = Server::start().await;
    s.alice().await;
    let missing = new_id().to_string();
    let mut get = args("alice", &["keys", "get"]);
    get.push(missing.as_str());
    let err = s.run(&get).await.unwrap_err();
    let text = describe_error(&err, Output::Text);
    assert!(
        text.starts_with(&format!("error: service key {missing} not found")),
        "{text}"
    );
    assert!(text.contains("status:"), "{text}");
    assert!(text.contains("404 Not Found"), "{text}");
    assert!(text.contains("category 5 NotFound"), "{text}");
    assert!(text.contains("request id:"), "{text}");
    let as_json: Value = serde_json::from_str(&describe_error(&err, Output::Json)).unwrap();
    assert_eq!(as_json["status"], 404);
    assert!(as_json["error_code"].as_u64().is_some());

    // Bad input, as the server words it.
    let err = s
        .run(&args(
            "alice",
            &[
                "keys", "create", "--name", "x", "--type", "oct", "--size", "100",
            ],
        ))
        .await
        .unwrap_err();
    let text = describe_error(&err, Output::Text);
    assert!(text.contains("size"), "{text}");
    assert!(text.contains("400 Bad Request"), "{text}");

    // Alice is no operator; the operator has no domain of its own for keys.
    let err = s
        .run(&args("alice", &["cluster", "status"]))
        .await
        .unwrap_err();
    let text = describe_error(&err, Output::Text);
    assert!(text.contains("403 Forbidden"), "{text}");
    assert!(text.contains("only operators"), "{text}");

    // A wrong operator token from the environment overrides the profile's: 401.
    let err = s
        .run_env(
            &["cluster", "status"],
            &[(
                "CAIRN_TOKEN",
                "cairn_op_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            )],
        )
        .await
        .unwrap_err();
    assert!(
        describe_error(&err, Output::Text).contains("401 Unauthorized"),
        "{err:#}"
    );
    // The audit log never holds the operator token.
    assert!(
        s.audit
            .json_lines()
            .iter()
            .all(|l| !l.contains(&s.operator_token[9..]))
    );

    // A configuration problem is not a server refusal.
    let err = s
        .run_env(&["keys", "list"], &[("CAIRN_PROFILE", "nope")])
        .await
        .unwrap_err();
    assert!(
        describe_error(&err, Output::Text).contains("no profile \"nope\""),
        "{err:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_verbs() {
    let s = Server::start().await;
    let status = s.ok(&["cluster", "status"]).await;
    assert!(status.text.contains("leader:"), "{}", status.text);
    assert!(status.text.contains("memory (1)"), "{}", status.text);
    assert!(status.text.contains("voter (leader)"), "{}", status.text);
    let json = s.ok(&["cluster", "status", "-o", "json"]).await.json;
    assert_eq!(json["region"], "eu");

    let id = new_id().to_string();
    let created = s.ok(&["domain", "create", "--id", &id]).await;
    assert!(created.text.contains(&id), "{}", created.text);
    let list = s.ok(&["domain", "list"]).await;
    assert!(
        list.text.contains(&id) && list.text.starts_with("ID"),
        "{}",
        list.text
    );

    // A token credential: shown once, listed without it, revoked.
    let token = s
        .ok(&[
            "credential",
            "create",
            "--domain",
            &id,
            "--name",
            "ci",
            "--identity",
            ALICE,
            "--token",
        ])
        .await;
    let secret = token.json["token"].as_str().unwrap().to_string();
    assert!(token.text.contains(&secret), "shown once: {}", token.text);
    let cred = token.json["id"].as_str().unwrap().to_string();
    let list = s
        .ok(&["credential", "list", "--domain", &id, "-o", "json"])
        .await;
    assert_eq!(list.json[0]["id"], cred);
    assert!(!list.json.to_string().contains(&secret));
    s.ok(&["credential", "revoke", "--domain", &id, &cred])
        .await;
    let list = s.ok(&["credential", "list", "--domain", &id]).await;
    assert!(list.text.starts_with("ID"), "{}", list.text);
    assert!(list.text.contains(&cred), "{}", list.text);
    let revoked = &list.json[0]["revoked"];
    assert!(
        revoked.as_str().is_some_and(|t| list.text.contains(t)),
        "{revoked} in {}",
        list.text
    );

    // A certificate for a CSR: no private key comes back.
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, "bob");
    std::fs::write(
        s.path("bob.csr"),
        params.serialize_request(&key).unwrap().pem().unwrap(),
    )
    .unwrap();
    let bob = s
        .ok(&[
            "credential",
            "create",
            "--domain",
            &id,
            "--name",
            "bob",
            "--identity",
            ALICE,
            "--csr",
            s.path("bob.csr").to_str().unwrap(),
        ])
        .await;
    assert!(bob.json.get("private_key").is_none());
    assert!(bob.text.contains("BEGIN CERTIFICATE"), "{}", bob.text);
    assert!(!bob.text.contains("PRIVATE KEY"), "{}", bob.text);

    // Policies: put from standard-input-less file, list, get, delete.
    std::fs::write(
        s.path("p.json"),
        json!({"name": "readers", "identities": [ALICE], "statements": [
            {"effect": "allow", "actions": ["okms:apikms:serviceKey/get"], "resources": ["*"]}
        ]})
        .to_string(),
    )
    .unwrap();
    let pid = new_id().to_string();
    s.ok(&[
        "policy",
        "put",
        "--domain",
        &id,
        "--id",
        &pid,
        s.path("p.json").to_str().unwrap(),
    ])
    .await;
    let list = s.ok(&["policy", "list", "--domain", &id]).await;
    assert!(
        list.text.contains("readers") && list.text.contains(&pid),
        "{}",
        list.text
    );
    let got = s.ok(&["policy", "get", "--domain", &id, &pid]).await;
    assert_eq!(got.json["name"], "readers");
    s.ok(&["policy", "delete", "--domain", &id, &pid]).await;
    let err = s
        .run(&["policy", "get", "--domain", &id, &pid])
        .await
        .unwrap_err();
    assert!(
        describe_error(&err, Output::Text).contains("404"),
        "{err:#}"
    );

    // A policy that is not valid is refused with the server's reason.
    std::fs::write(
        s.path("bad.json"),
        r#"{"name": "x", "identities": [], "statements": []}"#,
    )
    .unwrap();
    let err = s
        .run(&[
            "policy",
            "put",
            "--domain",
            &id,
            s.path("bad.json").to_str().unwrap(),
        ])
        .await
        .unwrap_err();
    assert!(
        describe_error(&err, Output::Text).contains("400"),
        "{err:#}"
    );
}

/// The built binary: JSON on standard output that parses, and a refusal on standard error
/// with exit status 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_json_and_fails_clearly() {
    let s = Server::start().await;
    s.alice().await;
    let config = s.path("config.toml");
    let run = |args: Vec<String>| {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
                .args(&args)
                .env("CAIRN_CONFIG", &config)
                .env_remove("CAIRN_PROFILE")
                .env_remove("CAIRN_TOKEN")
                .env_remove("CAIRN_ENDPOINT")
                .output()
                .unwrap()
        })
    };
    let strings = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let out = run(strings(&[
        "keys",
        "create",
        "--name",
        "bin",
        "--profile",
        "alice",
        "--output",
        "json",
    ]))
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(key["name"], "bin");

    let out = run(strings(&[
        "keys",
        "list",
        "--profile",
        "alice",
        "-o",
        "json",
    ]))
    .await
    .unwrap();
    let keys: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 1);

    let missing = new_id().to_string();
    let out = run(strings(&["keys", "get", &missing, "--profile", "alice"]))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: service key"), "{stderr}");
    assert!(stderr.contains("request id:"), "{stderr}");
}

/// A fresh random UUID (v4).
fn new_id() -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).unwrap();
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

#[test]
fn the_command_line_is_well_formed() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
    let cli = Cli::try_parse_from([
        "cairn",
        "keys",
        "list",
        "--output",
        "json",
        "--profile",
        "p",
    ])
    .unwrap();
    let ClientCommand::Keys(keys) = cli.command else {
        panic!("keys")
    };
    assert_eq!(keys.common.output, Output::Json);
    assert_eq!(keys.common.profile.as_deref(), Some("p"));
}
