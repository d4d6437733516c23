//! The last run of each background job.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::job_status;
use super::DbConn;
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = job_status)]
pub struct JobRow {
    pub name: String,
    pub instance: String,
    pub last_started_at: NaiveDateTime,
    pub last_finished_at: NaiveDateTime,
    pub last_duration_ms: i64,
    pub last_outcome: String,
    pub last_detail: String,
    pub last_error: Option<String>,
    pub last_error_at: Option<NaiveDateTime>,
    pub runs: i64,
    pub failures: i64,
}

/// One finished run.
pub struct Run<'a> {
    pub name: &'a str,
    pub instance: &'a str,
    pub started_at: NaiveDateTime,
    pub finished_at: NaiveDateTime,
    pub outcome: &'a str,
    pub detail: &'a str,
    pub error: Option<&'a str>,
}

pub fn record(c: &mut DbConn, r: &Run<'_>) -> AppResult<()> {
    let ms = (r.finished_at - r.started_at).num_milliseconds();
    let failed = i64::from(r.error.is_some());
    let n = diesel::update(job_status::table.find(r.name))
        .set((
            job_status::instance.eq(r.instance),
            job_status::last_started_at.eq(r.started_at),
            job_status::last_finished_at.eq(r.finished_at),
            job_status::last_duration_ms.eq(ms),
            job_status::last_outcome.eq(r.outcome),
            job_status::last_detail.eq(r.detail),
            job_status::runs.eq(job_status::runs + 1),
            job_status::failures.eq(job_status::failures + failed),
        ))
        .execute(c)?;
    if n == 0 {
        diesel::insert_into(job_status::table)
            .values((
                job_status::name.eq(r.name),
                job_status::instance.eq(r.instance),
                job_status::last_started_at.eq(r.started_at),
                job_status::last_finished_at.eq(r.finished_at),
                job_status::last_duration_ms.eq(ms),
                job_status::last_outcome.eq(r.outcome),
                job_status::last_detail.eq(r.detail),
                job_status::runs.eq(1),
                job_status::failures.eq(failed),
            ))
            .execute(c)?;
    }
    if let Some(e) = r.error {
        diesel::update(job_status::table.find(r.name))
            .set((
                job_status::last_error.eq(e),
                job_status::last_error_at.eq(r.finished_at),
            ))
            .execute(c)?;
    }
    Ok(())
}

pub fn all(c: &mut DbConn) -> AppResult<Vec<JobRow>> {
    Ok(job_status::table
        .order(job_status::name)
        .select(JobRow::as_select())
        .load(c)?)
}
