//! The supervisor view's queries: every figure is counted in a grouped query
//! over all the queues asked for at once (`queue` None: every queue), never
//! one query per ticket or per queue.

use chrono::NaiveDateTime;
use diesel::dsl::{case_when, count, count_star, min};
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::schema::{agent_presence, agents, queue_members, sla_clocks, tickets};
use super::sla::{at_risk_clock, breached_clock, SlaFilter};
use super::DbConn;
use crate::domain::TicketState;
use crate::error::AppResult;

type DbBackend = <DbConn as diesel::Connection>::Backend;

/// The states of tickets still waiting on the help desk.
fn active_states() -> Vec<&'static str> {
    TicketState::ALL
        .iter()
        .filter(|s| s.is_active())
        .map(|s| s.as_str())
        .collect()
}

/// Active tickets of one queue and state.
#[derive(Debug, Clone)]
pub struct BacklogRow {
    pub queue_id: i64,
    pub state: String,
    pub count: i64,
    pub unassigned: i64,
    /// How many were created at or before each cutoff.
    pub at_least: [i64; 5],
    pub oldest_created_at: Option<NaiveDateTime>,
}

/// Per queue and state: active tickets, unassigned ones, how many are at least
/// as old as each cutoff, and the oldest creation time; one grouped query.
pub fn backlog(
    c: &mut DbConn,
    queue: Option<i64>,
    cutoffs: [NaiveDateTime; 5],
) -> AppResult<Vec<BacklogRow>> {
    let older = |cut: NaiveDateTime| {
        count(case_when::<_, _, BigInt>(
            tickets::created_at.le(cut),
            tickets::id,
        ))
    };
    let mut q = tickets::table
        .filter(tickets::state.eq_any(active_states()))
        .group_by((tickets::queue_id, tickets::state))
        .select((
            tickets::queue_id,
            tickets::state,
            count_star(),
            count(case_when::<_, _, BigInt>(
                tickets::assignee_id.is_null(),
                tickets::id,
            )),
            older(cutoffs[0]),
            older(cutoffs[1]),
            older(cutoffs[2]),
            older(cutoffs[3]),
            older(cutoffs[4]),
            min(tickets::created_at),
        ))
        .into_boxed::<DbBackend>();
    if let Some(id) = queue {
        q = q.filter(tickets::queue_id.eq(id));
    }
    type Row = (
        i64,
        String,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        Option<NaiveDateTime>,
    );
    let rows: Vec<Row> = q.load(c)?;
    Ok(rows
        .into_iter()
        .map(|r| BacklogRow {
            queue_id: r.0,
            state: r.1,
            count: r.2,
            unassigned: r.3,
            at_least: [r.4, r.5, r.6, r.7, r.8],
            oldest_created_at: r.9,
        })
        .collect())
}

/// A ticket as the supervisor view names it.
#[derive(Debug, Clone, Queryable)]
pub struct TicketBrief {
    pub id: i64,
    pub queue_id: i64,
    pub number: String,
    pub subject: String,
    pub created_at: NaiveDateTime,
    pub assignee: Option<(i64, String)>,
}

/// The active tickets of some queues created at some instants: the oldest of
/// each queue, given each queue's oldest creation time (ties are all loaded).
pub fn active_created_at(
    c: &mut DbConn,
    queue_ids: &[i64],
    instants: &[NaiveDateTime],
) -> AppResult<Vec<TicketBrief>> {
    if queue_ids.is_empty() {
        return Ok(vec![]);
    }
    let ids = tickets::table
        .filter(tickets::state.eq_any(active_states()))
        .filter(tickets::queue_id.eq_any(queue_ids.to_vec()))
        .filter(tickets::created_at.eq_any(instants.to_vec()))
        .select(tickets::id)
        .load(c)?;
    briefs(c, ids)
}

/// Tickets by id, with their assignee's name.
pub fn briefs(c: &mut DbConn, ids: Vec<i64>) -> AppResult<Vec<TicketBrief>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(tickets::table
        .left_join(agents::table.on(agents::id.nullable().eq(tickets::assignee_id)))
        .filter(tickets::id.eq_any(ids))
        .order(tickets::id)
        .select((
            tickets::id,
            tickets::queue_id,
            tickets::number,
            tickets::subject,
            tickets::created_at,
            (agents::id, agents::name).nullable(),
        ))
        .load(c)?)
}

