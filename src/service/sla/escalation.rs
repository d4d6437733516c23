//! Escalation rules per queue, and the service-level check that fires them.
//!
//! The check (a scheduled job, also `POST /api/v1/sla/check`) finds running
//! clocks past a rule's moment, and fires each rule once per clock: the
//! firing is recorded first, under the ticket's lock, and its primary key
//! (rule, clock) refuses a second one, so with several instances checking at
//! once each rule acts exactly once. A firing raises the priority, escalates
//! to the next queue and e-mails the assignee and the queue's supervisor, as
//! the rule says; notices wait for the next opening of the queue's calendar.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::calendars;
use crate::channels::email::outbound::{self, kind, Outgoing};
use crate::domain::escalation::{self as rules, notice_time, Recipient, Rule, Step, Trigger};
use crate::domain::sla::ClockKind;
use crate::domain::{EventKind, QueueLevel};
use crate::error::{is_unique_violation, AppError, AppResult};
use crate::service::views::local;
use crate::service::{nullable, tickets as work, App, Viewer};
use crate::store::escalation::{self as store, Due, RuleRow};
use crate::store::{agents, catalogue, sla as clocks, tickets, DbConn};

/// A rule as created (`POST`) or changed (`PATCH`: only the fields given).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    /// The queue whose tickets the rule watches (required on create).
    pub queue_id: Option<i64>,
    pub name: Option<String>,
    /// `warning` (the clock is at risk) or `breach` (it is past due).
    pub on: Option<Trigger>,
    /// Only clocks of this kind; `null` or absent: every clock.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<ClockKind>)]
    pub clock_kind: Option<Option<ClockKind>>,
    /// E-mail the ticket's assignee.
    pub notify_assignee: Option<bool>,
    /// E-mail the queue's supervisor (or, when none is named, the queue's
    /// supervisors).
    pub notify_supervisor: Option<bool>,
    /// Raise the ticket's priority one step.
    pub raise_priority: Option<bool>,
    /// Escalate the ticket to this second-level or customer-care queue.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub escalate_to_queue_id: Option<Option<i64>>,
    pub active: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    pub id: i64,
    pub queue_id: i64,
    pub name: String,
    pub on: Trigger,
    pub clock_kind: Option<ClockKind>,
    pub notify_assignee: bool,
    pub notify_supervisor: bool,
    pub raise_priority: bool,
    pub escalate_to_queue_id: Option<i64>,
    pub active: bool,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

/// The actions a firing of `rule` records (its planned steps, in order).
pub(crate) fn recorded_actions(rule: &Rule) -> String {
    let planned: Vec<String> = rule.steps().iter().map(|s| format!("{s:?}")).collect();
    serde_json::to_string(&planned).unwrap_or_default()
}

pub(crate) fn domain_rule(r: &RuleRow) -> AppResult<Rule> {
    Ok(Rule {
        on: Trigger::parse(&r.on_event)
            .ok_or_else(|| AppError::Internal(format!("rule {}: on '{}'", r.id, r.on_event)))?,
        clock_kind: r.clock_kind.as_deref().and_then(ClockKind::parse),
        notify_assignee: r.notify_assignee,
        notify_supervisor: r.notify_supervisor,
        raise_priority: r.raise_priority,
        escalate_to: r.escalate_to_queue_id,
    })
}

fn view(r: RuleRow, tz: chrono_tz::Tz) -> AppResult<RuleView> {
    let rule = domain_rule(&r)?;
    Ok(RuleView {
        id: r.id,
        queue_id: r.queue_id,
        name: r.name,
        on: rule.on,
        clock_kind: rule.clock_kind,
        notify_assignee: r.notify_assignee,
        notify_supervisor: r.notify_supervisor,
        raise_priority: r.raise_priority,
        escalate_to_queue_id: r.escalate_to_queue_id,
        active: r.active,
        created_at: local(r.created_at, tz),
        updated_at: local(r.updated_at, tz),
    })
}

