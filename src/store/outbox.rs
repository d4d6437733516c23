//! The outbox: every e-mail Sportello sends, with its delivery state.
//! The sender claims due rows with a lease (`locked_until`): `FOR UPDATE SKIP
//! LOCKED` on PostgreSQL, the single writer on SQLite; a lease left by a crashed
//! sender expires and the row is claimed again.

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};

use super::schema::outbox;
use super::DbConn;
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub ticket_id: Option<i64>,
    pub article_id: Option<i64>,
    pub kind: String,
    pub mailbox_id: Option<i64>,
    pub from_address: String,
    pub to_address: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub body: String,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub refs: String,
    pub auto_submitted: bool,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

/// Inserted through [`bound_values!`](crate::bound_values), which keeps the statement prepared.
#[derive(Debug)]
pub struct NewOutbox {
    pub ticket_id: Option<i64>,
    pub article_id: Option<i64>,
    pub kind: String,
    pub mailbox_id: Option<i64>,
    pub from_address: String,
    pub to_address: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub body: String,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub refs: String,
    pub auto_submitted: bool,
    pub state: String,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// A tracking link's access to its ticket, granted with the mail that
/// carries the link (the web form's acknowledgement).
#[derive(Debug, Clone)]
pub struct Access {
    pub token_hash: String,
    pub language: String,
}

/// [`insert`] of a mail about `ticket`, whose Message-ID is also remembered
/// as the ticket's (outgoing), so that the answers thread back to it, and
/// the `access` of the tracking link it carries granted
/// ([`public::grant`](super::public::grant)); one statement on PostgreSQL.
/// Returns the outbox id.
pub fn insert_remembered(
    conn: &mut DbConn,
    new: &NewOutbox,
    ticket: i64,
    access: Option<&Access>,
) -> AppResult<i64> {
    match conn {
        DbConn::Postgresql(c) => Ok(Remembered {
            new,
            ticket,
            access: (
                access.map(|a| a.token_hash.as_str()),
                access.map(|a| a.language.as_str()),
            ),
        }
        .get_result(c)?),
        DbConn::Sqlite(_) => {
            if let Some(a) = access {
                super::public::grant(conn, ticket, &a.token_hash, &a.language, new.created_at)?;
            }
            let id = insert(conn, new)?;
            super::mail::remember_new_message(
                conn,
                &new.message_id,
                ticket,
                "out",
                new.mailbox_id,
                new.created_at,
            )?;
            Ok(id)
        }
    }
}

/// The statement of [`insert_remembered`] on PostgreSQL: the outbox row, and
/// the ticket's thread entry made from what it returns. Its text is fixed, so
/// diesel keeps it prepared.
struct Remembered<'a> {
    new: &'a NewOutbox,
    ticket: i64,
    /// The tracking link's token hash and language (NULL: none granted).
    access: (Option<&'a str>, Option<&'a str>),
}

crate::fixed_pg_statement!(Remembered<'_>, BigInt);

impl QueryFragment<Pg> for Remembered<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let n = self.new;
        out.push_sql(
            "WITH o AS (INSERT INTO outbox (ticket_id, article_id, kind, mailbox_id, \
             from_address, to_address, reply_to, subject, body, message_id, in_reply_to, refs, \
             auto_submitted, state, next_attempt_at, created_at) VALUES (",
        );
        out.push_bind_param::<BigInt, _>(&self.ticket)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<BigInt>, _>(&n.article_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&n.kind)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<BigInt>, _>(&n.mailbox_id)?;
        for text in [&n.from_address, &n.to_address] {
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(text)?;
        }
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&n.reply_to)?;
        for text in [&n.subject, &n.body, &n.message_id] {
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(text)?;
        }
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&n.in_reply_to)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&n.refs)?;
        out.push_sql(", ");
        out.push_bind_param::<Bool, _>(&n.auto_submitted)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&n.state)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&n.next_attempt_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&n.created_at)?;
        out.push_sql(
            ") RETURNING id, message_id, ticket_id, mailbox_id, created_at), \
             t AS (INSERT INTO mail_threads (message_id, ticket_id, direction, mailbox_id, \
             created_at) SELECT message_id, ticket_id, 'out', mailbox_id, created_at FROM o), \
             p AS (INSERT INTO public_access (ticket_id, token_hash, language, created_at) \
             SELECT ticket_id, h, l, created_at FROM o, (SELECT ",
        );
        let (hash, language) = &self.access;
        out.push_bind_param::<Nullable<Text>, _>(hash)?;
        out.push_sql("::text AS h, ");
        out.push_bind_param::<Nullable<Text>, _>(language)?;
        out.push_sql("::text AS l) a WHERE h IS NOT NULL) SELECT id FROM o");
        Ok(())
    }
}

