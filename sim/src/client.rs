//! The client side of a run: invoking operations, their arrival at a node, preparation and
//! proposal of writes, queries on the node's store, barriers, answers and timeouts.
//!
//! A write is prepared on the node it reaches (`store().prepare_*` with the host's RNG) and
//! proposed with `Input::Propose`; its answer is the node's `Output::Reply`. A query runs
//! on the node's store after a small processing delay. When either finds no such key or
//! domain, the node first runs a barrier (`Input::Barrier`) and the operation is retried
//! once after `BarrierDone` — a node must not say "not found" merely because it is behind.
//! Answers travel back to the client with a client latency; a client that hears nothing
//! gives up at its timeout.

use cairn_core::b64;
use cairn_core::error::Error;
use cairn_core::key::jwk::Jwk;
use cairn_core::key::spec::{KeySpec, KeyType};
use cairn_core::replication::{Index, Input, Role};
use cairn_core::store::Outcome;
use cairn_core::store::{Command, KeyStore};
use cairn_core::{CryptoRng, Timestamp, api::CreateImportServiceKeyRequest};

use crate::event::Event;
use crate::history::{Ack, OpId, OpKind, OpResult};
use crate::sim::Sim;
use crate::workload::Targets;

impl Sim {
    /// A client's think time is over: it picks an operation and a node and sends it.
    pub(crate) fn on_client_wake(&mut self, c: usize) {
        let client = &mut self.workload.clients[c];
        client.scheduled = false;
        if client.outstanding.is_some() || self.workload.is_stopped() {
            return;
        }
        let primary = &self.cluster.primary_region;
        let targets: Vec<usize> = self
            .hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| h.is_up())
            .filter(|(_, h)| match self.workload.config().targets {
                Targets::AnyNode => true,
                Targets::PrimaryRegion => h.info.region == *primary,
            })
            .map(|(i, _)| i)
            .collect();
        let Some(&i) = self.rng.pick(&targets) else {
            self.schedule_client(c);
            return;
        };
        let Some(kind) = self.workload.next_op(&mut self.rng) else {
            self.schedule_client(c);
            return;
        };
        let op = self
            .history
            .invoke(c, self.hosts[i].info.id, kind, self.now);
        self.workload.clients[c].outstanding = Some(op);
        self.stats.ops_invoked += 1;
        let latency = self.rng.micros_between(self.workload.config().latency);
        let timeout = crate::rng::micros(self.workload.config().timeout);
        self.queue
            .push(self.now + latency, Event::ClientArrive { op });
        self.queue
            .push(self.now + timeout, Event::ClientTimeout { op });
    }

    pub(crate) fn schedule_client(&mut self, c: usize) {
        if self.workload.is_stopped() || self.workload.clients[c].scheduled {
            return;
        }
        self.workload.clients[c].scheduled = true;
        let think = self.rng.micros_between(self.workload.config().think);
        self.queue
            .push(self.now + think, Event::ClientWake { client: c });
    }

    /// A request reaches its node.
    pub(crate) fn on_client_arrive(&mut self, op: OpId) {
        let o = self.history.get(op);
        if o.answered {
            return;
        }
        let i = usize::from(o.node.0);
        if !self.hosts[i].is_up() {
            self.respond(op, OpResult::NodeDown);
            return;
        }
        if o.kind.is_write() {
            self.attempt_write(i, op);
            self.drain(i);
        } else {
            let delay = self.rng.micros_between(self.workload.config().processing);
            let incarnation = self.hosts[i].incarnation;
            self.queue
                .push(self.now + delay, Event::QueryRun { op, incarnation });
        }
    }

    /// The node has processed a query: run it (if the node did not restart meanwhile).
    pub(crate) fn on_query_run(&mut self, op: OpId, incarnation: u32) {
        let o = self.history.get(op);
        let i = usize::from(o.node.0);
        if o.answered || self.hosts[i].incarnation != incarnation {
            return;
        }
        self.attempt_query(i, op);
        self.drain(i);
    }

    /// Prepares a write on node `i` and proposes it (or starts a barrier, or refuses).
    fn attempt_write(&mut self, i: usize, op: OpId) {
        let local = self.local_now(i);
        let o = self.history.get(op);
        let barrier_done = o.barrier;
        let host = &mut self.hosts[i];
        let Some(node) = host.node.as_ref() else {
            return;
        };
        match prepare(node.store(), &o.kind, op, local, &mut host.rng) {
            Err(e) if is_not_found(&e) && !barrier_done => self.start_barrier(i, op),
            Err(e) => self.respond(op, OpResult::Rejected(e)),
            Ok(command) => {
                let request = self.next_request;
                self.next_request += 1;
                self.hosts[i].writes.insert(request, op);
                self.input(i, Input::Propose { request, command });
            }
        }
    }

    fn attempt_query(&mut self, i: usize, op: OpId) {
        let o = self.history.get(op);
        let host = &mut self.hosts[i];
        let Some(node) = host.node.as_ref() else {
            return;
        };
        match query(node.store(), &o.kind, &mut host.rng) {
            Err(e) if is_not_found(&e) && !o.barrier => self.start_barrier(i, op),
            Err(e) => self.respond(op, OpResult::Rejected(e)),
            Ok(result) => self.respond(op, result),
        }
    }

    fn start_barrier(&mut self, i: usize, op: OpId) {
        self.history.get_mut(op).barrier = true;
        let id = self.next_barrier;
        self.next_barrier += 1;
        self.hosts[i].barriers.insert(id, op);
        self.input(i, Input::Barrier { id });
    }

    /// `Output::BarrierDone`: retry the operation that asked, once.
    pub(crate) fn on_barrier_done(&mut self, i: usize, id: u64) {
        let Some(op) = self.hosts[i].barriers.remove(&id) else {
            return;
        };
        let o = self.history.get(op);
        if o.answered {
            return;
        }
        if o.kind.is_write() {
            self.attempt_write(i, op);
        } else {
            self.attempt_query(i, op);
        }
    }

    /// `Output::Reply`: the answer to a proposed write.
    pub(crate) fn on_reply(
        &mut self,
        i: usize,
        request: u64,
        result: Result<(Index, Outcome), Error>,
    ) {
        let Some(op) = self.hosts[i].writes.remove(&request) else {
            self.stats.unmatched_replies += 1;
            return;
        };
        if self.history.get(op).answered {
            // The client gave up already: its answer was a timeout.
            return;
        }
        let result = match result {
            Ok((index, outcome)) => {
                self.record_ack(i, op, index);
                OpResult::Written { index, outcome }
            }
            Err(e @ Error::Unavailable(_)) => OpResult::Unavailable(e),
            Err(e) => OpResult::Rejected(e),
        };
        self.respond(op, result);
    }

    /// Which voters hold the acknowledged entry on their synced disk, now (G1).
    fn record_ack(&mut self, i: usize, op: OpId, index: Index) {
        let term = self.hosts[i]
            .node
            .as_ref()
            .and_then(|n| n.entry(index))
            .map(|e| e.term);
        let durable_on = self
            .cluster
            .nodes
            .iter()
            .filter(|n| n.role == Role::Voter)
            .filter(|n| self.hosts[usize::from(n.id.0)].disk.holds(index, term))
            .map(|n| n.id)
            .collect();
        let invoked = self.history.get(op).invoked_us;
        let disks_lost = self
            .cluster
            .nodes
            .iter()
            .filter(|n| n.role == Role::Voter)
            .filter(|n| {
                self.hosts[usize::from(n.id.0)]
                    .disk_losses
                    .iter()
                    .any(|t| *t >= invoked)
            })
            .map(|n| n.id)
            .collect();
        let disks_damaged = self
            .cluster
            .nodes
            .iter()
            .filter(|n| n.role == Role::Voter)
            .filter(|n| self.hosts[usize::from(n.id.0)].disk.has_unfound_damage())
            .map(|n| n.id)
            .collect();
        self.history.get_mut(op).ack = Some(Ack {
            at_us: self.now,
            index,
            term,
            durable_on,
            disks_lost,
            disks_damaged,
        });
    }

    /// Sends an answer back to the client (once per operation).
    pub(crate) fn respond(&mut self, op: OpId, result: OpResult) {
        let o = self.history.get_mut(op);
        if o.answered {
            return;
        }
        o.answered = true;
        let latency = self.rng.micros_between(self.workload.config().latency);
        let result = Box::new(result);
        self.queue
            .push(self.now + latency, Event::ClientReceive { op, result });
    }

    pub(crate) fn on_client_receive(&mut self, op: OpId, result: OpResult) {
        if self.history.get(op).result.is_some() {
            self.stats.late_answers += 1;
            return;
        }
        self.complete(op, result);
    }

    pub(crate) fn on_client_timeout(&mut self, op: OpId) {
        let o = self.history.get_mut(op);
        if o.result.is_some() {
            return;
        }
        o.answered = true;
        self.complete(op, OpResult::Timeout);
    }

    fn complete(&mut self, op: OpId, result: OpResult) {
        let o = self.history.get_mut(op);
        o.result = Some(result);
        o.completed_us = Some(self.now);
        let client = o.client;
        self.workload.observe(self.history.get(op));
        self.workload.clients[client].outstanding = None;
        self.stats.ops_completed += 1;
        self.schedule_client(client);
    }
}

