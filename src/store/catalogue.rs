//! Queues (groups) and the topic catalogue: topics (argomento) and subjects (oggetto).

use diesel::dsl::count_star;
use diesel::prelude::*;

use super::rows::{NewQueue, NewSubject, NewTopic, QueueRow, SubjectRow, TopicRow};
use super::schema::{queues, subjects, tickets, topics};
use super::DbConn;
use crate::error::AppResult;

pub fn insert_queue(conn: &mut DbConn, new: &NewQueue) -> AppResult<i64> {
    Ok(diesel::insert_into(queues::table)
        .values(new)
        .returning(queues::id)
        .get_result(conn)?)
}

pub fn queue(conn: &mut DbConn, id: i64) -> AppResult<Option<QueueRow>> {
    Ok(queues::table
        .find(id)
        .select(QueueRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn queue_by_name(conn: &mut DbConn, name: &str) -> AppResult<Option<QueueRow>> {
    Ok(queues::table
        .filter(queues::name.eq(name))
        .select(QueueRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn queues(conn: &mut DbConn) -> AppResult<Vec<QueueRow>> {
    Ok(queues::table
        .order(queues::id)
        .select(QueueRow::as_select())
        .load(conn)?)
}

pub fn update_queue(conn: &mut DbConn, row: &QueueRow) -> AppResult<()> {
    diesel::update(queues::table.find(row.id))
        .set((
            queues::name.eq(&row.name),
            queues::level.eq(&row.level),
            queues::description.eq(&row.description),
            queues::email.eq(&row.email),
            queues::active.eq(row.active),
            queues::calendar_id.eq(row.calendar_id),
            queues::supervisor_id.eq(row.supervisor_id),
        ))
        .execute(conn)?;
    Ok(())
}

/// Per queue and state, how many tickets there are (merged ones excluded).
pub fn ticket_counts(conn: &mut DbConn) -> AppResult<Vec<(i64, String, i64)>> {
    Ok(tickets::table
        .filter(tickets::state.ne("merged"))
        .group_by((tickets::queue_id, tickets::state))
        .select((tickets::queue_id, tickets::state, count_star()))
        .load(conn)?)
}

/// Per queue, how many active tickets nobody has taken.
pub fn unassigned_counts(conn: &mut DbConn) -> AppResult<Vec<(i64, i64)>> {
    Ok(tickets::table
        .filter(tickets::assignee_id.is_null())
        .filter(tickets::state.eq_any([
            "new",
            "open",
            "escalated",
            "pending_customer",
            "pending_third_party",
        ]))
        .group_by(tickets::queue_id)
        .select((tickets::queue_id, count_star()))
        .load(conn)?)
}

pub fn insert_topic(conn: &mut DbConn, new: &NewTopic) -> AppResult<i64> {
    Ok(diesel::insert_into(topics::table)
        .values(new)
        .returning(topics::id)
        .get_result(conn)?)
}

pub fn topic(conn: &mut DbConn, id: i64) -> AppResult<Option<TopicRow>> {
    Ok(topics::table
        .find(id)
        .select(TopicRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn topics(conn: &mut DbConn) -> AppResult<Vec<TopicRow>> {
    Ok(topics::table
        .order(topics::id)
        .select(TopicRow::as_select())
        .load(conn)?)
}

pub fn update_topic(conn: &mut DbConn, row: &TopicRow) -> AppResult<()> {
    diesel::update(topics::table.find(row.id))
        .set((
            topics::name.eq(&row.name),
            topics::queue_id.eq(row.queue_id),
            topics::info_script.eq(&row.info_script),
            topics::public.eq(row.public),
            topics::active.eq(row.active),
            topics::form.eq(&row.form),
            topics::in_statistics.eq(row.in_statistics),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn insert_subject(conn: &mut DbConn, new: &NewSubject) -> AppResult<i64> {
    Ok(diesel::insert_into(subjects::table)
        .values(new)
        .returning(subjects::id)
        .get_result(conn)?)
}

pub fn subject(conn: &mut DbConn, id: i64) -> AppResult<Option<SubjectRow>> {
    Ok(subjects::table
        .find(id)
        .select(SubjectRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn subjects(conn: &mut DbConn) -> AppResult<Vec<SubjectRow>> {
    Ok(subjects::table
        .order((subjects::topic_id, subjects::id))
        .select(SubjectRow::as_select())
        .load(conn)?)
}

pub fn update_subject(conn: &mut DbConn, row: &SubjectRow) -> AppResult<()> {
    diesel::update(subjects::table.find(row.id))
        .set((
            subjects::name.eq(&row.name),
            subjects::queue_id.eq(row.queue_id),
            subjects::info_script.eq(&row.info_script),
            subjects::active.eq(row.active),
        ))
        .execute(conn)?;
    Ok(())
}

/// The catalogue as one value: queues, topics, subjects, the active SLA
/// policies, the agents' names and the mailboxes' addresses, which every
/// request reads and which change a few times a day. [`snapshot`] gives the
/// current one.
#[derive(Debug)]
pub struct Snapshot {
    /// The `catalogue_version` it was read at: two copies of one version
    /// hold the same catalogue.
    pub version: i64,
    pub queues: Vec<QueueRow>,
    pub topics: Vec<TopicRow>,
    pub subjects: Vec<SubjectRow>,
    pub policies: Vec<super::sla::PolicyRow>,
    pub agent_names: std::collections::HashMap<i64, String>,
    /// Every mailbox's address: mail from one of them is a loop.
    pub mailbox_addresses: Vec<String>,
}

impl Snapshot {
    pub fn queue(&self, id: i64) -> Option<&QueueRow> {
        self.queues.iter().find(|q| q.id == id)
    }

    pub fn topic(&self, id: i64) -> Option<&TopicRow> {
        self.topics.iter().find(|t| t.id == id)
    }

    pub fn subject(&self, id: i64) -> Option<&SubjectRow> {
        self.subjects.iter().find(|s| s.id == id)
    }

    /// The oldest active first-level queue: where unrouted requests go.
    pub fn default_first_level(&self) -> Option<&QueueRow> {
        self.queues
            .iter()
            .filter(|q| q.level == "first_level" && q.active)
            .min_by_key(|q| q.id)
    }

    fn load(conn: &mut DbConn, version: i64) -> AppResult<Snapshot> {
        Ok(Snapshot {
            version,
            queues: queues(conn)?,
            topics: topics(conn)?,
            subjects: subjects(conn)?,
            policies: super::sla::active_policies(conn)?,
            agent_names: super::agents::names(conn)?,
            mailbox_addresses: super::mail::own_addresses(conn)?,
        })
    }
}

/// A pool's catalogue in memory.
#[derive(Default)]
pub struct Cache(std::sync::Mutex<Option<std::sync::Arc<Snapshot>>>);

impl Cache {
    /// The copy last read, unchecked: current unless the catalogue changed
    /// since (the [`snapshot`] of the transaction that relies on it tells).
    pub fn last(&self) -> Option<std::sync::Arc<Snapshot>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn keep(&self, snapshot: std::sync::Arc<Snapshot>) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(snapshot);
    }
}

thread_local! {
    /// The cache of the pool whose connection this thread is using
    /// (set by `Db::read_blocking` / `Db::write_blocking` around their work).
    static CURRENT: std::cell::RefCell<Option<std::sync::Arc<Cache>>> =
        const { std::cell::RefCell::new(None) };
}

/// Makes `cache` the one [`snapshot`] uses on this thread until the guard drops.
pub fn use_cache(cache: std::sync::Arc<Cache>) -> impl Drop {
    struct Restore(Option<std::sync::Arc<Cache>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    }
    Restore(CURRENT.with(|c| c.borrow_mut().replace(cache)))
}

/// The current catalogue, for one statement: the database's catalogue
/// version (which triggers change on every write to those tables, from any
/// instance or tool) is compared with the pool's copy in memory, and the
/// catalogue is read again only when they differ. Read inside the caller's
/// transaction, it shows that transaction's own changes too. Outside a pool
/// (a bare connection) it is read every time.
pub fn snapshot(conn: &mut DbConn) -> AppResult<std::sync::Arc<Snapshot>> {
    use super::schema::catalogue_version as cv;
    let version: i64 = cv::table.select(cv::version).first(conn)?;
    snapshot_at(conn, version)
}

/// The pool's copy last read, its version not read: for a write that
/// confirms the version in its own statement (a new ticket's INSERT,
/// [`tickets::insert_numbered`](super::tickets::insert_numbered)) and reads
/// the catalogue only when that finds it changed. `None` outside a pool and
/// before the pool's first read.
pub fn assumed() -> Option<std::sync::Arc<Snapshot>> {
    CURRENT.with(|c| c.borrow().as_deref().and_then(Cache::last))
}

/// The catalogue at `version`, just read with something else: the cache when
/// it holds that version, else read now.
pub fn snapshot_at(conn: &mut DbConn, version: i64) -> AppResult<std::sync::Arc<Snapshot>> {
    let cache = CURRENT.with(|c| c.borrow().clone());
    if let Some(held) = cache.as_deref().and_then(Cache::last) {
        if held.version == version {
            return Ok(held);
        }
    }
    let fresh = std::sync::Arc::new(Snapshot::load(conn, version)?);
    if let Some(cache) = cache {
        cache.keep(fresh.clone());
    }
    Ok(fresh)
}
