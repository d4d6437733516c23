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
}

#[allow(clippy::too_many_arguments)]
pub fn insert_line(
    c: &mut DbConn,
    number: &str,
    service: &str,
    kind: &str,
    privacy: &str,
    queue: i64,
    now: NaiveDateTime,
) -> AppResult<i64> {
    Ok(diesel::insert_into(service_lines::table)
        .values((
            service_lines::number.eq(number),
            service_lines::service.eq(service),
            service_lines::caller_kind.eq(kind),
            service_lines::privacy_notice.eq(privacy),
            service_lines::queue_id.eq(queue),
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
