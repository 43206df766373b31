//! The hooks through which G6 sees every byte leaving a node.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cairn_sim::{BackupSimConfig, DiskFile, OpMix, Sim, Source, Topology};

#[derive(Default, Debug)]
struct Seen {
    wire: u64,
    disk: [u64; 4],
    secrets_in_plaintext: u64,
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.len() <= haystack.len() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_scanner_sees_every_message_and_write_and_no_imported_key_in_plaintext() {
    let mut config = common::config(13, Topology::SMALL);
    config.workload.mix = OpMix {
        import: 20,
        ..OpMix::DEFAULT
    };
    config.timing.snapshot_every = 50;
    // The replica takes backups: its outbox writes (every backup object) are scanned too.
    config.backups = Some(BackupSimConfig::default());
    let mut sim = Sim::new(config);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let shared = Arc::clone(&seen);
    sim.set_scanner(move |s| {
        let mut seen = shared.lock().unwrap();
        match s.source {
            Source::Wire { .. } => seen.wire += 1,
            Source::Disk { file, .. } => {
                seen.disk[match file {
                    DiskFile::Log => 0,
                    DiskFile::HardState => 1,
                    DiskFile::Snapshot => 2,
                    DiskFile::BackupOutbox => 3,
                }] += 1;
            }
        }
        if s.secrets.iter().any(|secret| contains(s.bytes, secret)) {
            seen.secrets_in_plaintext += 1;
        }
    });
    sim.capture_wire(true);
    sim.run_for(Duration::from_secs(8));

    let seen = seen.lock().unwrap();
    assert_eq!(seen.wire, sim.stats().messages_sent);
    assert_eq!(sim.wire_capture().len() as u64, sim.stats().messages_sent);
    assert!(seen.disk.iter().all(|n| *n > 0), "{seen:?}");
    assert!(sim.workload().secrets().len() > 10);
    assert!(sim.workload().keys().iter().any(|k| k.imported.is_some()));
    assert_eq!(seen.secrets_in_plaintext, 0);
    // The synced files hold none either.
    for host in sim.hosts() {
        let disk = host.disk();
        for secret in sim.workload().secrets() {
            assert!(!contains(disk.synced_log(), secret));
            assert!(!disk.synced_snapshot().is_some_and(|s| contains(s, secret)));
        }
    }
    let taken = sim.take_wire_capture();
    assert!(!taken.is_empty() && sim.wire_capture().is_empty());
}
