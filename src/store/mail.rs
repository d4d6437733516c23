//! Mailboxes, the inbound journal (which is also the review queue) and the
//! Message-IDs that thread mail to tickets.

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::outbox::{self, AckAnswer, AckQuestion};
use super::schema::{contact_emails, inbound_messages, mail_polls, mail_threads, mailboxes};
use super::DbConn;
use crate::error::AppResult;

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = mailboxes)]
pub struct MailboxRow {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub purpose: String,
    pub queue_id: i64,
    pub imap_host: Option<String>,
    pub imap_port: Option<i32>,
    pub imap_tls: String,
    pub imap_user: Option<String>,
    pub imap_password: Option<String>,
    pub folder: String,
    pub processed_action: String,
    pub processed_folder: Option<String>,
    pub authorised_senders: String,
    pub uidvalidity: Option<i64>,
    pub last_uid: i64,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

/// Never shows the IMAP password (logs, panics).
impl std::fmt::Debug for MailboxRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailboxRow")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("address", &self.address)
            .field("imap_host", &self.imap_host)
            .field("imap_user", &self.imap_user)
            .field("imap_password", &self.imap_password.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = mailboxes, treat_none_as_null = true)]
pub struct MailboxFields {
    pub name: String,
    pub address: String,
    pub purpose: String,
    pub queue_id: i64,
    pub imap_host: Option<String>,
    pub imap_port: Option<i32>,
    pub imap_tls: String,
    pub imap_user: Option<String>,
    pub imap_password: Option<String>,
    pub folder: String,
    pub processed_action: String,
    pub processed_folder: Option<String>,
    pub authorised_senders: String,
    pub active: bool,
}

pub fn insert_mailbox(conn: &mut DbConn, f: &MailboxFields, now: NaiveDateTime) -> AppResult<i64> {
    Ok(diesel::insert_into(mailboxes::table)
        .values((f, mailboxes::created_at.eq(now)))
        .returning(mailboxes::id)
        .get_result(conn)?)
}

pub fn update_mailbox(conn: &mut DbConn, id: i64, f: &MailboxFields) -> AppResult<()> {
    diesel::update(mailboxes::table.find(id))
        .set(f)
        .execute(conn)?;
    Ok(())
}

