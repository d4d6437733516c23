//! Intake: the one door through which every channel (staff API, phone, e-mail,
//! web form, callbacks) creates a ticket or adds to one. It matches or creates
//! the contact, routes by topic, numbers the ticket and writes ticket, article,
//! attachments and events in one transaction. An idempotency key makes a
//! retried submission return the first result instead of a second ticket.

use chrono::{Datelike, NaiveDateTime};
use chrono_tz::Tz;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::domain::calendar::Calendar;
use crate::domain::forms::{self, FieldValue};
use crate::domain::workflow::{decide, Action};
use crate::domain::{ArticleKind, Channel, EventKind, Priority, TicketState};
use crate::error::{is_unique_violation, AppError, AppResult};
use crate::service::contacts::{check_details, match_or_create, CheckedDetails, ContactDetails};
use crate::service::{required_text, sla, App};
use crate::store::rows::{
    NewArticle, NewAttachment, NewEvent, NewTicket, TicketFieldRow, TicketRow,
};
use crate::store::sla::{ClockRow, Starting};
use crate::store::{catalogue, contacts, tickets, DbConn};

/// Who the request is from.
#[derive(Debug, Clone)]
pub enum ContactRef {
    Unknown,
    Existing(i64),
    Details(ContactDetails),
}

#[derive(Debug, Clone)]
pub struct AttachmentInput {
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct IntakeRequest {
    pub channel: Channel,
    pub contact: ContactRef,
    pub topic_id: Option<i64>,
    pub subject_id: Option<i64>,
    /// Overrides routing (e.g. the queue of the mailbox a message came to).
    pub queue_id: Option<i64>,
    pub subject: String,
    pub body: String,
    pub priority: Option<Priority>,
    pub attachments: Vec<AttachmentInput>,
    pub idempotency_key: Option<String>,
    /// Add to this ticket instead of opening a new one.
    pub ticket_id: Option<i64>,
    pub author_agent_id: Option<i64>,
    pub article_kind: ArticleKind,
    pub public: bool,
    /// Sanitized HTML kept beside the text (e-mail).
    pub html: Option<String>,
    /// Values of the topic's call form, a JSON object keyed by field name.
    /// `None`: the channel has no form to fill (e-mail, web form) and nothing
    /// is checked. `Some` (even `null`): checked against the topic's form,
    /// required fields enforced on a new ticket; values for a topic without a
    /// form are refused.
    pub fields: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntakeOutcome {
    pub ticket_id: i64,
    pub article_id: i64,
    /// A new ticket was opened (false when the request was added to one).
    pub created: bool,
    /// The idempotency key had been seen: nothing was written this time.
    pub replayed: bool,
}

/// A request that passed validation, ready to [`apply`] in a transaction.
pub struct Prepared {
    pub req: IntakeRequest,
    contact: Option<CheckedDetails>,
    pub key: Option<String>,
}

const MAX_BODY_CHARS: usize = 200_000;

/// Validates a request (nothing is read or written).
pub fn prepare(req: IntakeRequest, max_attachment: usize) -> AppResult<Prepared> {
    let mut req = req;
    if req.ticket_id.is_none() {
        req.subject = required_text("subject", &req.subject, 250)?;
    }
    req.body = required_text("body", &req.body, MAX_BODY_CHARS)?;
    for (i, a) in req.attachments.iter_mut().enumerate() {
        let field = format!("attachments[{i}]");
        a.filename = required_text(&format!("{field}.filename"), &a.filename, 255)?;
        if a.filename.contains(['/', '\\', '\0']) {
            return Err(AppError::invalid(
                &format!("{field}.filename"),
                "a file name cannot contain path separators",
            ));
        }
        if a.content_type.trim().is_empty() {
            a.content_type = "application/octet-stream".into();
        }
        if a.data.len() > max_attachment {
            return Err(AppError::PayloadTooLarge(format!(
                "{} is {} bytes; attachments may be at most {max_attachment} bytes",
                a.filename,
                a.data.len()
            )));
        }
    }
    let contact = match &req.contact {
        ContactRef::Details(d) => Some(check_details(d)?),
        _ => None,
    };
    let key = match &req.idempotency_key {
        Some(k) => {
            let k = k.trim();
            if k.is_empty() || k.len() > 200 {
                return Err(AppError::invalid(
                    "idempotency_key",
                    "an idempotency key is 1 to 200 characters",
                ));
            }
            Some(format!("{}:{k}", req.channel))
        }
        None => None,
    };
    Ok(Prepared { req, contact, key })
}

/// A check a channel runs inside intake's transaction, before anything is
/// written (the staff API checks the agent may still work the ticket).
pub type Guard = Box<dyn FnOnce(&mut DbConn) -> AppResult<()> + Send>;

/// Work a channel does in intake's transaction once the request is applied
/// (e.g. queue the e-mail it causes); skipped when the request is a replay.
/// It gets the ticket as it stands after the request.
pub type After = Box<dyn FnOnce(&mut DbConn, &IntakeOutcome, &TicketRow) -> AppResult<()> + Send>;

/// Validates and applies a request; safe to call again with the same key.
pub async fn submit(app: &App, req: IntakeRequest) -> AppResult<IntakeOutcome> {
    submit_guarded(app, req, None, None).await
}

/// [`submit`] with a guard that can refuse the request inside the transaction.
pub async fn submit_guarded(
    app: &App,
    req: IntakeRequest,
    guard: Option<Guard>,
    after: Option<After>,
) -> AppResult<IntakeOutcome> {
    submit_as(app, req, guard, after, None).await
}

/// The code of the conflict [`submit_checked`] answers when the catalogue
/// changed after the caller checked the request against it.
pub const CATALOGUE_CHANGED: &str = "catalogue-changed";

/// [`submit`] of a request its channel checked against `catalogue` (a copy
/// held in memory, read without a round trip): the transaction confirms that
/// copy is still the current one and refuses the request with a
/// [`CATALOGUE_CHANGED`] conflict if not, so that the channel checks it again.
pub async fn submit_checked(
    app: &App,
    req: IntakeRequest,
    catalogue: std::sync::Arc<catalogue::Snapshot>,
    after: Option<After>,
) -> AppResult<IntakeOutcome> {
    submit_as(app, req, None, after, Some(catalogue)).await
}

async fn submit_as(
    app: &App,
    req: IntakeRequest,
    guard: Option<Guard>,
    after: Option<After>,
    checked_against: Option<std::sync::Arc<catalogue::Snapshot>>,
) -> AppResult<IntakeOutcome> {
    let checked = std::sync::Arc::new(prepare(req, app.config.max_attachment_bytes)?);
    let now = app.clock.now_db();
    let calendar = app.config.calendar();
    let c2 = checked.clone();
    let result = app
        .db
        .write(move |c| {
            if let Some(g) = guard {
                g(c)?;
            }
            let given = match checked_against {
                Some(expected) => Given::CheckedAgainst(expected),
                None => Given::Unknown,
            };
            let (outcome, ticket) = apply_in(c, &c2, now, &calendar, given)?;
            if let (Some(a), Some(ticket)) = (after, ticket) {
                a(c, &outcome, &ticket)?;
            }
            Ok(outcome)
        })
        .await;
    match result {
        // Two submissions with one key raced (PostgreSQL): the loser reads the winner's result.
        Err(e) if is_unique_violation(&e) && checked.key.is_some() => {
            let key = checked.key.clone().unwrap_or_default();
            let found = app
                .db
                .read(move |c| tickets::find_intake_key(c, &key))
                .await?;
            match found {
                Some((ticket_id, article_id)) => Ok(IntakeOutcome {
                    ticket_id,
                    article_id,
                    created: false,
                    replayed: true,
                }),
                None => Err(e),
            }
        }
        other => other,
    }
}

/// Applies a prepared request inside the caller's transaction. The desk's
/// calendar gives the time zone ticket numbers take their year in and the
/// business hours the service-level clocks count.
pub fn apply(
    conn: &mut DbConn,
    ch: &Prepared,
    now: NaiveDateTime,
    calendar: &Calendar,
) -> AppResult<IntakeOutcome> {
    apply_with(conn, ch, now, calendar, None).map(|(outcome, _)| outcome)
}

/// [`apply`], also giving the ticket as it stands after the request (`None`
/// for a replay, which wrote nothing), with the catalogue the caller has
/// already read in this transaction (e-mail checks the mailboxes' addresses
/// first), so it is not checked again.
pub fn apply_with(
    conn: &mut DbConn,
    ch: &Prepared,
    now: NaiveDateTime,
    calendar: &Calendar,
    catalogue: Option<std::sync::Arc<catalogue::Snapshot>>,
) -> AppResult<(IntakeOutcome, Option<TicketRow>)> {
    let given = match catalogue {
        Some(read) => Given::Read(read),
        None => Given::Unknown,
    };
    apply_in(conn, ch, now, calendar, given)
}

/// The catalogue a request is applied with, as its caller has it.
enum Given {
    /// Read in this transaction.
    Read(std::sync::Arc<catalogue::Snapshot>),
    /// The copy the channel checked the request against: the request is
    /// refused with [`CATALOGUE_CHANGED`] unless it is still the current one.
    CheckedAgainst(std::sync::Arc<catalogue::Snapshot>),
    /// None: a new ticket is routed with the pool's copy, which its INSERT
    /// confirms (the catalogue is read, and the request routed again, only
    /// when it changed); else the catalogue is read.
    Unknown,
}

/// What the new ticket's INSERT must confirm of the catalogue it was routed with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Confirm {
    /// Nothing: it was read in this transaction.
    No,
    /// The channel's copy: refuse the request if it changed.
    OrRefuse,
    /// The pool's copy: read the catalogue and route again if it changed.
    OrRead,
}

fn catalogue_changed() -> AppError {
    AppError::conflict(
        CATALOGUE_CHANGED,
        "the help desk's topics changed while the request was checked; send it again",
    )
}

/// A new ticket's queue, topic and subject, and its call form's values.
type Plan = (Option<(i64, Option<i64>, Option<i64>)>, Vec<FieldValue>);

/// Routes a new ticket and checks its call form against the catalogue
/// (nothing is read or written).
fn plan(req: &IntakeRequest, cat: Option<&catalogue::Snapshot>) -> AppResult<Plan> {
    let routed = match (cat, req.ticket_id) {
        (Some(cat), None) => Some(route(cat, req)?),
        _ => None,
    };
    let field_values = match (&req.fields, routed, cat) {
        (None, _, _) => vec![],
        (Some(v), Some((_, topic_id, _)), Some(cat)) => form_values(cat, topic_id, v)?,
        (Some(v), _, _) if no_values(v) => vec![],
        (Some(_), _, _) => {
            return Err(AppError::invalid(
                "fields",
                "call-form values are given when a ticket is opened",
            ))
        }
    };
    Ok((routed, field_values))
}

fn apply_in(
    conn: &mut DbConn,
    ch: &Prepared,
    now: NaiveDateTime,
    calendar: &Calendar,
    given: Given,
) -> AppResult<(IntakeOutcome, Option<TicketRow>)> {
    let req = &ch.req;
    let tz = calendar.tz;
    if let Some(key) = &ch.key {
        if let Some((ticket_id, article_id)) = tickets::find_intake_key(conn, key)? {
            let replay = IntakeOutcome {
                ticket_id,
                article_id,
                created: false,
                replayed: true,
            };
            return Ok((replay, None));
        }
    }
    let new_ticket = req.ticket_id.is_none();
    let (mut cat, mut confirm) = match given {
        Given::Read(read) => (Some(read), Confirm::No),
        Given::CheckedAgainst(expected) if new_ticket => (Some(expected), Confirm::OrRefuse),
        Given::CheckedAgainst(expected) => {
            let current = catalogue::snapshot(conn)?;
            if current.version != expected.version {
                return Err(catalogue_changed());
            }
            (Some(current), Confirm::No)
        }
        Given::Unknown if !new_ticket => (None, Confirm::No),
        Given::Unknown => match catalogue::assumed() {
            Some(held) => (Some(held), Confirm::OrRead),
            None => (Some(catalogue::snapshot(conn)?), Confirm::No),
        },
    };
    // Routing and the call form are checked before anything is written;
    // against the pool's copy first, which may not know a topic just made.
    let (mut routed, mut field_values) = match plan(req, cat.as_deref()) {
        Ok(planned) => planned,
        Err(_) if confirm == Confirm::OrRead => {
            let current = catalogue::snapshot(conn)?;
            let planned = plan(req, Some(&current))?;
            (cat, confirm) = (Some(current), Confirm::No);
            planned
        }
        Err(e) => return Err(e),
    };
    let contact_id = match (&req.contact, &ch.contact) {
        (ContactRef::Existing(id), _) => {
            contacts::find(conn, *id)?.ok_or_else(|| {
                AppError::invalid("contact_id", format!("contact {id} does not exist"))
            })?;
            Some(*id)
        }
        (ContactRef::Details(_), Some(d)) => match_or_create(conn, d, req.author_agent_id, now)?,
        _ => None,
    };
    // The ticket's events of this request, written together after the article.
    let mut events = Vec::with_capacity(3);
    // The clocks of a ticket added to, when read with its lock.
    let mut live = None;
    let (ticket, before) = match (req.ticket_id, routed) {
        (Some(id), _) => {
            let (row, before, clocks) =
                add_to_existing(conn, req, id, contact_id, now, &mut events)?;
            live = clocks;
            (row, Some(before))
        }
        (None, Some(first)) => {
            let version = match confirm {
                Confirm::No => None,
                _ => cat.as_ref().map(|c| c.version),
            };
            let opened = open_ticket(conn, req, first, contact_id, now, tz, version)?;
            let (row, created) = match (opened, confirm) {
                (Some(opened), _) => opened,
                (None, Confirm::OrRead) => {
                    // The catalogue changed since the pool last read it.
                    let current = catalogue::snapshot(conn)?;
                    (routed, field_values) = plan(req, Some(&current))?;
                    cat = Some(current);
                    let again = routed
                        .ok_or_else(|| AppError::Internal("a new ticket was not routed".into()))?;
                    open_ticket(conn, req, again, contact_id, now, tz, None)?
                        .ok_or_else(|| AppError::Internal("a ticket was not opened".into()))?
                }
                (None, _) => return Err(catalogue_changed()),
            };
            events.push(created);
            (row, None)
        }
        (None, None) => return Err(AppError::Internal("a new ticket was not routed".into())),
    };
    let ticket_id = ticket.id;
    let created = before.is_none();
    let rows: Vec<TicketFieldRow> = field_values
        .into_iter()
        .enumerate()
        .map(|(i, v)| TicketFieldRow {
            ticket_id,
            name: v.name,
            seq: i as i32,
            label: v.label,
            kind: v.kind.as_str().into(),
            value: v.value,
        })
        .collect();
    tickets::insert_fields(conn, &rows)?;
    // A phone note is the caller speaking (the issue lists it among customer
    // messages); only a public outgoing article answers the customer.
    let message = match (req.article_kind, req.public) {
        (ArticleKind::Outbound, true) => sla::Message::AgentReply,
        (ArticleKind::Inbound, true) | (ArticleKind::Phone, _) => sla::Message::Customer,
        _ => sla::Message::None,
    };
    // A new ticket's clocks go in with its first article when starting them
    // is all its opening does to them; otherwise they follow the article.
    let opening = match before {
        None => sla::opening_clocks(conn, calendar, cat.clone(), &ticket, message, now)?,
        Some(_) => None,
    };
    let starting = match &opening {
        Some(news) => Starting {
            news,
            kind: sla::OPENING_STEP.0.as_str(),
            reason: Some(sla::OPENING_STEP.1),
        },
        None => Starting::NONE,
    };
    // The article and the request's events, the last of them naming it.
    let added = new_event(
        ticket_id,
        EventKind::ArticleAdded,
        req.author_agent_id,
        json!({"kind": req.article_kind, "channel": req.channel, "attachments": req.attachments.len()}),
        now,
    );
    let article_id = tickets::insert_article_with_events(
        conn,
        &NewArticle {
            ticket_id,
            kind: req.article_kind.as_str().into(),
            public: req.public,
            author_agent_id: req.author_agent_id,
            author_contact_id: if req.article_kind == ArticleKind::Inbound {
                contact_id
            } else {
                None
            },
            body: req.body.clone(),
            created_at: now,
            html: req.html.clone(),
        },
        &events,
        &added,
        &starting,
    )?;
    for a in &req.attachments {
        tickets::insert_attachment(
            conn,
            &NewAttachment {
                article_id,
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                size: a.data.len() as i64,
                sha256: hex::encode(Sha256::digest(&a.data)),
                data: a.data.clone(),
                created_at: now,
            },
        )?;
    }
    if let Some(key) = &ch.key {
        tickets::insert_intake_key(conn, key, ticket_id, article_id, now)?;
    }
    if opening.is_none() {
        sla::track_known(
            conn, calendar, cat, &ticket, before, message, None, live, now,
        )?;
    }
    let outcome = IntakeOutcome {
        ticket_id,
        article_id,
        created,
        replayed: false,
    };
    Ok((outcome, Some(ticket)))
}

pub fn event(
    conn: &mut DbConn,
    ticket_id: i64,
    kind: EventKind,
    actor: Option<i64>,
    data: serde_json::Value,
    now: NaiveDateTime,
) -> AppResult<()> {
    tickets::insert_event(conn, &new_event(ticket_id, kind, actor, data, now))
}

fn new_event(
    ticket_id: i64,
    kind: EventKind,
    actor: Option<i64>,
    data: serde_json::Value,
    now: NaiveDateTime,
) -> NewEvent {
    NewEvent {
        ticket_id,
        kind: kind.as_str().into(),
        actor_agent_id: actor,
        data: data.to_string(),
        created_at: now,
    }
}

fn no_values(v: &serde_json::Value) -> bool {
    v.is_null() || v.as_object().is_some_and(|o| o.is_empty())
}

/// Checks the values of a new ticket's call form against its topic's form.
fn form_values(
    cat: &catalogue::Snapshot,
    topic_id: Option<i64>,
    values: &serde_json::Value,
) -> AppResult<Vec<FieldValue>> {
    let form = match topic_id {
        Some(t) => match cat.topic(t) {
            Some(topic) => crate::service::catalogue::form_of(topic)?,
            None => vec![],
        },
        None => vec![],
    };
    if form.is_empty() {
        if no_values(values) {
            return Ok(vec![]);
        }
        return Err(AppError::invalid(
            "fields",
            "the ticket's topic has no call form; leave fields out",
        ));
    }
    Ok(forms::check_values(&form, values, true)?)
}

/// Where a new ticket goes: the explicit queue, else the subject's, else the
/// topic's, else the default first-level queue.
fn route(
    cat: &catalogue::Snapshot,
    req: &IntakeRequest,
) -> AppResult<(i64, Option<i64>, Option<i64>)> {
    let mut topic_id = req.topic_id;
    let mut queue = None;
    if let Some(sid) = req.subject_id {
        let s = cat.subject(sid).ok_or_else(|| {
            AppError::invalid("subject_id", format!("subject {sid} does not exist"))
        })?;
        match topic_id {
            Some(t) if t != s.topic_id => {
                return Err(AppError::invalid(
                    "subject_id",
                    format!("subject {sid} does not belong to topic {t}"),
                ));
            }
            _ => topic_id = Some(s.topic_id),
        }
        queue = s.queue_id;
    }
    if let Some(tid) = topic_id {
        let t = cat
            .topic(tid)
            .ok_or_else(|| AppError::invalid("topic_id", format!("topic {tid} does not exist")))?;
        queue = queue.or(Some(t.queue_id));
    }
    if let Some(q) = req.queue_id {
        cat.queue(q)
            .ok_or_else(|| AppError::invalid("queue_id", format!("queue {q} does not exist")))?;
        queue = Some(q);
    }
    let queue = match queue {
        Some(q) => q,
        None => {
            cat.default_first_level()
                .ok_or_else(|| {
                    AppError::conflict("no-queue", "no active first-level queue is configured")
                })?
                .id
        }
    };
    Ok((queue, topic_id, req.subject_id))
}

fn open_ticket(
    conn: &mut DbConn,
    req: &IntakeRequest,
    (queue_id, topic_id, subject_id): (i64, Option<i64>, Option<i64>),
    contact_id: Option<i64>,
    now: NaiveDateTime,
    tz: Tz,
    catalogue: Option<i64>,
) -> AppResult<Option<(TicketRow, NewEvent)>> {
    let year = now.and_utc().with_timezone(&tz).year();
    // A call written up by an operator has been answered in person.
    let answered =
        req.article_kind == ArticleKind::Phone || req.article_kind == ArticleKind::Outbound;
    let row = tickets::insert_numbered(
        conn,
        year,
        &NewTicket {
            number: String::new(),
            subject: req.subject.clone(),
            channel: req.channel.as_str().into(),
            state: TicketState::New.as_str().into(),
            priority: req.priority.unwrap_or(Priority::Normal).rank(),
            queue_id,
            assignee_id: None,
            contact_id,
            topic_id,
            subject_id,
            created_at: now,
            updated_at: now,
            first_response_at: answered.then_some(now),
        },
        catalogue,
    )?;
    let Some(row) = row else {
        return Ok(None);
    };
    let created = new_event(
        row.id,
        EventKind::Created,
        req.author_agent_id,
        json!({"number": row.number, "channel": req.channel, "queue_id": queue_id, "topic_id": topic_id, "subject_id": subject_id, "contact_id": contact_id}),
        now,
    );
    Ok(Some((row, created)))
}

/// Follows merges to the surviving ticket.
fn survivor(conn: &mut DbConn, id: i64) -> AppResult<(TicketRow, Option<Vec<ClockRow>>)> {
    let mut found = tickets::lock_with_live_clocks(conn, id)?
        .ok_or_else(|| AppError::invalid("ticket_id", format!("ticket {id} does not exist")))?;
    for _ in 0..16 {
        match found.0.merged_into_id {
            Some(next) => {
                found = tickets::lock_with_live_clocks(conn, next)?
                    .ok_or_else(|| AppError::not_found(format!("ticket {next}")))?
            }
            None => return Ok(found),
        }
    }
    Err(AppError::Internal(format!(
        "merge chain from ticket {id} is too long"
    )))
}

/// Adds to a ticket (the survivor of merges); returns it as saved, its state
/// before, and its clocks not yet stopped when they were read with it.
fn add_to_existing(
    conn: &mut DbConn,
    req: &IntakeRequest,
    id: i64,
    contact_id: Option<i64>,
    now: NaiveDateTime,
    events: &mut Vec<NewEvent>,
) -> AppResult<(TicketRow, TicketState, Option<Vec<ClockRow>>)> {
    let (mut row, live) = survivor(conn, id)?;
    let state =
        TicketState::parse(&row.state).ok_or_else(|| AppError::Internal("bad state".into()))?;
    let action = match req.article_kind {
        ArticleKind::Inbound => Action::CustomerMessage,
        ArticleKind::Outbound => Action::PublicReply,
        ArticleKind::Note | ArticleKind::Phone => Action::InternalNote,
    };
    let next = decide(state, action)?;
    if next != state {
        events.push(new_event(
            row.id,
            EventKind::StateChanged,
            req.author_agent_id,
            json!({"from": state, "to": next, "reason": "customer_message"}),
            now,
        ));
        if matches!(state, TicketState::Resolved | TicketState::Closed) {
            events.push(new_event(
                row.id,
                EventKind::Reopened,
                req.author_agent_id,
                json!({"by": "customer_message"}),
                now,
            ));
            row.resolved_at = None;
            row.closed_at = None;
        }
        row.state = next.as_str().into();
    }
    if row.contact_id.is_none() {
        row.contact_id = contact_id;
    }
    if row.first_response_at.is_none()
        && matches!(req.article_kind, ArticleKind::Outbound | ArticleKind::Phone)
    {
        row.first_response_at = Some(now);
    }
    row.updated_at = now;
    tickets::save(conn, row.id, &row.changes())?;
    Ok((row, state, live))
}
