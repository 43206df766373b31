//! `core` encrypt and decrypt (key lookup, checks, AES-GCM-SIV, JWE encoding) against a bare
//! `aes-gcm-siv` seal of the same input, as a throughput ratio measured in one run.
//!
//! Run with `cargo bench -p cairn-core --bench encrypt`. Rounds interleave the three
//! measurements so that a noisy neighbour slows all of them alike; each figure is the median
//! of the rounds.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aes::Aes256;
use aes_gcm_siv::aead::{Aead, KeyInit};
use aes_gcm_siv::{AesGcmSiv, Nonce};
use cairn_core::api::CreateImportServiceKeyRequest;
use cairn_core::crypto::hierarchy::RootKey;
use cairn_core::key::spec::KeyType;
use cairn_core::store::{Applied, KeyStore};
use cairn_core::{DomainId, Timestamp};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const ROUNDS: usize = 15;
const ROUND_TIME: Duration = Duration::from_millis(60);

fn main() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut store = KeyStore::new(RootKey::from_bytes(&[7; 32]));
    let domain = DomainId::random(&mut rng);
    let cmd = store.prepare_domain(domain, &mut rng).unwrap();
    store.apply(1, Timestamp::EPOCH, &cmd).unwrap();
    let req = CreateImportServiceKeyRequest {
        name: "bench".into(),
        kind: Some(KeyType::Oct),
        size: Some(256),
        ..Default::default()
    };
    let cmd = store.prepare_key(domain, &req, &mut rng).unwrap();
    let Ok(Applied::KeyCreated { key, .. }) = store.apply(2, Timestamp::EPOCH, &cmd) else {
        panic!("key not created");
    };
    let bare = AesGcmSiv::<Aes256>::new_from_slice(&[9; 32]).unwrap();

    println!("size     bare seal     core encrypt  core decrypt  encrypt/bare  decrypt/bare");
    for size in [32usize, 1024, 4096] {
        let plaintext = vec![0xa5u8; size];
        let ciphertext = store
            .encrypt(domain, key, &plaintext, None, &mut rng)
            .unwrap();
        let (mut t_bare, mut t_enc, mut t_dec) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            t_bare.push(per_op(|| {
                black_box(
                    bare.encrypt(&Nonce::from([3; 12]), black_box(&plaintext[..]))
                        .unwrap(),
                );
            }));
            t_enc.push(per_op(|| {
                black_box(
                    store
                        .encrypt(domain, key, black_box(&plaintext), None, &mut rng)
                        .unwrap(),
                );
            }));
            t_dec.push(per_op(|| {
                black_box(
                    store
                        .decrypt(domain, key, black_box(&ciphertext), None)
                        .unwrap(),
                );
            }));
        }
        let (b, e, d) = (median(t_bare), median(t_enc), median(t_dec));
        println!(
            "{:<8} {:>10.0} ns {:>10.0} ns {:>10.0} ns {:>12.2} {:>13.2}",
            format!("{size} B"),
            b,
            e,
            d,
            b / e,
            b / d
        );
    }
    println!("(ratios are throughput relative to the bare seal: 1.00 means as fast)");
}

/// Nanoseconds per call of `f`, over about [`ROUND_TIME`].
fn per_op(mut f: impl FnMut()) -> f64 {
    let mut n = 0u64;
    let start = Instant::now();
    while start.elapsed() < ROUND_TIME {
        for _ in 0..64 {
            f();
        }
        n += 64;
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