pub fn mailbox(conn: &mut DbConn, id: i64) -> AppResult<Option<MailboxRow>> {
    Ok(mailboxes::table
        .find(id)
        .select(MailboxRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn mailbox_by_name(conn: &mut DbConn, name: &str) -> AppResult<Option<MailboxRow>> {
    Ok(mailboxes::table
        .filter(mailboxes::name.eq(name))
        .select(MailboxRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn mailboxes(conn: &mut DbConn) -> AppResult<Vec<MailboxRow>> {
    Ok(mailboxes::table
        .order(mailboxes::id)
        .select(MailboxRow::as_select())
        .load(conn)?)
}

/// The mailbox a ticket's mail came through (its first inbound message's).
pub fn mailbox_of_ticket(conn: &mut DbConn, ticket_id: i64) -> AppResult<Option<MailboxRow>> {
    let id: Option<Option<i64>> = inbound_messages::table
        .filter(inbound_messages::ticket_id.eq(ticket_id))
        .filter(inbound_messages::mailbox_id.is_not_null())
        .order(inbound_messages::id)
        .select(inbound_messages::mailbox_id)
        .first(conn)
        .optional()?;
    match id.flatten() {
        Some(id) => mailbox(conn, id),
        None => Ok(None),
    }
}

/// Every address Sportello receives mail at (to recognise its own mail coming back).
pub fn own_addresses(conn: &mut DbConn) -> AppResult<Vec<String>> {
    Ok(mailboxes::table.select(mailboxes::address).load(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = inbound_messages)]
pub struct InboundRow {
    pub id: i64,
    pub mailbox_id: Option<i64>,
    pub dedupe_key: String,
    pub message_id: Option<String>,
    pub source: String,
    pub size: i64,
    pub sha256: String,
    pub from_address: Option<String>,
    pub subject: Option<String>,
    pub status: String,
    pub cause: Option<String>,
    pub detail: Option<String>,
    pub ticket_id: Option<i64>,
    pub article_id: Option<i64>,
    pub received_at: NaiveDateTime,
    pub processed_at: Option<NaiveDateTime>,
}

/// Inserted through [`bound_values!`](crate::bound_values), which keeps the statement prepared.
#[derive(Debug)]
pub struct NewInbound {
    pub mailbox_id: Option<i64>,
    pub dedupe_key: String,
    pub message_id: Option<String>,
    pub source: String,
    pub raw: Vec<u8>,
    pub size: i64,
    pub sha256: String,
    pub imap_uid: Option<i64>,
    pub uidvalidity: Option<i64>,
    pub received_at: NaiveDateTime,
}

pub fn inbound_by_key(conn: &mut DbConn, key: &str) -> AppResult<Option<InboundRow>> {
    Ok(inbound_messages::table
        .filter(inbound_messages::dedupe_key.eq(key))
        .select(InboundRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn inbound(conn: &mut DbConn, id: i64) -> AppResult<Option<InboundRow>> {
    Ok(inbound_messages::table
        .find(id)
        .select(InboundRow::as_select())
        .first(conn)
        .optional()?)
}

/// The raw message an article was made from, if it came by mail.
pub fn raw_of_article(conn: &mut DbConn, article_id: i64) -> AppResult<Option<Vec<u8>>> {
    Ok(inbound_messages::table
        .filter(inbound_messages::article_id.eq(article_id))
        .select(inbound_messages::raw)
        .first(conn)
        .optional()?)
}

pub fn inbound_raw(conn: &mut DbConn, id: i64) -> AppResult<Option<Vec<u8>>> {
    Ok(inbound_messages::table
        .find(id)
        .select(inbound_messages::raw)
        .first(conn)
        .optional()?)
}

/// Records what became of a journaled message.
#[allow(clippy::too_many_arguments)]
/// What became of a journaled message, as its entry records it.
#[derive(Debug, Clone, Copy)]
pub struct InboundMark<'a> {
    pub status: &'a str,
    pub cause: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub ticket_id: Option<i64>,
    pub article_id: Option<i64>,
    pub from: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub at: NaiveDateTime,
}

/// A mark's columns, for the update of an entry and the insert of a new one.
macro_rules! mark_values {
    ($m:expr) => {
        (
            inbound_messages::status.eq($m.status),
            inbound_messages::cause.eq($m.cause),
            inbound_messages::detail.eq($m.detail),
            inbound_messages::ticket_id.eq($m.ticket_id),
            inbound_messages::article_id.eq($m.article_id),
            inbound_messages::from_address.eq($m.from),
            inbound_messages::subject.eq($m.subject),
            inbound_messages::processed_at.eq($m.at),
        )
    };
}

pub fn mark_inbound(conn: &mut DbConn, id: i64, m: &InboundMark) -> AppResult<()> {
    diesel::update(inbound_messages::table.find(id))
        .set(mark_values!(m))
        .execute(conn)?;
    Ok(())
}

/// Journals a message already processed, with what became of it (a message
/// processed again later has its entry marked by [`mark_inbound`]).
pub fn insert_inbound_marked(
    conn: &mut DbConn,
    new: &NewInbound,
    m: &InboundMark,
) -> AppResult<i64> {
    let journal = crate::bound_values!(
        inbound_messages,
        new,
        [
            mailbox_id,
            dedupe_key,
            message_id,
            source,
            raw,
            size,
            sha256,
            imap_uid,
            uidvalidity,
            received_at,
        ]
    );
    Ok(diesel::insert_into(inbound_messages::table)
        .values((journal, mark_values!(m)))
        .returning(inbound_messages::id)
        .get_result(conn)?)
}

/// A message's Message-ID and the ticket it went to, to remember.
pub struct ThreadEntry<'a> {
    pub message_id: &'a str,
    pub ticket_id: i64,
    pub mailbox_id: Option<i64>,
    /// The message opened the ticket (which cannot know it yet).
    pub opened: bool,
}

/// Journals a message just processed ([`insert_inbound_marked`]) and
/// remembers its Message-ID for the ticket it went to, unless the ticket
/// has it ([`remember_message`]); returns the entry's id and, for a message
/// that opened its ticket, the tickets it opened before (the same mail to
/// another mailbox: siblings), and the answer to `ack` (what the message's
/// acknowledgement must know: [`outbox::ack_answer`]). One statement on
/// PostgreSQL.
pub fn journal_with_thread(
    conn: &mut DbConn,
    new: &NewInbound,
    m: &InboundMark,
    thread: &ThreadEntry,
    ack: Option<&AckQuestion>,
) -> AppResult<(i64, Vec<i64>, Option<AckAnswer>)> {
    match conn {
        DbConn::Postgresql(c) => {
            let (id, mut earlier, sent, name, language): JournalRow = JournalWithThread {
                new,
                m,
                thread,
                ack: (
                    ack.map(|q| q.contact_id),
                    ack.map(|q| q.to),
                    ack.map(|q| q.kind),
                    ack.map(|q| q.since),
                ),
            }
            .get_result(c)?;
            if !thread.opened {
                earlier.clear();
            }
            let answer = ack.map(|_| AckAnswer {
                sent,
                contact: name.zip(language),
            });
            Ok((id, earlier, answer))
        }
        DbConn::Sqlite(_) => {
            let earlier = remember_thread(conn, thread, m.at)?;
            let id = insert_inbound_marked(conn, new, m)?;
            let answer = ack.map(|q| outbox::ack_answer(conn, q)).transpose()?;
            Ok((id, earlier, answer))
        }
    }
}

type JournalRow = (i64, Vec<i64>, i64, Option<String>, Option<String>);

/// Remembers a message's Message-ID for its ticket
/// ([`remember_opening_message`] or [`remember_message`]); the tickets it
/// opened before when it opened this one.
pub fn remember_thread(
    conn: &mut DbConn,
    t: &ThreadEntry,
    now: NaiveDateTime,
) -> AppResult<Vec<i64>> {
    if t.opened {
        return remember_opening_message(conn, t.message_id, t.ticket_id, t.mailbox_id, now);
    }
    remember_message(conn, t.message_id, t.ticket_id, "in", t.mailbox_id, now)?;
    Ok(vec![])
}

/// The statement of [`journal_with_thread`] on PostgreSQL. The tickets of
/// the Message-ID are read from the snapshot before the new thread entry.
struct JournalWithThread<'a> {
    new: &'a NewInbound,
    m: &'a InboundMark<'a>,
    thread: &'a ThreadEntry<'a>,
    /// The acknowledgement's question, bound as its parts (NULL: none asked).
    ack: (
        Option<i64>,
        Option<&'a str>,
        Option<&'a str>,
        Option<NaiveDateTime>,
    ),
}

crate::fixed_pg_statement!(
    JournalWithThread<'_>,
    (
        BigInt,
        diesel::sql_types::Array<BigInt>,
        BigInt,
        Nullable<Text>,
        Nullable<Text>
    )
);

impl QueryFragment<Pg> for JournalWithThread<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        use diesel::sql_types::Binary;
        let (n, m, t) = (self.new, self.m, self.thread);
        out.push_sql(
            "WITH j AS (INSERT INTO inbound_messages (mailbox_id, dedupe_key, message_id, \
             source, raw, size, sha256, imap_uid, uidvalidity, received_at, status, cause, \
             detail, ticket_id, article_id, from_address, subject, processed_at) VALUES (",
        );
        out.push_bind_param::<Nullable<BigInt>, _>(&n.mailbox_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&n.dedupe_key)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&n.message_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&n.source)?;
        out.push_sql(", ");
        out.push_bind_param::<Binary, _>(&n.raw)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&n.size)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&n.sha256)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<BigInt>, _>(&n.imap_uid)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<BigInt>, _>(&n.uidvalidity)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&n.received_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&m.status)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&m.cause)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&m.detail)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<BigInt>, _>(&m.ticket_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<BigInt>, _>(&m.article_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&m.from)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&m.subject)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&m.at)?;
        // $19 the Message-ID.
        out.push_sql(
            ") RETURNING id), t AS (INSERT INTO mail_threads (message_id, ticket_id, \
             direction, mailbox_id, created_at) VALUES (",
        );
        out.push_bind_param::<Text, _>(&t.message_id)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&t.ticket_id)?;
        out.push_sql(", 'in', ");
        out.push_bind_param::<Nullable<BigInt>, _>(&t.mailbox_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&m.at)?;
        // A ticket that has the Message-ID keeps its entry (a second copy of
        // a reply, or one racing this one: it waits for that one's commit).
        out.push_sql(
            ") ON CONFLICT (message_id, ticket_id) DO NOTHING) SELECT (SELECT id FROM j), \
             ARRAY(SELECT ticket_id FROM mail_threads WHERE message_id = $19 \
             AND direction = 'in'), (SELECT count(*) FROM outbox WHERE ",
        );
        // $23 the contact of the acknowledgement's question (NULL: none
        // asked, and the outbox is not read).
        let (contact, to, kind, since) = &self.ack;
        out.push_bind_param::<Nullable<BigInt>, _>(contact)?;
        out.push_sql(" IS NOT NULL AND to_address = ");
        out.push_bind_param::<Nullable<Text>, _>(to)?;
        out.push_sql(" AND kind = ");
        out.push_bind_param::<Nullable<Text>, _>(kind)?;
        out.push_sql(" AND created_at >= ");
        out.push_bind_param::<Nullable<Timestamp>, _>(since)?;
        out.push_sql(
            "), (SELECT name FROM contacts WHERE id = $23), \
             (SELECT language FROM contacts WHERE id = $23)",
        );
        Ok(())
    }
}

