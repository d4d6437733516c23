//! Tickets, their articles, attachments, events and links; numbering; the
//! claim query; filtered keyset listing with full-text search on both backends.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Text};

use super::rows::*;
use super::schema::{
    articles, attachments, intake_keys, sla_clocks, ticket_counters, ticket_events, ticket_fields,
    ticket_links, tickets,
};
use super::sla::Starting;
use super::DbConn;
use crate::error::{is_unique_violation, AppResult};

type DbBackend = <DbConn as diesel::Connection>::Backend;

diesel::define_sql_function! {
    /// PostgreSQL's `next_ticket_number_text(year)` (migration 000020): the
    /// next number of `year` spelled as `domain::number::format` spells it.
    fn next_ticket_number_text(year: Integer) -> Text;
}

/// The next sequence number of `year` on SQLite: the year's row in
/// `ticket_counters`, which the single writer makes cheap. (PostgreSQL takes
/// it from the year's sequence, `next_ticket_number` of migration 000016,
/// which holds no lock: concurrent intakes do not wait for each other's
/// commit; a number taken by a transaction that rolls back is skipped.)
fn next_counter_number(conn: &mut DbConn, year: i32) -> AppResult<i64> {
    loop {
        let bumped: Option<i64> = match conn {
            DbConn::Sqlite(c) => BumpCounter { year }.get_result(c).optional()?,
            DbConn::Postgresql(_) => diesel::update(ticket_counters::table.find(year))
                .set(ticket_counters::last_value.eq(ticket_counters::last_value + 1))
                .returning(ticket_counters::last_value)
                .get_result(conn)
                .optional()?,
        };
        if let Some(n) = bumped {
            return Ok(n);
        }
        // First ticket of the year; a savepoint keeps a lost race from aborting the transaction.
        let inserted = conn.transaction(|c| {
            diesel::insert_into(ticket_counters::table)
                .values((
                    ticket_counters::year.eq(year),
                    ticket_counters::last_value.eq(1i64),
                ))
                .execute(c)
                .map_err(crate::error::AppError::from)
        });
        match inserted {
            Ok(_) => return Ok(1),
            Err(e) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The UPDATE of [`next_counter_number`] on SQLite, its text fixed so that
/// it stays prepared: diesel prepares none of the UPDATEs it builds, and
/// this one runs for every new ticket.
struct BumpCounter {
    year: i32,
}

impl diesel::query_builder::QueryId for BumpCounter {
    type QueryId = BumpCounter;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for BumpCounter {
    type SqlType = diesel::sql_types::BigInt;
}

impl RunQueryDsl<diesel::SqliteConnection> for BumpCounter {}

impl diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite> for BumpCounter {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::sqlite::Sqlite>,
    ) -> QueryResult<()> {
        out.push_sql("UPDATE ticket_counters SET last_value = last_value + 1 WHERE year = ");
        out.push_bind_param::<Integer, _>(&self.year)?;
        out.push_sql(" RETURNING last_value");
        Ok(())
    }
}

/// Opens a ticket under the next number of `year` (`new.number` is not
/// read: the number is taken here) and returns it as stored. On PostgreSQL
/// the number is taken by the INSERT itself, one round trip for both.
///
/// With `catalogue`, the ticket is opened only while the catalogue is at
/// that version (`None` when it is not: nothing was written); on PostgreSQL
/// the same INSERT confirms it.
pub fn insert_numbered(
    conn: &mut DbConn,
    year: i32,
    new: &NewTicket,
    catalogue: Option<i64>,
) -> AppResult<Option<TicketRow>> {
    use super::schema::catalogue_version as cv;
    use diesel::sql_types::{BigInt, Nullable, Timestamp};
    macro_rules! insert_with_number {
        ($number:expr) => {
            diesel::insert_into(tickets::table).values((
                tickets::number.eq($number),
                crate::bound_values!(
                    tickets,
                    new,
                    [
                        subject,
                        channel,
                        state,
                        priority,
                        queue_id,
                        assignee_id,
                        contact_id,
                        topic_id,
                        subject_id,
                        created_at,
                        updated_at,
                        first_response_at,
                    ]
                ),
            ))
        };
    }
    if let DbConn::Postgresql(c) = conn {
        let Some(version) = catalogue else {
            return Ok(Some(
                insert_with_number!(next_ticket_number_text(year))
                    .returning(TicketRow::as_returning())
                    .get_result(c)?,
            ));
        };
        // INSERT … SELECT from the version's row: no row, no ticket.
        return Ok(cv::table
            .filter(cv::version.eq(version))
            .select((
                next_ticket_number_text(year),
                new.subject.as_str().into_sql::<Text>(),
                new.channel.as_str().into_sql::<Text>(),
                new.state.as_str().into_sql::<Text>(),
                new.priority.into_sql::<Integer>(),
                new.queue_id.into_sql::<BigInt>(),
                new.assignee_id.into_sql::<Nullable<BigInt>>(),
                new.contact_id.into_sql::<Nullable<BigInt>>(),
                new.topic_id.into_sql::<Nullable<BigInt>>(),
                new.subject_id.into_sql::<Nullable<BigInt>>(),
                new.created_at.into_sql::<Timestamp>(),
                new.updated_at.into_sql::<Timestamp>(),
                new.first_response_at.into_sql::<Nullable<Timestamp>>(),
            ))
            .insert_into(tickets::table)
            .into_columns((
                tickets::number,
                tickets::subject,
                tickets::channel,
                tickets::state,
                tickets::priority,
                tickets::queue_id,
                tickets::assignee_id,
                tickets::contact_id,
                tickets::topic_id,
                tickets::subject_id,
                tickets::created_at,
                tickets::updated_at,
                tickets::first_response_at,
            ))
            .returning(TicketRow::as_returning())
            .get_result(c)
            .optional()?);
    }
    if let Some(version) = catalogue {
        let current: i64 = cv::table.select(cv::version).first(conn)?;
        if current != version {
            return Ok(None);
        }
    }
    let number = crate::domain::number::format(year, next_counter_number(conn, year)?);
    Ok(Some(
        crate::per_backend!(conn, c => insert_with_number!(&number)
        .returning(TicketRow::as_returning())
        .get_result(c))?,
    ))
}

pub fn find(conn: &mut DbConn, id: i64) -> AppResult<Option<TicketRow>> {
    Ok(tickets::table
        .find(id)
        .select(TicketRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_number(conn: &mut DbConn, number: &str) -> AppResult<Option<TicketRow>> {
    Ok(tickets::table
        .filter(tickets::number.eq(number))
        .select(TicketRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_many(conn: &mut DbConn, ids: &[i64]) -> AppResult<Vec<TicketRow>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(tickets::table
        .filter(tickets::id.eq_any(ids))
        .select(TicketRow::as_select())
        .load(conn)?)
}

/// Reads a ticket for change: locked until the transaction ends on PostgreSQL
/// (SQLite already has a single writer).
pub fn lock(conn: &mut DbConn, id: i64) -> AppResult<Option<TicketRow>> {
    macro_rules! q {
        () => {
            tickets::table.find(id).select(TicketRow::as_select())
        };
    }
    Ok(match conn {
        DbConn::Postgresql(c) => q!().for_update().first(c).optional()?,
        DbConn::Sqlite(c) => q!().first(c).optional()?,
    })
}

/// [`lock`], also reading the ticket's clocks not yet stopped (as
/// [`live_clocks_of`](super::sla::live_clocks_of) reads them) in the same
/// statement on PostgreSQL; on SQLite they are not read (`None`).
pub fn lock_with_live_clocks(
    conn: &mut DbConn,
    id: i64,
) -> AppResult<Option<(TicketRow, Option<Vec<super::sla::ClockRow>>)>> {
    match conn {
        DbConn::Postgresql(c) => {
            let found: Option<(TicketRow, String)> =
                LockWithClocks { id }.get_result(c).optional()?;
            match found {
                Some((row, clocks)) => {
                    let clocks = serde_json::from_str(&clocks).map_err(|e| {
                        crate::error::AppError::Internal(format!("a ticket's clocks: {e}"))
                    })?;
                    Ok(Some((row, Some(clocks))))
                }
                None => Ok(None),
            }
        }
        DbConn::Sqlite(_) => Ok(lock(conn, id)?.map(|row| (row, None))),
    }
}

/// The statement of [`lock_with_live_clocks`] on PostgreSQL, its text fixed
/// so that it stays prepared (diesel prepares no statement with SQL of
/// one's own in it).
struct LockWithClocks {
    id: i64,
}

crate::fixed_pg_statement!(
    LockWithClocks,
    (
        diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<TicketRow, diesel::pg::Pg>>,
        Text
    )
);

/// `SELECT` and the columns of [`TicketRow`] in its order, as diesel spells them.
static TICKET_COLUMNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let query = tickets::table.select(TicketRow::as_select());
    let sql = diesel::debug_query::<diesel::pg::Pg, _>(&query).to_string();
    match sql.split_once(" FROM ") {
        Some((columns, _)) => columns.to_string(),
        None => sql,
    }
});

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for LockWithClocks {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        out.push_sql(&TICKET_COLUMNS);
        out.push_sql(
            ", (SELECT coalesce(json_agg(k ORDER BY k.id), '[]')::text FROM sla_clocks k \
             WHERE k.ticket_id = tickets.id AND k.stopped_at IS NULL) \
             FROM tickets WHERE tickets.id = ",
        );
        out.push_bind_param::<diesel::sql_types::BigInt, _>(&self.id)?;
        out.push_sql(" FOR UPDATE OF tickets");
        Ok(())
    }
}

pub fn save(conn: &mut DbConn, id: i64, changes: &TicketChanges) -> AppResult<()> {
    match conn {
        DbConn::Postgresql(c) => {
            SaveTicket { id, changes }.execute(c)?;
        }
        DbConn::Sqlite(_) => {
            diesel::update(tickets::table.find(id))
                .set(changes)
                .execute(conn)?;
        }
    }
    Ok(())
}

/// [`save`]'s UPDATE on PostgreSQL, with its text fixed so that it stays
/// prepared: diesel prepares no UPDATE of its own building afresh, and this
/// one runs for nearly every change to a ticket (a reply, a state change, an
/// assignment), which would otherwise be parsed and planned each time.
struct SaveTicket<'a> {
    id: i64,
    changes: &'a TicketChanges,
}

crate::fixed_pg_statement!(SaveTicket<'_>, diesel::sql_types::BigInt);

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for SaveTicket<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{BigInt, Nullable, Timestamp};
        let c = self.changes;
        out.push_sql("UPDATE tickets SET subject = ");
        out.push_bind_param::<Text, _>(&c.subject)?;
        out.push_sql(", state = ");
        out.push_bind_param::<Text, _>(&c.state)?;
        out.push_sql(", priority = ");
        out.push_bind_param::<Integer, _>(&c.priority)?;
        out.push_sql(", queue_id = ");
        out.push_bind_param::<BigInt, _>(&c.queue_id)?;
        for (column, value) in [
            ("assignee_id", &c.assignee_id),
            ("contact_id", &c.contact_id),
            ("topic_id", &c.topic_id),
            ("subject_id", &c.subject_id),
            ("escalated_from_queue_id", &c.escalated_from_queue_id),
        ] {
            out.push_sql(&format!(", {column} = "));
            out.push_bind_param::<Nullable<BigInt>, _>(value)?;
        }
        out.push_sql(", escalation_reason = ");
        out.push_bind_param::<Nullable<Text>, _>(&c.escalation_reason)?;
        out.push_sql(", resolution = ");
        out.push_bind_param::<Nullable<Text>, _>(&c.resolution)?;
        out.push_sql(", merged_into_id = ");
        out.push_bind_param::<Nullable<BigInt>, _>(&c.merged_into_id)?;
        out.push_sql(", updated_at = ");
        out.push_bind_param::<Timestamp, _>(&c.updated_at)?;
        for (column, value) in [
            ("first_response_at", &c.first_response_at),
            ("resolved_at", &c.resolved_at),
            ("closed_at", &c.closed_at),
        ] {
            out.push_sql(&format!(", {column} = "));
            out.push_bind_param::<Nullable<Timestamp>, _>(value)?;
        }
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<BigInt, _>(&self.id)?;
        Ok(())
    }
}

/// The ticket claim-next hands out: highest priority, then oldest, not taken.
/// On PostgreSQL concurrent claimers skip each other's locked rows.
pub fn claim_candidate(conn: &mut DbConn, queue_id: i64) -> AppResult<Option<i64>> {
    let q = tickets::table
        .filter(tickets::queue_id.eq(queue_id))
        .filter(tickets::assignee_id.is_null())
        .filter(tickets::state.eq_any(["new", "open", "escalated"]))
        .order((
            tickets::priority.desc(),
            tickets::created_at.asc(),
            tickets::id.asc(),
        ))
        .select(tickets::id);
    Ok(match conn {
        DbConn::Postgresql(c) => q.for_update().skip_locked().first(c).optional()?,
        DbConn::Sqlite(c) => q.first(c).optional()?,
    })
}

pub fn insert_article(conn: &mut DbConn, new: &NewArticle) -> AppResult<i64> {
    Ok(diesel::insert_into(articles::table)
        .values(crate::bound_values!(
            articles,
            new,
            [
                ticket_id,
                kind,
                public,
                author_agent_id,
                author_contact_id,
                body,
                created_at,
                html,
            ]
        ))
        .returning(articles::id)
        .get_result(conn)?)
}

/// Writes an article and the events of its request in that order: `before`,
/// then `added`, the event saying the article was added, whose `data` (a JSON
/// object) gets the article's id as its first key, `article_id`. One
/// statement on PostgreSQL, where each statement is a round trip, together
/// with the service-level clocks the request starts (a new ticket's);
/// returns the article's id.
pub fn insert_article_with_events(
    conn: &mut DbConn,
    article: &NewArticle,
    before: &[NewEvent],
    added: &NewEvent,
    clocks: &Starting,
) -> AppResult<i64> {
    match conn {
        DbConn::Postgresql(c) => {
            let k = clocks.news;
            Ok(ArticleWithEvents {
                article,
                ticket_ids: before.iter().map(|e| e.ticket_id).collect(),
                kinds: before.iter().map(|e| e.kind.clone()).collect(),
                actors: before.iter().map(|e| e.actor_agent_id).collect(),
                data: before.iter().map(|e| e.data.clone()).collect(),
                at: before.iter().map(|e| e.created_at).collect(),
                added,
                clocks: ClockArrays {
                    ticket_ids: k.iter().map(|n| n.ticket_id).collect(),
                    policy_ids: k.iter().map(|n| n.policy_id).collect(),
                    kinds: k.iter().map(|n| n.kind.clone()).collect(),
                    targets: k.iter().map(|n| n.target_minutes).collect(),
                    warnings: k.iter().map(|n| n.warning_percent).collect(),
                    states: k.iter().map(|n| n.state.clone()).collect(),
                    started: k.iter().map(|n| n.started_at).collect(),
                    due: k.iter().map(|n| n.due_at).collect(),
                    warn: k.iter().map(|n| n.warn_at).collect(),
                    updated: k.iter().map(|n| n.updated_at).collect(),
                    calendars: k.iter().map(|n| n.calendar_id).collect(),
                    step: clocks.kind,
                    reason: clocks.reason,
                },
            }
            .get_result(c)?)
        }
        DbConn::Sqlite(_) => {
            let id = insert_article(conn, article)?;
            let mut all = before.to_vec();
            all.push(NewEvent {
                data: with_article_id(&added.data, id),
                ..added.clone()
            });
            insert_events(conn, &all)?;
            if !clocks.news.is_empty() {
                super::sla::insert_clocks_with_event(
                    conn,
                    clocks.news,
                    clocks.kind,
                    clocks.reason,
                )?;
            }
            Ok(id)
        }
    }
}

/// The clocks of [`ArticleWithEvents`], column by column.
struct ClockArrays<'a> {
    ticket_ids: Vec<i64>,
    policy_ids: Vec<i64>,
    kinds: Vec<String>,
    targets: Vec<i32>,
    warnings: Vec<i32>,
    states: Vec<String>,
    started: Vec<NaiveDateTime>,
    due: Vec<Option<NaiveDateTime>>,
    warn: Vec<Option<NaiveDateTime>>,
    updated: Vec<NaiveDateTime>,
    calendars: Vec<Option<i64>>,
    step: &'a str,
    reason: Option<&'a str>,
}

/// `data` (a JSON object) with `"article_id": id` as its first key.
fn with_article_id(data: &str, id: i64) -> String {
    match data.strip_prefix('{').map(str::trim_start) {
        Some(rest) if rest.starts_with('}') => format!("{{\"article_id\":{id}}}"),
        Some(rest) => format!("{{\"article_id\":{id},{rest}"),
        None => data.to_string(),
    }
}

/// The statement of [`insert_article_with_events`] on PostgreSQL: the
/// article, then the events from arrays (one prepared text whatever their
/// number) in their order, the last one naming the article as
/// [`with_article_id`] does; then the clocks, from arrays too (none for most
/// articles), each with its first step.
struct ArticleWithEvents<'a> {
    article: &'a NewArticle,
    ticket_ids: Vec<i64>,
    kinds: Vec<String>,
    actors: Vec<Option<i64>>,
    data: Vec<String>,
    at: Vec<NaiveDateTime>,
    added: &'a NewEvent,
    clocks: ClockArrays<'a>,
}

crate::fixed_pg_statement!(ArticleWithEvents<'_>, diesel::sql_types::BigInt);

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for ArticleWithEvents<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{Array, BigInt, Nullable, Timestamp};
        let a = self.article;
        out.push_sql(
            "WITH a AS (INSERT INTO articles (ticket_id, kind, public, author_agent_id, \
             author_contact_id, body, created_at, html) VALUES (",
        );
        out.push_bind_param::<BigInt, _>(&a.ticket_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&a.kind)?;
        out.push_sql(", ");
        out.push_bind_param::<Bool, _>(&a.public)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<BigInt>, _>(&a.author_agent_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<BigInt>, _>(&a.author_contact_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&a.body)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&a.created_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&a.html)?;
        out.push_sql(
            ") RETURNING id), e AS (INSERT INTO ticket_events (ticket_id, kind, \
             actor_agent_id, data, created_at) SELECT ticket_id, kind, actor, data, at FROM (\
             SELECT n, ticket_id, kind, actor, data, at FROM unnest(",
        );
        out.push_bind_param::<Array<BigInt>, _>(&self.ticket_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.kinds)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.actors)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.data)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamp>, _>(&self.at)?;
        out.push_sql(
            ") WITH ORDINALITY AS x(ticket_id, kind, actor, data, at, n) \
             UNION ALL SELECT 9223372036854775807, ",
        );
        let e = self.added;
        out.push_bind_param::<BigInt, _>(&e.ticket_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&e.kind)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<BigInt>, _>(&e.actor_agent_id)?;
        out.push_sql(
            ", '{\"article_id\":' || a.id || CASE WHEN ltrim(substr(d.v, 2)) LIKE '}%' \
             THEN '}' ELSE ',' || ltrim(substr(d.v, 2)) END, ",
        );
        out.push_bind_param::<Timestamp, _>(&e.created_at)?;
        out.push_sql(" FROM a, (SELECT ");
        out.push_bind_param::<Text, _>(&e.data)?;
        out.push_sql("::text AS v) d) s ORDER BY n), ");
        let k = &self.clocks;
        out.push_sql(
            "c AS (INSERT INTO sla_clocks (ticket_id, policy_id, kind, target_minutes, \
             warning_percent, state, started_at, due_at, warn_at, updated_at, calendar_id) \
             SELECT * FROM unnest(",
        );
        out.push_bind_param::<Array<BigInt>, _>(&k.ticket_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&k.policy_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&k.kinds)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Integer>, _>(&k.targets)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Integer>, _>(&k.warnings)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&k.states)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamp>, _>(&k.started)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Timestamp>>, _>(&k.due)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Timestamp>>, _>(&k.warn)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamp>, _>(&k.updated)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&k.calendars)?;
        out.push_sql(
            ") RETURNING id, due_at, started_at), \
             ce AS (INSERT INTO sla_clock_events (clock_id, kind, reason, due_at, at) SELECT id, ",
        );
        out.push_bind_param::<Text, _>(&k.step)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&k.reason)?;
        out.push_sql(", due_at, started_at FROM c) SELECT id FROM a");
        Ok(())
    }
}

