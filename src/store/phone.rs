//! Service lines, IVR options, calls, applied CTI events and agent presence.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{agent_presence, calls, cti_events, ivr_options, service_lines};
use super::DbConn;
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = service_lines)]
pub struct LineRow {
    pub id: i64,
    pub number: String,
    pub service: String,
    pub caller_kind: String,
    pub privacy_notice: String,
    pub queue_id: i64,
    pub created_at: NaiveDateTime,
    pub auto_callback: bool,
}

#[allow(clippy::too_many_arguments)]
pub fn insert_line(
    c: &mut DbConn,
    number: &str,
    service: &str,
    kind: &str,
    privacy: &str,
    queue: i64,
    auto_callback: bool,
    now: NaiveDateTime,
) -> AppResult<i64> {
    Ok(diesel::insert_into(service_lines::table)
        .values((
            service_lines::number.eq(number),
            service_lines::service.eq(service),
            service_lines::caller_kind.eq(kind),
            service_lines::privacy_notice.eq(privacy),
            service_lines::queue_id.eq(queue),
            service_lines::auto_callback.eq(auto_callback),
            service_lines::created_at.eq(now),
        ))
        .returning(service_lines::id)
        .get_result(c)?)
}

pub fn set_ivr(c: &mut DbConn, line: i64, options: &[(String, i64)]) -> AppResult<()> {
    diesel::delete(ivr_options::table.filter(ivr_options::line_id.eq(line))).execute(c)?;
    for (digit, topic) in options {
        diesel::insert_into(ivr_options::table)
            .values((
                ivr_options::line_id.eq(line),
                ivr_options::digit.eq(digit),
                ivr_options::topic_id.eq(topic),
            ))
            .execute(c)?;
    }
    Ok(())
}

pub fn lines(c: &mut DbConn) -> AppResult<Vec<LineRow>> {
    Ok(service_lines::table
        .order(service_lines::id)
        .select(LineRow::as_select())
        .load(c)?)
}

pub fn line_by_number(c: &mut DbConn, number: &str) -> AppResult<Option<LineRow>> {
    Ok(service_lines::table
        .filter(service_lines::number.eq(number))
        .select(LineRow::as_select())
        .first(c)
        .optional()?)
}

pub fn line(c: &mut DbConn, id: i64) -> AppResult<Option<LineRow>> {
    Ok(service_lines::table
        .find(id)
        .select(LineRow::as_select())
        .first(c)
        .optional()?)
}

pub fn ivr_of(c: &mut DbConn, line: i64) -> AppResult<Vec<(String, i64)>> {
    Ok(ivr_options::table
        .filter(ivr_options::line_id.eq(line))
        .order(ivr_options::digit)
        .select((ivr_options::digit, ivr_options::topic_id))
        .load(c)?)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = calls)]
pub struct CallRow {
    pub id: i64,
    pub external_id: String,
    pub line_id: Option<i64>,
    pub called: String,
    pub caller: String,
    pub caller_e164: Option<String>,
    pub ivr_choice: Option<String>,
    pub topic_id: Option<i64>,
    pub agent_id: Option<i64>,
    pub state: String,
    pub offered_at: NaiveDateTime,
    pub answered_at: Option<NaiveDateTime>,
    pub ended_at: Option<NaiveDateTime>,
    pub ticket_id: Option<i64>,
    pub outcome: Option<String>,
    pub noted_at: Option<NaiveDateTime>,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub acknowledged_by: Option<i64>,
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = calls, treat_none_as_null = true)]
pub struct CallFields {
    pub external_id: String,
    pub line_id: Option<i64>,
    pub called: String,
    pub caller: String,
    pub caller_e164: Option<String>,
    pub ivr_choice: Option<String>,
    pub topic_id: Option<i64>,
    pub agent_id: Option<i64>,
    pub state: String,
    pub offered_at: NaiveDateTime,
    pub answered_at: Option<NaiveDateTime>,
    pub ended_at: Option<NaiveDateTime>,
    pub ticket_id: Option<i64>,
}

impl CallRow {
    pub fn fields(&self) -> CallFields {
        CallFields {
            external_id: self.external_id.clone(),
            line_id: self.line_id,
            called: self.called.clone(),
            caller: self.caller.clone(),
            caller_e164: self.caller_e164.clone(),
            ivr_choice: self.ivr_choice.clone(),
            topic_id: self.topic_id,
            agent_id: self.agent_id,
            state: self.state.clone(),
            offered_at: self.offered_at,
            answered_at: self.answered_at,
            ended_at: self.ended_at,
            ticket_id: self.ticket_id,
        }
    }
}

pub fn call_by_external(c: &mut DbConn, external: &str) -> AppResult<Option<CallRow>> {
    Ok(calls::table
        .filter(calls::external_id.eq(external))
        .select(CallRow::as_select())
        .first(c)
        .optional()?)
}

pub fn call(c: &mut DbConn, id: i64) -> AppResult<Option<CallRow>> {
    Ok(calls::table
        .find(id)
        .select(CallRow::as_select())
        .first(c)
        .optional()?)
}

pub fn insert_call(c: &mut DbConn, f: &CallFields) -> AppResult<i64> {
    Ok(diesel::insert_into(calls::table)
        .values(f)
        .returning(calls::id)
        .get_result(c)?)
}

pub fn save_call(c: &mut DbConn, id: i64, f: &CallFields) -> AppResult<()> {
    diesel::update(calls::table.find(id)).set(f).execute(c)?;
    Ok(())
}

/// True when this CTI event id was applied before.
pub fn event_seen(c: &mut DbConn, event_id: &str) -> AppResult<Option<i64>> {
    Ok(cti_events::table
        .find(event_id)
        .select(cti_events::call_id)
        .first(c)
        .optional()?)
}

