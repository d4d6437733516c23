//! The public pages over HTTP: languages, CSRF, honeypot, field-level errors
//! that keep what was typed (escaped), attachments, tracking, messages,
//! callbacks and the rating.

use actix_web::cookie::Cookie;
use actix_web::test::TestRequest;
use serde_json::json;

use crate::both;
use crate::harness::{Response, TestApp};

/// A multipart/form-data body.
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----sportello-test-boundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (name, ctype, data) in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"attachments\"; filename=\"{name}\"\r\nContent-Type: {ctype}\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Opens the form and returns the CSRF token (cookie and hidden field are the same).
async fn open_form(t: &TestApp, lang: &str) -> (Response, String) {
    let r = t
        .send(
            TestRequest::get()
                .uri("/")
                .insert_header(("Accept-Language", lang)),
        )
        .await;
    assert_eq!(r.status, 200);
    let cookie = r.header("set-cookie").expect("a CSRF cookie");
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .split('=')
        .nth(1)
        .unwrap()
        .to_string();
    assert!(r
        .text()
        .contains(&format!("name=\"csrf\" value=\"{token}\"")));
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    (r, token)
}

async fn post(
    t: &TestApp,
    uri: &str,
    csrf: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> Response {
    let (ctype, body) = multipart(fields, files);
    let req = TestRequest::post()
        .uri(uri)
        .cookie(Cookie::new("sportello_csrf", csrf.to_string()))
        .insert_header(("Content-Type", ctype))
        .set_payload(body);
    t.send(req).await
}

async fn topic(t: &TestApp) -> String {
    let r = t
        .post(
            "/api/v1/topics",
            &t.fx.admin.token,
            json!({"name": "Punti accumulati", "queue_id": t.fx.first_level}),
        )
        .await;
    t.post(
        "/api/v1/topics",
        &t.fx.admin.token,
        json!({"name": "Solo interno", "queue_id": t.fx.first_level, "public": false}),
    )
    .await;
    r.body["id"].to_string()
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let s = html.find(start).map(|i| i + start.len()).unwrap_or(0);
    let e = html[s..].find(end).map(|i| s + i).unwrap_or(html.len());
    &html[s..e]
}

both!(the_form_in_two_languages_with_bound_labels, |t| {
    topic(&t).await;
    let (it, _) = open_form(&t, "it-IT,it;q=0.9").await;
    let html = it.text();
    assert!(html.contains("<html lang=\"it\">") && html.contains("Invia la richiesta"));
    assert!(
        html.contains("Punti accumulati") && !html.contains("Solo interno"),
        "only public topics"
    );
    for field in [
        "topic_id",
        "subject_id",
        "name",
        "email",
        "phone",
        "text",
        "attachments",
        "consent",
    ] {
        assert!(
            html.contains(&format!("for=\"{field}\"")) && html.contains(&format!("id=\"{field}\"")),
            "{field} has a bound label"
        );
    }
    assert!(it
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'none'"));
    let (en, _) = open_form(&t, "en-GB,en;q=0.8").await;
    assert!(en.text().contains("Send the request"));
    let switched = t
        .send(
            TestRequest::get()
                .uri("/form?lang=en")
                .insert_header(("Accept-Language", "it")),
        )
        .await;
    assert!(switched.text().contains("<html lang=\"en\">"));
    assert!(
        switched.text().contains("lang=it\""),
        "a visible switch back"
    );
});

both!(csrf_and_honeypot, |t| {
    let topic = topic(&t).await;
    let (_, csrf) = open_form(&t, "it").await;
    let good = [
        ("topic_id", topic.as_str()),
        ("name", "Mario"),
        ("email", "mario@example.it"),
        ("text", "Aiuto"),
        ("consent", "yes"),
    ];
    let mut wrong: Vec<(&str, &str)> = good.to_vec();
    wrong.push(("csrf", "0123456789abcdef0123456789abcdef"));
    let r = post(&t, "/form", &csrf, &wrong, &[]).await;
    assert_eq!(r.status, 403, "a forged form");
    let r = post(&t, "/form", &csrf, &good, &[]).await;
    assert_eq!(r.status, 403, "no token at all");
    let mut trap: Vec<(&str, &str)> = good.to_vec();
    trap.push(("csrf", &csrf));
    trap.push(("website", "http://spam.example"));
    let r = post(&t, "/form", &csrf, &trap, &[]).await;
    assert_eq!(r.status, 400, "the honeypot");
    assert_eq!(t.count("tickets").await, 0);
});

both!(errors_are_shown_by_field_and_keep_what_was_typed, |t| {
    let topic = topic(&t).await;
    let (_, csrf) = open_form(&t, "it").await;
    let r = post(
        &t,
        "/form",
        &csrf,
        &[
            ("csrf", &csrf),
            ("topic_id", &topic),
            ("name", "<script>alert('x')</script>"),
            ("email", "not-an-email"),
            ("phone", "12"),
            ("text", "Testo <b>grassetto</b>"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, 422);
    let html = r.text();
    assert!(html.contains("role=\"alert\""));
    for field in ["email", "phone", "consent"] {
        assert!(
            html.contains(&format!("id=\"{field}-error\"")),
            "{field} error is linked"
        );
        assert!(html.contains(&format!("aria-describedby=\"{field}-error\"")));
    }
    assert!(html.contains("Indirizzo e-mail non valido."));
    assert!(
        !html.contains("<script>alert"),
        "typed HTML is never rendered"
    );
    assert!(html.contains("&lt;script&gt;"), "but it is kept, escaped");
    assert!(html.contains("Testo &lt;b&gt;grassetto&lt;&#x2f;b&gt;"));
    assert!(html.contains("value=\"not-an-email\""));
    assert_eq!(t.count("tickets").await, 0);
});

both!(send_track_add_call_and_rate, |t| {
    let topic = topic(&t).await;
    let (_, csrf) = open_form(&t, "en").await;
    let pdf = b"%PDF-1.4 receipt".as_slice();
    let r = post(
        &t,
        "/form?lang=en",
        &csrf,
        &[
            ("csrf", &csrf),
            ("topic_id", &topic),
            ("name", "John Smith"),
            ("email", "john@example.co.uk"),
            ("text", "Where are my points? <img src=x onerror=alert(1)>"),
            ("consent", "yes"),
        ],
        &[("receipt é.pdf", "application/pdf", pdf)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    let number = between(&html, "id=\"number\">", "<").to_string();
    assert!(number.starts_with("2026-"), "{html}");
    let link = between(&html, "id=\"tracking\" href=\"", "\"")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    let path = link
        .trim_start_matches("https://sportello.test")
        .to_string();
    let tk = t
        .get(&format!("/api/v1/tickets/{number}"), &t.fx.operator.token)
        .await
        .body;
    assert_eq!(
        tk["articles"][0]["attachments"][0]["filename"],
        "receipt é.pdf"
    );
    // A file type the desk does not take is refused with the form kept.
    let r = post(
        &t,
        "/form?lang=en",
        &csrf,
        &[
            ("csrf", &csrf),
            ("topic_id", &topic),
            ("name", "J"),
            ("email", "j@example.it"),
            ("text", "x"),
            ("consent", "yes"),
        ],
        &[("virus.exe", "application/x-msdownload", b"MZ")],
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(r.text().contains("This type of file is not accepted."));

    // Tracking: plain words, the citizen's text escaped, no internal notes.
    t.post(
        &format!("/api/v1/tickets/{number}/articles"),
        &t.fx.operator.token,
        json!({"kind": "note", "body": "INTERNAL ONLY"}),
    )
    .await;
    let page = t.send(TestRequest::get().uri(&path)).await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("id=\"status\">Received, waiting to be taken in charge<"));
    assert!(!html.contains("INTERNAL ONLY"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;") && !html.contains("<img src=x"));
    let wrong = t
        .send(TestRequest::get().uri(&format!("/track/{number}?t=deadbeef")))
        .await;
    assert_eq!(wrong.status, 404);

    // Resolved, then the citizen writes again: reopened.
    t.post(
        &format!("/api/v1/tickets/{number}/resolve"),
        &t.fx.operator.token,
        json!({"resolution": "Points added"}),
    )
    .await;
    let token = path.split("t=").nth(1).unwrap().to_string();
    let r = post(
        &t,
        &format!("/track/{number}/messages?t={token}&lang=en"),
        &csrf,
        &[("csrf", &csrf), ("text", "Still missing")],
        &[],
    )
    .await;
    assert_eq!(r.status, 303);
    let html = t.send(TestRequest::get().uri(&path)).await.text();
    assert!(html.contains("Still missing") && html.contains("Being worked on"));
    let r = post(
        &t,
        &format!("/track/{number}/callback?t={token}&lang=en"),
        &csrf,
        &[
            ("csrf", &csrf),
            ("phone", "+44 20 7946 0958"),
            ("mode", "later"),
            ("preferred_at", "2026-03-05T10:30"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, 303);
    let html = t.send(TestRequest::get().uri(&path)).await.text();
    assert!(
        html.contains("Callback requested at +442079460958"),
        "{html}"
    );

    // The rating link from the resolution mail: one click, then a comment.
    let body: String = t
        .app
        .db
        .read(|c| {
            use diesel::prelude::*;
            use sportello::store::schema::outbox::dsl::*;
            Ok(outbox
                .filter(kind.eq("resolution"))
                .select(body)
                .first::<String>(c)?)
        })
        .await
        .unwrap();
    let five = body
        .lines()
        .find(|l| l.contains("5/5:"))
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap();
    let r = t
        .send(TestRequest::get().uri(five.trim_start_matches("https://sportello.test")))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("<strong>5/5</strong>"));
    let rate_token = five.split("t=").nth(1).unwrap().split('&').next().unwrap();
    let r = post(
        &t,
        &format!("/rate/{number}?t={rate_token}&lang=en"),
        &csrf,
        &[("csrf", &csrf), ("comment", "Very kind")],
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    let ratings = t.get("/api/v1/ratings", &t.fx.supervisor.token).await.body;
    assert_eq!(ratings[0]["score"], 5);
    assert_eq!(ratings[0]["comment"], "Very kind");
});

#[actix_web::test]
async fn the_rate_limit_page_says_try_again_later() {
    let t = TestApp::start_with(
        crate::harness::Kind::Sqlite,
        &[("SPORTELLO_PUBLIC_RATE_PER_MINUTE", "1")],
    )
    .await;
    let topic = topic(&t).await;
    let (_, csrf) = open_form(&t, "it").await;
    let fields = [
        ("csrf", csrf.as_str()),
        ("topic_id", topic.as_str()),
        ("name", "M"),
        ("email", "m@example.it"),
        ("text", "x"),
        ("consent", "yes"),
    ];
    assert_eq!(post(&t, "/form", &csrf, &fields, &[]).await.status, 200);
    let r = post(&t, "/form", &csrf, &fields, &[]).await;
    assert_eq!(r.status, 429);
    assert!(r.text().contains("Riprovi tra un minuto"));
}
