//! Callbacks over HTTP under simulated time: booking into slots of business
//! hours with a capacity, the public free-slot listing, the dispatcher's
//! offers (longest idle first, timeout, re-offer), attempts and the retry
//! policy, missed calls turned into callbacks, e-mails, the service level.
//! The test clock starts on Monday 2 March 2026 at 10:00 in Rome; the desk
//! is open Monday to Friday 09:00–18:00 (the default calendar).

use actix_web::http::Method;
use chrono::Duration;
use serde_json::{json, Value};

use crate::both;
use crate::harness::TestApp;

async fn presence(t: &TestApp, token: &str, state: &str) {
    let r = t
        .call(
            Method::PUT,
            "/api/v1/presence",
            Some(token),
            Some(json!({"state": state})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn dispatch(t: &TestApp) -> Value {
    let r = t
        .post(
            "/api/v1/callbacks/dispatch",
            &t.fx.supervisor.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn callback(t: &TestApp, id: &Value) -> Value {
    let r = t
        .get(&format!("/api/v1/callbacks/{id}"), &t.fx.supervisor.token)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn emails_of(t: &TestApp, ticket: &Value) -> Vec<String> {
    t.get(
        &format!("/api/v1/tickets/{ticket}/emails"),
        &t.fx.supervisor.token,
    )
    .await
    .body
    .as_array()
    .unwrap()
    .iter()
    .map(|e| e["kind"].as_str().unwrap().to_string())
    .collect()
}

both!(citizens_book_into_free_slots, |t| {
    let slots = t.get("/api/v1/public/callbacks/slots?count=3", "").await;
    assert_eq!(slots.status, 200, "{}", slots.body);
    assert_eq!(slots.body[0]["start"], "2026-03-02T10:00:00+01:00");
    assert_eq!(slots.body[0]["end"], "2026-03-02T10:30:00+01:00");
    assert_eq!(slots.body[0]["free"], 4);
    // Four "call me now" fill the current slot; the fifth is booked in the next.
    let mut numbers = vec![];
    for i in 0..5 {
        let r = t
            .post("/api/v1/public/callbacks", "", json!({"name": "Anna Bruni", "email": format!("anna{i}@example.it"),
                "phone": "347 765 4321", "mode": "now", "note": "Carta bloccata", "language": "it"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["callback"]["state"], "scheduled");
        numbers.push((r.body["number"].clone(), r.body["tracking_token"].clone()));
        let expected = if i < 4 {
            "2026-03-02T10:00:00+01:00"
        } else {
            "2026-03-02T10:30:00+01:00"
        };
        assert_eq!(r.body["callback"]["scheduled_for"], expected, "request {i}");
    }
    let slots = t.get("/api/v1/public/callbacks/slots?count=2", "").await;
    assert_eq!(slots.body[0]["start"], "2026-03-02T10:30:00+01:00");
    assert_eq!(slots.body[0]["free"], 3);
    // The tracking page shows it, and the citizen got a confirmation.
    let (number, token) = &numbers[0];
    let r = t
        .get(
            &format!(
                "/api/v1/public/requests/{}?token={}",
                number.as_str().unwrap(),
                token.as_str().unwrap()
            ),
            "",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["callbacks"][0]["phone"], "+393477654321");
    assert_eq!(
        r.body["callbacks"][0]["scheduled_for"],
        "2026-03-02T10:00:00+01:00"
    );
    let list = t.get("/api/v1/callbacks", &t.fx.operator.token).await.body;
    assert_eq!(list.as_array().unwrap().len(), 5);
    let ticket = list[0]["ticket_id"].clone();
    assert_eq!(emails_of(&t, &ticket).await, vec!["callback_booked"]);
    let detail = t
        .get(&format!("/api/v1/tickets/{ticket}"), &t.fx.operator.token)
        .await
        .body;
    assert_eq!(detail["channel"], "callback");

    // Saturday 10:00 is outside business hours: Monday 9:00 instead.
    let r = t
        .post("/api/v1/public/callbacks", "", json!({"phone": "06 1234567", "mode": "later", "preferred_at": "2026-03-07T10:00:00+01:00"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body["callback"]["scheduled_for"],
        "2026-03-09T09:00:00+01:00"
    );
    // Within hours, the time asked for is kept.
    let r = t
        .post("/api/v1/public/callbacks", "", json!({"phone": "06 1234567", "mode": "later", "preferred_at": "2026-03-03T15:10:00+01:00", "language": "en"}))
        .await;
    assert_eq!(
        r.body["callback"]["scheduled_for"],
        "2026-03-03T15:10:00+01:00"
    );

    // Bad requests write nothing.
    let before = t.count("tickets").await;
    for (body, field) in [
        (json!({"phone": "not a phone", "mode": "now"}), "phone"),
        (json!({"phone": "06 1234567", "mode": "sometime"}), "mode"),
        (
            json!({"phone": "06 1234567", "mode": "later"}),
            "preferred_at",
        ),
        (
            json!({"phone": "06 1234567", "mode": "later", "preferred_at": "2026-03-01T10:00:00+01:00"}),
            "preferred_at",
        ),
        (
            json!({"phone": "06 1234567", "mode": "now", "topic_id": 999999}),
            "topic_id",
        ),
        (
            json!({"phone": "06 1234567", "mode": "now", "email": "anna@"}),
            "contact.email",
        ),
    ] {
        let r = t.post("/api/v1/public/callbacks", "", body).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(r.body["field"], field, "{}", r.body);
    }
    let r = t
        .post(
            "/api/v1/public/callbacks",
            "",
            json!({"phone": "06 1234567", "mode": "now", "website": "http://spam"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(t.count("tickets").await, before);
    assert_eq!(
        t.get("/api/v1/public/callbacks/slots?count=0", "")
            .await
            .status,
        422
    );
});

both!(dispatcher_offers_to_the_longest_idle_and_retries, |t| {
    presence(&t, &t.fx.operator.token, "available").await;
    t.clock.advance(Duration::minutes(1));
    presence(&t, &t.fx.operator2.token, "available").await;
    let ticket = t
        .new_ticket("Estratto conto", "Chiede di essere richiamato")
        .await;
    let r = t
        .post(
            "/api/v1/callbacks",
            &t.fx.operator.token,
            json!({"ticket": ticket["number"], "phone": "0039 06 7654321", "mode": "now"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].clone();
    assert_eq!(r.body["source"], "staff");
    assert_eq!(r.body["phone"], "+39067654321");

    // Offered to the agent idle the longest.
    let d = dispatch(&t).await;
    assert_eq!(d["offered"], 1, "{d}");
    let cb = callback(&t, &id).await;
    assert_eq!(cb["state"], "offered");
    assert_eq!(cb["offered_to"], t.fx.operator.id);
    let mine = t
        .get("/api/v1/callbacks?offered_to_me=true", &t.fx.operator.token)
        .await
        .body;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let theirs = t
        .get(
            "/api/v1/callbacks?offered_to_me=true",
            &t.fx.operator2.token,
        )
        .await
        .body;
    assert_eq!(theirs.as_array().unwrap().len(), 0);
    // Nothing more to offer on the next round.
    assert_eq!(dispatch(&t).await["offered"], 0);

    // Not accepted in time: offered to the next agent.
    t.clock.advance(Duration::seconds(61));
    let d = dispatch(&t).await;
    assert_eq!(
        (d["expired"].as_i64(), d["offered"].as_i64()),
        (Some(1), Some(1)),
        "{d}"
    );
    assert_eq!(callback(&t, &id).await["offered_to"], t.fx.operator2.id);
    let r = t
        .post(
            &format!("/api/v1/callbacks/{id}/accept"),
            &t.fx.operator.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 409, "the offer is not theirs any more");
    let r = t
        .post(
            &format!("/api/v1/callbacks/{id}/accept"),
            &t.fx.operator2.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"], "accepted");

    // No answer: tried again 15 minutes later.
    t.clock.advance(Duration::minutes(2));
    let r = t
        .post(
            &format!("/api/v1/callbacks/{id}/attempts"),
            &t.fx.operator2.token,
            json!({"outcome": "no_answer", "note": "Squilla a vuoto"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"], "scheduled");
    assert_eq!(r.body["attempts"], 1);
    assert_eq!(r.body["due_at"], "2026-03-02T10:19:01+01:00");
    assert_eq!(r.body["sla"]["met"], true);
    assert_eq!(dispatch(&t).await["offered"], 0, "not due yet");
    t.clock.advance(Duration::minutes(16));
    assert_eq!(dispatch(&t).await["offered"], 1);
    // A new round: the longest idle again.
    assert_eq!(callback(&t, &id).await["offered_to"], t.fx.operator.id);
    let r = t
        .post(
            &format!("/api/v1/callbacks/{id}/attempts"),
            &t.fx.operator.token,
            json!({"outcome": "busy"}),
        )
        .await;
    assert_eq!(r.body["attempts"], 2);
    t.clock.advance(Duration::minutes(61));
    // Agents away are not offered anything.
    presence(&t, &t.fx.operator.token, "away").await;
    assert_eq!(dispatch(&t).await["offered"], 1);
    assert_eq!(callback(&t, &id).await["offered_to"], t.fx.operator2.id);
    let r = t
        .post(
            &format!("/api/v1/callbacks/{id}/attempts"),
            &t.fx.operator2.token,
            json!({"outcome": "no_answer"}),
        )
        .await;
    assert_eq!(r.body["state"], "failed", "three attempts in all");
    assert_eq!(r.body["outcome"], "no_answer");
    let log = callback(&t, &id).await;
    assert_eq!(log["attempt_log"].as_array().unwrap().len(), 3);
    assert_eq!(log["attempt_log"][0]["note"], "Squilla a vuoto");
    assert_eq!(log["offers"][0]["answer"], "timeout");
    assert_eq!(log["offers"][1]["answer"], "accepted");
    // Every attempt is on the ticket.
    let detail = t
        .get(
            &format!("/api/v1/tickets/{}", ticket["id"]),
            &t.fx.operator.token,
        )
        .await
        .body;
    let kinds: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "callback_attempted").count(),
        3,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"callback_failed"));
    let r = t
        .post(
            &format!("/api/v1/callbacks/{id}/attempts"),
            &t.fx.operator2.token,
            json!({"outcome": "reached"}),
        )
        .await;
    assert_eq!(r.status, 409, "a failed callback takes no more attempts");
    let r = t
        .post(
            &format!("/api/v1/callbacks/{id}/attempts"),
            &t.fx.operator2.token,
            json!({"outcome": "maybe"}),
        )
        .await;
    assert_eq!(r.status, 422);
});

both!(reached_callbacks_and_the_service_level, |t| {
    presence(&t, &t.fx.operator.token, "available").await;
    // A caller with an e-mail address, from the public form.
    let r = t
        .post("/api/v1/public/callbacks", "", json!({"name": "Jana Nováková", "email": "jana@example.cz", "phone": "+420 601 123 456", "mode": "now", "language": "en"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let list = t.get("/api/v1/callbacks", &t.fx.operator.token).await.body;
    let id = list[0]["id"].clone();
    let ticket = list[0]["ticket_id"].clone();
    dispatch(&t).await;
    t.clock.advance(Duration::minutes(20));
    let r = t
        .post(
            &format!("/api/v1/callbacks/{id}/accept"),
            &t.fx.operator.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 409, "the offer ran out");
    dispatch(&t).await;
    t.post(
        &format!("/api/v1/callbacks/{id}/accept"),
        &t.fx.operator.token,
        json!({}),
    )
    .await;
    let r = t
        .post(
            &format!("/api/v1/callbacks/{id}/attempts"),
            &t.fx.operator.token,
            json!({"outcome": "reached", "note": "Spiegata la procedura"}),
        )
        .await;
    assert_eq!(r.body["state"], "completed", "{}", r.body);
    assert_eq!(r.body["sla"]["business_minutes"], 20);
    assert_eq!(r.body["sla"]["met"], true);
    // A second one, never attempted, breaches after an hour of business time.
    let r = t
        .post(
            "/api/v1/callbacks",
            &t.fx.operator.token,
            json!({"ticket": ticket.to_string(), "mode": "now", "phone": "+420 601 123 456"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let second = r.body["id"].clone();
    t.clock.advance(Duration::minutes(61));
    let report = t
        .get("/api/v1/callbacks/report", &t.fx.supervisor.token)
        .await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.body["requested"], 2);
    assert_eq!(report.body["reached"], 1);
    assert_eq!(report.body["sla_met"], 1);
    assert_eq!(report.body["sla_breached"], 1);
    assert_eq!(report.body["median_minutes_to_first_attempt"], 20);
    assert_eq!(
        t.get("/api/v1/callbacks/report", &t.fx.operator.token)
            .await
            .status,
        403
    );
    assert_eq!(
        t.post(
            "/api/v1/callbacks/dispatch",
            &t.fx.operator.token,
            json!({})
        )
        .await
        .status,
        403
    );
    // Cancelled by staff; a closed one cannot be cancelled again.
    let r = t
        .post(
            &format!("/api/v1/callbacks/{second}/cancel"),
            &t.fx.operator.token,
            json!({"reason": "Ha richiamato lui"}),
        )
        .await;
    assert_eq!(r.body["state"], "cancelled", "{}", r.body);
    let r = t
        .post(
            &format!("/api/v1/callbacks/{second}/cancel"),
            &t.fx.operator.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        emails_of(&t, &ticket).await,
        vec!["callback_booked", "callback_booked"]
    );
    // Outside business hours nothing is offered.
    t.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-03-02T19:00:00+01:00")
            .unwrap()
            .into(),
    );
    assert_eq!(dispatch(&t).await["closed"], true);
});

both!(missed_calls_become_callbacks_once, |t| {
    let r = t
        .post("/api/v1/lines", &t.fx.admin.token, json!({"number": "06 9999 0000", "service": "Carta servizi", "queue_id": t.fx.first_level, "auto_callback": true}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["auto_callback"], true);
    cti(&t, json!({"event_id": "a1", "type": "offered", "call_id": "X-1", "caller": "06-1234567", "line": "069999 0000"})).await;
    let r = cti(
        &t,
        json!({"event_id": "a2", "type": "ended", "call_id": "X-1"}),
    )
    .await;
    assert_eq!(r.body["call"]["state"], "missed");
    let id = r.body["callback_id"].clone();
    assert!(id.is_i64(), "{}", r.body);
    let cb = callback(&t, &id).await;
    assert_eq!(cb["source"], "cti");
    assert_eq!(cb["phone"], "+39061234567");
    assert_eq!(cb["call_id"], r.body["call"]["id"]);
    let ticket = t
        .get(
            &format!("/api/v1/tickets/{}", cb["ticket_id"]),
            &t.fx.operator.token,
        )
        .await
        .body;
    assert_eq!(ticket["channel"], "phone");
    assert_eq!(ticket["queue"]["id"], t.fx.first_level);
    // The same event again, and a second missed call from the number: no new callback.
    let again = cti(
        &t,
        json!({"event_id": "a2", "type": "ended", "call_id": "X-1"}),
    )
    .await;
    assert!(again.body["callback_id"].is_null());
    cti(&t, json!({"event_id": "b1", "type": "offered", "call_id": "X-2", "caller": "+39 06 1234567", "line": "069999 0000"})).await;
    let r = cti(
        &t,
        json!({"event_id": "b2", "type": "missed", "call_id": "X-2"}),
    )
    .await;
    assert!(r.body["callback_id"].is_null(), "{}", r.body);
    assert_eq!(t.count("callback_requests").await, 1);
    // Lines without automatic callbacks only log the missed call.
    t.post(
        "/api/v1/lines",
        &t.fx.admin.token,
        json!({"number": "06 8888 0000", "service": "Altro", "queue_id": t.fx.first_level}),
    )
    .await;
    cti(&t, json!({"event_id": "c1", "type": "offered", "call_id": "X-3", "caller": "347 1112223", "line": "06 8888 0000"})).await;
    let r = cti(
        &t,
        json!({"event_id": "c2", "type": "missed", "call_id": "X-3"}),
    )
    .await;
    assert!(r.body["callback_id"].is_null());
    assert_eq!(t.count("callback_requests").await, 1);
});

async fn cti(t: &TestApp, body: Value) -> crate::harness::Response {
    t.post("/api/v1/cti/events", &t.fx.admin.token, body).await
}