/// Applies an input, naming every field in error at once.
fn apply(c: &mut DbConn, row: &mut RuleRow, input: &RuleInput) -> AppResult<()> {
    let mut errors: Vec<(String, String)> = Vec::new();
    if let Some(q) = input.queue_id {
        if catalogue::queue(c, q)?.is_none() {
            errors.push(("queue_id".into(), "not_found".into()));
        }
        row.queue_id = q;
    }
    if let Some(name) = &input.name {
        let name = name.trim();
        if name.is_empty() {
            errors.push(("name".into(), "required".into()));
        } else if name.chars().count() > 200 {
            errors.push(("name".into(), "too_long".into()));
        }
        row.name = name.to_string();
    }
    if let Some(on) = input.on {
        row.on_event = on.as_str().into();
    }
    if let Some(k) = input.clock_kind {
        row.clock_kind = k.map(|k| k.as_str().to_string());
    }
    if let Some(b) = input.notify_assignee {
        row.notify_assignee = b;
    }
    if let Some(b) = input.notify_supervisor {
        row.notify_supervisor = b;
    }
    if let Some(b) = input.raise_priority {
        row.raise_priority = b;
    }
    if let Some(to) = input.escalate_to_queue_id {
        if let Some(id) = to {
            match catalogue::queue(c, id)? {
                None => errors.push(("escalate_to_queue_id".into(), "not_found".into())),
                Some(q) => {
                    let level = QueueLevel::parse(&q.level);
                    if !level.is_some_and(QueueLevel::is_escalation_target) {
                        // Only second-level and customer-care queues take escalations.
                        errors.push((
                            "escalate_to_queue_id".into(),
                            "not_an_escalation_queue".into(),
                        ));
                    }
                }
            }
        }
        row.escalate_to_queue_id = to;
    }
    if let Some(a) = input.active {
        row.active = a;
    }
    if row.queue_id == 0 && !errors.iter().any(|(f, _)| f == "queue_id") {
        errors.push(("queue_id".into(), "required".into()));
    }
    if row.name.is_empty() && !errors.iter().any(|(f, _)| f == "name") {
        errors.push(("name".into(), "required".into()));
    }
    if row.escalate_to_queue_id == Some(row.queue_id) {
        errors.push(("escalate_to_queue_id".into(), "own_queue".into()));
    }
    if errors.is_empty() && !domain_rule(row)?.has_action() {
        // Notify someone, raise the priority or escalate.
        errors.push(("on".into(), "no_action".into()));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Fields(errors))
    }
}

fn must_configure(viewer: &Viewer) -> AppResult<()> {
    if viewer.actor.can_configure() {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "only admins configure escalation rules",
        ))
    }
}

fn name_taken(e: AppError) -> AppError {
    if is_unique_violation(&e) {
        AppError::conflict("name-taken", "a rule with this name already exists")
    } else {
        e
    }
}

pub async fn list_rules(
    app: &App,
    viewer: &Viewer,
    queue_id: Option<i64>,
) -> AppResult<Vec<RuleView>> {
    let tz = viewer.tz;
    let rows = app.db.read(move |c| store::rules(c, queue_id)).await?;
    rows.into_iter().map(|r| view(r, tz)).collect()
}

pub async fn create_rule(app: &App, viewer: &Viewer, input: RuleInput) -> AppResult<RuleView> {
    must_configure(viewer)?;
    let (now, tz) = (app.clock.now_db(), viewer.tz);
    let row = app
        .db
        .write(move |c| {
            let mut row = RuleRow {
                id: 0,
                queue_id: 0,
                name: String::new(),
                on_event: Trigger::Breach.as_str().into(),
                clock_kind: None,
                notify_assignee: false,
                notify_supervisor: false,
                raise_priority: false,
                escalate_to_queue_id: None,
                active: true,
                created_at: now,
                updated_at: now,
            };
            apply(c, &mut row, &input)?;
            row.id = store::insert_rule(c, &row)?;
            Ok(row)
        })
        .await
        .map_err(name_taken)?;
    view(row, tz)
}

/// Changes a rule. Its earlier firings stand: a changed rule does not fire
/// again on a clock it already acted on.
pub async fn update_rule(
    app: &App,
    viewer: &Viewer,
    id: i64,
    input: RuleInput,
) -> AppResult<RuleView> {
    must_configure(viewer)?;
    let (now, tz) = (app.clock.now_db(), viewer.tz);
    let row = app
        .db
        .write(move |c| {
            let mut row = store::rule(c, id)?
                .ok_or_else(|| AppError::not_found(format!("escalation rule {id}")))?;
            apply(c, &mut row, &input)?;
            row.updated_at = now;
            store::update_rule(c, &row)?;
            Ok(row)
        })
        .await
        .map_err(name_taken)?;
    view(row, tz)
}

