//! Service levels under simulated time: policies, clocks that count business
//! hours only, pauses while the ticket waits on the customer, list filters and
//! recomputation when a policy changes. The clock starts on Monday 2 March
//! 2026 10:00 in Rome; the desk is open Monday to Friday 09:00–18:00.

use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};

use crate::both;
use crate::harness::{mail_fixture, mailgate, TestApp};

async fn policy(t: &TestApp, body: Value) -> Value {
    let r = t
        .post("/api/v1/sla-policies", &t.fx.admin.token, body)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

/// A ticket's id or number as it goes in a path.
fn key(id: &Value) -> String {
    id.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| id.to_string())
}

async fn detail(t: &TestApp, id: &Value) -> Value {
    let r = t
        .get(
            &format!("/api/v1/tickets/{}", key(id)),
            &t.fx.operator.token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// The ticket's last clock of a kind.
fn clock<'a>(ticket: &'a Value, kind: &str) -> &'a Value {
    ticket["sla_clocks"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|c| c["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} clock in {}", ticket["sla_clocks"]))
}

fn history(clock: &Value) -> Vec<String> {
    clock["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| match e["reason"].as_str() {
            Some(r) => format!("{}:{r}", e["kind"].as_str().unwrap()),
            None => e["kind"].as_str().unwrap().to_string(),
        })
        .collect()
}

