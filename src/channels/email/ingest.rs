//! One ingestion path for every inbound message (IMAP, mailgate, import).
//!
//! A message is processed and journaled in one transaction: it becomes (part
//! of) a ticket, or goes to the review queue with a cause, and its journal
//! entry (under a dedupe key: mailbox + Message-ID) records the raw message
//! and what became of it. A message seen again is recognised by its key.
//! - Processing fails: the transaction is undone and the message is journaled
//!   quarantined in a second one, so it is kept for review.
//! - A crash before the commit leaves nothing; the source has not been told
//!   the message is handled (IMAP flags it, the mailgate answers, only after),
//!   so it delivers it again. A crash after it finds the entry and creates
//!   nothing twice.
//! - Two deliveries of one message at once: the second's entry meets the
//!   first's key and its whole transaction is undone (a duplicate).
//!
//! An entry left `received` (journaled by an earlier version that processed in
//! a second transaction) is processed when its message comes again.

use std::sync::Arc;

use chrono::{Duration, NaiveDateTime};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::delegation;
use super::outbound::{self, Outgoing};
use super::parse::{self, ParsedMail};
use crate::config::Config;
use crate::domain::mail::{robot_reason, strip_prefixes, strip_quoted, ticket_tag};
use crate::domain::workflow::{decide, Action};
use crate::domain::{ArticleKind, Channel, EventKind, TicketState};
use crate::error::{is_unique_violation, AppError, AppResult};
use crate::intake::{self, AttachmentInput, ContactRef, IntakeRequest};
use crate::service::contacts::ContactDetails;
use crate::service::App;
use crate::store::mail::{self as mailstore, InboundMark, MailboxRow, NewInbound};
use crate::store::outbox;
use crate::store::rows::TicketRow;
use crate::store::{catalogue, delegations};
use crate::store::{tickets, DbConn};

/// Where a message came from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    Imap { uid: u32, uidvalidity: u32 },
    Mailgate,
    Import,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Imap { .. } => "imap",
            Source::Mailgate => "mailgate",
            Source::Import => "import",
        }
    }
}

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It opened a ticket (`created`) or was added to one.
    Ticket {
        inbound_id: i64,
        ticket_id: i64,
        created: bool,
    },
    /// It is in the review queue.
    Quarantined { inbound_id: i64, cause: String },
    /// The same message was already ingested from this mailbox.
    Duplicate { inbound_id: i64 },
}

/// Review-queue causes.
pub mod cause {
    pub const MALFORMED: &str = "malformed";
    pub const AUTO_REPLY: &str = "auto_reply";
    pub const BOUNCE: &str = "bounce";
    pub const LOOP: &str = "loop";
    pub const REJECTED: &str = "rejected";
    pub const UNAUTHORISED: &str = "unauthorised_sender";
}

fn dedupe_key(mailbox: Option<&MailboxRow>, message_id: Option<&str>, sha: &str) -> String {
    let scope = mailbox
        .map(|m| format!("mailbox-{}", m.id))
        .unwrap_or_else(|| "gate".into());
    match message_id {
        Some(id) => format!("{scope}:{id}"),
        None => format!("{scope}:sha256:{sha}"),
    }
}

