//! Read models: what the API returns. Instants are shown in the viewer's time zone.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::forms::{FieldType, FormField};
use crate::domain::{ArticleKind, Channel, EventKind, Priority, QueueLevel, Role, TicketState};

/// Shows a stored UTC instant in a time zone.
pub fn local(ts: NaiveDateTime, tz: Tz) -> DateTime<FixedOffset> {
    ts.and_utc().with_timezone(&tz).fixed_offset()
}

pub fn local_opt(ts: Option<NaiveDateTime>, tz: Tz) -> Option<DateTime<FixedOffset>> {
    ts.map(|t| local(t, tz))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ref {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueRef {
    pub id: i64,
    pub name: String,
    pub level: QueueLevel,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub time_zone: Option<String>,
    pub queue_ids: Vec<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueView {
    pub id: i64,
    pub name: String,
    pub level: QueueLevel,
    pub description: String,
    pub email: Option<String>,
    pub active: bool,
    /// Its business calendar; `null`: the desk's calendar from the configuration.
    pub calendar_id: Option<i64>,
    /// The agent who receives its service-level notices.
    pub supervisor_id: Option<i64>,
    /// Tickets still needing work (not resolved, closed or merged).
    pub active_tickets: i64,
    /// Active tickets nobody has taken.
    pub unassigned: i64,
    /// Tickets per state.
    pub by_state: std::collections::BTreeMap<String, i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectView {
    pub id: i64,
    pub topic_id: i64,
    pub name: String,
    /// Overrides the topic's queue when set.
    pub queue_id: Option<i64>,
    pub info_script: String,
    pub active: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopicView {
    pub id: i64,
    pub name: String,
    pub queue_id: i64,
    /// What the operator reads to the caller.
    pub info_script: String,
    /// Offered on the public web form.
    pub public: bool,
    pub active: bool,
    /// The call form filled in on this topic's tickets (empty: none).
    pub form: Vec<FormField>,
    /// False: the topic's tickets are kept out of the statistics.
    pub in_statistics: bool,
    pub subjects: Vec<SubjectView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactView {
    pub id: i64,
    pub name: String,
    pub organisation: String,
    pub city: String,
    pub address: String,
    pub contract_number: Option<String>,
    pub language: String,
    pub notes: String,
    pub emails: Vec<String>,
    /// E.164.
    pub phones: Vec<String>,
    /// The key the client's registry feeds know the contact by.
    pub external_key: Option<String>,
    /// Custom data from the feeds (card type, benefits, points balance…), in order.
    pub attributes: Vec<ContactAttribute>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

/// One custom attribute of a contact: a name and a text value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactAttribute {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub id: i64,
    pub action: String,
    pub actor: Option<Ref>,
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
    pub created_at: DateTime<FixedOffset>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketSummary {
    pub id: i64,
    /// The number a citizen reads on the phone, e.g. `2026-000123`.
    pub number: String,
    pub subject: String,
    pub channel: Channel,
    pub state: TicketState,
    pub priority: Priority,
    pub queue: QueueRef,
    pub assignee: Option<Ref>,
    pub contact: Option<Ref>,
    pub topic: Option<Ref>,
    pub topic_subject: Option<Ref>,
    pub escalation_reason: Option<String>,
    pub resolution: Option<String>,
    /// The ticket this one was merged into.
    pub merged_into: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    pub first_response_at: Option<DateTime<FixedOffset>>,
    pub resolved_at: Option<DateTime<FixedOffset>>,
    pub closed_at: Option<DateTime<FixedOffset>>,
    /// The service-level clock due first (running before paused); null when none is live.
    pub sla: Option<super::sla::SlaSummary>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleView {
    pub id: i64,
    pub kind: ArticleKind,
    pub public: bool,
    pub author_agent: Option<Ref>,
    pub author_contact: Option<Ref>,
    pub body: String,
    /// Sanitized HTML of an e-mail (the text is in `body`).
    pub html: Option<String>,
    pub attachments: Vec<AttachmentView>,
    pub created_at: DateTime<FixedOffset>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: i64,
    pub kind: EventKind,
    pub actor: Option<Ref>,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub created_at: DateTime<FixedOffset>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkView {
    pub kind: String,
    pub ticket_id: i64,
    pub number: String,
    pub subject: String,
    pub state: TicketState,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketDetail {
    #[serde(flatten)]
    pub ticket: TicketSummary,
    pub contact_details: Option<ContactView>,
    /// The info scripts of the ticket's topic and subject.
    pub info_script: Option<String>,
    /// The values of the topic's call form, in the form's order, with the
    /// labels the form had when they were written.
    pub fields: Vec<FieldView>,
    pub articles: Vec<ArticleView>,
    pub events: Vec<EventView>,
    pub links: Vec<LinkView>,
    /// Every service-level clock the ticket has run, with its history.
    pub sla_clocks: Vec<super::sla::SlaClockView>,
}

/// One value filled in on a call form.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldView {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Text (phones in E.164, dates `YYYY-MM-DD`), a number or a boolean.
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketPage {
    pub items: Vec<TicketSummary>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// An outgoing e-mail and how its delivery is going.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailView {
    pub id: i64,
    /// `acknowledgement`, `reply`, `resolution`, `delegation`, `service_points`.
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    /// `pending` (queued or retrying), `sent` or `failed`.
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub next_attempt_at: Option<DateTime<FixedOffset>>,
    pub sent_at: Option<DateTime<FixedOffset>>,
}
