//! Staff accounts, their queue memberships and their bearer tokens.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::rows::{AgentRow, ApiTokenRow, NewAgent, NewApiToken};
use super::schema::{agents, api_tokens, queue_members};
use super::DbConn;
use crate::error::AppResult;

pub fn insert(conn: &mut DbConn, new: &NewAgent) -> AppResult<i64> {
    Ok(diesel::insert_into(agents::table)
        .values(new)
        .returning(agents::id)
        .get_result(conn)?)
}

pub fn find(conn: &mut DbConn, id: i64) -> AppResult<Option<AgentRow>> {
    Ok(agents::table
        .find(id)
        .select(AgentRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_email(conn: &mut DbConn, email: &str) -> AppResult<Option<AgentRow>> {
    Ok(agents::table
        .filter(agents::email.eq(email))
        .select(AgentRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(conn: &mut DbConn) -> AppResult<Vec<AgentRow>> {
    Ok(agents::table
        .order(agents::id)
        .select(AgentRow::as_select())
        .load(conn)?)
}

/// Every agent's id and display name (for showing who did what).
pub fn names(conn: &mut DbConn) -> AppResult<std::collections::HashMap<i64, String>> {
    let rows: Vec<(i64, String)> = agents::table
        .select((agents::id, agents::name))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

pub fn queues_of(conn: &mut DbConn, agent_id: i64) -> AppResult<Vec<i64>> {
    Ok(queue_members::table
        .filter(queue_members::agent_id.eq(agent_id))
        .select(queue_members::queue_id)
        .order(queue_members::queue_id)
        .load(conn)?)
}

pub fn all_memberships(conn: &mut DbConn) -> AppResult<Vec<(i64, i64)>> {
    Ok(queue_members::table
        .select((queue_members::agent_id, queue_members::queue_id))
        .load(conn)?)
}

/// Replaces an agent's memberships with `queue_ids`.
pub fn set_queues(conn: &mut DbConn, agent_id: i64, queue_ids: &[i64]) -> AppResult<()> {
    diesel::delete(queue_members::table.filter(queue_members::agent_id.eq(agent_id)))
        .execute(conn)?;
    for q in queue_ids {
        diesel::insert_into(queue_members::table)
            .values((
                queue_members::agent_id.eq(agent_id),
                queue_members::queue_id.eq(q),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn members_of(conn: &mut DbConn, queue_id: i64) -> AppResult<Vec<i64>> {
    Ok(queue_members::table
        .filter(queue_members::queue_id.eq(queue_id))
        .select(queue_members::agent_id)
        .load(conn)?)
}

pub fn update(
    conn: &mut DbConn,
    id: i64,
    name: &str,
    role: &str,
    active: bool,
    tz: Option<&str>,
) -> AppResult<()> {
    diesel::update(agents::table.find(id))
        .set((
            agents::name.eq(name),
            agents::role.eq(role),
            agents::active.eq(active),
            agents::time_zone.eq(tz),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_password(conn: &mut DbConn, id: i64, hash: &str) -> AppResult<()> {
    diesel::update(agents::table.find(id))
        .set(agents::password_hash.eq(hash))
        .execute(conn)?;
    Ok(())
}

pub fn insert_token(conn: &mut DbConn, new: &NewApiToken) -> AppResult<i64> {
    Ok(diesel::insert_into(api_tokens::table)
        .values(new)
        .returning(api_tokens::id)
        .get_result(conn)?)
}

/// A live token with its active agent and the agent's queues (in id order),
/// in one query: every staff request starts with it.
pub fn find_token(
    conn: &mut DbConn,
    hash: &str,
    now: NaiveDateTime,
) -> AppResult<Option<(ApiTokenRow, AgentRow, Vec<i64>)>> {
    let rows: Vec<(ApiTokenRow, AgentRow, Option<i64>)> = api_tokens::table
        .inner_join(agents::table)
        .left_join(queue_members::table.on(queue_members::agent_id.eq(agents::id)))
        .filter(api_tokens::token_hash.eq(hash))
        .filter(api_tokens::revoked_at.is_null())
        .filter(
            api_tokens::expires_at
                .is_null()
                .or(api_tokens::expires_at.gt(now)),
        )
        .filter(agents::active.eq(true))
        .select((
            ApiTokenRow::as_select(),
            AgentRow::as_select(),
            queue_members::queue_id.nullable(),
        ))
        .order(queue_members::queue_id)
        .load(conn)?;
    let queues = rows.iter().filter_map(|(_, _, q)| *q).collect();
    Ok(rows
        .into_iter()
        .next()
        .map(|(token, agent, _)| (token, agent, queues)))
}

pub fn tokens_of(conn: &mut DbConn, agent_id: i64) -> AppResult<Vec<ApiTokenRow>> {
    Ok(api_tokens::table
        .filter(api_tokens::agent_id.eq(agent_id))
        .filter(api_tokens::revoked_at.is_null())
        .order(api_tokens::id)
        .select(ApiTokenRow::as_select())
        .load(conn)?)
}

/// Revokes a token of this agent; false when there was none.
pub fn revoke_token(
    conn: &mut DbConn,
    agent_id: i64,
    token_id: i64,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        api_tokens::table
            .filter(api_tokens::id.eq(token_id))
            .filter(api_tokens::agent_id.eq(agent_id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}
