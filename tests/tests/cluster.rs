//! A real five-process cluster on loopback (two zones of two voters, a remote replica),
//! driven over HTTPS with the administrator's certificate, through the disasters of
//! DESIGN §2: a voter killed under load, a zone stopped, nodes restarted, everything
//! restarted.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cairn_tests::Cluster;
use tokio::sync::Mutex;

const PLAINTEXT: &str = "aGVsbG8sIGNhaXJu"; // "hello, cairn"

/// Encrypts with `key` through `via`, decrypts through `back`, and checks the round trip.
async fn round_trip(c: &Cluster, key: &str, via: &str, back: &str) {
    let enc = c.client.encrypt(c.api(via), key, PLAINTEXT).await.unwrap();
    assert_eq!(enc.status, 200, "encrypt via {via}: {}", enc.body);
    let ciphertext = enc.body["ciphertext"].as_str().unwrap().to_string();
    let dec = c
        .client
        .decrypt(c.api(back), key, &ciphertext)
        .await
        .unwrap();
    assert_eq!(dec.status, 200, "decrypt via {back}: {}", dec.body);
    assert_eq!(dec.body["plaintext"], PLAINTEXT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_survives_a_killed_voter_a_lost_zone_and_a_full_restart() {
    let t0 = Instant::now();
    let phase = |what: &str| eprintln!("{:>7.2?}  {what}", t0.elapsed());
    let mut c = Cluster::start(1).expect("cluster starts");
    c.wait_writable("a1", Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n--- a1 log ---\n{}", c.log("a1")));

    phase("writable");
    // Read-your-writes across zones: a key acknowledged by one node works at once on a
    // node of the other zone.
    for i in 0..5 {
        let created = c
            .client
            .create_key(c.api("a2"), &format!("ryw-{i}"))
            .await
            .unwrap();
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.body["id"].as_str().unwrap().to_string();
        let got = c.client.get_key(c.api("b2"), &id).await.unwrap();
        assert_eq!(
            got.status, 200,
            "b2 must serve {id} right after the ack: {}",
            got.body
        );
        round_trip(&c, &id, "b1", "a1").await;
    }

    // Load from two clients through a1 and b1; kill -9 a2 in the middle of it.
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for via in ["a1", "b1"] {
        let (client, addr) = (c.client.clone(), c.api(via));
        let (acked, stop) = (acked.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                if let Ok(r) = client.create_key(addr, &format!("load-{n}")).await
                    && r.status == 201
                {
                    acked
                        .lock()
                        .await
                        .push(r.body["id"].as_str().unwrap().to_string());
                }
                n += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    c.kill("a2");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }
    let acked = acked.lock().await.clone();
    phase(&format!("load done: {} creates acknowledged", acked.len()));
    assert!(
        acked.len() > 10,
        "the load got only {} creates through",
        acked.len()
    );
    for node in ["a1", "b1", "b2"] {
        let listed = c.client.list_ids(c.api(node)).await.unwrap();
        let lost: Vec<_> = acked.iter().filter(|id| !listed.contains(*id)).collect();
        assert!(lost.is_empty(), "{node} lost acknowledged keys {lost:?}");
    }
    round_trip(&c, &acked[0], "a1", "b2").await;

    phase("no acknowledged key lost");
    // Stop zone b: creates are refused with 503 within a second; crypto goes on in zone a.
    c.kill("b1");
    c.kill("b2");
    let started = Instant::now();
    let refused = loop {
        let r = c
            .client
            .create_key(c.api("a1"), "during-outage")
            .await
            .unwrap();
        if r.status == 503 {
            break r;
        }
        assert_ne!(
            r.status, 201,
            "a create succeeded with zone b down: {}",
            r.body
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no 503 after 5 s: {}",
            r.status
        );
    };
    assert!(
        refused.body["error_code"].is_number(),
        "503 carries the OKMS error body: {}",
        refused.body
    );
    let first_503 = started.elapsed();
    let t = Instant::now();
    let again = c
        .client
        .create_key(c.api("a1"), "during-outage")
        .await
        .unwrap();
    assert_eq!(again.status, 503);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "a create took {:?} to be refused once the zone was known down",
        t.elapsed()
    );
    eprintln!(
        "first 503 after {first_503:?}; then refused in {:?}",
        t.elapsed()
    );
    round_trip(&c, &acked[1], "a1", "a1").await;

    phase("zone b down: 503s");
    // Zone b and a2 come back: writes resume, and the restarted nodes catch up.
    c.restart("b1").unwrap();
    c.restart("b2").unwrap();
    c.restart("a2").unwrap();
    let after = c
        .wait_writable("a1", Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n--- b1 log ---\n{}", c.log("b1")));
    for node in ["a2", "b1", "b2"] {
        let got = c.client.get_key(c.api(node), &after).await.unwrap();
        assert_eq!(got.status, 200, "{node} did not catch up: {}", got.body);
    }

    phase("caught up");
    // Everything stops at once; after a restart every acknowledged key is intact.
    for n in ["a1", "a2", "b1", "b2", "r1"] {
        c.kill(n);
    }
    for n in ["a1", "a2", "b1", "b2", "r1"] {
        c.restart(n).unwrap();
    }
    c.wait_writable("b2", Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n--- b2 log ---\n{}", c.log("b2")));
    for node in ["a2", "b1"] {
        let listed = c.client.list_ids(c.api(node)).await.unwrap();
        let lost: Vec<_> = acked
            .iter()
            .chain([&after])
            .filter(|id| !listed.contains(*id))
            .collect();
        assert!(
            lost.is_empty(),
            "{node} lost keys in the full restart: {lost:?}"
        );
    }
    round_trip(&c, &acked[2], "b2", "a2").await;
    round_trip(&c, &after, "r1", "a1").await;
    phase("full restart intact");
}