pub fn insert_attachment(conn: &mut DbConn, new: &NewAttachment) -> AppResult<i64> {
    Ok(diesel::insert_into(attachments::table)
        .values(new)
        .returning(attachments::id)
        .get_result(conn)?)
}

macro_rules! event_values {
    ($row:expr) => {
        crate::bound_values!(
            ticket_events,
            $row,
            [ticket_id, kind, actor_agent_id, data, created_at]
        )
    };
}

/// An event's values owned, for the rows of a multi-row insert (diesel keys
/// a fixed-shape batch's prepared statement by a type without borrows).
macro_rules! owned_event {
    ($e:expr) => {
        (
            ticket_events::ticket_id.eq($e.ticket_id),
            ticket_events::kind.eq($e.kind.clone()),
            ticket_events::actor_agent_id.eq($e.actor_agent_id),
            ticket_events::data.eq($e.data.clone()),
            ticket_events::created_at.eq($e.created_at),
        )
    };
}

pub fn insert_event(conn: &mut DbConn, new: &NewEvent) -> AppResult<()> {
    diesel::insert_into(ticket_events::table)
        .values(event_values!(new))
        .execute(conn)?;
    Ok(())
}

/// Several events in one statement, in order (their ids follow it). Statements
/// of one, two or three rows (what a request writes) keep a fixed shape and
/// stay prepared; a longer list is one statement of its own length.
pub fn insert_events(conn: &mut DbConn, rows: &[NewEvent]) -> AppResult<()> {
    match rows {
        [] => {}
        [one] => insert_event(conn, one)?,
        [a, b] => {
            let q = diesel::insert_into(ticket_events::table)
                .values([owned_event!(a), owned_event!(b)]);
            crate::per_backend!(conn, c => q.execute(c))?;
        }
        [a, b, d] => {
            let q = diesel::insert_into(ticket_events::table).values([
                owned_event!(a),
                owned_event!(b),
                owned_event!(d),
            ]);
            crate::per_backend!(conn, c => q.execute(c))?;
        }
        more => {
            // A batch's events (the outbox's sends): one statement, planned
            // each time, beats a prepared one per three rows.
            let rows: Vec<_> = more.iter().map(|e| owned_event!(e)).collect();
            let q = diesel::insert_into(ticket_events::table).values(rows);
            crate::per_backend!(conn, c => q.execute(c))?;
        }
    }
    Ok(())
}

