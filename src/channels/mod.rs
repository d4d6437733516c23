//! Channels: the ways requests reach the help desk. Each turns what arrives
//! into calls to `intake`; the staff API lives in `api`.

pub mod email;
pub mod phone;
pub mod web;
