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

fn encoded_word(text: &str, charset: &'static encoding_rs::Encoding, name: &str) -> String {
    use base64::Engine;
    let (bytes, _, _) = charset.encode(text);
    format!(
        "=?{name}?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Message `i` of the corpus; replies name an earlier ticket number.
fn message(i: usize, reply_to_number: Option<&str>) -> Vec<u8> {
    let (subject, body, charset, name): (&str, String, &'static encoding_rs::Encoding, &str) = match i % 4 {
        0 => ("Sconto non applicato", format!("Buongiorno, al punto vendita {i} non mi hanno applicato lo sconto della card. Città: Siena."), encoding_rs::UTF_8, "utf-8"),
        1 => ("Не работает почта", format!("Здравствуйте! Компьютер номер {i} не загружается, синий экран."), encoding_rs::WINDOWS_1251, "windows-1251"),
        2 => ("Telefon nesynchronizuje poštu", format!("Dobrý den, služební telefon {i} nesynchronizuje poštu. Děkuji."), encoding_rs::ISO_8859_2, "iso-8859-2"),
        _ => ("Card lost abroad", format!("Hello, I lost card {i} while travelling. Please block it."), encoding_rs::UTF_8, "utf-8"),
    };
    let subject = match reply_to_number {
        Some(n) => format!("Re: [#{n}] {subject}"),
        None => format!("{subject} {i}"),
    };
    let (encoded, _, _) = charset.encode(&body);
    let mut raw = format!(
        "From: Cliente {i} <cliente{}@example.org>\r\nTo: assistenza@sportello.test\r\nSubject: {}\r\nMessage-ID: <bench-{i}@example.org>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset={name}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        i % 500,
        encoded_word(&subject, charset, name)
    )
    .into_bytes();
    raw.extend_from_slice(&encoded);
    raw.extend_from_slice(b"\r\n");
    raw
}

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
        match ingest(&app, None, Source::Import, message(i, reply.as_deref()))
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
