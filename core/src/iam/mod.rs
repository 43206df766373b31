//! Identity and access management: who a caller is, and what it may do (promise G7).
//!
//! A request reaches IAM as a set of identity URNs, an [`Action`] and a resource URN:
//!
//! 1. **Authentication** maps the connection to a [`Credential`]: the SHA-256 of its client
//!    certificate, or the credential id and secret of a bearer [`Token`]. A credential binds
//!    exactly one such proof to a list of identity URNs ([`IdentityUrn`]) that the domain's
//!    administrators attached server-side; nothing the caller sends chooses its identities.
//!    Cairn stores digests only, so the log, snapshots and backups that replicate
//!    credentials hold nothing that can authenticate.
//! 2. **Authorization** is [`evaluate`], a pure function of the domain's [`Policy`]s.
//!
//! The evaluator denies by default: a request is allowed only when a statement says so. A
//! forgotten policy then fails closed (someone asks for access) rather than open (someone's
//! keys are used by a stranger), and a new action added to Cairn is granted to nobody until
//! a policy names it.
//!
//! An explicit deny wins over every allow, wherever the two sit. Policies are written by
//! different people at different times; a deny ("nobody deletes keys", "this leaked
//! credential gets nothing") must hold however broad an allow someone adds later, and must not
//! depend on the order policies happen to be stored in. Only the *name* of the deciding
//! policy, reported in the audit log, depends on order, which callers keep deterministic by
//! passing policies sorted by id.
//!
//! Everything here is deterministic and sans-IO: time and randomness are arguments.

pub mod action;
pub mod credential;
pub mod decision;
pub mod pattern;
pub mod policy;
pub mod text;
pub mod urn;

pub use action::{Action, UnknownAction};
pub use credential::{Binding, Credential, SecretToken, Token, TokenSecret};
pub use decision::{Decision, Denial, evaluate};
pub use pattern::Pattern;
pub use policy::{Effect, Policy, PolicySpec, Statement};
pub use text::InvalidText;
pub use urn::{IdentityUrn, Region, ResourceUrn};
