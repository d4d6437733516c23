//! The phone channel over HTTP: service lines, CTI call sequences (idempotent
//! per event), the screen pop matching numbers in any format, presence.

use serde_json::json;

use crate::both;
use crate::harness::TestApp;

async fn line(t: &TestApp) -> i64 {
    let topic = t.post("/api/v1/topics", &t.fx.admin.token, json!({"name": "Punti accumulati", "queue_id": t.fx.first_level, "info_script": "Leggere il saldo punti"})).await;
    let r = t
        .post("/api/v1/lines", &t.fx.admin.token, json!({"number": "06 9999 0000", "service": "Carta servizi", "caller_kind": "associazioni di categoria",
            "privacy_notice": "La chiamata può essere registrata.", "queue_id": t.fx.first_level, "ivr": {"2": topic.body["id"]}}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["number"], "+390699990000");
    topic.body["id"].as_i64().unwrap()
}

async fn cti(t: &TestApp, body: serde_json::Value) -> crate::harness::Response {
    t.post("/api/v1/cti/events", &t.fx.admin.token, body).await
}

both!(offered_answered_ended_with_screen_pop, |t| {
    line(&t).await;
    let c = t
        .post(
            "/api/v1/contacts",
            &t.fx.operator.token,
            json!({"name": "Mario Rossi", "phones": ["+39 06 1234567"]}),
        )
        .await;
    let mario = c.body["id"].clone();
    t.post(
        "/api/v1/tickets",
        &t.fx.operator.token,
        json!({"subject": "Carta bloccata", "body": "x", "contact_id": mario}),
    )
    .await;
    let r = cti(&t, json!({"event_id": "e1", "type": "offered", "call_id": "C-1", "caller": "0039061234567", "line": "069999 0000", "ivr_choice": "2"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["call"]["state"], "offered");
    assert!(r.body["context"].is_null());
    let r = cti(&t, json!({"event_id": "e2", "type": "answered", "call_id": "C-1", "agent_id": t.fx.operator.id})).await;
    assert_eq!(r.body["call"]["state"], "answered");
    let pop = &r.body["context"];
    assert_eq!(pop["service"], "Carta servizi");
    assert_eq!(pop["privacy_notice"], "La chiamata può essere registrata.");
    assert_eq!(pop["topic"], "Punti accumulati");
    assert_eq!(pop["info_script"], "Leggere il saldo punti");
    assert_eq!(pop["matches"][0]["contact"]["id"], mario);
    assert_eq!(
        pop["matches"][0]["open_tickets"][0]["subject"],
        "Carta bloccata"
    );
    // The same event again changes nothing.
    let again = cti(&t, json!({"event_id": "e2", "type": "answered", "call_id": "C-1", "agent_id": t.fx.operator.id})).await;
    assert_eq!(again.body["duplicate"], true);
    let presence = t.get("/api/v1/presence", &t.fx.supervisor.token).await.body;
    assert_eq!(presence[0]["state"], "on_call");
    let r = cti(
        &t,
        json!({"event_id": "e3", "type": "ended", "call_id": "C-1"}),
    )
    .await;
    assert_eq!(r.body["call"]["state"], "ended");
    let presence = t.get("/api/v1/presence", &t.fx.supervisor.token).await.body;
    assert_eq!(presence[0]["state"], "wrap_up");
    t.clock.advance(chrono::Duration::seconds(61));
    let presence = t.get("/api/v1/presence", &t.fx.supervisor.token).await.body;
    assert_eq!(presence[0]["state"], "available", "wrap-up ends by itself");
    // The screen pop is there later too, and numbers match however they are written.
    let call_id = r.body["call"]["id"].clone();
    for (i, caller) in ["+39 06 1234567", "06-1234567"].iter().enumerate() {
        let r = cti(&t, json!({"event_id": format!("x{i}"), "type": "offered", "call_id": format!("C-x{i}"), "caller": caller})).await;
        let pop = t
            .get(
                &format!("/api/v1/calls/{}/context", r.body["call"]["id"]),
                &t.fx.operator.token,
            )
            .await
            .body;
        assert_eq!(pop["matches"][0]["contact"]["id"], mario, "{caller}");
    }
    assert_eq!(
        t.get(
            &format!("/api/v1/calls/{call_id}/context"),
            &t.fx.operator.token
        )
        .await
        .status,
        200
    );
});

both!(missed_calls_and_bad_events, |t| {
    line(&t).await;
    let r = cti(&t, json!({"event_id": "m1", "type": "offered", "call_id": "M-1", "caller": "347 123 4567", "line": "+39 06 9999 0000"})).await;
    assert_eq!(r.status, 200);
    let r = cti(
        &t,
        json!({"event_id": "m2", "type": "ended", "call_id": "M-1"}),
    )
    .await;
    assert_eq!(
        r.body["call"]["state"], "missed",
        "ended before anyone answered"
    );
    let r = cti(
        &t,
        json!({"event_id": "b1", "type": "answered", "call_id": "B-1"}),
    )
    .await;
    assert_eq!(r.status, 422, "an answered call names its agent");
    let r = cti(
        &t,
        json!({"event_id": "b2", "type": "ringing", "call_id": "B-1"}),
    )
    .await;
    assert_eq!(r.status, 422);
    let r = cti(
        &t,
        json!({"event_id": "", "type": "offered", "call_id": "B-1"}),
    )
    .await;
    assert_eq!(r.status, 422);
    assert_eq!(t.count("calls").await, 1);
});

both!(presence_by_hand_and_lines_by_admins, |t| {
    let r = t
        .call(
            actix_web::http::Method::PUT,
            "/api/v1/presence",
            Some(&t.fx.operator.token),
            Some(json!({"state": "available"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t
        .call(
            actix_web::http::Method::PUT,
            "/api/v1/presence",
            Some(&t.fx.operator.token),
            Some(json!({"state": "on_call"})),
        )
        .await;
    assert_eq!(r.status, 409, "only the CTI puts an agent on a call");
    let r = t
        .call(
            actix_web::http::Method::PUT,
            "/api/v1/presence",
            Some(&t.fx.operator.token),
            Some(json!({"state": "away"})),
        )
        .await;
    assert_eq!(r.body["state"], "away");
    assert_eq!(
        t.get("/api/v1/presence", &t.fx.operator.token).await.status,
        403
    );
    let r = t
        .post(
            "/api/v1/lines",
            &t.fx.operator.token,
            json!({"number": "06 1", "service": "x", "queue_id": 1}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = t
        .post(
            "/api/v1/lines",
            &t.fx.admin.token,
            json!({"number": "not a number", "service": "x", "queue_id": 1}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["field"], "number");
});
