//! Callback requests, the offers made to agents and the attempts to call.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{callback_attempts, callback_offers, callback_requests};
use super::DbConn;
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = callback_requests)]
pub struct CallbackRow {
    pub id: i64,
    pub ticket_id: i64,
    pub phone: String,
    pub mode: String,
    pub preferred_at: Option<NaiveDateTime>,
    pub note: String,
    pub state: String,
    pub created_at: NaiveDateTime,
    pub queue_id: Option<i64>,
    pub topic_id: Option<i64>,
    pub source: String,
    pub call_id: Option<i64>,
    pub slot_start: Option<NaiveDateTime>,
    pub due_at: Option<NaiveDateTime>,
    pub sla_start: Option<NaiveDateTime>,
    pub first_attempt_at: Option<NaiveDateTime>,
    pub attempts: i32,
    pub offered_to: Option<i64>,
    pub offer_expires_at: Option<NaiveDateTime>,
    pub agent_id: Option<i64>,
    pub closed_at: Option<NaiveDateTime>,
    pub outcome: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = callback_requests)]
pub struct NewCallback {
    pub ticket_id: i64,
    pub phone: String,
    pub mode: String,
    pub preferred_at: Option<NaiveDateTime>,
    pub note: String,
    pub state: String,
    pub created_at: NaiveDateTime,
    pub queue_id: Option<i64>,
    pub topic_id: Option<i64>,
    pub source: String,
    pub call_id: Option<i64>,
    pub slot_start: Option<NaiveDateTime>,
    pub due_at: Option<NaiveDateTime>,
    pub sla_start: Option<NaiveDateTime>,
}

/// What changes as a callback moves along.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = callback_requests, treat_none_as_null = true)]
pub struct CallbackChanges {
    pub state: String,
    pub due_at: Option<NaiveDateTime>,
    pub first_attempt_at: Option<NaiveDateTime>,
    pub attempts: i32,
    pub offered_to: Option<i64>,
    pub offer_expires_at: Option<NaiveDateTime>,
    pub agent_id: Option<i64>,
    pub closed_at: Option<NaiveDateTime>,
    pub outcome: Option<String>,
}

impl CallbackRow {
    pub fn changes(&self) -> CallbackChanges {
        CallbackChanges {
            state: self.state.clone(),
            due_at: self.due_at,
            first_attempt_at: self.first_attempt_at,
            attempts: self.attempts,
            offered_to: self.offered_to,
            offer_expires_at: self.offer_expires_at,
            agent_id: self.agent_id,
            closed_at: self.closed_at,
            outcome: self.outcome.clone(),
        }
    }
}

pub fn insert(c: &mut DbConn, new: &NewCallback) -> AppResult<i64> {
    Ok(diesel::insert_into(callback_requests::table)
        .values(new)
        .returning(callback_requests::id)
        .get_result(c)?)
}

pub fn save(c: &mut DbConn, id: i64, changes: &CallbackChanges) -> AppResult<()> {
    diesel::update(callback_requests::table.find(id))
        .set(changes)
        .execute(c)?;
    Ok(())
}

pub fn find(c: &mut DbConn, id: i64) -> AppResult<Option<CallbackRow>> {
    Ok(callback_requests::table
        .find(id)
        .select(CallbackRow::as_select())
        .first(c)
        .optional()?)
}

/// Reads a callback for change (row-locked on PostgreSQL).
pub fn lock(c: &mut DbConn, id: i64) -> AppResult<Option<CallbackRow>> {
    macro_rules! q {
        () => {
            callback_requests::table
                .find(id)
                .select(CallbackRow::as_select())
        };
    }
    Ok(match c {
        DbConn::Postgresql(c) => q!().for_update().first(c).optional()?,
        DbConn::Sqlite(c) => q!().first(c).optional()?,
    })
}

pub fn of_ticket(c: &mut DbConn, ticket: i64) -> AppResult<Vec<CallbackRow>> {
    Ok(callback_requests::table
        .filter(callback_requests::ticket_id.eq(ticket))
        .order(callback_requests::id)
        .select(CallbackRow::as_select())
        .load(c)?)
}

#[derive(Debug, Default, Clone)]
pub struct CallbackFilter {
    pub states: Vec<String>,
    pub offered_to: Option<i64>,
    pub queue_ids: Option<Vec<i64>>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub limit: i64,
}

/// Callbacks by when they are due (then by id).
pub fn list(c: &mut DbConn, f: &CallbackFilter) -> AppResult<Vec<CallbackRow>> {
    let mut q = callback_requests::table
        .select(CallbackRow::as_select())
        .into_boxed();
    if !f.states.is_empty() {
        q = q.filter(callback_requests::state.eq_any(f.states.clone()));
    }
    if let Some(a) = f.offered_to {
        q = q.filter(callback_requests::offered_to.eq(a));
    }
    if let Some(qs) = &f.queue_ids {
        q = q.filter(callback_requests::queue_id.eq_any(qs.clone()));
    }
    if let Some(t) = f.from {
        q = q.filter(callback_requests::created_at.ge(t));
    }
    if let Some(t) = f.to {
        q = q.filter(callback_requests::created_at.lt(t));
    }
    Ok(q.order((callback_requests::due_at, callback_requests::id))
        .limit(f.limit)
        .load(c)?)
}

