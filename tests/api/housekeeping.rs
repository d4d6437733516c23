//! Housekeeping over HTTP under simulated time: resolved tickets closed after
//! SPORTELLO_AUTO_CLOSE_DAYS (7), customers we wait on reminded every
//! SPORTELLO_PENDING_REMINDER_DAYS (3) and their tickets resolved after
//! SPORTELLO_PENDING_AUTO_RESOLVE_DAYS (14); a second run, or a second
//! instance, finds nothing left to do. The clock starts on Monday 2 March
//! 2026 at 10:00 in Rome.

use chrono::Duration;
use serde_json::{json, Value};

use crate::both;
use crate::harness::{Kind, TestApp};

/// One housekeeping run through the API, as the supervisor.
async fn housekeep(t: &TestApp) -> Value {
    let r = t
        .post(
            "/api/v1/housekeeping/run",
            &t.fx.supervisor.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn did(closed: usize, reminded: usize, skipped: usize, resolved: usize, unchanged: usize) -> Value {
    json!({"closed": closed, "reminded": reminded, "reminders_skipped": skipped,
           "resolved": resolved, "unchanged": unchanged, "failed": 0})
}

/// A ticket for Maria, who has an e-mail address; returns its id.
async fn maria_ticket(t: &TestApp) -> Value {
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "Sconto non applicato", "body": "Lo sconto non compare.",
                   "contact": {"name": "Maria Rossi", "email": "maria.rossi@example.it", "language": "it"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].clone()
}

async fn ticket(t: &TestApp, id: &Value) -> Value {
    let r = t
        .get(&format!("/api/v1/tickets/{id}"), &t.fx.operator.token)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn act(t: &TestApp, id: &Value, action: &str, body: Value) {
    let r = t
        .post(
            &format!("/api/v1/tickets/{id}/{action}"),
            &t.fx.operator.token,
            body,
        )
        .await;
    assert_eq!(r.status, 200, "{action}: {}", r.body);
}

async fn resolve(t: &TestApp, id: &Value) {
    act(t, id, "resolve", json!({"resolution": "Sconto applicato"})).await;
}

async fn wait_on_customer(t: &TestApp, id: &Value) {
    act(t, id, "state", json!({"state": "pending_customer"})).await;
}

async fn customer_writes(t: &TestApp, id: &Value) {
    act(
        t,
        id,
        "articles",
        json!({"kind": "customer", "body": "Ecco lo scontrino."}),
    )
    .await;
}

/// The ticket's events of `kind`, oldest first.
async fn events(t: &TestApp, id: &Value, kind: &str) -> Vec<Value> {
    ticket(t, id).await["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect()
}

/// One row of the outbox.
#[derive(Debug, Clone)]
struct Mail {
    kind: String,
    to: String,
    subject: String,
    body: String,
    message_id: String,
    in_reply_to: Option<String>,
}

/// The ticket's outgoing mail, oldest first.
async fn outbox(t: &TestApp, id: &Value) -> Vec<Mail> {
    let ticket = id.as_i64().unwrap();
    t.app
        .db
        .read(move |c| {
            use diesel::prelude::*;
            use sportello::store::schema::outbox as o;
            let rows: Vec<(String, String, String, String, String, Option<String>)> = o::table
                .filter(o::ticket_id.eq(ticket))
                .order(o::id.asc())
                .select((
                    o::kind,
                    o::to_address,
                    o::subject,
                    o::body,
                    o::message_id,
                    o::in_reply_to,
                ))
                .load(c)?;
            Ok(rows
                .into_iter()
                .map(|(kind, to, subject, body, message_id, in_reply_to)| Mail {
                    kind,
                    to,
                    subject,
                    body,
                    message_id,
                    in_reply_to,
                })
                .collect())
        })
        .await
        .unwrap()
}

both!(
    a_resolved_ticket_is_closed_after_seven_days_and_not_before,
    |t| {
        let id = maria_ticket(&t).await;
        resolve(&t, &id).await;
        t.clock.advance(Duration::days(7) - Duration::seconds(1));
        assert_eq!(housekeep(&t).await, did(0, 0, 0, 0, 0));
        assert_eq!(ticket(&t, &id).await["state"], "resolved");

        t.clock.advance(Duration::seconds(1));
        assert_eq!(housekeep(&t).await, did(1, 0, 0, 0, 0));
        let tk = ticket(&t, &id).await;
        assert_eq!(tk["state"], "closed");
        let closed = events(&t, &id, "closed").await;
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0]["actor"], Value::Null, "Sportello did it");
        assert_eq!(
            closed[0]["data"],
            json!({"auto": true, "reason": "resolved 7 days ago with no reply from the customer"})
        );
        assert_eq!(closed[0]["created_at"], "2026-03-09T10:00:00+01:00");

        // The same instant again: nothing left to do, nothing written.
        let events_before = t.count("ticket_events").await;
        assert_eq!(housekeep(&t).await, did(0, 0, 0, 0, 0));
        assert_eq!(t.count("ticket_events").await, events_before);
    }
);

both!(
    a_customer_reply_reopens_the_ticket_so_it_is_not_closed,
    |t| {
        let id = maria_ticket(&t).await;
        resolve(&t, &id).await;
        t.clock.advance(Duration::days(3));
        customer_writes(&t, &id).await;
        assert_eq!(ticket(&t, &id).await["state"], "open");
        t.clock.advance(Duration::days(5));
        assert_eq!(housekeep(&t).await, did(0, 0, 0, 0, 0));
        assert_eq!(ticket(&t, &id).await["state"], "open");

        // Resolved again on day 8: the seven days count from then.
        resolve(&t, &id).await;
        t.clock.advance(Duration::days(6));
        assert_eq!(housekeep(&t).await, did(0, 0, 0, 0, 0));
        t.clock.advance(Duration::days(1));
        assert_eq!(housekeep(&t).await, did(1, 0, 0, 0, 0));
        assert_eq!(ticket(&t, &id).await["state"], "closed");
    }
);

both!(reminders_every_three_days_then_resolved_at_fourteen, |t| {
    let id = maria_ticket(&t).await;
    act(
        &t,
        &id,
        "articles",
        json!({"kind": "reply", "body": "Ci manda lo scontrino?"}),
    )
    .await;
    wait_on_customer(&t, &id).await;
    let before = outbox(&t, &id).await.len();

    t.clock.advance(Duration::days(3) - Duration::minutes(1));
    assert_eq!(housekeep(&t).await, did(0, 0, 0, 0, 0));
    t.clock.advance(Duration::minutes(1));
    assert_eq!(housekeep(&t).await, did(0, 1, 0, 0, 0));
    let mail = outbox(&t, &id).await;
    assert_eq!(mail.len(), before + 1);
    let first = mail.last().unwrap().clone();
    let number = ticket(&t, &id).await["number"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(first.kind, "pending_reminder");
    assert_eq!(first.to, "maria.rossi@example.it");
    assert_eq!(
        first.subject,
        format!("[#{number}] Attendiamo una sua risposta")
    );
    assert!(
        first.body.starts_with("Gentile Maria Rossi,")
            && first.body.contains("(promemoria n. 1)")
            && first
                .body
                .contains("entro il 16/03/2026, considereremo la richiesta risolta"),
        "{}",
        first.body
    );
    // Threaded on the ticket: it answers the agent's reply.
    assert_eq!(
        first.in_reply_to.as_deref(),
        Some(mail[mail.len() - 2].message_id.as_str())
    );
    let sent = events(&t, &id, "reminder_sent").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["data"]["reminder"], 1);
    assert_eq!(sent[0]["data"]["auto"], true);
    assert!(sent[0]["data"]["email_id"].is_i64());
    assert_eq!(ticket(&t, &id).await["state"], "pending_customer");

    // The same instant again: the ticket is looked at, nothing is sent.
    assert_eq!(housekeep(&t).await, did(0, 0, 0, 0, 1));
    assert_eq!(outbox(&t, &id).await.len(), before + 1);

    t.clock.advance(Duration::days(3));
    assert_eq!(housekeep(&t).await, did(0, 1, 0, 0, 0));
    let second = outbox(&t, &id).await.last().unwrap().clone();
    assert!(second.body.contains("(promemoria n. 2)"), "{}", second.body);
    assert_eq!(
        second.in_reply_to.as_deref(),
        Some(first.message_id.as_str())
    );
    let sent = events(&t, &id, "reminder_sent").await;
    assert_eq!(
        sent.iter()
            .map(|e| e["data"]["reminder"].clone())
            .collect::<Vec<_>>(),
        [json!(1), json!(2)]
    );

    // Days 9 and 12: reminders 3 and 4; day 14: resolved, the customer told.
    for _ in 0..2 {
        t.clock.advance(Duration::days(3));
        assert_eq!(housekeep(&t).await, did(0, 1, 0, 0, 0));
    }
    t.clock.advance(Duration::days(2) - Duration::minutes(1));
    assert_eq!(housekeep(&t).await, did(0, 0, 0, 0, 1));
    t.clock.advance(Duration::minutes(1));
    assert_eq!(housekeep(&t).await, did(0, 0, 0, 1, 0));
    let tk = ticket(&t, &id).await;
    assert_eq!(tk["state"], "resolved");
    let resolved = events(&t, &id, "resolved").await;
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["actor"], Value::Null);
    assert_eq!(resolved[0]["data"]["auto"], true);
    assert_eq!(resolved[0]["created_at"], "2026-03-16T10:00:00+01:00");
    let told = outbox(&t, &id).await.last().unwrap().clone();
    assert_eq!(told.kind, "resolution");
    assert_eq!(told.to, "maria.rossi@example.it");
    assert!(
        told.body.contains(
            "Non avendo ricevuto sue notizie da 14 giorni, consideriamo la richiesta risolta."
        ),
        "{}",
        told.body
    );
    assert_eq!(events(&t, &id, "reminder_sent").await.len(), 4);

    // Resolved now: seven days later it is closed like any other.
    t.clock.advance(Duration::days(7));
    assert_eq!(housekeep(&t).await, did(1, 0, 0, 0, 0));
    assert_eq!(ticket(&t, &id).await["state"], "closed");
});

both!(a_customer_answer_stops_the_reminders, |t| {
    let id = maria_ticket(&t).await;
    wait_on_customer(&t, &id).await;
    t.clock.advance(Duration::days(3));
    assert_eq!(housekeep(&t).await, did(0, 1, 0, 0, 0));
    t.clock.advance(Duration::days(1));
    customer_writes(&t, &id).await;
    assert_eq!(ticket(&t, &id).await["state"], "open");
    t.clock.advance(Duration::days(20));
    assert_eq!(housekeep(&t).await, did(0, 0, 0, 0, 0));
    assert_eq!(ticket(&t, &id).await["state"], "open");
    assert_eq!(events(&t, &id, "reminder_sent").await.len(), 1);

    // Waiting again (day 24): the count starts over from 1, three days on.
    wait_on_customer(&t, &id).await;
    t.clock.advance(Duration::days(2));
    assert_eq!(housekeep(&t).await, did(0, 0, 0, 0, 0));
    t.clock.advance(Duration::days(1));
    assert_eq!(housekeep(&t).await, did(0, 1, 0, 0, 0));
    let sent = events(&t, &id, "reminder_sent").await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1]["data"]["reminder"], 1);
    assert!(outbox(&t, &id)
        .await
        .last()
        .unwrap()
        .body
        .contains("(promemoria n. 1)"));
});

