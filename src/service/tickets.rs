//! Ticket work: list, read, create through intake, and every workflow operation
//! (assign, claim-next, reply, note, escalate, hand back, resolve, close,
//! reopen, merge, link). Each operation is one transaction: lock the ticket,
//! check who may act (domain::access) and what the state allows
//! (domain::workflow), write the row and its events.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::lookup::{agent_role, queue_level, ticket_state, Lookup};
use super::views::*;
use super::{required_text, sla, App, Viewer};
use crate::channels::email::outbound::{self, Outgoing};
use crate::channels::email::templates::Templates;
use crate::config::Config;
use crate::domain::access::{role_fits_level, Actor};
use crate::domain::calendar::Calendar;
use crate::domain::forms::{self, FieldType};
use crate::domain::workflow::{decide, Action};
use crate::domain::{
    number, search, ArticleKind, Channel, EventKind, Priority, QueueLevel, TicketState,
};
use crate::error::{AppError, AppResult};
use crate::intake::{self, event, AttachmentInput, ContactRef, IntakeRequest};
use crate::store::rows::{AttachmentMeta, TicketRow};
use crate::store::tickets::{TextSearch, TicketFilter};
use crate::store::{agents, catalogue, contacts, tickets, DbConn};

/// A ticket named by its id (`42`) or its number (`2026-000042`).
#[derive(Debug, Clone)]
pub enum TicketKey {
    Id(i64),
    Number(String),
}

impl TicketKey {
    pub fn parse(text: &str) -> AppResult<TicketKey> {
        if let Ok(id) = text.parse::<i64>() {
            return Ok(TicketKey::Id(id));
        }
        number::parse(text)
            .map(TicketKey::Number)
            .ok_or_else(|| AppError::not_found(format!("ticket '{text}'")))
    }

    pub fn resolve(&self, c: &mut DbConn) -> AppResult<i64> {
        let found = match self {
            TicketKey::Id(id) => tickets::find(c, *id)?.map(|t| t.id),
            TicketKey::Number(n) => tickets::find_by_number(c, n)?.map(|t| t.id),
        };
        found.ok_or_else(|| AppError::not_found(format!("ticket {}", self)))
    }
}

impl std::fmt::Display for TicketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TicketKey::Id(id) => write!(f, "{id}"),
            TicketKey::Number(n) => f.write_str(n),
        }
    }
}

/// A ticket being changed inside one transaction.
struct Work {
    row: TicketRow,
    state: TicketState,
    /// The state when the operation began (the service-level clocks follow the change).
    initial: TicketState,
    level: QueueLevel,
    actor: Option<i64>,
    now: NaiveDateTime,
    events: Vec<(EventKind, serde_json::Value)>,
}

impl Work {
    /// Locks the ticket for a change Sportello makes by itself (service-level
    /// rules, housekeeping): there is no actor, so no queue check.
    fn begin_system(c: &mut DbConn, id: i64, now: NaiveDateTime) -> AppResult<Work> {
        let row =
            tickets::lock(c, id)?.ok_or_else(|| AppError::not_found(format!("ticket {id}")))?;
        let queue = catalogue::queue(c, row.queue_id)?
            .ok_or_else(|| AppError::Internal("queue missing".into()))?;
        let state = ticket_state(&row)?;
        Ok(Work {
            state,
            initial: state,
            level: queue_level(&queue)?,
            row,
            actor: None,
            now,
            events: vec![],
        })
    }

    /// Locks the ticket and checks the actor may work its queue.
    fn begin(
        c: &mut DbConn,
        actor: &Actor,
        key: &TicketKey,
        now: NaiveDateTime,
    ) -> AppResult<Work> {
        let id = key.resolve(c)?;
        let row =
            tickets::lock(c, id)?.ok_or_else(|| AppError::not_found(format!("ticket {key}")))?;
        let queue = catalogue::queue(c, row.queue_id)?
            .ok_or_else(|| AppError::Internal("queue missing".into()))?;
        let level = queue_level(&queue)?;
        if !actor.can_work(queue.id, level) {
            return Err(AppError::forbidden(format!(
                "a {} cannot work tickets in '{}' ({level})",
                actor.role, queue.name
            )));
        }
        let state = ticket_state(&row)?;
        Ok(Work {
            state,
            initial: state,
            row,
            level,
            actor: Some(actor.agent_id),
            now,
            events: vec![],
        })
    }

    fn event(&mut self, kind: EventKind, data: serde_json::Value) {
        self.events.push((kind, data));
    }

    /// Puts the ticket back in its queue, recording who had it.
    fn unassign(&mut self) {
        if let Some(prev) = self.row.assignee_id.take() {
            self.event(EventKind::Unassigned, json!({"from": prev}));
        }
    }

    /// Applies the workflow's decision for `action`, recording the change.
    fn apply(&mut self, action: Action) -> AppResult<()> {
        let next = decide(self.state, action)?;
        if next == self.state {
            return Ok(());
        }
        let from = self.state;
        self.event(EventKind::StateChanged, json!({"from": from, "to": next}));
        match next {
            TicketState::Resolved => self.row.resolved_at = Some(self.now),
            TicketState::Closed => self.row.closed_at = Some(self.now),
            TicketState::Open if matches!(from, TicketState::Resolved | TicketState::Closed) => {
                self.row.resolved_at = None;
                self.row.closed_at = None;
            }
            _ => {}
        }
        self.state = next;
        self.row.state = next.as_str().into();
        Ok(())
    }

