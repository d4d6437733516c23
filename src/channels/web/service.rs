//! What a citizen can do, whatever the front end (Sportello's own pages or a
//! portal calling the JSON API): send a request, follow it with a private
//! token, add to it, ask to be called back, and rate the service.

use chrono::{DateTime, FixedOffset};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::channels::email::outbound::{self, Outgoing};
use crate::channels::phone::callbacks;
use crate::domain::contact::normalise_email;
use crate::domain::{phone, ArticleKind, Channel, EventKind, TicketState};
use crate::error::{AppError, AppResult};
use crate::intake::{self, AttachmentInput, ContactRef, IntakeRequest};
use crate::service::contacts::ContactDetails;
use crate::service::views::local;
use crate::service::App;
use crate::store::{catalogue, public, tickets, DbConn};

/// Files a citizen may attach.
pub const ALLOWED_TYPES: &[&str] = &[
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "text/plain",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.oasis.opendocument.text",
];

/// A request as a citizen fills it in.
#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicRequest {
    /// A public topic (argomento), from `GET /api/v1/public/topics`.
    pub topic_id: Option<i64>,
    /// One of the topic's subjects (oggetto).
    pub subject_id: Option<i64>,
    pub name: Option<String>,
    pub email: Option<String>,
    /// Optional; any format.
    pub phone: Option<String>,
    /// The problem or question, in the citizen's words.
    pub text: Option<String>,
    /// The privacy notice was accepted; required.
    pub consent: Option<bool>,
    /// `it` or `en`; the language of the mail the citizen receives.
    pub language: Option<String>,
    /// Must stay empty (a trap for robots).
    pub website: Option<String>,
    #[serde(skip)]
    pub attachments: Vec<AttachmentInput>,
}

/// A field the citizen must correct, with a message key for the page's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    /// Stable key: `required`, `invalid_email`, `invalid_phone`, `too_long`, `consent`,
    /// `unknown_topic`, `unknown_subject`, `too_many_files`, `file_too_large`, `file_type`.
    pub code: String,
}

fn err(field: &str, code: &str) -> FieldError {
    FieldError {
        field: field.into(),
        code: code.into(),
    }
}

/// Every problem with a request (empty when it can be sent).
pub fn validate(app: &App, req: &PublicRequest, topics: &[(i64, Vec<i64>)]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let text = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or("").to_string();
    match req.topic_id {
        None => errors.push(err("topic_id", "required")),
        Some(t) => match topics.iter().find(|(id, _)| *id == t) {
            None => errors.push(err("topic_id", "unknown_topic")),
            Some((_, subjects)) => {
                if let Some(s) = req.subject_id {
                    if !subjects.contains(&s) {
                        errors.push(err("subject_id", "unknown_subject"));
                    }
                }
            }
        },
    }
    let name = text(&req.name);
    if name.is_empty() {
        errors.push(err("name", "required"));
    } else if name.chars().count() > 200 {
        errors.push(err("name", "too_long"));
    }
    let email = text(&req.email);
    if email.is_empty() {
        errors.push(err("email", "required"));
    } else if normalise_email(&email).is_err() {
        errors.push(err("email", "invalid_email"));
    }
    let phone_text = text(&req.phone);
    if !phone_text.is_empty() && phone::normalise(&phone_text).is_err() {
        errors.push(err("phone", "invalid_phone"));
    }
    let body = text(&req.text);
    if body.is_empty() {
        errors.push(err("text", "required"));
    } else if body.chars().count() > 10_000 {
        errors.push(err("text", "too_long"));
    }
    if req.consent != Some(true) {
        errors.push(err("consent", "consent"));
    }
    errors.extend(check_files(app, &req.attachments));
    errors
}

pub fn check_files(app: &App, files: &[AttachmentInput]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if files.len() > app.config.public_max_attachments {
        errors.push(err("attachments", "too_many_files"));
    }
    for f in files {
        if f.data.len() > app.config.max_attachment_bytes {
            errors.push(err("attachments", "file_too_large"));
        } else if !ALLOWED_TYPES.contains(&f.content_type.as_str()) {
            errors.push(err("attachments", "file_type"));
        }
    }
    errors
}

