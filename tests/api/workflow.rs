//! The ticket state machine through HTTP: every operation allowed and refused.

use actix_web::http::Method;
use serde_json::{json, Value};

use crate::both;
use crate::harness::TestApp;

fn path(t: &Value, op: &str) -> String {
    format!("/api/v1/tickets/{}/{op}", t["id"])
}

async fn escalate(t: &TestApp, ticket: &Value, queue: i64) -> Value {
    let r = t
        .post(
            &path(ticket, "escalate"),
            &t.fx.operator.token,
            json!({"queue_id": queue, "reason": "needs a technician"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

both!(new_ticket_starts_new_in_first_level, |t| {
    let tk = t
        .new_ticket(
            "Stampante guasta",
            "La stampante del secondo piano non stampa",
        )
        .await;
    assert_eq!(tk["state"], "new");
    assert_eq!(tk["queue"]["level"], "first_level");
    assert!(tk["number"].as_str().unwrap().starts_with("2026-"));
    assert_eq!(tk["events"][0]["kind"], "created");
    assert_eq!(tk["articles"].as_array().unwrap().len(), 1);
    let again = t.new_ticket("Secondo", "Altro").await;
    assert_eq!(again["number"], "2026-000002");
});

both!(assign_opens_and_pending_round_trip, |t| {
    let tk = t.new_ticket("Richiesta", "Testo").await;
    let r = t
        .post(
            &path(&tk, "assign"),
            &t.fx.operator.token,
            json!({"agent_id": t.fx.operator.id}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"], "open");
    assert_eq!(r.body["assignee"]["id"], t.fx.operator.id);
    for state in ["pending_customer", "pending_third_party", "open"] {
        let r = t
            .post(
                &path(&tk, "state"),
                &t.fx.operator.token,
                json!({"state": state}),
            )
            .await;
        assert_eq!(r.status, 200, "{state}: {}", r.body);
        assert_eq!(r.body["state"], state);
    }
    let detail = t
        .get(
            &format!("/api/v1/tickets/{}", tk["id"]),
            &t.fx.operator.token,
        )
        .await
        .body;
    let kinds = r_kinds(&detail);
    assert!(kinds.contains(&"assigned") && kinds.contains(&"state_changed"));
});

fn r_kinds(detail: &Value) -> Vec<&str> {
    detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect()
}

both!(special_states_cannot_be_set_directly, |t| {
    let tk = t.new_ticket("Richiesta", "Testo").await;
    for state in ["resolved", "closed", "escalated", "merged", "new"] {
        let r = t
            .post(
                &path(&tk, "state"),
                &t.fx.operator.token,
                json!({"state": state}),
            )
            .await;
        assert_eq!(r.status, 409, "{state}: {}", r.body);
        assert!(r.is_problem());
        assert_eq!(r.body["code"], "invalid-transition");
        assert_eq!(r.body["current_state"], "new");
        assert!(r.body["allowed_states"]
            .as_array()
            .unwrap()
            .contains(&json!("open")));
    }
});

both!(escalate_requires_reason_and_target, |t| {
    let tk = t.new_ticket("PC non parte", "Schermata blu").await;
    let r = t
        .post(
            &path(&tk, "escalate"),
            &t.fx.operator.token,
            json!({"queue_id": t.fx.desktop, "reason": "  "}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["field"], "reason");
    let r = t
        .post(
            &path(&tk, "escalate"),
            &t.fx.operator.token,
            json!({"queue_id": t.fx.back_office, "reason": "x"}),
        )
        .await;
    assert_eq!(r.status, 422, "back office is not an escalation target");
    let r = t
        .post(
            &path(&tk, "escalate"),
            &t.fx.operator.token,
            json!({"queue_id": 9999, "reason": "x"}),
        )
        .await;
    assert_eq!(r.status, 422);
    let after = t
        .get(
            &format!("/api/v1/tickets/{}", tk["id"]),
            &t.fx.operator.token,
        )
        .await
        .body;
    assert_eq!(after["state"], "new", "refused escalations change nothing");
    assert_eq!(r_kinds(&after).len(), 2);
});

both!(escalate_claim_hand_back, |t| {
    let tk = t.new_ticket("PC non parte", "Schermata blu").await;
    let esc = escalate(&t, &tk, t.fx.desktop).await;
    assert_eq!(esc["state"], "escalated");
    assert_eq!(esc["queue"]["id"], t.fx.desktop);
    assert_eq!(esc["escalation_reason"], "needs a technician");
    // First level can no longer act on it; the specialist can.
    let r = t
        .post(
            &path(&tk, "state"),
            &t.fx.operator.token,
            json!({"state": "open"}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = t
        .post(
            &format!("/api/v1/queues/{}/claim", t.fx.desktop),
            &t.fx.specialist.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], tk["id"]);
    assert_eq!(r.body["state"], "open");
    assert_eq!(r.body["assignee"]["id"], t.fx.specialist.id);
    let r = t
        .post(
            &path(&tk, "hand-back"),
            &t.fx.specialist.token,
            json!({"reason": "not a hardware problem"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["queue"]["id"], t.fx.first_level);
    assert_eq!(r.body["state"], "open");
    assert!(r.body["assignee"].is_null());
    assert!(r_kinds(&r.body).contains(&"handed_back"));
    // Already at first level: nothing to hand back.
    let r = t
        .post(&path(&tk, "hand-back"), &t.fx.operator.token, json!({}))
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["code"], "not-escalated");
});

both!(escalate_to_customer_care_and_between_groups, |t| {
    let tk = t.new_ticket("Reclamo", "Addebito non dovuto").await;
    escalate(&t, &tk, t.fx.desktop).await;
    let r = t
        .post(
            &path(&tk, "escalate"),
            &t.fx.specialist.token,
            json!({"queue_id": t.fx.care, "reason": "it is a complaint"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["queue"]["level"], "customer_care");
    let r = t
        .post(
            &path(&tk, "escalate"),
            &t.fx.care_agent.token,
            json!({"queue_id": t.fx.care, "reason": "again"}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["code"], "already-there");
    // Hand back goes to the first-level queue it came from.
    let r = t
        .post(&path(&tk, "hand-back"), &t.fx.care_agent.token, json!({}))
        .await;
    assert_eq!(r.body["queue"]["id"], t.fx.first_level);
});

both!(resolve_close_reopen, |t| {
    let tk = t.new_ticket("Saldo punti", "Quanti punti ho?").await;
    let r = t
        .post(
            &path(&tk, "resolve"),
            &t.fx.operator.token,
            json!({"resolution": ""}),
        )
        .await;
    assert_eq!(r.status, 422);
    let r = t
        .post(
            &path(&tk, "resolve"),
            &t.fx.operator.token,
            json!({"resolution": "Saldo comunicato: 1.250 punti"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"], "resolved");
    assert!(r.body["resolved_at"].is_string());
    // Resolved: only reopen or close.
    let r2 = t
        .post(
            &path(&tk, "resolve"),
            &t.fx.operator.token,
            json!({"resolution": "again"}),
        )
        .await;
    assert_eq!(r2.status, 409);
    assert_eq!(r2.body["current_state"], "resolved");
    assert_eq!(r2.body["allowed_states"], json!(["open", "closed"]));
    let r2 = t
        .post(
            &path(&tk, "escalate"),
            &t.fx.operator.token,
            json!({"queue_id": t.fx.desktop, "reason": "x"}),
        )
        .await;
    assert_eq!(r2.status, 409);
    let r = t
        .post(&path(&tk, "close"), &t.fx.operator.token, json!({}))
        .await;
    assert_eq!(r.body["state"], "closed");
    assert!(r.body["closed_at"].is_string());
    for op in ["resolve", "close", "assign"] {
        let body = match op {
            "resolve" => json!({"resolution": "x"}),
            "assign" => json!({"agent_id": t.fx.operator.id}),
            _ => json!({}),
        };
        let r = t.post(&path(&tk, op), &t.fx.operator.token, body).await;
        assert_eq!(r.status, 409, "{op} on closed");
        assert!(r.body["allowed_actions"]
            .as_array()
            .unwrap()
            .contains(&json!("reopen")));
    }
    let r = t
        .post(
            &path(&tk, "reopen"),
            &t.fx.operator.token,
            json!({"reason": "the caller rang back"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["state"], "open");
    assert!(r.body["resolved_at"].is_null() && r.body["closed_at"].is_null());
    let r = t
        .post(&path(&tk, "reopen"), &t.fx.operator.token, json!({}))
        .await;
    assert_eq!(r.status, 409, "an open ticket cannot be reopened");
});

both!(close_without_resolving_and_reopen_from_resolved, |t| {
    let tk = t.new_ticket("Spam", "Pubblicità").await;
    let r = t
        .post(
            &path(&tk, "close"),
            &t.fx.operator.token,
            json!({"reason": "spam"}),
        )
        .await;
    assert_eq!(r.body["state"], "closed");
    let tk2 = t.new_ticket("Domanda", "Testo").await;
    t.post(
        &path(&tk2, "resolve"),
        &t.fx.operator.token,
        json!({"resolution": "ok"}),
    )
    .await;
    let r = t
        .post(&path(&tk2, "reopen"), &t.fx.operator.token, json!({}))
        .await;
    assert_eq!(r.body["state"], "open");
});

both!(replies_and_notes, |t| {
    let tk = t.new_ticket("Card smarrita", "Ho perso la card").await;
    assert!(
        !tk["first_response_at"].is_null(),
        "a phone write-up counts as the first response"
    );
    let r = t
        .post(
            &path(&tk, "articles"),
            &t.fx.operator.token,
            json!({"kind": "note", "body": "Verificare con il consorzio"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["state"], "new",
        "an internal note is not work on the request"
    );
    let note = r.body["articles"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(note["public"], false);
    let r = t
        .post(
            &path(&tk, "articles"),
            &t.fx.operator.token,
            json!({"kind": "reply", "body": "Abbiamo bloccato la card."}),
        )
        .await;
    assert_eq!(r.body["state"], "open");
    assert_eq!(
        r.body["articles"].as_array().unwrap().last().unwrap()["public"],
        true
    );
    t.post(
        &path(&tk, "state"),
        &t.fx.operator.token,
        json!({"state": "pending_customer"}),
    )
    .await;
    let r = t
        .post(
            &path(&tk, "articles"),
            &t.fx.operator.token,
            json!({"kind": "customer", "body": "Grazie, attendo la nuova card"}),
        )
        .await;
    assert_eq!(
        r.body["state"], "open",
        "the customer's answer ends the wait"
    );
});

both!(merge_moves_history, |t| {
    let a = t
        .new_ticket("Prima chiamata", "Il cliente chiama per la card")
        .await;
    let b = t
        .new_ticket("Seconda chiamata", "Stesso cliente, stessa card")
        .await;
    let r = t
        .post(
            &path(&b, "merge"),
            &t.fx.operator.token,
            json!({"into": a["number"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], a["id"]);
    let bodies: Vec<&str> = r.body["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        vec![
            "Il cliente chiama per la card",
            "Stesso cliente, stessa card"
        ]
    );
    assert!(r_kinds(&r.body).contains(&"merged"));
    let merged = t
        .get(
            &format!("/api/v1/tickets/{}", b["id"]),
            &t.fx.operator.token,
        )
        .await
        .body;
    assert_eq!(merged["state"], "merged");
    assert_eq!(merged["merged_into"], a["number"]);
    assert!(merged["articles"].as_array().unwrap().is_empty());
    // A merged ticket is read-only.
    let r = t
        .post(
            &path(&b, "articles"),
            &t.fx.operator.token,
            json!({"kind": "note", "body": "x"}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["allowed_states"], json!([]));
    let r = t
        .post(
            &path(&a, "merge"),
            &t.fx.operator.token,
            json!({"into": a["id"].to_string()}),
        )
        .await;
    assert_eq!(r.status, 422);
});

both!(links_are_recorded_once_both_ways, |t| {
    let a = t.new_ticket("Guasto linea", "Zona nord").await;
    let b = t
        .new_ticket("Guasto linea", "Zona nord, altro cliente")
        .await;
    let r = t
        .post(
            &path(&a, "links"),
            &t.fx.operator.token,
            json!({"ticket": b["number"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["links"][0]["number"], b["number"]);
    t.post(
        &path(&b, "links"),
        &t.fx.operator.token,
        json!({"ticket": a["id"].to_string()}),
    )
    .await;
    let from_b = t
        .get(
            &format!("/api/v1/tickets/{}", b["id"]),
            &t.fx.operator.token,
        )
        .await
        .body;
    assert_eq!(from_b["links"].as_array().unwrap().len(), 1);
    assert_eq!(from_b["links"][0]["ticket_id"], a["id"]);
});

both!(assign_checks_the_assignee, |t| {
    let tk = t.new_ticket("Richiesta", "Testo").await;
    let r = t
        .post(
            &path(&tk, "assign"),
            &t.fx.operator.token,
            json!({"agent_id": t.fx.specialist.id}),
        )
        .await;
    assert_eq!(r.status, 422, "a specialist does not work first level");
    let r = t
        .post(
            &path(&tk, "assign"),
            &t.fx.operator.token,
            json!({"agent_id": t.fx.operator2.id}),
        )
        .await;
    assert_eq!(r.body["assignee"]["id"], t.fx.operator2.id);
    let r = t
        .post(
            &path(&tk, "assign"),
            &t.fx.operator.token,
            json!({"agent_id": null}),
        )
        .await;
    assert!(r.body["assignee"].is_null());
    assert!(r_kinds(&r.body).contains(&"unassigned"));
});

both!(ticket_found_by_number_and_update_fields, |t| {
    let tk = t.new_ticket("Oggetto", "Testo").await;
    let r = t
        .get(
            &format!("/api/v1/tickets/{}", tk["number"].as_str().unwrap()),
            &t.fx.operator.token,
        )
        .await;
    assert_eq!(r.body["id"], tk["id"]);
    let r = t
        .patch(
            &format!("/api/v1/tickets/{}", tk["id"]),
            &t.fx.operator.token,
            json!({"subject": "Oggetto corretto", "priority": "urgent"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["subject"], "Oggetto corretto");
    assert_eq!(r.body["priority"], "urgent");
    let ev = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "updated")
        .unwrap();
    assert_eq!(ev["data"]["subject"]["from"], "Oggetto");
    // Moving to second level is escalation, not an edit.
    let r = t
        .patch(
            &format!("/api/v1/tickets/{}", tk["id"]),
            &t.fx.operator.token,
            json!({"queue_id": t.fx.desktop}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = t
        .get("/api/v1/tickets/2026-999999", &t.fx.operator.token)
        .await;
    assert_eq!(r.status, 404);
    assert!(r.is_problem());
});

both!(claim_next_order_and_empty_queue, |t| {
    let low = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "bassa", "body": "x", "priority": "low"}),
        )
        .await
        .body;
    t.clock.advance(chrono::Duration::minutes(1));
    let old_high = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "alta", "body": "x", "priority": "high"}),
        )
        .await
        .body;
    t.clock.advance(chrono::Duration::minutes(1));
    let new_high = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "alta 2", "body": "x", "priority": "high"}),
        )
        .await
        .body;
    let claim = format!("/api/v1/queues/{}/claim", t.fx.first_level);
    let order: Vec<Value> = {
        let mut v = vec![];
        for _ in 0..3 {
            v.push(t.post(&claim, &t.fx.operator.token, json!({})).await.body["id"].clone());
        }
        v
    };
    assert_eq!(
        order,
        vec![
            old_high["id"].clone(),
            new_high["id"].clone(),
            low["id"].clone()
        ]
    );
    let r = t
        .call(Method::POST, &claim, Some(&t.fx.operator.token), None)
        .await;
    assert_eq!(r.status, 204);
});

both!(claim_next_concurrent_never_twice_never_lost, |t| {
    let n = 24;
    for i in 0..n {
        t.new_ticket(&format!("Richiesta {i}"), "Testo").await;
    }
    let claim = format!("/api/v1/queues/{}/claim", t.fx.first_level);
    let tokens = [
        &t.fx.operator.token,
        &t.fx.operator2.token,
        &t.fx.supervisor.token,
    ];
    let calls = (0..n + 6).map(|i| t.call(Method::POST, &claim, Some(tokens[i % 3]), None));
    let results = futures_util::future::join_all(calls).await;
    let mut ids: Vec<i64> = results
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.body["id"].as_i64().unwrap())
        .collect();
    assert!(
        results.iter().all(|r| r.status == 200 || r.status == 204),
        "only claims or 'nothing left'"
    );
    let before = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(before, ids.len(), "a ticket was claimed twice");
    assert_eq!(ids.len(), n, "a ticket was lost");
    let unassigned = t
        .get(
            &format!(
                "/api/v1/tickets?queue={}&assignee=none&state=active",
                t.fx.first_level
            ),
            &t.fx.operator.token,
        )
        .await;
    assert!(unassigned.body["items"].as_array().unwrap().is_empty());
});
