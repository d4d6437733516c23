//! The e-mail channel: monitored mailboxes, the mailgate and imports all feed
//! one ingestion path that journals every message raw, recognises robots and
//! bounces, threads replies to their tickets and opens new ones through intake.

pub mod delegation;
pub mod imap;
pub mod import;
pub mod ingest;
pub mod mailboxes;
pub mod outbound;
pub mod parse;
pub mod review;
pub mod sender;
pub mod templates;
