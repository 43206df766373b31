//! Property tests of the key store: round trips, tamper detection, determinism, the
//! lifecycle table, and that no plaintext material reaches a serialized state or command.

use std::convert::Infallible;

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::{SeedableRng, TryCryptoRng, TryRng};

use super::Fixture;
use crate::api::CreateImportServiceKeyRequest;
use crate::crypto::hierarchy::RootKey;
use crate::ids::KeyId;
use crate::key::spec::{Curve, KeyType};
use crate::key::state::{KeyState, RevocationReason, Transition};
use crate::store::command::Command;
use crate::store::keyring::Unsealed;
use crate::store::keystore::KeyStore;
use crate::store::record::StoredMaterial;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn encrypt_then_decrypt_gives_back_any_plaintext_and_context(
        plaintext in proptest::collection::vec(any::<u8>(), 1..=4096),
        context in proptest::option::of("\\PC{0,64}"),
        seed in any::<u64>(),
    ) {
        let mut f = Fixture::new(seed);
        let key = f.oct();
        let ct = f.store.encrypt(f.domain, key, &plaintext, context.as_deref(), &mut f.rng).unwrap();
        let pt = f.store.decrypt(f.domain, key, &ct, context.as_deref()).unwrap();
        prop_assert_eq!(&*pt, &plaintext[..]);
    }

    #[test]
    fn flipping_any_byte_of_a_ciphertext_fails(
        plaintext in proptest::collection::vec(any::<u8>(), 1..200),
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut f = Fixture::new(1);
        let key = f.oct();
        let ct = f.store.encrypt(f.domain, key, &plaintext, None, &mut f.rng).unwrap();
        let mut bytes = ct.into_bytes();
        let i = position.index(bytes.len());
        bytes[i] ^= flip;
        // A flip that makes invalid UTF-8 cannot even reach the API as a JSON string.
        if let Ok(altered) = String::from_utf8(bytes) {
            prop_assert!(f.store.decrypt(f.domain, key, &altered, None).is_err());
        }
    }

    #[test]
    fn the_same_commands_give_byte_identical_states(script in script(), seed in any::<u64>()) {
        let (commands, _) = run(seed, &script);
        let replay = |root: [u8; 32]| {
            let mut store = KeyStore::new(RootKey::from_bytes(&root));
            let mut outcomes = Vec::new();
            for (i, (time, cmd)) in commands.iter().enumerate() {
                outcomes.push(store.apply(i as u64 + 1, *time, cmd));
            }
            (store.state().encode(), store.state().digest(), outcomes)
        };
        let (a, da, oa) = replay([7; 32]);
        let (b, db, ob) = replay([7; 32]);
        // The replicated state does not even depend on the node's root key.
        let (c, dc, oc) = replay([8; 32]);
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(&a, &c);
        prop_assert_eq!(da, db);
        prop_assert_eq!(da, dc);
        prop_assert_eq!(&oa, &ob);
        prop_assert_eq!(&oa, &oc);
        // And a snapshot loads back into the same state.
        let loaded = crate::store::state::State::decode(&a).unwrap();
        prop_assert_eq!(loaded.encode(), a);
    }

    #[test]
    fn every_transition_follows_the_table(script in script(), seed in any::<u64>()) {
        let (_, f) = run(seed, &script);
        for d in f.store.state().domains() {
            for record in d.keys.values() {
                prop_assert!(record.lifecycle.is_consistent(), "{:?}", record.lifecycle);
                prop_assert_eq!(
                    record.lifecycle.state.is_destroyed(),
                    record.material == StoredMaterial::Erased
                );
            }
        }
    }

    #[test]
    fn no_secret_drawn_ever_reaches_a_serialized_state_or_command(script in script(), seed in any::<u64>()) {
        let mut rng = Recording::new(seed ^ 0xdead_beef);
        let mut f = Fixture::new(seed);
        // A domain whose KEK comes from the recording RNG, so the KEK is looked for too.
        let domain = crate::ids::DomainId::random(&mut rng);
        let create_domain = f.store.prepare_domain(domain, &mut rng).unwrap();
        f.apply(&create_domain).unwrap();
        f.domain = domain;
        let mut encoded_commands = create_domain.encode();
        let mut keys = Vec::new();
        for step in &script {
            if let Some(cmd) = step.command(&mut f, &keys, &mut rng) {
                encoded_commands.extend(cmd.encode());
                if let Ok(crate::store::command::Applied::KeyCreated { key, .. }) = f.apply(&cmd) {
                    keys.push(key);
                }
            }
        }
        let state = f.store.state().encode();
        // Ids are drawn from the RNG too and are meant to be in clear.
        let ids: Vec<[u8; 16]> = f.store.state().domains()
            .flat_map(|d| d.keys.keys().map(|k| *k.as_bytes()).chain([*d.id.as_bytes()]))
            .collect();
        for secret in rng.draws.iter().filter(|d| d.len() >= 16) {
            if secret.len() == 16 && ids.iter().any(|id| id == &secret[..]) {
                continue;
            }
            prop_assert!(!contains(&state, secret), "state holds a drawn secret");
            prop_assert!(!contains(&encoded_commands, secret), "a command holds a drawn secret");
        }
        // The private scalars and primes themselves, as the keyring holds them.
        for key in &keys {
            if let Ok(unsealed) = f.store.keyring.key(f.domain, *key)
                && let Unsealed::Private { material, .. } = &*unsealed {
                let bytes = material.to_sealable_bytes();
                for window in bytes.chunks(32).filter(|c| c.len() == 32) {
                    prop_assert!(!contains(&state, window));
                    prop_assert!(!contains(&encoded_commands, window));
                }
            }
        }
    }
}

