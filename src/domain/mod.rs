//! The help desk's rules as plain Rust: no I/O, no database, no clock.
//! Everything here is unit-tested in place; services and the store build on it.

pub mod access;
pub mod calendar;
pub mod callback;
pub mod contact;
pub mod escalation;
pub mod feed;
pub mod forms;
pub mod housekeeping;
pub mod kinds;
pub mod mail;
pub mod number;
pub mod phone;
pub mod presence;
pub mod search;
pub mod sla;
pub mod stats;
pub mod supervisor;
pub mod workflow;

pub use kinds::{ArticleKind, CallOutcome, Channel, EventKind, Priority, QueueLevel, Role};
pub use workflow::TicketState;
