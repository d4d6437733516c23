//! The statistics queries: tickets opened in a period, counted in one grouped
//! query by channel, queue, topic and state; the service folds them and leaves
//! out the topics kept out of the statistics.

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;

use super::schema::{tickets, topics};
use super::DbConn;
use crate::error::AppResult;

/// How many tickets opened in `[from, to)` share a channel, queue, topic and state.
#[derive(Debug, Clone, Queryable)]
pub struct TicketCount {
    pub channel: String,
    pub queue_id: i64,
    pub topic_id: Option<i64>,
    pub state: String,
    pub count: i64,
}

pub fn ticket_counts(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> AppResult<Vec<TicketCount>> {
    Ok(tickets::table
        .filter(tickets::created_at.ge(from))
        .filter(tickets::created_at.lt(to))
        .group_by((
            tickets::channel,
            tickets::queue_id,
            tickets::topic_id,
            tickets::state,
        ))
        .select((
            tickets::channel,
            tickets::queue_id,
            tickets::topic_id,
            tickets::state,
            count_star(),
        ))
        .load(conn)?)
}

/// Per topic, how many tickets opened in `[from, to)` have been resolved.
pub fn resolved_counts(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> AppResult<Vec<(Option<i64>, i64)>> {
    Ok(tickets::table
        .filter(tickets::created_at.ge(from))
        .filter(tickets::created_at.lt(to))
        .filter(tickets::resolved_at.is_not_null())
        .group_by(tickets::topic_id)
        .select((tickets::topic_id, count_star()))
        .load(conn)?)
}

/// Topic, opening and first response of the tickets opened in `[from, to)`
/// that have had one (two instants a ticket: cheap next to the tickets themselves).
pub fn first_responses(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> AppResult<Vec<(Option<i64>, NaiveDateTime, NaiveDateTime)>> {
    let rows: Vec<(Option<i64>, NaiveDateTime, Option<NaiveDateTime>)> = tickets::table
        .filter(tickets::created_at.ge(from))
        .filter(tickets::created_at.lt(to))
        .filter(tickets::first_response_at.is_not_null())
        .select((
            tickets::topic_id,
            tickets::created_at,
            tickets::first_response_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(t, c, f)| f.map(|f| (t, c, f)))
        .collect())
}

/// The topics whose tickets are kept out of the statistics.
pub fn excluded_topics(conn: &mut DbConn) -> AppResult<Vec<i64>> {
    Ok(topics::table
        .filter(topics::in_statistics.eq(false))
        .select(topics::id)
        .load(conn)?)
}
