//! The binary as a user runs it: `serve --demo`, `migrate`, `agent add`,
//! `catalogue seed-forms`, `demo generate`, and clear messages with a
//! non-zero exit on bad input.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::Connection;

fn sportello() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sportello"));
    c.env_remove("DATABASE_URL")
        .env_remove("SPORTELLO_DATABASE_URL")
        .env("RUST_LOG", "warn");
    c
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal HTTP/1.1 exchange; returns (status, body).
fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    let body = body.unwrap_or("");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_demo(port: u16, dir: &std::path::Path, database_url: Option<&str>) -> Server {
    let mut cmd = sportello();
    cmd.current_dir(dir)
        .args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(url) = database_url {
        cmd.env("DATABASE_URL", url);
    }
    let server = Server(cmd.spawn().unwrap());
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok((200, _)) = http(port, "GET", "/healthz", None, None) {
            return server;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("the server did not answer /healthz within 60 s");
}

fn demo_walkthrough(port: u16, database: &str) {
    let (status, health) = http(port, "GET", "/healthz", None, None).unwrap();
    assert_eq!(status, 200);
    assert!(
        health.contains(&format!("\"database\":\"{database}\"")),
        "{health}"
    );
    let (status, login) = http(
        port,
        "POST",
        "/api/v1/auth/token",
        Some(r#"{"email":"giulia.operatrice@sportello.demo","password":"operatore-demo-1"}"#),
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "{login}");
    let token: serde_json::Value = serde_json::from_str(&login).unwrap();
    let token = token["token"].as_str().unwrap();
    let (status, list) = http(port, "GET", "/api/v1/tickets?limit=200", None, Some(token)).unwrap();
    assert_eq!(status, 200);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let items = list["items"].as_array().unwrap();
    assert!(items.len() >= 24, "a few dozen demo tickets");
    let states: std::collections::HashSet<&str> =
        items.iter().map(|t| t["state"].as_str().unwrap()).collect();
    for s in [
        "new",
        "open",
        "escalated",
        "pending_customer",
        "resolved",
        "closed",
    ] {
        assert!(states.contains(s), "no demo ticket is {s}");
    }
    let (status, topics) = http(port, "GET", "/api/v1/topics", None, Some(token)).unwrap();
    assert_eq!(status, 200);
    assert!(topics.contains("Reclami") && topics.contains("Chiamata non target"));
}

#[test]
fn serve_demo_with_no_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    {
        let _server = start_demo(port, dir.path(), None);
        demo_walkthrough(port, "sqlite");
    }
    assert!(
        dir.path().join("sportello.db").exists(),
        "the default database is ./sportello.db"
    );
    // A second start finds the demo there and does not seed it twice.
    let _server = start_demo(port, dir.path(), None);
    let (_, login) = http(
        port,
        "POST",
        "/api/v1/auth/token",
        Some(r#"{"email":"admin@sportello.demo","password":"admin-demo-2026"}"#),
        None,
    )
    .unwrap();
    let token: serde_json::Value = serde_json::from_str(&login).unwrap();
    let (_, list) = http(
        port,
        "GET",
        "/api/v1/tickets?limit=200",
        None,
        token["token"].as_str(),
    )
    .unwrap();
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 30);
}

#[test]
fn serve_demo_on_postgres() {
    let Ok(base) = std::env::var("SPORTELLO_TEST_DATABASE_URL") else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "SPORTELLO_TEST_DATABASE_URL must be set in CI"
        );
        eprintln!("skipped: SPORTELLO_TEST_DATABASE_URL is not set");
        return;
    };
    let name = format!("sportello_cli_{}", std::process::id());
    let mut admin = diesel::PgConnection::establish(&base).unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    {
        let _server = start_demo(port, dir.path(), Some(&url));
        demo_walkthrough(port, "postgresql");
    }
    assert!(
        !dir.path().join("sportello.db").exists(),
        "PostgreSQL mode creates no SQLite file"
    );
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
}