pub fn insert(conn: &mut DbConn, new: &NewOutbox) -> AppResult<i64> {
    Ok(diesel::insert_into(outbox::table)
        .values(crate::bound_values!(
            outbox,
            new,
            [
                ticket_id,
                article_id,
                kind,
                mailbox_id,
                from_address,
                to_address,
                reply_to,
                subject,
                body,
                message_id,
                in_reply_to,
                refs,
                auto_submitted,
                state,
                next_attempt_at,
                created_at,
            ]
        ))
        .returning(outbox::id)
        .get_result(conn)?)
}

/// Claims up to `limit` due messages until `lease_until`; returns them.
pub fn claim_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<OutboxRow>> {
    macro_rules! due {
        () => {
            outbox::table
                .filter(outbox::state.eq("pending"))
                .filter(outbox::next_attempt_at.le(now))
                .filter(
                    outbox::locked_until
                        .is_null()
                        .or(outbox::locked_until.lt(now)),
                )
                .order(outbox::id)
                .limit(limit)
                .select(outbox::id)
        };
    }
    let ids: Vec<i64> = match conn {
        DbConn::Postgresql(c) => due!().for_update().skip_locked().load(c)?,
        DbConn::Sqlite(c) => due!().load(c)?,
    };
    if ids.is_empty() {
        return Ok(vec![]);
    }
    diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
        .set(outbox::locked_until.eq(lease_until))
        .execute(conn)?;
    Ok(outbox::table
        .filter(outbox::id.eq_any(&ids))
        .order(outbox::id)
        .select(OutboxRow::as_select())
        .load(conn)?)
}

/// Marks entries sent (one statement for a batch).
pub fn mark_sent(conn: &mut DbConn, ids: &[i64], now: NaiveDateTime) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
        .set((
            outbox::state.eq("sent"),
            outbox::sent_at.eq(now),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt: retried at `retry_at`, or failed for good when `None`.
pub fn mark_attempt_failed(
    conn: &mut DbConn,
    id: i64,
    error: &str,
    retry_at: Option<NaiveDateTime>,
) -> AppResult<()> {
    let q = diesel::update(outbox::table.find(id));
    match retry_at {
        Some(at) => q
            .set((
                outbox::attempts.eq(outbox::attempts + 1),
                outbox::last_error.eq(error),
                outbox::next_attempt_at.eq(at),
                outbox::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?,
        None => q
            .set((
                outbox::attempts.eq(outbox::attempts + 1),
                outbox::last_error.eq(error),
                outbox::state.eq("failed"),
                outbox::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?,
    };
    Ok(())
}

pub fn of_ticket(conn: &mut DbConn, ticket_id: i64) -> AppResult<Vec<OutboxRow>> {
    Ok(outbox::table
        .filter(outbox::ticket_id.eq(ticket_id))
        .order(outbox::id)
        .select(OutboxRow::as_select())
        .load(conn)?)
}

/// What an acknowledgement to the person who just wrote in must know before
/// it is written: how many mails of `kind` went to `to` since `since` (its
/// rate limit), and the name and language of the contact `contact_id` (its
/// greeting and template).
#[derive(Debug, Clone, Copy)]
pub struct AckQuestion<'a> {
    pub to: &'a str,
    pub kind: &'a str,
    pub since: NaiveDateTime,
    pub contact_id: i64,
}

/// The answer to an [`AckQuestion`]; `contact` is None when there is no such contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckAnswer {
    pub sent: i64,
    pub contact: Option<(String, String)>,
}

/// Answers an [`AckQuestion`] in one query. (E-mail intake on PostgreSQL
/// asks it with the message's journal entry instead:
/// [`journal_with_thread`](super::mail::journal_with_thread).)
pub fn ack_answer(conn: &mut DbConn, q: &AckQuestion) -> AppResult<AckAnswer> {
    use super::schema::contacts;
    let sent = outbox::table
        .filter(outbox::to_address.eq(q.to))
        .filter(outbox::kind.eq(q.kind))
        .filter(outbox::created_at.ge(q.since))
        .count()
        .single_value();
    let contact = contacts::table.filter(contacts::id.eq(q.contact_id));
    let (sent, name, language): (Option<i64>, Option<String>, Option<String>) = diesel::select((
        sent,
        contact.select(contacts::name).single_value(),
        contact.select(contacts::language).single_value(),
    ))
    .get_result(conn)?;
    Ok(AckAnswer {
        sent: sent.unwrap_or(0),
        contact: name.zip(language),
    })
}

/// The newest Message-IDs of a ticket's conversation, for In-Reply-To/References.
pub fn last_message_ids(conn: &mut DbConn, ticket_id: i64, limit: i64) -> AppResult<Vec<String>> {
    use super::schema::mail_threads;
    Ok(mail_threads::table
        .filter(mail_threads::ticket_id.eq(ticket_id))
        .order(mail_threads::created_at.desc())
        .limit(limit)
        .select(mail_threads::message_id)
        .load(conn)?)
}

pub fn set_reply_to(conn: &mut DbConn, id: i64, reply_to: &str) -> AppResult<()> {
    diesel::update(outbox::table.find(id))
        .set(outbox::reply_to.eq(reply_to))
        .execute(conn)?;
    Ok(())
}
