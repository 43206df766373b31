//! What the backup schedule has to look at, so that an event costs in proportion to the work
//! it brings and not to the month of objects held.
//!
//! A region holds ~8 640 objects at steady state (30 days of 5-minute backups), and nearly all
//! of them are settled: stored everywhere, waiting only to expire. The schedule used to walk
//! all of them after every answer from a store; it now keeps two derived indexes, rebuilt from
//! the saved state on start and updated at every change of an object's copies.

use std::collections::BTreeSet;

use crate::backup::schedule::{Copy, ObjectState};
use crate::time::Timestamp;

/// An object's place in the schedule's list, which is kept sorted by it.
pub(crate) type ObjectKey = (u64, u64);

pub(crate) fn key_of(o: &ObjectState) -> ObjectKey {
    (o.entry.header.generation, o.entry.header.seq)
}

/// Whether a copy waits for, or is in, a transfer (an upload or a deletion).
pub(crate) fn unsettled(c: &Copy) -> bool {
    matches!(
        c,
        Copy::Pending { .. }
            | Copy::Uploading { .. }
            | Copy::Deleting { .. }
            | Copy::DeleteInFlight { .. }
    )
}

/// Whether expiry changes a copy (an upload in flight is looked at again when it lands).
pub(crate) fn expiring(c: &Copy) -> bool {
    matches!(c, Copy::Stored | Copy::Pending { .. })
}

#[derive(Debug, Default)]
pub(crate) struct Agenda {
    /// Objects with an unsettled copy.
    unsettled: BTreeSet<ObjectKey>,
    /// Objects that had an expiring copy when noted, by a lower bound of their expiry. Entries
    /// are not removed when an object stops expiring: the schedule drops them when they come
    /// due (at most one early wakeup each).
    expiries: BTreeSet<(Timestamp, ObjectKey)>,
}

impl Agenda {
    /// Records `o` after its copies changed; `expires` is a lower bound of its expiry.
    pub(crate) fn note(&mut self, o: &ObjectState, expires: Timestamp) {
        let key = key_of(o);
        if o.copies.iter().any(unsettled) {
            self.unsettled.insert(key);
        } else {
            self.unsettled.remove(&key);
        }
        if o.copies.iter().any(expiring) {
            self.expiries.insert((expires, key));
        }
    }

    /// `key` left the schedule's list.
    pub(crate) fn forget(&mut self, key: ObjectKey) {
        self.unsettled.remove(&key);
    }

    /// Records that `key` expires at `expires` (later than thought).
    pub(crate) fn defer(&mut self, key: ObjectKey, expires: Timestamp) {
        self.expiries.insert((expires, key));
    }

    pub(crate) fn unsettled(&self) -> impl Iterator<Item = ObjectKey> + '_ {
        self.unsettled.iter().copied()
    }

    /// The earliest expiry recorded (possibly of an object that no longer expires).
    pub(crate) fn first_expiry(&self) -> Option<Timestamp> {
        self.expiries.first().map(|(t, _)| *t)
    }

    /// The next object recorded as expiring at or before `now`, taken off the agenda.
    pub(crate) fn pop_due(&mut self, now: Timestamp) -> Option<ObjectKey> {
        let (t, _) = self.expiries.first()?;
        if *t > now {
            return None;
        }
        self.expiries.pop_first().map(|(_, key)| key)
    }
}
