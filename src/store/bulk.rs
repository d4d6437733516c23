//! Bulk loading for `demo generate`: many rows at once, with ids chosen by the
//! caller so articles can point at tickets without a round trip per row.
//! SQLite gets multi-row INSERTs (the FTS triggers index them as usual),
//! PostgreSQL gets `COPY … FROM STDIN`; sequences are moved past the new ids.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};

use super::schema::{
    agents, articles, attachments, contact_emails, contact_phones, contacts, escalation_firings,
    mail_threads, queue_members, queues, sla_clock_events, sla_clocks, ticket_counters,
    ticket_events, tickets, topics,
};
use super::DbConn;
use crate::error::AppResult;

pub struct Contact {
    pub id: i64,
    pub name: String,
    pub city: String,
    pub language: &'static str,
    pub search_key: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub created_at: NaiveDateTime,
}

pub struct Ticket {
    pub id: i64,
    pub number: String,
    pub subject: String,
    pub channel: &'static str,
    pub state: &'static str,
    pub priority: i32,
    pub queue_id: i64,
    pub assignee_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub topic_id: Option<i64>,
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

pub struct Article {
    pub id: i64,
    pub ticket_id: i64,
    pub kind: &'static str,
    pub public: bool,
    pub author_agent_id: Option<i64>,
    pub author_contact_id: Option<i64>,
    pub body: String,
    pub created_at: NaiveDateTime,
}

pub struct Attachment {
    pub article_id: i64,
    pub filename: String,
    pub content_type: &'static str,
    pub data: Vec<u8>,
    pub sha256: String,
    pub created_at: NaiveDateTime,
}

pub struct Event {
    pub ticket_id: i64,
    pub kind: &'static str,
    pub actor_agent_id: Option<i64>,
    pub data: String,
    pub created_at: NaiveDateTime,
}

/// A service-level clock, with its id chosen by the caller so its history
/// and firings can point at it.
pub struct SlaClock {
    pub id: i64,
    pub ticket_id: i64,
    pub policy_id: i64,
    pub kind: &'static str,
    pub target_minutes: i32,
    pub warning_percent: i32,
    pub state: &'static str,
    pub started_at: NaiveDateTime,
    pub due_at: Option<NaiveDateTime>,
    pub warn_at: Option<NaiveDateTime>,
    pub stopped_at: Option<NaiveDateTime>,
    /// The time of its last step.
    pub updated_at: NaiveDateTime,
    pub calendar_id: Option<i64>,
}

/// One step of a clock's history.
pub struct ClockEvent {
    pub clock_id: i64,
    pub kind: &'static str,
    pub reason: Option<&'static str>,
    pub due_at: Option<NaiveDateTime>,
    pub at: NaiveDateTime,
}

/// An escalation rule that has fired on a clock.
pub struct Firing {
    pub rule_id: i64,
    pub clock_id: i64,
    pub ticket_id: i64,
    pub fired_at: NaiveDateTime,
    pub actions: std::sync::Arc<str>,
}

/// A Message-ID of a ticket's mail, received (`in`) or sent (`out`).
pub struct MailThread {
    pub message_id: String,
    pub ticket_id: i64,
    pub direction: &'static str,
    pub created_at: NaiveDateTime,
}

/// Rows written together, in one transaction.
#[derive(Default)]
pub struct Batch {
    pub contacts: Vec<Contact>,
    pub tickets: Vec<Ticket>,
    pub articles: Vec<Article>,
    pub attachments: Vec<Attachment>,
    pub events: Vec<Event>,
    pub clocks: Vec<SlaClock>,
    pub clock_events: Vec<ClockEvent>,
    pub firings: Vec<Firing>,
    pub threads: Vec<MailThread>,
}

/// The first free ids and the ticket counters, read under the lock.
#[derive(Debug, Clone, Default)]
pub struct Cursor {
    pub contact: i64,
    pub ticket: i64,
    pub article: i64,
    pub clock: i64,
    /// Last sequence number used per year (`ticket_counters`).
    pub counters: BTreeMap<i32, i64>,
}

/// What the generator may route tickets to.
#[derive(Debug, Clone, Default)]
pub struct CatalogueRows {
    /// (id, level) of active queues.
    pub queues: Vec<(i64, String)>,
    /// (queue_id, agent_id) of active agents.
    pub members: Vec<(i64, i64)>,
    /// (id, queue_id) of active topics.
    pub topics: Vec<(i64, i64)>,
    pub agents: Vec<i64>,
}

pub fn catalogue(conn: &mut DbConn) -> AppResult<CatalogueRows> {
    Ok(CatalogueRows {
        queues: queues::table
            .filter(queues::active.eq(true))
            .order(queues::id)
            .select((queues::id, queues::level))
            .load(conn)?,
        members: queue_members::table
            .inner_join(agents::table)
            .filter(agents::active.eq(true))
            .order((queue_members::queue_id, queue_members::agent_id))
            .select((queue_members::queue_id, queue_members::agent_id))
            .load(conn)?,
        topics: topics::table
            .filter(topics::active.eq(true))
            .order(topics::id)
            .select((topics::id, topics::queue_id))
            .load(conn)?,
        agents: agents::table
            .filter(agents::active.eq(true))
            .order(agents::id)
            .select(agents::id)
            .load(conn)?,
    })
}

/// Settings for the generating connection only: SQLite skips fsync (a crash
/// mid-generation loses generated rows, nothing else), PostgreSQL commits
/// without waiting for the WAL flush.
pub fn fast_session(conn: &mut DbConn) -> AppResult<()> {
    match conn {
        DbConn::Sqlite(c) => {
            c.batch_execute("PRAGMA synchronous = OFF; PRAGMA cache_size = -65536;")?
        }
        DbConn::Postgresql(c) => c.batch_execute("SET synchronous_commit = off")?,
    }
    Ok(())
}

/// Gives PostgreSQL's planner the new tables' statistics now rather than
/// when autovacuum gets to them: until then it takes a million rows for a
/// few thousand, and a queue's first page can take a plan 1,000 times slower
/// (187 ms instead of 0.2, measured). The tables are vacuumed too, as those
/// of a desk in service are: otherwise the first statements to read each
/// freshly loaded page write its hint bits, and autovacuum works through
/// millions of new rows while the server takes its first load (web-form
/// intake at 64 clients: 861 requests/s before the vacuum, 1,023 after, on
/// a copy of 300,000 generated tickets). SQLite plans without statistics and
/// has nothing to vacuum; it is left so.
pub fn vacuum_analyze(conn: &mut DbConn) -> AppResult<()> {
    if let DbConn::Postgresql(c) = conn {
        c.batch_execute(
            "VACUUM (ANALYZE) contacts, contact_emails, contact_phones, tickets, articles, \
             attachments, ticket_events, sla_clocks, sla_clock_events, escalation_firings, \
             mail_threads",
        )?;
    }
    Ok(())
}

/// Takes the write lock for the rest of the transaction, so that a running
/// server waits instead of taking the ids we are about to use; then reads them.
pub fn lock_and_read_cursor(conn: &mut DbConn) -> AppResult<Cursor> {
    match conn {
        // In the order an intake takes them (a contact, its number, the
        // ticket, the article, its clocks), so the two never wait for each
        // other in a circle.
        DbConn::Postgresql(c) => c.batch_execute(
            "LOCK TABLE contacts, ticket_counters, tickets, articles, sla_clocks IN EXCLUSIVE MODE",
        )?,
        // A write statement takes SQLite's write lock now rather than at the first insert.
        DbConn::Sqlite(c) => {
            c.batch_execute("UPDATE ticket_counters SET last_value = last_value WHERE year = -1")?
        }
    }
    #[derive(QueryableByName)]
    struct Max {
        #[diesel(sql_type = Nullable<BigInt>)]
        id: Option<i64>,
    }
    let mut next = |table: &str| -> AppResult<i64> {
        let m: Max =
            diesel::sql_query(format!("SELECT MAX(id) AS id FROM {table}")).get_result(conn)?;
        Ok(m.id.unwrap_or(0) + 1)
    };
    let (contact, ticket, article, clock) = (
        next("contacts")?,
        next("tickets")?,
        next("articles")?,
        next("sla_clocks")?,
    );
    let mut counters: BTreeMap<i32, i64> = ticket_counters::table
        .select((ticket_counters::year, ticket_counters::last_value))
        .load::<(i32, i64)>(conn)?
        .into_iter()
        .collect();
    // On PostgreSQL a year with a sequence has moved on from its row. The
    // lock above waited for every intake holding a number to commit, and
    // holds back new ones (`next_ticket_number` takes ROW SHARE).
    if let DbConn::Postgresql(c) = conn {
        for (year, last) in number_sequences(c)? {
            let n = counters.entry(year).or_insert(0);
            *n = (*n).max(last);
        }
    }
    Ok(Cursor {
        contact,
        ticket,
        article,
        clock,
        counters,
    })
}

/// The years that have a ticket-number sequence on PostgreSQL, with the last
/// number each gave (or would give before its first, when none was taken yet).
fn number_sequences(c: &mut diesel::PgConnection) -> AppResult<Vec<(i32, i64)>> {
    #[derive(QueryableByName)]
    struct Seq {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        year: i32,
        #[diesel(sql_type = BigInt)]
        last: i64,
    }
    let rows: Vec<Seq> = diesel::sql_query(
        "SELECT substr(sequencename, 15)::integer AS year, \
         COALESCE(last_value, start_value - 1) AS last FROM pg_sequences \
         WHERE schemaname = current_schema() AND sequencename ~ '^ticket_number_-?[0-9]+$'",
    )
    .load(c)?;
    Ok(rows.into_iter().map(|s| (s.year, s.last)).collect())
}

/// Saves the counters the batch advanced and, on PostgreSQL, moves the id
/// sequences past the ids chosen here so the app's next insert gets a fresh one.
pub fn finish(conn: &mut DbConn, counters: &BTreeMap<i32, i64>) -> AppResult<()> {
    for (&year, &last) in counters {
        let updated = diesel::update(ticket_counters::table.find(year))
            .set(ticket_counters::last_value.eq(last))
            .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(ticket_counters::table)
                .values((
                    ticket_counters::year.eq(year),
                    ticket_counters::last_value.eq(last),
                ))
                .execute(conn)?;
        }
    }
    if let DbConn::Postgresql(c) = conn {
        // Years whose sequence exists continue from what was written here;
        // the others start from their row when their first ticket comes.
        let existing: BTreeMap<i32, i64> = number_sequences(c)?.into_iter().collect();
        for (&year, &last) in counters {
            if existing.get(&year).is_some_and(|&seq| seq < last) {
                c.batch_execute(&format!(
                    "SELECT setval(quote_ident('ticket_number_{year}'), {last})"
                ))?;
            }
        }
        for table in ["contacts", "tickets", "articles", "sla_clocks"] {
            c.batch_execute(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 GREATEST((SELECT MAX(id) FROM {table}), 1))"
            ))?;
        }
    }
    Ok(())
}