/// Per queue, how many active tickets are in a service-level condition at
/// `now` — the condition of the ticket list's `sla=` filter.
pub fn sla_counts(
    c: &mut DbConn,
    queue: Option<i64>,
    which: SlaFilter,
    now: NaiveDateTime,
) -> AppResult<Vec<(i64, i64)>> {
    let mut q = tickets::table
        .filter(tickets::state.eq_any(active_states()))
        .group_by(tickets::queue_id)
        .select((tickets::queue_id, count_star()))
        .into_boxed::<DbBackend>();
    q = match which {
        SlaFilter::AtRisk => q.filter(
            tickets::id.eq_any(
                sla_clocks::table
                    .filter(at_risk_clock(now))
                    .select(sla_clocks::ticket_id),
            ),
        ),
        SlaFilter::Breached => q.filter(
            tickets::id.eq_any(
                sla_clocks::table
                    .filter(breached_clock(now))
                    .select(sla_clocks::ticket_id),
            ),
        ),
    };
    if let Some(id) = queue {
        q = q.filter(tickets::queue_id.eq(id));
    }
    Ok(q.load(c)?)
}

/// A clock that puts an active ticket in a service-level condition.
#[derive(Debug, Clone, Queryable)]
pub struct ConditionClock {
    pub queue_id: i64,
    pub ticket_id: i64,
    pub kind: String,
    pub state: String,
    pub due_at: Option<NaiveDateTime>,
    pub stopped_at: Option<NaiveDateTime>,
    pub calendar_id: Option<i64>,
}

/// The clocks of active tickets in a condition at `now`, due first first.
/// Narrow rows: the service keeps the few most urgent of each queue.
pub fn condition_clocks(
    c: &mut DbConn,
    queue: Option<i64>,
    which: SlaFilter,
    now: NaiveDateTime,
) -> AppResult<Vec<ConditionClock>> {
    let mut q = sla_clocks::table
        .inner_join(tickets::table.on(tickets::id.eq(sla_clocks::ticket_id)))
        .filter(tickets::state.eq_any(active_states()))
        .order((sla_clocks::due_at.asc(), sla_clocks::id.asc()))
        .select((
            tickets::queue_id,
            sla_clocks::ticket_id,
            sla_clocks::kind,
            sla_clocks::state,
            sla_clocks::due_at,
            sla_clocks::stopped_at,
            sla_clocks::calendar_id,
        ))
        .into_boxed::<DbBackend>();
    q = match which {
        SlaFilter::AtRisk => q.filter(at_risk_clock(now)),
        SlaFilter::Breached => q.filter(breached_clock(now)),
    };
    if let Some(id) = queue {
        q = q.filter(tickets::queue_id.eq(id));
    }
    Ok(q.load(c)?)
}

/// The members of the queues: (queue, agent), active agents only.
pub fn members(c: &mut DbConn, queue: Option<i64>) -> AppResult<Vec<(i64, i64)>> {
    let mut q = queue_members::table
        .inner_join(agents::table)
        .filter(agents::active.eq(true))
        .select((queue_members::queue_id, queue_members::agent_id))
        .into_boxed::<DbBackend>();
    if let Some(id) = queue {
        q = q.filter(queue_members::queue_id.eq(id));
    }
    Ok(q.load(c)?)
}

/// Per queue and agent, how many active tickets the agent has there.
pub fn assigned_counts(c: &mut DbConn, queue: Option<i64>) -> AppResult<Vec<(i64, i64, i64)>> {
    let mut q = tickets::table
        .filter(tickets::state.eq_any(active_states()))
        .filter(tickets::assignee_id.is_not_null())
        .group_by((tickets::queue_id, tickets::assignee_id))
        .select((tickets::queue_id, tickets::assignee_id, count_star()))
        .into_boxed::<DbBackend>();
    if let Some(id) = queue {
        q = q.filter(tickets::queue_id.eq(id));
    }
    let rows: Vec<(i64, Option<i64>, i64)> = q.load(c)?;
    Ok(rows
        .into_iter()
        .filter_map(|(q, a, n)| a.map(|a| (q, a, n)))
        .collect())
}

/// An agent's name and stored presence (none: never set, i.e. offline).
#[derive(Debug, Clone, Queryable)]
pub struct AgentPresence {
    pub id: i64,
    pub name: String,
    pub presence: Option<(String, NaiveDateTime, Option<NaiveDateTime>)>,
}

pub fn agents_with_presence(c: &mut DbConn, ids: Vec<i64>) -> AppResult<Vec<AgentPresence>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(agents::table
        .left_join(agent_presence::table.on(agent_presence::agent_id.eq(agents::id)))
        .filter(agents::id.eq_any(ids))
        .order(agents::id)
        .select((
            agents::id,
            agents::name,
            (
                agent_presence::state,
                agent_presence::since,
                agent_presence::wrap_up_until,
            )
                .nullable(),
        ))
        .load(c)?)
}
