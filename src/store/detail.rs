//! Everything a ticket's detail shows, read as stored: the ticket, its
//! contact with their lists, its articles with their attachments' metadata,
//! its events, links, call-form values and service-level clocks.
//!
//! On PostgreSQL it is one statement that returns the lot as one JSON
//! document: each read is a round trip that wakes the server and the backend
//! on a busy machine, and a ticket's detail used to take eleven of them (it is
//! the answer of every staff-API write too). On SQLite, where a query is a
//! function call, it is the plain reads one after the other.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{BigInt, Text};
use serde::Deserialize;

use super::contacts::{self, ListEntry, Lists};
use super::rows::{
    ArticleRow, AttachmentMeta, ContactRow, EventRow, LinkRow, TicketFieldRow, TicketRow,
};
use super::sla::{ClockEventRow, ClockRow};
use super::{catalogue, tickets, DbConn};
use crate::error::{AppError, AppResult};

/// A ticket's detail as stored.
#[derive(Debug, Clone, Deserialize)]
pub struct DetailRows {
    /// The catalogue's version as read with the rest (PostgreSQL), so the
    /// catalogue's cache is checked without a query of its own.
    pub catalogue_version: Option<i64>,
    pub ticket: TicketRow,
    pub contact: Option<ContactRow>,
    #[serde(deserialize_with = "lists_from_entries")]
    pub contact_lists: Lists,
    pub clocks: Vec<ClockRow>,
    /// The clocks' history, oldest first.
    pub clock_events: Vec<ClockEventRow>,
    pub articles: Vec<ArticleRow>,
    pub attachments: Vec<AttachmentMeta>,
    /// The names of the articles' authors other than the ticket's contact.
    pub authors: Vec<(i64, String)>,
    pub events: Vec<EventRow>,
    pub links: Vec<LinkRow>,
    /// The linked tickets and the one this was merged into.
    pub others: Vec<TicketRow>,
    pub fields: Vec<TicketFieldRow>,
}

fn lists_from_entries<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Lists, D::Error> {
    let entries = Option::<Vec<ListEntry>>::deserialize(d)?;
    Ok(Lists::from_entries(entries.unwrap_or_default()))
}

/// The ticket `id`'s detail, or None when there is no such ticket.
pub fn read(conn: &mut DbConn, id: i64) -> AppResult<Option<DetailRows>> {
    match conn {
        DbConn::Postgresql(c) => {
            let doc: Option<String> = Statement { id }.get_result(c).optional()?;
            doc.map(|doc| {
                serde_json::from_str(&doc).map_err(|e| {
                    AppError::Internal(format!("ticket {id}'s detail is unreadable: {e}"))
                })
            })
            .transpose()
        }
        DbConn::Sqlite(_) => one_by_one(conn, id),
    }
}

fn one_by_one(conn: &mut DbConn, id: i64) -> AppResult<Option<DetailRows>> {
    let Some(ticket) = tickets::find(conn, id)? else {
        return Ok(None);
    };
    let (contact, contact_lists) = match ticket.contact_id {
        Some(cid) => match contacts::find(conn, cid)? {
            Some(row) => (Some(row), contacts::lists(conn, cid)?),
            None => (None, Lists::default()),
        },
        None => (None, Lists::default()),
    };
    // The clocks' steps and the attachments by the ticket, not by lists of
    // ids: a query with a list is prepared anew every time.
    let clocks = super::sla::clocks_of(conn, id)?;
    let clock_events = match clocks.is_empty() {
        true => vec![],
        false => super::sla::events_of_ticket(conn, id)?,
    };
    let articles = tickets::articles(conn, id, false)?;
    let attachments = match articles.is_empty() {
        true => vec![],
        false => tickets::attachments_of_ticket(conn, id)?,
    };
    let mut author_ids: Vec<i64> = articles
        .iter()
        .filter_map(|a| a.author_contact_id)
        .filter(|a| Some(*a) != ticket.contact_id)
        .collect();
    author_ids.sort_unstable();
    author_ids.dedup();
    let authors = contacts::find_many(conn, &author_ids)?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let events = tickets::events(conn, id)?;
    let links = tickets::links(conn, id)?;
    let mut other_ids: Vec<i64> = links
        .iter()
        .map(|l| {
            if l.ticket_id == id {
                l.linked_ticket_id
            } else {
                l.ticket_id
            }
        })
        .chain(ticket.merged_into_id)
        .collect();
    other_ids.sort_unstable();
    other_ids.dedup();
    let others = tickets::find_many(conn, &other_ids)?;
    let fields = tickets::fields_of(conn, id)?;
    Ok(Some(DetailRows {
        catalogue_version: None,
        ticket,
        contact,
        contact_lists,
        clocks,
        clock_events,
        articles,
        attachments,
        authors,
        events,
        links,
        others,
        fields,
    }))
}

