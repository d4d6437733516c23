//! Back-office delegation: a second-level agent e-mails a task from a ticket to
//! the back office, which answers by replying. Each delegation has its own
//! reply token, carried in a plus-address Reply-To of the delegation mailbox,
//! so replies thread even when the back office rewrites the subject.

use chrono::{DateTime, Duration, FixedOffset};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::outbound::{self, Compose, Outgoing};
use crate::domain::contact::normalise_email;
use crate::domain::workflow::{decide, Action};
use crate::domain::{EventKind, TicketState};
use crate::error::{AppError, AppResult};
use crate::intake;
use crate::service::tickets::TicketKey;
use crate::service::views::local;
use crate::service::{required_text, App, Viewer};
use crate::store::delegations::{self, DelegationRow};
use crate::store::mail::{self as mailstore, MailboxRow};
use crate::store::{catalogue, tickets, DbConn};

/// `desk@example.it` + token → `desk+token@example.it`.
pub fn plus_address(address: &str, token: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => format!("{local}+{token}@{domain}"),
        None => address.to_string(),
    }
}

/// The delegation token in any recipient written as `local+token@domain` of the mailbox.
pub fn token_in(recipients: &[String], mailbox_address: &str) -> Option<String> {
    let (local, domain) = mailbox_address.split_once('@')?;
    recipients.iter().find_map(|r| {
        let (l, d) = r.split_once('@')?;
        if !d.eq_ignore_ascii_case(domain) {
            return None;
        }
        let token = l.strip_prefix(local)?.strip_prefix('+')?;
        (!token.is_empty()).then(|| token.to_lowercase())
    })
}

