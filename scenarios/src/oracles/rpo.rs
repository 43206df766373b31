//! What a recovery lost (the recovery point): the keys acknowledged before a region was lost
//! that a restored state lacks or cannot use, for G4 and G5.

use cairn_core::backup::Restored;
use cairn_core::crypto::hierarchy::RootKey;
use cairn_core::key::state::KeyState;
use cairn_core::replication::Index;
use cairn_core::store::KeyStore;
use cairn_sim::Sim;

/// A recovery measured against the clients' model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rpo {
    /// Keys whose creation was acknowledged before the loss.
    pub acknowledged: usize,
    /// Of those, missing from the restored state, or present but unable to decrypt their
    /// sample: `(acknowledgement time µs, log index, key)`, oldest first.
    pub lost: Vec<(u64, Index, String)>,
    /// Seconds of acknowledged writes lost: from the oldest lost key's acknowledgement to
    /// the loss (0 when none).
    pub seconds_lost: f64,
    /// Keys present but failing to decrypt their sample (counted in `lost` too).
    pub undecryptable: usize,
}

impl Rpo {
    /// `seconds lost` in words for reports.
    pub fn describe(&self) -> String {
        format!(
            "{} of {} acknowledged keys lost, {:.3} s of acknowledged writes lost",
            self.lost.len(),
            self.acknowledged,
            self.seconds_lost
        )
    }
}

/// Compares `restored` with every key acknowledged before `loss_us`.
pub fn measure(sim: &Sim, restored: &Restored, loss_us: u64) -> Rpo {
    let root = RootKey::from_bytes(&sim.config().root_key);
    let store = KeyStore::from_snapshot(root, &restored.snapshot.data).ok();
    let mut rpo = Rpo::default();
    for key in sim.workload().keys() {
        let Some(acked) = sim.history().get(key.created_by).completed_us else {
            continue;
        };
        if acked > loss_us {
            continue;
        }
        rpo.acknowledged += 1;
        let present = store
            .as_ref()
            .is_some_and(|s| s.get(key.domain, key.id, None).is_ok());
        let usable = matches!(key.state, Some(KeyState::Active | KeyState::Deactivated));
        let decrypts = match (&store, &key.sample, present && usable) {
            (Some(s), Some(sample), true) => {
                let plain = s.decrypt(
                    key.domain,
                    key.id,
                    &sample.ciphertext,
                    sample.context.as_deref(),
                );
                plain.as_deref().map(Vec::as_slice) == Ok(sample.plaintext.as_slice())
            }
            _ => true,
        };
        if present && !decrypts {
            rpo.undecryptable += 1;
        }
        if !present || !decrypts {
            rpo.lost.push((acked, key.index, key.id.to_string()));
        }
    }
    rpo.lost.sort();
    rpo.seconds_lost = rpo.lost.first().map_or(0.0, |(acked, _, _)| {
        loss_us.saturating_sub(*acked) as f64 / 1e6
    });
    rpo
}
