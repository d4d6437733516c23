//! Test harness: every test gets a fresh database — a SQLite file in a temp
//! folder, or a PostgreSQL database cloned from a migrated template when
//! SPORTELLO_TEST_DATABASE_URL is set — and the real HTTP app on top of it,
//! with a clock the test controls.

use std::sync::{Arc, Mutex, OnceLock};

use actix_http::Request;
use actix_service::boxed::BoxService;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use actix_web::web;
use chrono::TimeZone;
use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};
use serde_json::Value;

use sportello::clock::ManualClock;
use sportello::config::Config;
use sportello::domain::Role;
use sportello::service::App;
use sportello::store::rows::NewAgent;
use sportello::store::{agents, DbUrl};

pub const PG_ENV: &str = "SPORTELLO_TEST_DATABASE_URL";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// Generates one test per backend from one body: `mod name { sqlite, postgres }`.
#[macro_export]
macro_rules! both {
    ($name:ident, |$t:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[actix_web::test]
            async fn sqlite() {
                let $t = $crate::harness::TestApp::start($crate::harness::Kind::Sqlite).await;
                $body
            }
            #[actix_web::test]
            async fn postgres() {
                let Some($t) = $crate::harness::TestApp::start_pg().await else {
                    return;
                };
                $body
            }
        }
    };
}

pub struct Agent {
    pub id: i64,
    pub token: String,
}

/// The fixture every test starts from.
pub struct Fixture {
    pub first_level: i64,
    pub desktop: i64,
    pub mobile: i64,
    pub care: i64,
    pub back_office: i64,
    pub admin: Agent,
    pub operator: Agent,
    pub operator2: Agent,
    pub specialist: Agent,
    pub care_agent: Agent,
    pub supervisor: Agent,
}

pub struct TestApp {
    pub app: App,
    pub clock: ManualClock,
    pub svc: BoxService<Request, ServiceResponse<BoxBody>, actix_web::Error>,
    pub fx: Fixture,
    pub kind: Kind,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

pub struct Response {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
    pub raw: Vec<u8>,
    pub headers: actix_web::http::header::HeaderMap,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
    }

    pub fn is_problem(&self) -> bool {
        self.content_type.starts_with("application/problem+json")
    }
}

pub const PASSWORD: &str = "test-password-1";

fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| sportello::service::auth::hash_password(PASSWORD).unwrap())
        .clone()
}

pub fn pg_base() -> Option<String> {
    match std::env::var(PG_ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{PG_ENV} must be set in CI so that the suite runs on PostgreSQL too");
            }
            None
        }
    }
}

/// `postgres://…/dbname` → `postgres://…/other`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let cut = base.rfind('/').expect("database URL has a path");
    let mut out = format!("{}/{db}", &base[..cut]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn template_name() -> String {
    use sha2::{Digest, Sha256};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    let mut h = Sha256::new();
    for e in entries {
        h.update(std::fs::read(e.join("up.sql")).unwrap_or_default());
    }
    format!("sportello_tpl_{}", &hex::encode(h.finalize())[..12])
}

static PG_CREATE: Mutex<()> = Mutex::new(());

/// Creates a fresh, migrated database and returns its name.
pub fn create_pg_database(base: &str) -> String {
    let _guard = PG_CREATE.lock().unwrap_or_else(|p| p.into_inner());
    let mut admin = diesel::PgConnection::establish(base)
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {PG_ENV}: {e}"));
    let tpl = template_name();
    // Across test processes: one builds the template, the others wait.
    admin
        .batch_execute("SELECT pg_advisory_lock(727274)")
        .unwrap();
    let exists: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
        "EXISTS (SELECT 1 FROM pg_database WHERE datname = '{tpl}')"
    )))
    .get_result(&mut admin)
    .unwrap();
    if !exists {
        // Templates of older migration sets are of no more use.
        let stale: Vec<String> = diesel::dsl::sql::<diesel::sql_types::Text>(&format!(
            "SELECT datname FROM pg_database WHERE datname LIKE 'sportello\\_tpl\\_%' AND datname <> '{tpl}'"
        ))
        .load(&mut admin)
        .unwrap_or_default();
        for old in stale {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {old}"));
        }
        let building = format!("{tpl}_building");
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {building}"))
            .unwrap();
        {
            let url = DbUrl::parse(&with_database(base, &building)).unwrap();
            let db = sportello::store::Db::open(&url, 1).unwrap();
            db.migrate().unwrap();
        }
        admin
            .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {tpl}"))
            .unwrap();
    }
    let name = format!(
        "sportello_t_{}_{}",
        std::process::id(),
        rand::random::<u32>()
    );
    let mut tries = 0;
    loop {
        match admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {tpl}")) {
            Ok(()) => break,
            Err(e) if tries < 50 && e.to_string().contains("being accessed by other users") => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => panic!("cannot create test database: {e}"),
        }
    }
    admin
        .batch_execute("SELECT pg_advisory_unlock(727274)")
        .unwrap();
    name
}

