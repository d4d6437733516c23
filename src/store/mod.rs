//! The storage layer: one diesel codebase for SQLite and PostgreSQL.
//! Every SQL statement in Sportello lives under this folder. Repository
//! functions are plain `fn(&mut DbConn, …) -> AppResult<T>`; services run them
//! through [`Db::read`] or [`Db::write`] (one transaction).

pub mod agents;
pub mod bulk;
pub mod calendars;
pub mod callbacks;
pub mod catalogue;
pub mod contacts;
pub mod delegations;
pub mod detail;
pub mod escalation;
pub mod housekeeping;
pub mod jobs;
pub mod mail;
pub mod outbox;
pub mod phone;
pub mod public;
pub mod rows;
pub mod schema;
pub mod service_points;
pub mod sla;
mod sqlite;
pub mod stats;
pub mod supervisor;
pub mod tickets;

use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, Pool};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::{AppError, AppResult};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend; the variant is chosen by the URL's scheme.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Runs a body written once against the concrete connection of each backend,
/// for the few statements the two dialects spell differently.
#[macro_export]
macro_rules! per_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::store::DbConn::Postgresql($c) => $body,
            $crate::store::DbConn::Sqlite($c) => $body,
        }
    };
}

/// Insert values that keep their statement prepared: a tuple of
/// `table::field.eq(&row.field)`, one per field named.
///
/// diesel's derived `Insertable` writes an `Option` field as "the value, or
/// `DEFAULT`", and such a column marks the whole statement as not cacheable,
/// even when the value is there: PostgreSQL then parses and plans the insert
/// on every execution, SQLite prepares it again. `eq` binds `NULL` for `None`
/// instead (no nullable column of ours has another default), so the text
/// never varies and the statement stays prepared; the test
/// `intake::hot_inserts_stay_prepared` lists the statements that must.
#[macro_export]
macro_rules! bound_values {
    ($table:ident, $row:expr, [$($field:ident),+ $(,)?]) => {{
        let row = $row;
        ($( $crate::store::schema::$table::$field.eq(&row.$field), )+)
    }};
}

/// Makes a hand-written PostgreSQL statement (a struct whose `QueryFragment`
/// pushes fixed text and its binds) runnable and kept prepared: its query id
/// is its type, so diesel prepares it once per connection. For the
/// data-modifying CTEs and the JSON reads diesel's DSL cannot spell;
/// `$sql` is the SQL type of the one column it returns.
#[macro_export]
macro_rules! fixed_pg_statement {
    ($name:ident<'_>, $sql:ty) => {
        impl diesel::query_builder::QueryId for $name<'_> {
            type QueryId = $name<'static>;
            const HAS_STATIC_QUERY_ID: bool = true;
        }
        impl diesel::query_builder::Query for $name<'_> {
            type SqlType = $sql;
        }
        impl diesel::RunQueryDsl<diesel::PgConnection> for $name<'_> {}
    };
    ($name:ident, $sql:ty) => {
        impl diesel::query_builder::QueryId for $name {
            type QueryId = $name;
            const HAS_STATIC_QUERY_ID: bool = true;
        }
        impl diesel::query_builder::Query for $name {
            type SqlType = $sql;
        }
        impl diesel::RunQueryDsl<diesel::PgConnection> for $name {}
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }
}

/// A validated database URL. A typo in the scheme is an error, never a new SQLite file.
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl {
    backend: Backend,
    /// For PostgreSQL the URL as given; for SQLite the file path.
    target: String,
}

