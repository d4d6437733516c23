//! Delegations of back-office work.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::delegations;
use super::DbConn;
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = delegations)]
pub struct DelegationRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub ticket_id: i64,
    pub queue_id: i64,
    pub agent_id: Option<i64>,
    pub mailbox_id: i64,
    pub to_address: String,
    pub task: String,
    pub token: String,
    pub state: String,
    pub due_at: NaiveDateTime,
    pub external_ref: Option<String>,
    pub created_at: NaiveDateTime,
    pub answered_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConn, row: &DelegationRow) -> AppResult<i64> {
    Ok(diesel::insert_into(delegations::table)
        .values(row)
        .returning(delegations::id)
        .get_result(conn)?)
}

pub fn of_ticket(conn: &mut DbConn, ticket_id: i64) -> AppResult<Vec<DelegationRow>> {
    Ok(delegations::table
        .filter(delegations::ticket_id.eq(ticket_id))
        .order(delegations::id)
        .select(DelegationRow::as_select())
        .load(conn)?)
}

pub fn by_token(conn: &mut DbConn, token: &str) -> AppResult<Option<DelegationRow>> {
    Ok(delegations::table
        .filter(delegations::token.eq(token))
        .select(DelegationRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn by_external_ref(conn: &mut DbConn, reference: &str) -> AppResult<Option<DelegationRow>> {
    Ok(delegations::table
        .filter(delegations::external_ref.eq(reference))
        .order(delegations::id.desc())
        .select(DelegationRow::as_select())
        .first(conn)
        .optional()?)
}

/// A ticket's newest delegation (the one a reply without a token answers).
pub fn latest_of_ticket(conn: &mut DbConn, ticket_id: i64) -> AppResult<Option<DelegationRow>> {
    Ok(delegations::table
        .filter(delegations::ticket_id.eq(ticket_id))
        .order(delegations::id.desc())
        .select(DelegationRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn answered(
    conn: &mut DbConn,
    id: i64,
    external_ref: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(delegations::table.find(id))
        .set((
            delegations::state.eq("answered"),
            delegations::answered_at.eq(now),
            delegations::external_ref.eq(external_ref),
        ))
        .execute(conn)?;
    Ok(())
}
