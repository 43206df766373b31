//! Log entries and the in-memory log of a node.

use serde::{Deserialize, Serialize};

use crate::replication::config::NodeId;
use crate::store::Command;
use crate::time::Timestamp;

/// A position in the log (1-based; 0 is "before the first entry").
pub type Index = u64;
/// An election term.
pub type Term = u64;

/// One replicated record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub index: Index,
    pub term: Term,
    /// Stamped by the leader that appended it: every replica applies the command at this
    /// time, so dates in the state are identical everywhere.
    pub time: Timestamp,
    pub payload: Payload,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payload {
    /// Appended by each new leader: committing an entry of its own term is what lets it
    /// commit (and learn the commit index of) everything before.
    Noop,
    /// A change to the key store, with the node and request it came from (so the leader can
    /// answer the right client once it is committed).
    Command {
        origin: NodeId,
        request: u64,
        command: Command,
    },
}

/// The entries a node holds: everything after its latest snapshot.
#[derive(Clone, Debug, Default)]
pub struct Log {
    /// Index and term of the last entry covered by the snapshot (0, 0 when none).
    base_index: Index,
    base_term: Term,
    entries: Vec<Entry>,
}

impl Log {
    pub fn new(base_index: Index, base_term: Term, entries: Vec<Entry>) -> Self {
        let log = Log {
            base_index,
            base_term,
            entries,
        };
        log.check();
        log
    }

    fn check(&self) {
        // A gap or a term going backwards would make log matching meaningless.
        for (i, e) in self.entries.iter().enumerate() {
            assert_eq!(
                e.index,
                self.base_index + 1 + i as u64,
                "log is not contiguous"
            );
        }
        assert!(
            self.entries.windows(2).all(|w| w[0].term <= w[1].term)
                && self
                    .entries
                    .first()
                    .is_none_or(|e| e.term >= self.base_term),
            "log terms go backwards"
        );
    }

    pub fn base_index(&self) -> Index {
        self.base_index
    }

    pub fn base_term(&self) -> Term {
        self.base_term
    }

    pub fn last_index(&self) -> Index {
        self.base_index + self.entries.len() as u64
    }

    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(self.base_term, |e| e.term)
    }

    /// The term of the entry at `index`, if the log still knows it (the snapshot base
    /// included).
    pub fn term_at(&self, index: Index) -> Option<Term> {
        if index == self.base_index {
            return Some(self.base_term);
        }
        self.get(index).map(|e| e.term)
    }

    pub fn get(&self, index: Index) -> Option<&Entry> {
        let offset = index.checked_sub(self.base_index + 1)?;
        self.entries.get(usize::try_from(offset).ok()?)
    }

    /// Entries from `from` (inclusive), at most `max`.
    pub fn slice(&self, from: Index, max: usize) -> &[Entry] {
        let start = from.saturating_sub(self.base_index + 1) as usize;
        let start = start.min(self.entries.len());
        let end = start.saturating_add(max).min(self.entries.len());
        &self.entries[start..end]
    }

    /// Appends one entry at the end.
    pub fn push(&mut self, entry: Entry) {
        assert_eq!(entry.index, self.last_index() + 1, "append out of order");
        assert!(entry.term >= self.last_term(), "append with an older term");
        self.entries.push(entry);
    }

    /// Removes every entry from `index` on (a conflict with the leader's log).
    pub fn truncate_from(&mut self, index: Index) {
        assert!(index > self.base_index, "cannot truncate into the snapshot");
        let keep = (index - self.base_index - 1) as usize;
        self.entries.truncate(keep);
    }

    /// Forgets entries up to `index`, now covered by a snapshot with term `term`.
    pub fn compact(&mut self, index: Index, term: Term) {
        if index <= self.base_index {
            return;
        }
        let drop = ((index - self.base_index) as usize).min(self.entries.len());
        self.entries.drain(..drop);
        self.base_index = index;
        self.base_term = term;
        self.check();
    }

    /// Replaces everything by a snapshot at (`index`, `term`).
    pub fn reset(&mut self, index: Index, term: Term) {
        self.entries.clear();
        self.base_index = index;
        self.base_term = term;
    }

    /// Whether a log ending at (`index`, `term`) is at least as up to date as this one
    /// (Raft's election restriction).
    pub fn is_up_to_date(&self, index: Index, term: Term) -> bool {
        (term, index) >= (self.last_term(), self.last_index())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(index: Index, term: Term) -> Entry {
        Entry {
            index,
            term,
            time: Timestamp::EPOCH,
            payload: Payload::Noop,
        }
    }

    #[test]
    fn indexing_truncation_and_compaction() {
        let mut log = Log::default();
        for i in 1..=5 {
            log.push(e(i, if i < 3 { 1 } else { 2 }));
        }
        assert_eq!((log.last_index(), log.last_term()), (5, 2));
        assert_eq!(log.term_at(2), Some(1));
        assert_eq!(log.term_at(0), Some(0));
        assert_eq!(log.slice(4, 10).len(), 2);
        log.truncate_from(4);
        assert_eq!(log.last_index(), 3);
        log.compact(2, 1);
        assert_eq!(
            (log.base_index(), log.term_at(2), log.get(2)),
            (2, Some(1), None)
        );
        assert_eq!(log.get(3).map(|x| x.term), Some(2));
        assert_eq!(log.slice(1, 10).len(), 1, "slices start after the snapshot");
        assert!(log.is_up_to_date(3, 2));
        assert!(log.is_up_to_date(1, 3));
        assert!(!log.is_up_to_date(9, 1));
    }

    #[test]
    #[should_panic(expected = "append out of order")]
    fn gaps_are_refused() {
        let mut log = Log::default();
        log.push(e(2, 1));
    }
}