fn is_not_found(e: &Error) -> bool {
    matches!(e, Error::KeyNotFound(_) | Error::DomainNotFound(_))
}

/// Turns a write into a command on the node's store.
fn prepare<R: CryptoRng>(
    store: &KeyStore,
    kind: &OpKind,
    op: OpId,
    now: Timestamp,
    rng: &mut R,
) -> Result<Command, Error> {
    let name = format!("k{op}");
    match kind {
        OpKind::CreateDomain { domain } => store.prepare_domain(*domain, rng),
        OpKind::CreateKey { domain, key, spec } => {
            let (kind, size, curve) = match *spec {
                KeySpec::Oct { bits } => (KeyType::Oct, Some(u32::from(bits)), None),
                KeySpec::Rsa { bits } => (KeyType::Rsa, Some(u32::from(bits)), None),
                KeySpec::Ec { curve } => (KeyType::Ec, None, Some(curve)),
            };
            let req = CreateImportServiceKeyRequest {
                id: Some(*key.as_uuid()),
                name,
                kind: Some(kind),
                size,
                curve,
                ..CreateImportServiceKeyRequest::default()
            };
            store.prepare_key(*domain, &req, rng)
        }
        OpKind::ImportKey {
            domain,
            key,
            material,
            ..
        } => {
            let mut jwk = Jwk::bare(KeyType::Oct);
            jwk.k = Some(b64::encode_url(material));
            let req = CreateImportServiceKeyRequest {
                id: Some(*key.as_uuid()),
                name,
                keys: Some(vec![jwk]),
                ..CreateImportServiceKeyRequest::default()
            };
            store.prepare_key(*domain, &req, rng)
        }
        OpKind::Transition {
            domain,
            key,
            transition,
        } => store.prepare_transition(*domain, *key, *transition, now),
        OpKind::Encrypt { .. } | OpKind::Decrypt { .. } => {
            unreachable!("queries are not prepared")
        }
    }
}

/// Runs a query on the node's store.
fn query<R: CryptoRng>(store: &KeyStore, kind: &OpKind, rng: &mut R) -> Result<OpResult, Error> {
    match kind {
        OpKind::Encrypt {
            domain,
            key,
            plaintext,
            context,
        } => store
            .encrypt(*domain, *key, plaintext, context.as_deref(), rng)
            .map(|ciphertext| OpResult::Encrypted { ciphertext }),
        OpKind::Decrypt {
            domain,
            key,
            ciphertext,
            context,
            plaintext,
        } => store
            .decrypt(*domain, *key, ciphertext, context.as_deref())
            .map(|p| OpResult::Decrypted {
                matches: p.as_slice() == plaintext.as_slice(),
            }),
        _ => unreachable!("writes are not queries"),
    }
}
