//! Two real `sportello serve` processes on one PostgreSQL database, with
//! every background job running every second on both: mail polled from a real
//! IMAP server and mail delivered twice to the mailgates becomes one ticket
//! each; every outgoing e-mail is sent once, also after the instance holding
//! some of them is killed mid-send (the other takes them over when the lease
//! runs out); each due callback is offered to one agent at a time.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::{Connection, RunQueryDsl};
use serde_json::{json, Value};

use crate::harness::{create_pg_database, pg_base, with_database};
use crate::mailserver::{free_port, MailServer, HELPDESK};

struct Instance {
    child: Child,
    port: u16,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(url: &str, mail_dir: &std::path::Path, smtp: Option<&str>, demo: bool) -> Instance {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sportello"));
    cmd.arg("serve")
        .env("DATABASE_URL", url)
        .env("SPORTELLO_BIND", format!("127.0.0.1:{port}"))
        .env("SPORTELLO_MAIL_DIR", mail_dir)
        .env("SPORTELLO_OUTBOX_INTERVAL_SECS", "1")
        .env("SPORTELLO_OUTBOX_LEASE_SECS", "4")
        .env("SPORTELLO_POLL_INTERVAL_SECS", "1")
        .env("SPORTELLO_CALLBACK_DISPATCH_SECS", "1")
        .env("SPORTELLO_SLA_CHECK_SECS", "1")
        .env("SPORTELLO_BUSINESS_HOURS", "24/7")
        .env("SPORTELLO_ITALIAN_HOLIDAYS", "false")
        .env("SPORTELLO_PUBLIC_RATE_PER_MINUTE", "1000")
        .env("SPORTELLO_ACK_LIMIT_PER_HOUR", "1000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(s) = smtp {
        cmd.env("SPORTELLO_SMTP_URL", s);
    }
    if demo {
        cmd.arg("--demo");
    }
    let child = cmd.spawn().expect("the sportello binary starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "instance on {port} did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Instance { child, port }
}

/// A plain HTTP/1.1 call (the servers are real processes, not test services).
fn http(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    ctype: &str,
    body: &[u8],
) -> (u16, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let status: u16 = text[9..12].parse().unwrap();
    let (_, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    // Chunked answers: keep the JSON between the first '{'/'[' and the last '}'/']'.
    let start = body.find(['{', '[']).unwrap_or(0);
    let end = body.rfind(['}', ']']).map_or(body.len(), |e| e + 1);
    let value = serde_json::from_str(&body[start..end.max(start)]).unwrap_or(Value::Null);
    (status, value)
}

fn json_call(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    http(
        port,
        method,
        path,
        token,
        "application/json",
        body.to_string().as_bytes(),
    )
}

fn login(port: u16, email: &str, password: &str) -> String {
    let (status, body) = json_call(
        port,
        "POST",
        "/api/v1/auth/token",
        None,
        json!({"email": email, "password": password}),
    );
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_string()
}

fn scalar(url: &str, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut c = diesel::PgConnection::establish(url).unwrap();
    diesel::sql_query(sql).get_result::<N>(&mut c).unwrap().n
}

fn wait_until(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn message(i: usize) -> Vec<u8> {
    format!(
        "From: Cittadino {i} <cittadino{i}@example.it>\r\nTo: helpdesk@sportello.test\r\nSubject: Richiesta numero {i}\r\nMessage-ID: <twin-{i}@example.it>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBuongiorno, è la richiesta {i}.\r\n"
    )
    .into_bytes()
}

#[test]
fn two_instances_do_each_piece_of_work_once() {
    let Some(base) = pg_base() else {
        eprintln!("skipped: needs PostgreSQL");
        return;
    };
    let name = create_pg_database(&base);
    let url = with_database(&base, &name);
    let mail_dir = tempfile::tempdir().unwrap();
    let a = start(&url, mail_dir.path(), None, true);
    let b = start(&url, mail_dir.path(), None, false);
    let admin = login(a.port, "admin@sportello.demo", "admin-demo-2026");

    // Inbound: every message reaches both mailgates; one ticket each.
    let before = scalar(&url, "SELECT COUNT(*) AS n FROM tickets");
    for i in 0..12 {
        for port in [a.port, b.port] {
            let (status, body) = http(
                port,
                "POST",
                "/api/v1/inbound/email",
                Some(&admin),
                "message/rfc822",
                &message(i),
            );
            assert!(status == 200 || status == 201, "{status} {body}");
        }
    }
    assert_eq!(
        scalar(&url, "SELECT COUNT(*) AS n FROM tickets") - before,
        12
    );

    // Polled from a real IMAP server by both instances at once.
    if let Some(ms) = MailServer::start() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        for i in 100..110 {
            rt.block_on(ms.deliver(HELPDESK, &message(i)));
        }
        let (status, body) = json_call(
            a.port,
            "POST",
            "/api/v1/mailboxes",
            Some(&admin),
            json!({
            "name": "twin-imap", "address": "helpdesk@sportello.test", "queue_id": 1,
            "imap_host": "127.0.0.1", "imap_port": ms.imap_port, "imap_tls": "none",
            "imap_user": HELPDESK.0, "imap_password": HELPDESK.1}),
        );
        assert_eq!(status, 201, "{body}");
        let polled = "SELECT COUNT(*) AS n FROM tickets WHERE subject LIKE 'Richiesta numero 1__'";
        wait_until("both instances polling the mailbox", 120, || {
            scalar(&url, polled) >= 10
        });
        std::thread::sleep(Duration::from_secs(3));
        assert_eq!(
            scalar(&url, polled),
            10,
            "each polled message is one ticket"
        );
        drop(ms);
    } else if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("Dovecot is needed in CI (tests/services.sh installs it)");
    }

    // Outbound, both instances sending: every acknowledgement written once.
    let all_sent = "SELECT COUNT(*) AS n FROM outbox WHERE state <> 'sent'";
    wait_until("the outbox to empty", 120, || scalar(&url, all_sent) == 0);
    let files = || std::fs::read_dir(mail_dir.path()).unwrap().count() as i64;
    // The demo's background work (service-level warnings) may queue more
    // mail meanwhile: compare the files with the sent mail as they stand
    // still. A mail written twice leaves more files than sent mail for good.
    let sent = || {
        scalar(
            &url,
            "SELECT COUNT(*) AS n FROM outbox WHERE state = 'sent'",
        )
    };
    let mut seen = (0, 0);
    let settled = (0..600).any(|_| {
        let (before, written, after) = (sent(), files(), sent());
        seen = (written, after);
        let still = before == after && written == after;
        if !still {
            std::thread::sleep(Duration::from_millis(200));
        }
        still
    });
    assert!(
        settled,
        "each e-mail written exactly once: {} files for {} sent mails",
        seen.0, seen.1
    );
    let total = scalar(&url, "SELECT COUNT(*) AS n FROM outbox");
    assert!(total >= 12, "acknowledgements were queued: {total}");
    assert_eq!(
        scalar(&url, "SELECT COUNT(DISTINCT message_id) AS n FROM outbox"),
        total
    );

    // Callbacks: two agents available, six callbacks due, both instances
    // dispatching every second: each is offered to one agent, once.
    for (email, password) in [
        ("giulia.operatrice@sportello.demo", "operatore-demo-1"),
        ("marco.operatore@sportello.demo", "operatore-demo-2"),
    ] {
        let token = login(b.port, email, password);
        let (status, _) = json_call(
            b.port,
            "PUT",
            "/api/v1/presence",
            Some(&token),
            json!({"state": "available"}),
        );
        assert_eq!(status, 200);
    }
    for i in 0..6 {
        let port = if i % 2 == 0 { a.port } else { b.port };
        let (status, body) = json_call(
            port,
            "POST",
            "/api/v1/public/callbacks",
            None,
            json!({
            "phone": format!("06 555 010{i}"), "mode": "now", "email": format!("richiamo{i}@example.it")}),
        );
        assert_eq!(status, 201, "{body}");
    }
    let offered = "SELECT COUNT(*) AS n FROM callback_requests WHERE state = 'offered'";
    wait_until("two offers", 60, || scalar(&url, offered) == 2);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        scalar(&url, "SELECT COUNT(*) AS n FROM callback_offers"),
        2,
        "offered once each"
    );
    assert_eq!(
        scalar(
            &url,
            "SELECT COUNT(DISTINCT offered_to) AS n FROM callback_requests WHERE state = 'offered'"
        ),
        2
    );
    let sup = login(
        b.port,
        "paolo.supervisore@sportello.demo",
        "supervisore-demo",
    );
    let (status, jobs) = json_call(b.port, "GET", "/api/v1/jobs", Some(&sup), Value::Null);
    assert_eq!(status, 200, "{jobs}");
    let names: Vec<&str> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    for job in ["callback_dispatch", "mail_poll", "outbox", "sla_check"] {
        assert!(names.contains(&job), "{jobs}");
    }
    wait_until("the callback mails", 120, || scalar(&url, all_sent) == 0);

    // Escalation: a queue whose tickets are at risk almost at once, both
    // instances checking every second: each warning fires once.
    let (status, queue) = json_call(
        a.port,
        "POST",
        "/api/v1/queues",
        Some(&admin),
        json!({"name": "Lampo", "level": "first_level"}),
    );
    assert_eq!(status, 201, "{queue}");
    let queue_id = queue["id"].as_i64().unwrap();
    let supervisor = scalar(
        &url,
        "SELECT id AS n FROM agents WHERE email = 'paolo.supervisore@sportello.demo'",
    );
    let (status, body) = json_call(
        a.port,
        "PATCH",
        &format!("/api/v1/queues/{queue_id}"),
        Some(&admin),
        json!({"supervisor_id": supervisor}),
    );
    assert!((200..300).contains(&status), "{body}");
    for (path, body) in [
        (
            "/api/v1/sla-policies",
            json!({"name": "Lampo", "queue_id": queue_id, "first_response_minutes": 1,
                   "warning_percent": 1}),
        ),
        (
            "/api/v1/escalation-rules",
            json!({"queue_id": queue_id, "name": "Lampo a rischio", "on": "warning",
                   "notify_supervisor": true}),
        ),
    ] {
        let (status, body) = json_call(a.port, "POST", path, Some(&admin), body);
        assert_eq!(status, 201, "{body}");
    }
    for i in 0..5 {
        let port = if i % 2 == 0 { a.port } else { b.port };
        let (status, body) = json_call(
            port,
            "POST",
            "/api/v1/tickets",
            Some(&admin),
            json!({"subject": format!("Urgente {i}"), "body": "Subito.", "queue_id": queue_id}),
        );
        assert_eq!(status, 201, "{body}");
    }
    // (The demo's own rules fire on its old tickets too: count this queue's.)
    let in_queue = |sql: &str| {
        scalar(
            &url,
            &format!("{sql} AND ticket_id IN (SELECT id FROM tickets WHERE queue_id = {queue_id})"),
        )
    };
    let firings = "SELECT COUNT(*) AS n FROM escalation_firings WHERE true";
    wait_until("five warnings", 60, || in_queue(firings) == 5);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(in_queue(firings), 5);
    assert_eq!(
        in_queue("SELECT COUNT(*) AS n FROM ticket_events WHERE kind = 'sla_warning'"),
        5,
        "each warning recorded once"
    );
    assert_eq!(
        in_queue("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'sla_warning'"),
        5,
        "each supervisor notice written once"
    );
    wait_until("the notices", 120, || scalar(&url, all_sent) == 0);
    drop((a, b));

    // An instance dies holding mail: it sends through an SMTP server that
    // accepts connections and never answers, so it claims the mail and hangs.
    let blackhole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let smtp = format!(
        "smtp://127.0.0.1:{}",
        blackhole.local_addr().unwrap().port()
    );
    let stuck = start(&url, mail_dir.path(), Some(&smtp), false);
    for i in 200..205 {
        let (status, body) = http(
            stuck.port,
            "POST",
            "/api/v1/inbound/email",
            Some(&admin),
            "message/rfc822",
            &message(i),
        );
        assert_eq!(status, 201, "{body}");
    }
    let claimed =
        "SELECT COUNT(*) AS n FROM outbox WHERE state <> 'sent' AND locked_until IS NOT NULL";
    wait_until("the stuck instance to claim its mail", 60, || {
        scalar(&url, claimed) == 5
    });
    drop(stuck);
    drop(blackhole);
    let before = files();
    let heir = start(&url, mail_dir.path(), None, false);
    wait_until(
        "the other instance to take over the expired leases",
        120,
        || scalar(&url, all_sent) == 0,
    );
    assert_eq!(files() - before, 5, "the dead instance's mail, sent once");
    assert_eq!(files(), scalar(&url, "SELECT COUNT(*) AS n FROM outbox"));
    drop(heir);
    if let Ok(mut admin_conn) = diesel::PgConnection::establish(&base) {
        use diesel::connection::SimpleConnection;
        let _ = admin_conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
}
