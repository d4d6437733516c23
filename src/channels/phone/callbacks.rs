//! Callbacks: call-me-now and call-me-back requests from citizens (public
//! API and tracking page), from staff, and from the CTI (missed calls). Each
//! is tied to a ticket, booked into a slot of business hours with room left,
//! offered by the dispatcher to the longest-idle available agent of the
//! ticket's queue, and attempted until the caller is reached or the retry
//! policy gives up. The citizen is told by e-mail when it is booked and when
//! it finally fails. Every step is an event on the ticket.

use std::collections::HashMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::channels::email::outbound::{self, Outgoing};
use crate::channels::email::templates::Templates;
use crate::config::Config;
use crate::domain::calendar::Calendar;
use crate::domain::callback::{
    self as rules, AfterAttempt, AttemptOutcome, CallbackMode, CallbackState, Candidate,
    RetryPolicy, SlotRules,
};
use crate::domain::presence::{self, Presence};
use crate::domain::{phone, EventKind};
use crate::error::{AppError, AppResult};
use crate::intake;
use crate::service::views::local;
use crate::service::{optional_text, App, Viewer};
use crate::store::callbacks::{self as store, CallbackFilter, CallbackRow, NewCallback};
use crate::store::{phone as phone_store, tickets, work_lock, DbConn};

/// The rules callbacks follow, from the configuration.
#[derive(Debug, Clone)]
pub struct Policy {
    pub calendar: Calendar,
    pub slots: SlotRules,
    pub retry: RetryPolicy,
    pub offer_for: Duration,
    pub sla_target: Duration,
}

impl Policy {
    pub fn of(config: &Config) -> Policy {
        Policy {
            calendar: config.calendar(),
            slots: SlotRules {
                length: Duration::minutes(config.callback_slot_minutes),
                capacity: config.callback_slot_capacity,
            },
            retry: RetryPolicy {
                max_attempts: config.callback_max_attempts,
                delays: config
                    .callback_retry_minutes
                    .iter()
                    .map(|m| Duration::minutes(*m))
                    .collect(),
            },
            offer_for: Duration::seconds(config.callback_offer_secs),
            sla_target: Duration::minutes(config.callback_sla_minutes),
        }
    }
}

/// What the mail a callback causes needs.
#[derive(Clone)]
pub struct Mail {
    pub config: std::sync::Arc<Config>,
    pub templates: std::sync::Arc<Templates>,
}

impl Mail {
    pub fn of(app: &App) -> Mail {
        Mail {
            config: app.config.clone(),
            templates: app.templates.clone(),
        }
    }
}

/// A request to book, already validated.
#[derive(Debug, Clone)]
pub struct Booking {
    pub ticket_id: i64,
    /// E.164.
    pub phone: String,
    pub mode: CallbackMode,
    pub preferred_at: Option<NaiveDateTime>,
    pub topic_id: Option<i64>,
    pub note: String,
    /// `public`, `staff` or `cti`.
    pub source: &'static str,
    pub call_id: Option<i64>,
    /// For the confirmation mail (citizens who have a tracking link).
    pub tracking_url: Option<String>,
}

/// How far ahead slot bookings are counted.
const SLOT_WINDOW_DAYS: i64 = 120;

fn taken_slots(
    c: &mut DbConn,
    from: NaiveDateTime,
    slot: Duration,
) -> AppResult<HashMap<NaiveDateTime, i64>> {
    Ok(
        store::slot_counts(c, from - slot, from + Duration::days(SLOT_WINDOW_DAYS))?
            .into_iter()
            .filter_map(|(s, n)| s.map(|s| (s, n)))
            .collect(),
    )
}

