//! `cairn recover` on a real five-process cluster (DESIGN §6): the primary region is lost
//! after writes the backups and the replica never saw; the cluster is rebuilt from the
//! backups as a new generation, keeps every key backed up (and its ciphertexts still
//! decrypt), and reports the writes it could not restore as orphans instead of dropping
//! them silently.

use std::process::Command;
use std::time::{Duration, Instant};

use cairn_tests::Cluster;
use cairn_tests::cluster::binary;

const PLAINTEXT: &str = "aGVsbG8sIGNhaXJu"; // "hello, cairn"

/// Runs `cairn recover` on the cluster directory with `args`; its stdout, or a panic with
/// stderr.
fn recover(c: &Cluster, args: &[&str]) -> String {
    let out = Command::new(binary().unwrap())
        .arg("recover")
        .arg("--dir")
        .arg(&c.dir)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "cairn recover {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_region_is_rebuilt_from_backups_as_a_new_generation() {
    let t0 = Instant::now();
    let phase = |what: &str| eprintln!("{:>7.2?}  {what}", t0.elapsed());
    let mut c = Cluster::start_with(2, "[backup_schedule]\ninterval_seconds = 1\n")
        .expect("cluster starts");
    c.wait_writable("a1", Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n--- a1 log ---\n{}", c.log("a1")));

    let mut early = Vec::new();
    for i in 0..5 {
        let r = c
            .client
            .create_key(c.api("a1"), &format!("early-{i}"))
            .await
            .unwrap();
        assert_eq!(r.status, 201, "{}", r.body);
        early.push(r.body["id"].as_str().unwrap().to_string());
    }
    let enc = c
        .client
        .encrypt(c.api("b1"), &early[0], PLAINTEXT)
        .await
        .unwrap();
    assert_eq!(enc.status, 200, "{}", enc.body);
    let ciphertext = enc.body["ciphertext"].as_str().unwrap().to_string();
    phase("early keys written");

    // A dry run reads the backups while the cluster runs, changing nothing; wait for one
    // that holds the early keys (backups every second here).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = recover(&c, &["--from-backup", "--dry-run"]);
        assert!(out.contains("dry run: nothing changed"), "{out}");
        let keys: usize = out
            .split(" keys in ")
            .next()
            .and_then(|s| s.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no key count in {out}"));
        // The early keys and the probe of wait_writable.
        if keys > early.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no backup of the early keys within 30 s:\n{out}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    phase("early keys backed up");

    // The replica (which takes the backups) goes first; the primary region acknowledges
    // more writes that neither the replica nor any backup will hold, then is lost.
    c.kill("r1");
    let mut late = Vec::new();
    for i in 0..3 {
        let r = c
            .client
            .create_key(c.api("a2"), &format!("late-{i}"))
            .await
            .unwrap();
        assert_eq!(r.status, 201, "{}", r.body);
        late.push(r.body["id"].as_str().unwrap().to_string());
    }
    for n in ["a1", "a2", "b1", "b2"] {
        c.kill(n);
    }
    phase("region lost");

    // The replica's data rebuilds too (dry run: it lacks the late keys as well).
    let from_replica = recover(&c, &["--from-replica", "--dry-run"]);
    assert!(
        from_replica.contains("restored from replica r1"),
        "{from_replica}"
    );
    assert!(from_replica.contains("key creations"), "{from_replica}");

    let out = recover(&c, &["--from-backup"]);
    phase("recovered");
    assert!(out.contains("generation 2 is ready"), "{out}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(c.dir.join("recovery-gen2.json")).unwrap()).unwrap();
    assert_eq!(report["generation"], 2);
    // Every late write is reported as orphaned by the nodes that hold it.
    let orphaned = report["orphans"]["a1"].to_string();
    for id in &late {
        assert!(
            orphaned.contains(id.as_str()),
            "{id} not orphaned: {report}"
        );
    }
    for node in ["a1", "a2", "b1", "b2", "r1"] {
        let file = std::fs::read_to_string(c.dir.join(format!("nodes/{node}.toml"))).unwrap();
        assert!(file.contains("generation = 2"), "{node}: {file}");
        assert!(
            c.dir.join(format!("data/{node}.gen1")).is_dir(),
            "{node}'s old data was not kept"
        );
    }

    // An old node's orphans can be listed and exported again later (a region that comes
    // back after the recovery).
    let export = c.dir.join("a2-orphans.json");
    let out = Command::new(binary().unwrap())
        .arg("orphans")
        .arg("--report")
        .arg(c.dir.join("recovery-gen2.json"))
        .arg("--data-dir")
        .arg(c.dir.join("data/a2.gen1"))
        .arg("--out")
        .arg(&export)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported = std::fs::read_to_string(&export).unwrap();
    for id in &late {
        assert!(
            exported.contains(id.as_str()),
            "{id} not exported: {exported}"
        );
    }

    // The new generation serves every backed-up key, and the old ciphertext decrypts.
    for n in ["a1", "a2", "b1", "b2", "r1"] {
        c.restart(n).unwrap();
    }
    c.wait_writable("b2", Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n--- b2 log ---\n{}", c.log("b2")));
    phase("generation 2 writable");
    let listed = c.client.list_ids(c.api("a1")).await.unwrap();
    for id in &early {
        assert!(listed.contains(id), "{id} lost in the recovery");
    }
    for id in &late {
        assert!(
            !listed.contains(id),
            "{id} was never backed up, yet restored"
        );
    }
    let dec = c
        .client
        .decrypt(c.api("a2"), &early[0], &ciphertext)
        .await
        .unwrap();
    assert_eq!(dec.status, 200, "{}", dec.body);
    assert_eq!(dec.body["plaintext"], PLAINTEXT);
    // The replica of the new generation caught up from the new leader.
    let deadline = Instant::now() + Duration::from_secs(30);
    while c
        .client
        .get_key(c.api("r1"), &early[4])
        .await
        .unwrap()
        .status
        != 200
    {
        assert!(
            Instant::now() < deadline,
            "r1 did not catch up:\n{}",
            c.log("r1")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    phase("done");
}
