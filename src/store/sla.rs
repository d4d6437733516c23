//! Service-level policies, the clocks of each ticket and their history.
//! Due and warning times are stored beside each live clock so the ticket
//! list can filter at-risk and breached tickets by plain comparisons.

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};

use super::schema::{sla_clock_events, sla_clocks, sla_policies};
use super::DbConn;
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = sla_policies, treat_none_as_null = true)]
pub struct PolicyRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub name: String,
    pub queue_id: Option<i64>,
    pub priority: Option<i32>,
    pub topic_id: Option<i64>,
    pub first_response_minutes: Option<i32>,
    pub next_response_minutes: Option<i32>,
    pub resolution_minutes: Option<i32>,
    pub warning_percent: i32,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = sla_clocks)]
pub struct ClockRow {
    pub id: i64,
    pub ticket_id: i64,
    pub policy_id: i64,
    pub kind: String,
    pub target_minutes: i32,
    pub warning_percent: i32,
    pub state: String,
    pub started_at: NaiveDateTime,
    pub due_at: Option<NaiveDateTime>,
    pub warn_at: Option<NaiveDateTime>,
    pub stopped_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
    /// The calendar it counts on (that of the queue where it started; none: the desk's).
    pub calendar_id: Option<i64>,
}

/// Inserted through [`bound_values!`](crate::bound_values), which keeps the statement prepared.
#[derive(Debug)]
pub struct NewClock {
    pub ticket_id: i64,
    pub policy_id: i64,
    pub kind: String,
    pub target_minutes: i32,
    pub warning_percent: i32,
    pub state: String,
    pub started_at: NaiveDateTime,
    pub due_at: Option<NaiveDateTime>,
    pub warn_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
    pub calendar_id: Option<i64>,
}

