//! The phone channel, as far as Sportello is concerned: service lines with
//! IVR menus, call events from the telephony platform (CTI), the operator's
//! screen pop, and agent presence. Sportello does not switch calls.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub mod callbacks;
pub mod notes;

use crate::domain::callback::CallbackMode;
use crate::domain::phone;
use crate::domain::presence::{self, Presence, PresenceEvent};
use crate::domain::{ArticleKind, Channel};
use crate::error::{AppError, AppResult};
use crate::intake::{self, ContactRef, IntakeRequest};
use crate::service::contacts::ContactDetails;
use crate::service::views::{local, ContactView, TicketSummary};
use crate::service::{required_text, App, Viewer};
use crate::store::phone::{self as store, CallFields, CallRow};
use crate::store::tickets::TicketFilter;
use crate::store::{catalogue, contacts, tickets, DbConn};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    /// The called number (any format; stored as E.164).
    pub number: String,
    /// The service the line is for, e.g. "Carta servizi – associazioni".
    pub service: String,
    /// The kind of caller, e.g. "trade associations".
    pub caller_kind: Option<String>,
    /// Read to the caller / shown in the screen pop (recording and privacy).
    pub privacy_notice: Option<String>,
    pub queue_id: i64,
    /// IVR digit → topic.
    #[serde(default)]
    pub ivr: BTreeMap<String, i64>,
    /// A missed call from a number with no open callback books one (default false).
    pub auto_callback: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineView {
    pub id: i64,
    pub number: String,
    pub service: String,
    pub caller_kind: String,
    pub privacy_notice: String,
    pub queue_id: i64,
    pub ivr: BTreeMap<String, i64>,
    pub auto_callback: bool,
}

fn line_view(c: &mut DbConn, l: store::LineRow) -> AppResult<LineView> {
    let ivr = store::ivr_of(c, l.id)?.into_iter().collect();
    Ok(LineView {
        id: l.id,
        number: l.number,
        service: l.service,
        caller_kind: l.caller_kind,
        privacy_notice: l.privacy_notice,
        queue_id: l.queue_id,
        ivr,
        auto_callback: l.auto_callback,
    })
}

pub async fn create_line(app: &App, viewer: &Viewer, input: LineInput) -> AppResult<LineView> {
    if !viewer.actor.can_configure() {
        return Err(AppError::forbidden("only admins configure service lines"));
    }
    let number =
        phone::normalise(&input.number).map_err(|e| AppError::invalid("number", e.to_string()))?;
    let service = required_text("service", &input.service, 200)?;
    let now = app.clock.now_db();
    app.db
        .write(move |c| {
            catalogue::queue(c, input.queue_id)?
                .ok_or_else(|| AppError::invalid("queue_id", "no such queue"))?;
            for (digit, topic) in &input.ivr {
                if digit.is_empty()
                    || digit.len() > 4
                    || !digit
                        .chars()
                        .all(|d| d.is_ascii_digit() || d == '*' || d == '#')
                {
                    return Err(AppError::invalid(
                        "ivr",
                        format!("'{digit}' is not an IVR choice"),
                    ));
                }
                catalogue::topic(c, *topic)?.ok_or_else(|| {
                    AppError::invalid("ivr", format!("topic {topic} does not exist"))
                })?;
            }
            if store::line_by_number(c, &number)?.is_some() {
                return Err(AppError::conflict(
                    "line-exists",
                    format!("{number} is already a service line"),
                ));
            }
            let id = store::insert_line(
                c,
                &number,
                &service,
                input.caller_kind.as_deref().unwrap_or(""),
                input.privacy_notice.as_deref().unwrap_or(""),
                input.queue_id,
                input.auto_callback.unwrap_or(false),
                now,
            )?;
            store::set_ivr(c, id, &input.ivr.into_iter().collect::<Vec<_>>())?;
            let row = store::line(c, id)?.ok_or_else(|| AppError::not_found("line"))?;
            line_view(c, row)
        })
        .await
}

pub async fn lines(app: &App) -> AppResult<Vec<LineView>> {
    app.db
        .read(|c| {
            store::lines(c)?
                .into_iter()
                .map(|l| line_view(c, l))
                .collect()
        })
        .await
}