    /// Writes the ticket and its events, and moves its service-level clocks
    /// along with a change of state (pause, resume, stop, restart).
    fn finish(mut self, c: &mut DbConn, calendar: &Calendar) -> AppResult<i64> {
        self.row.updated_at = self.now;
        tickets::save(c, self.row.id, &self.row.changes())?;
        for (kind, data) in self.events {
            event(c, self.row.id, kind, self.actor, data, self.now)?;
        }
        if self.state != self.initial {
            sla::track(
                c,
                calendar,
                &self.row,
                Some(self.initial),
                sla::Message::None,
                None,
                self.now,
            )?;
        }
        Ok(self.row.id)
    }
}

/// Refuses unless the actor may work the ticket and its state allows `action`
/// (inside the caller's transaction, which it locks the ticket for).
pub fn may_act(
    c: &mut DbConn,
    actor: &Actor,
    ticket_id: i64,
    action: Action,
    now: NaiveDateTime,
) -> AppResult<()> {
    let w = Work::begin(c, actor, &TicketKey::Id(ticket_id), now)?;
    decide(w.state, action)?;
    Ok(())
}

/// Runs one operation in a transaction and returns the ticket as it is after it.
async fn operate<F>(app: &App, viewer: &Viewer, key: TicketKey, op: F) -> AppResult<TicketDetail>
where
    F: FnOnce(&mut DbConn, &mut Work) -> AppResult<()> + Send + 'static,
{
    let now = app.clock.now_db();
    let actor = viewer.actor.clone();
    let calendar = app.config.calendar();
    let id = app
        .db
        .write(move |c| {
            let mut work = Work::begin(c, &actor, &key, now)?;
            op(c, &mut work)?;
            work.finish(c, &calendar)
        })
        .await?;
    get(app, viewer, TicketKey::Id(id)).await
}