pub fn articles(
    conn: &mut DbConn,
    ticket_id: i64,
    public_only: bool,
) -> AppResult<Vec<ArticleRow>> {
    let mut q = articles::table
        .filter(articles::ticket_id.eq(ticket_id))
        .select(ArticleRow::as_select())
        .into_boxed();
    if public_only {
        q = q.filter(articles::public.eq(true));
    }
    Ok(q.order(articles::id).load(conn)?)
}

pub fn attachments_of(conn: &mut DbConn, article_ids: &[i64]) -> AppResult<Vec<AttachmentMeta>> {
    if article_ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(attachments::table
        .filter(attachments::article_id.eq_any(article_ids))
        .order(attachments::id)
        .select(AttachmentMeta::as_select())
        .load(conn)?)
}

/// The attachments of every article of a ticket ([`attachments_of`] its
/// articles), in one query whose text does not change with their number,
/// so that it stays prepared.
pub fn attachments_of_ticket(conn: &mut DbConn, ticket_id: i64) -> AppResult<Vec<AttachmentMeta>> {
    let articles = articles::table
        .filter(articles::ticket_id.eq(ticket_id))
        .select(articles::id);
    Ok(attachments::table
        .filter(attachments::article_id.eq_any(articles))
        .order(attachments::id)
        .select(AttachmentMeta::as_select())
        .load(conn)?)
}

