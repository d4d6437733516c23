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

/// Offers and answers a call from `caller`; returns the call's id.
async fn answered_call(t: &TestApp, call: &str, caller: &str) -> i64 {
    cti(t, json!({"event_id": format!("{call}-o"), "type": "offered", "call_id": call, "caller": caller, "line": "+390699990000", "ivr_choice": "2"})).await;
    let r = cti(t, json!({"event_id": format!("{call}-a"), "type": "answered", "call_id": call, "agent_id": t.fx.operator.id})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["call"]["id"].as_i64().unwrap()
}

both!(phone_notes_with_outcomes, |t| {
    let topic = line(&t).await;
    // Left open: a new phone ticket for the caller, on the IVR topic.
    let call = answered_call(&t, "N-1", "+39 347 1234567").await;
    let r = t
        .post(
            &format!("/api/v1/calls/{call}/notes"),
            &t.fx.operator.token,
            json!({"subject": "Saldo punti errato", "body": "Il cliente segnala un saldo di 0 punti.", "outcome": "open"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["created"], true);
    let ticket = &r.body["ticket"];
    assert_eq!(ticket["channel"], "phone");
    assert_eq!(ticket["topic"]["id"], topic);
    assert_eq!(ticket["state"], "new");
    assert_eq!(ticket["articles"][0]["kind"], "phone");
    assert_eq!(r.body["call"]["ticket_id"], ticket["id"]);
    assert_eq!(r.body["call"]["outcome"], "open");
    let contact = ticket["contact"]["id"].clone();
    let c = t
        .get(&format!("/api/v1/contacts/{contact}"), &t.fx.operator.token)
        .await;
    assert_eq!(c.body["phones"][0], "+393471234567", "{}", c.body);
    // A second note on the same call goes to the same ticket.
    let number = ticket["number"].as_str().unwrap().to_string();
    let r = t
        .post(
            &format!("/api/v1/calls/{call}/notes"),
            &t.fx.operator.token,
            json!({"ticket": number, "body": "Richiamato: attende estratto conto.", "outcome": "open"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["ticket"]["articles"].as_array().unwrap().len(), 2);
    // Another ticket for a call already written up is refused.
    let other = t.new_ticket("Altro", "x").await;
    let r = t
        .post(
            &format!("/api/v1/calls/{call}/notes"),
            &t.fx.operator.token,
            json!({"ticket": other["id"].to_string(), "body": "x", "outcome": "open"}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    cti(
        &t,
        json!({"event_id": "N-1-e", "type": "ended", "call_id": "N-1"}),
    )
    .await;

    // Resolved on the phone: first-contact resolution.
    let call = answered_call(&t, "N-2", "0039 06 7654321").await;
    let r = t
        .post(
            &format!("/api/v1/calls/{call}/notes"),
            &t.fx.operator.token,
            json!({"subject": "Orari sportello", "body": "Chiede gli orari.", "outcome": "resolved", "resolution": "Comunicati gli orari: 9-18."}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["ticket"]["state"], "resolved");
    assert_eq!(
        r.body["ticket"]["resolution"],
        "Comunicati gli orari: 9-18."
    );

    // Escalated to second level with a reason.
    let call = answered_call(&t, "N-3", "06 1111111").await;
    let before = t.count("tickets").await;
    for (body, field) in [
        (
            json!({"subject": "x", "body": "y", "outcome": "escalated", "reason": "r"}),
            "escalate_to",
        ),
        (
            json!({"subject": "x", "body": "y", "outcome": "escalated", "escalate_to": t.fx.desktop}),
            "reason",
        ),
        (
            json!({"subject": "x", "body": "y", "outcome": "open", "escalate_to": t.fx.desktop}),
            "escalate_to",
        ),
        (json!({"body": "y", "outcome": "open"}), "subject"),
        (
            json!({"subject": "x", "body": "y", "outcome": "escalated", "escalate_to": t.fx.first_level, "reason": "r"}),
            "queue_id",
        ),
    ] {
        let r = t
            .post(
                &format!("/api/v1/calls/{call}/notes"),
                &t.fx.operator.token,
                body,
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(r.body["field"], field, "{}", r.body);
    }
    let r = t
        .post(
            &format!("/api/v1/calls/{call}/notes"),
            &t.fx.operator.token,
            json!({"subject": "x", "body": "y", "outcome": "sideways"}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(t.count("tickets").await, before, "nothing written");
    let r = t
        .post(
            &format!("/api/v1/calls/{call}/notes"),
            &t.fx.operator.token,
            json!({"subject": "Notebook non si avvia", "body": "Schermo nero all'accensione.", "outcome": "escalated", "escalate_to": t.fx.desktop, "reason": "Serve il tecnico desktop"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["ticket"]["state"], "escalated");
    assert_eq!(r.body["ticket"]["queue"]["id"], t.fx.desktop);

    // A call nobody answered has nothing to write up.
    cti(
        &t,
        json!({"event_id": "N-4-o", "type": "offered", "call_id": "N-4", "caller": "06 2222222"}),
    )
    .await;
    let missed = cti(
        &t,
        json!({"event_id": "N-4-e", "type": "ended", "call_id": "N-4"}),
    )
    .await;
    let r = t
        .post(
            &format!("/api/v1/calls/{}/notes", missed.body["call"]["id"]),
            &t.fx.operator.token,
            json!({"subject": "x", "body": "y", "outcome": "open"}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        t.post(
            "/api/v1/calls/999999/notes",
            &t.fx.operator.token,
            json!({"subject": "x", "body": "y", "outcome": "open"})
        )
        .await
        .status,
        404
    );

    // The report counts first-contact resolution.
    let r = t.get("/api/v1/calls/report", &t.fx.supervisor.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["offered"], 4);
    assert_eq!(r.body["missed"], 1);
    assert_eq!(r.body["written_up"], 3);
    assert_eq!(r.body["resolved_first_contact"], 1);
    assert_eq!(r.body["escalated"], 1);
    assert_eq!(r.body["left_open"], 1);
    let rate = r.body["first_contact_resolution_rate"].as_f64().unwrap();
    assert!((rate - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(
        t.get("/api/v1/calls/report", &t.fx.operator.token)
            .await
            .status,
        403
    );
});

both!(missed_calls_are_acknowledged_in_bulk, |t| {
    line(&t).await;
    for i in 0..3 {
        cti(&t, json!({"event_id": format!("o{i}"), "type": "offered", "call_id": format!("M-{i}"), "caller": format!("06 555000{i}")})).await;
        cti(
            &t,
            json!({"event_id": format!("m{i}"), "type": "missed", "call_id": format!("M-{i}")}),
        )
        .await;
        t.clock.advance(chrono::Duration::minutes(1));
    }
    let r = t
        .get(
            "/api/v1/calls?state=missed&acknowledged=false",
            &t.fx.supervisor.token,
        )
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 3, "{}", r.body);
    let first = r.body[2]["id"].clone();
    assert_eq!(
        t.post(
            "/api/v1/calls/acknowledge",
            &t.fx.operator.token,
            json!({"call_ids": [first]})
        )
        .await
        .status,
        403
    );
    let r = t
        .post(
            "/api/v1/calls/acknowledge",
            &t.fx.supervisor.token,
            json!({"call_ids": [first]}),
        )
        .await;
    assert_eq!(r.body["acknowledged"], 1, "{}", r.body);
    let now = sportello::clock::Clock::now(&t.clock).to_rfc3339();
    let r = t
        .post(
            "/api/v1/calls/acknowledge",
            &t.fx.supervisor.token,
            json!({"before": now}),
        )
        .await;
    assert_eq!(r.body["acknowledged"], 2, "{}", r.body);
    let r = t
        .get(
            "/api/v1/calls?state=missed&acknowledged=false",
            &t.fx.supervisor.token,
        )
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 0);
    let r = t
        .post(
            "/api/v1/calls/acknowledge",
            &t.fx.supervisor.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 422);
    let r = t
        .get("/api/v1/calls?state=lost", &t.fx.supervisor.token)
        .await;
    assert_eq!(r.status, 422);
    let r = t.get("/api/v1/calls/report", &t.fx.supervisor.token).await;
    assert_eq!(r.body["missed_acknowledged"], 3);
});

mod wrap_up_is_configurable {
    use super::*;
    use crate::harness::Kind;

    #[actix_web::test]
    async fn sqlite() {
        let t = TestApp::start_with(Kind::Sqlite, &[("SPORTELLO_WRAP_UP_SECS", "5")]).await;
        line(&t).await;
        answered_call(&t, "W-1", "06 1234567").await;
        cti(
            &t,
            json!({"event_id": "W-1-e", "type": "ended", "call_id": "W-1"}),
        )
        .await;
        let p = t.get("/api/v1/presence", &t.fx.supervisor.token).await.body;
        assert_eq!(p[0]["state"], "wrap_up");
        t.clock.advance(chrono::Duration::seconds(6));
        let p = t.get("/api/v1/presence", &t.fx.supervisor.token).await.body;
        assert_eq!(p[0]["state"], "available");
    }
}

both!(phone_notes_fill_the_topics_call_form, |t| {
    line(&t).await;
    let form = json!([
        {"name": "city", "label": "Città", "type": "text"},
        {"name": "contact_phone", "label": "Telefono di contatto", "type": "phone", "required": true},
        {"name": "purpose", "label": "Scopo della chiamata", "type": "textarea", "required": true}
    ]);
    let topic = t
        .post("/api/v1/topics", &t.fx.admin.token, json!({"name": "Chiamata non target", "queue_id": t.fx.first_level, "public": false, "form": form, "in_statistics": false}))
        .await;
    assert_eq!(topic.status, 201, "{}", topic.body);
    let call = answered_call(&t, "F-1", "06 3333333").await;
    let before = t.count("tickets").await;
    let r = t
        .post(&format!("/api/v1/calls/{call}/notes"), &t.fx.operator.token,
            json!({"subject": "Ricerca di mercato", "body": "Chiede dati sui clienti.", "outcome": "open", "topic_id": topic.body["id"]}))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(t.count("tickets").await, before);
    let r = t
        .post(&format!("/api/v1/calls/{call}/notes"), &t.fx.operator.token,
            json!({"subject": "Ricerca di mercato", "body": "Chiede dati sui clienti.", "outcome": "open", "topic_id": topic.body["id"],
                   "fields": {"city": "Milano", "contact_phone": "02 1234567", "purpose": "Sondaggio"}}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let fields = r.body["ticket"]["fields"].to_string();
    assert!(fields.contains("+39021234567"), "{fields}");
});
