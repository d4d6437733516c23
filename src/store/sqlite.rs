//! SQLite's side of the pool: one connection that runs every write
//! transaction, a thread that moves committed pages from the write-ahead log
//! into the database file so the writer never stops to do it, and stable
//! query plans for every connection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::Connection;

use super::{DbConn, DbUrl};
use crate::error::AppResult;

/// How often the checkpointer looks for new commits.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// SQLite takes one writer at a time, so write transactions take turns on
/// one connection instead of on the pool's. Only that connection writes: its
/// page cache stays valid from one transaction to the next (SQLite drops a
/// connection's cache whenever another connection has written, and the
/// pool's turns made every write start cold), and its statements stay
/// prepared. Turns are taken on the mutex, so no write meets "database is
/// locked".
pub(super) struct Writer {
    url: DbUrl,
    conn: Mutex<Option<DbConn>>,
    /// Transactions committed, for the checkpointer to notice.
    commits: AtomicU64,
}

impl Writer {
    /// The writer (connected on its first write) and its checkpointer, which
    /// stops once the writer is dropped.
    pub(super) fn start(url: &DbUrl) -> Arc<Writer> {
        let writer = Arc::new(Writer {
            url: url.clone(),
            conn: Mutex::new(None),
            commits: AtomicU64::new(0),
        });
        let (weak, url) = (Arc::downgrade(&writer), url.clone());
        let spawned = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoints(weak, url));
        if let Err(e) = spawned {
            // The writer still checkpoints by itself (see `connect`).
            tracing::warn!(error = %e, "no SQLite checkpoint thread");
        }
        writer
    }

    /// Runs `f` in a transaction on the writer's connection.
    pub(super) fn write<T>(&self, f: impl FnOnce(&mut DbConn) -> AppResult<T>) -> AppResult<T> {
        let mut slot = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let conn = match &mut *slot {
            Some(conn) => conn,
            empty => empty.insert(connect(&self.url)?),
        };
        let result = conn.transaction(f);
        if result.is_ok() {
            self.commits.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}

/// The writer's connection. It leaves the copying of pages back into the
/// database file to the checkpointer, and does it itself only if the log
/// grows past 10,000 pages (40 MB) all the same: by default SQLite checkpoints
/// in the transaction that passes 1,000 pages, and that transaction (and every
/// write waiting behind it) waits for the copy and its fsync.
fn connect(url: &DbUrl) -> AppResult<DbConn> {
    let mut conn = url.connect()?;
    conn.batch_execute("PRAGMA wal_autocheckpoint = 10000")?;
    Ok(conn)
}

/// Checkpoints (PASSIVE: beside the writer, never blocking it) whenever
/// something was committed since the last look; returns once the writer is
/// gone.
fn checkpoints(writer: Weak<Writer>, url: DbUrl) {
    let mut conn: Option<DbConn> = None;
    let mut seen = 0;
    loop {
        std::thread::sleep(CHECKPOINT_EVERY);
        let Some(commits) = writer.upgrade().map(|w| w.commits.load(Ordering::Relaxed)) else {
            return;
        };
        if commits == seen {
            continue;
        }
        seen = commits;
        let c = match &mut conn {
            Some(c) => c,
            empty => match url.connect() {
                Ok(c) => empty.insert(c),
                Err(e) => {
                    tracing::warn!(error = %e, "SQLite checkpoint: cannot connect");
                    continue;
                }
            },
        };
        if let Err(e) = c.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
            tracing::warn!(error = %e, "SQLite checkpoint failed");
            conn = None;
        }
    }
}