/// One value of a row, rendered as an SQLite literal or a COPY text field.
enum Val<'a> {
    Int(i64),
    Text(&'a str),
    Bool(bool),
    Time(NaiveDateTime),
    Bytes(&'a [u8]),
    Null,
}

fn opt_int(v: Option<i64>) -> Val<'static> {
    v.map_or(Val::Null, Val::Int)
}

fn opt_text(v: &Option<String>) -> Val<'_> {
    v.as_deref().map_or(Val::Null, Val::Text)
}

fn opt_time(v: Option<NaiveDateTime>) -> Val<'static> {
    v.map_or(Val::Null, Val::Time)
}

/// Same text as diesel writes for a `Timestamp` on SQLite (`%F %T%.f`).
const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.f";

fn sqlite_literal(out: &mut String, v: &Val<'_>) {
    match v {
        Val::Int(i) => write!(out, "{i}").unwrap(),
        Val::Text(t) => {
            out.push('\'');
            out.push_str(&t.replace('\'', "''"));
            out.push('\'');
        }
        Val::Bool(b) => out.push(if *b { '1' } else { '0' }),
        Val::Time(t) => write!(out, "'{}'", t.format(TIME_FORMAT)).unwrap(),
        Val::Bytes(b) => write!(out, "X'{}'", hex::encode(b)).unwrap(),
        Val::Null => out.push_str("NULL"),
    }
}