/// Journals and processes one raw message.
pub async fn ingest(
    app: &App,
    mailbox: Option<MailboxRow>,
    source: Source,
    raw: Vec<u8>,
) -> AppResult<Outcome> {
    let sha = hex::encode(Sha256::digest(&raw));
    let parsed = parse::parse(&raw);
    let key = dedupe_key(
        mailbox.as_ref(),
        parsed.as_ref().and_then(|p| p.message_id.as_deref()),
        &sha,
    );
    let now = app.clock.now_db();
    let (uid, uidvalidity) = match source {
        Source::Imap { uid, uidvalidity } => (Some(uid as i64), Some(uidvalidity as i64)),
        _ => (None, None),
    };
    let journal = std::sync::Arc::new(NewInbound {
        mailbox_id: mailbox.as_ref().map(|m| m.id),
        dedupe_key: key.clone(),
        message_id: parsed.as_ref().and_then(|p| p.message_id.clone()),
        source: source.name().into(),
        size: raw.len() as i64,
        raw,
        sha256: sha,
        imap_uid: uid,
        uidvalidity,
        received_at: now,
    });
    let parsed = Arc::new(parsed);
    // Most messages are new, so the journal is not read first: the message
    // is processed and its entry written in one transaction, and a message
    // seen before (a second delivery, an IMAP fetch after a crash) fails on
    // the entry's unique key, which undoes everything it did; below, the
    // journal then says what it is.
    let result = process_once(
        app,
        Journal::New(journal.clone()),
        mailbox.clone(),
        Arc::from(key.as_str()),
        parsed.clone(),
        Release::No,
        now,
    )
    .await;
    let error = match result {
        Ok(outcome) => return Ok(outcome),
        Err(e) => e,
    };
    if is_unique_violation(&error) {
        let found = {
            let key = key.clone();
            app.db
                .read(move |c| mailstore::inbound_by_key(c, &key))
                .await?
        };
        match found {
            // Journaled by an earlier version, which processed in a second
            // transaction that did not happen: process it now.
            Some(existing) if existing.status == "received" => {
                let parsed = Arc::unwrap_or_clone(parsed);
                return process(app, existing.id, mailbox, parsed, key, Release::No).await;
            }
            // Seen before, or two deliveries raced and the other one won.
            Some(existing) => {
                return Ok(Outcome::Duplicate {
                    inbound_id: existing.id,
                })
            }
            None => {}
        }
    }
    // Whatever else went wrong, the message is kept and shown for review.
    let detail = error.to_string();
    tracing::warn!(key = %key, error = %detail, "inbound message quarantined");
    let written = app
        .db
        .write(move |c| {
            let mark = quarantined(&detail, now);
            match mailstore::inbound_by_key(c, &journal.dedupe_key)? {
                Some(existing) if existing.status == "received" => {
                    mailstore::mark_inbound(c, existing.id, &mark)?;
                    Ok(Outcome::Quarantined {
                        inbound_id: existing.id,
                        cause: cause::REJECTED.into(),
                    })
                }
                Some(existing) => Ok(Outcome::Duplicate {
                    inbound_id: existing.id,
                }),
                None => Ok(Outcome::Quarantined {
                    inbound_id: mailstore::insert_inbound_marked(c, &journal, &mark)?,
                    cause: cause::REJECTED.into(),
                }),
            }
        })
        .await;
    match written {
        Err(e) if is_unique_violation(&e) => Ok(Outcome::Duplicate {
            inbound_id: journaled(app, &key).await?.unwrap_or(0),
        }),
        other => other,
    }
}

/// The journal entry under `key`, as committed (after a race on it).
async fn journaled(app: &App, key: &str) -> AppResult<Option<i64>> {
    let key = key.to_string();
    let entry = app
        .db
        .read(move |c| mailstore::inbound_by_key(c, &key))
        .await?;
    Ok(entry.map(|e| e.id))
}

/// How a message that could not be processed is recorded.
fn quarantined(detail: &str, now: NaiveDateTime) -> InboundMark<'_> {
    InboundMark {
        status: "quarantined",
        cause: Some(cause::REJECTED),
        detail: Some(detail),
        ticket_id: None,
        article_id: None,
        from: None,
        subject: None,
        at: now,
    }
}

/// The journal entry of a message to process, as [`process_once`] gets it.
#[derive(Clone)]
enum Journal {
    /// To be written with what became of the message.
    New(Arc<NewInbound>),
    /// Written already.
    Entry(i64),
}

/// Processes a message in one write transaction, and once more with the
/// catalogue read when the pool's copy of it let a message from a mailbox
/// of ours through.
async fn process_once(
    app: &App,
    journal: Journal,
    mailbox: Option<MailboxRow>,
    key: Arc<str>,
    parsed: Arc<Option<ParsedMail>>,
    release: Release,
    now: NaiveDateTime,
) -> AppResult<Outcome> {
    let mut fresh = false;
    loop {
        let (config, templates) = (app.config.clone(), app.templates.clone());
        let (j, mb, k, p) = (
            journal.clone(),
            mailbox.clone(),
            key.clone(),
            parsed.clone(),
        );
        let result = app
            .db
            .write(move |c| {
                let out = Outgoing {
                    config: &config,
                    templates: &templates,
                    now,
                };
                let entry = match &j {
                    Journal::New(new) => Entry::New(new),
                    Journal::Entry(id) => Entry::Journaled(*id),
                };
                Ctx::read(c, entry, mb.as_ref(), &k, out, release, fresh)?
                    .process_in(c, p.as_ref().as_ref())
            })
            .await;
        match result {
            Err(e) if !fresh && is_own_mailbox(&e) => fresh = true,
            other => return other,
        }
    }
}

