//! Turns rows into views with one query per related table, never one per row.

use std::collections::HashMap;

use chrono_tz::Tz;

use super::views::*;
use crate::domain::{ArticleKind, Channel, EventKind, Priority, QueueLevel, Role, TicketState};
use crate::error::{AppError, AppResult};
use crate::store::rows::*;
use crate::store::{catalogue, contacts, tickets, DbConn};

/// Names of everything tickets refer to.
pub struct Lookup {
    /// Queues, topics, subjects and agents' names.
    cat: std::sync::Arc<catalogue::Snapshot>,
    contacts: HashMap<i64, String>,
    numbers: HashMap<i64, String>,
    sla: HashMap<i64, super::sla::SlaSummary>,
    pub tz: Tz,
}

fn contact_names(conn: &mut DbConn, ids: &[i64]) -> AppResult<HashMap<i64, String>> {
    Ok(contacts::find_many(conn, ids)?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect())
}

pub fn queue_level(row: &QueueRow) -> AppResult<QueueLevel> {
    QueueLevel::parse(&row.level)
        .ok_or_else(|| AppError::Internal(format!("queue {} has level {}", row.id, row.level)))
}

pub fn ticket_state(row: &TicketRow) -> AppResult<TicketState> {
    TicketState::parse(&row.state)
        .ok_or_else(|| AppError::Internal(format!("ticket {} has state {}", row.id, row.state)))
}

pub fn agent_role(row: &AgentRow) -> AppResult<Role> {
    Role::parse(&row.role)
        .ok_or_else(|| AppError::Internal(format!("agent {} has role {}", row.id, row.role)))
}

impl Lookup {
    /// Loads the names needed to show `rows` (and any extra contacts), and
    /// their service levels as they stand at `now`.
    pub fn load(
        conn: &mut DbConn,
        rows: &[TicketRow],
        tz: Tz,
        now: chrono::NaiveDateTime,
    ) -> AppResult<Lookup> {
        let contact_ids: Vec<i64> = rows.iter().filter_map(|r| r.contact_id).collect();
        let contacts = contact_names(conn, &contact_ids)?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let sla = super::sla::summaries_in(conn, &ids, now, tz)?;
        Lookup::with(conn, rows, contacts, sla, tz)
    }

    /// [`Lookup::load`] for one ticket's detail, from what was read with it:
    /// its contact's name, its clocks (all of them, oldest first), the
    /// catalogue, and the tickets it links to or was merged into.
    pub fn for_detail(
        row: &TicketRow,
        contact_name: Option<String>,
        clocks: &[crate::store::sla::ClockRow],
        cat: std::sync::Arc<catalogue::Snapshot>,
        others: &[TicketRow],
        tz: Tz,
        now: chrono::NaiveDateTime,
    ) -> Lookup {
        let contacts = row.contact_id.zip(contact_name).into_iter().collect();
        let numbers = others
            .iter()
            .filter(|o| Some(o.id) == row.merged_into_id)
            .map(|o| (o.id, o.number.clone()))
            .collect();
        Lookup {
            cat,
            contacts,
            numbers,
            sla: super::sla::summarise(clocks, now, tz),
            tz,
        }
    }

    /// The rest of a lookup: the catalogue and the numbers of the tickets
    /// `rows` were merged into.
    fn with(
        conn: &mut DbConn,
        rows: &[TicketRow],
        contacts: HashMap<i64, String>,
        sla: HashMap<i64, super::sla::SlaSummary>,
        tz: Tz,
    ) -> AppResult<Lookup> {
        let cat = catalogue::snapshot(conn)?;
        let merged: Vec<i64> = rows.iter().filter_map(|r| r.merged_into_id).collect();
        let numbers = tickets::find_many(conn, &merged)?
            .into_iter()
            .map(|t| (t.id, t.number))
            .collect();
        Ok(Lookup {
            cat,
            contacts,
            numbers,
            sla,
            tz,
        })
    }