impl DbUrl {
    pub fn parse(url: &str) -> Result<DbUrl, AppError> {
        let url = url.trim();
        let bad =
            |why: &str| AppError::invalid("database_url", format!("{why} (got '{}')", redact(url)));
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl {
                backend: Backend::Postgres,
                target: url.to_string(),
            });
        }
        let path = if let Some(p) = url.strip_prefix("sqlite://") {
            p
        } else if let Some(p) = url.strip_prefix("sqlite:") {
            p
        } else if url.contains("://") {
            return Err(bad(
                "unknown database URL scheme; use sqlite://PATH or postgres://…",
            ));
        } else if [".db", ".sqlite", ".sqlite3"]
            .iter()
            .any(|ext| url.ends_with(ext))
        {
            url
        } else {
            return Err(bad(
                "a database URL is sqlite://PATH, a *.db file, or postgres://…",
            ));
        };
        if path.is_empty() || path == ":memory:" {
            return Err(bad(
                "SQLite needs a file path (an in-memory database cannot be shared by a pool)",
            ));
        }
        Ok(DbUrl {
            backend: Backend::Sqlite,
            target: path.to_string(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn is_sqlite(&self) -> bool {
        self.backend == Backend::Sqlite
    }

    /// The URL with any password replaced, for logs and `Debug`.
    pub fn redacted(&self) -> String {
        match self.backend {
            Backend::Sqlite => format!("sqlite://{}", self.target),
            Backend::Postgres => redact(&self.target),
        }
    }

    /// Opens one connection, with the settings Sportello relies on.
    pub fn connect(&self) -> Result<DbConn, AppError> {
        match self.backend {
            Backend::Postgres => {
                let mut url = self.target.clone();
                if !url.contains("connect_timeout=") {
                    url.push(if url.contains('?') { '&' } else { '?' });
                    url.push_str("connect_timeout=5");
                }
                // TLS to a server on this machine protects nothing and costs
                // every statement an encryption on both ends (about 6% of the
                // CPU of an intake); libpq's default would use it when offered.
                if is_loopback(&url)
                    && !url.contains("sslmode=")
                    && std::env::var_os("PGSSLMODE").is_none()
                {
                    url.push_str("&sslmode=disable");
                }
                let mut conn = diesel::PgConnection::establish(&url).map_err(|e| {
                    AppError::Unavailable(format!("cannot connect to {}: {e}", self.redacted()))
                })?;
                // Sportello's statements are short; PostgreSQL's JIT compiles
                // any whose estimated cost is high (a search for a common word
                // at a million tickets), which took 40 ms to save nothing. Set
                // once per pooled connection, not in the startup packet: a
                // connection pooler may refuse `options` there. A server
                // without JIT (before PostgreSQL 11) does not know the setting;
                // that is no reason to refuse it. A URL that sets `jit` itself
                // (`options=-c%20jit%3Don`) keeps its choice.
                if !url.contains("jit") {
                    if let Err(e) = conn.batch_execute("SET jit = off") {
                        tracing::debug!(error = %e, "PostgreSQL has no JIT setting");
                    }
                }
                Ok(DbConn::Postgresql(conn))
            }
            Backend::Sqlite => {
                sqlite::stable_plans();
                let mut conn = diesel::SqliteConnection::establish(&self.target).map_err(|e| {
                    AppError::Unavailable(format!("cannot open SQLite file {}: {e}", self.target))
                })?;
                // One batch: sql_query would run only the first statement.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                )?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Whether a PostgreSQL URL names this machine: `localhost`, a loopback
/// address, or a Unix socket (no host, or a socket directory as the host).
fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = before_query.split('/').next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    let host = match query.split('&').find_map(|p| p.strip_prefix("host=")) {
        Some(h) => h,
        None => host,
    };
    let socket = host.is_empty() || host.starts_with('/') || host.starts_with("%2F");
    socket || host == "localhost" || host == "::1" || host.starts_with("127.")
}

/// A URL with its password replaced by `***`.
pub fn redact(url: &str) -> String {
    // postgres://user:password@host → postgres://user:***@host
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..s + 3], &creds[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// r2d2 manager that opens connections through [`DbUrl::connect`].
pub struct Manager(DbUrl);

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        self.0.connect().map_err(|e| {
            r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(e.to_string()))
        })
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}

/// The pool, plus SQLite's single writer (see [`sqlite::Writer`]).
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    backend: Backend,
    /// SQLite's writer (None on PostgreSQL, where writes use the pool).
    sqlite_writer: Option<Arc<sqlite::Writer>>,
    /// The catalogue as last read through this pool (see `catalogue::snapshot`).
    catalogue: Arc<catalogue::Cache>,
}

impl Db {
    /// Connects (failing fast with the real cause) and builds the pool.
    pub fn open(url: &DbUrl, pool_size: u32) -> AppResult<Db> {
        drop(url.connect()?);
        let pool = Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(1))
            // No `SELECT 1` round trip before every use: a broken connection
            // shows in the query that meets it, and the pool drops it then.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(10))
            .build(Manager(url.clone()))
            .map_err(|e| AppError::Unavailable(e.to_string()))?;
        Ok(Db {
            pool,
            backend: url.backend(),
            sqlite_writer: url.is_sqlite().then(|| sqlite::Writer::start(url)),
            catalogue: Default::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The catalogue this pool last read, without asking the database whether
    /// it is still current (see [`catalogue::Cache::last`]).
    pub fn last_catalogue(&self) -> Option<Arc<catalogue::Snapshot>> {
        self.catalogue.last()
    }

    /// Runs read-only work on a pooled connection, off the async executor.
    pub async fn read<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.read_blocking(f))
            .await
            .map_err(|e| AppError::Internal(format!("database task failed: {e}")))?
    }

    /// Runs work in one transaction, off the async executor.
    pub async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.write_blocking(f))
            .await
            .map_err(|e| AppError::Internal(format!("database task failed: {e}")))?
    }

    pub fn read_blocking<T>(&self, f: impl FnOnce(&mut DbConn) -> AppResult<T>) -> AppResult<T> {
        let mut conn = self.pool.get()?;
        let _cache = catalogue::use_cache(self.catalogue.clone());
        f(&mut conn)
    }

    pub fn write_blocking<T>(&self, f: impl FnOnce(&mut DbConn) -> AppResult<T>) -> AppResult<T> {
        let _cache = catalogue::use_cache(self.catalogue.clone());
        match &self.sqlite_writer {
            Some(writer) => writer.write(f),
            None => {
                let mut conn = self.pool.get()?;
                let conn: &mut DbConn = &mut conn;
                conn.transaction(f)
            }
        }
    }

    /// Applies pending migrations; returns the versions applied.
    pub fn migrate(&self) -> AppResult<Vec<String>> {
        self.write_blocking(|conn| {
            let applied = per_backend!(conn, c => run_migrations(c, migrations_for(self.backend)))?;
            Ok(applied)
        })
    }

    /// Applied and pending migration versions.
    pub fn migration_state(&self) -> AppResult<MigrationState> {
        self.read_blocking(|conn| {
            let source = migrations_for(self.backend);
            per_backend!(conn, c => {
                let applied = c.applied_migrations().map_err(|e| AppError::Internal(e.to_string()))?;
                let pending = c.pending_migrations(source).map_err(|e| AppError::Internal(e.to_string()))?;
                Ok(MigrationState {
                    applied: applied.iter().map(|v| v.to_string()).collect(),
                    pending: pending.iter().map(|m| m.name().version().to_string()).collect(),
                })
            })
        })
    }
}

#[derive(Debug, Clone)]
pub struct MigrationState {
    pub applied: Vec<String>,
    pub pending: Vec<String>,
}

fn migrations_for(backend: Backend) -> EmbeddedMigrations {
    match backend {
        Backend::Sqlite => SQLITE_MIGRATIONS,
        Backend::Postgres => POSTGRES_MIGRATIONS,
    }
}

fn run_migrations<C>(conn: &mut C, source: EmbeddedMigrations) -> AppResult<Vec<String>>
where
    C: MigrationHarness<C::Backend> + diesel::Connection,
{
    let done = conn
        .run_pending_migrations(source)
        .map_err(|e| AppError::Internal(format!("migration failed: {e}")))?;
    Ok(done.iter().map(|v| v.to_string()).collect())
}

/// Serialises one kind of work across server instances for the rest of the
/// transaction: a transaction-scoped advisory lock on PostgreSQL (`wait`
/// false: `Ok(false)` when another instance holds it); SQLite write
/// transactions already run one at a time.
pub fn work_lock(conn: &mut DbConn, name: &str, wait: bool) -> AppResult<bool> {
    use diesel::sql_types::{Bool, Text};
    match conn {
        DbConn::Postgresql(c) => {
            let f = if wait {
                "SELECT true AS held FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS l"
            } else {
                "SELECT pg_try_advisory_xact_lock(hashtext($1)) AS held"
            };
            #[derive(diesel::QueryableByName)]
            struct Held {
                #[diesel(sql_type = Bool)]
                held: bool,
            }
            let r: Held = diesel::sql_query(f).bind::<Text, _>(name).get_result(c)?;
            Ok(r.held)
        }
        DbConn::Sqlite(_) => Ok(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schemes() {
        assert!(DbUrl::parse("sqlite://x.db").unwrap().is_sqlite());
        assert!(DbUrl::parse("sqlite:data/x").unwrap().is_sqlite());
        assert!(DbUrl::parse("./sportello.db").unwrap().is_sqlite());
        assert_eq!(
            DbUrl::parse("postgresql://u@h/d").unwrap().backend(),
            Backend::Postgres
        );
        assert!(DbUrl::parse("postgress://u@h/d").is_err());
        assert!(DbUrl::parse("mysql://h/d").is_err());
        assert!(DbUrl::parse("sqlite://:memory:").is_err());
        assert!(DbUrl::parse("whatever").is_err());
    }

    #[test]
    fn loopback_hosts() {
        for local in [
            "postgres://postgres@127.0.0.1:5432/test",
            "postgres://u:p@localhost/d",
            "postgresql://[::1]:5432/d",
            "postgres:///d",
            "postgres://u@/d?host=/var/run/postgresql",
            "postgres://u@%2Fvar%2Frun%2Fpostgresql/d",
        ] {
            assert!(is_loopback(local), "{local}");
        }
        for remote in [
            "postgres://u@db.example.it/d",
            "postgres://u:p@10.0.0.7:5432/d",
            "postgres://u@[2001:db8::1]/d",
            "postgres://u@localhost.example.it/d",
            "postgres:///d?host=db.example.it",
        ] {
            assert!(!is_loopback(remote), "{remote}");
        }
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact("postgres://me:pw@h:5432/d"),
            "postgres://me:***@h:5432/d"
        );
        assert_eq!(redact("postgres://me@h/d"), "postgres://me@h/d");
    }
}