/// The catalogue as of the version read with a detail (its cache when current).
pub fn catalogue_of(
    conn: &mut DbConn,
    rows: &DetailRows,
) -> AppResult<std::sync::Arc<catalogue::Snapshot>> {
    match rows.catalogue_version {
        Some(v) => catalogue::snapshot_at(conn, v),
        None => catalogue::snapshot(conn),
    }
}

/// The PostgreSQL statement of [`read`]. Its text is fixed, so diesel keeps it
/// prepared; the JSON keys are the fields of [`DetailRows`] and of the row
/// types (`row_to_json` names a row's keys after its columns).
struct Statement {
    id: i64,
}

crate::fixed_pg_statement!(Statement, Text);

impl QueryFragment<Pg> for Statement {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH t AS (SELECT * FROM tickets WHERE id = ");
        out.push_bind_param::<BigInt, _>(&self.id)?;
        out.push_sql(&REST);
        Ok(())
    }
}

/// The statement after its one parameter (the list numbers are
/// [`contacts::EMAIL`] and the others). The clocks' steps, the attachments
/// and the authors are looked up as `= ANY(ARRAY(…))` of the CTEs `k` and
/// `a`, an index lookup whatever the planner thinks of their size: it takes
/// a CTE for 200 rows, and as `IN (SELECT … FROM k)`, between a hundred
/// thousand and a million clock steps, it found reading them all cheaper
/// than 200 index lookups (60 ms for every detail).
static REST: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
            "), a AS (SELECT a.id, a.ticket_id, a.kind, a.public, a.author_agent_id, \
             a.author_contact_id, a.body, a.created_at, a.html FROM articles a, t \
             WHERE a.ticket_id = t.id), \
             k AS (SELECT k.* FROM sla_clocks k, t WHERE k.ticket_id = t.id) \
             SELECT json_build_object(\
             'catalogue_version', (SELECT version FROM catalogue_version), \
             'ticket', row_to_json(t), \
             'contact', (SELECT row_to_json(c) FROM contacts c WHERE c.id = t.contact_id), \
             'contact_lists', (SELECT json_agg(json_build_array(l.list, l.a, l.b, l.position, l.id)) FROM (\
                 SELECT {email} AS list, email AS a, '' AS b, 0 AS position, id FROM contact_emails WHERE contact_id = t.contact_id \
                 UNION ALL SELECT {phone}, phone, '', 0, id FROM contact_phones WHERE contact_id = t.contact_id \
                 UNION ALL SELECT {attribute}, name, value, position, id FROM contact_attributes WHERE contact_id = t.contact_id) l), \
             'clocks', coalesce((SELECT json_agg(k ORDER BY k.id) FROM k), '[]'), \
             'clock_events', coalesce((SELECT json_agg(e ORDER BY e.id) FROM (\
                 SELECT e.id, e.clock_id, e.kind, e.reason, e.due_at, e.at FROM sla_clock_events e \
                 WHERE e.clock_id = ANY(ARRAY(SELECT id FROM k))) e), '[]'), \
             'articles', coalesce((SELECT json_agg(a ORDER BY a.id) FROM a), '[]'), \
             'attachments', coalesce((SELECT json_agg(m ORDER BY m.id) FROM (\
                 SELECT m.id, m.article_id, m.filename, m.content_type, m.size, m.sha256, m.created_at \
                 FROM attachments m WHERE m.article_id = ANY(ARRAY(SELECT id FROM a))) m), '[]'), \
             'authors', coalesce((SELECT json_agg(json_build_array(c.id, c.name)) FROM contacts c \
                 WHERE c.id = ANY(ARRAY(SELECT author_contact_id FROM a)) \
                 AND c.id IS DISTINCT FROM t.contact_id), '[]'), \
             'events', coalesce((SELECT json_agg(e ORDER BY e.id) FROM (\
                 SELECT e.id, e.ticket_id, e.kind, e.actor_agent_id, e.data, e.created_at \
                 FROM ticket_events e WHERE e.ticket_id = t.id) e), '[]'), \
             'links', coalesce((SELECT json_agg(l ORDER BY l.id) FROM (\
                 SELECT l.id, l.ticket_id, l.linked_ticket_id, l.kind, l.created_at FROM ticket_links l \
                 WHERE l.ticket_id = t.id OR l.linked_ticket_id = t.id) l), '[]'), \
             'others', coalesce((SELECT json_agg(o) FROM tickets o WHERE o.id IN (\
                 SELECT linked_ticket_id FROM ticket_links WHERE ticket_id = t.id \
                 UNION SELECT ticket_id FROM ticket_links WHERE linked_ticket_id = t.id \
                 UNION SELECT t.merged_into_id)), '[]'), \
             'fields', coalesce((SELECT json_agg(f ORDER BY f.seq) FROM (\
                 SELECT f.ticket_id, f.name, f.seq, f.label, f.kind, f.value FROM ticket_fields f \
                 WHERE f.ticket_id = t.id) f), '[]')\
             )::text FROM t",
            email = contacts::EMAIL,
            phone = contacts::PHONE,
            attribute = contacts::ATTRIBUTE,
        )
});
