//! The machine and its limits: cores, memory, PostgreSQL's version, pgbench's
//! TPC-B rate (the durable-commit ceiling) and mail-parser's bare parse rate.

use std::process::Command;
use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |c| c.get())
}

/// Total memory in bytes, from /proc/meminfo.
pub fn memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// A database created on the server of `base` for this run, dropped on drop.
pub struct ScratchDb {
    base: String,
    pub name: String,
    pub url: String,
}

impl ScratchDb {
    pub fn create(base: &str, purpose: &str) -> ScratchDb {
        let name = format!("sportello_bench_{purpose}_{}", std::process::id());
        let mut admin = PgConnection::establish(base).expect("PostgreSQL answers");
        // Two calls: several statements in one would run in one transaction.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .expect("an old scratch database dropped");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("a scratch database");
        let url = format!(
            "{}/{name}",
            &base[..base.rfind('/').expect("a database URL")]
        );
        ScratchDb {
            base: base.to_string(),
            name,
            url,
        }
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.base) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    server_version: String,
}

pub fn pg_version(base: &str) -> String {
    PgConnection::establish(base)
        .ok()
        .and_then(|mut c| {
            diesel::sql_query("SHOW server_version")
                .get_result::<Version>(&mut c)
                .ok()
        })
        .map_or_else(|| "unknown".into(), |v| v.server_version)
}

/// pgbench TPC-B (scale 10, up to two threads) on a scratch database, once for
/// each (clients, seconds) asked: transactions per second in that order, or
/// why it could not run.
pub fn pgbench(base: &str, runs: &[(usize, u64)]) -> Result<Vec<f64>, String> {
    let db = ScratchDb::create(base, "pgbench");
    let run = |args: &[&str]| {
        Command::new("pgbench")
            .args(args)
            .arg(&db.url)
            .output()
            .map_err(|e| format!("pgbench: {e}"))
            .and_then(|o| {
                if o.status.success() {
                    Ok(String::from_utf8_lossy(&o.stdout).to_string())
                } else {
                    Err(String::from_utf8_lossy(&o.stderr).to_string())
                }
            })
    };
    run(&["-q", "-i", "-s", "10"])?;
    runs.iter()
        .map(|&(clients, seconds)| {
            let threads = clients.min(2);
            let out = run(&[
                "-c",
                &clients.to_string(),
                "-j",
                &threads.to_string(),
                "-T",
                &seconds.to_string(),
            ])?;
            out.lines()
                .find_map(|l| l.strip_prefix("tps = "))
                .and_then(|l| l.split_whitespace().next())
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| format!("no tps in pgbench's output: {out}"))
        })
        .collect()
}

/// Messages per second mail-parser parses, one thread, nothing else done.
pub fn mail_parser_rate(corpus: &[Vec<u8>]) -> f64 {
    let parser = mail_parser::MessageParser::default();
    let rounds = (20_000 / corpus.len().max(1)).max(1);
    let started = Instant::now();
    let mut parsed = 0usize;
    for _ in 0..rounds {
        for raw in corpus {
            let m = parser.parse(raw.as_slice()).expect("a parsable message");
            parsed += usize::from(m.subject().is_some());
        }
    }
    parsed as f64 / started.elapsed().as_secs_f64()
}
