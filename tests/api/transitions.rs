//! Every workflow operation from every state, through HTTP: the API allows
//! exactly what the state machine allows, and a refusal changes nothing.

use serde_json::{json, Value};
use sportello::domain::workflow::{decide, Action};
use sportello::domain::TicketState;

use crate::both;
use crate::harness::TestApp;

/// Brings a fresh ticket into `state` through the API (as the supervisor, who works every queue).
async fn ticket_in(t: &TestApp, state: TicketState) -> Value {
    let sup = &t.fx.supervisor.token;
    let tk = t.new_ticket(&format!("In {state}"), "x").await;
    let p = |op: &str| format!("/api/v1/tickets/{}/{op}", tk["id"]);
    let r = match state {
        TicketState::New => return tk,
        TicketState::Open | TicketState::PendingCustomer | TicketState::PendingThirdParty => {
            t.post(&p("state"), sup, json!({"state": state})).await
        }
        TicketState::Escalated => {
            t.post(
                &p("escalate"),
                sup,
                json!({"queue_id": t.fx.desktop, "reason": "r"}),
            )
            .await
        }
        TicketState::Resolved => t.post(&p("resolve"), sup, json!({"resolution": "r"})).await,
        TicketState::Closed => t.post(&p("close"), sup, json!({})).await,
        TicketState::Merged => {
            let other = t.new_ticket("survivor", "x").await;
            t.post(&p("merge"), sup, json!({"into": other["id"].to_string()}))
                .await;
            return t
                .get(&format!("/api/v1/tickets/{}", tk["id"]), sup)
                .await
                .body;
        }
    };
    assert_eq!(r.status, 200, "bringing a ticket to {state}: {}", r.body);
    assert_eq!(r.body["state"], state.as_str());
    r.body
}

both!(every_operation_from_every_state, |t| {
    let sup = t.fx.supervisor.token.clone();
    let survivor = t.new_ticket("merge target", "x").await;
    let operations: Vec<(&str, Action, Value)> = vec![
        (
            "assign",
            Action::Assign,
            json!({"agent_id": t.fx.supervisor.id}),
        ),
        (
            "articles",
            Action::PublicReply,
            json!({"kind": "reply", "body": "risposta"}),
        ),
        (
            "articles",
            Action::InternalNote,
            json!({"kind": "note", "body": "nota"}),
        ),
        (
            "articles",
            Action::CustomerMessage,
            json!({"kind": "customer", "body": "messaggio"}),
        ),
        (
            "state",
            Action::SetState(TicketState::Open),
            json!({"state": "open"}),
        ),
        (
            "state",
            Action::SetState(TicketState::PendingCustomer),
            json!({"state": "pending_customer"}),
        ),
        (
            "state",
            Action::SetState(TicketState::PendingThirdParty),
            json!({"state": "pending_third_party"}),
        ),
        (
            "state",
            Action::SetState(TicketState::Resolved),
            json!({"state": "resolved"}),
        ),
        (
            "escalate",
            Action::Escalate,
            json!({"queue_id": t.fx.mobile, "reason": "serve il secondo livello"}),
        ),
        ("resolve", Action::Resolve, json!({"resolution": "fatto"})),
        ("close", Action::Close, json!({})),
        ("reopen", Action::Reopen, json!({})),
        (
            "merge",
            Action::Merge,
            json!({"into": survivor["id"].to_string()}),
        ),
    ];
    for from in TicketState::ALL {
        for (op, action, body) in &operations {
            let tk = ticket_in(&t, *from).await;
            let events_before = tk["events"].as_array().map(|e| e.len()).unwrap_or(0);
            let r = t
                .post(
                    &format!("/api/v1/tickets/{}/{op}", tk["id"]),
                    &sup,
                    body.clone(),
                )
                .await;
            match decide(*from, *action) {
                Ok(to) => {
                    assert_eq!(
                        r.status, 200,
                        "{from} --{op} {body}--> should be allowed: {}",
                        r.body
                    );
                    if *action == Action::Merge {
                        assert_eq!(r.body["id"], survivor["id"]);
                        let gone = t
                            .get(&format!("/api/v1/tickets/{}", tk["id"]), &sup)
                            .await
                            .body;
                        assert_eq!(gone["state"], "merged");
                    } else {
                        assert_eq!(r.body["state"], to.as_str(), "{from} --{op} {body}-->");
                    }
                }
                Err(refusal) => {
                    assert_eq!(
                        r.status, 409,
                        "{from} --{op} {body}--> should be refused: {}",
                        r.body
                    );
                    assert_eq!(r.body["code"], "invalid-transition");
                    assert_eq!(r.body["current_state"], from.as_str());
                    let allowed: Vec<&str> =
                        refusal.allowed_states.iter().map(|s| s.as_str()).collect();
                    assert_eq!(r.body["allowed_states"], json!(allowed));
                    let after = t
                        .get(&format!("/api/v1/tickets/{}", tk["id"]), &sup)
                        .await
                        .body;
                    assert_eq!(after["state"], from.as_str(), "a refusal changes nothing");
                    assert_eq!(
                        after["events"].as_array().unwrap().len(),
                        events_before,
                        "a refusal records nothing"
                    );
                }
            }
        }
    }
});