#[test]
fn migrate_and_agent_add() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("x.db").display());
    let o = run(sportello().env("DATABASE_URL", &url).arg("migrate"));
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("applied"));
    let o = run(sportello().env("DATABASE_URL", &url).arg("migrate"));
    assert!(text(&o).contains("up to date"));
    // The shipped call forms, once however often it runs.
    for _ in 0..2 {
        let o = run(sportello()
            .env("DATABASE_URL", &url)
            .args(["catalogue", "seed-forms"]));
        assert!(o.status.success(), "{}", text(&o));
        assert!(
            text(&o).contains("queue Direzione (id 2)")
                && text(&o).contains("topic Reclamo qualità linea (id 2)"),
            "{}",
            text(&o)
        );
    }

    let add = |email: &str, role: &str, password: &str, queue: &str| {
        let mut c = sportello();
        c.env("DATABASE_URL", &url)
            .args([
                "agent",
                "add",
                "--email",
                email,
                "--name",
                "Giulia Bianchi",
                "--role",
                role,
                "--queue",
                queue,
            ])
            .env("SPORTELLO_AGENT_PASSWORD", password);
        run(&mut c)
    };
    let o = add(
        "giulia@example.it",
        "operator",
        "a-long-password",
        "First level",
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("created operator Giulia Bianchi <giulia@example.it>"));

    for (email, role, password, queue, expect) in [
        (
            "giulia@example.it",
            "operator",
            "a-long-password",
            "1",
            "already exists",
        ),
        (
            "x@example.it",
            "boss",
            "a-long-password",
            "1",
            "unknown role 'boss'",
        ),
        (
            "x@example.it",
            "operator",
            "short",
            "1",
            "at least 8 characters",
        ),
        (
            "not-an-email",
            "operator",
            "a-long-password",
            "1",
            "not a valid e-mail",
        ),
        (
            "x@example.it",
            "operator",
            "a-long-password",
            "Nowhere",
            "no queue named 'Nowhere'",
        ),
    ] {
        let o = add(email, role, password, queue);
        assert!(!o.status.success(), "{email} {role} should fail");
        assert!(
            text(&o).contains(expect),
            "expected '{expect}' in: {}",
            text(&o)
        );
    }
}

#[test]
fn bad_configuration_is_a_clear_error() {
    for (url, expect) in [
        ("postgress://u@h/d", "unknown database URL scheme"),
        ("nonsense", "a database URL is"),
    ] {
        let o = run(sportello().env("DATABASE_URL", url).arg("migrate"));
        assert!(!o.status.success());
        assert!(text(&o).contains(expect), "{}", text(&o));
    }
    let o = run(sportello()
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .arg("migrate"));
    assert!(!o.status.success());
    assert!(text(&o).contains("cannot connect"), "{}", text(&o));
    let o = run(sportello().args(["serve", "--bind", "not-an-address"]));
    assert!(!o.status.success());
    assert!(text(&o).contains("HOST:PORT"), "{}", text(&o));
    let o = run(sportello()
        .env("SPORTELLO_TIME_ZONE", "Mars/Olympus")
        .arg("migrate"));
    assert!(!o.status.success());
    assert!(text(&o).contains("unknown time zone"));
}

#[test]
fn mail_import_eml_mbox_and_maildir() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail");
    let import = |path: &std::path::Path| {
        run(sportello()
            .env("DATABASE_URL", &url)
            .args(["mail", "import"])
            .arg(path))
    };

    let o = import(&fixtures.join("it_plain.eml"));
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("read 1 message(s): 1 new ticket(s)"),
        "{}",
        text(&o)
    );

    // An mbox with two new messages, one already imported and a robot.
    let mut mbox = Vec::new();
    for f in [
        "ru_cp1251.eml",
        "cs_iso88592.eml",
        "it_plain.eml",
        "auto_reply.eml",
    ] {
        mbox.extend_from_slice(b"From sender@example.org Mon Mar  2 10:00:00 2026\n");
        mbox.extend_from_slice(
            &std::fs::read(fixtures.join(f))
                .unwrap()
                .iter()
                .copied()
                .filter(|b| *b != b'\r')
                .collect::<Vec<u8>>(),
        );
        mbox.extend_from_slice(b"\n");
    }
    let mbox_path = dir.path().join("archive.mbox");
    std::fs::write(&mbox_path, mbox).unwrap();
    let o = import(&mbox_path);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("read 4 message(s): 2 new ticket(s), 0 added to tickets, 1 in review, 1 already imported"), "{}", text(&o));

    // A Maildir.
    let maildir = dir.path().join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    std::fs::copy(
        fixtures.join("ru_koi8.eml"),
        maildir.join("new/1700000000.1.host"),
    )
    .unwrap();
    std::fs::copy(
        fixtures.join("html_only_script.eml"),
        maildir.join("cur/1700000001.2.host:2,S"),
    )
    .unwrap();
    let o = import(&maildir);
    assert!(
        text(&o).contains("read 2 message(s): 2 new ticket(s)"),
        "{}",
        text(&o)
    );

    let o = import(&dir.path().join("missing.eml"));
    assert!(!o.status.success());
    assert!(text(&o).contains("does not exist"));
    let o = run(sportello()
        .env("DATABASE_URL", &url)
        .args(["mail", "import", "--mailbox", "nowhere"])
        .arg(fixtures.join("it_plain.eml")));
    assert!(!o.status.success());
    assert!(text(&o).contains("no mailbox 'nowhere'"), "{}", text(&o));
}