pub fn detail_in(
    c: &mut DbConn,
    id: i64,
    tz: chrono_tz::Tz,
    calendar: &Calendar,
    now: NaiveDateTime,
) -> AppResult<TicketDetail> {
    let d = crate::store::detail::read(c, id)?
        .ok_or_else(|| AppError::not_found(format!("ticket {id}")))?;
    let cat = crate::store::detail::catalogue_of(c, &d)?;
    let contact_details = d
        .contact
        .map(|row| super::contacts::view_of(row, d.contact_lists, tz));
    let row = d.ticket;
    let lookup = Lookup::for_detail(
        &row,
        contact_details.as_ref().map(|v| v.name.clone()),
        &d.clocks,
        cat,
        &d.others,
        tz,
        now,
    );
    let contact_names: std::collections::HashMap<i64, String> = contact_details
        .iter()
        .map(|v| (v.id, v.name.clone()))
        .chain(d.authors)
        .collect();
    let articles = d
        .articles
        .iter()
        .map(|a| {
            let files = d
                .attachments
                .iter()
                .filter(|m| m.article_id == a.id)
                .map(attachment_view)
                .collect();
            let author = a.author_contact_id.map(|id| Ref {
                id,
                name: contact_names.get(&id).cloned().unwrap_or_default(),
            });
            lookup.article(a, files, author)
        })
        .collect();
    let events = d.events.iter().map(|e| lookup.event(e)).collect();
    let links = d
        .links
        .iter()
        .map(|l| {
            if l.ticket_id == id {
                (l, l.linked_ticket_id)
            } else {
                (l, l.ticket_id)
            }
        })
        .filter_map(|(l, oid)| d.others.iter().find(|o| o.id == oid).map(|o| (l, o)))
        .map(|(l, o)| {
            Ok(LinkView {
                kind: l.kind.clone(),
                ticket_id: o.id,
                number: o.number.clone(),
                subject: o.subject.clone(),
                state: ticket_state(o)?,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let fields = d
        .fields
        .into_iter()
        .map(|f| {
            let kind = FieldType::parse(&f.kind)
                .ok_or_else(|| AppError::Internal(format!("unknown field type {}", f.kind)))?;
            Ok(FieldView {
                value: forms::json_value(kind, &f.value),
                name: f.name,
                label: f.label,
                kind,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(TicketDetail {
        fields,
        info_script: lookup.info_script(&row),
        ticket: lookup.summary(&row)?,
        contact_details,
        articles,
        events,
        links,
        sla_clocks: sla::views_of(
            c,
            calendar,
            &d.clocks,
            &d.clock_events,
            lookup.catalogue(),
            now,
            tz,
        )?,
    })
}

fn attachment_view(m: &AttachmentMeta) -> AttachmentView {
    AttachmentView {
        id: m.id,
        filename: m.filename.clone(),
        content_type: m.content_type.clone(),
        size: m.size,
        sha256: m.sha256.clone(),
    }
}

pub async fn get(app: &App, viewer: &Viewer, key: TicketKey) -> AppResult<TicketDetail> {
    let tz = viewer.tz;
    let (calendar, now) = (app.config.calendar(), app.clock.now_db());
    app.db
        .read(move |c| {
            // detail_in reads the ticket (or answers 404) itself.
            let id = match key {
                TicketKey::Id(id) => id,
                key => key.resolve(c)?,
            };
            detail_in(c, id, tz, &calendar, now)
        })
        .await
}

/// The e-mails sent (or being sent) about a ticket.
pub async fn emails(app: &App, viewer: &Viewer, key: TicketKey) -> AppResult<Vec<EmailView>> {
    let tz = viewer.tz;
    let rows = app
        .db
        .read(move |c| {
            let id = key.resolve(c)?;
            crate::store::outbox::of_ticket(c, id)
        })
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| EmailView {
            id: r.id,
            kind: r.kind,
            to: r.to_address,
            subject: r.subject,
            message_id: r.message_id,
            next_attempt_at: (r.state == "pending").then(|| local(r.next_attempt_at, tz)),
            state: r.state,
            attempts: r.attempts,
            last_error: r.last_error,
            created_at: local(r.created_at, tz),
            sent_at: local_opt(r.sent_at, tz),
        })
        .collect())
}

/// An attachment's bytes: (file name, content type, data).
pub async fn attachment(app: &App, id: i64) -> AppResult<(String, String, Vec<u8>)> {
    let (meta, _ticket, data) = app
        .db
        .read(move |c| tickets::attachment(c, id))
        .await?
        .ok_or_else(|| AppError::not_found(format!("attachment {id}")))?;
    Ok((meta.filename, meta.content_type, data))
}

/// Query parameters of the ticket list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Queue id (several separated by commas).
    pub queue: Option<String>,
    /// State (several separated by commas), or `active` for all unfinished ones.
    pub state: Option<String>,
    /// Agent id, `me`, or `none` for unassigned.
    pub assignee: Option<String>,
    pub channel: Option<Channel>,
    pub topic: Option<i64>,
    pub contact: Option<i64>,
    pub priority: Option<Priority>,
    /// Created at or after (RFC 3339).
    pub created_from: Option<DateTime<FixedOffset>>,
    /// Created before (RFC 3339).
    pub created_to: Option<DateTime<FixedOffset>>,
    /// Words in the subject, the articles or the contact; or a ticket number.
    pub q: Option<String>,
    /// `newest` (default) or `oldest`.
    pub order: Option<String>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
    /// `at_risk`: a running service-level clock past its warning time, not yet due;
    /// `breached`: a running clock past its due time, or one stopped late.
    pub sla: Option<SlaCondition>,
}

/// The service-level condition the ticket list filters by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaCondition {
    AtRisk,
    Breached,
}

impl From<SlaCondition> for crate::store::sla::SlaFilter {
    fn from(c: SlaCondition) -> Self {
        match c {
            SlaCondition::AtRisk => crate::store::sla::SlaFilter::AtRisk,
            SlaCondition::Breached => crate::store::sla::SlaFilter::Breached,
        }
    }
}

fn id_list(field: &str, text: &str) -> AppResult<Vec<i64>> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .parse::<i64>()
                .map_err(|_| AppError::invalid(field, format!("'{s}' is not an id")))
        })
        .collect()
}

fn filter_from(q: &ListQuery, viewer: &Viewer) -> AppResult<TicketFilter> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            "limit must be between 1 and 200",
        ));
    }
    let mut f = TicketFilter {
        limit: limit + 1,
        ..Default::default()
    };
    if let Some(queues) = &q.queue {
        f.queue_ids = id_list("queue", queues)?;
    }
    if let Some(states) = &q.state {
        for s in states.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if s == "active" {
                f.states.extend(
                    TicketState::ALL
                        .iter()
                        .filter(|s| s.is_active())
                        .map(|s| s.as_str().to_string()),
                );
            } else {
                let st = TicketState::parse(s).ok_or_else(|| {
                    AppError::invalid("state", format!("'{s}' is not a ticket state"))
                })?;
                f.states.push(st.as_str().into());
            }
        }
    }
    f.assignee = match q.assignee.as_deref() {
        None => None,
        Some("none") => Some(None),
        Some("me") => Some(Some(viewer.actor.agent_id)),
        Some(other) => Some(Some(other.parse().map_err(|_| {
            AppError::invalid("assignee", "assignee is an agent id, 'me' or 'none'")
        })?)),
    };
    f.channel = q.channel.map(|c| c.as_str().to_string());
    f.topic_id = q.topic;
    f.contact_id = q.contact;
    f.priority = q.priority.map(|p| p.rank());
    f.created_from = q.created_from.map(|d| d.naive_utc());
    f.created_to = q.created_to.map(|d| d.naive_utc());
    f.oldest_first = match q.order.as_deref() {
        None | Some("newest") => false,
        Some("oldest") => true,
        Some(_) => return Err(AppError::invalid("order", "order is 'newest' or 'oldest'")),
    };
    if let Some(c) = &q.cursor {
        f.after_id =
            Some(c.parse().map_err(|_| {
                AppError::invalid("cursor", "the cursor is not one this API gave out")
            })?);
    }
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        if text.chars().count() > 200 {
            return Err(AppError::invalid(
                "q",
                "the search text is longer than 200 characters",
            ));
        }
        if let Some(n) = number::parse(text) {
            // A ticket number finds that ticket, whatever else was asked.
            return Ok(TicketFilter {
                number: Some(n),
                limit: f.limit,
                ..Default::default()
            });
        }
        let words = search::words(text);
        let fts5 = search::fts5_query(text).ok_or_else(|| {
            AppError::invalid("q", "search for at least one word or a ticket number")
        })?;
        f.text = Some(TextSearch {
            words: words.join(" "),
            fts5,
            contact_like: search::like_contains(&text.to_lowercase()),
            contact_trigrams: search::trigram_phrase(&text.to_lowercase()),
        });
    }
    Ok(f)
}

