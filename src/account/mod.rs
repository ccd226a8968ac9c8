//! Account-level knowledge between enrichment and the rules: what loginwatch can
//! say about an account beyond one event, starting with which real account a
//! failed login for an unknown user name was most likely meant for.
//!
//! [`normalize`] holds the pure functions that decide whether a typed login ID is
//! a plausible mistyping of an account name (full-width input, stray spaces,
//! capital letters, look-alike characters, one wrong key) and say which mistakes
//! explain it, so an `unknown_user` attempt can be linked to the account it was
//! aimed at.

pub mod assess;
pub mod facts;
pub mod history;
pub mod normalize;
pub mod registry;

pub use assess::{Basis, assess};
pub use facts::AccountFacts;
pub use history::History;
pub use registry::{Accounts, Link};
