//! One database's run: start the server, fill it (the generator, or the staff
//! API when the generator is missing), then intake, e-mail, triage reads,
//! claim-next and memory, each measured over HTTP.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::corpus::{self, Thread};
use crate::server::{expect_2xx, load, Api, Body, Server, Stats, Until};
use crate::{print_table, Reference, Report, Row, Sizes};

const ADMIN: (&str, &str) = ("admin@sportello.demo", "admin-demo-2026");
const MIB: f64 = 1024.0 * 1024.0;

/// The corpus of the e-mail phase: every third message a reply to one sent
/// 95 messages earlier (a new request), threading by In-Reply-To.
pub fn corpus(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let thread = if i % 3 == 2 && i >= 95 {
                Thread::InReplyTo(i - 95)
            } else {
                Thread::New
            };
            corpus::message("suite", i, thread)
        })
        .collect()
}

/// Subject and text of request `i`: Italian, Russian, English or Czech.
fn request_text(i: usize) -> (String, String) {
    match i % 4 {
        0 => (
            format!("Scontrino senza sconto {i}"),
            format!("Buongiorno, lo scontrino {i} del punto vendita di Siena non riporta lo sconto della carta."),
        ),
        1 => (
            format!("Не включается компьютер {i}"),
            format!("Здравствуйте, мой компьютер {i} не включается после обновления."),
        ),
        2 => (
            format!("Password reset {i}"),
            format!("Hello, I cannot reset the password of account {i}."),
        ),
        _ => (
            format!("Tiskárna netiskne {i}"),
            format!("Dobrý den, tiskárna v kanceláři {i} netiskne."),
        ),
    }
}