/// What one service-level check did.
#[derive(Debug, Default, Clone, Serialize, ToSchema)]
pub struct CheckReport {
    /// Rules fired on a clock at its warning threshold.
    pub warnings: u32,
    /// Rules fired on a clock past its due time.
    pub breaches: u32,
    /// Notices queued to staff (some held until the next opening).
    pub notices: u32,
    pub priorities_raised: u32,
    pub escalated: u32,
    /// Actions that could not be done (recorded on the ticket).
    pub failed_actions: u32,
    /// Firings that failed altogether (logged; tried again next run).
    pub failed: u32,
}

/// How many rule firings one check handles; the rest wait for the next run.
const BATCH: i64 = 500;

/// Fires every rule whose moment has come, each once per clock.
pub async fn check(app: &App) -> AppResult<CheckReport> {
    let now = app.clock.now_db();
    let due = app.db.read(move |c| store::due(c, now, BATCH)).await?;
    let mut report = CheckReport::default();
    for d in due {
        let app2 = app.clone();
        let fired = app.db.write(move |c| fire(c, &app2, d, now)).await;
        match fired {
            Ok(Some(r)) => report.add(&r),
            Ok(None) => {}
            // One ticket's trouble does not stop the others.
            Err(e) => {
                report.failed += 1;
                tracing::error!(rule = d.rule_id, clock = d.clock_id, error = %e, "escalation rule failed")
            }
        }
    }
    Ok(report)
}

impl CheckReport {
    fn add(&mut self, r: &CheckReport) {
        self.warnings += r.warnings;
        self.breaches += r.breaches;
        self.notices += r.notices;
        self.priorities_raised += r.priorities_raised;
        self.escalated += r.escalated;
        self.failed_actions += r.failed_actions;
        self.failed += r.failed;
    }
}

