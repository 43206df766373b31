//! Rebuilding from the remote replica, and what a region that was only cut off must report
//! when it comes back (DESIGN §6, promises G4 and split-brain safety).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::backup::restore::{RestoreError, Restored, apply, last_term};
use crate::ids::{DomainId, KeyId};
use crate::replication::io::Recovered;
use crate::replication::log::{Entry, Index, Payload, Term};
use crate::replication::snapshot::Snapshot;
use crate::store::{Command, State};
use crate::time::Timestamp;

/// Rebuilds the state from what the replica has on disk: its snapshot and every entry of its
/// log after it (all of them came from the old leader; the last few may never have been
/// acknowledged, which a recovery may resurrect but never invents).
pub fn from_replica(
    recovered: &Recovered,
    config_of_snapshot: &crate::replication::ClusterConfig,
) -> Result<Restored, RestoreError> {
    let (mut state, base, base_term, config) = match &recovered.snapshot {
        Some(s) => (
            State::decode(&s.data).map_err(|e| RestoreError::State(e.to_string()))?,
            s.index,
            s.term,
            s.config.clone(),
        ),
        None => (State::new(), 0, 0, config_of_snapshot.clone()),
    };
    let mut time = Timestamp::EPOCH;
    let mut index = base;
    for entry in &recovered.entries {
        if entry.index != index + 1 {
            return Err(RestoreError::Gap {
                from: index + 1,
                to: entry.index.saturating_sub(1),
            });
        }
        apply(&mut state, entry);
        index = entry.index;
        time = entry.time;
    }
    let term = last_term(&recovered.entries, base_term);
    Ok(Restored {
        snapshot: Snapshot {
            index,
            term,
            config,
            data: Arc::new(state.encode()),
        },
        index,
        time,
        objects: Vec::new(),
    })
}

/// A write the old region acknowledged (or at least logged) after the point a recovery
/// restored to: it exists only in the old region. It is reported, never merged or dropped
/// silently.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Orphan {
    pub index: Index,
    pub term: Term,
    pub time: Timestamp,
    pub domain: DomainId,
    /// What it did, in words (`create key …`, `delete key …`).
    pub what: String,
    pub key: Option<KeyId>,
    /// The command itself (sealed material only), for an operator to export and replay.
    pub command: Command,
}

/// The writes of `old_log` (the log of a region that was cut off and came back) that are not
/// part of a recovery that restored up to `restored`, and whether the two histories diverge
/// before that point (which a correct system never shows: it is reported, not hidden).
pub fn orphans(
    old_log: &[Entry],
    restored: Index,
    restored_term_at: impl Fn(Index) -> Option<Term>,
) -> (Vec<Orphan>, Option<Index>) {
    let divergence = old_log
        .iter()
        .filter(|e| e.index <= restored)
        .find(|e| restored_term_at(e.index).is_some_and(|t| t != e.term))
        .map(|e| e.index);
    let orphans = old_log
        .iter()
        .filter(|e| e.index > restored || divergence.is_some_and(|d| e.index >= d))
        .filter_map(|e| match &e.payload {
            Payload::Command { command, .. } => {
                let (what, key) = describe(command);
                Some(Orphan {
                    index: e.index,
                    term: e.term,
                    time: e.time,
                    domain: command.domain(),
                    what,
                    key,
                    command: command.clone(),
                })
            }
            Payload::Noop => None,
        })
        .collect();
    (orphans, divergence)
}

fn describe(command: &Command) -> (String, Option<KeyId>) {
    match command {
        Command::CreateDomain { id, .. } => (format!("create domain {id}"), None),
        Command::CreateKey(k) => (
            format!("create key {} ({}, {:?})", k.id, k.spec, k.origin),
            Some(k.id),
        ),
        Command::RenameKey { key, name, .. } => {
            (format!("rename key {key} to {name:?}"), Some(*key))
        }
        Command::Transition {
            key, transition, ..
        } => (format!("{} key {key}", transition.name()), Some(*key)),
        Command::CreateCredential { credential, .. } => {
            (format!("create credential {}", credential.id), None)
        }
        Command::RevokeCredential { credential, .. } => {
            (format!("revoke credential {credential}"), None)
        }
        Command::PutPolicy { policy, .. } => (format!("put policy {}", policy.id), None),
        Command::DeletePolicy { policy, .. } => (format!("delete policy {policy}"), None),
    }
}
