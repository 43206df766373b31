//! End-to-end figures of a real five-process cluster on loopback (issue 5), as ratios
//! measured in one run:
//!
//! * encrypt (1 KiB) over mutual TLS with keep-alive, against a bare hyper server on the
//!   same TLS configuration answering a body of the same size (goal ≥ 0.6);
//! * key creation latency p50/p99 against the fsync latency of this disk (goal: p50 ≤
//!   3 × fsync + 2 round trips);
//! * creates per second with group commit, many clients at once (goal ≥ 2,000/s).
//!
//! `cargo bench -p cairn-tests --bench e2e`

use std::convert::Infallible;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cairn_tests::Cluster;
use cairn_tests::keepalive::Connection;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

const ROUNDS: usize = 5;
const PER_ROUND: usize = 1500;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A hyper server over the same rustls configuration as a node's API, answering every
/// request with `body`.
async fn bare_server(cluster: &Cluster, body: Bytes) -> std::net::SocketAddr {
    let settings = cairn_net::tls::TlsSettings::from_pem_files(
        &cluster.dir.join("tls/a1.pem"),
        &cluster.dir.join("tls/a1.key"),
        &cluster.dir.join("tls/client-ca.pem"),
    )
    .unwrap();
    let acceptor = TlsAcceptor::from(cairn_net::tls::server_config(&settings).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            tcp.set_nodelay(true).unwrap();
            let acceptor = acceptor.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let body = body.clone();
                    async move {
                        // Read the request as a real server must (and as keep-alive needs).
                        let _ = req.into_body().collect().await;
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(body)))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}

fn fsync_latency(dir: &std::path::Path) -> Duration {
    let path = dir.join("fsync-probe");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = [0x5au8; 4096];
    let mut samples = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        f.write_all(&block).unwrap();
        f.sync_data().unwrap();
        samples.push(t.elapsed());
    }
    let _ = std::fs::remove_file(&path);
    samples.sort();
    percentile(&samples, 0.5)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // Measured without the per-credential rate limit (1000/s by default).
    let cluster = Cluster::start_with(7, "[rate_limit]\nper_second = 0\nburst = 0\n")
        .expect("cluster starts");
    let key = cluster
        .wait_writable("a1", Duration::from_secs(30))
        .await
        .expect("the cluster takes writes");
    let a1 = cluster.api("a1");
    let config = cluster.client.config.clone();
    let path = format!("{}/{key}/encrypt", cluster.client.keys_path());
    let plaintext = cairn_core::b64::encode_std(&[7u8; 1024]);
    let request = serde_json::json!({ "plaintext": plaintext }).to_string();

    // 1. Encrypt vs bare, interleaved rounds on two keep-alive connections.
    let mut ours = Connection::open(a1, config.clone()).await.unwrap();
    let (status, sample) = ours
        .request("POST", &path, request.as_bytes())
        .await
        .unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&sample));
    let bare_addr = bare_server(&cluster, Bytes::from(sample.clone())).await;
    let mut bare = Connection::open(bare_addr, config.clone()).await.unwrap();
    println!(
        "encrypt 1 KiB over mTLS keep-alive ({} B answers), {PER_ROUND} requests per round:",
        sample.len()
    );
    println!("| round | cairn encrypt req/s | bare hyper req/s | ratio |");
    println!("|------:|--------------------:|-----------------:|------:|");
    let mut ratios = Vec::new();
    for round in 1..=ROUNDS {
        let t = Instant::now();
        for _ in 0..PER_ROUND {
            let (s, _) = ours
                .request("POST", &path, request.as_bytes())
                .await
                .unwrap();
            assert_eq!(s, 200);
        }
        let cairn = PER_ROUND as f64 / t.elapsed().as_secs_f64();
        let t = Instant::now();
        for _ in 0..PER_ROUND {
            let (s, _) = bare
                .request("POST", &path, request.as_bytes())
                .await
                .unwrap();
            assert_eq!(s, 200);
        }
        let plain = PER_ROUND as f64 / t.elapsed().as_secs_f64();
        ratios.push(cairn / plain);
        println!(
            "| {round} | {cairn:.0} | {plain:.0} | {:.2} |",
            cairn / plain
        );
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "median ratio {:.2} (goal ≥ 0.6)\n",
        ratios[ratios.len() / 2]
    );

    // 2. Create latency, sequential, against fsync and the loopback round trip.
    let mut rtts = Vec::new();
    for _ in 0..500 {
        let t = Instant::now();
        bare.request("GET", "/", b"").await.unwrap();
        rtts.push(t.elapsed());
    }
    rtts.sort();
    let rtt = percentile(&rtts, 0.5);
    let fsync = fsync_latency(&cluster.dir);
    let create = serde_json::json!({
        "name": "bench", "type": "oct", "size": 256, "operations": ["encrypt", "decrypt"],
    })
    .to_string();
    let keys = cluster.client.keys_path();
    let mut lat = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        let (s, b) = ours
            .request("POST", &keys, create.as_bytes())
            .await
            .unwrap();
        assert_eq!(s, 201, "{}", String::from_utf8_lossy(&b));
        lat.push(t.elapsed());
    }
    lat.sort();
    let (p50, p99) = (percentile(&lat, 0.5), percentile(&lat, 0.99));
    let budget = fsync * 3 + rtt * 2;
    println!("key creation through a1, sequential, 300 creates:");
    println!(
        "| p50 | p99 | fsync p50 (4 KiB) | loopback TLS round trip p50 | 3 × fsync + 2 RTT | p50 / budget |"
    );
    println!(
        "|----:|----:|------------------:|----------------------------:|------------------:|-------------:|"
    );
    println!(
        "| {p50:.2?} | {p99:.2?} | {fsync:.2?} | {rtt:.2?} | {budget:.2?} | {:.2} |\n",
        p50.as_secs_f64() / budget.as_secs_f64()
    );

    // 3. Creates per second: many clients on keep-alive connections to the four voters.
    let clients = 64;
    let window = Duration::from_secs(5);
    let voters: Vec<_> = ["a1", "a2", "b1", "b2"]
        .iter()
        .map(|n| cluster.api(n))
        .collect();
    let create = Arc::new(create);
    let keys = Arc::new(keys);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..clients {
        let (addr, config) = (voters[i % voters.len()], config.clone());
        let (create, keys) = (create.clone(), keys.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = Connection::open(addr, config).await.unwrap();
            let mut ok = 0u64;
            while start.elapsed() < window {
                let (s, _) = c.request("POST", &keys, create.as_bytes()).await.unwrap();
                ok += u64::from(s == 201);
            }
            ok
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "group commit: {clients} clients over {window:?}: {total} creates, {:.0} creates/s (goal ≥ 2,000/s)",
        total as f64 / elapsed
    );
}