#[test]
fn contacts_and_service_points_import() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("r.db").display());
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/registry");
    let import = |what: &str, path: &std::path::Path| {
        run(sportello()
            .env("DATABASE_URL", &url)
            .args([what, "import"])
            .arg(path))
    };

    // One bad row: the others are imported, the bad one printed, status 2.
    let o = import("contacts", &fixtures.join("contacts.csv"));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("2 created, 0 updated, 0 unchanged, 1 rejected"),
        "{}",
        text(&o)
    );
    assert!(
        text(&o)
            .contains("line 3: email: 'paola.neri@not-an-address' is not a valid e-mail address"),
        "{}",
        text(&o)
    );
    let o = import("contacts", &fixtures.join("contacts_semicolon_bom.csv"));
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("3 created, 0 updated, 0 unchanged, 0 rejected"),
        "{}",
        text(&o)
    );

    let o = import("service-points", &fixtures.join("service_points.csv"));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("6 created"), "{}", text(&o));
    assert!(
        text(&o).contains("line 5: phone: 'not a phone' is not a valid phone number"),
        "{}",
        text(&o)
    );
    let fixed = dir.path().join("fix.csv");
    std::fs::write(
        &fixed,
        "external_key;name;phone\nPV-MI-001;Osteria del Naviglio;02 8940 1234\n",
    )
    .unwrap();
    let o = import("service-points", &fixed);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("1 created, 0 updated, 0 unchanged, 0 rejected"),
        "{}",
        text(&o)
    );

    // Files that cannot be imported at all are errors with a message.
    let o = import("contacts", &dir.path().join("missing.csv"));
    assert!(!o.status.success());
    assert_ne!(o.status.code(), Some(2));
    assert!(text(&o).contains("does not exist"), "{}", text(&o));
    let nokey = dir.path().join("nokey.csv");
    std::fs::write(&nokey, "name;city\nMario;Roma\n").unwrap();
    let o = import("service-points", &nokey);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("no 'external_key' column"),
        "{}",
        text(&o)
    );
    let o = import("contacts", &fixtures.join("windows_1252.csv"));
    assert!(!o.status.success());
    assert!(text(&o).contains("not UTF-8"), "{}", text(&o));
}