pub fn record_event(
    c: &mut DbConn,
    event_id: &str,
    call: i64,
    kind: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::insert_into(cti_events::table)
        .values((
            cti_events::event_id.eq(event_id),
            cti_events::call_id.eq(call),
            cti_events::kind.eq(kind),
            cti_events::received_at.eq(now),
        ))
        .execute(c)?;
    Ok(())
}

pub fn presence(
    c: &mut DbConn,
    agent: i64,
) -> AppResult<Option<(String, NaiveDateTime, Option<NaiveDateTime>)>> {
    Ok(agent_presence::table
        .find(agent)
        .select((
            agent_presence::state,
            agent_presence::since,
            agent_presence::wrap_up_until,
        ))
        .first(c)
        .optional()?)
}

/// (agent, state, since, wrap-up until).
pub type PresenceRow = (i64, String, NaiveDateTime, Option<NaiveDateTime>);

pub fn all_presence(c: &mut DbConn) -> AppResult<Vec<PresenceRow>> {
    Ok(agent_presence::table
        .select((
            agent_presence::agent_id,
            agent_presence::state,
            agent_presence::since,
            agent_presence::wrap_up_until,
        ))
        .load(c)?)
}

pub fn set_presence(
    c: &mut DbConn,
    agent: i64,
    state: &str,
    since: NaiveDateTime,
    until: Option<NaiveDateTime>,
) -> AppResult<()> {
    let n = diesel::update(agent_presence::table.find(agent))
        .set((
            agent_presence::state.eq(state),
            agent_presence::since.eq(since),
            agent_presence::wrap_up_until.eq(until),
        ))
        .execute(c)?;
    if n == 0 {
        diesel::insert_into(agent_presence::table)
            .values((
                agent_presence::agent_id.eq(agent),
                agent_presence::state.eq(state),
                agent_presence::since.eq(since),
                agent_presence::wrap_up_until.eq(until),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// Links a call to the ticket its write-up went to, with the outcome.
pub fn set_note(
    c: &mut DbConn,
    call: i64,
    ticket: i64,
    outcome: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(calls::table.find(call))
        .set((
            calls::ticket_id.eq(ticket),
            calls::outcome.eq(outcome),
            calls::noted_at.eq(now),
        ))
        .execute(c)?;
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct CallFilter {
    pub state: Option<String>,
    pub acknowledged: Option<bool>,
    pub line_id: Option<i64>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// Calls, newest first.
pub fn list_calls(c: &mut DbConn, f: &CallFilter) -> AppResult<Vec<CallRow>> {
    let mut q = calls::table.select(CallRow::as_select()).into_boxed();
    if let Some(s) = &f.state {
        q = q.filter(calls::state.eq(s.clone()));
    }
    match f.acknowledged {
        Some(true) => q = q.filter(calls::acknowledged_at.is_not_null()),
        Some(false) => q = q.filter(calls::acknowledged_at.is_null()),
        None => {}
    }
    if let Some(l) = f.line_id {
        q = q.filter(calls::line_id.eq(l));
    }
    if let Some(t) = f.from {
        q = q.filter(calls::offered_at.ge(t));
    }
    if let Some(t) = f.to {
        q = q.filter(calls::offered_at.lt(t));
    }
    if let Some(b) = f.before_id {
        q = q.filter(calls::id.lt(b));
    }
    Ok(q.order(calls::id.desc()).limit(f.limit).load(c)?)
}

/// Marks missed calls as seen by a supervisor; returns how many changed.
pub fn acknowledge(
    c: &mut DbConn,
    ids: &[i64],
    agent: i64,
    now: NaiveDateTime,
) -> AppResult<usize> {
    Ok(diesel::update(
        calls::table
            .filter(calls::id.eq_any(ids))
            .filter(calls::state.eq("missed"))
            .filter(calls::acknowledged_at.is_null()),
    )
    .set((
        calls::acknowledged_at.eq(now),
        calls::acknowledged_by.eq(agent),
    ))
    .execute(c)?)
}

/// Counts of calls offered in a period: by state, by outcome, missed and acknowledged.
pub struct CallCounts {
    pub by_state: Vec<(String, i64)>,
    pub by_outcome: Vec<(Option<String>, i64)>,
    pub missed_acknowledged: i64,
}

pub fn call_counts(
    c: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> AppResult<CallCounts> {
    let period = calls::offered_at.ge(from).and(calls::offered_at.lt(to));
    let by_state = calls::table
        .filter(period)
        .group_by(calls::state)
        .select((calls::state, diesel::dsl::count_star()))
        .load(c)?;
    let by_outcome = calls::table
        .filter(period)
        .group_by(calls::outcome)
        .select((calls::outcome, diesel::dsl::count_star()))
        .load(c)?;
    let missed_acknowledged = calls::table
        .filter(period)
        .filter(calls::state.eq("missed"))
        .filter(calls::acknowledged_at.is_not_null())
        .count()
        .get_result(c)?;
    Ok(CallCounts {
        by_state,
        by_outcome,
        missed_acknowledged,
    })
}

/// Presence of the active members of a queue: (agent, state, since, wrap-up until).
pub fn presence_in_queue(c: &mut DbConn, queue: i64) -> AppResult<Vec<PresenceRow>> {
    use super::schema::{agents, queue_members};
    Ok(agent_presence::table
        .inner_join(queue_members::table.on(queue_members::agent_id.eq(agent_presence::agent_id)))
        .inner_join(agents::table.on(agents::id.eq(agent_presence::agent_id)))
        .filter(queue_members::queue_id.eq(queue))
        .filter(agents::active.eq(true))
        .select((
            agent_presence::agent_id,
            agent_presence::state,
            agent_presence::since,
            agent_presence::wrap_up_until,
        ))
        .load(c)?)
}
