//! Writing outgoing mail to the outbox, inside the transaction of the ticket
//! change that causes it. Each mail gets the ticket tag in its subject, a
//! Message-ID we remember for threading, Reply-To the mailbox, and
//! `Auto-Submitted: auto-replied` when it is automatic.

use chrono::NaiveDateTime;
use rand::RngCore;
use serde_json::json;

use super::templates::Templates;
use crate::config::Config;
use crate::domain::mail::tagged_subject;
use crate::error::AppResult;
use crate::store::mail::{self as mailstore, MailboxRow};
use crate::store::outbox::{self, NewOutbox};
use crate::store::rows::TicketRow;
use crate::store::{contacts, DbConn};

/// Kinds of outgoing mail (also template names).
pub mod kind {
    pub const ACKNOWLEDGEMENT: &str = "acknowledgement";
    pub const REPLY: &str = "reply";
    pub const RESOLUTION: &str = "resolution";
    pub const SERVICE_POINTS: &str = "service_points";
    pub const CALLBACK_BOOKED: &str = "callback_booked";
    pub const CALLBACK_FAILED: &str = "callback_failed";
    pub const SLA_WARNING: &str = "sla_warning";
    pub const SLA_BREACH: &str = "sla_breach";
    pub const PENDING_REMINDER: &str = "pending_reminder";
}

/// Staff read their notices in Italian (a `NAME.en.txt` override can change it).
pub const STAFF_LANGUAGE: &str = "it";

/// Queues a notice to a staff member about a ticket. It is not part of the
/// customer's thread (no ticket tag, no references), and goes out no earlier
/// than `not_before`: notices are held outside opening hours.
pub fn to_staff(
    conn: &mut DbConn,
    out: Outgoing<'_>,
    kind: &'static str,
    ticket: &TicketRow,
    to: &str,
    vars: serde_json::Value,
    not_before: NaiveDateTime,
) -> AppResult<i64> {
    let mut all = json!({
        "number": ticket.number,
        "subject": ticket.subject,
        "desk": out.config.desk_name,
    });
    if let (Some(map), Some(extra)) = (all.as_object_mut(), vars.as_object()) {
        map.extend(extra.clone());
    }
    let rendered = out.templates.render(kind, STAFF_LANGUAGE, &all)?;
    let from = out.config.mail_from.clone();
    outbox::insert(
        conn,
        &NewOutbox {
            ticket_id: Some(ticket.id),
            article_id: None,
            kind: kind.into(),
            mailbox_id: None,
            from_address: from.clone(),
            to_address: to.into(),
            reply_to: None,
            subject: rendered.subject,
            body: rendered.body,
            message_id: new_message_id(&from),
            in_reply_to: None,
            refs: String::new(),
            auto_submitted: true,
            state: "pending".into(),
            next_attempt_at: not_before.max(out.now),
            created_at: out.now,
        },
    )
}

/// What the outbox needs from the application.
#[derive(Clone, Copy)]
pub struct Outgoing<'a> {
    pub config: &'a Config,
    pub templates: &'a Templates,
    pub now: NaiveDateTime,
}

pub struct Compose<'a> {
    pub kind: &'static str,
    pub ticket: &'a TicketRow,
    pub to: String,
    pub language: String,
    pub name: Option<String>,
    pub mailbox: Option<MailboxRow>,
    pub article_id: Option<i64>,
    /// Extra template variables (`body`, `resolution`, `due`…).
    pub vars: serde_json::Value,
    pub automatic: bool,
    /// The Message-IDs the mail answers, oldest first, when the caller knows
    /// them (none for a ticket's first mail); `None`: the ticket's last ones.
    pub thread: Option<Vec<String>>,
    /// The access of a tracking link the mail carries, granted with it.
    pub access: Option<outbox::Access>,
}

fn domain_of(address: &str) -> &str {
    address.rsplit('@').next().unwrap_or("sportello.localhost")
}

pub fn new_message_id(from: &str) -> String {
    let mut bytes = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("sportello.{}@{}", hex::encode(bytes), domain_of(from))
}

/// Renders and queues one mail; returns the outbox id.
pub fn enqueue(conn: &mut DbConn, out: Outgoing<'_>, c: Compose<'_>) -> AppResult<i64> {
    let mut vars = json!({
        "name": c.name,
        "number": c.ticket.number,
        "subject": c.ticket.subject,
        "desk": out.config.desk_name,
    });
    if let (Some(map), Some(extra)) = (vars.as_object_mut(), c.vars.as_object()) {
        map.extend(extra.clone());
    }
    let rendered = out.templates.render(c.kind, &c.language, &vars)?;
    let from = c
        .mailbox
        .as_ref()
        .map(|m| m.address.clone())
        .unwrap_or_else(|| out.config.mail_from.clone());
    let message_id = new_message_id(&from);
    let thread = match c.thread {
        Some(known) => known,
        None => {
            let mut last = outbox::last_message_ids(conn, c.ticket.id, 10)?;
            last.reverse();
            last
        }
    };
    let in_reply_to = thread.last().cloned();
    // The ticket's thread knows the Message-ID, so the answers come back to it.
    outbox::insert_remembered(
        conn,
        &NewOutbox {
            ticket_id: Some(c.ticket.id),
            article_id: c.article_id,
            kind: c.kind.into(),
            mailbox_id: c.mailbox.as_ref().map(|m| m.id),
            from_address: from.clone(),
            to_address: c.to,
            reply_to: Some(from),
            subject: tagged_subject(&c.ticket.number, &rendered.subject),
            body: rendered.body,
            message_id: message_id.clone(),
            in_reply_to,
            refs: thread.join(" "),
            auto_submitted: c.automatic,
            state: "pending".into(),
            next_attempt_at: out.now,
            created_at: out.now,
        },
        c.ticket.id,
        c.access.as_ref(),
    )
}

