//! Rows as they are stored. Services turn these into API views; nothing
//! outside `store` and `service` sees them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = queues)]
pub struct QueueRow {
    pub id: i64,
    pub name: String,
    pub level: String,
    pub description: String,
    pub email: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    /// Its business calendar (none: the desk's, from the configuration).
    pub calendar_id: Option<i64>,
    /// Who gets its service-level notices.
    pub supervisor_id: Option<i64>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = queues)]
pub struct NewQueue {
    pub name: String,
    pub level: String,
    pub description: String,
    pub email: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub calendar_id: Option<i64>,
    pub supervisor_id: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = agents)]
pub struct AgentRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub active: bool,
    pub time_zone: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = agents)]
pub struct NewAgent {
    pub email: String,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub active: bool,
    pub time_zone: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken {
    pub agent_id: i64,
    pub token_hash: String,
    pub kind: String,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct ApiTokenRow {
    pub id: i64,
    pub agent_id: i64,
    pub token_hash: String,
    pub kind: String,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = topics)]
pub struct TopicRow {
    pub id: i64,
    pub name: String,
    pub queue_id: i64,
    pub info_script: String,
    pub public: bool,
    pub active: bool,
    pub created_at: NaiveDateTime,
    /// The call form: a JSON array of `domain::forms::FormField`; none when absent.
    pub form: Option<String>,
    /// False keeps the topic's tickets out of the statistics (non-target calls).
    pub in_statistics: bool,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = topics)]
pub struct NewTopic {
    pub name: String,
    pub queue_id: i64,
    pub info_script: String,
    pub public: bool,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub form: Option<String>,
    pub in_statistics: bool,
}

/// A value filled in on a ticket's call form, with the label and place the
/// field had in the form when it was written.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = ticket_fields)]
pub struct TicketFieldRow {
    pub ticket_id: i64,
    pub name: String,
    pub seq: i32,
    pub label: String,
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subjects)]
pub struct SubjectRow {
    pub id: i64,
    pub topic_id: i64,
    pub name: String,
    pub queue_id: Option<i64>,
    pub info_script: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = subjects)]
pub struct NewSubject {
    pub topic_id: i64,
    pub name: String,
    pub queue_id: Option<i64>,
    pub info_script: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = contacts)]
pub struct ContactRow {
    pub id: i64,
    pub name: String,
    pub organisation: String,
    pub city: String,
    pub address: String,
    pub contract_number: Option<String>,
    pub language: String,
    pub notes: String,
    pub search_key: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub external_key: Option<String>,
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = contacts, treat_none_as_null = true)]
pub struct ContactFields {
    pub name: String,
    pub organisation: String,
    pub city: String,
    pub address: String,
    pub contract_number: Option<String>,
    pub language: String,
    pub notes: String,
    pub search_key: String,
    pub updated_at: NaiveDateTime,
    pub external_key: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = tickets)]
pub struct TicketRow {
    pub id: i64,
    pub number: String,
    pub subject: String,
    pub channel: String,
    pub state: String,
    pub priority: i32,
    pub queue_id: i64,
    pub assignee_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub topic_id: Option<i64>,
    pub subject_id: Option<i64>,
    pub escalated_from_queue_id: Option<i64>,
    pub escalation_reason: Option<String>,
    pub resolution: Option<String>,
    pub merged_into_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub first_response_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
}

/// Inserted through [`bound_values!`](crate::bound_values), which keeps the statement prepared.
#[derive(Debug)]
pub struct NewTicket {
    pub number: String,
    pub subject: String,
    pub channel: String,
    pub state: String,
    pub priority: i32,
    pub queue_id: i64,
    pub assignee_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub topic_id: Option<i64>,
    pub subject_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub first_response_at: Option<NaiveDateTime>,
}

/// The columns a workflow operation may change, written back in one UPDATE.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = tickets, treat_none_as_null = true)]
pub struct TicketChanges {
    pub subject: String,
    pub state: String,
    pub priority: i32,
    pub queue_id: i64,
    pub assignee_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub topic_id: Option<i64>,
    pub subject_id: Option<i64>,
    pub escalated_from_queue_id: Option<i64>,
    pub escalation_reason: Option<String>,
    pub resolution: Option<String>,
    pub merged_into_id: Option<i64>,
    pub updated_at: NaiveDateTime,
    pub first_response_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
}

impl TicketRow {
    pub fn changes(&self) -> TicketChanges {
        TicketChanges {
            subject: self.subject.clone(),
            state: self.state.clone(),
            priority: self.priority,
            queue_id: self.queue_id,
            assignee_id: self.assignee_id,
            contact_id: self.contact_id,
            topic_id: self.topic_id,
            subject_id: self.subject_id,
            escalated_from_queue_id: self.escalated_from_queue_id,
            escalation_reason: self.escalation_reason.clone(),
            resolution: self.resolution.clone(),
            merged_into_id: self.merged_into_id,
            updated_at: self.updated_at,
            first_response_at: self.first_response_at,
            resolved_at: self.resolved_at,
            closed_at: self.closed_at,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = articles)]
pub struct ArticleRow {
    pub id: i64,
    pub ticket_id: i64,
    pub kind: String,
    pub public: bool,
    pub author_agent_id: Option<i64>,
    pub author_contact_id: Option<i64>,
    pub body: String,
    pub created_at: NaiveDateTime,
    /// Sanitized HTML of an e-mail, when it had any.
    pub html: Option<String>,
}

/// Inserted through [`bound_values!`](crate::bound_values), which keeps the statement prepared.
#[derive(Debug)]
pub struct NewArticle {
    pub ticket_id: i64,
    pub kind: String,
    pub public: bool,
    pub author_agent_id: Option<i64>,
    pub author_contact_id: Option<i64>,
    pub body: String,
    pub created_at: NaiveDateTime,
    pub html: Option<String>,
}

/// Attachment metadata (the bytes are fetched separately).
#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = attachments)]
pub struct AttachmentMeta {
    pub id: i64,
    pub article_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = attachments)]
pub struct NewAttachment {
    pub article_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub data: Vec<u8>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = ticket_events)]
pub struct EventRow {
    pub id: i64,
    pub ticket_id: i64,
    pub kind: String,
    pub actor_agent_id: Option<i64>,
    pub data: String,
    pub created_at: NaiveDateTime,
}

/// Inserted through [`bound_values!`](crate::bound_values), which keeps the statement prepared.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub ticket_id: i64,
    pub kind: String,
    pub actor_agent_id: Option<i64>,
    pub data: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = ticket_links)]
pub struct LinkRow {
    pub id: i64,
    pub ticket_id: i64,
    pub linked_ticket_id: i64,
    pub kind: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: i64,
    pub entity: String,
    pub entity_id: i64,
    pub action: String,
    pub actor_agent_id: Option<i64>,
    pub changes: String,
    pub created_at: NaiveDateTime,
}

/// Inserted through [`bound_values!`](crate::bound_values), which keeps the statement prepared.
#[derive(Debug)]
pub struct NewAudit {
    pub entity: String,
    pub entity_id: i64,
    pub action: String,
    pub actor_agent_id: Option<i64>,
    pub changes: String,
    pub created_at: NaiveDateTime,
}
