//! Writing a call up: a new ticket through intake (channel phone) or a phone
//! note on an existing one, linked to the call, with the call's outcome —
//! resolved on the phone (first-contact resolution), left open, or
//! escalated — applied in the same transaction. Also the call log, the
//! supervisor's acknowledgement of missed calls, and the call report.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::{call_view, CallView};
use crate::domain::workflow::Action;
use crate::domain::{ArticleKind, CallOutcome, Channel, EventKind, Priority};
use crate::error::{AppError, AppResult};
use crate::intake::{self, ContactRef, IntakeRequest};
use crate::service::contacts::ContactDetails;
use crate::service::tickets::{self as ticket_ops, TicketKey};
use crate::service::views::TicketDetail;
use crate::service::{optional_text, required_text, App, Viewer};
use crate::store::phone::{self as store, CallFilter};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneNote {
    /// Write the call up on this ticket (id or number) …
    pub ticket: Option<String>,
    /// … or open a new one with this subject.
    pub subject: Option<String>,
    /// The operator's write-up of the call.
    pub body: String,
    /// `resolved` (answered on the phone), `open` (left at first level) or `escalated`.
    pub outcome: CallOutcome,
    /// New tickets: the topic (default: the one chosen in the IVR).
    pub topic_id: Option<i64>,
    pub subject_id: Option<i64>,
    pub priority: Option<Priority>,
    /// New tickets: an existing contact … (default: the caller's number).
    pub contact_id: Option<i64>,
    /// … or details to find or create one.
    pub contact: Option<ContactDetails>,
    /// New tickets: the topic's call form, filled in (`{"city": "Roma", …}`).
    pub fields: Option<serde_json::Value>,
    /// `resolved`: the answer given (default: the write-up).
    pub resolution: Option<String>,
    /// `resolved`: e-mail the resolution to the customer (default true).
    pub notify: Option<bool>,
    /// `escalated`: the second-level or customer-care queue.
    pub escalate_to: Option<i64>,
    /// `escalated`: why first level could not close it.
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoteResult {
    pub call: CallView,
    pub ticket: TicketDetail,
    /// A new ticket was opened for the call.
    pub created: bool,
}

/// Writes a call up and applies its outcome, all in one transaction.
pub async fn write_up(
    app: &App,
    viewer: &Viewer,
    call_id: i64,
    note: PhoneNote,
) -> AppResult<NoteResult> {
    let outcome = note.outcome;
    let reason = match outcome {
        CallOutcome::Escalated => {
            if note.escalate_to.is_none() {
                return Err(AppError::invalid(
                    "escalate_to",
                    "an escalated call names the queue it goes to",
                ));
            }
            Some(required_text(
                "reason",
                note.reason.as_deref().unwrap_or(""),
                2000,
            )?)
        }
        _ => {
            if note.escalate_to.is_some() {
                return Err(AppError::invalid(
                    "escalate_to",
                    "only an escalated call names a queue",
                ));
            }
            None
        }
    };
    let resolution = optional_text("resolution", note.resolution.as_deref(), 20_000)?;
    if note.contact_id.is_some() && note.contact.is_some() {
        return Err(AppError::invalid(
            "contact",
            "give either contact_id or contact, not both",
        ));
    }
    let call = app
        .db
        .read(move |c| store::call(c, call_id))
        .await?
        .ok_or_else(|| AppError::not_found(format!("call {call_id}")))?;
    if call.answered_at.is_none() {
        return Err(AppError::conflict(
            "call-not-answered",
            format!("call {call_id} was not answered; nothing was said to write up"),
        ));
    }
    // The ticket: the one named, the one the call already went to, or a new one.
    let named = match &note.ticket {
        Some(t) => {
            let key = TicketKey::parse(t)?;
            Some(app.db.read(move |c| key.resolve(c)).await?)
        }
        None => None,
    };
    let existing = match (named, call.ticket_id) {
        (Some(a), Some(b)) if a != b => {
            return Err(AppError::conflict(
                "call-written-up",
                format!("call {call_id} is already written up on ticket {b}"),
            ))
        }
        (a, b) => a.or(b),
    };
    if existing.is_some() && (note.subject.is_some() || note.topic_id.is_some()) {
        return Err(AppError::invalid(
            "subject",
            "subject and topic are for a new ticket; this note goes to an existing one",
        ));
    }
    let now = app.clock.now_db();
    let actor = viewer.actor.clone();
    let contact = match (note.contact_id, note.contact, &call.caller_e164) {
        (Some(id), _, _) => ContactRef::Existing(id),
        (None, Some(d), _) => ContactRef::Details(d),
        (None, None, Some(phone)) => ContactRef::Details(ContactDetails {
            phone: Some(phone.clone()),
            ..Default::default()
        }),
        _ => ContactRef::Unknown,
    };
    let line_queue = match call.line_id {
        Some(l) => app
            .db
            .read(move |c| store::line(c, l))
            .await?
            .map(|l| l.queue_id),
        None => None,
    };
    let topic_id = note.topic_id.or(call.topic_id);
    let req = IntakeRequest {
        channel: if existing.is_some() {
            Channel::Staff
        } else {
            Channel::Phone
        },
        contact: if existing.is_some() {
            ContactRef::Unknown
        } else {
            contact
        },
        topic_id: if existing.is_some() { None } else { topic_id },
        subject_id: note.subject_id,
        // Without a topic, the ticket goes to the line's queue.
        queue_id: if existing.is_none() && topic_id.is_none() {
            line_queue
        } else {
            None
        },
        subject: note.subject.unwrap_or_default(),
        body: note.body.clone(),
        priority: note.priority,
        attachments: vec![],
        idempotency_key: None,
        ticket_id: existing,
        author_agent_id: Some(viewer.actor.agent_id),
        article_kind: ArticleKind::Phone,
        public: false,
        html: None,
        // New tickets go through the topic's call form (required fields enforced).
        fields: if existing.is_some() {
            note.fields
        } else {
            Some(note.fields.unwrap_or(serde_json::Value::Null))
        },
    };
    let guard =
        existing.map(|id| ticket_ops::may_write(actor.clone(), id, now, Action::InternalNote));
    let (config, templates) = (app.config.clone(), app.templates.clone());
    let body = note.body.trim().to_string();
    let notify = note.notify.unwrap_or(true);
    let escalate_to = note.escalate_to;
    let after: intake::After = Box::new(move |c, o, _| {
        // Taken again under the transaction: two notes racing on one call.
        let current = store::call(c, call_id)?.ok_or_else(|| AppError::not_found("call"))?;
        if current.ticket_id.is_some_and(|t| t != o.ticket_id) {
            return Err(AppError::conflict(
                "call-written-up",
                format!("call {call_id} is already written up on another ticket"),
            ));
        }
        store::set_note(c, call_id, o.ticket_id, outcome.as_str(), now)?;
        intake::event(
            c,
            o.ticket_id,
            EventKind::PhoneCall,
            Some(actor.agent_id),
            json!({"call": call_id, "call_id": current.external_id, "caller": current.caller, "outcome": outcome}),
            now,
        )?;
        match outcome {
            CallOutcome::Resolved => ticket_ops::resolve_in(
                c,
                &actor,
                o.ticket_id,
                now,
                if resolution.is_empty() {
                    body
                } else {
                    resolution
                },
                notify,
                &config,
                &templates,
            ),
            CallOutcome::Escalated => ticket_ops::escalate_in(
                c,
                &actor,
                o.ticket_id,
                now,
                escalate_to.unwrap_or_default(),
                reason.unwrap_or_default(),
                &config.calendar(),
            ),
            CallOutcome::Open => Ok(()),
        }
    });
    let done = intake::submit_guarded(app, req, guard, Some(after)).await?;
    let ticket = ticket_ops::get(app, viewer, TicketKey::Id(done.ticket_id)).await?;
    let tz = viewer.tz;
    let call = app
        .db
        .read(move |c| {
            let r = store::call(c, call_id)?.ok_or_else(|| AppError::not_found("call"))?;
            call_view(c, &r, tz)
        })
        .await?;
    Ok(NoteResult {
        call,
        ticket,
        created: done.created,
    })
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallQuery {
    /// `offered`, `answered`, `ended` or `missed`.
    pub state: Option<String>,
    /// Missed calls a supervisor has (true) or has not (false) acknowledged.
    pub acknowledged: Option<bool>,
    /// Offered at or after (RFC 3339).
    pub from: Option<DateTime<FixedOffset>>,
    /// Offered before (RFC 3339).
    pub to: Option<DateTime<FixedOffset>>,
    /// Calls older than this id (the next page).
    pub before: Option<i64>,
    /// At most 200; default 50.
    pub limit: Option<i64>,
}

const CALL_STATES: [&str; 4] = ["offered", "answered", "ended", "missed"];

/// The call log, newest first.
pub async fn list(app: &App, viewer: &Viewer, q: CallQuery) -> AppResult<Vec<CallView>> {
    if let Some(s) = &q.state {
        if !CALL_STATES.contains(&s.as_str()) {
            return Err(AppError::invalid(
                "state",
                format!("'{s}' is not one of {}", CALL_STATES.join(", ")),
            ));
        }
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::invalid("limit", "limit is 1 to 200"));
    }
    let filter = CallFilter {
        state: q.state,
        acknowledged: q.acknowledged,
        line_id: None,
        from: q.from.map(|t| t.naive_utc()),
        to: q.to.map(|t| t.naive_utc()),
        before_id: q.before,
        limit,
    };
    let tz = viewer.tz;
    app.db
        .read(move |c| {
            store::list_calls(c, &filter)?
                .iter()
                .map(|r| call_view(c, r, tz))
                .collect()
        })
        .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeRequest {
    /// These missed calls …
    #[serde(default)]
    pub call_ids: Vec<i64>,
    /// … or every unacknowledged missed call offered before this instant.
    pub before: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcknowledgeResult {
    pub acknowledged: usize,
}

/// A supervisor marks missed calls as seen, in bulk.
pub async fn acknowledge(
    app: &App,
    viewer: &Viewer,
    req: AcknowledgeRequest,
) -> AppResult<AcknowledgeResult> {
    if !viewer.actor.can_supervise() {
        return Err(AppError::forbidden(
            "only supervisors acknowledge missed calls",
        ));
    }
    if req.call_ids.is_empty() == req.before.is_none() {
        return Err(AppError::invalid(
            "call_ids",
            "give either call_ids or before",
        ));
    }
    if req.call_ids.len() > 1000 {
        return Err(AppError::invalid(
            "call_ids",
            "at most 1000 calls at a time",
        ));
    }
    let now = app.clock.now_db();
    let agent = viewer.actor.agent_id;
    let acknowledged = app
        .db
        .write(move |c| {
            let ids = match req.before {
                Some(before) => store::list_calls(
                    c,
                    &CallFilter {
                        state: Some("missed".into()),
                        acknowledged: Some(false),
                        to: Some(before.naive_utc()),
                        limit: i64::MAX,
                        ..Default::default()
                    },
                )?
                .into_iter()
                .map(|r| r.id)
                .collect(),
                None => req.call_ids,
            };
            store::acknowledge(c, &ids, agent, now)
        })
        .await?;
    Ok(AcknowledgeResult { acknowledged })
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// Start (RFC 3339); default: 30 days ago.
    pub from: Option<DateTime<FixedOffset>>,
    /// End (RFC 3339); default: now.
    pub to: Option<DateTime<FixedOffset>>,
}

impl PeriodQuery {
    pub fn range(&self, now: NaiveDateTime) -> AppResult<(NaiveDateTime, NaiveDateTime)> {
        // Up to and including now when no end is given.
        let to = self
            .to
            .map(|t| t.naive_utc())
            .unwrap_or(now + chrono::Duration::microseconds(1));
        let from = self
            .from
            .map(|t| t.naive_utc())
            .unwrap_or(to - chrono::Duration::days(30));
        if from >= to {
            return Err(AppError::invalid(
                "from",
                "the period ends before it starts",
            ));
        }
        Ok((from, to))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallReport {
    pub from: DateTime<FixedOffset>,
    pub to: DateTime<FixedOffset>,
    pub offered: i64,
    pub answered: i64,
    /// Missed or abandoned before anyone answered.
    pub missed: i64,
    pub missed_acknowledged: i64,
    /// Calls written up (phone notes).
    pub written_up: i64,
    /// Resolved during the call.
    pub resolved_first_contact: i64,
    pub left_open: i64,
    pub escalated: i64,
    /// Share of written-up calls resolved during the call (0–1).
    pub first_contact_resolution_rate: Option<f64>,
}

/// Calls in a period, and how many were resolved on first contact.
pub async fn report(app: &App, viewer: &Viewer, q: PeriodQuery) -> AppResult<CallReport> {
    if !viewer.actor.can_supervise() {
        return Err(AppError::forbidden("only supervisors see the call report"));
    }
    let (from, to) = q.range(app.clock.now_db())?;
    let counts = app
        .db
        .read(move |c| store::call_counts(c, from, to))
        .await?;
    let state = |s: &str| {
        counts
            .by_state
            .iter()
            .find(|(k, _)| k == s)
            .map_or(0, |(_, n)| *n)
    };
    let outcome = |o: CallOutcome| {
        counts
            .by_outcome
            .iter()
            .find(|(k, _)| k.as_deref() == Some(o.as_str()))
            .map_or(0, |(_, n)| *n)
    };
    let offered = counts.by_state.iter().map(|(_, n)| n).sum();
    let (resolved, open, escalated) = (
        outcome(CallOutcome::Resolved),
        outcome(CallOutcome::Open),
        outcome(CallOutcome::Escalated),
    );
    let written_up = resolved + open + escalated;
    let tz = viewer.tz;
    Ok(CallReport {
        from: crate::service::views::local(from, tz),
        to: crate::service::views::local(to, tz),
        offered,
        answered: state("answered") + state("ended"),
        missed: state("missed"),
        missed_acknowledged: counts.missed_acknowledged,
        written_up,
        resolved_first_contact: resolved,
        left_open: open,
        escalated,
        first_contact_resolution_rate: (written_up > 0)
            .then(|| resolved as f64 / written_up as f64),
    })
}
