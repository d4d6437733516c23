//! Background jobs, scheduled with tokio-cron-scheduler. Every job claims its
//! work in the database (leases, `SKIP LOCKED`), so several instances sharing
//! one PostgreSQL never do the same piece of work twice.

use std::sync::Arc;
use std::time::Duration;

use tokio_cron_scheduler::{Job, JobScheduler};

use crate::channels::email::imap;
use crate::channels::email::sender::{self, Mailer, SendReport};
use crate::channels::phone::callbacks;
use crate::error::{AppError, AppResult};
use crate::service::App;

fn job_error(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("scheduler: {e}"))
}

/// Starts the scheduler with every job; keep the returned handle alive.
pub async fn start(app: App) -> AppResult<JobScheduler> {
    let scheduler = JobScheduler::new().await.map_err(job_error)?;
    let app_for_poll = app.clone();
    let dispatch_app = app.clone();
    let mailer = Arc::new(Mailer::from_config(&app.config)?);
    let every = Duration::from_secs(app.config.outbox_interval_secs);
    let job = Job::new_repeated_async(every, move |_id, _scheduler| {
        let app = app.clone();
        let mailer = mailer.clone();
        Box::pin(async move {
            match sender::send_due(&app, &mailer).await {
                Ok(r) if r != SendReport::default() => {
                    tracing::info!(
                        sent = r.sent,
                        retrying = r.retrying,
                        failed = r.failed,
                        "outbox"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "outbox run failed"),
            }
        })
    })
    .map_err(job_error)?;
    scheduler.add(job).await.map_err(job_error)?;
    let poll_app = app_for_poll;
    let every = Duration::from_secs(poll_app.config.poll_interval_secs);
    let job = Job::new_repeated_async(every, move |_id, _scheduler| {
        let app = poll_app.clone();
        Box::pin(async move {
            if let Err(e) = imap::poll_all(&app).await {
                tracing::error!(error = %e, "mailbox polling failed");
            }
        })
    })
    .map_err(job_error)?;
    scheduler.add(job).await.map_err(job_error)?;
    let every = Duration::from_secs(dispatch_app.config.callback_dispatch_secs);
    let job = Job::new_repeated_async(every, move |_id, _scheduler| {
        let app = dispatch_app.clone();
        Box::pin(async move {
            match callbacks::dispatch(&app).await {
                Ok(r) if r.offered > 0 || r.expired > 0 => {
                    tracing::info!(
                        offered = r.offered,
                        expired = r.expired,
                        waiting = r.waiting,
                        "callback dispatcher"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "callback dispatch failed"),
            }
        })
    })
    .map_err(job_error)?;
    scheduler.add(job).await.map_err(job_error)?;
    scheduler.start().await.map_err(job_error)?;
    Ok(scheduler)
}