/// Turns on SQLite's query planner stability guarantee for every connection
/// this process opens (an auto-extension runs at each open).
///
/// Without it SQLite 3.53 lets a bound `LIMIT ?` (and a few other bound
/// values) shape a plan, and marks the statement to be planned again whenever
/// that parameter is bound anew; diesel binds every parameter on every
/// execution, so each `.first()` or paged query was parsed and planned again
/// each time it ran (perf: a tenth of the writer's time in
/// `sqlite3Reprepare`). Sportello's queries gain nothing from plans that
/// depend on values.
pub(super) fn stable_plans() {
    use libsqlite3_sys as ffi;
    use std::os::raw::{c_char, c_int};

    unsafe extern "C" fn enable(
        db: *mut ffi::sqlite3,
        _err: *mut *mut c_char,
        _api: *const ffi::sqlite3_api_routines,
    ) -> c_int {
        // SAFETY: SQLite calls this with the connection it is opening; the
        // option takes an int and an optional pointer for the new setting.
        unsafe {
            ffi::sqlite3_db_config(
                db,
                ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
                1 as c_int,
                std::ptr::null_mut::<c_int>(),
            )
        }
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: registers a function with the signature SQLite calls.
    ONCE.call_once(|| unsafe {
        ffi::sqlite3_auto_extension(Some(enable));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Db;
    use diesel::RunQueryDsl;
    use libsqlite3_sys as ffi;
    use std::ffi::CString;

    /// How often a statement was planned again, after running it with its
    /// `LIMIT ?` bound to 1, then to 1 again (as diesel does on each run).
    fn reprepares(db: *mut ffi::sqlite3) -> i32 {
        let sql = CString::new("SELECT 1 LIMIT ?").unwrap();
        let mut stmt = std::ptr::null_mut();
        // SAFETY: a valid connection, statement and NUL-terminated SQL.
        unsafe {
            assert_eq!(
                ffi::sqlite3_prepare_v3(db, sql.as_ptr(), -1, 0, &mut stmt, std::ptr::null_mut()),
                ffi::SQLITE_OK
            );
            for _ in 0..2 {
                ffi::sqlite3_bind_int64(stmt, 1, 1);
                assert_eq!(ffi::sqlite3_step(stmt), ffi::SQLITE_ROW);
                ffi::sqlite3_reset(stmt);
            }
            let n = ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
            ffi::sqlite3_finalize(stmt);
            n
        }
    }

    fn open(path: &str) -> *mut ffi::sqlite3 {
        let path = CString::new(path).unwrap();
        let mut db = std::ptr::null_mut();
        // SAFETY: a NUL-terminated path and an out-pointer for the handle.
        assert_eq!(
            unsafe { ffi::sqlite3_open(path.as_ptr(), &mut db) },
            ffi::SQLITE_OK
        );
        db
    }

    #[test]
    fn a_bound_limit_does_not_replan_the_statement() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plans.db");
        // SQLite's own default plans it again at each of the two bindings
        // (2); the extension is process-wide, so a connection opened before
        // it cannot be compared here reliably.
        stable_plans();
        let db = open(path.to_str().unwrap());
        let replanned = reprepares(db);
        // SAFETY: the handle opened above, closed once.
        unsafe { ffi::sqlite3_close(db) };
        assert_eq!(replanned, 0, "planned again on a new LIMIT binding");
    }

    #[test]
    fn committed_pages_reach_the_database_file_without_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let url = DbUrl::parse(&format!("sqlite://{}", path.display())).unwrap();
        let db = Db::open(&url, 2).unwrap();
        db.write_blocking(|c| {
            c.batch_execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")?;
            Ok(())
        })
        .unwrap();
        db.write_blocking(|c| {
            diesel::sql_query("INSERT INTO notes (text) VALUES ('Richiesta registrata')")
                .execute(c)?;
            Ok(())
        })
        .unwrap();
        // An immutable reader sees the database file alone, not the log: the
        // row shows there once a checkpoint has copied it. The writer would
        // not (its own threshold is 10,000 pages), so the checkpointer did.
        let file = format!("file:{}?immutable=1", path.display());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let reader = open(&file);
            let sql = CString::new("SELECT count(*) FROM notes").unwrap();
            let mut stmt = std::ptr::null_mut();
            // SAFETY: as above; a missing table is an error code, not UB.
            let rows = unsafe {
                let rc = ffi::sqlite3_prepare_v2(
                    reader,
                    sql.as_ptr(),
                    -1,
                    &mut stmt,
                    std::ptr::null_mut(),
                );
                let rows = if rc == ffi::SQLITE_OK && ffi::sqlite3_step(stmt) == ffi::SQLITE_ROW {
                    ffi::sqlite3_column_int(stmt, 0)
                } else {
                    0
                };
                ffi::sqlite3_finalize(stmt);
                ffi::sqlite3_close(reader);
                rows
            };
            if rows == 1 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no checkpoint in 10 s"
            );
            std::thread::sleep(CHECKPOINT_EVERY);
        }
        // The checkpointer goes with its pool.
        let weak = Arc::downgrade(db.sqlite_writer.as_ref().unwrap());
        drop(db);
        assert!(weak.upgrade().is_none());
    }
}