/// The back office's own reference in a text, by the configured pattern.
pub fn external_ref(pattern: &regex::Regex, text: &str) -> Option<String> {
    let caps = pattern.captures(text)?;
    caps.get(1)
        .or_else(|| caps.get(0))
        .map(|m| m.as_str().to_string())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegateRequest {
    /// What the back office must do.
    pub task: String,
    /// The back office's address (default: `SPORTELLO_BACKOFFICE_ADDRESS`).
    pub to: Option<String>,
    /// Hours until it is overdue (default: `SPORTELLO_DELEGATION_DUE_HOURS`).
    pub due_hours: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DelegationView {
    pub id: i64,
    pub ticket_id: i64,
    /// The queue the ticket returns to when the back office answers.
    pub queue_id: i64,
    pub to: String,
    pub task: String,
    /// `open`, `overdue` or `answered`.
    pub state: String,
    pub due_at: DateTime<FixedOffset>,
    /// The back office's own reference number, once a reply carried one.
    pub external_ref: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub answered_at: Option<DateTime<FixedOffset>>,
}

fn view(d: DelegationRow, now: chrono::NaiveDateTime, tz: chrono_tz::Tz) -> DelegationView {
    let state = if d.state == "open" && d.due_at < now {
        "overdue".to_string()
    } else {
        d.state.clone()
    };
    DelegationView {
        id: d.id,
        ticket_id: d.ticket_id,
        queue_id: d.queue_id,
        to: d.to_address,
        task: d.task,
        state,
        due_at: local(d.due_at, tz),
        external_ref: d.external_ref,
        created_at: local(d.created_at, tz),
        answered_at: d.answered_at.map(|a| local(a, tz)),
    }
}

fn delegation_mailbox(c: &mut DbConn) -> AppResult<MailboxRow> {
    mailstore::mailboxes(c)?
        .into_iter()
        .find(|m| m.active && m.purpose == "delegation")
        .ok_or_else(|| {
            AppError::conflict(
                "no-delegation-mailbox",
                "configure a mailbox with purpose 'delegation' first",
            )
        })
}

/// Sends a task to the back office and waits on it (pending third party).
pub async fn delegate(
    app: &App,
    viewer: &Viewer,
    key: TicketKey,
    req: DelegateRequest,
) -> AppResult<DelegationView> {
    let task = required_text("task", &req.task, 20_000)?;
    let to = match req.to.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(t) => normalise_email(t).map_err(|e| AppError::invalid("to", e.to_string()))?,
        None => app.config.backoffice_address.clone().ok_or_else(|| {
            AppError::invalid(
                "to",
                "name the back office's address (no default is configured)",
            )
        })?,
    };
    let hours = req.due_hours.unwrap_or(app.config.delegation_due_hours);
    if !(1..=24 * 365).contains(&hours) {
        return Err(AppError::invalid(
            "due_hours",
            "due_hours is between 1 and 8760",
        ));
    }
    let now = app.clock.now_db();
    let actor = viewer.actor.clone();
    let (config, templates) = (app.config.clone(), app.templates.clone());
    let tz = viewer.tz;
    app.db
        .write(move |c| {
            let id = key.resolve(c)?;
            let mut ticket = tickets::lock(c, id)?.ok_or_else(|| AppError::not_found("ticket"))?;
            let queue = catalogue::queue(c, ticket.queue_id)?.ok_or_else(|| AppError::Internal("queue missing".into()))?;
            let level = crate::service::lookup::queue_level(&queue)?;
            if !actor.can_work(queue.id, level) {
                return Err(AppError::forbidden(format!("a {} cannot work tickets in '{}'", actor.role, queue.name)));
            }
            let state = crate::service::lookup::ticket_state(&ticket)?;
            let next = decide(state, Action::SetState(TicketState::PendingThirdParty))?;
            let mailbox = delegation_mailbox(c)?;
            let mut bytes = [0u8; 10];
            rand::thread_rng().fill_bytes(&mut bytes);
            let token = format!("d{}", hex::encode(bytes));
            let due_at = now + Duration::hours(hours);
            let row = DelegationRow {
                id: 0,
                ticket_id: id,
                queue_id: ticket.queue_id,
                agent_id: Some(actor.agent_id),
                mailbox_id: mailbox.id,
                to_address: to.clone(),
                task: task.clone(),
                token: token.clone(),
                state: "open".into(),
                due_at,
                external_ref: None,
                created_at: now,
                answered_at: None,
            };
            let delegation_id = delegations::insert(c, &row)?;
            let out = Outgoing { config: &config, templates: &templates, now };
            let outbox_id = outbound::enqueue(
                c,
                out,
                Compose {
                    kind: "delegation",
                    ticket: &ticket,
                    to: to.clone(),
                    language: "it".into(),
                    name: None,
                    mailbox: Some(mailbox.clone()),
                    article_id: None,
                    vars: json!({"body": task, "due": local(due_at, tz).format("%d/%m/%Y %H:%M").to_string()}),
                    automatic: false,
                    thread: None,
                    access: None,
                },
            )?;
            crate::store::outbox::set_reply_to(c, outbox_id, &plus_address(&mailbox.address, &token))?;
            intake::event(c, id, EventKind::Delegated, Some(actor.agent_id), json!({"delegation": delegation_id, "to": to, "due_at": due_at}), now)?;
            if next != state {
                intake::event(c, id, EventKind::StateChanged, Some(actor.agent_id), json!({"from": state, "to": next}), now)?;
                ticket.state = next.as_str().into();
                ticket.updated_at = now;
                tickets::save(c, id, &ticket.changes())?;
                crate::service::sla::track(
                    c,
                    &config.calendar(),
                    &ticket,
                    Some(state),
                    crate::service::sla::Message::None,
                    Some(crate::domain::sla::PauseReason::BackOffice),
                    now,
                )?;
            }
            Ok(view(DelegationRow { id: delegation_id, ..row }, now, tz))
        })
        .await
}

pub async fn list(app: &App, viewer: &Viewer, key: TicketKey) -> AppResult<Vec<DelegationView>> {
    let now = app.clock.now_db();
    let tz = viewer.tz;
    let rows = app
        .db
        .read(move |c| {
            let id = key.resolve(c)?;
            delegations::of_ticket(c, id)
        })
        .await?;
    Ok(rows.into_iter().map(|d| view(d, now, tz)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_addresses_round_trip() {
        let a = plus_address("backoffice@sportello.test", "d1a2b3");
        assert_eq!(a, "backoffice+d1a2b3@sportello.test");
        assert_eq!(
            token_in(&[a], "backoffice@sportello.test").as_deref(),
            Some("d1a2b3")
        );
        assert_eq!(
            token_in(
                &["backoffice@sportello.test".into()],
                "backoffice@sportello.test"
            ),
            None
        );
        assert_eq!(
            token_in(
                &["backoffice+x@other.test".into()],
                "backoffice@sportello.test"
            ),
            None
        );
    }

    #[test]
    fn external_references() {
        let p = regex::Regex::new(r"\b[A-Z]{2,5}-\d{3,}\b").unwrap();
        assert_eq!(
            external_ref(&p, "Pratica BO-12345 evasa").as_deref(),
            Some("BO-12345")
        );
        assert_eq!(external_ref(&p, "[#2026-000123] nessun riferimento"), None);
        let p = regex::Regex::new(r"(?i)pratica n\. (\d+)").unwrap();
        assert_eq!(
            external_ref(&p, "Pratica n. 778 chiusa").as_deref(),
            Some("778")
        );
    }
}
