//! The staff API, end to end through the real actix app, on SQLite and (when
//! SPORTELLO_TEST_DATABASE_URL is set) on PostgreSQL.

mod harness;
mod mailserver;

mod bad_input;
mod browser;
mod callbacks;
mod catalogue;
mod contacts;
mod delegation;
mod email;
mod escalation;
mod forms;
mod housekeeping;
mod imap;
mod instances;
mod intake;
mod openapi;
mod outbox;
mod pages;
mod permissions;
mod phone;
mod public;
mod registry;
mod search;
mod sla;
mod supervisor;
mod transitions;
mod workflow;