/// A message checked against the pool's copy of the catalogue turned out
/// to come from a mailbox of ours added since: processed again with the
/// catalogue read ([`Ctx::read`]'s `fresh`), it is quarantined as a loop.
const OWN_MAILBOX: &str = "own-mailbox";

/// Whether `from` is the address of one of the catalogue's mailboxes.
fn own_address(cat: &catalogue::Snapshot, from: &str) -> bool {
    cat.mailbox_addresses
        .iter()
        .any(|a| a.eq_ignore_ascii_case(from))
}

fn is_own_mailbox(e: &AppError) -> bool {
    matches!(e, AppError::Conflict { code, .. } if *code == OWN_MAILBOX)
}

/// How a journaled message is (re)processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Normal ingestion: robots and loops go to review.
    No,
    /// An agent releases it from review: process it as a person's message.
    Force,
    /// An agent releases it into this ticket.
    Into(i64),
}

/// Processes a journaled message again; `release` lets an agent release a
/// robot's message from the review queue into a ticket.
pub async fn process(
    app: &App,
    inbound_id: i64,
    mailbox: Option<MailboxRow>,
    parsed: Option<ParsedMail>,
    key: String,
    release: Release,
) -> AppResult<Outcome> {
    let now = app.clock.now_db();
    let (entry, key) = (Journal::Entry(inbound_id), Arc::from(key));
    let result = process_once(app, entry, mailbox, key, Arc::new(parsed), release, now).await;
    match result {
        Ok(o) => Ok(o),
        // Whatever went wrong, the message is kept and shown for review.
        Err(e) => {
            let detail = e.to_string();
            tracing::warn!(inbound_id, error = %detail, "inbound message quarantined");
            app.db
                .write(move |c| mailstore::mark_inbound(c, inbound_id, &quarantined(&detail, now)))
                .await?;
            Ok(Outcome::Quarantined {
                inbound_id,
                cause: cause::REJECTED.into(),
            })
        }
    }
}

/// The journal entry of the message being processed.
enum Entry<'a> {
    /// Already journaled (released from review, or left `received`): its
    /// entry is marked.
    Journaled(i64),
    /// Not yet journaled: the entry is written, marked, once the message is
    /// processed, in the same transaction.
    New(&'a NewInbound),
}

struct Ctx<'a> {
    entry: Entry<'a>,
    /// The catalogue the message is checked against (our own addresses):
    /// the pool's copy when it has one (`assumed`), whose version is not
    /// read, else read in this transaction. See [`Ctx::is_own`].
    catalogue: Arc<catalogue::Snapshot>,
    assumed: bool,
    mailbox: Option<&'a MailboxRow>,
    key: &'a str,
    now: NaiveDateTime,
    config: &'a Config,
    out: Outgoing<'a>,
    release: Release,
}

impl<'a> Ctx<'a> {
    /// The context of one message, with the pool's copy of the catalogue (or,
    /// before the pool has one or when `fresh`, the catalogue as this
    /// transaction sees it).
    fn read(
        c: &mut DbConn,
        entry: Entry<'a>,
        mailbox: Option<&'a MailboxRow>,
        key: &'a str,
        out: Outgoing<'a>,
        release: Release,
        fresh: bool,
    ) -> AppResult<Self> {
        let (catalogue, assumed) = match catalogue::assumed().filter(|_| !fresh) {
            Some(held) => (held, true),
            None => (catalogue::snapshot(c)?, false),
        };
        Ok(Ctx {
            entry,
            catalogue,
            assumed,
            mailbox,
            key,
            now: out.now,
            config: out.config,
            out,
            release,
        })
    }

    /// Whether `from` is one of our own mailboxes (a loop). The pool's copy
    /// of the catalogue is trusted to say no as long as the catalogue is
    /// still at its version: a new ticket's INSERT confirms that version,
    /// a message added to a ticket reads the catalogue (see [`Ctx::apply`]);
    /// a yes is confirmed before a message is quarantined for it, and
    /// `confirm` asks the catalogue in any case.
    fn is_own(&self, c: &mut DbConn, from: &str, confirm: bool) -> AppResult<bool> {
        let held = own_address(&self.catalogue, from);
        if !self.assumed || (!held && !confirm) {
            return Ok(held);
        }
        Ok(own_address(&*catalogue::snapshot(c)?, from))
    }