fn copy_field(out: &mut String, v: &Val<'_>) {
    match v {
        Val::Int(i) => write!(out, "{i}").unwrap(),
        Val::Text(t) => {
            for c in t.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c => out.push(c),
                }
            }
        }
        Val::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Val::Time(t) => write!(out, "{}", t.format(TIME_FORMAT)).unwrap(),
        // bytea hex input `\x…`, its backslash escaped for the text format.
        Val::Bytes(b) => write!(out, "\\\\x{}", hex::encode(b)).unwrap(),
        Val::Null => out.push_str("\\N"),
    }
}

/// Rows per SQLite INSERT statement: large enough to amortise parsing,
/// small enough to keep the statement text modest.
const SQLITE_ROWS_PER_INSERT: usize = 500;

/// Writes `rows` into `$table` with the columns listed, by multi-row INSERT
/// on SQLite and COPY on PostgreSQL. `$vals` turns a row into its values, in
/// the order of the columns.
macro_rules! load {
    ($conn:expr, $table:ident, [$($col:ident),+], $rows:expr, |$row:ident| $vals:expr) => {{
        let rows = $rows;
        if !rows.is_empty() {
            match $conn {
                DbConn::Sqlite(c) => {
                    let head = concat!(
                        "INSERT INTO ", stringify!($table), " (",
                        load!(@names $($col),+), ") VALUES "
                    );
                    for part in rows.chunks(SQLITE_ROWS_PER_INSERT) {
                        let mut sql = String::with_capacity(part.len() * 256);
                        sql.push_str(head);
                        for (i, $row) in part.iter().enumerate() {
                            sql.push_str(if i == 0 { "(" } else { ",(" });
                            for (j, v) in $vals.iter().enumerate() {
                                if j > 0 {
                                    sql.push(',');
                                }
                                sqlite_literal(&mut sql, v);
                            }
                            sql.push(')');
                        }
                        c.batch_execute(&sql)?;
                    }
                }
                DbConn::Postgresql(c) => {
                    let mut text = String::with_capacity(rows.len() * 256);
                    for $row in rows.iter() {
                        for (j, v) in $vals.iter().enumerate() {
                            if j > 0 {
                                text.push('\t');
                            }
                            copy_field(&mut text, v);
                        }
                        text.push('\n');
                    }
                    diesel::copy_from($table::table)
                        .from_raw_data(($($table::$col),+), |w: &mut dyn std::io::Write| {
                            w.write_all(text.as_bytes())
                                .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
                        })
                        .with_format(diesel::pg::CopyFormat::Text)
                        .execute(c)?;
                }
            }
        }
    }};
    (@names $first:ident $(, $rest:ident)*) => {
        concat!(stringify!($first) $(, ", ", stringify!($rest))*)
    };
}