async fn write(t: &TestApp, id: &Value, kind: &str, body: &str) {
    let r = t
        .post(
            &format!("/api/v1/tickets/{}/articles", key(id)),
            &t.fx.operator.token,
            json!({"kind": kind, "body": body}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn listed(t: &TestApp, filter: &str) -> Vec<i64> {
    let r = t
        .get(
            &format!("/api/v1/tickets?sla={filter}"),
            &t.fx.operator.token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

/// A UTC instant from a Rome wall-clock time (March 2026: UTC+1).
fn rome(day: u32, hour: u32, minute: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour - 1, minute, 0)
        .unwrap()
}

both!(policies_are_configured_by_admins_and_read_by_staff, |t| {
    let r = t
        .post(
            "/api/v1/sla-policies",
            &t.fx.operator.token,
            json!({"name": "Standard", "resolution_minutes": 480}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = t
        .post(
            "/api/v1/sla-policies",
            &t.fx.admin.token,
            json!({"name": " ", "queue_id": 999, "first_response_minutes": 0,
                   "resolution_minutes": 480, "warning_percent": 150}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let errors: Vec<(String, String)> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for expected in [
        ("name", "required"),
        ("queue_id", "not_found"),
        ("first_response_minutes", "below_min"),
        ("warning_percent", "above_max"),
    ] {
        assert!(
            errors.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} in {errors:?}"
        );
    }
    let r = t
        .post(
            "/api/v1/sla-policies",
            &t.fx.admin.token,
            json!({"name": "Empty"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["errors"][0]["code"], "no_target");
    assert_eq!(t.count("sla_policies").await, 0);

    let p = policy(
        &t,
        json!({"name": "Standard", "first_response_minutes": 60, "resolution_minutes": 480}),
    )
    .await;
    assert_eq!(p["warning_percent"], 80);
    assert_eq!(p["active"], true);
    assert_eq!(p["queue_id"], Value::Null);
    let desktop = policy(
        &t,
        json!({"name": "Desktop urgent", "queue_id": t.fx.desktop, "priority": "urgent",
               "resolution_minutes": 120, "warning_percent": 50}),
    )
    .await;
    assert_eq!(desktop["priority"], "urgent");
    // The same matchers as an active policy: the choice would be arbitrary.
    let r = t
        .post(
            "/api/v1/sla-policies",
            &t.fx.admin.token,
            json!({"name": "Other", "resolution_minutes": 60}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = t
        .post(
            "/api/v1/sla-policies",
            &t.fx.admin.token,
            json!({"name": "Standard", "priority": "low", "resolution_minutes": 60}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["code"], "name-taken");

    let r = t.get("/api/v1/sla-policies", &t.fx.operator.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body.as_array().unwrap().len(), 2);
    let path = format!("/api/v1/sla-policies/{}", desktop["id"]);
    let r = t
        .patch(&path, &t.fx.operator.token, json!({"active": false}))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = t
        .patch(
            &path,
            &t.fx.admin.token,
            json!({"priority": null, "resolution_minutes": -5}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["field"], "resolution_minutes");
    let r = t
        .patch(&path, &t.fx.admin.token, json!({"priority": null}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["priority"], Value::Null);
    assert_eq!(r.body["resolution_minutes"], 120);
    let r = t
        .patch(
            "/api/v1/sla-policies/999",
            &t.fx.admin.token,
            json!({"active": false}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
});

both!(first_response_met_by_a_reply_not_by_a_note, |t| {
    policy(
        &t,
        json!({"name": "Standard", "first_response_minutes": 60, "resolution_minutes": 480}),
    )
    .await;
    let tk = t.new_ticket("Stampante", "Non stampa").await;
    let fr = clock(&tk, "first_response");
    assert_eq!(fr["state"], "running");
    assert_eq!(fr["policy"]["name"], "Standard");
    assert_eq!(fr["due_at"], "2026-03-02T11:00:00+01:00");
    assert_eq!(fr["warn_at"], "2026-03-02T10:48:00+01:00");
    // 8 business hours from Monday 10:00: the whole day, to closing time.
    assert_eq!(
        clock(&tk, "resolution")["due_at"],
        "2026-03-02T18:00:00+01:00"
    );
    assert_eq!(tk["sla"]["kind"], "first_response");
    assert_eq!(tk["sla"]["state"], "running");

    t.clock.advance(Duration::minutes(30));
    write(&t, &tk["id"], "note", "Chiamare il tecnico").await;
    let now = detail(&t, &tk["id"]).await;
    let fr = clock(&now, "first_response");
    assert_eq!(fr["state"], "running", "an internal note is no answer");
    assert_eq!(fr["business_minutes_left"], 30);

    t.clock.advance(Duration::minutes(20));
    let now = detail(&t, &tk["id"]).await;
    assert_eq!(clock(&now, "first_response")["at_risk"], true);
    write(&t, &tk["id"], "reply", "Stiamo verificando").await;
    let now = detail(&t, &tk["id"]).await;
    let fr = clock(&now, "first_response");
    assert_eq!(fr["state"], "met");
    assert_eq!(fr["met"], true);
    assert_eq!(fr["at_risk"], false);
    assert_eq!(fr["business_minutes_left"], 10);
    assert_eq!(fr["stopped_at"], "2026-03-02T10:50:00+01:00");
    assert_eq!(history(fr), ["started:created", "stopped:reply"]);
    // The resolution clock runs on; it is now the one the list shows.
    assert_eq!(clock(&now, "resolution")["state"], "running");
    assert_eq!(now["sla"]["kind"], "resolution");
    // No customer message yet: no next-response clock.
    assert!(now["sla_clocks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["kind"] != "next_response"));
});

both!(breached_over_a_weekend_counting_business_time_only, |t| {
    policy(
        &t,
        json!({"name": "Standard", "first_response_minutes": 120, "resolution_minutes": 2400}),
    )
    .await;
    // Friday 6 March 17:00: one business hour left that day.
    t.clock.set(rome(6, 17, 0));
    let tk = t.new_ticket("Posta", "Non ricevo la posta").await;
    let id = tk["id"].as_i64().unwrap();
    let fr = clock(&tk, "first_response");
    assert_eq!(fr["due_at"], "2026-03-09T10:00:00+01:00");
    // 80 % of 120 min = 96 min: 60 on Friday, 36 on Monday.
    assert_eq!(fr["warn_at"], "2026-03-09T09:36:00+01:00");

    // Saturday noon: the weekend counts nothing.
    t.clock.set(rome(7, 12, 0));
    let now = detail(&t, &tk["id"]).await;
    assert_eq!(clock(&now, "first_response")["business_minutes_left"], 60);
    assert!(listed(&t, "at_risk").await.is_empty());

    t.clock.set(rome(9, 9, 40));
    assert_eq!(listed(&t, "at_risk").await, [id]);
    assert!(listed(&t, "breached").await.is_empty());
    let now = detail(&t, &tk["id"]).await;
    assert_eq!(now["sla"]["at_risk"], true);

    t.clock.set(rome(9, 10, 5));
    assert!(listed(&t, "at_risk").await.is_empty());
    assert_eq!(listed(&t, "breached").await, [id]);
    let now = detail(&t, &tk["id"]).await;
    let fr = clock(&now, "first_response");
    assert_eq!(fr["state"], "breached");
    assert_eq!(fr["breached"], true);
    assert_eq!(fr["met"], Value::Null);
    assert_eq!(fr["business_minutes_left"], -5);

    write(&t, &tk["id"], "reply", "Eccoci").await;
    let now = detail(&t, &tk["id"]).await;
    let fr = clock(&now, "first_response");
    assert_eq!(fr["state"], "breached");
    assert_eq!(fr["met"], false);
    // Stopped late: still listed as breached.
    assert_eq!(listed(&t, "breached").await, [id]);
    let r = t
        .get("/api/v1/tickets?sla=late", &t.fx.operator.token)
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
});

both!(pending_customer_pauses_and_an_email_resumes, |t| {
    policy(
        &t,
        json!({"name": "Standard", "first_response_minutes": 60, "next_response_minutes": 60,
               "resolution_minutes": 240}),
    )
    .await;
    let r = mailgate(&t, mail_fixture("it_plain.eml"), None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["ticket_id"].clone();
    let tk = detail(&t, &id).await;
    let number = tk["number"].as_str().unwrap().to_string();
    assert_eq!(
        clock(&tk, "resolution")["due_at"],
        "2026-03-02T14:00:00+01:00"
    );

    t.clock.advance(Duration::minutes(30));
    write(&t, &id, "reply", "Ci manda lo scontrino?").await;
    let r = t
        .post(
            &format!("/api/v1/tickets/{id}/state"),
            &t.fx.operator.token,
            json!({"state": "pending_customer"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let res = clock(&r.body, "resolution");
    assert_eq!(res["state"], "paused");
    assert_eq!(res["business_minutes_left"], 210);
    assert!(listed(&t, "at_risk").await.is_empty());

    // A day later the customer answers by e-mail: paused Monday 10:30–18:00
    // and Tuesday 09:00–10:30, 9 business hours, so the due time moves from
    // Monday 14:00 to Tuesday 14:00.
    t.clock.set(rome(3, 10, 30));
    let paused = detail(&t, &id).await;
    assert_eq!(clock(&paused, "resolution")["business_minutes_left"], 210);
    let raw = format!(
        "From: maria.rossi@example.it\r\nTo: assistenza@sportello.test\r\nSubject: Re: [#{number}] Sconto\r\nMessage-ID: <sla-r1@example.it>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nEcco lo scontrino.\r\n"
    );
    let r = mailgate(&t, raw.into_bytes(), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let now = detail(&t, &id).await;
    assert_eq!(now["state"], "open");
    let res = clock(&now, "resolution");
    assert_eq!(res["state"], "running");
    assert_eq!(res["due_at"], "2026-03-03T14:00:00+01:00");
    assert_eq!(
        history(res),
        ["started:created", "paused:customer", "resumed:open"]
    );
    assert_eq!(
        res["history"][1]["at"], "2026-03-02T10:30:00+01:00",
        "the history tells when the clock waited"
    );
    // The customer's message starts a next-response clock.
    let next = clock(&now, "next_response");
    assert_eq!(next["state"], "running");
    assert_eq!(next["due_at"], "2026-03-03T11:30:00+01:00");
    assert_eq!(history(next), ["started:customer_message"]);

    // Resolving stops every clock in time.
    t.clock.advance(Duration::minutes(15));
    let r = t
        .post(
            &format!("/api/v1/tickets/{id}/resolve"),
            &t.fx.operator.token,
            json!({"resolution": "Sconto riaccreditato", "notify": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for kind in ["first_response", "next_response", "resolution"] {
        let c = clock(&r.body, kind);
        assert_eq!(c["state"], "met", "{kind}: {c}");
    }
    assert_eq!(r.body["sla"], Value::Null);
    // Reopening restarts the resolution clock with the full target.
    t.clock.advance(Duration::minutes(15));
    let r = t
        .post(
            &format!("/api/v1/tickets/{id}/reopen"),
            &t.fx.operator.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let res = clock(&r.body, "resolution");
    assert_eq!(history(res), ["started:reopened"]);
    assert_eq!(res["due_at"], "2026-03-03T15:00:00+01:00");
});

both!(policy_change_recomputes_live_clocks, |t| {
    let standard = policy(
        &t,
        json!({"name": "Standard", "first_response_minutes": 60, "resolution_minutes": 480}),
    )
    .await;
    policy(
        &t,
        json!({"name": "Urgent", "priority": "urgent", "first_response_minutes": 15}),
    )
    .await;
    let tk = t.new_ticket("Rete", "La rete non va").await;
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "Server giù", "body": "Tutto fermo", "priority": "urgent"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let urgent = r.body["id"].as_i64().unwrap();
    // The more specific policy wins; it has no resolution target.
    assert_eq!(clock(&r.body, "first_response")["policy"]["name"], "Urgent");
    assert_eq!(
        clock(&r.body, "first_response")["due_at"],
        "2026-03-02T10:15:00+01:00"
    );
    assert!(r.body["sla_clocks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["kind"] != "resolution"));

    t.clock.advance(Duration::minutes(10));
    let r = t
        .post(
            &format!("/api/v1/tickets/{}/state", tk["id"]),
            &t.fx.operator.token,
            json!({"state": "pending_third_party"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        history(clock(&r.body, "resolution")),
        ["started:created", "paused:third_party"]
    );
    t.clock.advance(Duration::minutes(20));
    let r = t
        .patch(
            &format!("/api/v1/sla-policies/{}", standard["id"]),
            &t.fx.admin.token,
            json!({"resolution_minutes": 120, "first_response_minutes": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let now = detail(&t, &tk["id"]).await;
    let res = clock(&now, "resolution");
    assert_eq!(res["target_minutes"], 120);
    assert_eq!(res["state"], "paused");
    assert_eq!(
        history(res),
        [
            "started:created",
            "paused:third_party",
            "recomputed:policy_changed"
        ]
    );
    // Back to work at 10:40: 10 minutes counted, 110 left.
    t.clock.advance(Duration::minutes(10));
    let r = t
        .post(
            &format!("/api/v1/tickets/{}/state", tk["id"]),
            &t.fx.operator.token,
            json!({"state": "open"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let res = clock(&r.body, "resolution");
    assert_eq!(res["due_at"], "2026-03-02T12:30:00+01:00");
    assert_eq!(res["business_minutes_left"], 110);
    // The first-response target was removed: that clock is cancelled, never breached.
    let fr = clock(&r.body, "first_response");
    assert_eq!(fr["state"], "cancelled");
    assert_eq!(history(fr).last().unwrap(), "stopped:target_removed");
    // At 13:40 both are late: the urgent one since 10:15, this one since 12:30.
    t.clock.advance(Duration::hours(3));
    assert_eq!(
        listed(&t, "breached").await,
        [urgent, tk["id"].as_i64().unwrap()]
    );
});

both!(
    phone_notes_restart_next_response_and_delegation_pauses_for_the_back_office,
    |t| {
        policy(
            &t,
            json!({"name": "Standard", "first_response_minutes": 60, "next_response_minutes": 30,
               "resolution_minutes": 480}),
        )
        .await;
        let tk = t.new_ticket("Pagamento", "Il bonifico non risulta").await;
        let id = tk["id"].clone();
        t.clock.advance(Duration::minutes(10));
        write(&t, &id, "reply", "Verifichiamo").await;
        // The caller phones again: the operator's phone note is the customer's message.
        t.clock.advance(Duration::minutes(10));
        write(&t, &id, "phone", "Richiama: il bonifico è del 3 marzo").await;
        let now = detail(&t, &id).await;
        let next = clock(&now, "next_response");
        assert_eq!(next["state"], "running");
        assert_eq!(next["due_at"], "2026-03-02T10:50:00+01:00");
        // A second message while one is waiting for an answer starts no other clock.
        write(&t, &id, "customer", "Mi ha scritto anche per e-mail").await;
        let now = detail(&t, &id).await;
        let count = |d: &Value| {
            d["sla_clocks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["kind"] == "next_response")
                .count()
        };
        assert_eq!(count(&now), 1);
        t.clock.advance(Duration::minutes(5));
        write(
            &t,
            &id,
            "reply",
            "Ricevuto, controlliamo con l'amministrazione",
        )
        .await;
        let now = detail(&t, &id).await;
        assert_eq!(clock(&now, "next_response")["state"], "met");

        // Delegated to the back office: the resolution clock waits for it.
        let r = t
        .post("/api/v1/mailboxes", &t.fx.admin.token, json!({"name": "backoffice", "address": "backoffice@sportello.test",
            "purpose": "delegation", "queue_id": t.fx.back_office, "authorised_senders": ["specialist@test.it"]}))
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let r = t
            .post(
                &format!("/api/v1/tickets/{id}/escalate"),
                &t.fx.operator.token,
                json!({"queue_id": t.fx.desktop, "reason": "verifica pagamento"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = t
        .post(
            &format!("/api/v1/tickets/{id}/delegations"),
            &t.fx.specialist.token,
            json!({"task": "Verificare il bonifico del 3 marzo.", "to": "contractor@example.it"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let now = detail(&t, &id).await;
        assert_eq!(now["state"], "pending_third_party");
        let res = clock(&now, "resolution");
        assert_eq!(res["state"], "paused");
        assert_eq!(history(res), ["started:created", "paused:back_office"]);
        let reply_to = t
            .app
            .db
            .read(|c| {
                use diesel::prelude::*;
                use sportello::store::schema::outbox::dsl::*;
                Ok(outbox
                    .filter(kind.eq("delegation"))
                    .select(reply_to)
                    .first::<Option<String>>(c)?)
            })
            .await
            .unwrap()
            .unwrap();
        // The back office answers two business hours later: the clock resumes.
        t.clock.advance(Duration::hours(2));
        let raw = format!("From: contractor@example.it\r\nTo: {reply_to}\r\nSubject: Esito\r\nMessage-ID: <bo-sla@example.it>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonifico trovato.\r\n");
        let r = mailgate(&t, raw.into_bytes(), Some("backoffice")).await;
        assert_eq!(r.body["outcome"], "ticket", "{}", r.body);
        let now = detail(&t, &id).await;
        assert_eq!(now["state"], "open");
        let res = clock(&now, "resolution");
        assert_eq!(res["state"], "running");
        assert_eq!(
            history(res),
            ["started:created", "paused:back_office", "resumed:open"]
        );
        // Paused 10:25–12:25: 8 business hours from 10:00 end at 18:00 + 2 h, Tuesday 11:00.
        assert_eq!(res["due_at"], "2026-03-03T11:00:00+01:00");
        // The back office's answer is not the customer's: no new next-response clock.
        assert_eq!(count(&now), 1);
    }
);

both!(closing_and_merging_stop_the_clocks, |t| {
    policy(
        &t,
        json!({"name": "Standard", "first_response_minutes": 60, "resolution_minutes": 60}),
    )
    .await;
    let a = t.new_ticket("Doppione", "Stessa richiesta").await;
    let b = t.new_ticket("Originale", "La richiesta").await;
    t.clock.advance(Duration::minutes(20));
    let r = t
        .post(
            &format!("/api/v1/tickets/{}/merge", a["id"]),
            &t.fx.operator.token,
            json!({"into": b["number"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let merged = detail(&t, &a["id"]).await;
    for kind in ["first_response", "resolution"] {
        let c = clock(&merged, kind);
        assert_eq!(c["state"], "met", "{kind}: {c}");
        assert_eq!(history(c).last().unwrap(), "stopped:merged");
    }
    // Closed after its due time without an answer: breached, and it says why.
    t.clock.advance(Duration::minutes(50));
    let r = t
        .post(
            &format!("/api/v1/tickets/{}/close", b["id"]),
            &t.fx.operator.token,
            json!({"reason": "duplicato risolto altrove"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let fr = clock(&r.body, "first_response");
    assert_eq!(fr["state"], "breached");
    assert_eq!(fr["met"], false);
    assert_eq!(fr["business_minutes_left"], -10);
    assert_eq!(history(fr), ["started:created", "stopped:closed"]);
    assert_eq!(r.body["sla"], Value::Null);
});

both!(a_topic_policy_and_a_message_on_the_tracking_page, |t| {
    let r = t
        .post(
            "/api/v1/topics",
            &t.fx.admin.token,
            json!({"name": "Punti accumulati", "queue_id": t.fx.first_level}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let topic = r.body["id"].as_i64().unwrap();
    policy(&t, json!({"name": "Standard", "resolution_minutes": 480})).await;
    policy(
        &t,
        json!({"name": "Punti", "topic_id": topic, "first_response_minutes": 30,
               "next_response_minutes": 60}),
    )
    .await;
    let r = t
        .call(
            actix_web::http::Method::POST,
            "/api/v1/public/requests",
            None,
            Some(json!({"topic_id": topic, "name": "Maria Rossi", "email": "maria@example.it",
                "text": "Non vedo i punti dell'ultimo acquisto.", "consent": true, "language": "it"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let number = r.body["number"].as_str().unwrap().to_string();
    let token = r.body["tracking_token"].as_str().unwrap().to_string();
    let tk = detail(&t, &json!(number)).await;
    // The topic's policy is the more specific; it sets no resolution target.
    let fr = clock(&tk, "first_response");
    assert_eq!(fr["policy"]["name"], "Punti");
    assert_eq!(fr["due_at"], "2026-03-02T10:30:00+01:00");
    assert_eq!(tk["sla_clocks"].as_array().unwrap().len(), 1);

    t.clock.advance(Duration::minutes(10));
    write(&t, &json!(number), "reply", "Verifichiamo il saldo").await;
    let r = t
        .post(
            &format!("/api/v1/tickets/{number}/state"),
            &t.fx.operator.token,
            json!({"state": "pending_customer"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    t.clock.advance(Duration::hours(1));
    let r = t
        .call(
            actix_web::http::Method::POST,
            &format!("/api/v1/public/requests/{number}/messages"),
            None,
            Some(json!({"token": token, "text": "Lo scontrino è del 28 febbraio"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let now = detail(&t, &json!(number)).await;
    assert_eq!(now["state"], "open");
    let next = clock(&now, "next_response");
    assert_eq!(next["state"], "running");
    assert_eq!(next["due_at"], "2026-03-02T12:10:00+01:00");
    assert_eq!(now["sla"]["kind"], "next_response");
});
