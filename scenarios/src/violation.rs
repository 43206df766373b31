//! What an oracle reports.

use std::fmt;

/// The promises of DESIGN §2 the oracles check, plus liveness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Promise {
    G1,
    G2,
    G3,
    G4,
    G5,
    G6,
    G8,
    G9,
    Liveness,
}

impl fmt::Display for Promise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Promise::G1 => "G1",
            Promise::G2 => "G2",
            Promise::G3 => "G3",
            Promise::G4 => "G4",
            Promise::G5 => "G5",
            Promise::G6 => "G6",
            Promise::G8 => "G8",
            Promise::G9 => "G9",
            Promise::Liveness => "liveness",
        };
        f.write_str(s)
    }
}

/// A promise broken, with what shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub promise: Promise,
    pub detail: String,
}

impl Violation {
    pub fn new(promise: Promise, detail: impl Into<String>) -> Self {
        Violation {
            promise,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.promise, self.detail)
    }
}

/// At most `n` violations of one kind are kept: one is enough to fail, a few show a pattern.
pub(crate) fn capped(mut v: Vec<Violation>, n: usize) -> Vec<Violation> {
    v.truncate(n);
    v
}