pub async fn list(app: &App, viewer: &Viewer, q: ListQuery) -> AppResult<TicketPage> {
    let now = app.clock.now_db();
    let mut f = filter_from(&q, viewer)?;
    if let Some(which) = q.sla {
        f.sla = Some((which.into(), now));
    }
    let tz = viewer.tz;
    app.db
        .read(move |c| {
            let mut rows = tickets::list(c, &f)?;
            let has_more = rows.len() as i64 > f.limit - 1;
            rows.truncate((f.limit - 1) as usize);
            let lookup = Lookup::load(c, &rows, tz, now)?;
            Ok(TicketPage {
                next_cursor: if has_more {
                    rows.last().map(|r| r.id.to_string())
                } else {
                    None
                },
                items: lookup.summaries(&rows)?,
            })
        })
        .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentUpload {
    pub filename: String,
    pub content_type: Option<String>,
    /// The file, base64-encoded.
    pub content_base64: String,
}

pub fn decode_attachments(list: &[AttachmentUpload]) -> AppResult<Vec<AttachmentInput>> {
    use base64::Engine;
    list.iter()
        .enumerate()
        .map(|(i, a)| {
            let data = base64::engine::general_purpose::STANDARD
                .decode(a.content_base64.trim())
                .map_err(|_| {
                    AppError::invalid(
                        &format!("attachments[{i}].content_base64"),
                        "not valid base64",
                    )
                })?;
            Ok(AttachmentInput {
                filename: a.filename.clone(),
                content_type: a.content_type.clone().unwrap_or_default(),
                data,
            })
        })
        .collect()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    pub subject: String,
    /// The request in the customer's words, or the operator's write-up of the call.
    pub body: String,
    /// How the request arrived; `phone` when omitted.
    pub channel: Option<Channel>,
    pub priority: Option<Priority>,
    pub topic_id: Option<i64>,
    pub subject_id: Option<i64>,
    /// Overrides routing by topic.
    pub queue_id: Option<i64>,
    /// An existing contact …
    pub contact_id: Option<i64>,
    /// … or the details to find or create one.
    pub contact: Option<crate::service::contacts::ContactDetails>,
    #[serde(default)]
    pub attachments: Vec<AttachmentUpload>,
    /// The same key twice gives the same ticket (also accepted as the `Idempotency-Key` header).
    pub idempotency_key: Option<String>,
    /// The values of the topic's call form, keyed by field name
    /// (`{"city": "Firenze", "contact_phone": "055 987654"}`); required ones must be there.
    #[schema(value_type = Option<Object>)]
    pub fields: Option<serde_json::Value>,
}

/// Opens a ticket on behalf of a customer. Returns the ticket and whether it is new.
pub async fn create(
    app: &App,
    viewer: &Viewer,
    req: CreateTicket,
    header_key: Option<String>,
) -> AppResult<(TicketDetail, bool)> {
    if req.contact_id.is_some() && req.contact.is_some() {
        return Err(AppError::invalid(
            "contact",
            "give either contact_id or contact, not both",
        ));
    }
    let channel = req.channel.unwrap_or(Channel::Phone);
    let article_kind = match channel {
        Channel::Phone | Channel::Callback => ArticleKind::Phone,
        Channel::Staff => ArticleKind::Note,
        Channel::Email | Channel::Web => ArticleKind::Inbound,
    };
    let outcome = intake::submit(
        app,
        IntakeRequest {
            channel,
            contact: match (req.contact_id, req.contact) {
                (Some(id), _) => ContactRef::Existing(id),
                (None, Some(d)) => ContactRef::Details(d),
                (None, None) => ContactRef::Unknown,
            },
            topic_id: req.topic_id,
            subject_id: req.subject_id,
            queue_id: req.queue_id,
            subject: req.subject,
            body: req.body,
            priority: req.priority,
            attachments: decode_attachments(&req.attachments)?,
            idempotency_key: req.idempotency_key.or(header_key),
            ticket_id: None,
            author_agent_id: Some(viewer.actor.agent_id),
            article_kind,
            public: article_kind == ArticleKind::Inbound,
            html: None,
            // An operator fills the form in: always checked.
            fields: Some(req.fields.unwrap_or(serde_json::Value::Null)),
        },
    )
    .await?;
    let detail = get(app, viewer, TicketKey::Id(outcome.ticket_id)).await?;
    Ok((detail, outcome.created))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketUpdate {
    pub subject: Option<String>,
    pub priority: Option<Priority>,
    pub topic_id: Option<i64>,
    pub subject_id: Option<i64>,
    pub contact_id: Option<i64>,
    /// Moves the ticket to another queue of the same level (supervisors: any queue).
    pub queue_id: Option<i64>,
}

pub async fn update(
    app: &App,
    viewer: &Viewer,
    key: TicketKey,
    req: TicketUpdate,
) -> AppResult<TicketDetail> {
    let actor = viewer.actor.clone();
    operate(app, viewer, key, move |c, w| {
        w.apply(Action::Update)?;
        let mut changes = serde_json::Map::new();
        if let Some(s) = &req.subject {
            let s = required_text("subject", s, 250)?;
            if s != w.row.subject {
                changes.insert("subject".into(), json!({"from": w.row.subject, "to": s}));
                w.row.subject = s;
            }
        }
        if let Some(p) = req.priority {
            if p.rank() != w.row.priority {
                changes.insert(
                    "priority".into(),
                    json!({"from": Priority::from_rank(w.row.priority), "to": p}),
                );
                w.row.priority = p.rank();
            }
        }
        if let Some(sid) = req.subject_id {
            let s = catalogue::subject(c, sid)?.ok_or_else(|| {
                AppError::invalid("subject_id", format!("subject {sid} does not exist"))
            })?;
            if req.topic_id.is_some_and(|t| t != s.topic_id) {
                return Err(AppError::invalid(
                    "subject_id",
                    "the subject does not belong to that topic",
                ));
            }
            changes.insert(
                "topic_subject".into(),
                json!({"from": w.row.subject_id, "to": sid}),
            );
            w.row.subject_id = Some(sid);
            w.row.topic_id = Some(s.topic_id);
        } else if let Some(tid) = req.topic_id {
            catalogue::topic(c, tid)?.ok_or_else(|| {
                AppError::invalid("topic_id", format!("topic {tid} does not exist"))
            })?;
            if w.row.topic_id != Some(tid) {
                changes.insert("topic".into(), json!({"from": w.row.topic_id, "to": tid}));
                w.row.topic_id = Some(tid);
                w.row.subject_id = None;
            }
        }
        if let Some(cid) = req.contact_id {
            contacts::find(c, cid)?.ok_or_else(|| {
                AppError::invalid("contact_id", format!("contact {cid} does not exist"))
            })?;
            if w.row.contact_id != Some(cid) {
                w.event(
                    EventKind::ContactChanged,
                    json!({"from": w.row.contact_id, "to": cid}),
                );
                w.row.contact_id = Some(cid);
            }
        }
        if let Some(qid) = req.queue_id {
            if qid != w.row.queue_id {
                let target = catalogue::queue(c, qid)?.ok_or_else(|| {
                    AppError::invalid("queue_id", format!("queue {qid} does not exist"))
                })?;
                let level = queue_level(&target)?;
                if !actor.can_transfer(w.level, level) || !actor.can_work(qid, level) {
                    return Err(AppError::forbidden(format!(
                        "moving a ticket from {} to {level} is done by escalating or handing back",
                        w.level
                    )));
                }
                changes.insert("queue".into(), json!({"from": w.row.queue_id, "to": qid}));
                w.row.queue_id = qid;
                w.level = level;
            }
        }
        if !changes.is_empty() {
            w.event(EventKind::Updated, serde_json::Value::Object(changes));
        }
        Ok(())
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The agent to give the ticket to; null to put it back in the queue.
    pub agent_id: Option<i64>,
}

/// Checks that an agent may be given tickets of a queue.
fn check_assignee(
    c: &mut DbConn,
    agent_id: i64,
    queue_id: i64,
    level: QueueLevel,
) -> AppResult<()> {
    let agent = agents::find(c, agent_id)?
        .ok_or_else(|| AppError::invalid("agent_id", format!("agent {agent_id} does not exist")))?;
    if !agent.active {
        return Err(AppError::invalid(
            "agent_id",
            format!("{} is not active", agent.name),
        ));
    }
    let assignee = Actor {
        agent_id,
        role: agent_role(&agent)?,
        queues: agents::queues_of(c, agent_id)?,
    };
    if !assignee.can_work(queue_id, level)
        || !(role_fits_level(assignee.role, level) || assignee.is_member(queue_id))
    {
        return Err(AppError::invalid(
            "agent_id",
            format!("{} does not work this ticket's queue", agent.name),
        ));
    }
    Ok(())
}

pub async fn assign(
    app: &App,
    viewer: &Viewer,
    key: TicketKey,
    req: AssignRequest,
) -> AppResult<TicketDetail> {
    operate(app, viewer, key, move |c, w| {
        match req.agent_id {
            Some(agent_id) => {
                check_assignee(c, agent_id, w.row.queue_id, w.level)?;
                w.apply(Action::Assign)?;
                if w.row.assignee_id != Some(agent_id) {
                    w.event(
                        EventKind::Assigned,
                        json!({"from": w.row.assignee_id, "to": agent_id}),
                    );
                    w.row.assignee_id = Some(agent_id);
                }
            }
            None => {
                w.apply(Action::Update)?;
                w.unassign();
            }
        }
        Ok(())
    })
    .await
}

/// Gives the caller the most urgent, oldest unassigned ticket of a queue.
/// `None` when the queue has nothing to claim.
pub async fn claim_next(
    app: &App,
    viewer: &Viewer,
    queue_id: i64,
) -> AppResult<Option<TicketDetail>> {
    let now = app.clock.now_db();
    let actor = viewer.actor.clone();
    let calendar = app.config.calendar();
    let claimed = app
        .db
        .write(move |c| {
            let queue = catalogue::queue(c, queue_id)?
                .ok_or_else(|| AppError::not_found(format!("queue {queue_id}")))?;
            let level = queue_level(&queue)?;
            if !actor.can_work(queue_id, level) {
                return Err(AppError::forbidden(format!(
                    "a {} cannot work tickets in '{}'",
                    actor.role, queue.name
                )));
            }
            let Some(id) = tickets::claim_candidate(c, queue_id)? else {
                return Ok(None);
            };
            let mut w = Work::begin(c, &actor, &TicketKey::Id(id), now)?;
            w.apply(Action::Assign)?;
            w.event(
                EventKind::Assigned,
                json!({"from": null, "to": actor.agent_id, "claimed": true}),
            );
            w.row.assignee_id = Some(actor.agent_id);
            w.finish(c, &calendar).map(Some)
        })
        .await?;
    match claimed {
        Some(id) => Ok(Some(get(app, viewer, TicketKey::Id(id)).await?)),
        None => Ok(None),
    }
}

/// What an agent writes on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WriteKind {
    /// Internal note, staff only.
    Note,
    /// Public reply to the customer.
    Reply,
    /// Write-up of a phone call (internal).
    Phone,
    /// A message from the customer that reached staff another way (public).
    Customer,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleRequest {
    pub kind: WriteKind,
    pub body: String,
    /// For a `reply`: also e-mail it (with its attachments) to the customer. Default true;
    /// nothing is sent when the customer has no working address.
    pub email: Option<bool>,
    #[serde(default)]
    pub attachments: Vec<AttachmentUpload>,
}

pub async fn add_article(
    app: &App,
    viewer: &Viewer,
    key: TicketKey,
    req: ArticleRequest,
) -> AppResult<TicketDetail> {
    let now = app.clock.now_db();
    let actor = viewer.actor.clone();
    let (kind, public, action) = match req.kind {
        WriteKind::Note => (ArticleKind::Note, false, Action::InternalNote),
        WriteKind::Reply => (ArticleKind::Outbound, true, Action::PublicReply),
        WriteKind::Phone => (ArticleKind::Phone, false, Action::InternalNote),
        WriteKind::Customer => (ArticleKind::Inbound, true, Action::CustomerMessage),
    };
    let id = app.db.read(move |c| key.resolve(c)).await?;
    // Checked inside intake's transaction: intake (shared with the customer
    // channels) follows merges and knows nothing of roles, while staff writing
    // on a ticket they may not work, or on a merged one, is refused.
    let guard = may_write(actor, id, now, action);
    let send = req.kind == WriteKind::Reply && req.email.unwrap_or(true);
    let (config, templates) = (app.config.clone(), app.templates.clone());
    let body = req.body.clone();
    let after: intake::After = Box::new(move |c, o, ticket| {
        if send {
            let out = Outgoing {
                config: &config,
                templates: &templates,
                now,
            };
            outbound::to_customer(
                c,
                out,
                outbound::kind::REPLY,
                ticket,
                Some(o.article_id),
                json!({"body": body.trim()}),
            )?;
        }
        Ok(())
    });
    let outcome = intake::submit_guarded(
        app,
        IntakeRequest {
            channel: Channel::Staff,
            contact: ContactRef::Unknown,
            topic_id: None,
            subject_id: None,
            queue_id: None,
            subject: String::new(),
            body: req.body,
            priority: None,
            attachments: decode_attachments(&req.attachments)?,
            idempotency_key: None,
            ticket_id: Some(id),
            author_agent_id: if kind == ArticleKind::Inbound {
                None
            } else {
                Some(viewer.actor.agent_id)
            },
            article_kind: kind,
            public,
            html: None,
            fields: None,
        },
        Some(guard),
        Some(after),
    )
    .await?;
    get(app, viewer, TicketKey::Id(outcome.ticket_id)).await
}

/// An intake guard: the actor may work the ticket and `action` fits its state.
pub(crate) fn may_write(
    actor: Actor,
    id: i64,
    now: NaiveDateTime,
    action: Action,
) -> intake::Guard {
    Box::new(move |c| {
        let w = Work::begin(c, &actor, &TicketKey::Id(id), now)?;
        decide(w.state, action)?;
        Ok(())
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateRequest {
    /// `open`, `pending_customer` or `pending_third_party`; the other states have their own operation.
    pub state: TicketState,
}

pub async fn set_state(
    app: &App,
    viewer: &Viewer,
    key: TicketKey,
    req: StateRequest,
) -> AppResult<TicketDetail> {
    operate(app, viewer, key, move |_, w| {
        w.apply(Action::SetState(req.state))
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalateRequest {
    /// A second-level or customer-care queue.
    pub queue_id: i64,
    /// Why first level could not close it; required.
    pub reason: String,
}

pub async fn escalate(
    app: &App,
    viewer: &Viewer,
    key: TicketKey,
    req: EscalateRequest,
) -> AppResult<TicketDetail> {
    let reason = required_text("reason", &req.reason, 2000)?;
    operate(app, viewer, key, move |c, w| {
        escalate_work(c, w, req.queue_id, reason)
    })
    .await
}

/// Escalates a ticket inside the caller's transaction (e.g. a phone note).
pub(crate) fn escalate_in(
    c: &mut DbConn,
    actor: &Actor,
    id: i64,
    now: NaiveDateTime,
    queue_id: i64,
    reason: String,
    calendar: &Calendar,
) -> AppResult<()> {
    let mut w = Work::begin(c, actor, &TicketKey::Id(id), now)?;
    escalate_work(c, &mut w, queue_id, reason)?;
    w.finish(c, calendar)?;
    Ok(())
}

fn escalate_work(c: &mut DbConn, w: &mut Work, queue_id: i64, reason: String) -> AppResult<()> {
    let target = catalogue::queue(c, queue_id)?.ok_or_else(|| {
        AppError::invalid("queue_id", format!("queue {} does not exist", queue_id))
    })?;
    let level = queue_level(&target)?;
    if !level.is_escalation_target() || !target.active {
        return Err(AppError::invalid(
            "queue_id",
            format!(
                "'{}' is not an active second-level or customer-care queue",
                target.name
            ),
        ));
    }
    if target.id == w.row.queue_id {
        return Err(AppError::conflict(
            "already-there",
            format!("the ticket is already in '{}'", target.name),
        ));
    }
    w.apply(Action::Escalate)?;
    if w.level == QueueLevel::FirstLevel {
        w.row.escalated_from_queue_id = Some(w.row.queue_id);
    }
    w.event(EventKind::Escalated, json!({"from_queue": w.row.queue_id, "to_queue": target.id, "level": level, "reason": reason}));
    w.unassign();
    w.row.queue_id = target.id;
    w.row.escalation_reason = Some(reason);
    Ok(())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    pub reason: Option<String>,
}

pub async fn hand_back(
    app: &App,
    viewer: &Viewer,
    key: TicketKey,
    req: ReasonRequest,
) -> AppResult<TicketDetail> {
    let reason = super::optional_text("reason", req.reason.as_deref(), 2000)?;
    operate(app, viewer, key, move |c, w| {
        if w.level == QueueLevel::FirstLevel {
            return Err(AppError::conflict(
                "not-escalated",
                "the ticket is already at first level",
            ));
        }
        w.apply(Action::HandBack)?;
        let back_to = match w.row.escalated_from_queue_id {
            Some(q) => q,
            None => {
                catalogue::snapshot(c)?
                    .default_first_level()
                    .ok_or_else(|| {
                        AppError::conflict("no-queue", "no active first-level queue is configured")
                    })?
                    .id
            }
        };
        w.event(
            EventKind::HandedBack,
            json!({"from_queue": w.row.queue_id, "to_queue": back_to, "reason": reason}),
        );
        w.unassign();
        w.row.queue_id = back_to;
        w.level = QueueLevel::FirstLevel;
        Ok(())
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// How the request was answered; required.
    pub resolution: String,
    /// E-mail the resolution to the customer (default true, when they have an address).
    pub notify: Option<bool>,
}

pub async fn resolve(
    app: &App,
    viewer: &Viewer,
    key: TicketKey,
    req: ResolveRequest,
) -> AppResult<TicketDetail> {
    let resolution = required_text("resolution", &req.resolution, 20_000)?;
    let notify = req.notify.unwrap_or(true);
    let (config, templates) = (app.config.clone(), app.templates.clone());
    operate(app, viewer, key, move |c, w| {
        resolve_work(c, w, resolution, notify, &config, &templates)
    })
    .await
}

/// Resolves a ticket inside the caller's transaction (e.g. a phone note).
#[allow(clippy::too_many_arguments)]
pub(crate) fn resolve_in(
    c: &mut DbConn,
    actor: &Actor,
    id: i64,
    now: NaiveDateTime,
    resolution: String,
    notify: bool,
    config: &Config,
    templates: &Templates,
) -> AppResult<()> {
    let mut w = Work::begin(c, actor, &TicketKey::Id(id), now)?;
    resolve_work(c, &mut w, resolution, notify, config, templates)?;
    w.finish(c, &config.calendar())?;
    Ok(())
}

fn resolve_work(
    c: &mut DbConn,
    w: &mut Work,
    resolution: String,
    notify: bool,
    config: &Config,
    templates: &Templates,
) -> AppResult<()> {
    w.apply(Action::Resolve)?;
    w.event(EventKind::Resolved, json!({"resolution": resolution}));
    w.row.resolution = Some(resolution.clone());
    if notify {
        let out = Outgoing {
            config,
            templates,
            now: w.now,
        };
        let rating_url =
            crate::channels::web::service::rating_link(c, &config.public_url(), &w.row)?;
        outbound::to_customer(
            c,
            out,
            outbound::kind::RESOLUTION,
            &w.row,
            None,
            json!({"resolution": resolution, "rating_url": rating_url}),
        )?;
    }
    Ok(())
}

pub async fn close(
    app: &App,
    viewer: &Viewer,
    key: TicketKey,
    req: ReasonRequest,
) -> AppResult<TicketDetail> {
    let reason = super::optional_text("reason", req.reason.as_deref(), 2000)?;
    operate(app, viewer, key, move |_, w| {
        w.apply(Action::Close)?;
        w.event(EventKind::Closed, json!({"reason": reason}));
        Ok(())
    })
    .await
}

pub async fn reopen(
    app: &App,
    viewer: &Viewer,
    key: TicketKey,
    req: ReasonRequest,
) -> AppResult<TicketDetail> {
    let reason = super::optional_text("reason", req.reason.as_deref(), 2000)?;
    operate(app, viewer, key, move |_, w| {
        w.apply(Action::Reopen)?;
        w.event(EventKind::Reopened, json!({"reason": reason}));
        Ok(())
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The surviving ticket: id or number.
    pub into: String,
}

/// Folds this ticket into another: articles and events move to the survivor,
/// this one becomes `merged` and points to it.
pub async fn merge(
    app: &App,
    viewer: &Viewer,
    key: TicketKey,
    req: MergeRequest,
) -> AppResult<TicketDetail> {
    let into = TicketKey::parse(req.into.trim())
        .map_err(|_| AppError::invalid("into", format!("'{}' is not a ticket", req.into)))?;
    let now = app.clock.now_db();
    let actor = viewer.actor.clone();
    let calendar = app.config.calendar();
    let survivor = app
        .db
        .write(move |c| {
            let target_id = into
                .resolve(c)
                .map_err(|_| AppError::invalid("into", format!("ticket {into} does not exist")))?;
            let mut source = Work::begin(c, &actor, &key, now)?;
            if source.row.id == target_id {
                return Err(AppError::invalid(
                    "into",
                    "a ticket cannot be merged into itself",
                ));
            }
            let mut target = Work::begin(c, &actor, &TicketKey::Id(target_id), now)?;
            target.apply(Action::Update)?;
            source.apply(Action::Merge)?;
            tickets::move_history(c, source.row.id, target_id)?;
            source.row.merged_into_id = Some(target_id);
            source.row.assignee_id = None;
            let (src_id, src_number) = (source.row.id, source.row.number.clone());
            source.event(
                EventKind::MergedInto,
                json!({"into": target_id, "number": target.row.number}),
            );
            target.event(
                EventKind::Merged,
                json!({"from": src_id, "number": src_number}),
            );
            tickets::insert_link(c, src_id, target_id, "merged", now)?;
            source.finish(c, &calendar)?;
            target.finish(c, &calendar)
        })
        .await?;
    get(app, viewer, TicketKey::Id(survivor)).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// The related ticket: id or number.
    pub ticket: String,
}

pub async fn link(
    app: &App,
    viewer: &Viewer,
    key: TicketKey,
    req: LinkRequest,
) -> AppResult<TicketDetail> {
    let other = TicketKey::parse(req.ticket.trim())
        .map_err(|_| AppError::invalid("ticket", format!("'{}' is not a ticket", req.ticket)))?;
    operate(app, viewer, key, move |c, w| {
        let other_id = other
            .resolve(c)
            .map_err(|_| AppError::invalid("ticket", format!("ticket {other} does not exist")))?;
        if other_id == w.row.id {
            return Err(AppError::invalid(
                "ticket",
                "a ticket cannot be linked to itself",
            ));
        }
        w.apply(Action::Update)?;
        if tickets::insert_link(c, w.row.id, other_id, "related", w.now)? {
            w.event(EventKind::Linked, json!({"ticket": other_id}));
        }
        Ok(())
    })
    .await
}

// ---------------------------------------------------------------------------
// Changes Sportello makes by itself (service-level rules, housekeeping). Each
// runs inside the caller's transaction, locks the ticket, follows the same
// workflow rules as staff, and records its events with no actor, marked
// `"auto": true` with the reason.

/// Escalates a ticket to `queue_id` on Sportello's own initiative.
pub(crate) fn auto_escalate_in(
    c: &mut DbConn,
    id: i64,
    now: NaiveDateTime,
    queue_id: i64,
    reason: String,
    calendar: &Calendar,
) -> AppResult<()> {
    let mut w = Work::begin_system(c, id, now)?;
    escalate_work(c, &mut w, queue_id, reason)?;
    for (kind, data) in w.events.iter_mut() {
        if *kind == EventKind::Escalated {
            data["auto"] = json!(true);
        }
    }
    w.finish(c, calendar)?;
    Ok(())
}

/// Raises a ticket's priority one step (none when it is already urgent);
/// returns the change made.
pub(crate) fn auto_raise_priority_in(
    c: &mut DbConn,
    id: i64,
    now: NaiveDateTime,
    reason: &str,
    calendar: &Calendar,
) -> AppResult<Option<(Priority, Priority)>> {
    let mut w = Work::begin_system(c, id, now)?;
    w.apply(Action::Update)?;
    let from = Priority::from_rank(w.row.priority).unwrap_or(Priority::Normal);
    let Some(to) = Priority::from_rank(from.rank() + 1) else {
        return Ok(None);
    };
    w.row.priority = to.rank();
    w.event(
        EventKind::Updated,
        json!({"priority": {"from": from, "to": to}, "auto": true, "reason": reason}),
    );
    w.finish(c, calendar)?;
    Ok(Some((from, to)))
}

/// Closes a ticket (e.g. resolved long ago with no word from the customer).
pub(crate) fn auto_close_in(
    c: &mut DbConn,
    id: i64,
    now: NaiveDateTime,
    reason: &str,
    calendar: &Calendar,
) -> AppResult<()> {
    let mut w = Work::begin_system(c, id, now)?;
    w.apply(Action::Close)?;
    w.event(EventKind::Closed, json!({"reason": reason, "auto": true}));
    w.finish(c, calendar)?;
    Ok(())
}

/// Resolves a ticket, telling the customer (e.g. it waited on them too long).
pub(crate) fn auto_resolve_in(
    c: &mut DbConn,
    id: i64,
    now: NaiveDateTime,
    resolution: String,
    config: &Config,
    templates: &Templates,
) -> AppResult<()> {
    let mut w = Work::begin_system(c, id, now)?;
    resolve_work(c, &mut w, resolution, true, config, templates)?;
    for (kind, data) in w.events.iter_mut() {
        if *kind == EventKind::Resolved {
            data["auto"] = json!(true);
        }
    }
    w.finish(c, &config.calendar())?;
    Ok(())
}
