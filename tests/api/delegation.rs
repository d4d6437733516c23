//! Back-office delegation by e-mail: out with a reply token, back in as an
//! internal article, tracked on the ticket (open, overdue, answered).

use serde_json::{json, Value};

use crate::both;
use crate::harness::{mailgate, TestApp};

fn mail(from: &str, to: &str, subject: &str, id: &str, body: &str) -> String {
    format!("From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n")
}

/// A delegation mailbox and a ticket escalated to Desktop, worked by the specialist.
async fn setup(t: &TestApp) -> Value {
    let r = t
        .post("/api/v1/mailboxes", &t.fx.admin.token, json!({"name": "backoffice", "address": "backoffice@sportello.test",
            "purpose": "delegation", "queue_id": t.fx.back_office, "authorised_senders": ["Specialist@test.it"]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["authorised_senders"], json!(["specialist@test.it"]));
    let tk = t
        .new_ticket(
            "Pagamento non registrato",
            "Il cliente ha pagato ma risulta insoluto",
        )
        .await;
    t.post(
        &format!("/api/v1/tickets/{}/escalate", tk["id"]),
        &t.fx.operator.token,
        json!({"queue_id": t.fx.desktop, "reason": "verifica pagamento"}),
    )
    .await;
    tk
}

async fn delegate(t: &TestApp, tk: &Value) -> Value {
    let r = t
        .post(&format!("/api/v1/tickets/{}/delegations", tk["id"]), &t.fx.specialist.token, json!({
            "task": "Integrazione pagamento: verificare il bonifico del 3 marzo.", "to": "contractor@example.it", "due_hours": 24}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

both!(delegation_round_trip_by_reply_token, |t| {
    let tk = setup(&t).await;
    let d = delegate(&t, &tk).await;
    assert_eq!(d["state"], "open");
    let detail = t
        .get(
            &format!("/api/v1/tickets/{}", tk["id"]),
            &t.fx.specialist.token,
        )
        .await
        .body;
    assert_eq!(detail["state"], "pending_third_party");
    let out = t
        .get(
            &format!("/api/v1/tickets/{}/emails", tk["id"]),
            &t.fx.specialist.token,
        )
        .await
        .body;
    assert_eq!(out[0]["kind"], "delegation");
    assert_eq!(out[0]["to"], "contractor@example.it");
    assert!(out[0]["subject"]
        .as_str()
        .unwrap()
        .starts_with(&format!("[#{}]", tk["number"].as_str().unwrap())));
    let reply_to = t
        .app
        .db
        .read(|c| {
            use diesel::prelude::*;
            use sportello::store::schema::outbox::dsl::*;
            Ok(outbox.select(reply_to).first::<Option<String>>(c)?)
        })
        .await
        .unwrap()
        .unwrap();
    assert!(
        reply_to.starts_with("backoffice+d") && reply_to.ends_with("@sportello.test"),
        "{reply_to}"
    );
    // Meanwhile a supervisor moved the ticket elsewhere.
    t.patch(
        &format!("/api/v1/tickets/{}", tk["id"]),
        &t.fx.supervisor.token,
        json!({"queue_id": t.fx.mobile}),
    )
    .await;
    // The back office answers to the token address with a subject of its own.
    let r = mailgate(&t, mail("contractor@example.it", &reply_to, "Esito verifica", "bo-1@example.it",
        "Bonifico trovato, pratica BO-4411 registrata.\r\n\r\nOn Mon, Help desk wrote:\r\n> Integrazione pagamento"), Some("backoffice")).await;
    assert_eq!(r.body["outcome"], "ticket", "{}", r.body);
    assert_eq!(r.body["ticket_id"], tk["id"]);
    let detail = t
        .get(
            &format!("/api/v1/tickets/{}", tk["id"]),
            &t.fx.specialist.token,
        )
        .await
        .body;
    let answer = detail["articles"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        answer["body"],
        "Bonifico trovato, pratica BO-4411 registrata."
    );
    assert_eq!(
        answer["public"], false,
        "back-office mail is never visible to the customer"
    );
    assert_eq!(detail["state"], "open");
    assert_eq!(
        detail["queue"]["id"], t.fx.desktop,
        "back to the delegating second-level queue"
    );
    assert!(detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "delegation_answered"));
    let ds = t
        .get(
            &format!("/api/v1/tickets/{}/delegations", tk["id"]),
            &t.fx.specialist.token,
        )
        .await
        .body;
    assert_eq!(ds[0]["state"], "answered");
    assert_eq!(ds[0]["external_ref"], "BO-4411");
    // A later mail naming only the back office's reference still finds the ticket.
    let r = mailgate(
        &t,
        mail(
            "contractor@example.it",
            "backoffice@sportello.test",
            "Aggiornamento BO-4411",
            "bo-2@example.it",
            "Rimborso eseguito.",
        ),
        Some("backoffice"),
    )
    .await;
    assert_eq!(r.body["ticket_id"], tk["id"]);
    assert_eq!(
        t.count("outbox").await,
        1,
        "no acknowledgement to the back office"
    );
});

both!(delegations_become_overdue, |t| {
    let tk = setup(&t).await;
    delegate(&t, &tk).await;
    t.clock.advance(chrono::Duration::hours(25));
    let ds = t
        .get(
            &format!("/api/v1/tickets/{}/delegations", tk["id"]),
            &t.fx.specialist.token,
        )
        .await
        .body;
    assert_eq!(ds[0]["state"], "overdue");
});

both!(tasks_from_authorised_senders_and_strangers, |t| {
    setup(&t).await;
    let r = mailgate(
        &t,
        mail(
            "specialist@test.it",
            "backoffice@sportello.test",
            "Verificare estratto conto",
            "task-1@test.it",
            "Per favore controllate.",
        ),
        Some("backoffice"),
    )
    .await;
    assert_eq!(r.body["created"], true, "{}", r.body);
    let task = t
        .get(
            &format!("/api/v1/tickets/{}", r.body["ticket_id"]),
            &t.fx.supervisor.token,
        )
        .await
        .body;
    assert_eq!(task["queue"]["id"], t.fx.back_office);
    let r = mailgate(
        &t,
        mail(
            "someone@example.it",
            "backoffice@sportello.test",
            "Offerta",
            "spam-1@example.it",
            "Compra!",
        ),
        Some("backoffice"),
    )
    .await;
    assert_eq!(r.body["outcome"], "quarantined");
    assert_eq!(r.body["cause"], "unauthorised_sender");
});

both!(delegation_needs_a_mailbox_an_address_and_permission, |t| {
    let tk = t.new_ticket("x", "y").await;
    let path = format!("/api/v1/tickets/{}/delegations", tk["id"]);
    let r = t
        .post(
            &path,
            &t.fx.operator.token,
            json!({"task": "t", "to": "bo@example.it"}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["code"], "no-delegation-mailbox");
    setup(&t).await;
    let r = t
        .post(&path, &t.fx.operator.token, json!({"task": "t"}))
        .await;
    assert_eq!(
        r.status, 422,
        "no default back-office address is configured"
    );
    assert_eq!(r.body["field"], "to");
    let r = t
        .post(
            &path,
            &t.fx.specialist.token,
            json!({"task": "t", "to": "bo@example.it"}),
        )
        .await;
    assert_eq!(r.status, 403, "the specialist does not work first level");
    let r = t
        .post(
            &path,
            &t.fx.operator.token,
            json!({"task": "", "to": "bo@example.it"}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(t.count("delegations").await, 0);
});