/// A staff-API ticket: a phone write-up for one of `contacts` callers.
fn staff_ticket(i: usize, contacts: usize, topic: i64, queue: Option<i64>) -> Value {
    let (subject, body) = request_text(i);
    let c = i % contacts.max(1);
    let priority = ["low", "normal", "normal", "high"][i % 4];
    let mut t = json!({"subject": subject, "body": body, "channel": "phone",
        "priority": priority, "topic_id": topic,
        "contact": {"name": format!("Cliente {c}"), "email": format!("cliente{c}@example.it"),
            "phone": format!("+39 347 {:07}", c % 10_000_000)}});
    if let Some(q) = queue {
        t["queue_id"] = json!(q);
    }
    t
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn stats_row(measure: String, value: String, s: &Stats, target: String) -> Row {
    Row {
        measure,
        value,
        p50_ms: Some(s.p50_ms),
        p99_ms: Some(s.p99_ms),
        target,
    }
}

fn check(failures: &mut Vec<String>, what: &str, s: &Stats) {
    // A few refusals under 64 clients are reported; more than 1% is a broken run.
    if s.errors * 100 > s.requests || s.requests == 0 {
        failures.push(format!(
            "{what}: {} of {} requests failed, first: {}",
            s.errors,
            s.requests,
            s.first_error.as_deref().unwrap_or("-")
        ));
    }
}

pub async fn run(
    label: &str,
    url: &str,
    mail_dir: &Path,
    sizes: &Sizes,
    corpus: &[Vec<u8>],
    reference: &Reference,
) -> Report {
    let postgres = url.starts_with("postgres");
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let mut out = json!({"database": label});
    eprintln!("suite: {label}: seeding the demo…");

    // 1. The demo (logins, queues, topics), then the generator, then a fresh start.
    Server::start(url, mail_dir).await.stop();
    let generated = Instant::now();
    let generator = match crate::server::command(url, mail_dir)
        .args(["demo", "generate", "--tickets", &sizes.tickets.to_string()])
        .output()
    {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .next()
                .unwrap_or("")
                .to_string(),
        ),
        Err(e) => Some(e.to_string()),
    };
    let generator_secs = generated.elapsed().as_secs_f64();
    let server = Server::start(url, mail_dir).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (idle_rss, _) = server.memory();
    let api = Api::new(server.port);
    let admin = api.login(ADMIN.0, ADMIN.1).await;
    let topics = api
        .ok("GET", "/api/v1/public/topics", None, Body::None)
        .await;
    let topic = topics[0]["id"].as_i64().expect("a public topic");

    // 2. Data: the generator's, or the staff API's when it is missing.
    let tickets = if generator.is_none() {
        eprintln!(
            "suite: {label}: generator made {} tickets in {generator_secs:.0} s",
            sizes.tickets
        );
        rows.push(Row {
            measure: "data: `sportello demo generate`".into(),
            value: format!("{} tickets in {generator_secs:.0} s", sizes.tickets),
            p50_ms: None,
            p99_ms: None,
            target: String::new(),
        });
        out["data"] = json!({"source": "sportello demo generate", "tickets": sizes.tickets,
            "seconds": generator_secs});
        sizes.tickets
    } else {
        let n = if sizes.tickets_chosen {
            sizes.tickets
        } else {
            sizes.fallback_tickets
        };
        let why = generator.unwrap_or_default();
        eprintln!("suite: {label}: `sportello demo generate` failed ({why}); creating {n} tickets through the staff API…");
        let (a, t) = (api.clone(), admin.clone());
        let contacts = n / 4;
        let s = load(16, Until::Count(n), move |i| {
            let (a, t) = (a.clone(), t.clone());
            async move {
                expect_2xx(
                    &a,
                    "POST",
                    "/api/v1/tickets",
                    Some(&t),
                    Body::Json(staff_ticket(i, contacts, topic, None)),
                )
                .await
                .map(drop)
            }
        })
        .await;
        check(&mut failures, "fallback data", &s);
        rows.push(stats_row(
            "data: staff API fallback (generator missing), 16 clients".into(),
            format!("{n} tickets, {:.0}/s", s.rate()),
            &s,
            String::new(),
        ));
        out["data"] =
            json!({"source": "staff API (generator missing)", "tickets": n, "load": s.json()});
        n
    };
    out["tickets"] = json!(tickets);

    // 3. Intake over HTTP: the public form's JSON and the staff API.
    let mut intake = Vec::new();
    let offset = Arc::new(AtomicUsize::new(tickets));
    for endpoint in ["public form", "staff API"] {
        for clients in [1, 8, 64] {
            // Each phase starts with the outbox empty: the acknowledgements
            // of the phase before are not this one's work.
            drain_outbox(&api, &admin).await;
            eprintln!("suite: {label}: intake, {endpoint}, {clients} clients…");
            let (a, t, base) = (api.clone(), admin.clone(), offset.load(Ordering::Relaxed));
            let public = endpoint == "public form";
            let s = load(clients, Until::Elapsed(sizes.intake), move |i| {
                let (a, t) = (a.clone(), t.clone());
                let i = base + i;
                async move {
                    if public {
                        let (_, text) = request_text(i);
                        let c = i % 5_000;
                        let body = json!({"topic_id": topic, "name": format!("Cittadino {c}"),
                            "email": format!("cittadino{c}@example.it"), "text": text,
                            "consent": true, "language": "it"});
                        expect_2xx(
                            &a,
                            "POST",
                            "/api/v1/public/requests",
                            None,
                            Body::Json(body),
                        )
                        .await
                    } else {
                        expect_2xx(
                            &a,
                            "POST",
                            "/api/v1/tickets",
                            Some(&t),
                            Body::Json(staff_ticket(i, 5_000, topic, None)),
                        )
                        .await
                    }
                    .map(drop)
                }
            })
            .await;
            offset.fetch_add(s.requests, Ordering::Relaxed);
            check(&mut failures, &format!("intake {endpoint} x{clients}"), &s);
            let target = match (postgres, reference.pgbench_tps) {
                (true, Some(tps)) => {
                    let mut t = format!(
                        "≥ 50% of pgbench: {:.0}% of {tps:.0}",
                        100.0 * s.rate() / tps
                    );
                    if let Some(same) = reference.pgbench_with(clients).filter(|_| clients != 8) {
                        t += &format!(
                            " ({:.0}% of {same:.0} at {clients} client{})",
                            100.0 * s.rate() / same,
                            if clients == 1 { "" } else { "s" }
                        );
                    }
                    t
                }
                (true, None) => "≥ 50% of pgbench (not measured)".into(),
                (false, _) => format!("≥ 1,000/s: {:.0}%", s.rate() / 10.0),
            };
            rows.push(stats_row(
                format!(
                    "intake, {endpoint}, {clients} client{} (tickets/s)",
                    if clients == 1 { "" } else { "s" }
                ),
                format!("{:.0}", s.rate()),
                &s,
                target,
            ));
            intake.push(json!({"endpoint": endpoint, "clients": clients, "stats": s.json()}));
        }
    }
    out["intake"] = json!(intake);
    let (_, peak_intake) = server.memory();

    // 4. E-mail through the mailgate, 8 clients, from an empty outbox.
    drain_outbox(&api, &admin).await;
    eprintln!(
        "suite: {label}: e-mail ingestion, {} messages…",
        corpus.len()
    );
    let messages = Arc::new(corpus.to_vec());
    let threaded = Arc::new(AtomicUsize::new(0));
    let (a, t, m, th) = (
        api.clone(),
        admin.clone(),
        messages.clone(),
        threaded.clone(),
    );
    let s = load(8, Until::Count(messages.len()), move |i| {
        let (a, t, raw, th) = (a.clone(), t.clone(), m[i].clone(), th.clone());
        async move {
            let v = expect_2xx(
                &a,
                "POST",
                "/api/v1/inbound/email",
                Some(&t),
                Body::Raw("message/rfc822", raw),
            )
            .await?;
            if v["created"] == json!(false) && v["outcome"] == "ticket" {
                th.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }
    })
    .await;
    check(&mut failures, "e-mail ingestion", &s);
    let threaded = threaded.load(Ordering::Relaxed);
    let target = if postgres {
        format!("≥ 1,000/s: {:.0}%", s.rate() / 10.0)
    } else {
        String::new()
    };
    rows.push(stats_row(
        "e-mail ingestion via mailgate, 8 clients (messages/s)".into(),
        format!("{:.0}", s.rate()),
        &s,
        target,
    ));
    rows.push(Row {
        measure: "… as a share of mail-parser's bare parse rate".into(),
        value: format!("{:.2}%", 100.0 * s.rate() / reference.mail_parser_rate),
        p50_ms: None,
        p99_ms: None,
        target: format!("{threaded} of {} replies threaded", messages.len() / 3),
    });
    out["email"] = json!({"clients": 8, "messages": messages.len(), "threaded_replies": threaded,
        "stats": s.json()});

    // 5. Triage reads, one client, p50/p99, once the background work the
    // intake left (thousands of acknowledgements in the outbox) is done, so
    // the reads are measured on their own.
    drain_outbox(&api, &admin).await;
    let queues = api
        .ok("GET", "/api/v1/queues", Some(&admin), Body::None)
        .await;
    let queue = queues
        .as_array()
        .expect("queues")
        .iter()
        .max_by_key(|q| q["active_tickets"].as_i64().unwrap_or(0))
        .and_then(|q| q["id"].as_i64())
        .expect("a queue");
    // A caller with six tickets, the first with 50 articles.
    let mut mine = Vec::new();
    let mut contact = 0;
    for k in 0..6 {
        let v = api
            .ok("POST", "/api/v1/tickets", Some(&admin), Body::Json(json!({
                "subject": format!("Richiesta ripetuta {k}"), "body": "La carta non funziona ancora.",
                "channel": "phone", "topic_id": topic,
                "contact": {"name": "Maria Bench", "email": "maria.bench@example.it"}})))
            .await;
        mine.push(v["id"].as_i64().expect("a ticket id"));
        contact = v["contact"]["id"].as_i64().expect("a contact id");
    }
    for k in 1..50 {
        api.ok("POST", &format!("/api/v1/tickets/{}/articles", mine[0]), Some(&admin),
            Body::Json(json!({"kind": "note", "body": format!("Nota {k}: richiamato il cliente, nessuna novità.")})))
            .await;
    }
    let first = api
        .ok(
            "GET",
            &format!("/api/v1/queues/{queue}/tickets?limit=50"),
            Some(&admin),
            Body::None,
        )
        .await;
    let top = first["items"][0]["id"].as_i64().unwrap_or(1);
    let reads = [
        (
            "queue's first page",
            format!("/api/v1/queues/{queue}/tickets?limit=50"),
        ),
        (
            "deep page (keyset, cursor at 10% of the ids)",
            format!(
                "/api/v1/queues/{queue}/tickets?limit=50&cursor={}",
                (top / 10).max(2)
            ),
        ),
        (
            "filtered: state + queue + assignee",
            format!("/api/v1/tickets?state=new&queue={queue}&assignee=none&limit=50"),
        ),
        (
            "search, Italian word",
            format!("/api/v1/tickets?q={}&limit=50", percent_encode("scontrino")),
        ),
        (
            "search, Russian word",
            format!("/api/v1/tickets?q={}&limit=50", percent_encode("компьютер")),
        ),
        // The two words above are in the requests of the intake phases (a few
        // thousand, the newest tickets); this one is in about 4% of the
        // generated tickets, old and new.
        (
            "search, common Italian word",
            format!("/api/v1/tickets?q={}&limit=50", percent_encode("stampante")),
        ),
        (
            "ticket with 50 articles",
            format!("/api/v1/tickets/{}", mine[0]),
        ),
        (
            "contact's tickets",
            format!("/api/v1/contacts/{contact}/tickets"),
        ),
    ];
    let mut read_json = Vec::new();
    for (name, path) in reads {
        eprintln!("suite: {label}: reads, {name}…");
        let sample = api.ok("GET", &path, Some(&admin), Body::None).await;
        let found = sample["items"]
            .as_array()
            .or(sample.as_array())
            .map(Vec::len);
        let articles = sample["articles"].as_array().map(Vec::len);
        let (a, t, p) = (api.clone(), admin.clone(), path.clone());
        let s = load(1, Until::Count(sizes.reads), move |_| {
            let (a, t, p) = (a.clone(), t.clone(), p.clone());
            async move {
                expect_2xx(&a, "GET", &p, Some(&t), Body::None)
                    .await
                    .map(drop)
            }
        })
        .await;
        check(&mut failures, name, &s);
        let shown = match (found, articles) {
            (_, Some(n)) => format!("{n} articles"),
            (Some(n), _) => format!("{n} rows"),
            _ => String::new(),
        };
        rows.push(stats_row(
            format!("read: {name}, {} requests", sizes.reads),
            shown,
            &s,
            format!(
                "p99 ≤ 20 ms: {}",
                if s.p99_ms <= 20.0 { "met" } else { "not met" }
            ),
        ));
        read_json.push(json!({"read": name, "path": path, "rows": found, "articles": articles, "stats": s.json()}));
    }
    out["reads"] = json!(read_json);

    let (_, peak_reads) = server.memory();

    // 6. Claim-next: 16 agents on one queue until it is empty.
    eprintln!(
        "suite: {label}: claim-next, {} tickets, 16 agents…",
        sizes.claims
    );
    let claim_queue = api
        .ok(
            "POST",
            "/api/v1/queues",
            Some(&admin),
            Body::Json(json!({"name": "Bench claims", "level": "first_level",
            "description": "claim-next benchmark"})),
        )
        .await["id"]
        .as_i64()
        .expect("a queue id");
    let mut agents = Vec::new();
    for k in 0..16 {
        let email = format!("agente{k}@bench.test");
        let password = format!("bench-password-{k}");
        api.ok("POST", "/api/v1/agents", Some(&admin), Body::Json(json!({"email": email,
            "name": format!("Agente {k}"), "role": "operator", "password": password, "queue_ids": [claim_queue]})))
            .await;
        agents.push(api.login(&email, &password).await);
    }
    let (a, t) = (api.clone(), admin.clone());
    let fill = load(16, Until::Count(sizes.claims), move |i| {
        let (a, t) = (a.clone(), t.clone());
        async move {
            expect_2xx(
                &a,
                "POST",
                "/api/v1/tickets",
                Some(&t),
                Body::Json(staff_ticket(i, 500, topic, Some(claim_queue))),
            )
            .await
            .map(drop)
        }
    })
    .await;
    check(&mut failures, "claim queue fill", &fill);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for token in agents {
        let a = api.clone();
        tasks.push(tokio::spawn(async move {
            let mut claimed = Vec::new();
            let mut latencies = Vec::new();
            let mut errors = 0;
            loop {
                let t = Instant::now();
                let r = a
                    .call(
                        "POST",
                        &format!("/api/v1/queues/{claim_queue}/claim"),
                        Some(&token),
                        Body::None,
                    )
                    .await;
                latencies.push(t.elapsed());
                match r {
                    Ok((200, v)) => claimed.push(v["id"].as_i64().unwrap_or(-1)),
                    Ok((204, _)) => break,
                    _ => {
                        errors += 1;
                        if errors > 100 {
                            break;
                        }
                    }
                }
            }
            (claimed, latencies, errors)
        }));
    }
    let (mut claimed, mut latencies, mut claim_errors) = (Vec::new(), Vec::new(), 0);
    for t in tasks {
        let (c, l, e) = t.await.expect("an agent");
        claimed.extend(c);
        latencies.extend(l);
        claim_errors += e;
    }
    let secs = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| {
        latencies[((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1)].as_secs_f64()
            * 1000.0
    };
    let unique: HashSet<i64> = claimed.iter().copied().collect();
    let doubles = claimed.len() - unique.len();
    if doubles > 0 {
        failures.push(format!("claim-next: {doubles} tickets claimed twice"));
    }
    if unique.len() != sizes.claims - fill.errors {
        failures.push(format!(
            "claim-next: {} of {} tickets claimed ({claim_errors} errors)",
            unique.len(),
            sizes.claims - fill.errors
        ));
    }
    let claim_rate = claimed.len() as f64 / secs;
    rows.push(Row {
        measure: format!(
            "claim-next, 16 agents, {} tickets (claims/s)",
            claimed.len()
        ),
        value: format!("{claim_rate:.0}"),
        p50_ms: Some(pct(0.5)),
        p99_ms: Some(pct(0.99)),
        target: format!("{doubles} double claims, {claim_errors} errors"),
    });
    out["claims"] = json!({"agents": 16, "tickets": sizes.claims, "claimed": claimed.len(),
        "double_claims": doubles, "errors": claim_errors, "seconds": secs, "per_second": claim_rate,
        "p50_ms": pct(0.5), "p99_ms": pct(0.99)});

    // 7. Memory.
    let (end_rss, peak_end) = server.memory();
    server.stop();
    rows.push(Row {
        measure: "memory: resident, idle after start".into(),
        value: format!("{:.1} MiB", idle_rss as f64 / MIB),
        p50_ms: None,
        p99_ms: None,
        target: format!(
            "≤ 30 MB: {}",
            if idle_rss <= 30_000_000 {
                "met"
            } else {
                "not met"
            }
        ),
    });
    rows.push(Row {
        measure: "memory: peak resident through the intake load".into(),
        value: format!("{:.1} MiB", peak_intake as f64 / MIB),
        p50_ms: None,
        p99_ms: None,
        target: format!(
            "≤ 200 MB: {}",
            if peak_intake <= 200_000_000 {
                "met"
            } else {
                "not met"
            }
        ),
    });
    rows.push(Row {
        measure: "memory: peak resident through e-mail and reads".into(),
        value: format!("{:.1} MiB", peak_reads as f64 / MIB),
        p50_ms: None,
        p99_ms: None,
        target: String::new(),
    });
    rows.push(Row {
        measure: "memory: peak resident over the whole run (with 32 password hashes)".into(),
        value: format!("{:.1} MiB", peak_end as f64 / MIB),
        p50_ms: None,
        p99_ms: None,
        target: String::new(),
    });
    out["memory"] = json!({"idle_rss_bytes": idle_rss, "peak_after_intake_bytes": peak_intake,
        "peak_after_reads_bytes": peak_reads,
        "rss_at_end_bytes": end_rss, "peak_at_end_bytes": peak_end});
    out["failures"] = json!(failures);
    print_table(&format!("{label}: {tickets} tickets"), &rows);
    Report {
        json: out,
        failures,
    }
}

/// Waits (at most two minutes) until the outbox job has had two runs in a
/// row that found nothing to send, as `GET /api/v1/jobs` reports them.
async fn drain_outbox(api: &Api, admin: &str) {
    let started = Instant::now();
    let mut idle_runs = 0;
    let mut last_seen = String::new();
    while idle_runs < 2 && started.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let jobs = api.ok("GET", "/api/v1/jobs", Some(admin), Body::None).await;
        let Some(outbox) = jobs
            .as_array()
            .and_then(|a| a.iter().find(|j| j["name"] == "outbox"))
        else {
            continue;
        };
        let run = outbox["last_started_at"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if run == last_seen {
            continue;
        }
        last_seen = run;
        let detail: Value = serde_json::from_str(outbox["last_detail"].as_str().unwrap_or("{}"))
            .unwrap_or_default();
        if detail["sent"].as_i64() == Some(0) && detail["retrying"].as_i64() == Some(0) {
            idle_runs += 1;
        } else {
            idle_runs = 0;
        }
    }
    eprintln!(
        "suite: outbox drained in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}
