//! The benchmark suite: the release server as a real process on a fresh
//! SQLite database and a fresh PostgreSQL database, loaded with data, measured
//! over HTTP (intake, e-mail, triage reads, claim-next, memory) beside the
//! machine's own limits (pgbench TPC-B, mail-parser's bare parse rate).
//!
//!     SPORTELLO_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench suite
//!     cargo bench --bench suite -- --quick            # smoke size, about two minutes
//!     cargo bench --bench suite -- --tickets 50000 --json /tmp/suite.json
//!     cargo bench --bench suite -- --only postgres    # one database (or sqlite)
//!     cargo bench --bench suite -- --client-threads 1  # the load generator on one thread
//!
//! Prints a table per database and writes JSON (default target/bench-suite.json).
//! Nothing is asserted about speed; the run fails only when something breaks
//! (a phase's requests fail, a ticket is claimed twice).

mod corpus;
mod reference;
mod server;
mod workload;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

/// How much of everything a run does.
#[derive(Debug, Clone)]
pub struct Sizes {
    pub quick: bool,
    /// Tickets in the database before the reads, and whether the user chose the number.
    pub tickets: usize,
    pub tickets_chosen: bool,
    /// Tickets the staff-API fallback creates when the generator is missing.
    pub fallback_tickets: usize,
    pub intake: Duration,
    pub mails: usize,
    pub reads: usize,
    pub claims: usize,
    pub pgbench_secs: u64,
    /// pgbench at 1 and 64 clients, the intake's other concurrencies.
    pub pgbench_side_secs: u64,
}

impl Sizes {
    fn new(quick: bool, tickets: Option<usize>) -> Sizes {
        let (default, fallback) = if quick {
            (2_000, 2_000)
        } else {
            (1_000_000, 50_000)
        };
        Sizes {
            quick,
            tickets: tickets.unwrap_or(default),
            tickets_chosen: tickets.is_some(),
            fallback_tickets: tickets.unwrap_or(fallback),
            intake: Duration::from_secs(if quick { 2 } else { 10 }),
            mails: if quick { 300 } else { 3_000 },
            reads: 200,
            claims: if quick { 200 } else { 2_000 },
            pgbench_secs: if quick { 5 } else { 20 },
            pgbench_side_secs: if quick { 2 } else { 10 },
        }
    }
}

