//! Housekeeping: closes resolved tickets the customer has not come back to,
//! reminds customers we are waiting on, and resolves tickets that waited on
//! them too long. Candidates come from one query per rule (in pages); each ticket is
//! then handled in its own transaction that locks it and reads its facts
//! again, so with several instances only the first to get there acts.

use chrono::{Duration, NaiveDateTime};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{App, Viewer};
use crate::channels::email::outbound::{self, Outgoing};
use crate::channels::email::templates::Templates;
use crate::config::Config;
use crate::domain::housekeeping::{Due, Facts, Rules};
use crate::domain::{EventKind, TicketState};
use crate::error::{AppError, AppResult};
use crate::store::housekeeping::{self as store, Waiting};
use crate::store::{tickets, DbConn};

/// Candidates read per query.
const BATCH: i64 = 500;

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct HousekeepingReport {
    /// Resolved tickets closed.
    pub closed: usize,
    /// Reminders queued to customers.
    pub reminded: usize,
    /// Reminders due to customers with no e-mail address (recorded, not sent).
    pub reminders_skipped: usize,
    /// Tickets resolved after waiting on the customer too long.
    pub resolved: usize,
    /// Candidates found with nothing left to do (another instance, or a
    /// change, got there first).
    pub unchanged: usize,
    /// Tickets that could not be handled (logged; tried again next run).
    pub failed: usize,
}

impl HousekeepingReport {
    /// Whether the run did anything worth logging.
    pub fn busy(&self) -> bool {
        self.closed + self.reminded + self.reminders_skipped + self.resolved + self.failed > 0
    }
}

enum Outcome {
    Unchanged,
    Closed,
    Reminded,
    ReminderSkipped,
    Resolved,
}

/// One housekeeping run, at one instant.
pub async fn run(app: &App) -> AppResult<HousekeepingReport> {
    let rules = app.config.housekeeping();
    let now = app.clock.now_db();
    let mut report = HousekeepingReport::default();
    if let Some(cutoff) = rules.close_cutoff(now) {
        each_candidate(app, &rules, now, &mut report, move |c, after| {
            store::resolved_before(c, cutoff, after, BATCH)
        })
        .await?;
    }
    if let Some(cutoff) = rules.waiting_cutoff(now) {
        each_candidate(app, &rules, now, &mut report, move |c, after| {
            store::waiting_before(c, cutoff, after, BATCH)
        })
        .await?;
    }
    Ok(report)
}

/// Handles the candidates one query finds, page by page (by id, so tickets
/// left as they are never hide the ones after them).
async fn each_candidate<F>(
    app: &App,
    rules: &Rules,
    now: NaiveDateTime,
    report: &mut HousekeepingReport,
    candidates: F,
) -> AppResult<()>
where
    F: Fn(&mut DbConn, i64) -> AppResult<Vec<i64>> + Clone + Send + 'static,
{
    let mut after = 0;
    loop {
        let find = candidates.clone();
        let page = app.db.read(move |c| find(c, after)).await?;
        for &id in &page {
            let (config, templates, rules) = (app.config.clone(), app.templates.clone(), *rules);
            let handled = app
                .db
                .write(move |c| handle(c, id, &rules, now, &config, &templates))
                .await;
            match handled {
                Ok(Outcome::Unchanged) => report.unchanged += 1,
                Ok(Outcome::Closed) => report.closed += 1,
                Ok(Outcome::Reminded) => report.reminded += 1,
                Ok(Outcome::ReminderSkipped) => report.reminders_skipped += 1,
                Ok(Outcome::Resolved) => report.resolved += 1,
                Err(e) => {
                    tracing::warn!(ticket = id, error = %e, "housekeeping could not handle a ticket");
                    report.failed += 1;
                }
            }
        }
        match page.last() {
            Some(&last) if page.len() as i64 == BATCH => after = last,
            _ => return Ok(()),
        }
    }
}