/// Books a callback in the caller's transaction: the first slot with room at
/// or after the wanted time, an event on the ticket, the confirmation mail.
pub fn book_in(
    c: &mut DbConn,
    policy: &Policy,
    mail: &Mail,
    b: Booking,
    now: NaiveDateTime,
) -> AppResult<CallbackRow> {
    // Bookings are counted and added one at a time across instances.
    work_lock(c, "callback-booking", true)?;
    let ticket = tickets::find(c, b.ticket_id)?
        .ok_or_else(|| AppError::not_found(format!("ticket {}", b.ticket_id)))?;
    let wanted = b.preferred_at.unwrap_or(now).max(now);
    let taken = taken_slots(c, wanted, policy.slots.length)?;
    let booked = rules::book(&policy.calendar, &policy.slots, wanted, |s| {
        taken.get(&s).copied().unwrap_or(0)
    })
    .ok_or_else(|| {
        AppError::conflict(
            "no-callback-slot",
            "no callback slot is free in the coming months",
        )
    })?;
    let id = store::insert(
        c,
        &NewCallback {
            ticket_id: ticket.id,
            phone: b.phone.clone(),
            mode: b.mode.as_str().into(),
            preferred_at: b.preferred_at,
            note: b.note.clone(),
            state: CallbackState::Scheduled.as_str().into(),
            created_at: now,
            queue_id: Some(ticket.queue_id),
            topic_id: b.topic_id.or(ticket.topic_id),
            source: b.source.into(),
            call_id: b.call_id,
            slot_start: Some(booked.slot_start),
            due_at: Some(booked.due_at),
            sla_start: Some(booked.due_at),
        },
    )?;
    intake::event(
        c,
        ticket.id,
        EventKind::CallbackRequested,
        None,
        json!({"callback": id, "phone": b.phone, "mode": b.mode, "source": b.source,
               "due_at": booked.due_at, "moved": booked.moved, "call": b.call_id}),
        now,
    )?;
    let tz = mail.config.time_zone;
    outbound::to_customer(
        c,
        Outgoing {
            config: &mail.config,
            templates: &mail.templates,
            now,
        },
        outbound::kind::CALLBACK_BOOKED,
        &ticket,
        None,
        json!({
            "phone": b.phone,
            "now": b.mode == CallbackMode::Now && !booked.moved,
            "when": local(booked.due_at, tz).format("%d/%m/%Y %H:%M").to_string(),
            "moved": booked.moved,
            "tracking_url": b.tracking_url,
        }),
    )?;
    store::find(c, id)?.ok_or_else(|| AppError::not_found("callback"))
}