/// Writes a batch: contacts first, then tickets, articles, attachments, events.
pub fn write(conn: &mut DbConn, b: &Batch) -> AppResult<()> {
    load!(
        conn,
        contacts,
        [id, name, city, language, search_key, created_at, updated_at],
        &b.contacts,
        |r| [
            Val::Int(r.id),
            Val::Text(&r.name),
            Val::Text(&r.city),
            Val::Text(r.language),
            Val::Text(&r.search_key),
            Val::Time(r.created_at),
            Val::Time(r.created_at),
        ]
    );
    let emails: Vec<(i64, &str)> = b
        .contacts
        .iter()
        .filter_map(|c| c.email.as_deref().map(|e| (c.id, e)))
        .collect();
    load!(conn, contact_emails, [contact_id, email], &emails, |r| [
        Val::Int(r.0),
        Val::Text(r.1)
    ]);
    let phones: Vec<(i64, &str)> = b
        .contacts
        .iter()
        .filter_map(|c| c.phone.as_deref().map(|p| (c.id, p)))
        .collect();
    load!(conn, contact_phones, [contact_id, phone], &phones, |r| [
        Val::Int(r.0),
        Val::Text(r.1)
    ]);
    load!(
        conn,
        tickets,
        [
            id,
            number,
            subject,
            channel,
            state,
            priority,
            queue_id,
            assignee_id,
            contact_id,
            topic_id,
            escalated_from_queue_id,
            escalation_reason,
            resolution,
            merged_into_id,
            created_at,
            updated_at,
            first_response_at,
            resolved_at,
            closed_at
        ],
        &b.tickets,
        |r| [
            Val::Int(r.id),
            Val::Text(&r.number),
            Val::Text(&r.subject),
            Val::Text(r.channel),
            Val::Text(r.state),
            Val::Int(r.priority.into()),
            Val::Int(r.queue_id),
            opt_int(r.assignee_id),
            opt_int(r.contact_id),
            opt_int(r.topic_id),
            opt_int(r.escalated_from_queue_id),
            opt_text(&r.escalation_reason),
            opt_text(&r.resolution),
            opt_int(r.merged_into_id),
            Val::Time(r.created_at),
            Val::Time(r.updated_at),
            opt_time(r.first_response_at),
            opt_time(r.resolved_at),
            opt_time(r.closed_at),
        ]
    );
    load!(
        conn,
        articles,
        [
            id,
            ticket_id,
            kind,
            public,
            author_agent_id,
            author_contact_id,
            body,
            created_at
        ],
        &b.articles,
        |r| [
            Val::Int(r.id),
            Val::Int(r.ticket_id),
            Val::Text(r.kind),
            Val::Bool(r.public),
            opt_int(r.author_agent_id),
            opt_int(r.author_contact_id),
            Val::Text(&r.body),
            Val::Time(r.created_at),
        ]
    );
    load!(
        conn,
        attachments,
        [
            article_id,
            filename,
            content_type,
            size,
            sha256,
            data,
            created_at
        ],
        &b.attachments,
        |r| [
            Val::Int(r.article_id),
            Val::Text(&r.filename),
            Val::Text(r.content_type),
            Val::Int(r.data.len() as i64),
            Val::Text(&r.sha256),
            Val::Bytes(&r.data),
            Val::Time(r.created_at),
        ]
    );
    load!(
        conn,
        ticket_events,
        [ticket_id, kind, actor_agent_id, data, created_at],
        &b.events,
        |r| [
            Val::Int(r.ticket_id),
            Val::Text(r.kind),
            opt_int(r.actor_agent_id),
            Val::Text(&r.data),
            Val::Time(r.created_at),
        ]
    );
    load!(
        conn,
        sla_clocks,
        [
            id,
            ticket_id,
            policy_id,
            kind,
            target_minutes,
            warning_percent,
            state,
            started_at,
            due_at,
            warn_at,
            stopped_at,
            updated_at,
            calendar_id
        ],
        &b.clocks,
        |r| [
            Val::Int(r.id),
            Val::Int(r.ticket_id),
            Val::Int(r.policy_id),
            Val::Text(r.kind),
            Val::Int(r.target_minutes.into()),
            Val::Int(r.warning_percent.into()),
            Val::Text(r.state),
            Val::Time(r.started_at),
            opt_time(r.due_at),
            opt_time(r.warn_at),
            opt_time(r.stopped_at),
            Val::Time(r.updated_at),
            opt_int(r.calendar_id),
        ]
    );
    load!(
        conn,
        sla_clock_events,
        [clock_id, kind, reason, due_at, at],
        &b.clock_events,
        |r| [
            Val::Int(r.clock_id),
            Val::Text(r.kind),
            r.reason.map_or(Val::Null, Val::Text),
            opt_time(r.due_at),
            Val::Time(r.at),
        ]
    );
    load!(
        conn,
        escalation_firings,
        [rule_id, clock_id, ticket_id, fired_at, actions],
        &b.firings,
        |r| [
            Val::Int(r.rule_id),
            Val::Int(r.clock_id),
            Val::Int(r.ticket_id),
            Val::Time(r.fired_at),
            Val::Text(&r.actions),
        ]
    );
    load!(
        conn,
        mail_threads,
        [message_id, ticket_id, direction, created_at],
        &b.threads,
        |r| [
            Val::Text(&r.message_id),
            Val::Int(r.ticket_id),
            Val::Text(r.direction),
            Val::Time(r.created_at),
        ]
    );
    Ok(())
}

/// Counts for the end-of-run summary.
pub fn count_tickets(conn: &mut DbConn) -> AppResult<i64> {
    Ok(tickets::table.count().get_result(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_copy_fields_escape() {
        let mut s = String::new();
        sqlite_literal(&mut s, &Val::Text("l'ufficio"));
        assert_eq!(s, "'l''ufficio'");
        let mut s = String::new();
        copy_field(&mut s, &Val::Text("a\tb\nc\\d"));
        assert_eq!(s, "a\\tb\\nc\\\\d");
        let mut s = String::new();
        copy_field(&mut s, &Val::Bytes(&[0xab, 0x01]));
        assert_eq!(s, "\\\\xab01");
        let mut s = String::new();
        sqlite_literal(&mut s, &Val::Bytes(&[0xab]));
        assert_eq!(s, "X'ab'");
    }
}
