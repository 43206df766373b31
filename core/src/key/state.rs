//! The key lifecycle: OKMS states (after KMIP) and the transitions between them.
//!
//! | from \ to          | activate          | deactivate        | deactivate (key_compromise) | delete                  |
//! |--------------------|-------------------|-------------------|-----------------------------|-------------------------|
//! | pre_active         | active            | deactivated       | compromised                 | destroyed               |
//! | active             | active (no change)| deactivated       | compromised                 | refused                 |
//! | deactivated        | active            | (no change)       | compromised                 | destroyed               |
//! | compromised        | active            | refused           | (no change)                 | destroyed_compromised   |
//! | destroyed          | refused           | refused           | destroyed_compromised       | (no change)             |
//! | destroyed_compr.   | refused           | refused           | (no change)                 | (no change)             |
//!
//! Deactivating a compromised key for another reason is refused rather than done: it would
//! hide the compromise. A destroyed key can still be marked compromised, as KMIP allows, so
//! that its history stays true. Keys are created `active`; `pre_active` exists for listings
//! and for KMIP parity but no Cairn call creates a key in it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// The OKMS key states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    PreActive,
    Active,
    Deactivated,
    Compromised,
    Destroyed,
    DestroyedCompromised,
}

impl KeyState {
    pub const ALL: [KeyState; 6] = [
        KeyState::PreActive,
        KeyState::Active,
        KeyState::Deactivated,
        KeyState::Compromised,
        KeyState::Destroyed,
        KeyState::DestroyedCompromised,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            KeyState::PreActive => "pre_active",
            KeyState::Active => "active",
            KeyState::Deactivated => "deactivated",
            KeyState::Compromised => "compromised",
            KeyState::Destroyed => "destroyed",
            KeyState::DestroyedCompromised => "destroyed_compromised",
        }
    }

    /// Whether the key's material still exists.
    pub const fn is_destroyed(self) -> bool {
        matches!(self, KeyState::Destroyed | KeyState::DestroyedCompromised)
    }

    /// Whether a key in this state may be used for `usage`.
    ///
    /// Protecting (encrypt, sign, new data keys) needs an active key. Processing (decrypt,
    /// verify, opening data keys) also works on deactivated and compromised keys, as KMIP
    /// allows: the owner must be able to read back what was protected in order to move it
    /// to a new key.
    pub const fn allows(self, usage: Usage) -> bool {
        match usage {
            Usage::Protect => matches!(self, KeyState::Active),
            Usage::Process => matches!(
                self,
                KeyState::Active | KeyState::Deactivated | KeyState::Compromised
            ),
        }
    }
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The two kinds of use a state can allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    Protect,
    Process,
}

/// The `state` filter of a listing: one state, or `all`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateFilter {
    PreActive,
    Active,
    Deactivated,
    Compromised,
    Destroyed,
    DestroyedCompromised,
    All,
}

impl StateFilter {
    pub fn matches(self, state: KeyState) -> bool {
        match self {
            StateFilter::PreActive => state == KeyState::PreActive,
            StateFilter::Active => state == KeyState::Active,
            StateFilter::Deactivated => state == KeyState::Deactivated,
            StateFilter::Compromised => state == KeyState::Compromised,
            StateFilter::Destroyed => state == KeyState::Destroyed,
            StateFilter::DestroyedCompromised => state == KeyState::DestroyedCompromised,
            StateFilter::All => true,
        }
    }
}

/// The OKMS revocation reasons (`reason` of a deactivation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    Unspecified,
    KeyCompromise,
    CaCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
    PrivilegeWithdrawn,
}

/// A change of lifecycle a caller asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transition {
    Activate,
    Deactivate(RevocationReason),
    Destroy,
}

impl Transition {
    pub const fn name(self) -> &'static str {
        match self {
            Transition::Activate => "activate",
            Transition::Deactivate(_) => "deactivate",
            Transition::Destroy => "delete",
        }
    }
}

/// Why a transition was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// An active key must be deactivated before it can be deleted.
    DeleteActive,
    /// Deactivating a compromised key for another reason would hide the compromise.
    HideCompromise,
    /// The key is destroyed: it can only be marked compromised.
    Destroyed,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::DeleteActive => "an active key must be deactivated before it is deleted",
            Refusal::HideCompromise => {
                "the key is compromised; deactivating it for another reason would hide that"
            }
            Refusal::Destroyed => "the key is destroyed",
        })
    }
}

/// A key's state with the dates OKMS shows in `attributes`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub state: KeyState,
    pub created: Timestamp,
    pub activated: Option<Timestamp>,
    pub deactivated: Option<Timestamp>,
    pub compromised: Option<Timestamp>,
    pub destroyed: Option<Timestamp>,
}

impl Lifecycle {
    /// A key created at `now`: active from that moment.
    pub fn created(now: Timestamp) -> Self {
        Lifecycle {
            state: KeyState::Active,
            created: now,
            activated: Some(now),
            deactivated: None,
            compromised: None,
            destroyed: None,
        }
    }