/// Journal entries in a state, newest first, with keyset paging.
pub fn inbound_in_state(
    conn: &mut DbConn,
    status: &str,
    before_id: Option<i64>,
    limit: i64,
) -> AppResult<Vec<InboundRow>> {
    let mut q = inbound_messages::table
        .filter(inbound_messages::status.eq(status))
        .select(InboundRow::as_select())
        .into_boxed();
    if let Some(b) = before_id {
        q = q.filter(inbound_messages::id.lt(b));
    }
    Ok(q.order(inbound_messages::id.desc())
        .limit(limit)
        .load(conn)?)
}

/// Tickets opened from the same message in other mailboxes (siblings).
pub fn tickets_of_message(conn: &mut DbConn, message_id: &str) -> AppResult<Vec<i64>> {
    Ok(mail_threads::table
        .filter(mail_threads::message_id.eq(message_id))
        .filter(mail_threads::direction.eq("in"))
        .select(mail_threads::ticket_id)
        .load(conn)?)
}

/// The ticket a Message-ID we sent or received belongs to (the newest, if several).
///
/// Every match is read and the newest taken here: a Message-ID has one or
/// two tickets. Asked for the newest in SQL, PostgreSQL's generic plan walked
/// the tickets index backwards from the newest ticket until one matched
/// (3.8 ms per reply with 28,000 threads, and the longer the older the ticket).
pub fn ticket_of_any(conn: &mut DbConn, ids: &[String]) -> AppResult<Option<i64>> {
    if ids.is_empty() {
        return Ok(None);
    }
    let tickets: Vec<i64> = mail_threads::table
        .filter(mail_threads::message_id.eq_any(ids))
        .select(mail_threads::ticket_id)
        .load(conn)?;
    Ok(tickets.into_iter().max())
}

