//! Housekeeping's queries: resolved tickets due to be closed, tickets waiting
//! on their customer long enough for something to be due, and how long one
//! ticket has waited and how many reminders it has had. No new columns: a
//! ticket entered `pending_customer` at its latest `state_changed` event.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, max};
use diesel::prelude::*;

use super::schema::{ticket_events, tickets};
use super::DbConn;
use crate::domain::{EventKind, TicketState};
use crate::error::AppResult;

/// Resolved tickets resolved at or before `cutoff`: a page of ids after `after`.
pub fn resolved_before(
    conn: &mut DbConn,
    cutoff: NaiveDateTime,
    after: i64,
    limit: i64,
) -> AppResult<Vec<i64>> {
    Ok(tickets::table
        .filter(tickets::state.eq(TicketState::Resolved.as_str()))
        .filter(tickets::resolved_at.le(cutoff))
        .filter(tickets::id.gt(after))
        .order(tickets::id.asc())
        .select(tickets::id)
        .limit(limit)
        .load(conn)?)
}

/// Tickets in `pending_customer` that started waiting at or before `cutoff`
/// (at their latest change of state, or when created if there is none): a
/// page of ids after `after`.
pub fn waiting_before(
    conn: &mut DbConn,
    cutoff: NaiveDateTime,
    after: i64,
    limit: i64,
) -> AppResult<Vec<i64>> {
    let changed = max(ticket_events::created_at.nullable());
    Ok(tickets::table
        .left_join(
            ticket_events::table.on(ticket_events::ticket_id
                .eq(tickets::id)
                .and(ticket_events::kind.eq(EventKind::StateChanged.as_str()))),
        )
        .filter(tickets::state.eq(TicketState::PendingCustomer.as_str()))
        .filter(tickets::id.gt(after))
        .group_by((tickets::id, tickets::created_at))
        .having(
            changed
                .le(cutoff)
                .or(changed.is_null().and(tickets::created_at.le(cutoff))),
        )
        .order(tickets::id.asc())
        .select(tickets::id)
        .limit(limit)
        .load(conn)?)
}

/// How long a ticket in `pending_customer` has waited, and its reminders since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub since: NaiveDateTime,
    pub reminders: i64,
    pub last_reminder_at: Option<NaiveDateTime>,
}

/// Reads one ticket's waiting facts (call it with the ticket locked).
pub fn waiting(conn: &mut DbConn, ticket_id: i64, created_at: NaiveDateTime) -> AppResult<Waiting> {
    let changed: Option<NaiveDateTime> = ticket_events::table
        .filter(ticket_events::ticket_id.eq(ticket_id))
        .filter(ticket_events::kind.eq(EventKind::StateChanged.as_str()))
        .select(max(ticket_events::created_at))
        .first(conn)?;
    let since = changed.unwrap_or(created_at);
    let (reminders, last_reminder_at): (i64, Option<NaiveDateTime>) = ticket_events::table
        .filter(ticket_events::ticket_id.eq(ticket_id))
        .filter(ticket_events::kind.eq_any([
            EventKind::ReminderSent.as_str(),
            EventKind::ReminderSkipped.as_str(),
        ]))
        .filter(ticket_events::created_at.gt(since))
        .select((count_star(), max(ticket_events::created_at)))
        .first(conn)?;
    Ok(Waiting {
        since,
        reminders,
        last_reminder_at,
    })
}