    /// The key that makes intake apply this message once. A message not yet
    /// journaled needs none: its journal entry, unique by its dedupe key, is
    /// written in this transaction, so a second delivery finds it or fails
    /// on it. A journaled one (released from review, or left `received`) has
    /// its entry already, and two agents may release it at once.
    fn intake_key(&self) -> Option<String> {
        match self.entry {
            Entry::New(_) => None,
            Entry::Journaled(_) => Some(self.key.to_string()),
        }
    }

    /// Records what became of the message in its journal entry; its id.
    fn record(&self, c: &mut DbConn, mark: &InboundMark) -> AppResult<i64> {
        match self.entry {
            Entry::Journaled(id) => {
                mailstore::mark_inbound(c, id, mark)?;
                Ok(id)
            }
            Entry::New(journal) => mailstore::insert_inbound_marked(c, journal, mark),
        }
    }

    fn quarantine(
        &self,
        c: &mut DbConn,
        cause: &str,
        detail: &str,
        ticket: Option<i64>,
        mail: Option<&ParsedMail>,
    ) -> AppResult<Outcome> {
        let inbound_id = self.record(
            c,
            &InboundMark {
                status: "quarantined",
                cause: Some(cause),
                detail: Some(detail),
                ticket_id: ticket,
                article_id: None,
                from: mail.and_then(|m| m.from_address.as_deref()),
                subject: mail.map(|m| m.subject.as_str()),
                at: self.now,
            },
        )?;
        Ok(Outcome::Quarantined {
            inbound_id,
            cause: cause.into(),
        })
    }

    fn process_in(&self, c: &mut DbConn, parsed: Option<&ParsedMail>) -> AppResult<Outcome> {
        let Some(mail) = parsed else {
            return self.quarantine(
                c,
                cause::MALFORMED,
                "not a readable e-mail message",
                None,
                None,
            );
        };
        let Some(from) = mail.from_address.clone().filter(|f| f.contains('@')) else {
            return self.quarantine(
                c,
                cause::MALFORMED,
                "the message has no sender address",
                None,
                Some(mail),
            );
        };
        if self.release == Release::No && self.is_own(c, &from, false)? {
            return self.quarantine(
                c,
                cause::LOOP,
                "sent from one of our own mailboxes",
                None,
                Some(mail),
            );
        }
        if let (Some(b), Release::No) = (&mail.bounce, self.release) {
            return self.bounce(c, mail, b);
        }
        if self.release == Release::No {
            if let Some(reason) = robot_reason(&mail.robot) {
                return self.quarantine(c, cause::AUTO_REPLY, reason, None, Some(mail));
            }
        }
        if let (Some(mb), Release::No) = (self.mailbox, self.release) {
            if mb.purpose == "delegation" {
                return self.delegation_mail(c, mb, mail, &from);
            }
        }

        let existing = match self.release {
            Release::Into(t) => {
                Some(tickets::find(c, t)?.ok_or_else(|| AppError::not_found("ticket"))?)
            }
            _ => self.thread(c, mail)?,
        };
        let (ticket_id, follow_up_of) = match existing {
            Some(row) => {
                let t = row.id;
                let closed_long_ago = !matches!(self.release, Release::Into(_))
                    && row.state == TicketState::Closed.as_str()
                    && row.closed_at.is_some_and(|at| {
                        at < self.now - Duration::days(self.config.mail_reopen_days)
                    });
                if closed_long_ago {
                    (None, Some(t))
                } else {
                    (Some(t), None)
                }
            }
            None => (None, None),
        };
        let (outcome, ticket) = self.apply(c, mail, &from, ticket_id, true)?;
        if let Some(old) = follow_up_of {
            tickets::insert_link(c, outcome.ticket_id, old, "follow_up", self.now)?;
            intake::event(
                c,
                outcome.ticket_id,
                EventKind::Linked,
                None,
                json!({"ticket": old, "kind": "follow_up", "reason": "reply to a ticket closed long ago"}),
                self.now,
            )?;
        }
        self.finish(c, mail, &from, outcome, ticket.as_ref())
    }

