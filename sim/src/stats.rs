//! Counters of a run, for reports and for tests that check a fault really happened.

use std::collections::BTreeMap;

/// What happened during a run, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events taken off the queue (stale timers included).
    pub events: u64,
    pub messages_sent: u64,
    pub message_bytes: u64,
    pub messages_delivered: u64,
    /// Lost by a link fault.
    pub dropped_loss: u64,
    /// Dropped by a partition (at send or in flight).
    pub dropped_cut: u64,
    /// Arrived at a node that was down.
    pub dropped_down: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
    /// Messages that failed to decode at delivery (never expected).
    pub undecodable: u64,
    /// `handle_timeout` calls.
    pub timeouts: u64,
    pub fsyncs: u64,
    pub ops_invoked: u64,
    pub ops_completed: u64,
    /// Answers that reached a client after it had given up.
    pub late_answers: u64,
    /// Replies for requests the host no longer tracked.
    pub unmatched_replies: u64,
    /// Faults applied, by [`Fault::kind`](crate::Fault::kind).
    pub faults: BTreeMap<&'static str, u64>,
    /// Faults that found nothing to do (crashing a node that is down, …).
    pub faults_without_effect: u64,
}
