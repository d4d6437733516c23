//! Service-level policies: validation (every field in error named at once),
//! admin-only changes, and recomputing the live clocks of a changed policy.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{matcher, retarget};
use crate::domain::Priority;
use crate::error::{is_unique_violation, AppError, AppResult};
use crate::service::views::local;
use crate::service::{nullable, App, Viewer};
use crate::store::sla::{self as store, PolicyRow};
use crate::store::{catalogue, tickets, DbConn};

/// A service-level policy as created (`POST`) or changed (`PATCH`: only the
/// fields given; `null` clears a matcher or a target).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    pub name: Option<String>,
    /// Matches tickets of this queue (null: any queue).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub queue_id: Option<Option<i64>>,
    /// Matches tickets of this priority (null: any).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<Option<Priority>>,
    /// Matches tickets of this topic (null: any).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub topic_id: Option<Option<i64>>,
    /// Business minutes to the first public answer (null: no target).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>)]
    pub first_response_minutes: Option<Option<i32>>,
    /// Business minutes from each customer message to the next answer.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>)]
    pub next_response_minutes: Option<Option<i32>>,
    /// Business minutes to resolution.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>)]
    pub resolution_minutes: Option<Option<i32>>,
    /// Percent of a target after which a clock is at risk (1–100, default 80).
    pub warning_percent: Option<i32>,
    /// Inactive policies are not chosen for new clocks (default true).
    pub active: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    pub id: i64,
    pub name: String,
    pub queue_id: Option<i64>,
    pub priority: Option<Priority>,
    pub topic_id: Option<i64>,
    pub first_response_minutes: Option<i32>,
    pub next_response_minutes: Option<i32>,
    pub resolution_minutes: Option<i32>,
    pub warning_percent: i32,
    pub active: bool,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

fn policy_view(r: PolicyRow, tz: chrono_tz::Tz) -> PolicyView {
    PolicyView {
        id: r.id,
        name: r.name,
        queue_id: r.queue_id,
        priority: r.priority.and_then(Priority::from_rank),
        topic_id: r.topic_id,
        first_response_minutes: r.first_response_minutes,
        next_response_minutes: r.next_response_minutes,
        resolution_minutes: r.resolution_minutes,
        warning_percent: r.warning_percent,
        active: r.active,
        created_at: local(r.created_at, tz),
        updated_at: local(r.updated_at, tz),
    }
}

/// Targets are at most a business year (250 days of 24 hours).
const MAX_TARGET_MINUTES: i32 = 250 * 24 * 60;

/// Applies an input to a policy row, naming every field in error at once.
fn apply_input(c: &mut DbConn, row: &mut PolicyRow, input: &PolicyInput) -> AppResult<()> {
    let mut errors: Vec<(String, String)> = Vec::new();
    if let Some(name) = &input.name {
        let name = name.trim();
        if name.is_empty() {
            errors.push(("name".into(), "required".into()));
        } else if name.chars().count() > 200 {
            errors.push(("name".into(), "too_long".into()));
        }
        row.name = name.to_string();
    }
    if let Some(q) = input.queue_id {
        if let Some(id) = q {
            if catalogue::queue(c, id)?.is_none() {
                errors.push(("queue_id".into(), "not_found".into()));
            }
        }
        row.queue_id = q;
    }
    if let Some(p) = input.priority {
        row.priority = p.map(Priority::rank);
    }
    if let Some(t) = input.topic_id {
        if let Some(id) = t {
            if catalogue::topic(c, id)?.is_none() {
                errors.push(("topic_id".into(), "not_found".into()));
            }
        }
        row.topic_id = t;
    }
    for (field, value, slot) in [
        (
            "first_response_minutes",
            input.first_response_minutes,
            &mut row.first_response_minutes,
        ),
        (
            "next_response_minutes",
            input.next_response_minutes,
            &mut row.next_response_minutes,
        ),
        (
            "resolution_minutes",
            input.resolution_minutes,
            &mut row.resolution_minutes,
        ),
    ] {
        if let Some(v) = value {
            match v {
                Some(m) if m < 1 => errors.push((field.into(), "below_min".into())),
                Some(m) if m > MAX_TARGET_MINUTES => {
                    errors.push((field.into(), "above_max".into()))
                }
                _ => {}
            }
            *slot = v;
        }
    }
    if let Some(w) = input.warning_percent {
        if w < 1 {
            errors.push(("warning_percent".into(), "below_min".into()));
        } else if w > 100 {
            errors.push(("warning_percent".into(), "above_max".into()));
        }
        row.warning_percent = w;
    }
    if let Some(a) = input.active {
        row.active = a;
    }
    if row.name.is_empty() && !errors.iter().any(|(f, _)| f == "name") {
        errors.push(("name".into(), "required".into()));
    }
    if errors.is_empty()
        && row.first_response_minutes.is_none()
        && row.next_response_minutes.is_none()
        && row.resolution_minutes.is_none()
    {
        errors.push(("resolution_minutes".into(), "no_target".into()));
    }
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    Ok(())
}