/// A count from the generated database, through the app's own connection code.
fn count(conn: &mut sportello::store::DbConn, sql: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(sql)
        .get_result::<N>(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

/// Percent-encodes a query value (the words searched for are not ASCII).
fn encoded(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// `demo generate` on an empty database: the demo is seeded, 3,000 tickets
/// spread over states, channels and queues, and the app keeps working on top.
fn generate_and_use(dir: &std::path::Path, database_url: Option<&str>, database: &str) {
    let before = chrono::Utc::now().naive_utc();
    let mut cmd = sportello();
    cmd.current_dir(dir)
        .args(["demo", "generate", "--tickets", "3000"]);
    if let Some(url) = database_url {
        cmd.env("DATABASE_URL", url);
    }
    let o = run(&mut cmd);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("generated 3000 tickets in"),
        "{}",
        text(&o)
    );

    let url = database_url
        .map(str::to_string)
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("sportello.db").display()));
    let mut conn = sportello::store::DbUrl::parse(&url)
        .unwrap()
        .connect()
        .unwrap();
    let c = &mut conn;
    // The demo's 30 tickets, then ours.
    assert_eq!(count(c, "SELECT COUNT(*) AS n FROM tickets"), 3030);
    let contacts = count(c, "SELECT COUNT(*) AS n FROM contacts");
    assert!((300..=320).contains(&contacts), "{contacts} contacts");
    assert!(count(c, "SELECT COUNT(*) AS n FROM articles") >= 3030);
    assert!(count(c, "SELECT COUNT(*) AS n FROM ticket_events") >= 6000);
    assert!(count(c, "SELECT COUNT(*) AS n FROM attachments") > 0);
    assert_eq!(
        count(c, "SELECT COUNT(DISTINCT number) AS n FROM tickets"),
        3030
    );
    assert_eq!(
        count(c, "SELECT COUNT(DISTINCT state) AS n FROM tickets"),
        8
    );
    assert_eq!(
        count(c, "SELECT COUNT(DISTINCT channel) AS n FROM tickets"),
        5
    );
    assert_eq!(
        count(
            c,
            "SELECT COUNT(*) AS n FROM queues WHERE active AND id NOT IN (SELECT queue_id FROM tickets)"
        ),
        0,
        "every queue has tickets"
    );
    assert!(
        count(
            c,
            "SELECT COUNT(*) AS n FROM contacts WHERE search_key LIKE '%+39%' OR search_key LIKE '%+7%'"
        ) > 0
    );
    // Each ticket has the clocks intake would have started, each with its
    // history from the start; the escalation rules whose moment has passed
    // have fired, so a server started on it has no backlog of old breaches.
    assert_eq!(
        count(
            c,
            "SELECT COUNT(*) AS n FROM tickets t WHERE NOT EXISTS \
             (SELECT 1 FROM sla_clocks k WHERE k.ticket_id = t.id AND k.kind = 'resolution')"
        ),
        0,
        "every ticket has a resolution clock"
    );
    assert_eq!(
        count(
            c,
            "SELECT COUNT(*) AS n FROM sla_clocks k WHERE NOT EXISTS \
             (SELECT 1 FROM sla_clock_events e WHERE e.clock_id = k.id AND e.kind = 'started')"
        ),
        0,
        "every clock's history starts"
    );
    for state in ["running", "paused", "met", "breached"] {
        assert!(
            count(
                c,
                &format!("SELECT COUNT(*) AS n FROM sla_clocks WHERE state = '{state}'")
            ) > 0,
            "{database}: no {state} clock"
        );
    }
    assert!(count(c, "SELECT COUNT(*) AS n FROM escalation_firings") > 0);
    // The demo's own 30 tickets come first; their overdue clocks are for
    // the server to fire, as on any demo.
    let due: Vec<_> = sportello::store::escalation::due(c, before, 1000)
        .unwrap()
        .into_iter()
        .filter(|d| d.ticket_id > 30)
        .collect();
    assert!(due.is_empty(), "{database}: left to fire: {due:?}");
    // Housekeeping (the default rules) has done to the generated tickets
    // what fell due before the run, so a server started on them does not
    // spend its first minutes closing, resolving and reminding.
    use sportello::store::housekeeping as hk;
    let rules = sportello::domain::housekeeping::Rules {
        auto_close_days: 7,
        reminder_days: 3,
        auto_resolve_days: 14,
    };
    let cutoff = rules.close_cutoff(before).unwrap();
    assert_eq!(
        hk::resolved_before(c, cutoff, 30, 10).unwrap(),
        Vec::<i64>::new()
    );
    let waiting = hk::waiting_before(c, rules.waiting_cutoff(before).unwrap(), 30, 1000).unwrap();
    for id in waiting {
        let w = hk::waiting(c, id, before).unwrap();
        let facts = sportello::domain::housekeeping::Facts {
            state: sportello::domain::TicketState::PendingCustomer,
            resolved_at: None,
            waiting_since: w.since,
            reminders: w.reminders,
            last_reminder_at: w.last_reminder_at,
        };
        assert_eq!(
            rules.due(&facts, before),
            sportello::domain::housekeeping::Due::Nothing,
            "{database}: ticket {id}: {w:?}"
        );
    }
    let (max_id, before_years) = (
        count(c, "SELECT MAX(id) AS n FROM tickets"),
        count(c, "SELECT COUNT(*) AS n FROM ticket_counters"),
    );
    assert!(before_years >= 3, "tickets over three years");

    let port = free_port();
    let _server = start_demo(port, dir, database_url);
    let (status, login) = http(
        port,
        "POST",
        "/api/v1/auth/token",
        Some(r#"{"email":"admin@sportello.demo","password":"admin-demo-2026"}"#),
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "{login}");
    let login: serde_json::Value = serde_json::from_str(&login).unwrap();
    let token = login["token"].as_str();
    for word in ["stampante", "принтер"] {
        let (status, list) = http(
            port,
            "GET",
            &format!("/api/v1/tickets?q={}&limit=5", encoded(word)),
            None,
            token,
        )
        .unwrap();
        assert_eq!(status, 200, "{list}");
        let list: serde_json::Value = serde_json::from_str(&list).unwrap();
        assert!(
            !list["items"].as_array().unwrap().is_empty(),
            "{database}: nothing found for {word}"
        );
    }
    let (status, found) = http(
        port,
        "GET",
        &format!("/api/v1/contacts?q={}", encoded("Иванова")),
        None,
        token,
    )
    .unwrap();
    assert_eq!(status, 200, "{found}");
    assert!(found.contains("Иванова"), "{found}");

    // A ticket created now gets the next id and the next number of the year.
    let (status, created) = http(
        port,
        "POST",
        "/api/v1/tickets",
        Some(r#"{"subject":"Dopo la generazione","body":"Un ticket nuovo","channel":"staff"}"#),
        token,
    )
    .unwrap();
    assert_eq!(status, 201, "{created}");
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    assert_eq!(created["id"].as_i64(), Some(max_id + 1));
    let number = created["number"].as_str().unwrap();
    assert_eq!(
        count(
            c,
            &format!("SELECT COUNT(*) AS n FROM tickets WHERE number = '{number}'")
        ),
        1
    );
    let year = &number[..4];
    assert_eq!(
        count(
            c,
            &format!(
                "SELECT COUNT(*) AS n FROM tickets WHERE number LIKE '{year}-%' AND number > '{number}'"
            )
        ),
        0,
        "{number} is the highest of its year"
    );
}

#[test]
fn demo_generate_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    generate_and_use(dir.path(), None, "sqlite");
}

#[test]
fn demo_generate_on_postgres() {
    let Ok(base) = std::env::var("SPORTELLO_TEST_DATABASE_URL") else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "SPORTELLO_TEST_DATABASE_URL must be set in CI"
        );
        eprintln!("skipped: SPORTELLO_TEST_DATABASE_URL is not set");
        return;
    };
    let name = format!("sportello_gen_{}", std::process::id());
    let mut admin = diesel::PgConnection::establish(&base).unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
    let dir = tempfile::tempdir().unwrap();
    generate_and_use(dir.path(), Some(&url), "postgresql");
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
}

#[test]
fn demo_generate_refuses_bad_counts() {
    let dir = tempfile::tempdir().unwrap();
    for (arg, expect) in [
        ("0", "must be from 1 to"),
        ("abc", "is not a number of tickets"),
        ("-5", "--tickets"),
        ("1000000000", "must be from 1 to"),
    ] {
        let o =
            run(sportello()
                .current_dir(dir.path())
                .args(["demo", "generate", "--tickets", arg]));
        assert!(!o.status.success(), "{arg}");
        assert!(text(&o).contains(expect), "{arg}: {}", text(&o));
    }
    let o = run(sportello()
        .current_dir(dir.path())
        .args(["demo", "generate"]));
    assert!(!o.status.success());
    assert!(text(&o).contains("--tickets"), "{}", text(&o));
    assert!(
        !dir.path().join("sportello.db").exists(),
        "bad arguments touch no database"
    );
}
