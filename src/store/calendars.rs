//! Business calendars queues can follow.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{calendars, queues};
use super::DbConn;
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = calendars)]
pub struct CalendarRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub name: String,
    pub time_zone: String,
    pub hours: String,
    pub italian_holidays: bool,
    pub holidays: String,
    pub closed_days: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn all(conn: &mut DbConn) -> AppResult<Vec<CalendarRow>> {
    Ok(calendars::table
        .order(calendars::id)
        .select(CalendarRow::as_select())
        .load(conn)?)
}

pub fn find(conn: &mut DbConn, id: i64) -> AppResult<Option<CalendarRow>> {
    Ok(calendars::table
        .find(id)
        .select(CalendarRow::as_select())
        .first(conn)
        .optional()?)
}

/// The calendar a queue follows, if it has its own.
pub fn of_queue(conn: &mut DbConn, queue_id: i64) -> AppResult<Option<CalendarRow>> {
    Ok(queues::table
        .inner_join(calendars::table.on(queues::calendar_id.eq(calendars::id.nullable())))
        .filter(queues::id.eq(queue_id))
        .select(CalendarRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConn, row: &CalendarRow) -> AppResult<i64> {
    Ok(diesel::insert_into(calendars::table)
        .values(row)
        .returning(calendars::id)
        .get_result(conn)?)
}

pub fn update(conn: &mut DbConn, row: &CalendarRow) -> AppResult<()> {
    diesel::update(calendars::table.find(row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

/// The queues following a calendar.
pub fn queues_of(conn: &mut DbConn, id: i64) -> AppResult<Vec<i64>> {
    Ok(queues::table
        .filter(queues::calendar_id.eq(id))
        .order(queues::id)
        .select(queues::id)
        .load(conn)?)
}