    /// Links siblings, remembers the Message-ID, marks the journal entry and
    /// acknowledges a new request; all in the ingestion transaction.
    fn finish(
        &self,
        c: &mut DbConn,
        mail: &ParsedMail,
        from: &str,
        outcome: intake::IntakeOutcome,
        ticket: Option<&TicketRow>,
    ) -> AppResult<Outcome> {
        let mark = InboundMark {
            status: "ingested",
            cause: None,
            detail: None,
            ticket_id: Some(outcome.ticket_id),
            article_id: Some(outcome.article_id),
            from: Some(from),
            subject: Some(&mail.subject),
            at: self.now,
        };
        let mailbox = self.mailbox.map(|m| m.id);
        let thread = mail
            .message_id
            .as_deref()
            .map(|mid| mailstore::ThreadEntry {
                message_id: mid,
                ticket_id: outcome.ticket_id,
                mailbox_id: mailbox,
                opened: outcome.created,
            });
        // A new ticket is acknowledged when a person wrote to an intake
        // mailbox (or the mailgate); a new ticket always comes with its row
        // (only a replay has none).
        let intake_mailbox = self.mailbox.is_none_or(|m| m.purpose == "intake");
        let acknowledged = match (ticket, outcome.created, self.release, intake_mailbox) {
            (Some(t), true, Release::No, true) => t.contact_id.map(|contact| (t, contact)),
            _ => None,
        };
        let question = acknowledged.map(|(_, contact_id)| outbox::AckQuestion {
            to: from,
            kind: outbound::kind::ACKNOWLEDGEMENT,
            since: self.now - Duration::hours(1),
            contact_id,
        });
        // The journal entry, the Message-ID and what the acknowledgement
        // must know: one statement for a new message.
        let (inbound_id, earlier, answer) = match (&thread, &self.entry) {
            (Some(t), Entry::New(journal)) => {
                mailstore::journal_with_thread(c, journal, &mark, t, question.as_ref())?
            }
            (Some(t), Entry::Journaled(_)) => {
                let earlier = mailstore::remember_thread(c, t, self.now)?;
                (self.record(c, &mark)?, earlier, None)
            }
            (None, _) => (self.record(c, &mark)?, vec![], None),
        };
        // Tickets opened from the same message in other mailboxes are its siblings.
        for sibling in earlier {
            if sibling != outcome.ticket_id
                && tickets::insert_link(c, outcome.ticket_id, sibling, "sibling", self.now)?
            {
                let data = json!({"ticket": sibling, "kind": "sibling"});
                intake::event(
                    c,
                    outcome.ticket_id,
                    EventKind::Linked,
                    None,
                    data,
                    self.now,
                )?;
            }
        }
        // After the journal names the ticket, so the mail goes out from this mailbox.
        if let (Some((ticket, _)), Some(question)) = (acknowledged, &question) {
            let answer = match answer {
                Some(known) => known,
                None => outbox::ack_answer(c, question)?,
            };
            self.acknowledge(c, ticket, from, mail.message_id.as_deref(), answer)?;
        }
        Ok(Outcome::Ticket {
            inbound_id,
            ticket_id: outcome.ticket_id,
            created: outcome.created,
        })
    }