/// One line of a database's table.
pub struct Row {
    pub measure: String,
    pub value: String,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub target: String,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut quick = false;
    // Some(true): PostgreSQL only; Some(false): SQLite only.
    let mut only: Option<bool> = None;
    let mut tickets = None;
    let mut client_threads: usize = 2;
    let mut json_path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/bench-suite.json"
    ));
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--tickets" => {
                tickets = Some(
                    args.next()
                        .and_then(|n| n.replace(['_', ','], "").parse().ok())
                        .expect("--tickets N"),
                )
            }
            "--json" => json_path = PathBuf::from(args.next().expect("--json PATH")),
            "--only" => {
                only = match args.next().as_deref() {
                    Some("sqlite") => Some(false),
                    Some("postgres") => Some(true),
                    _ => panic!("--only sqlite|postgres"),
                }
            }
            "--client-threads" => {
                client_threads = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n >= 1)
                    .expect("--client-threads N (1 or more)")
            }
            // cargo bench passes --bench; libtest options mean nothing here.
            _ => {}
        }
    }
    let sizes = Sizes::new(quick, tickets);
    let pg_base = std::env::var("SPORTELLO_BENCH_DATABASE_URL").ok();
    let started = std::time::Instant::now();

    let pg_version = pg_base.as_deref().map(reference::pg_version);
    println!(
        "# Sportello benchmark suite ({}, {})",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        if quick { "quick size" } else { "default size" }
    );
    println!(
        "machine: {} cores, {:.1} GiB memory, PostgreSQL {}",
        reference::cores(),
        reference::memory() as f64 / (1u64 << 30) as f64,
        pg_version
            .as_deref()
            .unwrap_or("not measured (SPORTELLO_BENCH_DATABASE_URL unset)")
    );
    println!(
        "server: {}; load generator: {client_threads} thread{}",
        server::BIN,
        if client_threads == 1 { "" } else { "s" }
    );

    // pgbench at the intake's three concurrencies; 8 clients is the target's
    // reference, the others put the 1- and 64-client rates beside the
    // machine's own at the same concurrency.
    let pgbench_runs = [
        (8, sizes.pgbench_secs),
        (1, sizes.pgbench_side_secs),
        (64, sizes.pgbench_side_secs),
    ];
    let pgbench = pg_base
        .as_deref()
        .filter(|_| only != Some(false))
        .map(|base| {
            eprintln!("suite: pgbench TPC-B at 8, 1 and 64 clients…");
            reference::pgbench(base, &pgbench_runs)
        });
    let corpus = workload::corpus(sizes.mails);
    let parse_rate = reference::mail_parser_rate(&corpus);
    let pgbench_at: Vec<(usize, f64)> = match &pgbench {
        Some(Ok(tps)) => pgbench_runs
            .iter()
            .map(|r| r.0)
            .zip(tps.iter().copied())
            .collect(),
        _ => vec![],
    };
    let reference = Reference {
        pgbench_tps: pgbench_at.first().map(|r| r.1),
        pgbench_at,
        mail_parser_rate: parse_rate,
    };
    if let Some(Err(e)) = &pgbench {
        eprintln!("suite: pgbench did not run: {e}");
    }

    // The load generator's threads (two unless told otherwise). It shares
    // the machine's cores with the server and the database; one thread or
    // two made no difference above the noise
    // (PostgreSQL at 100,000 tickets: web form 334 / 1,053 / 1,177 tickets/s
    // at 1 / 8 / 64 clients on one thread, 349 / 1,212 / 1,199 on two).
    let rt = match client_threads {
        1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
    }
    .enable_all()
    .build()
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    let sqlite_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    if only != Some(true) {
        reports.push(rt.block_on(workload::run(
            "SQLite",
            &sqlite_url,
            &dir.path().join("mail-sqlite"),
            &sizes,
            &corpus,
            &reference,
        )));
    }
    match pg_base.as_deref().filter(|_| only != Some(false)) {
        Some(base) => {
            let db = reference::ScratchDb::create(base, "suite");
            reports.push(rt.block_on(workload::run(
                &format!(
                    "PostgreSQL {}",
                    pg_version.as_deref().and_then(|v| v.split_whitespace().next()).unwrap_or("")
                ),
                &db.url,
                &dir.path().join("mail-pg"),
                &sizes,
                &corpus,
                &reference,
            )));
        }
        None => println!(
            "\n(PostgreSQL skipped: set SPORTELLO_BENCH_DATABASE_URL to a server's URL; a database is created and dropped there)"
        ),
    }

    println!("\n## Reference points\n");
    println!("| reference | value |");
    println!("| --- | ---: |");
    match &pgbench {
        Some(Ok(_)) => {
            for (i, (clients, tps)) in reference.pgbench_at.iter().enumerate() {
                println!(
                    "| pgbench TPC-B, scale 10, {clients} client{}, {} s (tps) | {tps:.0} |",
                    if *clients == 1 { "" } else { "s" },
                    pgbench_runs[i].1
                );
            }
        }
        Some(Err(_)) => println!("| pgbench TPC-B | did not run |"),
        None => println!("| pgbench TPC-B | no PostgreSQL |"),
    }
    println!("| mail-parser bare parse, one thread (messages/s) | {parse_rate:.0} |");
    println!("\nsuite took {:.0} s", started.elapsed().as_secs_f64());

    let failures: Vec<String> = reports.iter().flat_map(|r| r.failures.clone()).collect();
    let out = json!({
        "date": chrono::Utc::now().to_rfc3339(),
        "size": if quick { "quick" } else { "default" },
        "client_threads": client_threads,
        "machine": {"cores": reference::cores(), "memory_bytes": reference::memory(),
            "postgres": pg_version},
        "reference": {"pgbench_tps": reference.pgbench_tps,
            "pgbench_tps_by_clients": reference.pgbench_at.iter()
                .map(|(c, t)| json!({"clients": c, "tps": t})).collect::<Vec<Value>>(),
            "pgbench_error": pgbench.as_ref().and_then(|r| r.as_ref().err().cloned()),
            "mail_parser_messages_per_second": parse_rate},
        "databases": reports.iter().map(|r| r.json.clone()).collect::<Vec<Value>>(),
        "seconds": started.elapsed().as_secs_f64(),
        "failures": failures,
    });
    if let Some(parent) = json_path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(&json_path, serde_json::to_string_pretty(&out).unwrap())
        .expect("the JSON report");
    println!("JSON: {}", json_path.display());
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("suite: FAILED: {f}");
        }
        std::process::exit(1);
    }
}

/// The machine's limits, measured in the same run.
pub struct Reference {
    /// pgbench at 8 clients: the intake target's reference.
    pub pgbench_tps: Option<f64>,
    /// pgbench at 8, 1 and 64 clients.
    pub pgbench_at: Vec<(usize, f64)>,
    pub mail_parser_rate: f64,
}

impl Reference {
    /// pgbench's rate at this many clients, when it was measured.
    pub fn pgbench_with(&self, clients: usize) -> Option<f64> {
        self.pgbench_at
            .iter()
            .find(|(c, _)| *c == clients)
            .map(|(_, t)| *t)
    }
}

/// What a database's run produced.
pub struct Report {
    pub json: Value,
    pub failures: Vec<String>,
}

pub fn print_table(title: &str, rows: &[Row]) {
    let ms = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.1}"));
    println!("\n## {title}\n");
    println!("| measure | value | p50 ms | p99 ms | target |");
    println!("| --- | ---: | ---: | ---: | --- |");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.measure,
            r.value,
            ms(r.p50_ms),
            ms(r.p99_ms),
            r.target
        );
    }
}
