//! The citizen's channel: the public request form (HTML, served by Sportello),
//! the same as a JSON API for portals, private tracking, follow-up messages,
//! callback requests and the satisfaction rating.

pub mod i18n;
pub mod limiter;
pub mod pages;
pub mod service;
