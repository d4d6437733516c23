//! Services: each public function is one thing a user of the help desk does.
//! They check permissions and rules (from `domain`), run the store functions in
//! one transaction, and return views. HTTP handlers only parse and call these.

pub mod auth;
pub mod call_forms;
pub mod catalogue;
pub mod contacts;
pub mod housekeeping;
pub mod lookup;
pub mod registry;
pub mod service_points;
pub mod sla;
pub mod stats;
pub mod supervisor;
pub mod tickets;
pub mod views;

use std::sync::Arc;

use chrono_tz::Tz;

use crate::clock::Clock;
use crate::config::Config;
use crate::domain::access::Actor;
use crate::store::Db;

/// A field that may be absent (`None`: unchanged), `null` (`Some(None)`:
/// cleared) or a value.
pub(crate) fn nullable<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// Everything a request needs: the database, the clock and the configuration.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    pub templates: Arc<crate::channels::email::templates::Templates>,
    pub public_limiter: Arc<crate::channels::web::limiter::PublicLimiter>,
    /// Bearer tokens recently found valid.
    pub tokens: Arc<auth::TokenCache>,
}

/// The signed-in staff member making a request.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub actor: Actor,
    pub name: String,
    pub email: String,
    pub tz: Tz,
    pub token_id: i64,
}

/// Trims a required text field, refusing it when empty or too long.
pub fn required_text(
    field: &str,
    value: &str,
    max_chars: usize,
) -> crate::error::AppResult<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(crate::error::AppError::invalid(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if v.chars().count() > max_chars {
        return Err(crate::error::AppError::invalid(
            field,
            format!("{field} is longer than {max_chars} characters"),
        ));
    }
    Ok(v.to_string())
}

/// Trims an optional text field, refusing it when too long.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max_chars: usize,
) -> crate::error::AppResult<String> {
    let v = value.unwrap_or("").trim();
    if v.chars().count() > max_chars {
        return Err(crate::error::AppError::invalid(
            field,
            format!("{field} is longer than {max_chars} characters"),
        ));
    }
    Ok(v.to_string())
}