/// What changes on a clock as it runs.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = sla_clocks, treat_none_as_null = true)]
pub struct ClockChanges {
    pub target_minutes: i32,
    pub warning_percent: i32,
    pub state: String,
    pub due_at: Option<NaiveDateTime>,
    pub warn_at: Option<NaiveDateTime>,
    pub stopped_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

/// A step of a clock's history; inserted (without its id) through
/// [`bound_values!`](crate::bound_values).
#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = sla_clock_events)]
pub struct ClockEventRow {
    pub id: i64,
    pub clock_id: i64,
    pub kind: String,
    pub reason: Option<String>,
    pub due_at: Option<NaiveDateTime>,
    pub at: NaiveDateTime,
}

pub fn policies(conn: &mut DbConn) -> AppResult<Vec<PolicyRow>> {
    Ok(sla_policies::table
        .order(sla_policies::id)
        .select(PolicyRow::as_select())
        .load(conn)?)
}

pub fn active_policies(conn: &mut DbConn) -> AppResult<Vec<PolicyRow>> {
    Ok(sla_policies::table
        .filter(sla_policies::active.eq(true))
        .order(sla_policies::id)
        .select(PolicyRow::as_select())
        .load(conn)?)
}

pub fn policy(conn: &mut DbConn, id: i64) -> AppResult<Option<PolicyRow>> {
    Ok(sla_policies::table
        .find(id)
        .select(PolicyRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_policy(conn: &mut DbConn, row: &PolicyRow) -> AppResult<i64> {
    Ok(diesel::insert_into(sla_policies::table)
        .values(row)
        .returning(sla_policies::id)
        .get_result(conn)?)
}

pub fn update_policy(conn: &mut DbConn, row: &PolicyRow) -> AppResult<()> {
    diesel::update(sla_policies::table.find(row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

macro_rules! clock_values {
    ($new:expr) => {
        crate::bound_values!(
            sla_clocks,
            $new,
            [
                ticket_id,
                policy_id,
                kind,
                target_minutes,
                warning_percent,
                state,
                started_at,
                due_at,
                warn_at,
                updated_at,
                calendar_id,
            ]
        )
    };
}

pub fn insert_clock(conn: &mut DbConn, new: &NewClock) -> AppResult<i64> {
    Ok(diesel::insert_into(sla_clocks::table)
        .values(clock_values!(new))
        .returning(sla_clocks::id)
        .get_result(conn)?)
}

/// Clocks to start, each with the first step of its history (`kind`,
/// `reason`, at its start, with its due time), written with another
/// statement's rows (a new ticket's with its first article).
pub struct Starting<'a> {
    pub news: &'a [NewClock],
    pub kind: &'a str,
    pub reason: Option<&'a str>,
}

impl Starting<'_> {
    /// No clocks.
    pub const NONE: Starting<'static> = Starting {
        news: &[],
        kind: "",
        reason: None,
    };
}

/// Inserts clocks, each with the first step of its history (`kind`,
/// `reason`, at its start, with its due time); returns their ids in order.
/// On PostgreSQL the clocks a change starts together (a new ticket's two) go
/// in one statement.
pub fn insert_clocks_with_event(
    conn: &mut DbConn,
    news: &[NewClock],
    kind: &str,
    reason: Option<&str>,
) -> AppResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(news.len());
    match conn {
        DbConn::Postgresql(c) => {
            for chunk in news.chunks(2) {
                ids.extend(match chunk {
                    [a, b] => ClocksWithEvent {
                        news: [a, b],
                        kind,
                        reason,
                    }
                    .load::<i64>(c)?,
                    [one] => ClocksWithEvent {
                        news: [one],
                        kind,
                        reason,
                    }
                    .load::<i64>(c)?,
                    _ => vec![],
                });
            }
        }
        DbConn::Sqlite(_) => {
            for new in news {
                let id = insert_clock(conn, new)?;
                insert_event(
                    conn,
                    &ClockEventRow {
                        id: 0,
                        clock_id: id,
                        kind: kind.into(),
                        reason: reason.map(str::to_string),
                        due_at: new.due_at,
                        at: new.started_at,
                    },
                )?;
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

/// The statement of [`insert_clocks_with_event`] on PostgreSQL for `N`
/// clocks, written out so that diesel keeps it prepared (a `sql_query` is
/// parsed and planned again on every execution): the clocks, and their first
/// steps made from what they return.
struct ClocksWithEvent<'a, const N: usize> {
    news: [&'a NewClock; N],
    kind: &'a str,
    reason: Option<&'a str>,
}

/// [`ClocksWithEvent`]'s key in the prepared-statement cache: its text is
/// fixed for each number of clocks.
struct ClocksWithEventId<const N: usize>;

impl<const N: usize> QueryId for ClocksWithEvent<'_, N> {
    type QueryId = ClocksWithEventId<N>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const N: usize> Query for ClocksWithEvent<'_, N> {
    type SqlType = BigInt;
}

impl<const N: usize> RunQueryDsl<diesel::PgConnection> for ClocksWithEvent<'_, N> {}

impl<const N: usize> QueryFragment<Pg> for ClocksWithEvent<'_, N> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "WITH c AS (INSERT INTO sla_clocks (ticket_id, policy_id, kind, target_minutes, \
             warning_percent, state, started_at, due_at, warn_at, updated_at, calendar_id) VALUES ",
        );
        for (i, n) in self.news.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            out.push_bind_param::<BigInt, _>(&n.ticket_id)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, _>(&n.policy_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&n.kind)?;
            out.push_sql(", ");
            out.push_bind_param::<Integer, _>(&n.target_minutes)?;
            out.push_sql(", ");
            out.push_bind_param::<Integer, _>(&n.warning_percent)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&n.state)?;
            out.push_sql(", ");
            out.push_bind_param::<Timestamp, _>(&n.started_at)?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Timestamp>, _>(&n.due_at)?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Timestamp>, _>(&n.warn_at)?;
            out.push_sql(", ");
            out.push_bind_param::<Timestamp, _>(&n.updated_at)?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<BigInt>, _>(&n.calendar_id)?;
            out.push_sql(")");
        }
        out.push_sql(
            " RETURNING id, due_at, started_at), \
             e AS (INSERT INTO sla_clock_events (clock_id, kind, reason, due_at, at) SELECT id, ",
        );
        out.push_bind_param::<Text, _>(&self.kind)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&self.reason)?;
        // Ids come from the sequence in the order of the rows.
        out.push_sql(", due_at, started_at FROM c) SELECT id FROM c ORDER BY id");
        Ok(())
    }
}

pub fn update_clock(conn: &mut DbConn, id: i64, changes: &ClockChanges) -> AppResult<()> {
    diesel::update(sla_clocks::table.find(id))
        .set(changes)
        .execute(conn)?;
    Ok(())
}