/// An attachment's metadata, its ticket, and its bytes.
pub fn attachment(conn: &mut DbConn, id: i64) -> AppResult<Option<(AttachmentMeta, i64, Vec<u8>)>> {
    Ok(attachments::table
        .inner_join(articles::table)
        .filter(attachments::id.eq(id))
        .select((
            AttachmentMeta::as_select(),
            articles::ticket_id,
            attachments::data,
        ))
        .first(conn)
        .optional()?)
}

/// An article's files: (name, content type, bytes).
pub fn attachment_files(
    conn: &mut DbConn,
    article_id: i64,
) -> AppResult<Vec<(String, String, Vec<u8>)>> {
    Ok(attachments::table
        .filter(attachments::article_id.eq(article_id))
        .order(attachments::id)
        .select((
            attachments::filename,
            attachments::content_type,
            attachments::data,
        ))
        .load(conn)?)
}

pub fn events(conn: &mut DbConn, ticket_id: i64) -> AppResult<Vec<EventRow>> {
    Ok(ticket_events::table
        .filter(ticket_events::ticket_id.eq(ticket_id))
        .order(ticket_events::id)
        .select(EventRow::as_select())
        .load(conn)?)
}

pub fn find_intake_key(conn: &mut DbConn, key: &str) -> AppResult<Option<(i64, i64)>> {
    Ok(intake_keys::table
        .find(key)
        .select((intake_keys::ticket_id, intake_keys::article_id))
        .first(conn)
        .optional()?)
}

