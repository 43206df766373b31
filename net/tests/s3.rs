//! The S3 backup sink against a real S3-compatible server: `moto` in server mode, started by
//! each test as a child process on a free loopback port (over HTTP, and over HTTPS with a
//! certificate the test makes), and a node runtime taking real backups through it.
//!
//! `moto_server` is looked up on `PATH`, then as `python3 -m moto.server`. When neither is
//! there the tests say so on stderr (`SKIPPED: …`, past the harness's capture) and return,
//! unless `CAIRN_REQUIRE_S3_TESTS` is set, as `.ci/run` does after installing moto: then they
//! fail.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_core::backup::{BackupKey, MANIFEST_NAME, Manifest, ManifestEntry, Restored, restore};
use cairn_core::crypto::hierarchy::RootKey;
use cairn_core::replication::{ClusterConfig, NodeId, NodeInfo, Role, Timing};
use cairn_net::runtime::{
    BackupRegionConfig, BackupSetup, BackupSink, NodeRuntime, RuntimeConfig, S3Config, S3Error,
    S3Sink, SinkError,
};
use cairn_net::transport::identity::{NodeTls, node_dns_name};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BUCKET: &str = "cairn-backups";

/// How to run moto's server: a program and its first arguments.
fn moto_command() -> Option<Vec<String>> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(program) = std::env::split_paths(&path)
        .map(|dir| dir.join("moto_server"))
        .find(|candidate| candidate.is_file())
    {
        return Some(vec![program.to_string_lossy().into_owned()]);
    }
    let importable = Command::new("python3")
        .args(["-c", "import moto.server"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    importable.then(|| ["python3", "-m", "moto.server"].map(String::from).to_vec())
}

/// The command, or `None` after saying why `test` is skipped.
fn moto_or_skip(test: &str) -> Option<Vec<String>> {
    if let Some(command) = moto_command() {
        return Some(command);
    }
    if std::env::var_os("CAIRN_REQUIRE_S3_TESTS").is_some() {
        panic!(
            "CAIRN_REQUIRE_S3_TESTS is set but moto's server is not installed (neither \
             moto_server on PATH nor `python3 -m moto.server`); .ci/run installs it"
        );
    }
    // Straight to stderr, past the test harness's capture, so that a skip is seen.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED s3::{test}: moto's server is not installed (neither moto_server on PATH nor \
         `python3 -m moto.server`); install it with `python3 -m pip install 'moto[s3]' flask \
         flask-cors` or run .ci/run, which does"
    );
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scratch_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "cairn-s3-{what}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The TLS material of an HTTPS server: its certificate and key (PEM), and its CA.
struct ServerTls {
    cert_pem: String,
    key_pem: String,
    ca: rustls::pki_types::CertificateDer<'static>,
    ca_pem: String,
}