    /// Mail to the delegation mailbox: a back-office answer to a delegation, a
    /// task from an authorised second-level sender, or a stranger (review).
    fn delegation_mail(
        &self,
        c: &mut DbConn,
        mb: &MailboxRow,
        mail: &ParsedMail,
        from: &str,
    ) -> AppResult<Outcome> {
        let text = format!("{}\n{}", mail.subject, mail.text);
        let reference = delegation::external_ref(&self.config.backoffice_ref_pattern, &text);
        let mut recipients = mail.to.clone();
        recipients.extend(mail.cc.iter().cloned());
        recipients.extend(mail.delivered_to.iter().cloned());
        let mut found = match delegation::token_in(&recipients, &mb.address) {
            Some(token) => delegations::by_token(c, &token)?,
            None => None,
        };
        if found.is_none() {
            if let Some(ticket) = self.thread(c, mail)? {
                found = delegations::latest_of_ticket(c, ticket.id)?;
            }
        }
        if found.is_none() {
            if let Some(r) = &reference {
                found = delegations::by_external_ref(c, r)?;
            }
        }
        let Some(d) = found else {
            let authorised = mb
                .authorised_senders
                .split([',', ' ', '\n'])
                .any(|a| !a.is_empty() && a.trim().eq_ignore_ascii_case(from));
            if !authorised {
                return self.quarantine(
                    c,
                    cause::UNAUTHORISED,
                    "not an authorised sender for back-office tasks",
                    None,
                    Some(mail),
                );
            }
            let (outcome, ticket) = self.apply(c, mail, from, None, true)?;
            return self.finish(c, mail, from, outcome, ticket.as_ref());
        };
        // The answer is internal: the customer never sees back-office mail.
        let (outcome, _) = self.apply(c, mail, from, Some(d.ticket_id), false)?;
        let mut ticket =
            tickets::lock(c, outcome.ticket_id)?.ok_or_else(|| AppError::not_found("ticket"))?;
        let state = TicketState::parse(&ticket.state).unwrap_or(TicketState::Open);
        let data = json!({"delegation": d.id, "from": from, "external_ref": reference, "back_to_queue": d.queue_id});
        intake::event(
            c,
            ticket.id,
            EventKind::DelegationAnswered,
            None,
            data,
            self.now,
        )?;
        if state == TicketState::PendingThirdParty {
            let next = decide(state, Action::SetState(TicketState::Open))?;
            intake::event(
                c,
                ticket.id,
                EventKind::StateChanged,
                None,
                json!({"from": state, "to": next, "reason": "back office answered"}),
                self.now,
            )?;
            ticket.state = next.as_str().into();
        }
        if ticket.queue_id != d.queue_id {
            ticket.queue_id = d.queue_id;
        }
        ticket.updated_at = self.now;
        tickets::save(c, ticket.id, &ticket.changes())?;
        crate::service::sla::track(
            c,
            &self.config.calendar(),
            &ticket,
            Some(state),
            crate::service::sla::Message::None,
            None,
            self.now,
        )?;
        delegations::answered(
            c,
            d.id,
            reference.as_deref().or(d.external_ref.as_deref()),
            self.now,
        )?;
        self.finish(c, mail, from, outcome, None)
    }

    /// Tells the person who wrote that their request was registered, at the
    /// address they wrote from, by their contact's name and in their
    /// language (`answer`), unless they already got too many
    /// acknowledgements this hour (a mail loop with a person's address). The
    /// ticket was just opened by this message, so it goes out from this
    /// message's mailbox (no lookup).
    fn acknowledge(
        &self,
        c: &mut DbConn,
        ticket: &TicketRow,
        from: &str,
        answers: Option<&str>,
        answer: outbox::AckAnswer,
    ) -> AppResult<()> {
        if answer.sent >= self.config.ack_limit_per_hour {
            tracing::info!(
                ticket_id = ticket.id,
                "acknowledgement rate limit reached; none sent"
            );
            return Ok(());
        }
        let Some((name, language)) = answer.contact else {
            return Ok(());
        };
        outbound::to_sender_via(
            c,
            self.out,
            outbound::kind::ACKNOWLEDGEMENT,
            ticket,
            outbound::Recipient {
                address: from.to_string(),
                name: (!name.is_empty()).then_some(name),
                language,
            },
            self.mailbox.cloned(),
            answers,
        )?;
        Ok(())
    }

    /// The ticket a message belongs to: its subject tag, else a Message-ID it answers.
    fn thread(&self, c: &mut DbConn, mail: &ParsedMail) -> AppResult<Option<TicketRow>> {
        if let Some(number) = ticket_tag(&mail.subject) {
            if let Some(t) = tickets::find_by_number(c, &number)? {
                return Ok(Some(t));
            }
        }
        let mut ids: Vec<String> = mail.in_reply_to.clone();
        ids.extend(mail.references.iter().cloned());
        mailstore::ticket_row_of_any(c, &ids)
    }

    fn attachments(&self, mail: &ParsedMail) -> (Vec<AttachmentInput>, Vec<String>) {
        let mut kept = Vec::new();
        let mut dropped = Vec::new();
        for a in &mail.attachments {
            if a.data.len() > self.config.max_attachment_bytes {
                dropped.push(format!("{} ({} bytes)", a.filename, a.data.len()));
            } else {
                kept.push(AttachmentInput {
                    filename: a.filename.clone(),
                    content_type: a.content_type.clone(),
                    data: a.data.clone(),
                });
            }
        }
        (kept, dropped)
    }