pub fn insert_intake_key(
    conn: &mut DbConn,
    key: &str,
    ticket_id: i64,
    article_id: i64,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::insert_into(intake_keys::table)
        .values((
            intake_keys::key.eq(key),
            intake_keys::ticket_id.eq(ticket_id),
            intake_keys::article_id.eq(article_id),
            intake_keys::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Moves a merged ticket's articles, events and intake keys to the survivor.
pub fn move_history(conn: &mut DbConn, from: i64, to: i64) -> AppResult<()> {
    diesel::update(articles::table.filter(articles::ticket_id.eq(from)))
        .set(articles::ticket_id.eq(to))
        .execute(conn)?;
    diesel::update(ticket_events::table.filter(ticket_events::ticket_id.eq(from)))
        .set(ticket_events::ticket_id.eq(to))
        .execute(conn)?;
    diesel::update(intake_keys::table.filter(intake_keys::ticket_id.eq(from)))
        .set(intake_keys::ticket_id.eq(to))
        .execute(conn)?;
    Ok(())
}

/// Links in both directions.
pub fn links(conn: &mut DbConn, ticket_id: i64) -> AppResult<Vec<LinkRow>> {
    Ok(ticket_links::table
        .filter(
            ticket_links::ticket_id
                .eq(ticket_id)
                .or(ticket_links::linked_ticket_id.eq(ticket_id)),
        )
        .order(ticket_links::id)
        .select(LinkRow::as_select())
        .load(conn)?)
}

/// Records a link once; false when the pair was already linked (either way round).
pub fn insert_link(
    conn: &mut DbConn,
    a: i64,
    b: i64,
    kind: &str,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let exists: i64 = ticket_links::table
        .filter(ticket_links::kind.eq(kind))
        .filter(
            (ticket_links::ticket_id
                .eq(a)
                .and(ticket_links::linked_ticket_id.eq(b)))
            .or(ticket_links::ticket_id
                .eq(b)
                .and(ticket_links::linked_ticket_id.eq(a))),
        )
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(false);
    }
    diesel::insert_into(ticket_links::table)
        .values((
            ticket_links::ticket_id.eq(a),
            ticket_links::linked_ticket_id.eq(b),
            ticket_links::kind.eq(kind),
            ticket_links::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Which tickets the staff list shows.
#[derive(Debug, Default, Clone)]
pub struct TicketFilter {
    pub queue_ids: Vec<i64>,
    pub states: Vec<String>,
    pub assignee: Option<Option<i64>>,
    pub channel: Option<String>,
    pub topic_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub created_from: Option<NaiveDateTime>,
    pub created_to: Option<NaiveDateTime>,
    pub text: Option<TextSearch>,
    pub priority: Option<i32>,
    pub number: Option<String>,
    /// Tickets in a service-level condition at an instant.
    pub sla: Option<(super::sla::SlaFilter, NaiveDateTime)>,
    /// Keyset: only tickets past this id in the listing order.
    pub after_id: Option<i64>,
    pub oldest_first: bool,
    pub limit: i64,
}

/// A full-text query, prepared for both backends.
#[derive(Debug, Clone)]
pub struct TextSearch {
    /// Lowercase words, space separated (PostgreSQL `plainto_tsquery`).
    pub words: String,
    /// The same words as an FTS5 query.
    pub fts5: String,
    /// LIKE pattern over the contact's search key.
    pub contact_like: String,
    /// The same text as an FTS5 phrase for the contacts' trigram index (SQLite),
    /// None when it is shorter than three characters: then contacts are scanned.
    pub contact_trigrams: Option<String>,
}

/// How many of the newest tickets (below the page's cursor) a PostgreSQL
/// search looks through, in turn, before it looks through all of them.
const SEARCH_WINDOWS: [i64; 3] = [1_000, 8_000, 64_000];

pub fn list(conn: &mut DbConn, f: &TicketFilter) -> AppResult<Vec<TicketRow>> {
    // A word in many tickets has thousands of matches, and PostgreSQL reads
    // the row of each to learn its ticket, then looks each of the newest
    // tickets up among them; but the newest page of them is usually among
    // the newest tickets. So the search looks there first, in windows that
    // grow eightfold, and goes through everything only when the largest
    // holds less than a page; a window costs the word's index entries and
    // the rows of its matches inside it. Exact either way: a full page from
    // a window is the newest page.
    if f.text.is_some() && !f.oldest_first && matches!(conn, DbConn::Postgresql(_)) {
        for window in SEARCH_WINDOWS {
            let rows = list_in(conn, f, Some(window))?;
            if rows.len() as i64 >= f.limit {
                return Ok(rows);
            }
        }
    }
    list_in(conn, f, None)
}

fn list_in(conn: &mut DbConn, f: &TicketFilter, window: Option<i64>) -> AppResult<Vec<TicketRow>> {
    let mut q = tickets::table
        .select(TicketRow::as_select())
        .into_boxed::<DbBackend>();
    // One queue or one state is an equality: PostgreSQL then walks an index
    // of (queue_id, state, id) in order; `= ANY(array)` could hold several
    // values and would need a sort of every match.
    match &f.queue_ids[..] {
        [] => {}
        [one] => q = q.filter(tickets::queue_id.eq(*one)),
        many => q = q.filter(tickets::queue_id.eq_any(many.to_vec())),
    }
    match &f.states[..] {
        [] => {}
        [one] => q = q.filter(tickets::state.eq(one.clone())),
        many => q = q.filter(tickets::state.eq_any(many.to_vec())),
    }
    match f.assignee {
        Some(Some(id)) => q = q.filter(tickets::assignee_id.eq(id)),
        Some(None) => q = q.filter(tickets::assignee_id.is_null()),
        None => {}
    }
    if let Some(c) = &f.channel {
        q = q.filter(tickets::channel.eq(c.clone()));
    }
    if let Some(t) = f.topic_id {
        q = q.filter(tickets::topic_id.eq(t));
    }
    if let Some(c) = f.contact_id {
        q = q.filter(tickets::contact_id.eq(c));
    }
    if let Some(p) = f.priority {
        q = q.filter(tickets::priority.eq(p));
    }
    if let Some(n) = &f.number {
        q = q.filter(tickets::number.eq(n.clone()));
    }
    if let Some(from) = f.created_from {
        q = q.filter(tickets::created_at.ge(from));
    }
    if let Some(to) = f.created_to {
        q = q.filter(tickets::created_at.lt(to));
    }
    // Live clocks carry their due and warning times: plain comparisons.
    match f.sla {
        Some((super::sla::SlaFilter::AtRisk, now)) => {
            q = q.filter(
                tickets::id.eq_any(
                    sla_clocks::table
                        .filter(super::sla::at_risk_clock(now))
                        .select(sla_clocks::ticket_id),
                ),
            )
        }
        Some((super::sla::SlaFilter::Breached, now)) => {
            q = q.filter(
                tickets::id.eq_any(
                    sla_clocks::table
                        .filter(super::sla::breached_clock(now))
                        .select(sla_clocks::ticket_id),
                ),
            )
        }
        None => {}
    }
    if let Some(t) = &f.text {
        q = match conn {
            // One set of matching ids, each part through its own index (the
            // subject's and the articles' GIN indexes, the contacts' trigram
            // index, then their tickets by contact): an OR of the three would
            // compute the subject's tsvector for every ticket the list walks
            // through. The set is an array, computed once, whose ids are then
            // looked up newest first: as `IN (subquery)` the planner may
            // estimate thousands of matches and walk the whole primary key
            // backwards to merge with the set (a word found in three old
            // tickets took 250 ms at a million tickets).
            DbConn::Postgresql(_) => {
                // The window: ids above a floor, in each part (the articles'
                // through their ticket_id index, combined with the GIN one).
                let floor = window.map(|w| match f.after_id {
                    Some(after) => format!(" AND {{}} > {}", after - w),
                    None => format!(" AND {{}} > (SELECT max(id) FROM tickets) - {w}"),
                });
                let within = |col: &str| {
                    floor
                        .as_ref()
                        .map(|f| f.replace("{}", col))
                        .unwrap_or_default()
                };
                q.filter(
                    diesel::dsl::sql::<Bool>("tickets.id = ANY(ARRAY(SELECT m.id FROM tickets m WHERE to_tsvector('simple', m.subject) @@ plainto_tsquery('simple', ")
                        .bind::<Text, _>(t.words.clone())
                        .sql(&format!("){} UNION SELECT ticket_id FROM articles WHERE to_tsvector('simple', body) @@ plainto_tsquery('simple', ", within("m.id")))
                        .bind::<Text, _>(t.words.clone())
                        .sql(&format!("){} UNION SELECT c.id FROM tickets c WHERE c.contact_id IN (SELECT id FROM contacts WHERE search_key LIKE ", within("ticket_id")))
                        .bind::<Text, _>(t.contact_like.clone())
                        .sql(&format!(" ESCAPE '\\'){}))", within("c.id"))),
                )
            }
            // The same single set of ids: an OR of the three made SQLite read
            // every matching ticket and sort them all for the newest 50. The
            // set is kept in order, so the list walks it from its end and stops
            // at the limit. Articles give their ticket through an index of (id,
            // ticket_id), without reading their bodies; contacts are narrowed by
            // their trigram index before the exact LIKE.
            DbConn::Sqlite(_) => {
                let ids = diesel::dsl::sql::<Bool>("tickets.id IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ")
                    .bind::<Text, _>(t.fts5.clone())
                    .sql(" UNION SELECT ticket_id FROM articles INDEXED BY articles_id_ticket WHERE id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ")
                    .bind::<Text, _>(t.fts5.clone())
                    .sql(") UNION SELECT c.id FROM tickets c WHERE c.contact_id IN (SELECT id FROM contacts WHERE ");
                match &t.contact_trigrams {
                    Some(tri) => q.filter(
                        ids.sql("id IN (SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ")
                            .bind::<Text, _>(tri.clone())
                            .sql(") AND search_key LIKE ")
                            .bind::<Text, _>(t.contact_like.clone())
                            .sql(" ESCAPE '\\'))"),
                    ),
                    None => q.filter(
                        ids.sql("search_key LIKE ")
                            .bind::<Text, _>(t.contact_like.clone())
                            .sql(" ESCAPE '\\'))"),
                    ),
                }
            }
        };
    }
    if f.oldest_first {
        if let Some(after) = f.after_id {
            q = q.filter(tickets::id.gt(after));
        }
        q = q.order(tickets::id.asc());
    } else {
        if let Some(after) = f.after_id {
            q = q.filter(tickets::id.lt(after));
        }
        q = q.order(tickets::id.desc());
    }
    Ok(q.limit(f.limit).load(conn)?)
}

/// Writes the values filled in on a ticket's call form.
pub fn insert_fields(conn: &mut DbConn, rows: &[TicketFieldRow]) -> AppResult<()> {
    // One statement per value: a form has a handful, and batch inserts are
    // not available on every backend of the MultiConnection.
    for row in rows {
        diesel::insert_into(ticket_fields::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// A ticket's call-form values in the form's order.
pub fn fields_of(conn: &mut DbConn, ticket_id: i64) -> AppResult<Vec<TicketFieldRow>> {
    Ok(ticket_fields::table
        .filter(ticket_fields::ticket_id.eq(ticket_id))
        .order(ticket_fields::seq)
        .select(TicketFieldRow::as_select())
        .load(conn)?)
}

#[cfg(test)]
mod article_id_tests {
    use super::with_article_id;

    #[test]
    fn the_article_id_leads_the_events_data() {
        assert_eq!(
            with_article_id(r#"{"kind":"note"}"#, 7),
            r#"{"article_id":7,"kind":"note"}"#
        );
        assert_eq!(with_article_id("{}", 7), r#"{"article_id":7}"#);
        assert_eq!(with_article_id("{ }", 7), r#"{"article_id":7}"#);
    }
}
