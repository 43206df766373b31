//! G6: key material is never written or sent in plaintext.
//!
//! A scanner looks at every message sent and every disk write issued for the plaintext of
//! every key whose bytes the workload knows (imported keys). It indexes the secrets by their
//! first eight bytes, so each buffer is scanned once whatever the number of secrets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cairn_sim::{Scanned, Sim, Source};

use crate::violation::{Promise, Violation};

/// Findings shared between the scanner (inside the simulation) and the oracle.
#[derive(Clone, Default)]
pub struct G6 {
    found: Arc<Mutex<Vec<Violation>>>,
    scanned: Arc<Mutex<u64>>,
}

#[derive(Default)]
struct Index {
    len: usize,
    by_prefix: HashMap<[u8; 8], Vec<Vec<u8>>>,
}

impl Index {
    fn refresh(&mut self, secrets: &[Vec<u8>]) {
        if secrets.len() == self.len {
            return;
        }
        for s in &secrets[self.len..] {
            if let Some(prefix) = s.get(..8) {
                let key: [u8; 8] = prefix.try_into().expect("8 bytes");
                self.by_prefix.entry(key).or_default().push(s.clone());
            }
        }
        self.len = secrets.len();
    }

    fn find<'a>(&'a self, bytes: &[u8]) -> Option<&'a [u8]> {
        if self.by_prefix.is_empty() {
            return None;
        }
        bytes.windows(8).enumerate().find_map(|(at, w)| {
            let w: [u8; 8] = w.try_into().expect("8 bytes");
            self.by_prefix
                .get(&w)?
                .iter()
                .find(|s| bytes[at..].starts_with(s))
                .map(Vec::as_slice)
        })
    }
}

impl G6 {
    /// Installs the scanner on `sim` (before running it).
    pub fn install(sim: &mut Sim) -> G6 {
        let g6 = G6::default();
        let (found, scanned) = (g6.found.clone(), g6.scanned.clone());
        let mut index = Index::default();
        sim.set_scanner(move |s: &Scanned<'_>| {
            index.refresh(s.secrets);
            *scanned.lock().expect("scanner lock") += s.bytes.len() as u64;
            if index.find(s.bytes).is_some() {
                let mut found = found.lock().expect("scanner lock");
                if found.len() < 5 {
                    let place = match s.source {
                        Source::Wire { from, to } => format!("a message {from} -> {to}"),
                        Source::Disk { node, file } => format!("{node}'s disk ({file:?})"),
                    };
                    found.push(Violation::new(
                        Promise::G6,
                        format!("plaintext key material in {place} at {} µs", s.at_us),
                    ));
                }
            }
        });
        g6
    }

    pub fn violations(&self) -> Vec<Violation> {
        self.found.lock().expect("scanner lock").clone()
    }

    /// Bytes scanned so far.
    pub fn scanned(&self) -> u64 {
        *self.scanned.lock().expect("scanner lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_secret_anywhere_in_a_buffer() {
        let mut index = Index::default();
        let secrets = vec![vec![7u8; 16], (0u8..32).collect()];
        index.refresh(&secrets);
        let mut buf = vec![1u8; 100];
        assert!(index.find(&buf).is_none());
        buf[50..82].copy_from_slice(&secrets[1]);
        assert_eq!(index.find(&buf), Some(&secrets[1][..]));
        // A prefix alone is not a secret.
        let mut partial = vec![1u8; 100];
        partial[90..100].copy_from_slice(&secrets[1][..10]);
        assert!(index.find(&partial).is_none());
    }
}