fn new_token() -> String {
    let mut b = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

pub fn tracking_url(app: &App, number: &str, token: &str) -> String {
    format!("{}/track/{number}?t={token}", app.config.public_url())
}

/// Public topics and their active subjects, as (topic, subjects).
pub async fn public_topics(app: &App) -> AppResult<Vec<(i64, Vec<i64>)>> {
    let cat = app.db.read(catalogue::snapshot).await?;
    Ok(public_topics_of(&cat))
}

/// The active public topics with their active subjects.
fn public_topics_of(cat: &catalogue::Snapshot) -> Vec<(i64, Vec<i64>)> {
    cat.topics
        .iter()
        .filter(|t| t.public && t.active)
        .map(|t| {
            let subjects = cat
                .subjects
                .iter()
                .filter(|s| s.topic_id == t.id && s.active);
            (t.id, subjects.map(|s| s.id).collect())
        })
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Submitted {
    /// The number to quote on the phone.
    pub number: String,
    /// Private: whoever has it can follow the request. Shown once, also sent by e-mail.
    pub tracking_token: String,
    pub tracking_url: String,
}

/// Sends a request: a ticket through intake (channel web, queue from the topic),
/// its tracking token, and the acknowledgement with the link, in one transaction.
pub async fn submit(
    app: &App,
    req: PublicRequest,
    idempotency_key: Option<String>,
) -> AppResult<Result<Submitted, Vec<FieldError>>> {
    if req.website.as_deref().is_some_and(|w| !w.trim().is_empty()) {
        return Err(AppError::BadRequest("the request was refused".into()));
    }
    // The request is checked against the catalogue this pool holds in
    // memory, and the transaction confirms that copy is current: no read of
    // its own. After a change the copy is read again and the request checked
    // once more; so is a refusal (a topic may have just been opened to the
    // public).
    if let Some(cat) = app.db.last_catalogue() {
        match submit_against(app, &req, idempotency_key.clone(), cat).await {
            Err(AppError::Conflict { code, .. }) if code == intake::CATALOGUE_CHANGED => {}
            Ok(Err(_refused)) => {}
            other => return other,
        }
    }
    let cat = app.db.read(catalogue::snapshot).await?;
    submit_against(app, &req, idempotency_key, cat).await
}

/// [`submit`] with the catalogue the request is checked against.
async fn submit_against(
    app: &App,
    req: &PublicRequest,
    idempotency_key: Option<String>,
    cat: std::sync::Arc<catalogue::Snapshot>,
) -> AppResult<Result<Submitted, Vec<FieldError>>> {
    let topics = public_topics_of(&cat);
    let errors = validate(app, req, &topics);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let language = match req.language.as_deref() {
        Some("en") => "en",
        _ => "it",
    }
    .to_string();
    let topic_id = req.topic_id.unwrap_or_default();
    let topic_name = cat
        .topic(topic_id)
        .map(|t| t.name.clone())
        .unwrap_or_default();
    let subject_name = req
        .subject_id
        .and_then(|s| cat.subject(s))
        .map(|s| s.name.clone());
    let subject = match &subject_name {
        Some(s) => format!("{topic_name} – {s}"),
        None => topic_name,
    };
    let token = new_token();
    let token_hash = hash(&token);
    let (config, templates) = (app.config.clone(), app.templates.clone());
    let now = app.clock.now_db();
    let lang = language.clone();
    let link_base = app.config.public_url();
    let tok = token.clone();
    // The tracking link goes where the citizen said, in the language chosen.
    let recipient = outbound::Recipient {
        address: normalise_email(req.email.as_deref().unwrap_or_default())
            .map_err(|_| AppError::invalid("email", "not an e-mail address"))?,
        name: req
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string),
        language: language.clone(),
    };
    // The number, known once the ticket is written: no read after the commit.
    let numbered = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let numbered2 = numbered.clone();
    let after: intake::After = Box::new(move |c, _, ticket| {
        let _ = numbered2.set(ticket.number.clone());
        let url = format!("{link_base}/track/{}?t={tok}", ticket.number);
        let out = Outgoing {
            config: &config,
            templates: &templates,
            now,
        };
        outbound::first_to_customer(
            c,
            out,
            outbound::kind::ACKNOWLEDGEMENT,
            ticket,
            recipient,
            json!({"tracking_url": url}),
            // The link works from the moment it is sent.
            Some(crate::store::outbox::Access {
                token_hash,
                language: lang,
            }),
        )?;
        Ok(())
    });
    let outcome = intake::submit_checked(
        app,
        IntakeRequest {
            channel: Channel::Web,
            contact: ContactRef::Details(ContactDetails {
                name: req.name.clone(),
                email: req.email.clone(),
                phone: req.phone.clone().filter(|p| !p.trim().is_empty()),
                language: Some(language),
                ..Default::default()
            }),
            topic_id: req.topic_id,
            subject_id: req.subject_id,
            queue_id: None,
            subject,
            body: req.text.clone().unwrap_or_default(),
            priority: None,
            attachments: req.attachments.clone(),
            idempotency_key,
            ticket_id: None,
            author_agent_id: None,
            article_kind: ArticleKind::Inbound,
            public: true,
            html: None,
            fields: None,
        },
        cat,
        Some(after),
    )
    .await?;
    if outcome.replayed {
        return Err(AppError::conflict(
            "already-sent",
            "this request was already sent; its tracking link is in the e-mail",
        ));
    }
    // Not a replay, so the hook ran and wrote it.
    let number = numbered
        .get()
        .cloned()
        .ok_or_else(|| AppError::Internal("the new ticket's number was not recorded".into()))?;
    Ok(Ok(Submitted {
        tracking_url: tracking_url(app, &number, &token),
        number,
        tracking_token: token,
    }))
}

/// A citizen's view of their ticket: only what is public.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicTicket {
    pub number: String,
    pub subject: String,
    /// `received`, `in_progress`, `waiting_for_you`, `resolved` or `closed`.
    pub status: String,
    pub created_at: DateTime<FixedOffset>,
    pub messages: Vec<PublicMessage>,
    pub callbacks: Vec<PublicCallback>,
    /// 1 to 5, once rated.
    pub rating: Option<i32>,
    pub language: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicMessage {
    /// `you` or `help_desk`.
    pub from: String,
    pub text: String,
    pub attachments: Vec<String>,
    pub at: DateTime<FixedOffset>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicCallback {
    pub phone: String,
    /// `now` or `later`.
    pub mode: String,
    pub preferred_at: Option<DateTime<FixedOffset>>,
    /// When we plan to call (the booked slot, or the next try).
    pub scheduled_for: Option<DateTime<FixedOffset>>,
    /// `scheduled`, `calling`, `completed`, `failed` or `cancelled`.
    pub state: String,
}

fn public_callback(cb: crate::store::callbacks::CallbackRow, tz: chrono_tz::Tz) -> PublicCallback {
    let state = match cb.state.as_str() {
        "offered" | "accepted" => "calling".to_string(),
        other => other.to_string(),
    };
    PublicCallback {
        phone: cb.phone,
        mode: cb.mode,
        preferred_at: cb.preferred_at.map(|p| local(p, tz)),
        scheduled_for: cb
            .due_at
            .filter(|_| state == "scheduled" || state == "calling")
            .map(|p| local(p, tz)),
        state,
    }
}

/// The plain-words status a citizen sees.
pub fn status_of(state: TicketState) -> &'static str {
    match state {
        TicketState::New => "received",
        TicketState::PendingCustomer => "waiting_for_you",
        TicketState::Resolved => "resolved",
        TicketState::Closed | TicketState::Merged => "closed",
        _ => "in_progress",
    }
}

/// The ticket a number and tracking token open; 404 for any mismatch, so
/// neither numbers nor tokens can be probed.
fn open(
    c: &mut DbConn,
    number: &str,
    token: &str,
) -> AppResult<(crate::store::rows::TicketRow, String)> {
    let not_found = || AppError::not_found("no request with this number and link");
    let (ticket_id, language) = public::ticket_of_token(c, &hash(token))?.ok_or_else(not_found)?;
    let ticket = tickets::find(c, ticket_id)?.ok_or_else(not_found)?;
    if ticket.number != number.trim() {
        return Err(not_found());
    }
    // A merged request is followed on the ticket it was merged into.
    let ticket = match ticket.merged_into_id {
        Some(t) => tickets::find(c, t)?.ok_or_else(not_found)?,
        None => ticket,
    };
    Ok((ticket, language))
}

fn view_in(
    c: &mut DbConn,
    ticket: &crate::store::rows::TicketRow,
    language: String,
    tz: chrono_tz::Tz,
) -> AppResult<PublicTicket> {
    let articles = tickets::articles(c, ticket.id, true)?;
    let ids: Vec<i64> = articles.iter().map(|a| a.id).collect();
    let files = tickets::attachments_of(c, &ids)?;
    let messages = articles
        .iter()
        .map(|a| PublicMessage {
            from: if a.kind == "inbound" {
                "you"
            } else {
                "help_desk"
            }
            .into(),
            text: a.body.clone(),
            attachments: files
                .iter()
                .filter(|f| f.article_id == a.id)
                .map(|f| f.filename.clone())
                .collect(),
            at: local(a.created_at, tz),
        })
        .collect();
    let callbacks = crate::store::callbacks::of_ticket(c, ticket.id)?
        .into_iter()
        .map(|cb| public_callback(cb, tz))
        .collect();
    let state = TicketState::parse(&ticket.state).unwrap_or(TicketState::Open);
    Ok(PublicTicket {
        number: ticket.number.clone(),
        subject: ticket.subject.clone(),
        status: status_of(state).into(),
        created_at: local(ticket.created_at, tz),
        messages,
        callbacks,
        rating: public::rating_of(c, ticket.id)?
            .map(|r| r.score)
            .filter(|s| *s > 0),
        language,
    })
}

pub async fn track(app: &App, number: &str, token: &str) -> AppResult<PublicTicket> {
    let (number, token) = (number.to_string(), token.to_string());
    let tz = app.config.time_zone;
    app.db
        .read(move |c| {
            let (ticket, language) = open(c, &number, &token)?;
            view_in(c, &ticket, language, tz)
        })
        .await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicMessageRequest {
    /// The tracking token (or the `X-Tracking-Token` header).
    pub token: Option<String>,
    pub text: String,
    #[serde(skip)]
    pub attachments: Vec<AttachmentInput>,
}

/// The citizen adds to their request (a resolved one is reopened).
pub async fn add_message(
    app: &App,
    number: &str,
    token: &str,
    text: &str,
    attachments: Vec<AttachmentInput>,
) -> AppResult<PublicTicket> {
    let body = text.trim().to_string();
    if body.is_empty() {
        return Err(AppError::invalid("text", "write a message"));
    }
    if body.chars().count() > 10_000 {
        return Err(AppError::invalid(
            "text",
            "the message is longer than 10000 characters",
        ));
    }
    if let Some(e) = check_files(app, &attachments).first() {
        return Err(AppError::invalid(
            &e.field,
            format!("attachment refused: {}", e.code),
        ));
    }
    let (n, t) = (number.to_string(), token.to_string());
    let ticket = app
        .db
        .read(move |c| open(c, &n, &t).map(|(t, _)| t))
        .await?;
    if ticket.state == TicketState::Closed.as_str() {
        return Err(AppError::conflict(
            "closed",
            "this request is closed; please send a new one",
        ));
    }
    intake::submit(
        app,
        IntakeRequest {
            channel: Channel::Web,
            contact: ContactRef::Unknown,
            topic_id: None,
            subject_id: None,
            queue_id: None,
            subject: String::new(),
            body,
            priority: None,
            attachments,
            idempotency_key: None,
            ticket_id: Some(ticket.id),
            author_agent_id: None,
            article_kind: ArticleKind::Inbound,
            public: true,
            html: None,
            fields: None,
        },
    )
    .await?;
    track(app, number, token).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackRequest {
    pub token: Option<String>,
    /// Any format; validated.
    pub phone: String,
    /// `now` (call me now) or `later` (call me back at `preferred_at`).
    pub mode: String,
    pub preferred_at: Option<DateTime<FixedOffset>>,
    pub note: Option<String>,
}

/// Books a call-me-now / call-me-back on a tracked request.
pub async fn request_callback(
    app: &App,
    number: &str,
    token: &str,
    req: CallbackRequest,
) -> AppResult<PublicTicket> {
    let now = app.clock.now_db();
    let (phone, mode, preferred) =
        callbacks::check_request(&req.phone, &req.mode, req.preferred_at, now)?;
    let note = crate::service::optional_text("note", req.note.as_deref(), 1000)?;
    let (n, t) = (number.to_string(), token.to_string());
    let (policy, mail) = (callbacks::Policy::of(&app.config), callbacks::Mail::of(app));
    app.db
        .write(move |c| {
            let (ticket, _) = open(c, &n, &t)?;
            callbacks::book_in(
                c,
                &policy,
                &mail,
                callbacks::Booking {
                    ticket_id: ticket.id,
                    phone,
                    mode,
                    preferred_at: preferred,
                    topic_id: None,
                    note,
                    source: "public",
                    call_id: None,
                    tracking_url: None,
                },
                now,
            )
            .map(|_| ())
        })
        .await?;
    track(app, number, token).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCallbackRequest {
    pub name: Option<String>,
    /// For the confirmation (and the tracking link).
    pub email: Option<String>,
    /// Any format; validated.
    pub phone: String,
    /// `now` (call me now) or `later` (call me back at `preferred_at`).
    pub mode: String,
    pub preferred_at: Option<DateTime<FixedOffset>>,
    /// A public topic (see `/api/v1/public/topics`).
    pub topic_id: Option<i64>,
    pub note: Option<String>,
    /// `it` (default) or `en`.
    pub language: Option<String>,
    /// Leave empty (a trap for robots).
    pub website: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackBooked {
    pub number: String,
    /// Private: whoever has it can follow the request. Shown once, also sent by e-mail.
    pub tracking_token: String,
    pub tracking_url: String,
    pub callback: PublicCallback,
}

/// A citizen asks to be called: a new request (channel callback) with its
/// tracking link, and the callback booked into the first free slot.
pub async fn request_new_callback(app: &App, req: NewCallbackRequest) -> AppResult<CallbackBooked> {
    if req.website.as_deref().is_some_and(|w| !w.trim().is_empty()) {
        return Err(AppError::BadRequest("the request was refused".into()));
    }
    let now = app.clock.now_db();
    let (phone, mode, preferred) =
        callbacks::check_request(&req.phone, &req.mode, req.preferred_at, now)?;
    let note = crate::service::optional_text("note", req.note.as_deref(), 1000)?;
    let language = match req.language.as_deref() {
        None | Some("it") => "it",
        Some("en") => "en",
        Some(_) => return Err(AppError::invalid("language", "language is 'it' or 'en'")),
    }
    .to_string();
    let topics = public_topics(app).await?;
    let topic_name = match req.topic_id {
        Some(id) => {
            if !topics.iter().any(|(t, _)| *t == id) {
                return Err(AppError::invalid("topic_id", "no such public topic"));
            }
            app.db
                .read(move |c| Ok(catalogue::topic(c, id)?.map(|t| t.name)))
                .await?
        }
        None => None,
    };
    let subject = match (&topic_name, language.as_str()) {
        (Some(t), "en") => format!("{t} – callback request"),
        (Some(t), _) => format!("{t} – richiesta di richiamata"),
        (None, "en") => "Callback request".to_string(),
        (None, _) => "Richiesta di richiamata".to_string(),
    };
    let body = if note.is_empty() {
        match language.as_str() {
            "en" => format!("Please call me back at {phone}."),
            _ => format!("Vorrei essere richiamato al numero {phone}."),
        }
    } else {
        note.clone()
    };
    let token = new_token();
    let token_hash = hash(&token);
    let (policy, mail) = (callbacks::Policy::of(&app.config), callbacks::Mail::of(app));
    let lang = language.clone();
    let link_base = app.config.public_url();
    let tok = token.clone();
    let booked_phone = phone.clone();
    let booked = std::sync::Arc::new(std::sync::Mutex::new(None));
    let out = booked.clone();
    let after: intake::After = Box::new(move |c, o, ticket| {
        public::grant(c, o.ticket_id, &token_hash, &lang, now)?;
        let url = format!("{link_base}/track/{}?t={tok}", ticket.number);
        let row = callbacks::book_in(
            c,
            &policy,
            &mail,
            callbacks::Booking {
                ticket_id: o.ticket_id,
                phone: booked_phone,
                mode,
                preferred_at: preferred,
                topic_id: req.topic_id,
                note,
                source: "public",
                call_id: None,
                tracking_url: Some(url),
            },
            now,
        )?;
        *out.lock().expect("not poisoned") = Some((ticket.number.clone(), row));
        Ok(())
    });
    intake::submit_guarded(
        app,
        IntakeRequest {
            channel: Channel::Callback,
            contact: ContactRef::Details(ContactDetails {
                name: req.name.clone(),
                email: req.email.clone().filter(|e| !e.trim().is_empty()),
                phone: Some(phone),
                language: Some(language),
                ..Default::default()
            }),
            topic_id: req.topic_id,
            subject_id: None,
            queue_id: None,
            subject,
            body,
            priority: None,
            attachments: vec![],
            idempotency_key: None,
            ticket_id: None,
            author_agent_id: None,
            article_kind: ArticleKind::Inbound,
            public: true,
            html: None,
            fields: None,
        },
        None,
        Some(after),
    )
    .await?;
    let (number, row) = booked
        .lock()
        .expect("not poisoned")
        .take()
        .ok_or_else(|| AppError::Internal("the callback was not booked".into()))?;
    Ok(CallbackBooked {
        tracking_url: tracking_url(app, &number, &token),
        number,
        tracking_token: token,
        callback: public_callback(row, app.config.time_zone),
    })
}

/// Mints a rating token for a resolved ticket with public access, for the
/// resolution e-mail; `None` for tickets citizens cannot see.
pub fn rating_link(
    c: &mut DbConn,
    base: &str,
    ticket: &crate::store::rows::TicketRow,
) -> AppResult<Option<String>> {
    if public::language_of(c, ticket.id)?.is_none() {
        return Ok(None);
    }
    let token = new_token();
    public::set_rating_token(c, ticket.id, &hash(&token))?;
    Ok(Some(format!("{base}/rate/{}?t={token}", ticket.number)))
}

/// Stores a rating (1–5) and an optional comment, by the rating link's token.
pub async fn rate(
    app: &App,
    number: &str,
    token: &str,
    score: Option<i32>,
    comment: Option<String>,
) -> AppResult<(i32, String)> {
    if let Some(s) = score {
        if !(1..=5).contains(&s) {
            return Err(AppError::invalid("score", "a rating is 1 to 5"));
        }
    }
    let comment = comment
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    if comment.as_ref().is_some_and(|c| c.chars().count() > 2000) {
        return Err(AppError::invalid(
            "comment",
            "the comment is longer than 2000 characters",
        ));
    }
    let now = app.clock.now_db();
    let (n, t) = (number.to_string(), hash(token));
    app.db
        .write(move |c| {
            let not_found = || AppError::not_found("no request with this number and link");
            let (ticket_id, language) =
                public::ticket_of_rating_token(c, &t)?.ok_or_else(not_found)?;
            let ticket = tickets::find(c, ticket_id)?.ok_or_else(not_found)?;
            if ticket.number != n {
                return Err(not_found());
            }
            public::rate(c, ticket_id, score, comment.as_deref(), now)?;
            let stored = public::rating_of(c, ticket_id)?
                .map(|r| r.score)
                .unwrap_or(0);
            intake::event(
                c,
                ticket_id,
                EventKind::Rated,
                None,
                json!({"score": stored, "comment": comment}),
                now,
            )?;
            Ok((stored, language))
        })
        .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RatingView {
    pub ticket_id: i64,
    pub number: String,
    pub score: i32,
    pub comment: Option<String>,
    pub rated_at: DateTime<FixedOffset>,
}

/// Ratings for the staff API, newest first.
pub async fn ratings(
    app: &App,
    tz: chrono_tz::Tz,
    before: Option<i64>,
    limit: i64,
) -> AppResult<Vec<RatingView>> {
    app.db
        .read(move |c| {
            let rows = public::ratings(c, before, limit)?;
            let ids: Vec<i64> = rows.iter().map(|r| r.ticket_id).collect();
            let numbers = tickets::find_many(c, &ids)?;
            Ok(rows
                .into_iter()
                .filter(|r| r.score > 0)
                .map(|r| RatingView {
                    number: numbers
                        .iter()
                        .find(|t| t.id == r.ticket_id)
                        .map(|t| t.number.clone())
                        .unwrap_or_default(),
                    ticket_id: r.ticket_id,
                    score: r.score,
                    comment: r.comment,
                    rated_at: local(r.updated_at, tz),
                })
                .collect())
        })
        .await
}