    /// The catalogue the names come from.
    pub fn catalogue(&self) -> &catalogue::Snapshot {
        &self.cat
    }

    pub fn agent(&self, id: Option<i64>) -> Option<Ref> {
        id.map(|id| Ref {
            id,
            name: self.cat.agent_names.get(&id).cloned().unwrap_or_default(),
        })
    }

    pub fn queue(&self, id: i64) -> AppResult<QueueRef> {
        let q = self
            .cat
            .queue(id)
            .ok_or_else(|| AppError::Internal(format!("queue {id} missing")))?;
        Ok(QueueRef {
            id,
            name: q.name.clone(),
            level: queue_level(q)?,
        })
    }

    pub fn info_script(&self, row: &TicketRow) -> Option<String> {
        let parts: Vec<&str> = [
            row.topic_id
                .and_then(|t| self.cat.topic(t))
                .map(|t| t.info_script.as_str()),
            row.subject_id
                .and_then(|s| self.cat.subject(s))
                .map(|s| s.info_script.as_str()),
        ]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect();
        (!parts.is_empty()).then(|| parts.join("\n\n"))
    }

    pub fn summary(&self, row: &TicketRow) -> AppResult<TicketSummary> {
        let tz = self.tz;
        Ok(TicketSummary {
            id: row.id,
            number: row.number.clone(),
            subject: row.subject.clone(),
            channel: Channel::parse(&row.channel).unwrap_or(Channel::Staff),
            state: ticket_state(row)?,
            priority: Priority::from_rank(row.priority).unwrap_or(Priority::Normal),
            queue: self.queue(row.queue_id)?,
            assignee: self.agent(row.assignee_id),
            contact: row.contact_id.map(|id| Ref {
                id,
                name: self.contacts.get(&id).cloned().unwrap_or_default(),
            }),
            topic: row.topic_id.and_then(|id| self.cat.topic(id)).map(|t| Ref {
                id: t.id,
                name: t.name.clone(),
            }),
            topic_subject: row
                .subject_id
                .and_then(|id| self.cat.subject(id))
                .map(|s| Ref {
                    id: s.id,
                    name: s.name.clone(),
                }),
            escalation_reason: row.escalation_reason.clone(),
            resolution: row.resolution.clone(),
            merged_into: row
                .merged_into_id
                .and_then(|id| self.numbers.get(&id).cloned()),
            created_at: local(row.created_at, tz),
            updated_at: local(row.updated_at, tz),
            first_response_at: local_opt(row.first_response_at, tz),
            resolved_at: local_opt(row.resolved_at, tz),
            closed_at: local_opt(row.closed_at, tz),
            sla: self.sla.get(&row.id).cloned(),
        })
    }

    pub fn summaries(&self, rows: &[TicketRow]) -> AppResult<Vec<TicketSummary>> {
        rows.iter().map(|r| self.summary(r)).collect()
    }

    pub fn article(
        &self,
        row: &ArticleRow,
        attachments: Vec<AttachmentView>,
        contact: Option<Ref>,
    ) -> ArticleView {
        ArticleView {
            id: row.id,
            kind: ArticleKind::parse(&row.kind).unwrap_or(ArticleKind::Note),
            public: row.public,
            author_agent: self.agent(row.author_agent_id),
            author_contact: contact,
            body: row.body.clone(),
            html: row.html.clone(),
            attachments,
            created_at: local(row.created_at, self.tz),
        }
    }

    pub fn event(&self, row: &EventRow) -> EventView {
        EventView {
            id: row.id,
            kind: EventKind::parse(&row.kind).unwrap_or(EventKind::Updated),
            actor: self.agent(row.actor_agent_id),
            data: serde_json::from_str(&row.data).unwrap_or(serde_json::Value::Null),
            created_at: local(row.created_at, self.tz),
        }
    }
}