both!(
    without_an_address_reminders_are_recorded_and_the_ticket_still_resolved,
    |t| {
        let id = t.new_ticket("Chiamata", "Nessun recapito e-mail").await["id"].clone();
        wait_on_customer(&t, &id).await;
        t.clock.advance(Duration::days(3));
        assert_eq!(housekeep(&t).await, did(0, 0, 1, 0, 0));
        let skipped = events(&t, &id, "reminder_skipped").await;
        assert_eq!(skipped.len(), 1);
        assert_eq!(
            skipped[0]["data"],
            json!({"reminder": 1, "auto": true, "reason": "the customer has no e-mail address"})
        );
        assert!(outbox(&t, &id).await.is_empty());
        // It counts as handled: not again at once, the next one three days on.
        assert_eq!(housekeep(&t).await, did(0, 0, 0, 0, 1));
        t.clock.advance(Duration::days(11));
        let r = housekeep(&t).await;
        assert_eq!(r["resolved"], 1, "{r}");
        assert_eq!(ticket(&t, &id).await["state"], "resolved");
        assert!(outbox(&t, &id).await.is_empty());
    }
);

both!(two_runs_at_once_act_on_each_ticket_once, |t| {
    let mut ids = vec![];
    for _ in 0..4 {
        let id = maria_ticket(&t).await;
        wait_on_customer(&t, &id).await;
        ids.push(id);
    }
    let resolved = maria_ticket(&t).await;
    resolve(&t, &resolved).await;
    t.clock.advance(Duration::days(7));
    let (a, b) = tokio::join!(
        sportello::service::housekeeping::run(&t.app),
        sportello::service::housekeeping::run(&t.app)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.reminded + b.reminded, 4, "{a:?} {b:?}");
    assert_eq!(a.closed + b.closed, 1, "{a:?} {b:?}");
    assert_eq!(a.failed + b.failed, 0);
    for id in &ids {
        assert_eq!(events(&t, id, "reminder_sent").await.len(), 1);
        let kinds: Vec<String> = outbox(&t, id).await.into_iter().map(|m| m.kind).collect();
        assert_eq!(kinds.iter().filter(|k| *k == "pending_reminder").count(), 1);
    }
    assert_eq!(events(&t, &resolved, "closed").await.len(), 1);
});

