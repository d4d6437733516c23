//! Background jobs, scheduled with tokio-cron-scheduler. Every job claims its
//! work in the database (leases, `SKIP LOCKED`, advisory locks and unique
//! firing records on PostgreSQL; the single writer on SQLite), so several instances sharing one PostgreSQL
//! never do the same piece of work twice, and work a crashed instance held is
//! taken over when its lease runs out. Each run is logged and its outcome kept
//! in `job_status` (`GET /api/v1/jobs`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio_cron_scheduler::{Job, JobScheduler};
use utoipa::ToSchema;

use crate::channels::email::imap;
use crate::channels::email::sender::{self, Mailer};
use crate::channels::phone::callbacks;
use crate::error::{AppError, AppResult};
use crate::service::housekeeping;
use crate::service::views::local;
use crate::service::{App, Viewer};
use crate::store::jobs::{self as store, Run};

fn job_error(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("scheduler: {e}"))
}

/// This process, as named in `job_status`.
fn instance_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "sportello".into());
    format!("{host}:{}", std::process::id())
}

/// Runs one job and records how it went; a run that did something is logged.
async fn run<F, T>(app: &App, name: &'static str, instance: &str, work: F)
where
    F: Future<Output = AppResult<(T, bool)>>,
    T: Serialize,
{
    let started = app.clock.now_db();
    let result = work.await;
    let finished = app.clock.now_db();
    let (outcome, detail, error) = match &result {
        Ok((report, busy)) => {
            let detail = serde_json::to_string(report).unwrap_or_default();
            if *busy {
                tracing::info!(job = name, %detail, "job run");
            }
            ("ok", detail, None)
        }
        Err(e) => {
            tracing::error!(job = name, error = %e, "job run failed");
            ("error", String::new(), Some(e.to_string()))
        }
    };
    let instance = instance.to_string();
    let recorded = app
        .db
        .write(move |c| {
            store::record(
                c,
                &Run {
                    name,
                    instance: &instance,
                    started_at: started,
                    finished_at: finished,
                    outcome,
                    detail: &detail,
                    error: error.as_deref(),
                },
            )
        })
        .await;
    if let Err(e) = recorded {
        tracing::warn!(job = name, error = %e, "could not record the job run");
    }
}

fn every<F, Fut>(secs: u64, f: F) -> AppResult<Job>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let f = Arc::new(f);
    Job::new_repeated_async(Duration::from_secs(secs), move |_id, _scheduler| {
        let f = f.clone();
        Box::pin(async move { f().await })
    })
    .map_err(job_error)
}

/// Starts the scheduler with every job; keep the returned handle alive.
pub async fn start(app: App) -> AppResult<JobScheduler> {
    let scheduler = JobScheduler::new().await.map_err(job_error)?;
    let instance: Arc<str> = instance_name().into();
    let mailer = Arc::new(Mailer::from_config(&app.config)?);

    let (a, i) = (app.clone(), instance.clone());
    let outbox = every(app.config.outbox_interval_secs, move || {
        let (app, instance, mailer) = (a.clone(), i.clone(), mailer.clone());
        async move {
            run(&app, "outbox", &instance, async {
                let r = sender::send_due(&app, &mailer).await?;
                let busy = r.sent + r.retrying + r.failed > 0;
                Ok((
                    serde_json::json!({"sent": r.sent, "retrying": r.retrying, "failed": r.failed}),
                    busy,
                ))
            })
            .await
        }
    })?;
    scheduler.add(outbox).await.map_err(job_error)?;

    let (a, i) = (app.clone(), instance.clone());
    let polling = every(app.config.poll_interval_secs, move || {
        let (app, instance) = (a.clone(), i.clone());
        async move {
            run(&app, "mail_poll", &instance, async {
                imap::poll_all(&app).await?;
                Ok(((), false))
            })
            .await
        }
    })?;
    scheduler.add(polling).await.map_err(job_error)?;

    let (a, i) = (app.clone(), instance.clone());
    let dispatcher = every(app.config.callback_dispatch_secs, move || {
        let (app, instance) = (a.clone(), i.clone());
        async move {
            run(&app, "callback_dispatch", &instance, async {
                let r = callbacks::dispatch(&app).await?;
                let busy = r.offered > 0 || r.expired > 0;
                Ok((r, busy))
            })
            .await
        }
    })?;
    scheduler.add(dispatcher).await.map_err(job_error)?;

    let (a, i) = (app.clone(), instance.clone());
    let sla_check = every(app.config.sla_check_secs, move || {
        let (app, instance) = (a.clone(), i.clone());
        async move {
            run(&app, "sla_check", &instance, async {
                let r = crate::service::sla::escalation::check(&app).await?;
                let busy = r.warnings + r.breaches > 0;
                Ok((r, busy))
            })
            .await
        }
    })?;
    scheduler.add(sla_check).await.map_err(job_error)?;

    let (a, i) = (app.clone(), instance.clone());
    let cleaning = every(app.config.housekeeping_secs, move || {
        let (app, instance) = (a.clone(), i.clone());
        async move {
            run(&app, "housekeeping", &instance, async {
                let r = housekeeping::run(&app).await?;
                let busy = r.busy();
                Ok((r, busy))
            })
            .await
        }
    })?;
    scheduler.add(cleaning).await.map_err(job_error)?;

    scheduler.start().await.map_err(job_error)?;
    tracing::info!(instance = %instance, "background jobs started");
    Ok(scheduler)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    /// `outbox`, `mail_poll`, `callback_dispatch`, `sla_check` or `housekeeping`.
    pub name: String,
    /// The instance (host:pid) that ran it last.
    pub instance: String,
    pub last_started_at: chrono::DateTime<chrono::FixedOffset>,
    pub last_duration_ms: i64,
    /// `ok` or `error`.
    pub last_outcome: String,
    /// What the last run did (JSON), e.g. `{"sent":3,…}`.
    pub last_detail: String,
    pub last_error: Option<String>,
    pub last_error_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub runs: i64,
    pub failures: i64,
}

/// How the background jobs are doing (supervisors and admins).
pub async fn status(app: &App, viewer: &Viewer) -> AppResult<Vec<JobView>> {
    if !viewer.actor.can_supervise() {
        return Err(AppError::forbidden(
            "only supervisors see the background jobs",
        ));
    }
    let tz = viewer.tz;
    let rows = app.db.read(store::all).await?;
    Ok(rows
        .into_iter()
        .map(|r| JobView {
            name: r.name,
            instance: r.instance,
            last_started_at: local(r.last_started_at, tz),
            last_duration_ms: r.last_duration_ms,
            last_outcome: r.last_outcome,
            last_detail: r.last_detail,
            last_error: r.last_error,
            last_error_at: r.last_error_at.map(|t| local(t, tz)),
            runs: r.runs,
            failures: r.failures,
        })
        .collect())
}