/// Runs housekeeping now (supervisors and admins).
pub async fn run_now(app: &App, viewer: &Viewer) -> AppResult<HousekeepingReport> {
    if !viewer.actor.can_supervise() {
        return Err(AppError::forbidden(
            "only supervisors run housekeeping by hand",
        ));
    }
    run(app).await
}

/// Locks the ticket, reads its facts as they are now, and does what is due.
fn handle(
    c: &mut DbConn,
    id: i64,
    rules: &Rules,
    now: NaiveDateTime,
    config: &Config,
    templates: &Templates,
) -> AppResult<Outcome> {
    let Some(row) = tickets::lock(c, id)? else {
        return Ok(Outcome::Unchanged);
    };
    let state = TicketState::parse(&row.state)
        .ok_or_else(|| AppError::Internal(format!("ticket {id} has state '{}'", row.state)))?;
    let waiting = if state == TicketState::PendingCustomer {
        store::waiting(c, id, row.created_at)?
    } else {
        Waiting {
            since: row.created_at,
            reminders: 0,
            last_reminder_at: None,
        }
    };
    let facts = Facts {
        state,
        resolved_at: row.resolved_at,
        waiting_since: waiting.since,
        reminders: waiting.reminders,
        last_reminder_at: waiting.last_reminder_at,
    };
    match rules.due(&facts, now) {
        Due::Nothing => Ok(Outcome::Unchanged),
        Due::Close => {
            let reason = close_reason(rules.auto_close_days);
            super::tickets::auto_close_in(c, id, now, &reason, &config.calendar())?;
            Ok(Outcome::Closed)
        }
        Due::AutoResolve => {
            let language = outbound::recipient_of(c, &row)?.map(|r| r.language);
            let resolution = resolution_text(language.as_deref(), rules.auto_resolve_days);
            super::tickets::auto_resolve_in(c, id, now, resolution, config, templates)?;
            Ok(Outcome::Resolved)
        }
        Due::Remind(n) => {
            let resolve_on = (rules.auto_resolve_days > 0).then(|| {
                let at = (waiting.since + Duration::days(rules.auto_resolve_days)).and_utc();
                at.with_timezone(&config.time_zone)
                    .format("%d/%m/%Y")
                    .to_string()
            });
            let out = Outgoing {
                config,
                templates,
                now,
            };
            let email = outbound::to_customer(
                c,
                out,
                outbound::kind::PENDING_REMINDER,
                &row,
                None,
                json!({"reminder": n, "resolve_on": resolve_on}),
            )?;
            // With no address the reminder is still recorded as due and
            // handled, so the schedule (and the auto-resolve) goes on.
            let (kind, data, outcome) = match email {
                Some(email_id) => (
                    EventKind::ReminderSent,
                    json!({"reminder": n, "email_id": email_id, "auto": true}),
                    Outcome::Reminded,
                ),
                None => (
                    EventKind::ReminderSkipped,
                    json!({"reminder": n, "auto": true,
                           "reason": "the customer has no e-mail address"}),
                    Outcome::ReminderSkipped,
                ),
            };
            crate::intake::event(c, id, kind, None, data, now)?;
            Ok(outcome)
        }
    }
}

/// Why housekeeping closed a ticket, in its history.
pub(crate) fn close_reason(days: i64) -> String {
    format!("resolved {days} days ago with no reply from the customer")
}

/// What the customer is told when we stop waiting for them after `days`,
/// in their language (the ticket's resolution).
pub(crate) fn resolution_text(language: Option<&str>, days: i64) -> String {
    if language.unwrap_or("it") == "it" {
        format!(
            "Non avendo ricevuto sue notizie da {days} giorni, consideriamo la richiesta risolta. \
             Se ha ancora bisogno di aiuto, risponda a questo messaggio e la riapriremo."
        )
    } else {
        format!(
            "As we have not heard from you for {days} days, we consider the request resolved. \
             If you still need help, reply to this message and we will reopen it."
        )
    }
}