/// One step of a random script of management requests.
#[derive(Clone, Debug)]
enum Step {
    CreateOct(u32),
    CreateEc(Curve),
    /// Reuses the id of an existing key: must be a conflict.
    CreateDuplicate(usize),
    Rename(usize),
    Transition(usize, Transition),
}

fn script() -> impl Strategy<Value = Vec<Step>> {
    let transition = prop_oneof![
        Just(Transition::Activate),
        Just(Transition::Destroy),
        Just(Transition::Deactivate(RevocationReason::Unspecified)),
        Just(Transition::Deactivate(RevocationReason::KeyCompromise)),
        Just(Transition::Deactivate(RevocationReason::Superseded)),
    ];
    let step = prop_oneof![
        prop::sample::select(vec![128u32, 192, 256]).prop_map(Step::CreateOct),
        prop::sample::select(Curve::ALL.to_vec()).prop_map(Step::CreateEc),
        (0usize..8).prop_map(Step::CreateDuplicate),
        (0usize..8).prop_map(Step::Rename),
        ((0usize..8), transition.clone()).prop_map(|(k, t)| Step::Transition(k, t)),
        ((0usize..8), transition).prop_map(|(k, t)| Step::Transition(k, t)),
    ];
    proptest::collection::vec(step, 1..40)
}

impl Step {
    /// The command of this step, or `None` when preparation refuses it (which the table
    /// check below also verifies).
    fn command<R: rand_core::CryptoRng>(
        &self,
        f: &mut Fixture,
        keys: &[KeyId],
        rng: &mut R,
    ) -> Option<Command> {
        let pick = |i: &usize| keys.get(i % keys.len().max(1)).copied();
        let create = |kind, size, curve, id| CreateImportServiceKeyRequest {
            id,
            name: "k".into(),
            kind: Some(kind),
            size,
            curve,
            ..Default::default()
        };
        match self {
            Step::CreateOct(bits) => f
                .store
                .prepare_key(
                    f.domain,
                    &create(KeyType::Oct, Some(*bits), None, None),
                    rng,
                )
                .ok(),
            Step::CreateEc(curve) => f
                .store
                .prepare_key(
                    f.domain,
                    &create(KeyType::Ec, None, Some(*curve), None),
                    rng,
                )
                .ok(),
            Step::CreateDuplicate(i) => {
                let id = pick(i)?;
                let req = create(KeyType::Oct, Some(128), None, Some(*id.as_uuid()));
                assert!(
                    f.store.prepare_key(f.domain, &req, rng).is_err(),
                    "duplicate id prepared"
                );
                None
            }
            Step::Rename(i) => f.store.prepare_rename(f.domain, pick(i)?, "renamed").ok(),
            Step::Transition(i, t) => {
                let key = pick(i)?;
                let before = f
                    .store
                    .state()
                    .domain(f.domain)
                    .unwrap()
                    .key(key)
                    .unwrap()
                    .lifecycle
                    .state;
                let prepared = f.store.prepare_transition(f.domain, key, *t, f.now);
                assert_eq!(
                    prepared.is_ok(),
                    expected(before, *t).is_some(),
                    "{before:?} {t:?}"
                );
                prepared.ok()
            }
        }
    }
}