/// The ticket [`ticket_of_any`] finds, read in the same query.
pub fn ticket_row_of_any(
    conn: &mut DbConn,
    ids: &[String],
) -> AppResult<Option<super::rows::TicketRow>> {
    use super::rows::TicketRow;
    use super::schema::tickets;
    if ids.is_empty() {
        return Ok(None);
    }
    let newest = mail_threads::table
        .filter(mail_threads::message_id.eq_any(ids))
        .select(diesel::dsl::max(mail_threads::ticket_id))
        .single_value();
    Ok(tickets::table
        .filter(tickets::id.nullable().eq(newest))
        .select(TicketRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn remember_message(
    conn: &mut DbConn,
    message_id: &str,
    ticket_id: i64,
    direction: &str,
    mailbox_id: Option<i64>,
    now: NaiveDateTime,
) -> AppResult<()> {
    let exists: i64 = mail_threads::table
        .filter(mail_threads::message_id.eq(message_id))
        .filter(mail_threads::ticket_id.eq(ticket_id))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        remember_new_message(conn, message_id, ticket_id, direction, mailbox_id, now)?;
    }
    Ok(())
}

/// [`remember_message`] for an id that cannot be known yet (one Sportello
/// just made up for a mail it sends): no look first.
pub fn remember_new_message(
    conn: &mut DbConn,
    message_id: &str,
    ticket_id: i64,
    direction: &str,
    mailbox_id: Option<i64>,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::insert_into(mail_threads::table)
        .values((
            mail_threads::message_id.eq(message_id),
            mail_threads::ticket_id.eq(ticket_id),
            mail_threads::direction.eq(direction),
            mail_threads::mailbox_id.eq(mailbox_id),
            mail_threads::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Remembers the Message-ID of a message that just opened `ticket` (which
/// cannot know it yet), and returns the tickets opened from the same message
/// before (the same mail to another mailbox): one statement on PostgreSQL.
pub fn remember_opening_message(
    conn: &mut DbConn,
    message_id: &str,
    ticket: i64,
    mailbox_id: Option<i64>,
    now: NaiveDateTime,
) -> AppResult<Vec<i64>> {
    match conn {
        DbConn::Postgresql(c) => Ok(OpeningMessage {
            message_id,
            ticket,
            mailbox_id,
            now,
        }
        .load(c)?),
        DbConn::Sqlite(_) => {
            let before = tickets_of_message(conn, message_id)?;
            remember_new_message(conn, message_id, ticket, "in", mailbox_id, now)?;
            Ok(before)
        }
    }
}

/// The statement of [`remember_opening_message`] on PostgreSQL: the earlier
/// tickets are read from the snapshot before the new entry. Its text is
/// fixed, so diesel keeps it prepared.
struct OpeningMessage<'a> {
    message_id: &'a str,
    ticket: i64,
    mailbox_id: Option<i64>,
    now: NaiveDateTime,
}

crate::fixed_pg_statement!(OpeningMessage<'_>, BigInt);

impl QueryFragment<Pg> for OpeningMessage<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "WITH t AS (INSERT INTO mail_threads (message_id, ticket_id, direction, mailbox_id, \
             created_at) VALUES (",
        );
        out.push_bind_param::<Text, _>(&self.message_id)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&self.ticket)?;
        out.push_sql(", 'in', ");
        out.push_bind_param::<Nullable<BigInt>, _>(&self.mailbox_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(
            ")) SELECT ticket_id FROM mail_threads WHERE message_id = $1 AND direction = 'in'",
        );
        Ok(())
    }
}

/// Flags an address that bounced; returns how many registry entries had it.
pub fn flag_bounced(conn: &mut DbConn, email: &str, now: NaiveDateTime) -> AppResult<usize> {
    Ok(
        diesel::update(contact_emails::table.filter(contact_emails::email.eq(email)))
            .set(contact_emails::bounced_at.eq(now))
            .execute(conn)?,
    )
}

/// Takes the polling lease of a mailbox; false when another instance holds it.
pub fn lease_mailbox(
    conn: &mut DbConn,
    id: i64,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        mailboxes::table.filter(mailboxes::id.eq(id)).filter(
            mailboxes::poll_locked_until
                .is_null()
                .or(mailboxes::poll_locked_until.lt(now)),
        ),
    )
    .set(mailboxes::poll_locked_until.eq(until))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn release_mailbox(conn: &mut DbConn, id: i64) -> AppResult<()> {
    diesel::update(mailboxes::table.find(id))
        .set(mailboxes::poll_locked_until.eq(None::<NaiveDateTime>))
        .execute(conn)?;
    Ok(())
}

/// Where the poller is: the folder's UIDVALIDITY and the last UID handled.
pub fn set_position(conn: &mut DbConn, id: i64, uidvalidity: i64, last_uid: i64) -> AppResult<()> {
    diesel::update(mailboxes::table.find(id))
        .set((
            mailboxes::uidvalidity.eq(uidvalidity),
            mailboxes::last_uid.eq(last_uid),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Default, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = mail_polls)]
pub struct PollRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub mailbox_id: i64,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub server_count: Option<i64>,
    pub fetched: i64,
    pub ingested: i64,
    pub duplicates: i64,
    pub quarantined: i64,
    pub error: Option<String>,
}

pub fn insert_poll(conn: &mut DbConn, p: &PollRow) -> AppResult<i64> {
    Ok(diesel::insert_into(mail_polls::table)
        .values(p)
        .returning(mail_polls::id)
        .get_result(conn)?)
}

pub fn polls_of(conn: &mut DbConn, mailbox_id: i64, limit: i64) -> AppResult<Vec<PollRow>> {
    Ok(mail_polls::table
        .filter(mail_polls::mailbox_id.eq(mailbox_id))
        .order(mail_polls::id.desc())
        .limit(limit)
        .select(PollRow::as_select())
        .load(conn)?)
}