/// Bookings per slot start in `[from, to)`, cancelled ones not counted.
pub fn slot_counts(
    c: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> AppResult<Vec<(Option<NaiveDateTime>, i64)>> {
    Ok(callback_requests::table
        .filter(callback_requests::slot_start.ge(from))
        .filter(callback_requests::slot_start.lt(to))
        .filter(callback_requests::state.ne("cancelled"))
        .group_by(callback_requests::slot_start)
        .select((callback_requests::slot_start, diesel::dsl::count_star()))
        .load(c)?)
}

/// An open callback to this number, if any.
pub fn open_for_phone(c: &mut DbConn, phone: &str) -> AppResult<Option<i64>> {
    Ok(callback_requests::table
        .filter(callback_requests::phone.eq(phone))
        .filter(callback_requests::state.eq_any(["scheduled", "offered", "accepted"]))
        .select(callback_requests::id)
        .first(c)
        .optional()?)
}

/// Offers that ran out: callbacks still offered after their deadline.
pub fn expired_offers(c: &mut DbConn, now: NaiveDateTime) -> AppResult<Vec<i64>> {
    macro_rules! q {
        () => {
            callback_requests::table
                .filter(callback_requests::state.eq("offered"))
                .filter(callback_requests::offer_expires_at.le(now))
                .order(callback_requests::id)
                .select(callback_requests::id)
        };
    }
    Ok(match c {
        DbConn::Postgresql(c) => q!().for_update().skip_locked().load(c)?,
        DbConn::Sqlite(c) => q!().load(c)?,
    })
}

/// Scheduled callbacks due by `now`, oldest due first; on PostgreSQL rows
/// another dispatcher holds are skipped.
pub fn due(c: &mut DbConn, now: NaiveDateTime, limit: i64) -> AppResult<Vec<CallbackRow>> {
    macro_rules! q {
        () => {
            callback_requests::table
                .filter(callback_requests::state.eq("scheduled"))
                .filter(callback_requests::due_at.le(now))
                .order((callback_requests::due_at, callback_requests::id))
                .limit(limit)
                .select(CallbackRow::as_select())
        };
    }
    Ok(match c {
        DbConn::Postgresql(c) => q!().for_update().skip_locked().load(c)?,
        DbConn::Sqlite(c) => q!().load(c)?,
    })
}

/// Agents holding a callback (offered to them or being called by them).
pub fn busy_agents(c: &mut DbConn) -> AppResult<Vec<i64>> {
    let offered: Vec<Option<i64>> = callback_requests::table
        .filter(callback_requests::state.eq("offered"))
        .select(callback_requests::offered_to)
        .load(c)?;
    let calling: Vec<Option<i64>> = callback_requests::table
        .filter(callback_requests::state.eq("accepted"))
        .select(callback_requests::agent_id)
        .load(c)?;
    Ok(offered.into_iter().chain(calling).flatten().collect())
}

pub fn insert_offer(
    c: &mut DbConn,
    callback: i64,
    agent: i64,
    round: i32,
    now: NaiveDateTime,
    expires: NaiveDateTime,
) -> AppResult<()> {
    diesel::insert_into(callback_offers::table)
        .values((
            callback_offers::callback_id.eq(callback),
            callback_offers::agent_id.eq(agent),
            callback_offers::round.eq(round),
            callback_offers::offered_at.eq(now),
            callback_offers::expires_at.eq(expires),
        ))
        .execute(c)?;
    Ok(())
}

/// Closes the open offer of a callback with `answer`.
pub fn answer_offer(
    c: &mut DbConn,
    callback: i64,
    answer: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(
        callback_offers::table
            .filter(callback_offers::callback_id.eq(callback))
            .filter(callback_offers::answer.is_null()),
    )
    .set((
        callback_offers::answer.eq(answer),
        callback_offers::answered_at.eq(now),
    ))
    .execute(c)?;
    Ok(())
}

/// Agents who declined or let this callback time out in this round.
pub fn passed(c: &mut DbConn, callback: i64, round: i32) -> AppResult<Vec<i64>> {
    Ok(callback_offers::table
        .filter(callback_offers::callback_id.eq(callback))
        .filter(callback_offers::round.eq(round))
        .filter(callback_offers::answer.eq_any(["declined", "timeout"]))
        .select(callback_offers::agent_id)
        .load(c)?)
}

/// (agent, round, offered, expires, answer, answered).
pub type OfferRow = (
    i64,
    i32,
    NaiveDateTime,
    NaiveDateTime,
    Option<String>,
    Option<NaiveDateTime>,
);

pub fn offers_of(c: &mut DbConn, callback: i64) -> AppResult<Vec<OfferRow>> {
    Ok(callback_offers::table
        .filter(callback_offers::callback_id.eq(callback))
        .order(callback_offers::id)
        .select((
            callback_offers::agent_id,
            callback_offers::round,
            callback_offers::offered_at,
            callback_offers::expires_at,
            callback_offers::answer,
            callback_offers::answered_at,
        ))
        .load(c)?)
}

pub fn insert_attempt(
    c: &mut DbConn,
    callback: i64,
    agent: i64,
    outcome: &str,
    note: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::insert_into(callback_attempts::table)
        .values((
            callback_attempts::callback_id.eq(callback),
            callback_attempts::agent_id.eq(agent),
            callback_attempts::outcome.eq(outcome),
            callback_attempts::note.eq(note),
            callback_attempts::at.eq(now),
        ))
        .execute(c)?;
    Ok(())
}

/// (agent, outcome, note, at).
pub fn attempts_of(
    c: &mut DbConn,
    callback: i64,
) -> AppResult<Vec<(i64, String, String, NaiveDateTime)>> {
    Ok(callback_attempts::table
        .filter(callback_attempts::callback_id.eq(callback))
        .order(callback_attempts::id)
        .select((
            callback_attempts::agent_id,
            callback_attempts::outcome,
            callback_attempts::note,
            callback_attempts::at,
        ))
        .load(c)?)
}
