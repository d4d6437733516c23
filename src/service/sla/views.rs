//! What the API shows of a ticket's clocks: every clock with its history on
//! the ticket, and the clock due first in lists.

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime};
use serde::Serialize;
use utoipa::ToSchema;

use super::domain_clock;
use crate::domain::calendar::Calendar;
use crate::domain::sla::{self as rules, ClockEventKind, ClockKind, ClockState};
use crate::error::{AppError, AppResult};
use crate::service::views::{local, local_opt, Ref};
use crate::store::sla::{self as store, ClockRow};
use crate::store::DbConn;

/// One entry of a clock's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaEventView {
    pub kind: ClockEventKind,
    /// Paused: `customer`, `back_office` or `third_party`; started: `created`,
    /// `customer_message`, `reopened`; resumed: the ticket's new state;
    /// stopped: `reply`, `resolved`, `closed`, `merged`, `target_removed`;
    /// recomputed: `policy_changed`.
    pub reason: Option<String>,
    pub at: DateTime<FixedOffset>,
    /// The due time after this step.
    pub due_at: Option<DateTime<FixedOffset>>,
}

/// One service-level clock of a ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaClockView {
    pub id: i64,
    pub kind: ClockKind,
    pub policy: Ref,
    pub target_minutes: i32,
    pub warning_percent: i32,
    pub started_at: DateTime<FixedOffset>,
    /// For a paused clock: the earliest it can be (were it resumed now).
    pub due_at: Option<DateTime<FixedOffset>>,
    pub warn_at: Option<DateTime<FixedOffset>>,
    pub stopped_at: Option<DateTime<FixedOffset>>,
    /// `running`, `paused`, `met`, `breached` (running past due, or stopped late), `cancelled`.
    pub state: ClockState,
    /// Running, past the warning threshold, not yet due.
    pub at_risk: bool,
    /// Once stopped: whether the target was met.
    pub met: Option<bool>,
    /// Past its due time, stopped or not.
    pub breached: bool,
    /// Target minus the business time counted so far (negative once breached).
    pub business_minutes_left: i64,
    pub history: Vec<SlaEventView>,
}

/// The compact service level of a ticket in lists: its live clock due first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlaSummary {
    pub kind: ClockKind,
    /// `running`, `paused` or `breached`.
    pub state: ClockState,
    pub due_at: Option<DateTime<FixedOffset>>,
    pub at_risk: bool,
}

/// The views of a ticket's clocks and their history as read (oldest first);
/// the catalogue names their policies, and only a policy no longer active
/// needs a query.
pub fn views_of(
    c: &mut DbConn,
    cal: &Calendar,
    clocks: &[ClockRow],
    events: &[store::ClockEventRow],
    catalogue: &crate::store::catalogue::Snapshot,
    now: NaiveDateTime,
    tz: chrono_tz::Tz,
) -> AppResult<Vec<SlaClockView>> {
    let mut calendars = super::calendars::Cache::new(cal);
    let mut on: std::collections::HashMap<i64, Calendar> = Default::default();
    for k in clocks {
        on.insert(k.id, calendars.get(c, k.calendar_id)?.clone());
    }
    let known = |id: i64| {
        catalogue
            .policies
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
    };
    let names: std::collections::HashMap<i64, String> = match clocks
        .iter()
        .map(|k| known(k.policy_id).map(|n| (k.policy_id, n)))
        .collect()
    {
        Some(all) => all,
        None => store::policies(c)?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect(),
    };
    clocks
        .iter()
        .map(|row| {
            let cal = &on[&row.id];
            let status = rules::status(cal, &domain_clock(row, events), now);
            let kind = ClockKind::parse(&row.kind)
                .ok_or_else(|| AppError::Internal(format!("clock kind {}", row.kind)))?;
            let breached = status.state == ClockState::Breached
                || (status.state == ClockState::Paused && status.left < Duration::zero());
            Ok(SlaClockView {
                id: row.id,
                kind,
                policy: Ref {
                    id: row.policy_id,
                    name: names.get(&row.policy_id).cloned().unwrap_or_default(),
                },
                target_minutes: row.target_minutes,
                warning_percent: row.warning_percent,
                started_at: local(row.started_at, tz),
                due_at: local_opt(status.due_at, tz),
                warn_at: local_opt(status.warn_at, tz),
                stopped_at: local_opt(row.stopped_at, tz),
                state: status.state,
                at_risk: status.at_risk,
                met: status.met,
                breached,
                business_minutes_left: status.left.num_minutes(),
                history: events
                    .iter()
                    .filter(|e| e.clock_id == row.id)
                    .filter_map(|e| {
                        Some(SlaEventView {
                            kind: ClockEventKind::parse(&e.kind)?,
                            reason: e.reason.clone(),
                            at: local(e.at, tz),
                            due_at: local_opt(e.due_at, tz),
                        })
                    })
                    .collect(),
            })
        })
        .collect()
}

/// The compact service level of each ticket, from the stored times of its live clocks.
pub fn summaries_in(
    c: &mut DbConn,
    ticket_ids: &[i64],
    now: NaiveDateTime,
    tz: chrono_tz::Tz,
) -> AppResult<std::collections::HashMap<i64, SlaSummary>> {
    if ticket_ids.is_empty() {
        return Ok(Default::default());
    }
    Ok(summarise(&store::live_clocks_of(c, ticket_ids)?, now, tz))
}

/// [`summaries_in`] over clocks already read (those stopped are passed over).
pub fn summarise(
    clocks: &[ClockRow],
    now: NaiveDateTime,
    tz: chrono_tz::Tz,
) -> std::collections::HashMap<i64, SlaSummary> {
    let mut out: std::collections::HashMap<i64, (bool, Option<NaiveDateTime>, SlaSummary)> =
        std::collections::HashMap::new();
    for row in clocks.iter().filter(|k| k.stopped_at.is_none()) {
        let Some(kind) = ClockKind::parse(&row.kind) else {
            continue;
        };
        let paused = row.state == ClockState::Paused.as_str();
        let late = !paused && row.due_at.is_some_and(|d| d < now);
        let summary = SlaSummary {
            kind,
            state: if paused {
                ClockState::Paused
            } else if late {
                ClockState::Breached
            } else {
                ClockState::Running
            },
            due_at: local_opt(row.due_at, tz),
            at_risk: !paused && !late && row.warn_at.is_some_and(|w| w <= now),
        };
        // Running clocks first, then the one due soonest.
        let key = (paused, row.due_at);
        match out.get(&row.ticket_id) {
            Some((p, d, _)) if (*p, *d) <= key => {}
            _ => {
                out.insert(row.ticket_id, (paused, row.due_at, summary));
            }
        }
    }
    out.into_iter().map(|(k, (_, _, s))| (k, s)).collect()
}
