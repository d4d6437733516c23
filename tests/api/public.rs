//! The public JSON API: every validation rule, the rate limit, token scoping,
//! follow-up messages, callback requests and the one-click rating.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::both;
use crate::harness::{Kind, TestApp};

/// A public topic (with one subject) and a staff-only one.
async fn catalogue(t: &TestApp) -> (i64, i64, i64) {
    let r = t.post("/api/v1/topics", &t.fx.admin.token, json!({"name": "Punti accumulati", "queue_id": t.fx.first_level, "info_script": "solo per operatori"})).await;
    let public = r.body["id"].as_i64().unwrap();
    let r = t
        .post(
            &format!("/api/v1/topics/{public}/subjects"),
            &t.fx.admin.token,
            json!({"name": "Saldo"}),
        )
        .await;
    let subject = r.body["id"].as_i64().unwrap();
    let r = t.post("/api/v1/topics", &t.fx.admin.token, json!({"name": "Chiamata non pertinente", "queue_id": t.fx.first_level, "public": false})).await;
    (public, subject, r.body["id"].as_i64().unwrap())
}

async fn anon(
    t: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> crate::harness::Response {
    t.call(method, path, None, body).await
}

fn valid(topic: i64) -> Value {
    json!({"topic_id": topic, "name": "Maria Rossi", "email": "maria@example.it", "phone": "06 1234567",
        "text": "Non vedo i punti dell'ultimo acquisto.", "consent": true, "language": "it"})
}

both!(topics_are_public_ones_without_scripts, |t| {
    let (public, _, _) = catalogue(&t).await;
    let r = anon(&t, Method::GET, "/api/v1/public/topics", None).await;
    assert_eq!(r.status, 200);
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], public);
    assert_eq!(list[0]["subjects"][0]["name"], "Saldo");
    assert!(
        !r.body.to_string().contains("solo per operatori"),
        "info scripts are for staff"
    );
});