/// What the telephony platform reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CtiKind {
    Offered,
    Answered,
    Ended,
    Missed,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CtiEvent {
    /// Unique per event: the same event twice is applied once.
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: CtiKind,
    /// The platform's id of the call.
    pub call_id: String,
    /// The caller's number as the platform reports it.
    pub caller: Option<String>,
    /// The called service line.
    pub line: Option<String>,
    /// The IVR digit the caller chose.
    pub ivr_choice: Option<String>,
    /// The agent who answered (answered events).
    pub agent_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallView {
    pub id: i64,
    pub call_id: String,
    /// `offered`, `answered`, `ended` or `missed`.
    pub state: String,
    pub caller: String,
    pub caller_e164: Option<String>,
    pub line: Option<String>,
    pub ivr_choice: Option<String>,
    pub agent_id: Option<i64>,
    pub offered_at: DateTime<FixedOffset>,
    pub answered_at: Option<DateTime<FixedOffset>>,
    pub ended_at: Option<DateTime<FixedOffset>>,
    /// The ticket the call was written up on.
    pub ticket_id: Option<i64>,
    /// `resolved`, `open` or `escalated` once written up; `callback` for a missed call that booked one.
    pub outcome: Option<String>,
    /// Missed calls: when a supervisor acknowledged it.
    pub acknowledged_at: Option<DateTime<FixedOffset>>,
}

pub(crate) fn call_view(c: &mut DbConn, r: &CallRow, tz: chrono_tz::Tz) -> AppResult<CallView> {
    let line = match r.line_id {
        Some(l) => store::line(c, l)?.map(|l| l.number),
        None => None,
    };
    Ok(CallView {
        id: r.id,
        call_id: r.external_id.clone(),
        state: r.state.clone(),
        caller: r.caller.clone(),
        caller_e164: r.caller_e164.clone(),
        line,
        ivr_choice: r.ivr_choice.clone(),
        agent_id: r.agent_id,
        offered_at: local(r.offered_at, tz),
        answered_at: r.answered_at.map(|a| local(a, tz)),
        ended_at: r.ended_at.map(|a| local(a, tz)),
        ticket_id: r.ticket_id,
        outcome: r.outcome.clone(),
        acknowledged_at: r.acknowledged_at.map(|a| local(a, tz)),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CtiResult {
    pub call: CallView,
    /// Already applied before (same event id): nothing changed.
    pub duplicate: bool,
    /// The screen pop, with an answered event.
    pub context: Option<ScreenPop>,
    /// A missed call on a line with automatic callbacks: the callback booked.
    pub callback_id: Option<i64>,
}

/// Applies one CTI event: the call record, the agent's presence; idempotent per event id.
pub async fn apply_event(app: &App, viewer: &Viewer, ev: CtiEvent) -> AppResult<CtiResult> {
    let event_id = required_text("event_id", &ev.event_id, 200)?;
    let external = required_text("call_id", &ev.call_id, 200)?;
    let now = app.clock.now_db();
    let tz = viewer.tz;
    let wrap_up = Duration::seconds(app.config.wrap_up_secs);
    let (policy, mail) = (callbacks::Policy::of(&app.config), callbacks::Mail::of(app));
    let (call_id, duplicate, callback_id) = app
        .db
        .write(move |c| {
            if let Some(call) = store::event_seen(c, &event_id)? {
                return Ok((call, true, None));
            }
            let line = match &ev.line {
                Some(l) => match phone::normalise(l) {
                    Ok(n) => store::line_by_number(c, &n)?,
                    Err(_) => None,
                },
                None => None,
            };
            let mut row = match store::call_by_external(c, &external)? {
                Some(r) => r.fields(),
                None => {
                    let caller = ev.caller.clone().unwrap_or_default();
                    CallFields {
                        external_id: external.clone(),
                        line_id: line.as_ref().map(|l| l.id),
                        called: ev.line.clone().unwrap_or_default(),
                        caller_e164: phone::normalise(&caller).ok(),
                        caller,
                        ivr_choice: None,
                        topic_id: None,
                        agent_id: None,
                        state: "offered".into(),
                        offered_at: now,
                        answered_at: None,
                        ended_at: None,
                        ticket_id: None,
                    }
                }
            };
            if let Some(choice) = &ev.ivr_choice {
                row.ivr_choice = Some(choice.clone());
                if let Some(l) = &line {
                    row.topic_id = store::ivr_of(c, l.id)?
                        .into_iter()
                        .find(|(d, _)| d == choice)
                        .map(|(_, t)| t);
                }
            }
            match ev.kind {
                CtiKind::Offered => {}
                CtiKind::Answered => {
                    let agent = ev.agent_id.ok_or_else(|| {
                        AppError::invalid("agent_id", "an answered call names its agent")
                    })?;
                    crate::store::agents::find(c, agent)?.ok_or_else(|| {
                        AppError::invalid("agent_id", format!("agent {agent} does not exist"))
                    })?;
                    row.agent_id = Some(agent);
                    row.state = "answered".into();
                    row.answered_at = Some(now);
                    move_presence(c, agent, PresenceEvent::CallAnswered, now, wrap_up)?;
                }
                CtiKind::Ended => {
                    row.state = if row.answered_at.is_some() {
                        "ended".into()
                    } else {
                        "missed".into()
                    };
                    row.ended_at = Some(now);
                    if let Some(agent) = row.agent_id {
                        move_presence(c, agent, PresenceEvent::CallEnded, now, wrap_up)?;
                    }
                }
                CtiKind::Missed => {
                    row.state = "missed".into();
                    row.ended_at = Some(now);
                }
            }
            let (id, was_missed) = match store::call_by_external(c, &external)? {
                Some(existing) => {
                    store::save_call(c, existing.id, &row)?;
                    (existing.id, existing.state == "missed")
                }
                None => (store::insert_call(c, &row)?, false),
            };
            store::record_event(
                c,
                &event_id,
                id,
                &format!("{:?}", ev.kind).to_lowercase(),
                now,
            )?;
            let callback = if row.state == "missed" && !was_missed {
                missed_call_callback(c, &policy, &mail, id, now, tz)?
            } else {
                None
            };
            Ok((id, false, callback))
        })
        .await?;
    let answered = app
        .db
        .read(move |c| store::call(c, call_id))
        .await?
        .is_some_and(|r| r.state == "answered");
    let context = if answered && !duplicate {
        Some(screen_pop(app, viewer, call_id).await?)
    } else {
        None
    };
    let call = app
        .db
        .read(move |c| {
            let r = store::call(c, call_id)?.ok_or_else(|| AppError::not_found("call"))?;
            call_view(c, &r, tz)
        })
        .await?;
    Ok(CtiResult {
        call,
        duplicate,
        context,
        callback_id,
    })
}

/// A missed call on a line that asks for it becomes a callback request (on
/// a new phone ticket for the caller) unless the number already has one open.
fn missed_call_callback(
    c: &mut DbConn,
    policy: &callbacks::Policy,
    mail: &callbacks::Mail,
    call_id: i64,
    now: chrono::NaiveDateTime,
    tz: chrono_tz::Tz,
) -> AppResult<Option<i64>> {
    let call = store::call(c, call_id)?.ok_or_else(|| AppError::not_found("call"))?;
    let Some(line) = (match call.line_id {
        Some(l) => store::line(c, l)?,
        None => None,
    }) else {
        return Ok(None);
    };
    let Some(phone) = call.caller_e164.clone() else {
        return Ok(None);
    };
    if !line.auto_callback || crate::store::callbacks::open_for_phone(c, &phone)?.is_some() {
        return Ok(None);
    }
    let when = local(call.offered_at, tz).format("%d/%m/%Y %H:%M");
    let prepared = intake::prepare(
        IntakeRequest {
            channel: Channel::Phone,
            contact: ContactRef::Details(ContactDetails {
                phone: Some(phone.clone()),
                ..Default::default()
            }),
            topic_id: call.topic_id,
            subject_id: None,
            queue_id: call.topic_id.is_none().then_some(line.queue_id),
            subject: format!("Chiamata persa da {phone}"),
            body: format!(
                "Chiamata persa il {when} sulla linea {} ({}). Richiamata prenotata automaticamente.",
                line.service, line.number
            ),
            priority: None,
            attachments: vec![],
            idempotency_key: None,
            ticket_id: None,
            author_agent_id: None,
            article_kind: ArticleKind::Phone,
            public: false,
            html: None,
            fields: None,
        },
        usize::MAX,
    )?;
    let outcome = intake::apply(c, &prepared, now, &policy.calendar)?;
    store::set_note(c, call_id, outcome.ticket_id, "callback", now)?;
    let row = callbacks::book_in(
        c,
        policy,
        mail,
        callbacks::Booking {
            ticket_id: outcome.ticket_id,
            phone,
            mode: CallbackMode::Now,
            preferred_at: None,
            topic_id: call.topic_id,
            note: String::new(),
            source: "cti",
            call_id: Some(call_id),
            tracking_url: None,
        },
        now,
    )?;
    Ok(Some(row.id))
}

fn move_presence(
    c: &mut DbConn,
    agent: i64,
    event: PresenceEvent,
    now: chrono::NaiveDateTime,
    wrap_up: Duration,
) -> AppResult<()> {
    let current = match store::presence(c, agent)? {
        Some((s, _, until)) => {
            presence::effective(Presence::parse(&s).unwrap_or(Presence::Offline), until, now)
        }
        None => Presence::Offline,
    };
    if let Some((next, until)) = presence::next(current, event, now, wrap_up) {
        store::set_presence(c, agent, next.as_str(), now, until)?;
    }
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallerMatch {
    pub contact: ContactView,
    pub open_tickets: Vec<TicketSummary>,
    pub recent_tickets: Vec<TicketSummary>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScreenPop {
    pub call: CallView,
    pub service: Option<String>,
    pub caller_kind: Option<String>,
    pub privacy_notice: Option<String>,
    pub topic: Option<String>,
    pub info_script: Option<String>,
    /// Registry entries with the caller's number, in any format it was written.
    pub matches: Vec<CallerMatch>,
}

/// Everything the operator needs while the phone rings.
pub async fn screen_pop(app: &App, viewer: &Viewer, call_id: i64) -> AppResult<ScreenPop> {
    let tz = viewer.tz;
    let now = app.clock.now_db();
    app.db
        .read(move |c| {
            let call = store::call(c, call_id)?
                .ok_or_else(|| AppError::not_found(format!("call {call_id}")))?;
            let line = match call.line_id {
                Some(l) => store::line(c, l)?,
                None => None,
            };
            let topic = match call.topic_id {
                Some(t) => catalogue::topic(c, t)?,
                None => None,
            };
            let mut matches = Vec::new();
            if let Some(e164) = &call.caller_e164 {
                for contact_id in contacts::by_phone(c, e164)? {
                    let contact = crate::service::contacts::view_in(c, contact_id, tz)?;
                    let rows = tickets::list(
                        c,
                        &TicketFilter {
                            contact_id: Some(contact_id),
                            limit: 20,
                            ..Default::default()
                        },
                    )?;
                    let lookup = crate::service::lookup::Lookup::load(c, &rows, tz, now)?;
                    let (open, done): (Vec<_>, Vec<_>) = rows.iter().partition(|r| {
                        crate::domain::TicketState::parse(&r.state).is_some_and(|s| s.is_active())
                    });
                    matches.push(CallerMatch {
                        contact,
                        open_tickets: open
                            .iter()
                            .map(|r| lookup.summary(r))
                            .collect::<AppResult<_>>()?,
                        recent_tickets: done
                            .iter()
                            .take(5)
                            .map(|r| lookup.summary(r))
                            .collect::<AppResult<_>>()?,
                    });
                }
            }
            Ok(ScreenPop {
                call: call_view(c, &call, tz)?,
                service: line.as_ref().map(|l| l.service.clone()),
                caller_kind: line.as_ref().map(|l| l.caller_kind.clone()),
                privacy_notice: line.as_ref().map(|l| l.privacy_notice.clone()),
                topic: topic.as_ref().map(|t| t.name.clone()),
                info_script: topic.map(|t| t.info_script),
                matches,
            })
        })
        .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceRequest {
    /// `available`, `away`, `offline` (or `wrap_up` right after a call); `on_call` is set by the CTI.
    pub state: Presence,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PresenceView {
    pub agent_id: i64,
    pub state: Presence,
    pub since: DateTime<FixedOffset>,
    pub seconds_in_state: i64,
}

pub async fn set_presence(
    app: &App,
    viewer: &Viewer,
    req: PresenceRequest,
) -> AppResult<PresenceView> {
    let now = app.clock.now_db();
    let agent = viewer.actor.agent_id;
    let tz = viewer.tz;
    let wrap_up = Duration::seconds(app.config.wrap_up_secs);
    app.db
        .write(move |c| {
            let current = match store::presence(c, agent)? {
                Some((s, _, until)) => presence::effective(
                    Presence::parse(&s).unwrap_or(Presence::Offline),
                    until,
                    now,
                ),
                None => Presence::Offline,
            };
            let (next, until) =
                presence::next(current, PresenceEvent::Set(req.state), now, wrap_up).ok_or_else(
                    || {
                        AppError::conflict(
                            "presence",
                            format!("cannot go from {current} to {} by hand", req.state),
                        )
                    },
                )?;
            store::set_presence(c, agent, next.as_str(), now, until)?;
            Ok(PresenceView {
                agent_id: agent,
                state: next,
                since: local(now, tz),
                seconds_in_state: 0,
            })
        })
        .await
}

/// Everyone's presence and time in state (supervisors).
pub async fn all_presence(app: &App, viewer: &Viewer) -> AppResult<Vec<PresenceView>> {
    if !viewer.actor.can_supervise() {
        return Err(AppError::forbidden(
            "only supervisors see everyone's presence",
        ));
    }
    let now = app.clock.now_db();
    let tz = viewer.tz;
    app.db
        .read(move |c| {
            Ok(store::all_presence(c)?
                .into_iter()
                .map(|(agent_id, s, since, until)| {
                    let (state, since) = presence::seen(
                        Presence::parse(&s).unwrap_or(Presence::Offline),
                        since,
                        until,
                        now,
                    );
                    PresenceView {
                        agent_id,
                        state,
                        since: local(since, tz),
                        seconds_in_state: (now - since).num_seconds(),
                    }
                })
                .collect())
        })
        .await
}