/// Checks what a requester gives: the phone (any format) and when.
pub fn check_request(
    phone_text: &str,
    mode: &str,
    preferred_at: Option<DateTime<FixedOffset>>,
    now: NaiveDateTime,
) -> AppResult<(String, CallbackMode, Option<NaiveDateTime>)> {
    let phone =
        phone::normalise(phone_text).map_err(|e| AppError::invalid("phone", e.to_string()))?;
    let mode = CallbackMode::parse(mode)
        .ok_or_else(|| AppError::invalid("mode", "mode is 'now' or 'later'"))?;
    let preferred = match mode {
        CallbackMode::Now => None,
        CallbackMode::Later => {
            let at = preferred_at
                .ok_or_else(|| AppError::invalid("preferred_at", "say when to call back"))?
                .naive_utc();
            if at <= now {
                return Err(AppError::invalid(
                    "preferred_at",
                    "the time to call back is in the past",
                ));
            }
            if at > now + Duration::days(SLOT_WINDOW_DAYS) {
                return Err(AppError::invalid(
                    "preferred_at",
                    format!("callbacks are booked at most {SLOT_WINDOW_DAYS} days ahead"),
                ));
            }
            Some(at)
        }
    };
    Ok((phone, mode, preferred))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackSlaView {
    /// When the first attempt is due (business time from the booked time).
    pub due_by: Option<DateTime<FixedOffset>>,
    /// Business minutes from the booked time to the first attempt (or to now).
    pub business_minutes: i64,
    /// Met or breached, once known.
    pub met: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfferView {
    pub agent_id: i64,
    /// The attempt the offer was for (0: before the first).
    pub round: i32,
    pub offered_at: DateTime<FixedOffset>,
    pub expires_at: DateTime<FixedOffset>,
    /// `accepted`, `declined` or `timeout`; absent while open.
    pub answer: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub agent_id: i64,
    pub outcome: AttemptOutcome,
    pub note: String,
    pub at: DateTime<FixedOffset>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackView {
    pub id: i64,
    pub ticket_id: i64,
    pub ticket_number: String,
    pub phone: String,
    pub mode: CallbackMode,
    /// `public`, `staff` or `cti` (a missed call).
    pub source: String,
    pub state: CallbackState,
    pub note: String,
    pub queue_id: Option<i64>,
    pub topic_id: Option<i64>,
    pub call_id: Option<i64>,
    pub created_at: DateTime<FixedOffset>,
    pub preferred_at: Option<DateTime<FixedOffset>>,
    /// The slot it was booked into.
    pub slot_start: Option<DateTime<FixedOffset>>,
    /// When it is (next) due to be offered.
    pub due_at: Option<DateTime<FixedOffset>>,
    pub attempts: i32,
    pub offered_to: Option<i64>,
    pub offer_expires_at: Option<DateTime<FixedOffset>>,
    /// The agent calling (accepted).
    pub agent_id: Option<i64>,
    pub first_attempt_at: Option<DateTime<FixedOffset>>,
    pub closed_at: Option<DateTime<FixedOffset>>,
    /// Final outcome: `reached`, `no_answer`, `busy`, `wrong_number` or `cancelled`.
    pub outcome: Option<String>,
    pub sla: CallbackSlaView,
    /// Detail only: every offer made to an agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offers: Option<Vec<OfferView>>,
    /// Detail only: every attempt to call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_log: Option<Vec<AttemptView>>,
}

fn view(
    c: &mut DbConn,
    r: &CallbackRow,
    ticket_number: String,
    policy: &Policy,
    now: NaiveDateTime,
    tz: chrono_tz::Tz,
    detail: bool,
) -> AppResult<CallbackView> {
    let start = r.sla_start.unwrap_or(r.created_at);
    let s = rules::sla(
        &policy.calendar,
        policy.sla_target,
        start,
        r.first_attempt_at,
        r.closed_at
            .filter(|_| r.first_attempt_at.is_none())
            .unwrap_or(now),
    );
    let (offers, attempt_log) = if detail {
        let offers = store::offers_of(c, r.id)?
            .into_iter()
            .map(|(agent_id, round, at, exp, answer, _)| OfferView {
                agent_id,
                round,
                offered_at: local(at, tz),
                expires_at: local(exp, tz),
                answer,
            })
            .collect();
        let attempts = store::attempts_of(c, r.id)?
            .into_iter()
            .map(|(agent_id, outcome, note, at)| AttemptView {
                agent_id,
                outcome: AttemptOutcome::parse(&outcome).unwrap_or(AttemptOutcome::NoAnswer),
                note,
                at: local(at, tz),
            })
            .collect();
        (Some(offers), Some(attempts))
    } else {
        (None, None)
    };
    let l = |t: Option<NaiveDateTime>| t.map(|t| local(t, tz));
    Ok(CallbackView {
        id: r.id,
        ticket_id: r.ticket_id,
        ticket_number,
        phone: r.phone.clone(),
        mode: CallbackMode::parse(&r.mode).unwrap_or(CallbackMode::Now),
        source: r.source.clone(),
        state: CallbackState::parse(&r.state).unwrap_or(CallbackState::Scheduled),
        note: r.note.clone(),
        queue_id: r.queue_id,
        topic_id: r.topic_id,
        call_id: r.call_id,
        created_at: local(r.created_at, tz),
        preferred_at: l(r.preferred_at),
        slot_start: l(r.slot_start),
        due_at: l(r.due_at),
        attempts: r.attempts,
        offered_to: r.offered_to,
        offer_expires_at: l(r.offer_expires_at),
        agent_id: r.agent_id,
        first_attempt_at: l(r.first_attempt_at),
        closed_at: l(r.closed_at),
        outcome: r.outcome.clone(),
        sla: CallbackSlaView {
            due_by: l(s.due_by),
            business_minutes: s.business_minutes,
            met: s.met,
        },
        offers,
        attempt_log,
    })
}

async fn detail(app: &App, viewer: &Viewer, id: i64) -> AppResult<CallbackView> {
    let policy = Policy::of(&app.config);
    let now = app.clock.now_db();
    let tz = viewer.tz;
    app.db
        .read(move |c| {
            let r =
                store::find(c, id)?.ok_or_else(|| AppError::not_found(format!("callback {id}")))?;
            let number = tickets::find(c, r.ticket_id)?
                .map(|t| t.number)
                .unwrap_or_default();
            view(c, &r, number, &policy, now, tz, true)
        })
        .await
}

pub async fn get(app: &App, viewer: &Viewer, id: i64) -> AppResult<CallbackView> {
    detail(app, viewer, id).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffCallbackRequest {
    /// The ticket (id or number) the callback is for.
    pub ticket: String,
    /// Any format; default: the ticket contact's first phone.
    pub phone: Option<String>,
    /// `now` or `later`.
    pub mode: String,
    /// With `later`: when to call.
    pub preferred_at: Option<DateTime<FixedOffset>>,
    pub note: Option<String>,
}

/// Staff book a callback on a ticket (e.g. promised during a call).
pub async fn create(
    app: &App,
    viewer: &Viewer,
    req: StaffCallbackRequest,
) -> AppResult<CallbackView> {
    let now = app.clock.now_db();
    let key = crate::service::tickets::TicketKey::parse(&req.ticket)?;
    let ticket_id = app.db.read(move |c| key.resolve(c)).await?;
    let phone_text = match req.phone {
        Some(p) => p,
        None => app
            .db
            .read(move |c| {
                let t =
                    tickets::find(c, ticket_id)?.ok_or_else(|| AppError::not_found("ticket"))?;
                match t.contact_id {
                    Some(cid) => Ok(crate::store::contacts::phones(c, cid)?.into_iter().next()),
                    None => Ok(None),
                }
            })
            .await?
            .ok_or_else(|| AppError::invalid("phone", "the contact has no phone; give one"))?,
    };
    let (phone, mode, preferred) = check_request(&phone_text, &req.mode, req.preferred_at, now)?;
    let note = optional_text("note", req.note.as_deref(), 1000)?;
    let (policy, mail) = (Policy::of(&app.config), Mail::of(app));
    let actor = viewer.actor.clone();
    let id = app
        .db
        .write(move |c| {
            // Only those who may work the ticket promise a call on it.
            crate::service::tickets::may_write(
                actor,
                ticket_id,
                now,
                crate::domain::workflow::Action::InternalNote,
            )(c)?;
            let row = book_in(
                c,
                &policy,
                &mail,
                Booking {
                    ticket_id,
                    phone,
                    mode,
                    preferred_at: preferred,
                    topic_id: None,
                    note,
                    source: "staff",
                    call_id: None,
                    tracking_url: None,
                },
                now,
            )?;
            Ok(row.id)
        })
        .await?;
    detail(app, viewer, id).await
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// Comma-separated states (default: the open ones: scheduled, offered, accepted).
    pub state: Option<String>,
    /// Only callbacks offered to me now.
    pub offered_to_me: Option<bool>,
    pub queue_id: Option<i64>,
    /// At most 500; default 100.
    pub limit: Option<i64>,
}

pub async fn list(app: &App, viewer: &Viewer, q: CallbackQuery) -> AppResult<Vec<CallbackView>> {
    let states: Vec<String> = match &q.state {
        Some(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                CallbackState::parse(s)
                    .map(|s| s.as_str().to_string())
                    .ok_or_else(|| {
                        AppError::invalid("state", format!("'{s}' is not a callback state"))
                    })
            })
            .collect::<AppResult<_>>()?,
        None => ["scheduled", "offered", "accepted"]
            .map(String::from)
            .to_vec(),
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(AppError::invalid("limit", "limit is 1 to 500"));
    }
    let filter = CallbackFilter {
        states,
        offered_to: q
            .offered_to_me
            .unwrap_or(false)
            .then_some(viewer.actor.agent_id),
        queue_ids: q.queue_id.map(|q| vec![q]),
        limit,
        ..Default::default()
    };
    let policy = Policy::of(&app.config);
    let now = app.clock.now_db();
    let tz = viewer.tz;
    app.db
        .read(move |c| {
            let rows = store::list(c, &filter)?;
            let ids: Vec<i64> = rows.iter().map(|r| r.ticket_id).collect();
            let numbers: HashMap<i64, String> = tickets::find_many(c, &ids)?
                .into_iter()
                .map(|t| (t.id, t.number))
                .collect();
            rows.iter()
                .map(|r| {
                    let number = numbers.get(&r.ticket_id).cloned().unwrap_or_default();
                    view(c, r, number, &policy, now, tz, false)
                })
                .collect()
        })
        .await
}

fn locked(c: &mut DbConn, id: i64) -> AppResult<CallbackRow> {
    store::lock(c, id)?.ok_or_else(|| AppError::not_found(format!("callback {id}")))
}

fn state_of(r: &CallbackRow) -> CallbackState {
    CallbackState::parse(&r.state).unwrap_or(CallbackState::Scheduled)
}

/// The agent takes the callback offered to them.
pub async fn accept(app: &App, viewer: &Viewer, id: i64) -> AppResult<CallbackView> {
    let now = app.clock.now_db();
    let me = viewer.actor.agent_id;
    app.db
        .write(move |c| {
            let mut r = locked(c, id)?;
            if state_of(&r) != CallbackState::Offered
                || r.offered_to != Some(me)
                || r.offer_expires_at.is_some_and(|e| e <= now)
            {
                return Err(AppError::conflict(
                    "not-offered",
                    format!("callback {id} is not offered to you (anymore)"),
                ));
            }
            store::answer_offer(c, id, "accepted", now)?;
            r.state = CallbackState::Accepted.as_str().into();
            r.agent_id = Some(me);
            r.offer_expires_at = None;
            store::save(c, id, &r.changes())
        })
        .await?;
    detail(app, viewer, id).await
}

/// The agent lets the callback go: it is offered to the next agent.
pub async fn decline(app: &App, viewer: &Viewer, id: i64) -> AppResult<CallbackView> {
    let now = app.clock.now_db();
    let me = viewer.actor.agent_id;
    app.db
        .write(move |c| {
            let mut r = locked(c, id)?;
            let st = state_of(&r);
            let mine = (st == CallbackState::Offered && r.offered_to == Some(me))
                || (st == CallbackState::Accepted && r.agent_id == Some(me));
            if !mine {
                return Err(AppError::conflict(
                    "not-offered",
                    format!("callback {id} is not yours to decline"),
                ));
            }
            if st == CallbackState::Offered {
                store::answer_offer(c, id, "declined", now)?;
            }
            r.state = CallbackState::Scheduled.as_str().into();
            r.offered_to = None;
            r.offer_expires_at = None;
            r.agent_id = None;
            store::save(c, id, &r.changes())
        })
        .await?;
    detail(app, viewer, id).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttemptRequest {
    /// `reached`, `no_answer`, `busy` or `wrong_number`.
    pub outcome: AttemptOutcome,
    pub note: Option<String>,
}

/// Records an attempt to call; the retry policy decides what follows.
pub async fn attempt(
    app: &App,
    viewer: &Viewer,
    id: i64,
    req: AttemptRequest,
) -> AppResult<CallbackView> {
    let note = optional_text("note", req.note.as_deref(), 4000)?;
    let now = app.clock.now_db();
    let me = viewer.actor.agent_id;
    let supervisor = viewer.actor.can_supervise();
    let (policy, mail) = (Policy::of(&app.config), Mail::of(app));
    app.db
        .write(move |c| {
            let mut r = locked(c, id)?;
            let st = state_of(&r);
            let mine = (st == CallbackState::Accepted && r.agent_id == Some(me))
                || (st == CallbackState::Offered && r.offered_to == Some(me));
            if !st.is_open() || !(mine || supervisor) {
                return Err(AppError::conflict(
                    "not-calling",
                    format!("callback {id} is not being called by you (state {st})"),
                ));
            }
            if st == CallbackState::Offered {
                store::answer_offer(c, id, "accepted", now)?;
            }
            r.attempts += 1;
            r.first_attempt_at.get_or_insert(now);
            store::insert_attempt(c, id, me, req.outcome.as_str(), &note, now)?;
            intake::event(
                c,
                r.ticket_id,
                EventKind::CallbackAttempted,
                Some(me),
                json!({"callback": id, "attempt": r.attempts, "outcome": req.outcome, "note": note}),
                now,
            )?;
            r.offered_to = None;
            r.offer_expires_at = None;
            r.agent_id = None;
            match rules::after_attempt(&policy.retry, &policy.calendar, r.attempts, req.outcome, now)
            {
                AfterAttempt::Completed => {
                    r.state = CallbackState::Completed.as_str().into();
                    r.closed_at = Some(now);
                    r.outcome = Some(req.outcome.as_str().into());
                    intake::event(
                        c,
                        r.ticket_id,
                        EventKind::CallbackCompleted,
                        Some(me),
                        json!({"callback": id, "attempts": r.attempts}),
                        now,
                    )?;
                }
                AfterAttempt::Failed(o) => {
                    r.state = CallbackState::Failed.as_str().into();
                    r.closed_at = Some(now);
                    r.outcome = Some(o.as_str().into());
                    intake::event(
                        c,
                        r.ticket_id,
                        EventKind::CallbackFailed,
                        Some(me),
                        json!({"callback": id, "attempts": r.attempts, "outcome": o}),
                        now,
                    )?;
                    let ticket = tickets::find(c, r.ticket_id)?
                        .ok_or_else(|| AppError::not_found("ticket"))?;
                    outbound::to_customer(
                        c,
                        Outgoing {
                            config: &mail.config,
                            templates: &mail.templates,
                            now,
                        },
                        outbound::kind::CALLBACK_FAILED,
                        &ticket,
                        None,
                        json!({"phone": r.phone, "attempts": r.attempts}),
                    )?;
                }
                AfterAttempt::Retry(at) => {
                    r.state = CallbackState::Scheduled.as_str().into();
                    r.due_at = Some(at);
                }
            }
            store::save(c, id, &r.changes())
        })
        .await?;
    detail(app, viewer, id).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    pub reason: Option<String>,
}

/// Staff call a callback off (the caller called again, or asked to).
pub async fn cancel(
    app: &App,
    viewer: &Viewer,
    id: i64,
    req: CancelRequest,
) -> AppResult<CallbackView> {
    let reason = optional_text("reason", req.reason.as_deref(), 1000)?;
    let now = app.clock.now_db();
    let actor = viewer.actor.clone();
    app.db
        .write(move |c| {
            let mut r = locked(c, id)?;
            if !state_of(&r).is_open() {
                return Err(AppError::conflict(
                    "callback-closed",
                    format!("callback {id} is already {}", r.state),
                ));
            }
            crate::service::tickets::may_write(
                actor.clone(),
                r.ticket_id,
                now,
                crate::domain::workflow::Action::InternalNote,
            )(c)?;
            if state_of(&r) == CallbackState::Offered {
                store::answer_offer(c, id, "declined", now)?;
            }
            r.state = CallbackState::Cancelled.as_str().into();
            r.closed_at = Some(now);
            r.outcome = Some("cancelled".into());
            r.offered_to = None;
            r.offer_expires_at = None;
            r.agent_id = None;
            store::save(c, id, &r.changes())?;
            intake::event(
                c,
                r.ticket_id,
                EventKind::CallbackCancelled,
                Some(actor.agent_id),
                json!({"callback": id, "reason": reason}),
                now,
            )
        })
        .await?;
    detail(app, viewer, id).await
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct DispatchReport {
    /// Another instance was dispatching: nothing done this time.
    pub skipped: bool,
    /// Outside business hours: nothing offered.
    pub closed: bool,
    /// Offers that timed out and went back to the queue.
    pub expired: usize,
    /// New offers made.
    pub offered: usize,
    /// Due callbacks with no available agent.
    pub waiting: usize,
}

/// One round of the dispatcher: expired offers go back, due callbacks are
/// offered to the longest-idle available agent of their queue who holds no
/// other callback. With several instances only one dispatches at a time.
pub fn dispatch_in(
    c: &mut DbConn,
    policy: &Policy,
    now: NaiveDateTime,
) -> AppResult<DispatchReport> {
    let mut report = DispatchReport::default();
    if !work_lock(c, "callback-dispatch", false)? {
        report.skipped = true;
        return Ok(report);
    }
    for id in store::expired_offers(c, now)? {
        let mut r = locked(c, id)?;
        store::answer_offer(c, id, "timeout", now)?;
        r.state = CallbackState::Scheduled.as_str().into();
        r.offered_to = None;
        r.offer_expires_at = None;
        store::save(c, id, &r.changes())?;
        report.expired += 1;
    }
    if !policy.calendar.is_open(now) {
        report.closed = true;
        return Ok(report);
    }
    let mut busy = store::busy_agents(c)?;
    let mut by_queue: HashMap<i64, Vec<Candidate>> = HashMap::new();
    for mut r in store::due(c, now, 200)? {
        // Skill is membership of the queue the ticket is in now.
        let Some(queue) = tickets::find(c, r.ticket_id)?
            .map(|t| t.queue_id)
            .or(r.queue_id)
        else {
            continue;
        };
        if let std::collections::hash_map::Entry::Vacant(e) = by_queue.entry(queue) {
            let available = phone_store::presence_in_queue(c, queue)?
                .into_iter()
                .filter_map(|(agent, state, since, until)| {
                    let st = Presence::parse(&state).unwrap_or(Presence::Offline);
                    (presence::effective(st, until, now) == Presence::Available).then(|| {
                        Candidate {
                            agent_id: agent,
                            // After wrap-up the agent has been idle since it ended.
                            idle_since: if st == Presence::WrapUp {
                                until.unwrap_or(since)
                            } else {
                                since
                            },
                        }
                    })
                })
                .collect();
            e.insert(available);
        }
        let free: Vec<Candidate> = by_queue[&queue]
            .iter()
            .filter(|c| !busy.contains(&c.agent_id))
            .copied()
            .collect();
        let passed = store::passed(c, r.id, r.attempts)?;
        let Some(agent) = rules::pick_agent(&free, &passed) else {
            report.waiting += 1;
            continue;
        };
        let expires = now + policy.offer_for;
        store::insert_offer(c, r.id, agent, r.attempts, now, expires)?;
        r.state = CallbackState::Offered.as_str().into();
        r.offered_to = Some(agent);
        r.offer_expires_at = Some(expires);
        store::save(c, r.id, &r.changes())?;
        busy.push(agent);
        report.offered += 1;
    }
    Ok(report)
}

/// The dispatcher's job: one round in one transaction.
pub async fn dispatch(app: &App) -> AppResult<DispatchReport> {
    let policy = Policy::of(&app.config);
    let now = app.clock.now_db();
    app.db.write(move |c| dispatch_in(c, &policy, now)).await
}

/// Runs the dispatcher now (supervisors), e.g. after changing presence.
pub async fn dispatch_now(app: &App, viewer: &Viewer) -> AppResult<DispatchReport> {
    if !viewer.actor.can_supervise() {
        return Err(AppError::forbidden(
            "only supervisors run the dispatcher by hand",
        ));
    }
    dispatch(app).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackReport {
    pub from: DateTime<FixedOffset>,
    pub to: DateTime<FixedOffset>,
    /// Callbacks requested in the period.
    pub requested: usize,
    pub by_source: HashMap<String, usize>,
    pub by_state: HashMap<String, usize>,
    pub reached: usize,
    pub failed: usize,
    /// With a first attempt made.
    pub attempted: usize,
    /// First attempt within the target (business time).
    pub sla_met: usize,
    /// First attempt late, or none yet and the target passed.
    pub sla_breached: usize,
    /// The target, in business minutes.
    pub sla_target_minutes: i64,
    /// Business minutes from booked time to first attempt.
    pub median_minutes_to_first_attempt: Option<i64>,
    pub average_minutes_to_first_attempt: Option<f64>,
}

/// The callback service level over a period.
pub async fn report(
    app: &App,
    viewer: &Viewer,
    q: super::notes::PeriodQuery,
) -> AppResult<CallbackReport> {
    if !viewer.actor.can_supervise() {
        return Err(AppError::forbidden(
            "only supervisors see the callback report",
        ));
    }
    let now = app.clock.now_db();
    let (from, to) = q.range(now)?;
    let rows = app
        .db
        .read(move |c| {
            store::list(
                c,
                &CallbackFilter {
                    from: Some(from),
                    to: Some(to),
                    limit: i64::MAX,
                    ..Default::default()
                },
            )
        })
        .await?;
    let policy = Policy::of(&app.config);
    let tz = viewer.tz;
    let mut r = CallbackReport {
        from: local(from, tz),
        to: local(to, tz),
        requested: rows.len(),
        by_source: HashMap::new(),
        by_state: HashMap::new(),
        reached: 0,
        failed: 0,
        attempted: 0,
        sla_met: 0,
        sla_breached: 0,
        sla_target_minutes: policy.sla_target.num_minutes(),
        median_minutes_to_first_attempt: None,
        average_minutes_to_first_attempt: None,
    };
    let mut minutes = Vec::new();
    for row in &rows {
        *r.by_source.entry(row.source.clone()).or_default() += 1;
        *r.by_state.entry(row.state.clone()).or_default() += 1;
        match row.outcome.as_deref() {
            Some("reached") => r.reached += 1,
            Some("cancelled") | None => {}
            Some(_) => r.failed += 1,
        }
        if row.state == "cancelled" && row.first_attempt_at.is_none() {
            continue;
        }
        let s = rules::sla(
            &policy.calendar,
            policy.sla_target,
            row.sla_start.unwrap_or(row.created_at),
            row.first_attempt_at,
            now,
        );
        match s.met {
            Some(true) => r.sla_met += 1,
            Some(false) => r.sla_breached += 1,
            None => {}
        }
        if row.first_attempt_at.is_some() {
            r.attempted += 1;
            minutes.push(s.business_minutes);
        }
    }
    minutes.sort_unstable();
    if !minutes.is_empty() {
        r.median_minutes_to_first_attempt = Some(minutes[minutes.len() / 2]);
        r.average_minutes_to_first_attempt =
            Some(minutes.iter().sum::<i64>() as f64 / minutes.len() as f64);
    }
    Ok(r)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FreeSlot {
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
    /// Places left.
    pub free: i64,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlotQuery {
    /// From this instant (RFC 3339); default now.
    pub from: Option<DateTime<FixedOffset>>,
    /// How many slots (1–200, default 20).
    pub count: Option<usize>,
}

/// The next slots with room, for citizens choosing when to be called.
pub async fn free_slots(app: &App, q: SlotQuery) -> AppResult<Vec<FreeSlot>> {
    let now = app.clock.now_db();
    let from = q.from.map(|t| t.naive_utc()).unwrap_or(now).max(now);
    let count = q.count.unwrap_or(20);
    if !(1..=200).contains(&count) {
        return Err(AppError::invalid("count", "count is 1 to 200"));
    }
    let policy = Policy::of(&app.config);
    let tz = app.config.time_zone;
    let length = policy.slots.length;
    let taken = app.db.read(move |c| taken_slots(c, from, length)).await?;
    Ok(
        rules::free_slots(&policy.calendar, &policy.slots, from, count, |s| {
            taken.get(&s).copied().unwrap_or(0)
        })
        .into_iter()
        .map(|(s, e, free)| FreeSlot {
            start: local(s, tz),
            end: local(e, tz),
            free,
        })
        .collect(),
    )
}