both!(a_request_becomes_a_ticket_with_a_private_link, |t| {
    let (public, subject, _) = catalogue(&t).await;
    let mut body = valid(public);
    body["subject_id"] = json!(subject);
    let r = anon(&t, Method::POST, "/api/v1/public/requests", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let number = r.body["number"].as_str().unwrap().to_string();
    let token = r.body["tracking_token"].as_str().unwrap().to_string();
    assert!(token.len() >= 40);
    assert_eq!(
        r.body["tracking_url"],
        format!("https://sportello.test/track/{number}?t={token}")
    );
    let tk = t
        .get(&format!("/api/v1/tickets/{number}"), &t.fx.operator.token)
        .await
        .body;
    assert_eq!(tk["channel"], "web");
    assert_eq!(tk["subject"], "Punti accumulati – Saldo");
    assert_eq!(tk["contact_details"]["phones"], json!(["+39061234567"]));
    // The acknowledgement carries the link; only its hash is stored.
    let mail = t
        .get(
            &format!("/api/v1/tickets/{number}/emails"),
            &t.fx.operator.token,
        )
        .await
        .body;
    assert_eq!(mail[0]["kind"], "acknowledgement");
    let body: String = t
        .app
        .db
        .read(|c| {
            use diesel::prelude::*;
            use sportello::store::schema::outbox::dsl::*;
            Ok(outbox.select(body).first::<String>(c)?)
        })
        .await
        .unwrap();
    assert!(
        body.contains(&format!("/track/{number}?t={token}")),
        "{body}"
    );
    let stored: String = t
        .app
        .db
        .read(|c| {
            use diesel::prelude::*;
            use sportello::store::schema::public_access::dsl::*;
            Ok(public_access.select(token_hash).first::<String>(c)?)
        })
        .await
        .unwrap();
    assert_ne!(stored, token);
});

both!(
    the_acknowledgement_goes_where_the_citizen_said_in_their_language,
    |t| {
        let (public, _, _) = catalogue(&t).await;
        // Known to the help desk with another address first, and as Italian.
        let r = t
            .post(
                "/api/v1/contacts",
                &t.fx.operator.token,
                json!({"name": "Maria Rossi",
        "emails": ["m.rossi@lavoro.it", "maria@example.it"], "language": "it"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let contact = r.body["id"].as_i64().unwrap();
        let mut body = valid(public);
        body["email"] = json!("Maria@Example.IT");
        body["name"] = json!("  Maria  ");
        body["language"] = json!("en");
        let r = anon(&t, Method::POST, "/api/v1/public/requests", Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let number = r.body["number"].as_str().unwrap().to_string();
        let tk = t
            .get(&format!("/api/v1/tickets/{number}"), &t.fx.operator.token)
            .await
            .body;
        assert_eq!(tk["contact"]["id"], contact, "{tk}");
        let (to, text): (String, String) = t
            .app
            .db
            .read(|c| {
                use diesel::prelude::*;
                use sportello::store::schema::outbox::dsl::*;
                Ok(outbox.select((to_address, body)).first(c)?)
            })
            .await
            .unwrap();
        assert_eq!(to, "maria@example.it");
        assert!(text.starts_with("Dear Maria,\n"), "{text}");
        assert!(text.contains(&format!("/track/{number}?t=")), "{text}");
    }
);

both!(every_validation_rule, |t| {
    let (public, subject, staff_only) = catalogue(&t).await;
    let r = anon(&t, Method::POST, "/api/v1/public/requests", Some(json!({}))).await;
    assert_eq!(r.status, 422);
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["topic_id", "name", "email", "text", "consent"]);
    let cases = [
        (json!({"email": "maria@"}), "email", "invalid_email"),
        (json!({"phone": "12"}), "phone", "invalid_phone"),
        (json!({"consent": false}), "consent", "consent"),
        (json!({"topic_id": staff_only}), "topic_id", "unknown_topic"),
        (json!({"topic_id": 999}), "topic_id", "unknown_topic"),
        (
            json!({"subject_id": subject + 100}),
            "subject_id",
            "unknown_subject",
        ),
        (json!({"text": "x".repeat(10_001)}), "text", "too_long"),
        (json!({"name": "  "}), "name", "required"),
    ];
    for (change, field, code) in cases {
        let mut body = valid(public);
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = anon(&t, Method::POST, "/api/v1/public/requests", Some(body)).await;
        assert_eq!(r.status, 422, "{field}: {}", r.body);
        assert_eq!(
            r.body["errors"],
            json!([{"field": field, "code": code}]),
            "{field}"
        );
    }
    let mut trap = valid(public);
    trap["website"] = json!("http://spam.example");
    let r = anon(&t, Method::POST, "/api/v1/public/requests", Some(trap)).await;
    assert_eq!(r.status, 400, "the honeypot");
    let r = anon(
        &t,
        Method::POST,
        "/api/v1/public/requests",
        Some(json!({"topic_id": public, "colour": "red"})),
    )
    .await;
    assert_eq!(r.status, 422);
    assert_eq!(t.count("tickets").await, 0);
    assert_eq!(t.count("contacts").await, 0);
});

both!(a_token_opens_only_its_own_request, |t| {
    let (public, _, _) = catalogue(&t).await;
    let a = anon(
        &t,
        Method::POST,
        "/api/v1/public/requests",
        Some(valid(public)),
    )
    .await
    .body;
    let b = anon(
        &t,
        Method::POST,
        "/api/v1/public/requests",
        Some(valid(public)),
    )
    .await
    .body;
    let (na, ta) = (
        a["number"].as_str().unwrap(),
        a["tracking_token"].as_str().unwrap(),
    );
    let (nb, tb) = (
        b["number"].as_str().unwrap(),
        b["tracking_token"].as_str().unwrap(),
    );
    let r = anon(
        &t,
        Method::GET,
        &format!("/api/v1/public/requests/{na}?token={ta}"),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "received");
    for (n, tok) in [(na, tb), (nb, ta), (na, "0000"), (na, "")] {
        let r = anon(
            &t,
            Method::GET,
            &format!("/api/v1/public/requests/{n}?token={tok}"),
            None,
        )
        .await;
        assert_eq!(r.status, 404, "{n} with another token");
        assert!(r.is_problem());
    }
    // The header works too.
    let req = TestRequest::get()
        .uri(&format!("/api/v1/public/requests/{nb}"))
        .insert_header(("X-Tracking-Token", tb));
    assert_eq!(t.send(req).await.status, 200);
    // Internal notes never show; the help desk's replies do.
    t.post(
        &format!("/api/v1/tickets/{na}/articles"),
        &t.fx.operator.token,
        json!({"kind": "note", "body": "NOTA INTERNA riservata"}),
    )
    .await;
    t.post(
        &format!("/api/v1/tickets/{na}/articles"),
        &t.fx.operator.token,
        json!({"kind": "reply", "body": "Verifichiamo il saldo.", "email": false}),
    )
    .await;
    let r = anon(
        &t,
        Method::GET,
        &format!("/api/v1/public/requests/{na}?token={ta}"),
        None,
    )
    .await;
    assert!(!r.body.to_string().contains("NOTA INTERNA"));
    let from: Vec<&str> = r.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["from"].as_str().unwrap())
        .collect();
    assert_eq!(from, vec!["you", "help_desk"]);
    assert_eq!(r.body["status"], "in_progress");
});

both!(follow_up_messages_and_callbacks, |t| {
    let (public, _, _) = catalogue(&t).await;
    let s = anon(
        &t,
        Method::POST,
        "/api/v1/public/requests",
        Some(valid(public)),
    )
    .await
    .body;
    let (n, tok) = (
        s["number"].as_str().unwrap().to_string(),
        s["tracking_token"].as_str().unwrap().to_string(),
    );
    t.post(
        &format!("/api/v1/tickets/{n}/resolve"),
        &t.fx.operator.token,
        json!({"resolution": "Punti accreditati", "notify": false}),
    )
    .await;
    let r = anon(
        &t,
        Method::POST,
        &format!("/api/v1/public/requests/{n}/messages"),
        Some(json!({"token": tok, "text": "Non li vedo ancora <script>alert(1)</script>"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["status"], "in_progress",
        "a message reopens a resolved request"
    );
    assert_eq!(
        r.body["messages"][1]["text"], "Non li vedo ancora <script>alert(1)</script>",
        "kept as text, never rendered"
    );
    let r = anon(
        &t,
        Method::POST,
        &format!("/api/v1/public/requests/{n}/messages"),
        Some(json!({"token": tok, "text": "  "})),
    )
    .await;
    assert_eq!(r.status, 422);
    let r = anon(
        &t,
        Method::POST,
        &format!("/api/v1/public/requests/{n}/callbacks"),
        Some(json!({"token": tok, "phone": "347 123 4567", "mode": "now"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["callbacks"][0]["phone"], "+393471234567");
    assert_eq!(r.body["callbacks"][0]["state"], "scheduled");
    for (body, field) in [
        (
            json!({"token": tok, "phone": "xyz", "mode": "now"}),
            "phone",
        ),
        (
            json!({"token": tok, "phone": "347 123 4567", "mode": "later"}),
            "preferred_at",
        ),
        (
            json!({"token": tok, "phone": "347 123 4567", "mode": "later", "preferred_at": "2020-01-01T10:00:00+01:00"}),
            "preferred_at",
        ),
        (
            json!({"token": tok, "phone": "347 123 4567", "mode": "sometime"}),
            "mode",
        ),
    ] {
        let r = anon(
            &t,
            Method::POST,
            &format!("/api/v1/public/requests/{n}/callbacks"),
            Some(body),
        )
        .await;
        assert_eq!(r.status, 422, "{field}");
        assert_eq!(r.body["field"], field);
    }
    let events = t
        .get(&format!("/api/v1/tickets/{n}"), &t.fx.operator.token)
        .await
        .body["events"]
        .clone();
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "callback_requested"));
    t.post(
        &format!("/api/v1/tickets/{n}/close"),
        &t.fx.operator.token,
        json!({}),
    )
    .await;
    let r = anon(
        &t,
        Method::POST,
        &format!("/api/v1/public/requests/{n}/messages"),
        Some(json!({"token": tok, "text": "ancora"})),
    )
    .await;
    assert_eq!(r.status, 409, "a closed request takes no more messages");
});

both!(one_click_rating_from_the_resolution_mail, |t| {
    let (public, _, _) = catalogue(&t).await;
    let s = anon(
        &t,
        Method::POST,
        "/api/v1/public/requests",
        Some(valid(public)),
    )
    .await
    .body;
    let n = s["number"].as_str().unwrap().to_string();
    t.post(
        &format!("/api/v1/tickets/{n}/resolve"),
        &t.fx.operator.token,
        json!({"resolution": "Punti accreditati"}),
    )
    .await;
    let bodies: Vec<String> = t
        .app
        .db
        .read(|c| {
            use diesel::prelude::*;
            use sportello::store::schema::outbox::dsl::*;
            Ok(outbox
                .filter(kind.eq("resolution"))
                .select(body)
                .load::<String>(c)?)
        })
        .await
        .unwrap();
    let body = &bodies[0];
    let link = body
        .lines()
        .find(|l| l.contains("4/5:"))
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .to_string();
    assert!(
        link.starts_with(&format!("https://sportello.test/rate/{n}?t=")),
        "{body}"
    );
    let token = link
        .split("t=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let r = anon(
        &t,
        Method::POST,
        &format!("/api/v1/public/requests/{n}/rating"),
        Some(json!({"token": token, "score": 4})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = anon(
        &t,
        Method::POST,
        &format!("/api/v1/public/requests/{n}/rating"),
        Some(json!({"token": token, "comment": "Gentili e veloci"})),
    )
    .await;
    assert_eq!(r.body["score"], 4, "a comment keeps the score");
    for (body, status) in [
        (json!({"token": token, "score": 6}), 422),
        (json!({"token": "nope", "score": 3}), 404),
    ] {
        let r = anon(
            &t,
            Method::POST,
            &format!("/api/v1/public/requests/{n}/rating"),
            Some(body),
        )
        .await;
        assert_eq!(r.status, status);
    }
    let list = t.get("/api/v1/ratings", &t.fx.supervisor.token).await.body;
    assert_eq!(list[0]["number"], n);
    assert_eq!(list[0]["score"], 4);
    assert_eq!(list[0]["comment"], "Gentili e veloci");
    assert_eq!(
        t.call(Method::GET, "/api/v1/ratings", None, None)
            .await
            .status,
        401
    );
});

#[actix_web::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let t = TestApp::start_with(Kind::Sqlite, &[("SPORTELLO_PUBLIC_RATE_PER_MINUTE", "3")]).await;
    let (public, _, _) = catalogue(&t).await;
    let send = |ip: &str| {
        TestRequest::post()
            .uri("/api/v1/public/requests")
            .peer_addr(format!("{ip}:4000").parse().unwrap())
            .set_json(valid(public))
    };
    for _ in 0..3 {
        assert_eq!(t.send(send("203.0.113.7")).await.status, 201);
    }
    let r = t.send(send("203.0.113.7")).await;
    assert_eq!(r.status, 429);
    assert!(r.is_problem());
    assert_eq!(
        t.send(send("203.0.113.8")).await.status,
        201,
        "another address is not affected"
    );
    assert_eq!(t.count("tickets").await, 4);
}

both!(multipart_requests_and_messages_with_files, |t| {
    let (public, _, _) = catalogue(&t).await;
    let boundary = "xyzBOUNDARY";
    let part = |name: &str, value: &str| {
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        )
    };
    let file = |name: &str, ctype: &str, data: &str| {
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"attachments\"; filename=\"{name}\"\r\nContent-Type: {ctype}\r\n\r\n{data}\r\n")
    };
    let body = [
        part("topic_id", &public.to_string()),
        part("name", "Jana Nováková"),
        part("email", "jana@example.cz"),
        part("text", "Přikládám účtenku."),
        part("consent", "true"),
        part("language", "en"),
        file("účtenka.pdf", "application/pdf", "%PDF-1.4 test"),
        format!("--{boundary}--\r\n"),
    ]
    .concat();
    let req = TestRequest::post()
        .uri("/api/v1/public/requests")
        .insert_header((
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        ))
        .set_payload(body);
    let r = t.send(req).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let (n, tok) = (
        r.body["number"].as_str().unwrap().to_string(),
        r.body["tracking_token"].as_str().unwrap().to_string(),
    );
    let tk = t
        .get(&format!("/api/v1/tickets/{n}"), &t.fx.operator.token)
        .await
        .body;
    assert_eq!(
        tk["articles"][0]["attachments"][0]["filename"],
        "účtenka.pdf"
    );
    let body = [
        part("token", &tok),
        part("text", "Ještě jedna."),
        file("foto.png", "image/png", "PNG"),
        format!("--{boundary}--\r\n"),
    ]
    .concat();
    let req = TestRequest::post()
        .uri(&format!("/api/v1/public/requests/{n}/messages"))
        .insert_header((
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        ))
        .set_payload(body);
    let r = t.send(req).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["messages"][1]["attachments"], json!(["foto.png"]));
    let bad = [
        part("topic_id", &public.to_string()),
        part("colour", "red"),
        format!("--{boundary}--\r\n"),
    ]
    .concat();
    let req = TestRequest::post()
        .uri("/api/v1/public/requests")
        .insert_header((
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        ))
        .set_payload(bad);
    let r = t.send(req).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["field"], "colour");
});

// The form checks a request against the catalogue held in memory and its
// transaction confirms the copy is current: a change another instance made
// (here a second pool on the same database) is followed by the very next
// request, whether it renames, closes or reopens a topic.
both!(the_form_follows_a_catalogue_changed_elsewhere, |t| {
    let (public, _, _) = catalogue(&t).await;
    let form = "/api/v1/public/requests";
    let r = anon(&t, Method::POST, form, Some(valid(public))).await;
    assert_eq!(r.status, 201, "{}", r.body);

    let other = sportello::store::Db::open(&t.app.config.database_url, 2).unwrap();
    let change = |name: &'static str, public_now: bool| {
        other.write(move |c| {
            use sportello::store::catalogue;
            let mut row = catalogue::topic(c, public)?.unwrap();
            row.name = name.into();
            row.public = public_now;
            catalogue::update_topic(c, &row)
        })
    };
    change("Saldo punti", true).await.unwrap();
    let r = anon(&t, Method::POST, form, Some(valid(public))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let number = r.body["number"].as_str().unwrap().to_string();
    let tk = t
        .get(&format!("/api/v1/tickets/{number}"), &t.fx.operator.token)
        .await;
    assert_eq!(tk.body["subject"], "Saldo punti", "the new name");

    change("Saldo punti", false).await.unwrap();
    let r = anon(&t, Method::POST, form, Some(valid(public))).await;
    assert_eq!(r.status, 422, "a topic no longer public: {}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "topic_id", "{}", r.body);

    change("Saldo punti", true).await.unwrap();
    let r = anon(&t, Method::POST, form, Some(valid(public))).await;
    assert_eq!(r.status, 201, "open again: {}", r.body);
    assert_eq!(t.count("tickets").await, 3);
});

// Right after a change, concurrent requests each find their copy outdated
// and read the catalogue again, several at once: copies of one version are
// the same catalogue, and every request goes through.
both!(concurrent_requests_after_a_change_all_go_through, |t| {
    let (public, _, _) = catalogue(&t).await;
    let calls = (0..16).map(|i| {
        let mut body = valid(public);
        body["email"] = json!(format!("cittadino{i}@example.it"));
        anon(&t, Method::POST, "/api/v1/public/requests", Some(body))
    });
    for r in futures_util::future::join_all(calls).await {
        assert_eq!(r.status, 201, "{}", r.body);
    }
    assert_eq!(t.count("tickets").await, 16);
});