/// A running moto server, killed when dropped.
struct Moto {
    command: Vec<String>,
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    tls: Option<ServerTls>,
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Moto {
    /// Starts the server (`None` when the test is skipped), and waits until it answers.
    async fn start(test: &str, tls: Option<ServerTls>) -> Option<Moto> {
        let command = moto_or_skip(test)?;
        let mut moto = Moto {
            command,
            child: None,
            port: 0,
            dir: scratch_dir(test),
            tls,
        };
        // A port found free may be taken before moto binds it: then try another.
        for attempt in 0..3 {
            moto.port = free_port();
            match moto.spawn().await {
                Ok(()) => return Some(moto),
                Err(e) if attempt < 2 => eprintln!("moto did not start, retrying: {e}"),
                Err(e) => panic!("moto did not start: {e}"),
            }
        }
        unreachable!()
    }

    async fn spawn(&mut self) -> Result<(), String> {
        let log = self.dir.join(format!("moto-{}.log", self.port));
        let mut command = Command::new(&self.command[0]);
        command
            .args(&self.command[1..])
            .args(["-H", "127.0.0.1", "-p", &self.port.to_string()])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(&log).unwrap());
        if let Some(tls) = &self.tls {
            let (cert, key) = (self.dir.join("server.pem"), self.dir.join("server.key"));
            std::fs::write(&cert, &tls.cert_pem).unwrap();
            std::fs::write(&key, &tls.key_pem).unwrap();
            command.arg("-c").arg(&cert).arg("-k").arg(&key);
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("{:?}: {e}", self.command))?;
        // Wait until it answers an HTTP request, not merely accepts connections.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let output = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!("moto exited ({status}): {output}"));
            }
            let answer =
                tokio::time::timeout(Duration::from_secs(5), self.request("GET / HTTP/1.1")).await;
            if answer.is_ok_and(|a| a.is_ok_and(|a| a.starts_with("HTTP/1."))) {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let output = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!("moto did not answer within 60 s: {output}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kills the server; its objects and buckets are gone with it.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    async fn restart(&mut self) {
        self.stop();
        self.spawn().await.expect("moto restarts on its port");
    }

    fn endpoint(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    fn config(&self, prefix: &str) -> S3Config {
        let mut config = S3Config::new(BUCKET, "us-east-1");
        config.endpoint = Some(self.endpoint());
        config.prefix = prefix.into();
        config.access_key_id = Some("test-access-key".into());
        config.secret_access_key = Some("test-secret-key".to_string().into());
        config.allow_http = self.tls.is_none();
        config.request_timeout_s = 10;
        config.max_retries = 1;
        config.retry_timeout_s = 5;
        config
    }

    /// Creates the bucket with a bare request (moto checks no signature by default): the
    /// sink never creates buckets, an operator does.
    async fn create_bucket(&self) {
        let answer = self
            .request(&format!("PUT /{BUCKET} HTTP/1.1\r\nContent-Length: 0"))
            .await
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }

    /// Sends `head` (request line and headers) and reads the whole answer.
    async fn request(&self, head: &str) -> std::io::Result<String> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
        let request = format!(
            "{head}\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        );
        match &self.tls {
            None => exchange(tcp, &request).await,
            Some(tls) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(tls.ca.clone()).unwrap();
                let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
                let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
                    .connect("127.0.0.1".try_into().unwrap(), tcp)
                    .await?;
                exchange(stream, &request).await
            }
        }
    }
}

async fn exchange(
    mut stream: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    request: &str,
) -> std::io::Result<String> {
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    // A TLS peer may close without close_notify; what was read is enough.
    let _ = stream.read_to_end(&mut answer).await;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// Waits for `check` to hold, polling.
async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    within: Duration,
    mut check: impl FnMut() -> F,
) {
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What every backup sink promises, whatever stores its objects: whole objects by name,
/// nested names, a sorted listing, `None` for a missing object, idempotent deletes.
async fn sink_contract(sink: &dyn BackupSink) {
    assert_eq!(sink.list().await.unwrap(), Vec::<String>::new());
    assert_eq!(sink.get("MANIFEST".into()).await.unwrap(), None);
    let objects = [
        ("gen000001/0000000002-inc-10-12.cbk", vec![2u8; 3000]),
        ("MANIFEST", b"manifest".to_vec()),
        ("gen000001/0000000001-full-1-9.cbk", vec![1u8; 70_000]),
        ("gen000002/0000000003-full-1-12.cbk", Vec::new()),
    ];
    for (name, bytes) in &objects {
        sink.put(name.to_string(), bytes.clone()).await.unwrap();
    }
    for (name, bytes) in &objects {
        assert_eq!(
            sink.get(name.to_string()).await.unwrap().as_ref(),
            Some(bytes)
        );
    }
    let mut names: Vec<String> = objects.iter().map(|(n, _)| n.to_string()).collect();
    names.sort();
    assert_eq!(sink.list().await.unwrap(), names);
    sink.put("MANIFEST".into(), b"v2".to_vec()).await.unwrap();
    assert_eq!(sink.get("MANIFEST".into()).await.unwrap().unwrap(), b"v2");
    sink.delete("gen000001/0000000001-full-1-9.cbk".into())
        .await
        .unwrap();
    sink.delete("gen000001/0000000001-full-1-9.cbk".into())
        .await
        .unwrap();
    assert_eq!(
        sink.get("gen000001/0000000001-full-1-9.cbk".into())
            .await
            .unwrap(),
        None
    );
    names.retain(|n| n != "gen000001/0000000001-full-1-9.cbk");
    assert_eq!(sink.list().await.unwrap(), names);
}

#[tokio::test]
async fn the_directory_sink_keeps_the_contract() {
    let dir = scratch_dir("dir-sink");
    let sink = cairn_net::runtime::DirSink::new(dir.join("backup-x")).unwrap();
    sink_contract(&sink).await;
    // A directory that cannot be written is a typed error naming it.
    let blocked = cairn_net::runtime::DirSink::new(dir.join("backup-y")).unwrap();
    std::fs::remove_dir(dir.join("backup-y")).unwrap();
    std::fs::write(dir.join("backup-y"), b"not a directory").unwrap();
    let err = blocked
        .put("MANIFEST".into(), b"x".to_vec())
        .await
        .unwrap_err();
    assert!(matches!(err, SinkError::Dir { .. }), "{err:?}");
    assert!(err.report().contains("backup-y"), "{}", err.report());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_s3_sink_keeps_the_contract() {
    let Some(moto) = Moto::start("the_s3_sink_keeps_the_contract", None).await else {
        return;
    };
    moto.create_bucket().await;
    // At the bucket's root, then under a prefix (which the root's objects do not show in).
    sink_contract(&S3Sink::new(&moto.config("")).unwrap()).await;
    sink_contract(&S3Sink::new(&moto.config("contract")).unwrap()).await;
}

#[tokio::test]
async fn put_get_list_delete_round_trip() {
    let Some(moto) = Moto::start("put_get_list_delete_round_trip", None).await else {
        return;
    };
    moto.create_bucket().await;
    let sink = S3Sink::new(&moto.config("cluster-a")).unwrap();

    assert_eq!(sink.list_objects().await.unwrap(), Vec::<String>::new());

    let names = [
        "gen000001/0000000001-inc-1-5.cbk",
        "gen000001/0000000002-full-1-9.cbk",
        "MANIFEST",
    ];
    for (i, name) in names.iter().enumerate() {
        sink.put_object(name, vec![i as u8; 100 + i]).await.unwrap();
    }
    for (i, name) in names.iter().enumerate() {
        assert_eq!(
            sink.get_object(name).await.unwrap(),
            Some(vec![i as u8; 100 + i])
        );
    }
    let mut sorted = names.map(String::from).to_vec();
    sorted.sort();
    assert_eq!(sink.list_objects().await.unwrap(), sorted);

    // Overwrite: the new object replaces the old one whole.
    sink.put_object("MANIFEST", b"second manifest".to_vec())
        .await
        .unwrap();
    assert_eq!(
        sink.get_object("MANIFEST").await.unwrap().unwrap(),
        b"second manifest"
    );
    assert_eq!(sink.list_objects().await.unwrap().len(), 3);

    // Empty objects are objects.
    sink.put_object("empty", Vec::new()).await.unwrap();
    assert_eq!(sink.get_object("empty").await.unwrap(), Some(Vec::new()));

    // Delete, and deleting what is not there.
    sink.delete_object(names[0]).await.unwrap();
    assert_eq!(sink.get_object(names[0]).await.unwrap(), None);
    sink.delete_object(names[0]).await.unwrap();
    sink.delete_object("never-written").await.unwrap();
    assert_eq!(
        sink.list_objects().await.unwrap(),
        ["MANIFEST", "empty", names[1]]
    );
}

#[tokio::test]
async fn a_missing_object_is_none_not_an_error() {
    let Some(moto) = Moto::start("a_missing_object_is_none_not_an_error", None).await else {
        return;
    };
    moto.create_bucket().await;
    let sink: Arc<dyn BackupSink> = Arc::new(S3Sink::new(&moto.config("p")).unwrap());
    assert_eq!(sink.get("MANIFEST".into()).await.unwrap(), None);
    assert_eq!(
        sink.get("gen000001/0000000001-full-1-1.cbk".into())
            .await
            .unwrap(),
        None
    );
    // An object of the same name under another prefix is not this sink's.
    let other = S3Sink::new(&moto.config("q")).unwrap();
    other.put_object("MANIFEST", b"q".to_vec()).await.unwrap();
    assert_eq!(sink.get("MANIFEST".into()).await.unwrap(), None);
    sink.delete("MANIFEST".into()).await.unwrap();
    assert_eq!(other.get_object("MANIFEST").await.unwrap().unwrap(), b"q");
}

#[tokio::test]
async fn list_is_by_prefix_and_prefixes_are_kept_apart() {
    let Some(moto) = Moto::start("list_is_by_prefix_and_prefixes_are_kept_apart", None).await
    else {
        return;
    };
    moto.create_bucket().await;
    let a: Arc<dyn BackupSink> = Arc::new(S3Sink::new(&moto.config("/clusters/a/")).unwrap());
    let b: Arc<dyn BackupSink> = Arc::new(S3Sink::new(&moto.config("clusters/b")).unwrap());
    // `clusters/ab` starts with the characters of `clusters/a` but is another prefix.
    let ab: Arc<dyn BackupSink> = Arc::new(S3Sink::new(&moto.config("clusters/ab")).unwrap());
    let root: Arc<dyn BackupSink> = Arc::new(S3Sink::new(&moto.config("")).unwrap());

    // A full snapshot of some size goes up in one PUT and comes back intact.
    let big: Vec<u8> = (0..6 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    a.put("gen000001/0000000003-full-1-500.cbk".into(), big.clone())
        .await
        .unwrap();
    a.put("MANIFEST".into(), b"a".to_vec()).await.unwrap();
    b.put("MANIFEST".into(), b"b".to_vec()).await.unwrap();
    ab.put("MANIFEST".into(), b"ab".to_vec()).await.unwrap();

    assert_eq!(
        a.get("gen000001/0000000003-full-1-500.cbk".into())
            .await
            .unwrap(),
        Some(big)
    );
    assert_eq!(a.get("MANIFEST".into()).await.unwrap().unwrap(), b"a");
    assert_eq!(b.get("MANIFEST".into()).await.unwrap().unwrap(), b"b");
    assert_eq!(
        a.list().await.unwrap(),
        ["MANIFEST", "gen000001/0000000003-full-1-500.cbk"]
    );
    assert_eq!(b.list().await.unwrap(), ["MANIFEST"]);
    assert_eq!(ab.list().await.unwrap(), ["MANIFEST"]);
    assert_eq!(
        root.list().await.unwrap(),
        [
            "clusters/a/MANIFEST",
            "clusters/a/gen000001/0000000003-full-1-500.cbk",
            "clusters/ab/MANIFEST",
            "clusters/b/MANIFEST",
        ]
    );

    b.delete("MANIFEST".into()).await.unwrap();
    assert_eq!(b.list().await.unwrap(), Vec::<String>::new());
    assert_eq!(a.list().await.unwrap().len(), 2, "a is untouched");
    assert_eq!(b.get("MANIFEST".into()).await.unwrap(), None);
}

#[tokio::test]
async fn failures_are_typed_errors_that_name_the_bucket_and_object() {
    let Some(moto) = Moto::start(
        "failures_are_typed_errors_that_name_the_bucket_and_object",
        None,
    )
    .await
    else {
        return;
    };
    // No bucket yet: every operation fails, none reports "not found" as success.
    let sink = S3Sink::new(&moto.config("")).unwrap();
    let secret_bytes = b"object contents never logged".to_vec();
    let err = BackupSink::put(&sink, "MANIFEST".into(), secret_bytes)
        .await
        .unwrap_err();
    assert!(
        matches!(err, SinkError::S3(S3Error::Store { .. })),
        "{err:?}"
    );
    let message = err.report();
    assert!(
        message.contains(BUCKET) && message.contains("MANIFEST"),
        "{message}"
    );
    assert!(message.contains("NoSuchBucket"), "S3's own word: {message}");
    assert!(!message.contains("test-secret-key"), "{message}");
    assert!(!message.contains("never logged"), "{message}");
    assert!(BackupSink::list(&sink).await.is_err());
    // A missing bucket is not an empty region.
    assert!(BackupSink::get(&sink, "MANIFEST".into()).await.is_err());
    assert!(BackupSink::delete(&sink, "MANIFEST".into()).await.is_err());

    moto.create_bucket().await;
    // Names that S3 would store under another key are refused, not rewritten.
    for bad in ["a//b", "../escape", "gen1/", ""] {
        match sink.put_object(bad, b"x".to_vec()).await {
            Err(S3Error::Name { .. }) => {}
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    assert_eq!(sink.list_objects().await.unwrap(), Vec::<String>::new());
}

/// A region whose server goes away fails every operation, quickly, and works again once it
/// is back, with the same sink (its pooled connections are dead by then).
#[tokio::test]
async fn a_server_stopped_mid_way_fails_then_recovers() {
    let Some(mut moto) = Moto::start("a_server_stopped_mid_way_fails_then_recovers", None).await
    else {
        return;
    };
    moto.create_bucket().await;
    let sink: Arc<dyn BackupSink> = Arc::new(S3Sink::new(&moto.config("r")).unwrap());
    sink.put("gen000001/0000000001-full-1-3.cbk".into(), vec![1; 1000])
        .await
        .unwrap();
    assert_eq!(sink.list().await.unwrap().len(), 1);

    moto.stop();
    let started = Instant::now();
    let err = sink
        .put("gen000001/0000000002-inc-4-9.cbk".into(), vec![2; 1000])
        .await
        .unwrap_err();
    assert!(
        matches!(err, SinkError::S3(S3Error::Store { .. })),
        "{err:?}"
    );
    assert!(
        err.report().contains("gen000001/0000000002-inc-4-9.cbk"),
        "{}",
        err.report()
    );
    assert!(sink.get("MANIFEST".into()).await.is_err());
    assert!(sink.list().await.is_err());
    assert!(sink.delete("MANIFEST".into()).await.is_err());
    // One retry of each, with 100 ms backoff: the schedule's own retries take over from here.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    // Back, empty (moto keeps nothing): the same sink works again.
    moto.restart().await;
    moto.create_bucket().await;
    sink.put("gen000001/0000000002-inc-4-9.cbk".into(), vec![2; 1000])
        .await
        .unwrap();
    assert_eq!(
        sink.get("gen000001/0000000002-inc-4-9.cbk".into())
            .await
            .unwrap(),
        Some(vec![2; 1000])
    );
    assert_eq!(
        sink.list().await.unwrap(),
        ["gen000001/0000000002-inc-4-9.cbk"]
    );
}

#[test]
fn configuration_is_checked_before_any_request() {
    let config = |endpoint: &str, allow_http: bool| {
        let mut c = S3Config::new(BUCKET, "us-east-1");
        c.endpoint = Some(endpoint.into());
        c.access_key_id = Some("id".into());
        c.secret_access_key = Some("super-secret".to_string().into());
        c.allow_http = allow_http;
        c
    };
    let err = S3Sink::new(&config("http://127.0.0.1:9", false)).unwrap_err();
    assert!(matches!(err, S3Error::Config(_)), "{err}");
    assert!(err.to_string().contains("allow_http"), "{err}");
    assert!(S3Sink::new(&config("http://127.0.0.1:9", true)).is_ok());

    let mut missing_ca = config("https://127.0.0.1:9", false);
    missing_ca.ca_file = Some("/nonexistent/ca.pem".into());
    let err = S3Sink::new(&missing_ca).unwrap_err();
    assert!(matches!(err, S3Error::CaFile { .. }), "{err}");

    // The secret never shows in Debug.
    let shown = format!("{:?}", config("https://s3.example", false));
    assert!(!shown.contains("super-secret"), "{shown}");
}

#[test]
fn credentials_come_from_the_file_or_else_the_environment() {
    let env: HashMap<&str, &str> = [
        ("AWS_ACCESS_KEY_ID", "env-id"),
        ("AWS_SECRET_ACCESS_KEY", "env-secret"),
        ("AWS_SESSION_TOKEN", "env-token"),
    ]
    .into();
    let lookup = |name: &str| env.get(name).map(|v| v.to_string());
    let none = |_: &str| None;

    let mut config = S3Config::new(BUCKET, "eu-west-3");
    let from_env = config.credentials(lookup).unwrap();
    assert_eq!(from_env.access_key_id, "env-id");
    assert_eq!(from_env.secret_access_key.expose(), "env-secret");
    assert_eq!(from_env.session_token.unwrap().expose(), "env-token");
    assert!(!format!("{:?}", config.credentials(lookup).unwrap()).contains("env-secret"));

    // Neither in the file nor in the environment: refused, rather than asking an
    // instance-metadata endpoint.
    let err = config.credentials(none).unwrap_err();
    assert!(matches!(err, S3Error::Config(_)), "{err}");
    assert!(S3Sink::with_env(&config, none).is_err());
    assert!(S3Sink::with_env(&config, lookup).is_ok());

    // The file's win over the environment's.
    config.access_key_id = Some("file-id".into());
    config.secret_access_key = Some("file-secret".to_string().into());
    let from_file = config.credentials(lookup).unwrap();
    assert_eq!(from_file.access_key_id, "file-id");
    assert_eq!(from_file.secret_access_key.expose(), "file-secret");
    assert!(from_file.session_token.is_none());

    // Half of them is a mistake, not a cue to mix sources.
    config.secret_access_key = None;
    assert!(matches!(
        config.credentials(lookup),
        Err(S3Error::Config(_))
    ));
}

#[test]
fn backup_regions_parse_from_a_node_toml_file() {
    #[derive(serde::Deserialize)]
    struct File {
        backup: Vec<BackupRegionConfig>,
    }
    let text = r#"
        [[backup]]
        region = "backup-x"
        dir = "backups/backup-x"

        [[backup]]
        region = "backup-y"
        [backup.s3]
        endpoint = "https://minio.internal:9000"
        bucket = "cairn-backups"
        region = "eu-west-3"
        prefix = "prod/cluster-1"
        ca_file = "tls/minio-ca.pem"
    "#;
    let mut file: File = toml::from_str(text).unwrap();
    let base = scratch_dir("toml");
    for region in &mut file.backup {
        region.resolve_paths(&base);
    }
    let [x, y] = &file.backup[..] else {
        panic!("two regions")
    };
    assert_eq!(
        x.dir.as_deref(),
        Some(base.join("backups/backup-x").as_path())
    );
    let s3 = y.s3.as_ref().unwrap();
    assert_eq!(
        (s3.bucket.as_str(), s3.region.as_str(), s3.prefix.as_str()),
        ("cairn-backups", "eu-west-3", "prod/cluster-1")
    );
    assert_eq!(
        s3.ca_file.as_deref(),
        Some(base.join("tls/minio-ca.pem").as_path())
    );
    assert_eq!(
        (s3.request_timeout_s, s3.max_retries, s3.retry_timeout_s),
        (60, 3, 30)
    );
    assert!(!s3.allow_http && !s3.virtual_hosted_style && s3.access_key_id.is_none());

    // The directory region opens; the S3 one is refused, before any request, for want of
    // credentials (unless this process's environment has some), then for its missing CA file.
    assert!(x.open().is_ok());
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        assert!(matches!(y.open(), Err(SinkError::S3(S3Error::Config(_)))));
    }
    let mut y = y.clone();
    let s3 = y.s3.as_mut().unwrap();
    s3.access_key_id = Some("id".into());
    s3.secret_access_key = Some("secret".to_string().into());
    assert!(matches!(
        y.open(),
        Err(SinkError::S3(S3Error::CaFile { .. }))
    ));

    // Exactly one of `dir` and `s3`; no unknown keys (a typo is not silently ignored).
    for bad in [
        "[[backup]]\nregion = \"z\"\n",
        "[[backup]]\nregion = \"z\"\ndir = \"d\"\n[backup.s3]\nbucket = \"b\"\nregion = \"r\"\n",
    ] {
        let file: File = toml::from_str(bad).unwrap();
        assert!(
            matches!(file.backup[0].open(), Err(SinkError::Config(_))),
            "{bad}"
        );
    }
    assert!(toml::from_str::<File>("[[backup]]\nregion = \"z\"\ndri = \"d\"\n").is_err());
    assert!(
        toml::from_str::<File>(
            "[[backup]]\nregion = \"z\"\n[backup.s3]\nbucket = \"b\"\nregion = \"r\"\npath_style = true\n"
        )
        .is_err()
    );
    let _ = std::fs::remove_dir_all(&base);
}

fn certificate_authority() -> (rcgen::CertificateParams, rcgen::KeyPair, rcgen::Certificate) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "test CA");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let cert = params.self_signed(&key).unwrap();
    (params, key, cert)
}

/// The production path: HTTPS with the endpoint's CA given as a file.
#[tokio::test]
async fn https_with_a_private_ca() {
    let (ca_params, ca_key, ca_cert) = certificate_authority();
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    let server_key = rcgen::KeyPair::generate().unwrap();
    let mut server_params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
    server_params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress([127, 0, 0, 1].into()));
    let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();
    let tls = ServerTls {
        cert_pem: server_cert.pem(),
        key_pem: server_key.serialize_pem(),
        ca: ca_cert.der().clone(),
        ca_pem: ca_cert.pem(),
    };

    let Some(moto) = Moto::start("https_with_a_private_ca", Some(tls)).await else {
        return;
    };
    let ca_path = moto.dir.join("ca.pem");
    std::fs::write(&ca_path, &moto.tls.as_ref().unwrap().ca_pem).unwrap();

    // Without the CA, the system's roots do not trust the server: an error, not retried.
    let mut untrusted = moto.config("");
    untrusted.max_retries = 5;
    let untrusted = S3Sink::new(&untrusted).unwrap();
    let started = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(120), untrusted.list_objects())
        .await
        .expect("the failure comes in time")
        .unwrap_err();
    assert!(matches!(err, S3Error::Store { .. }), "{err}");
    assert!(
        format!("{err:?}").contains("retries: 0"),
        "a certificate error is not retried: {err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    let mut config = moto.config("tls");
    config.ca_file = Some(ca_path);
    let sink = S3Sink::new(&config).unwrap();
    moto.create_bucket().await;
    sink.put_object("MANIFEST", b"over tls".to_vec())
        .await
        .unwrap();
    assert_eq!(
        sink.get_object("MANIFEST").await.unwrap().unwrap(),
        b"over tls"
    );
    assert_eq!(sink.list_objects().await.unwrap(), ["MANIFEST"]);
    sink.delete_object("MANIFEST").await.unwrap();
    assert_eq!(sink.list_objects().await.unwrap(), Vec::<String>::new());
}

/// TLS material for node 1 of a one-node cluster.
fn node_tls(id: NodeId) -> NodeTls {
    let (ca_params, ca_key, ca_cert) = certificate_authority();
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec![node_dns_name(id)]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let mut ca = rustls::RootCertStore::empty();
    ca.add(ca_cert.der().clone()).unwrap();
    NodeTls {
        chain: vec![cert.der().clone()],
        key: rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        ca,
    }
}

/// A node runtime takes real backups into two regions, one an S3 bucket on moto and one a
/// directory. The bucket is missing at first (that region is down): the directory region
/// gets its backups meanwhile, and once the bucket exists the schedule's retries fill it.
/// What the bucket then holds restores on its own, verified under the backup key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_writes_restorable_backups_through_the_s3_sink() {
    let Some(moto) =
        Moto::start("a_node_writes_restorable_backups_through_the_s3_sink", None).await
    else {
        return;
    };
    let dir = scratch_dir("node");
    let regions = [
        BackupRegionConfig {
            region: "backup-x".into(),
            dir: None,
            s3: Some(moto.config("cluster-1")),
        },
        BackupRegionConfig {
            region: "backup-y".into(),
            dir: Some(dir.join("backup-y")),
            s3: None,
        },
    ];
    let mut setup = BackupSetup::open(&regions).unwrap();
    assert_eq!(setup.config.regions, ["backup-x", "backup-y"]);
    setup.config.interval = Duration::from_secs(2);
    setup.config.retry_min = Duration::from_millis(200);
    setup.config.retry_max = Duration::from_secs(1);

    let root = [7u8; 32];
    let runtime = one_node_with_backups(setup, dir.join("data")).await;

    let s3 = S3Sink::new(&moto.config("cluster-1")).unwrap();
    let local = cairn_net::runtime::DirSink::new(dir.join("backup-y")).unwrap();
    let has_manifest = |names: Vec<String>| names.iter().any(|n| n == MANIFEST_NAME);
    eventually(
        "the directory region's manifest",
        Duration::from_secs(30),
        || async { has_manifest(BackupSink::list(&local).await.unwrap()) },
    )
    .await;
    assert!(s3.list_objects().await.is_err(), "no bucket yet");

    moto.create_bucket().await;
    let key = BackupKey::from_root(&RootKey::from_bytes(&root));
    // The first backup was cut before the node elected itself (index 0); wait for one that
    // holds entries.
    let deadline = Instant::now() + Duration::from_secs(30);
    let restored = loop {
        if let Some(restored) = restore_from(&s3, &key).await.filter(|r| r.index >= 1) {
            break restored;
        }
        assert!(
            Instant::now() < deadline,
            "no restorable backup in the S3 region within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    assert!(!restored.objects.is_empty());
    assert!(restored.index >= 1, "{restored:?}");
    assert!(restored.index <= runtime.status().commit, "{restored:?}");
    // Every object the S3 region lists is named as the schedule names them.
    for name in s3.list_objects().await.unwrap() {
        assert!(
            name == MANIFEST_NAME || (name.starts_with("gen000001/") && name.ends_with(".cbk")),
            "{name}"
        );
    }
    drop(runtime);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Restores from what `sink` holds alone, or `None` if it holds nothing restorable yet.
async fn restore_from(sink: &S3Sink, key: &BackupKey) -> Option<Restored> {
    let bytes = sink.get_object(MANIFEST_NAME).await.ok()??;
    let manifest = Manifest::open(key, &bytes).expect("the manifest authenticates");
    let mut objects = HashMap::new();
    for entry in &manifest.entries {
        if let Ok(Some(b)) = sink.get_object(&entry.name).await {
            objects.insert(entry.name.clone(), b);
        }
    }
    let fetch = |e: &ManifestEntry| objects.get(&e.name).cloned().into_iter().collect();
    restore(key, &manifest, fetch, None).ok()
}

/// Starts a one-node cluster (root key `[7; 32]`) whose node takes backups as `setup`
/// says, with its data in `data`.
async fn one_node_with_backups(setup: BackupSetup, data: PathBuf) -> NodeRuntime {
    let id = NodeId(1);
    let cluster = ClusterConfig {
        generation: 1,
        primary_region: "eu-west".into(),
        nodes: vec![NodeInfo {
            id,
            name: "a1".into(),
            region: "eu-west".into(),
            zone: "a".into(),
            role: Role::Voter,
        }],
    };
    NodeRuntime::start(
        RuntimeConfig {
            id,
            cluster,
            timing: Timing::default(),
            data_dir: data,
            urn_region: "eu".into(),
            listen_peers: "127.0.0.1:0".parse().unwrap(),
            peers: BTreeMap::new(),
            backups: Some(setup),
        },
        [7u8; 32],
        &node_tls(id),
    )
    .await
    .unwrap()
}

/// [`one_node_with_backups`] into two directory regions under `regions`, every second.
async fn backing_up_node(regions: &std::path::Path, data: PathBuf) -> NodeRuntime {
    let config = |r: &str| BackupRegionConfig {
        region: r.into(),
        dir: Some(regions.join(r)),
        s3: None,
    };
    let mut setup = BackupSetup::open(&[config("backup-x"), config("backup-y")]).unwrap();
    setup.config.interval = Duration::from_secs(1);
    one_node_with_backups(setup, data).await
}

/// The manifest of the directory region `dir`, if it has one yet.
async fn dir_manifest(dir: PathBuf, key: &BackupKey) -> Option<Manifest> {
    let sink = cairn_net::runtime::DirSink::new(dir).unwrap();
    let bytes = BackupSink::get(&sink, MANIFEST_NAME.into()).await.ok()??;
    Some(Manifest::open(key, &bytes).expect("the manifest authenticates"))
}

/// A node that takes backups but lost its data directory (a replaced replica) takes over
/// what the backup regions hold: the objects there stay in the manifests (a restore can
/// still use them, and they expire on time) and its own objects continue their sequence
/// instead of starting it again and overwriting names. Needs no S3 server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_backup_taker_keeps_what_the_regions_hold() {
    let dir = scratch_dir("takeover");
    let key = BackupKey::from_root(&RootKey::from_bytes(&[7u8; 32]));
    let first = backing_up_node(&dir, dir.join("data-1")).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let before: Vec<ManifestEntry> = loop {
        if let (Some(x), Some(y)) = (
            dir_manifest(dir.join("backup-x"), &key).await,
            dir_manifest(dir.join("backup-y"), &key).await,
        ) && x.entries.len() >= 3
            && y.entries.len() >= 3
        {
            break x.entries;
        }
        assert!(
            Instant::now() < deadline,
            "no three backups in both regions within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The node reports its last backup stored in both regions (cluster status, metrics).
    let last = first
        .cluster_status()
        .last_backup
        .expect("a last backup is known");
    assert!(last.age_seconds < 30, "{last:?}");
    first.stop().await;
    // Let an upload already handed to a sink land before the replacement writes.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The same node on a new, empty disk.
    let second = backing_up_node(&dir, dir.join("data-2")).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let after = loop {
        let m = dir_manifest(dir.join("backup-x"), &key).await.unwrap();
        if m.entries.len() > before.len() {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "no backup of the replacement listed within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    second.stop().await;
    // The objects held before are still listed, and are still the same objects (a restarted
    // sequence would cut objects of the same names and overwrite them).
    for old in &before {
        assert!(
            after.entries.contains(old),
            "{} was dropped or replaced: {:?}",
            old.name,
            after.entries.iter().map(|e| &e.name).collect::<Vec<_>>()
        );
    }
    let seqs: Vec<u64> = after.entries.iter().map(|e| e.header.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
