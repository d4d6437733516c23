//! E-mail ingestion throughput: raw messages per second through the same path
//! IMAP, the mailgate and imports use (journal, parse, thread, intake, outbox),
//! on SQLite and, when a PostgreSQL URL is given, on PostgreSQL.
//!
//!     cargo bench --bench ingest                 # 2,000 messages per database
//!     cargo bench --bench ingest -- --quick      # 200, a smoke run
//!     SPORTELLO_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench ingest
//!
//! The corpus is generated: Italian, Russian (windows-1251), Czech
//! (ISO-8859-2) and English requests, a third of them replies that thread by
//! the ticket tag. A release build; nothing here asserts a speed.

use std::sync::Arc;
use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::Connection;
use sportello::channels::email::ingest::{ingest, Outcome, Source};
use sportello::clock::SystemClock;
use sportello::config::Config;
use sportello::service::App;

#[path = "suite/corpus.rs"]
mod corpus;

async fn run(label: &str, url: &str, n: usize) -> (String, usize, f64) {
    let config =
        Config::from_sources(None, &[("DATABASE_URL".into(), url.into())]).expect("config");
    let cfg = config.clone();
    let db = tokio::task::spawn_blocking(move || sportello::server::open_and_migrate(&cfg))
        .await
        .unwrap()
        .unwrap();
    let app: App = sportello::server::app(db, Arc::new(SystemClock), config).unwrap();
    let mut numbers: Vec<String> = Vec::new();
    let started = Instant::now();
    let mut tickets = 0;
    for i in 0..n {
        let reply = (i % 3 == 2 && !numbers.is_empty()).then(|| numbers[i % numbers.len()].clone());
        let thread = match reply.as_deref() {
            Some(n) => corpus::Thread::Tag(n),
            None => corpus::Thread::New,
        };
        match ingest(
            &app,
            None,
            Source::Import,
            corpus::message("bench", i, thread),
        )
        .await
        .unwrap()
        {
            Outcome::Ticket {
                ticket_id,
                created: true,
                ..
            } => {
                tickets += 1;
                if numbers.len() < 200 {
                    let t = app
                        .db
                        .read(move |c| sportello::store::tickets::find(c, ticket_id))
                        .await
                        .unwrap()
                        .unwrap();
                    numbers.push(t.number);
                }
            }
            Outcome::Ticket { .. } => {}
            other => panic!("message {i}: {other:?}"),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    (label.to_string(), tickets, n as f64 / secs)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 200 } else { 2000 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut results = vec![rt.block_on(run(
        "SQLite",
        &format!("sqlite://{}", dir.path().join("bench.db").display()),
        n,
    ))];
    if let Ok(base) = std::env::var("SPORTELLO_BENCH_DATABASE_URL") {
        let name = format!("sportello_bench_{}", std::process::id());
        let mut admin = diesel::PgConnection::establish(&base).expect("PostgreSQL");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
        results.push(rt.block_on(run("PostgreSQL", &url, n)));
        admin
            .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .unwrap();
    } else {
        eprintln!("(set SPORTELLO_BENCH_DATABASE_URL to measure PostgreSQL too)");
    }
    println!(
        "e-mail ingestion, {n} messages ({} cores)",
        std::thread::available_parallelism()
            .map(|c| c.get())
            .unwrap_or(1)
    );
    println!("| database | messages/s | new tickets |");
    println!("| --- | ---: | ---: |");
    for (label, tickets, rate) in results {
        println!("| {label} | {rate:.0} | {tickets} |");
    }
}