both!(only_supervisors_run_it_by_hand, |t| {
    let r = t
        .post("/api/v1/housekeeping/run", &t.fx.operator.token, json!({}))
        .await;
    assert_eq!(r.status, 403);
    assert!(r.is_problem());
    assert_eq!(r.body["code"], "forbidden");
    let r = t
        .call(
            actix_web::http::Method::POST,
            "/api/v1/housekeeping/run",
            None,
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    assert!(r.is_problem());
    let r = t
        .post("/api/v1/housekeeping/run", &t.fx.admin.token, json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, did(0, 0, 0, 0, 0));
});

/// Every rule set to 0: nothing is ever due.
async fn nothing_when_switched_off(kind: Kind) {
    let t = TestApp::start_with(
        kind,
        &[
            ("SPORTELLO_AUTO_CLOSE_DAYS", "0"),
            ("SPORTELLO_PENDING_REMINDER_DAYS", "0"),
            ("SPORTELLO_PENDING_AUTO_RESOLVE_DAYS", "0"),
        ],
    )
    .await;
    let resolved = maria_ticket(&t).await;
    resolve(&t, &resolved).await;
    let waiting = maria_ticket(&t).await;
    wait_on_customer(&t, &waiting).await;
    let mail = t.count("outbox").await;
    t.clock.advance(Duration::days(400));
    assert_eq!(housekeep(&t).await, did(0, 0, 0, 0, 0));
    assert_eq!(ticket(&t, &resolved).await["state"], "resolved");
    assert_eq!(ticket(&t, &waiting).await["state"], "pending_customer");
    assert_eq!(t.count("outbox").await, mail);
}

/// Reminders off, auto-resolve on: resolved on day 14 with no reminder before.
async fn resolve_without_reminders(kind: Kind) {
    let t = TestApp::start_with(kind, &[("SPORTELLO_PENDING_REMINDER_DAYS", "0")]).await;
    let id = maria_ticket(&t).await;
    wait_on_customer(&t, &id).await;
    t.clock.advance(Duration::days(13));
    assert_eq!(housekeep(&t).await, did(0, 0, 0, 0, 0));
    t.clock.advance(Duration::days(1));
    assert_eq!(housekeep(&t).await, did(0, 0, 0, 1, 0));
    assert!(events(&t, &id, "reminder_sent").await.is_empty());
}

mod switched_off {
    use super::*;

    #[actix_web::test]
    async fn sqlite() {
        nothing_when_switched_off(Kind::Sqlite).await;
        resolve_without_reminders(Kind::Sqlite).await;
    }

    #[actix_web::test]
    async fn postgres() {
        if crate::harness::pg_base().is_some() {
            nothing_when_switched_off(Kind::Postgres).await;
            resolve_without_reminders(Kind::Postgres).await;
        }
    }
}
