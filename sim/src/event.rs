//! The event queue: everything that will happen, in order of simulated time.
//!
//! Ties are broken by insertion order (a sequence number), never by the content of events,
//! so the order of a run depends only on the seed and on the order in which the simulator
//! schedules things, which is itself deterministic.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Arc;

use cairn_core::replication::NodeId;

use crate::backup::StoreRequest;
use crate::clock::Micros;
use crate::fault::Fault;
use crate::history::{OpId, OpResult};

/// Something that happens at an instant.
#[derive(Debug)]
pub(crate) enum Event {
    /// A message reaches `to`.
    Deliver {
        from: NodeId,
        to: NodeId,
        bytes: Arc<Vec<u8>>,
    },
    /// A node's timer, armed from `poll_timeout` (stale unless `gen` is the host's latest).
    Wakeup { node: NodeId, generation: u64 },
    /// The fsync a node's disk started completes (stale after a crash).
    FsyncDone { node: NodeId, incarnation: u32 },
    /// A client has thought enough and issues its next operation.
    ClientWake { client: usize },
    /// A client's request reaches its node.
    ClientArrive { op: OpId },
    /// A node has processed a query (encrypt/decrypt) and runs it on its store.
    QueryRun { op: OpId, incarnation: u32 },
    /// An answer reaches its client.
    ClientReceive { op: OpId, result: Box<OpResult> },
    /// A client gives up waiting.
    ClientTimeout { op: OpId },
    /// A scheduled fault.
    Fault(Box<Fault>),
    /// The backup schedule's timer (stale unless `generation` is the host's latest).
    BackupWakeup { node: NodeId, generation: u64 },
    /// A request to a backup region's object store completes.
    StoreDone(Box<StoreRequest>),
}

impl Event {
    /// A short name, for traces and counters.
    pub(crate) fn kind(&self) -> u8 {
        match self {
            Event::Deliver { .. } => 1,
            Event::Wakeup { .. } => 2,
            Event::FsyncDone { .. } => 3,
            Event::ClientWake { .. } => 4,
            Event::ClientArrive { .. } => 5,
            Event::QueryRun { .. } => 6,
            Event::ClientReceive { .. } => 7,
            Event::ClientTimeout { .. } => 8,
            Event::Fault(_) => 9,
            Event::BackupWakeup { .. } => 10,
            Event::StoreDone(_) => 11,
        }
    }
}

#[derive(Debug)]
struct Scheduled {
    at: Micros,
    seq: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    /// Reversed: the heap's maximum is the earliest event.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A min-heap of events by (time, insertion order).
#[derive(Debug, Default)]
pub(crate) struct EventQueue {
    heap: BinaryHeap<Scheduled>,
    seq: u64,
}

impl EventQueue {
    pub(crate) fn push(&mut self, at: Micros, event: Event) {
        self.seq += 1;
        self.heap.push(Scheduled {
            at,
            seq: self.seq,
            event,
        });
    }

    /// The time of the next event.
    pub(crate) fn peek_time(&self) -> Option<Micros> {
        self.heap.peek().map(|s| s.at)
    }

    pub(crate) fn pop(&mut self) -> Option<(Micros, Event)> {
        self.heap.pop().map(|s| (s.at, s.event))
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_then_insertion_order() {
        let mut q = EventQueue::default();
        q.push(5, Event::ClientWake { client: 1 });
        q.push(3, Event::ClientWake { client: 2 });
        q.push(5, Event::ClientWake { client: 3 });
        q.push(3, Event::ClientWake { client: 4 });
        let order: Vec<usize> = std::iter::from_fn(|| q.pop())
            .map(|(_, e)| match e {
                Event::ClientWake { client } => client,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(order, [2, 4, 1, 3]);
    }
}