/// The lifecycle table, written out independently of `Lifecycle::after`.
fn expected(from: KeyState, t: Transition) -> Option<KeyState> {
    use KeyState::*;
    let compromise = matches!(t, Transition::Deactivate(RevocationReason::KeyCompromise));
    match (from, t) {
        (Destroyed | DestroyedCompromised, Transition::Activate) => None,
        (_, Transition::Activate) => Some(Active),
        (Destroyed, Transition::Deactivate(_)) if compromise => Some(DestroyedCompromised),
        (DestroyedCompromised, Transition::Deactivate(_)) if compromise => {
            Some(DestroyedCompromised)
        }
        (Destroyed | DestroyedCompromised, Transition::Deactivate(_)) => None,
        (_, Transition::Deactivate(_)) if compromise => Some(Compromised),
        (Compromised, Transition::Deactivate(_)) => None,
        (_, Transition::Deactivate(_)) => Some(Deactivated),
        (Active, Transition::Destroy) => None,
        (Compromised | DestroyedCompromised, Transition::Destroy) => Some(DestroyedCompromised),
        (_, Transition::Destroy) => Some(Destroyed),
    }
}

/// Runs a script on a fresh fixture, checking each applied transition against the table.
fn run(seed: u64, script: &[Step]) -> (Vec<(crate::time::Timestamp, Command)>, Fixture) {
    let mut f = Fixture::new(seed);
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x5eed);
    // The fixture's own domain creation is command 1: replay it too.
    let d = f.store.state().domain(f.domain).unwrap();
    let mut commands = vec![(
        d.created,
        Command::CreateDomain {
            id: d.id,
            sealed_kek: d.sealed_kek.clone(),
        },
    )];
    let mut keys = Vec::new();
    for step in script {
        let Some(cmd) = step.command(&mut f, &keys, &mut rng) else {
            continue;
        };
        let before = match &cmd {
            Command::Transition {
                key, transition, ..
            } => Some((
                *key,
                *transition,
                f.store
                    .state()
                    .domain(f.domain)
                    .unwrap()
                    .key(*key)
                    .unwrap()
                    .lifecycle
                    .state,
            )),
            _ => None,
        };
        let outcome = f.apply(&cmd);
        commands.push((f.now, cmd));
        if let Ok(crate::store::command::Applied::KeyCreated { key, .. }) = outcome {
            keys.push(key);
        }
        if let Some((key, t, from)) = before {
            let now = f
                .store
                .state()
                .domain(f.domain)
                .unwrap()
                .key(key)
                .unwrap()
                .lifecycle
                .state;
            assert_eq!(Some(now), expected(from, t), "{from:?} --{t:?}--> {now:?}");
        }
    }
    (commands, f)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// An RNG that remembers every draw, so the test can look for each secret afterwards.
struct Recording {
    inner: ChaCha20Rng,
    draws: Vec<Vec<u8>>,
}

impl Recording {
    fn new(seed: u64) -> Self {
        Recording {
            inner: ChaCha20Rng::seed_from_u64(seed),
            draws: Vec::new(),
        }
    }
}

impl TryRng for Recording {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.inner.try_fill_bytes(dst)?;
        self.draws.push(dst.to_vec());
        Ok(())
    }
}

impl TryCryptoRng for Recording {}