    fn apply(
        &self,
        c: &mut DbConn,
        mail: &ParsedMail,
        from: &str,
        ticket_id: Option<i64>,
        public: bool,
    ) -> AppResult<(intake::IntakeOutcome, Option<TicketRow>)> {
        let (attachments, dropped) = self.attachments(mail);
        let mut body = if ticket_id.is_some() {
            strip_quoted(&mail.text)
        } else {
            mail.text.trim().to_string()
        };
        if body.trim().is_empty() {
            body = "(no text)".into();
        }
        if !dropped.is_empty() {
            body.push_str(&format!(
                "\n\n[Over the attachment size limit, kept only in the original message: {}]",
                dropped.join(", ")
            ));
        }
        let subject = strip_prefixes(&mail.subject);
        let subject: String = if subject.is_empty() {
            "(no subject)".into()
        } else {
            subject.chars().take(250).collect()
        };
        let req = IntakeRequest {
            channel: Channel::Email,
            contact: ContactRef::Details(ContactDetails {
                name: mail
                    .from_name
                    .clone()
                    .map(|n| n.chars().take(200).collect()),
                email: Some(from.to_string()),
                ..Default::default()
            }),
            topic_id: None,
            subject_id: None,
            queue_id: self.mailbox.map(|m| m.queue_id),
            subject,
            body,
            priority: None,
            attachments,
            idempotency_key: self.intake_key(),
            ticket_id,
            author_agent_id: None,
            article_kind: ArticleKind::Inbound,
            public,
            html: mail.html.clone(),
            fields: None,
        };
        let prepared = match intake::prepare(req.clone(), self.config.max_attachment_bytes) {
            Ok(p) => p,
            // A sender address the registry refuses must not lose the message: keep it without a contact.
            Err(AppError::Invalid { field: Some(f), .. }) if f.starts_with("contact") => {
                intake::prepare(
                    IntakeRequest {
                        contact: ContactRef::Unknown,
                        ..req
                    },
                    self.config.max_attachment_bytes,
                )?
            }
            Err(e) => return Err(e),
        };
        // The own addresses were checked against the pool's copy: a message
        // added to a ticket checks them again with the catalogue read here
        // (then also at hand for the ticket's clocks); a new ticket is routed with
        // that copy, which its INSERT confirms (intake reads the catalogue
        // and routes again when it changed: then they are checked again).
        // Found so, the message is processed again with the catalogue read.
        let own_mailbox = || {
            AppError::conflict(
                OWN_MAILBOX,
                "sent from one of our own mailboxes, added as the message came in",
            )
        };
        let checked = self.assumed && self.release == Release::No;
        let given = match (self.assumed, ticket_id, checked) {
            (false, _, _) => Some(self.catalogue.clone()),
            // Read in this transaction, it also serves the ticket's clocks.
            (true, Some(_), true) => {
                let current = catalogue::snapshot(c)?;
                if own_address(&current, from) {
                    return Err(own_mailbox());
                }
                Some(current)
            }
            (true, _, _) => None,
        };
        let applied = intake::apply_with(c, &prepared, self.now, &self.config.calendar(), given)?;
        let moved = catalogue::assumed().is_none_or(|c| c.version != self.catalogue.version);
        if checked && applied.0.created && moved && self.is_own(c, from, true)? {
            return Err(own_mailbox());
        }
        Ok(applied)
    }

    fn bounce(&self, c: &mut DbConn, mail: &ParsedMail, b: &parse::Bounce) -> AppResult<Outcome> {
        for r in &b.recipients {
            mailstore::flag_bounced(c, r, self.now)?;
        }
        let ticket = match &b.original_message_id {
            Some(mid) => mailstore::ticket_of_any(c, std::slice::from_ref(mid))?,
            None => None,
        };
        let detail = format!(
            "delivery failed for {} (status {})",
            if b.recipients.is_empty() {
                "an unknown recipient".to_string()
            } else {
                b.recipients.join(", ")
            },
            b.status.as_deref().unwrap_or("unknown")
        );
        if let Some(t) = ticket {
            let note = IntakeRequest {
                channel: Channel::Email,
                contact: ContactRef::Unknown,
                topic_id: None,
                subject_id: None,
                queue_id: None,
                subject: String::new(),
                body: format!("Bounce: {detail}.\n\n{}", mail.text.trim()),
                priority: None,
                attachments: vec![],
                idempotency_key: self.intake_key(),
                ticket_id: Some(t),
                author_agent_id: None,
                article_kind: ArticleKind::Note,
                public: false,
                html: None,
                fields: None,
            };
            intake::apply(
                c,
                &intake::prepare(note, self.config.max_attachment_bytes)?,
                self.now,
                &self.config.calendar(),
            )?;
        }
        self.quarantine(c, cause::BOUNCE, &detail, ticket, Some(mail))
    }
}
