//! Sportello: an omnichannel help-desk ticketing backend.
//!
//! Data flows one way: channels (staff API today) → [`intake`] → [`domain`]
//! rules → [`store`] (SQLite or PostgreSQL). HTTP handlers in [`api`] are thin
//! and call [`service`] functions, which call the domain and the store.

pub mod api;
pub mod channels;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod intake;
pub mod jobs;
pub mod server;
pub mod service;
pub mod store;