    /// The lifecycle after `t` at `now`, following the table of this module.
    pub fn after(&self, t: Transition, now: Timestamp) -> Result<Lifecycle, Refusal> {
        use KeyState::*;
        let mut next = self.clone();
        match (self.state, t) {
            (Active, Transition::Activate) => {}
            (PreActive | Deactivated | Compromised, Transition::Activate) => {
                next.state = Active;
                next.activated = Some(now);
                next.deactivated = None;
                next.compromised = None;
            }
            (Destroyed | DestroyedCompromised, Transition::Activate) => {
                return Err(Refusal::Destroyed);
            }

            (
                PreActive | Active | Deactivated,
                Transition::Deactivate(RevocationReason::KeyCompromise),
            ) => {
                next.state = Compromised;
                next.deactivated.get_or_insert(now);
                next.compromised = Some(now);
            }
            (
                Compromised | DestroyedCompromised,
                Transition::Deactivate(RevocationReason::KeyCompromise),
            ) => {}
            (Destroyed, Transition::Deactivate(RevocationReason::KeyCompromise)) => {
                next.state = DestroyedCompromised;
                next.compromised = Some(now);
            }
            (PreActive | Active, Transition::Deactivate(_)) => {
                next.state = Deactivated;
                next.deactivated = Some(now);
            }
            (Deactivated, Transition::Deactivate(_)) => {}
            (Compromised, Transition::Deactivate(_)) => return Err(Refusal::HideCompromise),
            (Destroyed | DestroyedCompromised, Transition::Deactivate(_)) => {
                return Err(Refusal::Destroyed);
            }

            (Active, Transition::Destroy) => return Err(Refusal::DeleteActive),
            (PreActive | Deactivated, Transition::Destroy) => {
                next.state = Destroyed;
                next.destroyed = Some(now);
            }
            (Compromised, Transition::Destroy) => {
                next.state = DestroyedCompromised;
                next.destroyed = Some(now);
            }
            // Deleting twice is not an error: a retried DELETE must not fail.
            (Destroyed | DestroyedCompromised, Transition::Destroy) => {}
        }
        debug_assert!(next.is_consistent(), "{self:?} --{t:?}--> {next:?}");
        Ok(next)
    }

    /// The invariants every reachable lifecycle keeps; the property tests check them.
    pub fn is_consistent(&self) -> bool {
        use KeyState::*;
        let compromised_ok =
            matches!(self.state, Compromised | DestroyedCompromised) == self.compromised.is_some();
        let destroyed_ok = self.state.is_destroyed() == self.destroyed.is_some();
        let active_ok =
            self.state != Active || (self.activated.is_some() && self.deactivated.is_none());
        let deactivated_ok =
            !matches!(self.state, Deactivated | Compromised) || self.deactivated.is_some();
        compromised_ok && destroyed_ok && active_ok && deactivated_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use KeyState::*;
    use RevocationReason::*;

    fn at(s: u64) -> Timestamp {
        Timestamp::from_millis(s * 1000)
    }

    #[test]
    fn okms_lifecycle() {
        let created = Lifecycle::created(at(1));
        assert_eq!(created.state, Active);
        assert_eq!(
            created.after(Transition::Activate, at(2)),
            Ok(created.clone())
        );
        assert_eq!(
            created.after(Transition::Destroy, at(2)),
            Err(Refusal::DeleteActive)
        );

        let deactivated = created
            .after(Transition::Deactivate(Superseded), at(3))
            .unwrap();
        assert_eq!(deactivated.state, Deactivated);
        assert_eq!(deactivated.deactivated, Some(at(3)));

        let compromised = deactivated
            .after(Transition::Deactivate(KeyCompromise), at(4))
            .unwrap();
        assert_eq!(compromised.state, Compromised);
        assert_eq!(compromised.compromised, Some(at(4)));
        assert_eq!(compromised.deactivated, Some(at(3)));
        assert_eq!(
            compromised.after(Transition::Deactivate(Unspecified), at(5)),
            Err(Refusal::HideCompromise)
        );

        let reactivated = compromised.after(Transition::Activate, at(6)).unwrap();
        assert_eq!(reactivated.state, Active);
        assert_eq!(reactivated.compromised, None);
        assert_eq!(reactivated.activated, Some(at(6)));

        let destroyed = deactivated.after(Transition::Destroy, at(7)).unwrap();
        assert_eq!(destroyed.state, Destroyed);
        assert_eq!(
            destroyed.after(Transition::Destroy, at(8)),
            Ok(destroyed.clone())
        );
        assert_eq!(
            destroyed.after(Transition::Activate, at(8)),
            Err(Refusal::Destroyed)
        );
        let marked = destroyed
            .after(Transition::Deactivate(KeyCompromise), at(9))
            .unwrap();
        assert_eq!(marked.state, DestroyedCompromised);

        let dc = compromised.after(Transition::Destroy, at(10)).unwrap();
        assert_eq!(dc.state, DestroyedCompromised);
    }

    #[test]
    fn usage_by_state() {
        assert!(Active.allows(Usage::Protect));
        for s in [
            PreActive,
            Deactivated,
            Compromised,
            Destroyed,
            DestroyedCompromised,
        ] {
            assert!(!s.allows(Usage::Protect), "{s}");
        }
        for s in [Active, Deactivated, Compromised] {
            assert!(s.allows(Usage::Process), "{s}");
        }
        for s in [PreActive, Destroyed, DestroyedCompromised] {
            assert!(!s.allows(Usage::Process), "{s}");
        }
    }
}