impl TestApp {
    pub async fn start_pg() -> Option<TestApp> {
        match pg_base() {
            Some(_) => Some(TestApp::start(Kind::Postgres).await),
            None => {
                eprintln!("skipped: {PG_ENV} is not set, so this test ran on SQLite only");
                None
            }
        }
    }

    pub async fn start(kind: Kind) -> TestApp {
        TestApp::start_with(kind, &[]).await
    }

    /// Starts with extra configuration (environment variable, value).
    pub async fn start_with(kind: Kind, extra: &[(&str, &str)]) -> TestApp {
        let (url, dir, pg_name) = match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("test.db");
                (format!("sqlite://{}", path.display()), Some(dir), None)
            }
            Kind::Postgres => {
                let base = pg_base().expect("PostgreSQL URL");
                let b2 = base.clone();
                let name = tokio::task::spawn_blocking(move || create_pg_database(&b2))
                    .await
                    .unwrap();
                (with_database(&base, &name), None, Some(name))
            }
        };
        let mut env = vec![
            ("DATABASE_URL".to_string(), url),
            ("SPORTELLO_MAX_BODY_BYTES".to_string(), "262144".to_string()),
            (
                "SPORTELLO_PUBLIC_RATE_PER_MINUTE".to_string(),
                "1000".to_string(),
            ),
            (
                "SPORTELLO_PUBLIC_URL".to_string(),
                "https://sportello.test".to_string(),
            ),
        ];
        // Later entries win (Config reads the first match, so put overrides first).
        for (k, v) in extra.iter().rev() {
            env.insert(0, (k.to_string(), v.to_string()));
        }
        let config = Config::from_sources(None, &env).unwrap();
        let cfg = config.clone();
        let db = tokio::task::spawn_blocking(move || sportello::server::open_and_migrate(&cfg))
            .await
            .unwrap()
            .unwrap();
        let clock = ManualClock::new(chrono::Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap());
        let app = sportello::server::app(db, Arc::new(clock.clone()), config).unwrap();
        let fx = fixture(&app).await;
        let data = web::Data::new(app.clone());
        let api_config = (*app.config).clone();
        let svc = test::init_service(
            actix_web::App::new()
                .app_data(data)
                .configure(move |c| sportello::api::configure(c, &api_config)),
        )
        .await;
        let svc = actix_service::boxed::service(svc);
        TestApp {
            app,
            clock,
            svc,
            fx,
            kind,
            _dir: dir,
            pg_name,
        }
    }

    /// Sends a request as the holder of `token` (None: anonymous).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut req = TestRequest::default().method(method).uri(path);
        if let Some(t) = token {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        if let Some(b) = body {
            req = req.set_json(b);
        }
        self.send(req).await
    }

    pub async fn send(&self, req: TestRequest) -> Response {
        let res = test::call_service(&self.svc, req.to_request()).await;
        let status = res.status();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_string();
        let headers = res.headers().clone();
        let raw = res
            .into_body()
            .try_into_bytes()
            .map(|b| b.to_vec())
            .unwrap_or_default();
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Response {
            headers,
            status,
            content_type,
            body,
            raw,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// Opens a ticket as the operator and returns its JSON.
    pub async fn new_ticket(&self, subject: &str, body: &str) -> Value {
        let r = self
            .post(
                "/api/v1/tickets",
                &self.fx.operator.token,
                serde_json::json!({"subject": subject, "body": body}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }

    /// Counts the rows of a table (to prove nothing was written).
    pub async fn count(&self, table: &'static str) -> i64 {
        self.app
            .db
            .read(move |c| {
                use diesel::RunQueryDsl;
                Ok(
                    diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
                        "(SELECT COUNT(*) FROM {table})"
                    )))
                    .get_result::<i64>(c)?,
                )
            })
            .await
            .unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let (Some(name), Some(base)) = (self.pg_name.take(), pg_base()) {
            // Best effort: a left-over database is harmless and has a unique name.
            if let Ok(mut admin) = diesel::PgConnection::establish(&base) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

async fn fixture(app: &App) -> Fixture {
    let hash = password_hash();
    let now = sportello::clock::Clock::now_db(&*app.clock);
    app.db
        .write(move |c| {
            use sportello::domain::QueueLevel;
            use sportello::store::catalogue;
            use sportello::store::rows::NewQueue;
            let first_level = catalogue::snapshot(c)?.default_first_level().unwrap().id;
            let mut queue = |name: &str, level: QueueLevel| {
                catalogue::insert_queue(
                    c,
                    &NewQueue {
                        name: name.into(),
                        level: level.as_str().into(),
                        description: String::new(),
                        email: None,
                        active: true,
                        created_at: now,
                        calendar_id: None,
                        supervisor_id: None,
                    },
                )
            };
            let desktop = queue("Desktop", QueueLevel::SecondLevel)?;
            let mobile = queue("Mobile", QueueLevel::SecondLevel)?;
            let care = queue("Customer Care", QueueLevel::CustomerCare)?;
            let back_office = queue("Back office", QueueLevel::BackOffice)?;
            let mut agent = |email: &str,
                             role: Role,
                             queues: &[i64]|
             -> sportello::error::AppResult<Agent> {
                let id = agents::insert(
                    c,
                    &NewAgent {
                        email: email.into(),
                        name: email.split('@').next().unwrap().into(),
                        role: role.as_str().into(),
                        password_hash: hash.clone(),
                        active: true,
                        time_zone: None,
                        created_at: now,
                    },
                )?;
                agents::set_queues(c, id, queues)?;
                let (_, token) =
                    sportello::service::auth::mint_token(c, id, "integration", "test", now, None)?;
                Ok(Agent { id, token })
            };
            Ok(Fixture {
                admin: agent("admin@test.it", Role::Admin, &[])?,
                operator: agent("operator@test.it", Role::Operator, &[first_level])?,
                operator2: agent("operator2@test.it", Role::Operator, &[first_level])?,
                specialist: agent("specialist@test.it", Role::Specialist, &[desktop])?,
                care_agent: agent("care@test.it", Role::CustomerCare, &[care])?,
                supervisor: agent("supervisor@test.it", Role::Supervisor, &[])?,
                first_level,
                desktop,
                mobile,
                care,
                back_office,
            })
        })
        .await
        .unwrap()
}

/// A message of the fixture corpus (`tests/fixtures/mail`).
pub fn mail_fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/mail/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Delivers a raw message through the mailgate, as the admin, for `mailbox` (name).
pub async fn mailgate(t: &TestApp, raw: impl Into<Vec<u8>>, mailbox: Option<&str>) -> Response {
    let uri = match mailbox {
        Some(m) => format!("/api/v1/inbound/email?mailbox={m}"),
        None => "/api/v1/inbound/email".to_string(),
    };
    let req = TestRequest::default()
        .method(Method::POST)
        .uri(&uri)
        .insert_header(("Authorization", format!("Bearer {}", t.fx.admin.token)))
        .insert_header(("Content-Type", "message/rfc822"))
        .set_payload(raw.into());
    t.send(req).await
}