pub fn insert_event(conn: &mut DbConn, row: &ClockEventRow) -> AppResult<()> {
    diesel::insert_into(sla_clock_events::table)
        .values(crate::bound_values!(
            sla_clock_events,
            row,
            [clock_id, kind, reason, due_at, at]
        ))
        .execute(conn)?;
    Ok(())
}

/// A ticket's clocks, oldest first.
pub fn clock(conn: &mut DbConn, id: i64) -> AppResult<Option<ClockRow>> {
    Ok(sla_clocks::table
        .find(id)
        .select(ClockRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn clocks_of(conn: &mut DbConn, ticket_id: i64) -> AppResult<Vec<ClockRow>> {
    Ok(sla_clocks::table
        .filter(sla_clocks::ticket_id.eq(ticket_id))
        .order(sla_clocks::id)
        .select(ClockRow::as_select())
        .load(conn)?)
}

/// The running or paused clocks of some tickets.
pub fn live_clocks_of(conn: &mut DbConn, ticket_ids: &[i64]) -> AppResult<Vec<ClockRow>> {
    Ok(sla_clocks::table
        .filter(sla_clocks::ticket_id.eq_any(ticket_ids))
        .filter(sla_clocks::stopped_at.is_null())
        .order(sla_clocks::id)
        .select(ClockRow::as_select())
        .load(conn)?)
}

/// The clocks not yet stopped that count on a calendar.
pub fn live_clocks_on_calendar(conn: &mut DbConn, calendar_id: i64) -> AppResult<Vec<ClockRow>> {
    Ok(sla_clocks::table
        .filter(sla_clocks::calendar_id.eq(calendar_id))
        .filter(sla_clocks::stopped_at.is_null())
        .order(sla_clocks::id)
        .select(ClockRow::as_select())
        .load(conn)?)
}

/// The clocks not yet stopped that a policy governs.
pub fn live_clocks_of_policy(conn: &mut DbConn, policy_id: i64) -> AppResult<Vec<ClockRow>> {
    Ok(sla_clocks::table
        .filter(sla_clocks::policy_id.eq(policy_id))
        .filter(sla_clocks::stopped_at.is_null())
        .order(sla_clocks::id)
        .select(ClockRow::as_select())
        .load(conn)?)
}

/// The history of a ticket's clocks, in order ([`events_of`] its clocks), in
/// one query whose text does not change with their number, so that it
/// stays prepared.
pub fn events_of_ticket(conn: &mut DbConn, ticket_id: i64) -> AppResult<Vec<ClockEventRow>> {
    let clocks = sla_clocks::table
        .filter(sla_clocks::ticket_id.eq(ticket_id))
        .select(sla_clocks::id);
    Ok(sla_clock_events::table
        .filter(sla_clock_events::clock_id.eq_any(clocks))
        .order(sla_clock_events::id)
        .select(ClockEventRow::as_select())
        .load(conn)?)
}

/// The history of some clocks, in order.
pub fn events_of(conn: &mut DbConn, clock_ids: &[i64]) -> AppResult<Vec<ClockEventRow>> {
    Ok(sla_clock_events::table
        .filter(sla_clock_events::clock_id.eq_any(clock_ids))
        .order(sla_clock_events::id)
        .select(ClockEventRow::as_select())
        .load(conn)?)
}

/// Which service-level condition the ticket list asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaFilter {
    /// A running clock past its warning time, not yet due.
    AtRisk,
    /// A running clock past its due time, or a clock stopped late.
    Breached,
}

/// The clocks that put a ticket at risk at `now`: running, past the warning
/// time, not yet due. The ticket list's `sla=at_risk` and the supervisor view
/// both count with this.
#[diesel::dsl::auto_type]
pub fn at_risk_clock(now: NaiveDateTime) -> _ {
    let running: &'static str = "running";
    sla_clocks::state
        .eq(running)
        .and(sla_clocks::warn_at.le(now))
        .and(sla_clocks::due_at.ge(now))
}

/// The clocks that make a ticket breached at `now`: running past the due
/// time, or stopped late.
#[diesel::dsl::auto_type]
pub fn breached_clock(now: NaiveDateTime) -> _ {
    let running: &'static str = "running";
    let breached: &'static str = "breached";
    sla_clocks::state
        .eq(running)
        .and(sla_clocks::due_at.lt(now))
        .or(sla_clocks::state.eq(breached))
}