/// Two active policies matching exactly the same tickets would make the choice arbitrary.
fn check_unique_match(c: &mut DbConn, row: &PolicyRow) -> AppResult<()> {
    if !row.active {
        return Ok(());
    }
    if let Some(other) = store::active_policies(c)?
        .into_iter()
        .find(|p| p.id != row.id && matcher(p) == matcher(row))
    {
        return Err(AppError::conflict(
            "policy-exists",
            format!(
                "the active policy '{}' already matches the same queue, priority and topic",
                other.name
            ),
        ));
    }
    Ok(())
}

fn must_configure(viewer: &Viewer) -> AppResult<()> {
    if viewer.actor.can_configure() {
        Ok(())
    } else {
        Err(AppError::forbidden("only admins configure service levels"))
    }
}

fn name_taken(e: AppError) -> AppError {
    if is_unique_violation(&e) {
        AppError::conflict("name-taken", "a policy with this name already exists")
    } else {
        e
    }
}

pub async fn list_policies(app: &App, viewer: &Viewer) -> AppResult<Vec<PolicyView>> {
    let tz = viewer.tz;
    let rows = app.db.read(store::policies).await?;
    Ok(rows.into_iter().map(|r| policy_view(r, tz)).collect())
}

pub async fn create_policy(
    app: &App,
    viewer: &Viewer,
    input: PolicyInput,
) -> AppResult<PolicyView> {
    must_configure(viewer)?;
    let now = app.clock.now_db();
    let tz = viewer.tz;
    let row = app
        .db
        .write(move |c| {
            let mut row = PolicyRow {
                id: 0,
                name: String::new(),
                queue_id: None,
                priority: None,
                topic_id: None,
                first_response_minutes: None,
                next_response_minutes: None,
                resolution_minutes: None,
                warning_percent: 80,
                active: true,
                created_at: now,
                updated_at: now,
            };
            apply_input(c, &mut row, &input)?;
            check_unique_match(c, &row)?;
            row.id = store::insert_policy(c, &row)?;
            Ok(row)
        })
        .await
        .map_err(name_taken)?;
    Ok(policy_view(row, tz))
}

/// Changes a policy; the clocks it governs that are still live take its new
/// targets, and their due times are recomputed from their history.
pub async fn update_policy(
    app: &App,
    viewer: &Viewer,
    id: i64,
    input: PolicyInput,
) -> AppResult<PolicyView> {
    must_configure(viewer)?;
    let now = app.clock.now_db();
    let tz = viewer.tz;
    let cal = app.config.calendar();
    let row = app
        .db
        .write(move |c| {
            let mut row = store::policy(c, id)?
                .ok_or_else(|| AppError::not_found(format!("service-level policy {id}")))?;
            apply_input(c, &mut row, &input)?;
            check_unique_match(c, &row)?;
            row.updated_at = now;
            store::update_policy(c, &row)?;
            // The tickets are locked first, as every change to a ticket does,
            // so a clock is never stepped by two transactions at once.
            let mut ticket_ids: Vec<i64> = store::live_clocks_of_policy(c, id)?
                .iter()
                .map(|k| k.ticket_id)
                .collect();
            ticket_ids.sort_unstable();
            ticket_ids.dedup();
            for ticket_id in ticket_ids {
                tickets::lock(c, ticket_id)?;
            }
            for mut clock in store::live_clocks_of_policy(c, id)? {
                retarget(c, &cal, &mut clock, &row, now)?;
            }
            Ok(row)
        })
        .await
        .map_err(name_taken)?;
    Ok(policy_view(row, tz))
}
