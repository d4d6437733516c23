//! Escalation rules per queue, and the firings that record each rule acting
//! once on a clock.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{escalation_firings, escalation_rules, sla_clocks, tickets};
use super::DbConn;
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = escalation_rules, treat_none_as_null = true)]
pub struct RuleRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub queue_id: i64,
    pub name: String,
    pub on_event: String,
    pub clock_kind: Option<String>,
    pub notify_assignee: bool,
    pub notify_supervisor: bool,
    pub raise_priority: bool,
    pub escalate_to_queue_id: Option<i64>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn rules(conn: &mut DbConn, queue_id: Option<i64>) -> AppResult<Vec<RuleRow>> {
    let mut q = escalation_rules::table
        .order(escalation_rules::id)
        .select(RuleRow::as_select())
        .into_boxed();
    if let Some(id) = queue_id {
        q = q.filter(escalation_rules::queue_id.eq(id));
    }
    Ok(q.load(conn)?)
}

pub fn rule(conn: &mut DbConn, id: i64) -> AppResult<Option<RuleRow>> {
    Ok(escalation_rules::table
        .find(id)
        .select(RuleRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_rule(conn: &mut DbConn, row: &RuleRow) -> AppResult<i64> {
    Ok(diesel::insert_into(escalation_rules::table)
        .values(row)
        .returning(escalation_rules::id)
        .get_result(conn)?)
}

pub fn update_rule(conn: &mut DbConn, row: &RuleRow) -> AppResult<()> {
    diesel::update(escalation_rules::table.find(row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

/// A rule whose moment has come for a clock and that has not fired on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub rule_id: i64,
    pub clock_id: i64,
    pub ticket_id: i64,
}

/// Active rules of the queue each ticket is in now, whose running clock
/// passed the rule's moment (warning time while still in time, or due time)
/// and that have not fired on that clock; warnings first, then the longest
/// overdue.
pub fn due(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> AppResult<Vec<Due>> {
    let rows: Vec<(i64, i64, i64)> = sla_clocks::table
        .inner_join(tickets::table.on(tickets::id.eq(sla_clocks::ticket_id)))
        .inner_join(
            escalation_rules::table.on(escalation_rules::queue_id
                .eq(tickets::queue_id)
                .and(escalation_rules::active.eq(true))
                .and(
                    escalation_rules::clock_kind
                        .is_null()
                        .or(escalation_rules::clock_kind.eq(sla_clocks::kind.nullable())),
                )),
        )
        .filter(sla_clocks::state.eq("running"))
        .filter(
            escalation_rules::on_event
                .eq("warning")
                .and(sla_clocks::warn_at.le(now))
                .and(sla_clocks::due_at.gt(now))
                .or(escalation_rules::on_event
                    .eq("breach")
                    .and(sla_clocks::due_at.le(now))),
        )
        .filter(diesel::dsl::not(diesel::dsl::exists(
            escalation_firings::table
                .filter(escalation_firings::rule_id.eq(escalation_rules::id))
                .filter(escalation_firings::clock_id.eq(sla_clocks::id)),
        )))
        .order((
            escalation_rules::on_event.desc(),
            sla_clocks::due_at.asc(),
            escalation_rules::id.asc(),
        ))
        .limit(limit)
        .select((escalation_rules::id, sla_clocks::id, sla_clocks::ticket_id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(rule_id, clock_id, ticket_id)| Due {
            rule_id,
            clock_id,
            ticket_id,
        })
        .collect())
}

/// Records that a rule fired on a clock; `false` when it already had (in
/// another transaction, perhaps another instance: the primary key decides).
pub fn fire(conn: &mut DbConn, due: Due, now: NaiveDateTime, actions: &str) -> AppResult<bool> {
    macro_rules! q {
        () => {
            diesel::insert_into(escalation_firings::table)
                .values((
                    escalation_firings::rule_id.eq(due.rule_id),
                    escalation_firings::clock_id.eq(due.clock_id),
                    escalation_firings::ticket_id.eq(due.ticket_id),
                    escalation_firings::fired_at.eq(now),
                    escalation_firings::actions.eq(actions),
                ))
                .on_conflict_do_nothing()
        };
    }
    let n = match conn {
        DbConn::Postgresql(c) => q!().execute(c)?,
        DbConn::Sqlite(c) => q!().execute(c)?,
    };
    Ok(n == 1)
}
