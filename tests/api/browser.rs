//! The public form in a real browser: headless Chromium driven through
//! chromedriver (fantoccini), against the real server on a loopback port.
//! Fills and sends the form in Italian and English, opens the tracking link,
//! adds a message, rates the service, and checks that script injected in every
//! field stays inert text. Screenshots land in `tests/artifacts/`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::{web, HttpServer};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::harness::{Kind, TestApp};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn available() -> Result<(), String> {
    for bin in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        if !std::path::Path::new(bin).exists() {
            return Err(format!("{bin} is not installed (run tests/services.sh)"));
        }
    }
    Ok(())
}

async fn browser(dir: &std::path::Path) -> (Driver, Client) {
    let port = free_port();
    let driver = Driver(
        Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let args = vec![
        "--headless=new".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--window-size=900,1300".into(),
        format!("--user-data-dir={}", dir.display()),
    ];
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": "/usr/bin/chromium", "args": args}),
    );
    let started = Instant::now();
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return (driver, c),
            Err(e) if started.elapsed() < Duration::from_secs(30) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("chromedriver did not start a session: {e}"),
        }
    }
}

/// The element once the page that has it is loaded (clicks do not wait for navigation).
async fn wait(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

async fn shot(c: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// Script that would run if any typed text were rendered as HTML.
const INJECTED: &str = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">";

async fn pwned(c: &Client) -> serde_json::Value {
    c.execute(
        "return window.pwned === undefined ? null : window.pwned;",
        vec![],
    )
    .await
    .unwrap()
}

async fn run(kind: Kind) {
    if let Err(why) = available() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{why}: CI must run the browser tests");
        }
        eprintln!("skipped: {why}");
        return;
    }
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let t = TestApp::start_with(kind, &[("SPORTELLO_PUBLIC_URL", base.as_str())]).await;
    let topic = t
        .post(
            "/api/v1/topics",
            &t.fx.admin.token,
            json!({"name": "Punti accumulati", "queue_id": t.fx.first_level}),
        )
        .await;
    let topic_id = topic.body["id"].to_string();
    t.post(
        &format!("/api/v1/topics/{topic_id}/subjects"),
        &t.fx.admin.token,
        json!({"name": "Saldo"}),
    )
    .await;
    let app = t.app.clone();
    let config = (*t.app.config).clone();
    let server = HttpServer::new(move || {
        let cfg = config.clone();
        actix_web::App::new()
            .app_data(web::Data::new(app.clone()))
            .configure(move |c| sportello::api::configure(c, &cfg))
    })
    .workers(1)
    .bind(("127.0.0.1", port))
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(profile.path()).await;
    for lang in ["it", "en"] {
        c.goto(&format!("{base}/?lang={lang}")).await.unwrap();
        let suffix = if kind == Kind::Sqlite {
            lang.to_string()
        } else {
            format!("{lang}-postgres")
        };
        shot(&c, &format!("form-{suffix}")).await;
        // The subject list follows the topic (JavaScript on).
        c.find(Locator::Css("#topic_id"))
            .await
            .unwrap()
            .select_by_value(&topic_id)
            .await
            .unwrap();
        c.find(Locator::Css("#name"))
            .await
            .unwrap()
            .send_keys(&format!("Maria Rossi {INJECTED}"))
            .await
            .unwrap();
        c.find(Locator::Css("#email"))
            .await
            .unwrap()
            .send_keys("maria@example.it")
            .await
            .unwrap();
        c.find(Locator::Css("#phone"))
            .await
            .unwrap()
            .send_keys("06 1234567")
            .await
            .unwrap();
        c.find(Locator::Css("#text"))
            .await
            .unwrap()
            .send_keys(&format!("Non vedo i punti {INJECTED}"))
            .await
            .unwrap();
        // Sending without consent shows the error next to the field and keeps the text.
        c.find(Locator::Css("button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let err = wait(&c, "#consent-error").await.text().await.unwrap();
        assert!(!err.is_empty());
        assert_eq!(
            pwned(&c).await,
            serde_json::Value::Null,
            "typed script stayed inert"
        );
        let kept = c
            .find(Locator::Css("#text"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        assert!(kept.contains("Non vedo i punti"), "{kept}");
        c.find(Locator::Css("#consent"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.find(Locator::Css("button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let number = wait(&c, "#number").await.text().await.unwrap();
        assert!(number.starts_with("2026-"), "{number}");
        shot(&c, &format!("confirmation-{suffix}")).await;
        c.find(Locator::Css("#tracking"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let status = wait(&c, "#status").await.text().await.unwrap();
        assert!(!status.is_empty());
        assert_eq!(pwned(&c).await, serde_json::Value::Null);
        let page = c.source().await.unwrap();
        assert!(
            page.contains("&lt;script&gt;window.pwned=1&lt;/script&gt;"),
            "shown as text"
        );
        c.find(Locator::Css("#message"))
            .await
            .unwrap()
            .send_keys(&format!("Ecco lo scontrino {INJECTED}"))
            .await
            .unwrap();
        c.find(Locator::Css("form fieldset button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait(&c, ".msg:nth-of-type(2)").await;
        let page = c.source().await.unwrap();
        assert!(page.contains("Ecco lo scontrino"));
        assert_eq!(pwned(&c).await, serde_json::Value::Null);
        shot(&c, &format!("tracking-{suffix}")).await;

        // Resolved by staff: the mail's one-click rating link, then a comment.
        t.post(
            &format!("/api/v1/tickets/{number}/resolve"),
            &t.fx.operator.token,
            json!({"resolution": "Punti accreditati"}),
        )
        .await;
        let n = number.clone();
        let body: String = t
            .app
            .db
            .read(move |c| {
                use diesel::prelude::*;
                use sportello::store::schema::outbox::dsl::*;
                use sportello::store::schema::tickets;
                let tid: i64 = tickets::table
                    .filter(tickets::number.eq(&n))
                    .select(tickets::id)
                    .first(c)?;
                Ok(outbox
                    .filter(kind.eq("resolution"))
                    .filter(ticket_id.eq(tid))
                    .select(body)
                    .first::<String>(c)?)
            })
            .await
            .unwrap();
        let link = body
            .lines()
            .find(|l| l.contains("4/5:"))
            .unwrap()
            .split_whitespace()
            .last()
            .unwrap()
            .to_string();
        c.goto(&link).await.unwrap();
        let thanks = wait(&c, "#thanks").await.text().await.unwrap();
        assert!(thanks.contains("4/5"), "{thanks}");
        c.find(Locator::Css("#comment"))
            .await
            .unwrap()
            .send_keys(&format!("Molto gentili {INJECTED}"))
            .await
            .unwrap();
        c.find(Locator::Css("button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait(&c, "#thanks").await;
        shot(&c, &format!("rating-{suffix}")).await;
        assert_eq!(pwned(&c).await, serde_json::Value::Null);
    }
    let ratings = t.get("/api/v1/ratings", &t.fx.supervisor.token).await.body;
    assert_eq!(ratings.as_array().unwrap().len(), 2);
    assert!(
        ratings[0]["comment"].as_str().unwrap().contains("<script>"),
        "stored as typed, shown escaped"
    );
    c.close().await.unwrap();
    handle.stop(true).await;
}

#[actix_web::test]
async fn form_tracking_and_rating_in_chromium_sqlite() {
    run(Kind::Sqlite).await;
}

#[actix_web::test]
async fn form_tracking_and_rating_in_chromium_postgres() {
    if std::env::var(crate::harness::PG_ENV).is_err()
        && std::env::var("CI").map_or(true, |v| v != "true")
    {
        eprintln!("skipped: {} is not set", crate::harness::PG_ENV);
        return;
    }
    run(Kind::Postgres).await;
}