/// Fires one rule on one clock, in the caller's transaction; `None` when
/// another run (perhaps another instance) already did or the clock moved on.
fn fire(c: &mut DbConn, app: &App, d: Due, now: NaiveDateTime) -> AppResult<Option<CheckReport>> {
    // The ticket's lock orders this firing with every other change to it.
    let Some(ticket) = tickets::lock(c, d.ticket_id)? else {
        return Ok(None);
    };
    let (Some(row), Some(clock)) = (store::rule(c, d.rule_id)?, clocks::clock(c, d.clock_id)?)
    else {
        return Ok(None);
    };
    let rule = domain_rule(&row)?;
    let moment = match rule.on {
        Trigger::Warning => clock.warn_at,
        Trigger::Breach => clock.due_at,
    };
    // A warning is for a clock still in time: one already past due (after a
    // pause of the job, or resumed late) gets only the breach rules.
    let in_time = rule.on != Trigger::Warning || clock.due_at.is_some_and(|d| d > now);
    let still_due = row.active
        && row.queue_id == ticket.queue_id
        && clock.state == "running"
        && in_time
        && moment.is_some_and(|m| m <= now);
    if !still_due {
        return Ok(None);
    }
    let steps = rule.steps();
    if !store::fire(c, d, now, &recorded_actions(&rule))? {
        return Ok(None);
    }

    let kind = ClockKind::parse(&clock.kind)
        .ok_or_else(|| AppError::Internal(format!("clock kind {}", clock.kind)))?;
    let desk = app.config.calendar();
    let calendar = calendars::of_queue(c, &desk, ticket.queue_id)?;
    let due_at = clock.due_at.unwrap_or(now);
    let due_local = local(due_at, calendar.tz)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let reason = rules::reason(rule.on, kind, &due_local);
    let queue = catalogue::queue(c, ticket.queue_id)?
        .ok_or_else(|| AppError::Internal("queue missing".into()))?;
    let held_until = notice_time(&calendar, now);
    let out = Outgoing {
        config: &app.config,
        templates: &app.templates,
        now,
    };
    let notice_kind = match rule.on {
        Trigger::Warning => kind::SLA_WARNING,
        Trigger::Breach => kind::SLA_BREACH,
    };
    let mut report = CheckReport::default();
    match rule.on {
        Trigger::Warning => report.warnings = 1,
        Trigger::Breach => report.breaches = 1,
    }
    // What was done, for the ticket's history and the supervisor's notice.
    let mut done: Vec<serde_json::Value> = Vec::new();
    let mut notices: Vec<serde_json::Value> = Vec::new();
    // Someone who is both assignee and supervisor hears once.
    let mut told: std::collections::HashSet<String> = Default::default();
    for step in steps {
        match step {
            Step::Notify(who) => {
                let recipients = recipients(c, who, ticket.assignee_id, &queue)?;
                if recipients.is_empty() {
                    notices.push(json!({"to": who, "address": null, "skipped": "nobody to tell"}));
                }
                for address in recipients.into_iter().filter(|a| told.insert(a.clone())) {
                    outbound::to_staff(
                        c,
                        out,
                        notice_kind,
                        &ticket,
                        &address,
                        json!({"queue": queue.name, "target": kind, "due": due_local,
                               "reason": reason, "actions": done}),
                        held_until,
                    )?;
                    report.notices += 1;
                    notices.push(json!({"to": who, "address": address,
                        "held_until": (held_until > now).then(|| local(held_until, calendar.tz))}));
                }
            }
            Step::RaisePriority => {
                if let Some((from, to)) =
                    work::auto_raise_priority_in(c, ticket.id, now, &reason, &desk)?
                {
                    report.priorities_raised += 1;
                    done.push(json!({"kind": "priority", "from": from, "to": to}));
                }
            }
            Step::Escalate(target) => {
                let name = catalogue::queue(c, target)?
                    .map(|q| q.name)
                    .unwrap_or_else(|| target.to_string());
                // A savepoint: a refused escalation (the ticket's state does
                // not allow it, the queue was deactivated) leaves the rest.
                let r = c.transaction(|c| {
                    work::auto_escalate_in(c, ticket.id, now, target, reason.clone(), &desk)
                });
                match r {
                    Ok(()) => {
                        report.escalated += 1;
                        done.push(json!({"kind": "escalated", "queue": name, "queue_id": target}));
                    }
                    Err(e) if e.is_client_error() => {
                        report.failed_actions += 1;
                        done.push(
                            json!({"kind": "not_escalated", "queue": name, "queue_id": target,
                                         "error": e.to_string()}),
                        );
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    let event = match rule.on {
        Trigger::Warning => EventKind::SlaWarning,
        Trigger::Breach => EventKind::SlaBreached,
    };
    crate::intake::event(
        c,
        ticket.id,
        event,
        None,
        json!({"auto": true, "rule_id": row.id, "rule": row.name, "clock": kind,
               "due_at": local(due_at, calendar.tz), "reason": reason,
               "actions": done, "notices": notices}),
        now,
    )?;
    Ok(Some(report))
}

/// The addresses a notice goes to.
fn recipients(
    c: &mut DbConn,
    who: Recipient,
    assignee: Option<i64>,
    queue: &crate::store::rows::QueueRow,
) -> AppResult<Vec<String>> {
    let active = |a: Option<crate::store::rows::AgentRow>| a.filter(|a| a.active).map(|a| a.email);
    Ok(match who {
        Recipient::Assignee => match assignee {
            Some(id) => active(agents::find(c, id)?).into_iter().collect(),
            None => vec![],
        },
        Recipient::Supervisor => match queue
            .supervisor_id
            .map(|id| agents::find(c, id))
            .transpose()?
            .flatten()
            .filter(|a| a.active && matches!(a.role.as_str(), "supervisor" | "admin"))
        {
            Some(a) => vec![a.email],
            // None named, or no longer able to supervise: the queue's supervisors.
            None => {
                let mut out = Vec::new();
                for id in agents::members_of(c, queue.id)? {
                    if let Some(a) = agents::find(c, id)? {
                        if a.active && a.role == "supervisor" {
                            out.push(a.email);
                        }
                    }
                }
                out
            }
        },
    })
}