/// Who a mail to a customer goes to: the address, the name it greets and
/// the language of its template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub address: String,
    pub name: Option<String>,
    pub language: String,
}

/// The customer's address, name and language for mail about a ticket
/// (`None` when the contact has no address that works).
pub fn recipient_of(conn: &mut DbConn, ticket: &TicketRow) -> AppResult<Option<Recipient>> {
    let Some(cid) = ticket.contact_id else {
        return Ok(None);
    };
    let Some((address, name, language)) = contacts::mail_recipient(conn, cid)? else {
        return Ok(None);
    };
    Ok(Some(Recipient {
        address,
        name: (!name.is_empty()).then_some(name),
        language,
    }))
}

/// Queues `kind` to the ticket's customer, from the mailbox the ticket came through.
pub fn to_customer(
    conn: &mut DbConn,
    out: Outgoing<'_>,
    kind: &'static str,
    ticket: &TicketRow,
    article_id: Option<i64>,
    vars: serde_json::Value,
) -> AppResult<Option<i64>> {
    let mailbox = mailstore::mailbox_of_ticket(conn, ticket.id)?;
    customer_mail(conn, out, kind, ticket, article_id, vars, mailbox, None)
}

/// The first mail about a ticket just opened by a message, to its sender
/// (`to`): it goes out from the mailbox the message came through and answers
/// that message (its Message-ID, when it had one, is the whole thread so far).
pub fn to_sender_via(
    conn: &mut DbConn,
    out: Outgoing<'_>,
    kind: &'static str,
    ticket: &TicketRow,
    to: Recipient,
    mailbox: Option<MailboxRow>,
    answers: Option<&str>,
) -> AppResult<i64> {
    let thread = answers.map(str::to_string).into_iter().collect();
    let vars = serde_json::json!({});
    mail_to(
        conn,
        out,
        kind,
        ticket,
        to,
        None,
        vars,
        mailbox,
        Some(thread),
        None,
    )
}

/// The first mail about a ticket that did not come by e-mail (the web form's
/// acknowledgement), to the person who just wrote in, as they gave
/// themselves: the address they typed, the name they gave, the language
/// they chose (the contact's first address or stored language may be
/// others). There is no mailbox of its own and no thread to look up. The
/// `access` of the tracking link it carries is granted with it.
pub fn first_to_customer(
    conn: &mut DbConn,
    out: Outgoing<'_>,
    kind: &'static str,
    ticket: &TicketRow,
    to: Recipient,
    vars: serde_json::Value,
    access: Option<outbox::Access>,
) -> AppResult<i64> {
    let first = Some(vec![]);
    mail_to(conn, out, kind, ticket, to, None, vars, None, first, access)
}

#[allow(clippy::too_many_arguments)]
fn customer_mail(
    conn: &mut DbConn,
    out: Outgoing<'_>,
    kind: &'static str,
    ticket: &TicketRow,
    article_id: Option<i64>,
    vars: serde_json::Value,
    mailbox: Option<MailboxRow>,
    thread: Option<Vec<String>>,
) -> AppResult<Option<i64>> {
    let Some(to) = recipient_of(conn, ticket)? else {
        return Ok(None);
    };
    mail_to(
        conn, out, kind, ticket, to, article_id, vars, mailbox, thread, None,
    )
    .map(Some)
}

/// Queues `kind` about `ticket` to `to`, granting the `access` of a
/// tracking link it carries; only a reply is not automatic.
#[allow(clippy::too_many_arguments)]
fn mail_to(
    conn: &mut DbConn,
    out: Outgoing<'_>,
    kind: &'static str,
    ticket: &TicketRow,
    to: Recipient,
    article_id: Option<i64>,
    vars: serde_json::Value,
    mailbox: Option<MailboxRow>,
    thread: Option<Vec<String>>,
    access: Option<outbox::Access>,
) -> AppResult<i64> {
    enqueue(
        conn,
        out,
        Compose {
            kind,
            ticket,
            to: to.address,
            language: to.language,
            name: to.name,
            mailbox,
            article_id,
            vars,
            automatic: kind != kind::REPLY,
            thread,
            access,
        },
    )
}
