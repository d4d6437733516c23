//! The supervisor view under simulated time: backlog by state and age,
//! tickets at risk and breached (the same as the list's `sla=` filter), the
//! agents' presence and workload, and who may see it. The clock starts on
//! Monday 2 March 2026 10:00 in Rome.

use actix_web::http::Method;
use chrono::Duration;
use serde_json::{json, Value};

use crate::both;
use crate::harness::TestApp;

async fn view(t: &TestApp, queue: i64) -> Value {
    let r = t
        .get(
            &format!("/api/v1/supervisor/queues/{queue}"),
            &t.fx.supervisor.token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn ticket(t: &TestApp, subject: &str) -> i64 {
    t.new_ticket(subject, "x").await["id"].as_i64().unwrap()
}

async fn act(t: &TestApp, id: i64, action: &str, body: Value) {
    let r = t
        .post(
            &format!("/api/v1/tickets/{id}/{action}"),
            &t.fx.operator.token,
            body,
        )
        .await;
    assert_eq!(r.status, 200, "{action}: {}", r.body);
}

/// The ids the ticket list's `sla=` filter gives for the active tickets of a queue.
async fn listed(t: &TestApp, queue: i64, filter: &str) -> Vec<i64> {
    let r = t
        .get(
            &format!("/api/v1/tickets?sla={filter}&state=active&queue={queue}"),
            &t.fx.operator.token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut ids: Vec<i64> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    ids
}

fn ids(list: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    ids
}

fn agent(view: &Value, id: i64) -> &Value {
    view["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("agent {id} not in {}", view["agents"]))
}

both!(backlog_by_state_and_age, |t| {
    let oldest = ticket(&t, "Otto giorni").await;
    t.clock.advance(Duration::days(4));
    ticket(&t, "Quattro giorni").await;
    t.clock.advance(Duration::days(2));
    let escalated = ticket(&t, "Due giorni").await;
    t.clock.advance(Duration::hours(43));
    let five_hours = ticket(&t, "Cinque ore").await;
    t.clock.advance(Duration::hours(3));
    let two_hours = ticket(&t, "Due ore").await;
    let closed = ticket(&t, "Chiuso").await;
    t.clock.advance(Duration::hours(1));
    ticket(&t, "Un'ora esatta").await;
    t.clock.advance(Duration::minutes(30));
    let resolved = ticket(&t, "Risolto").await;
    t.clock.advance(Duration::minutes(20));
    ticket(&t, "Dieci minuti").await;
    t.clock.advance(Duration::minutes(10));

    act(
        &t,
        escalated,
        "escalate",
        json!({"queue_id": t.fx.desktop, "reason": "Serve un tecnico"}),
    )
    .await;
    act(&t, resolved, "resolve", json!({"resolution": "Fatto"})).await;
    act(&t, closed, "close", json!({})).await;
    act(
        &t,
        two_hours,
        "assign",
        json!({"agent_id": t.fx.operator.id}),
    )
    .await;

    let v = view(&t, t.fx.first_level).await;
    assert_eq!(v["id"], t.fx.first_level);
    assert_eq!(v["level"], "first_level");
    assert_eq!(v["active_tickets"], 6, "{v}");
    assert_eq!(v["unassigned"], 5);
    assert_eq!(
        v["by_state"],
        json!({"new": 5, "open": 1, "pending_customer": 0, "pending_third_party": 0, "escalated": 0})
    );
    // One hour exactly is in 1h_4h; resolved and closed tickets are in no bucket.
    assert_eq!(
        v["backlog_by_age"],
        json!({"under_1h": 1, "1h_4h": 2, "4h_24h": 1, "1d_3d": 0, "3d_7d": 1, "over_7d": 1})
    );
    assert_eq!(v["oldest"]["id"], oldest);
    assert_eq!(v["oldest"]["subject"], "Otto giorni");
    assert_eq!(v["oldest"]["age_minutes"], 8 * 24 * 60);
    assert_eq!(v["oldest"]["created_at"], "2026-03-02T10:00:00+01:00");
    assert_eq!(v["sla"]["at_risk"], 0);
    assert_eq!(v["sla"]["most_breached"], json!([]));

    let desk = view(&t, t.fx.desktop).await;
    assert_eq!(desk["active_tickets"], 1);
    assert_eq!(desk["by_state"]["escalated"], 1);
    assert_eq!(desk["backlog_by_age"]["1d_3d"], 1);
    assert_eq!(desk["oldest"]["id"], escalated);

    // 19 hours on: the five-hour ticket is a day old, the three youngest 19–21 hours.
    t.clock.advance(Duration::hours(19));
    let v = view(&t, t.fx.first_level).await;
    assert_eq!(
        v["backlog_by_age"],
        json!({"under_1h": 0, "1h_4h": 0, "4h_24h": 3, "1d_3d": 1, "3d_7d": 1, "over_7d": 1})
    );
    let _ = five_hours;

    // The list of all active queues has the same figures, and empty queues too.
    let r = t.get("/api/v1/supervisor/queues", &t.fx.admin.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let all = r.body.as_array().unwrap();
    let first = all.iter().find(|q| q["id"] == t.fx.first_level).unwrap();
    assert_eq!(first["backlog_by_age"], v["backlog_by_age"]);
    assert_eq!(first["oldest"], v["oldest"]);
    let mobile = all.iter().find(|q| q["id"] == t.fx.mobile).unwrap();
    assert_eq!(mobile["active_tickets"], 0);
    assert_eq!(mobile["oldest"], Value::Null);
    assert_eq!(mobile["backlog_by_age"]["under_1h"], 0);
});

both!(at_risk_and_breached_match_the_list_filter, |t| {
    let r = t
        .post(
            "/api/v1/sla-policies",
            &t.fx.admin.token,
            json!({"name": "Standard", "first_response_minutes": 60, "resolution_minutes": 480}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // 10:00: first answer due 11:00 (warning 10:48).
    let late = ticket(&t, "Senza risposta").await;
    let resolved_late = ticket(&t, "Risolto tardi").await;
    t.clock.advance(Duration::minutes(30));
    // 10:30: due 11:30 (warning 11:18).
    let close_call = ticket(&t, "Quasi in ritardo").await;
    act(
        &t,
        close_call,
        "assign",
        json!({"agent_id": t.fx.operator.id}),
    )
    .await;
    t.clock.advance(Duration::minutes(15));
    // 10:45: due 11:45 (warning 11:33).
    let calm = ticket(&t, "Tranquillo").await;

    t.clock.advance(Duration::minutes(35));
    // 11:20.
    act(&t, resolved_late, "resolve", json!({"resolution": "Fatto"})).await;
    let v = view(&t, t.fx.first_level).await;
    let sla = &v["sla"];
    assert_eq!(sla["at_risk"], 1, "{sla}");
    assert_eq!(sla["breached"], 1, "{sla}");
    assert_eq!(
        ids(&sla["most_at_risk"]),
        listed(&t, t.fx.first_level, "at_risk").await
    );
    assert_eq!(
        ids(&sla["most_breached"]),
        listed(&t, t.fx.first_level, "breached").await
    );
    assert_eq!(
        ids(&sla["most_breached"]),
        [late],
        "resolved tickets are not in the view"
    );
    let risky = &sla["most_at_risk"][0];
    assert_eq!(risky["id"], close_call);
    assert_eq!(risky["subject"], "Quasi in ritardo");
    assert_eq!(risky["clock"], "first_response");
    assert_eq!(risky["clock_state"], "running");
    assert_eq!(risky["due_at"], "2026-03-02T11:30:00+01:00");
    assert_eq!(risky["business_minutes_left"], 10);
    assert_eq!(risky["assignee"]["id"], t.fx.operator.id);
    let overdue = &sla["most_breached"][0];
    assert_eq!(overdue["business_minutes_left"], -20);
    assert_eq!(overdue["assignee"], Value::Null);
    assert_eq!(overdue["number"].as_str().unwrap().len(), 11);

    // A late answer stops the clock late: still breached, by as much as it was.
    let r = t
        .post(
            &format!("/api/v1/tickets/{late}/articles"),
            &t.fx.operator.token,
            json!({"kind": "reply", "body": "Eccoci"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    t.clock.advance(Duration::minutes(15));
    // 11:35: the assigned ticket is overdue now too.
    let v = view(&t, t.fx.first_level).await;
    let sla = &v["sla"];
    assert_eq!(sla["at_risk"], 1, "{sla}");
    assert_eq!(sla["breached"], 2, "{sla}");
    assert_eq!(
        ids(&sla["most_breached"]),
        listed(&t, t.fx.first_level, "breached").await
    );
    assert_eq!(
        ids(&sla["most_at_risk"]),
        listed(&t, t.fx.first_level, "at_risk").await
    );
    assert_eq!(ids(&sla["most_at_risk"]), [calm]);
    assert_eq!(sla["most_at_risk"][0]["business_minutes_left"], 10);
    let first = &sla["most_breached"][0];
    assert_eq!(first["id"], late, "overdue longest first");
    assert_eq!(first["clock_state"], "breached");
    assert_eq!(first["business_minutes_left"], -20);
    let second = &sla["most_breached"][1];
    assert_eq!(second["id"], close_call);
    assert_eq!(second["clock_state"], "running");
    assert_eq!(second["business_minutes_left"], -5);

    // The list of all queues says the same.
    let all = t
        .get("/api/v1/supervisor/queues", &t.fx.supervisor.token)
        .await
        .body;
    let first_level = all
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == t.fx.first_level)
        .unwrap();
    assert_eq!(first_level["sla"], v["sla"]);
});

both!(agents_with_presence_and_their_tickets, |t| {
    let a = ticket(&t, "Uno").await;
    let b = ticket(&t, "Due").await;
    let c = ticket(&t, "Tre").await;
    let done = ticket(&t, "Fatto").await;
    act(&t, a, "assign", json!({"agent_id": t.fx.operator.id})).await;
    act(&t, b, "assign", json!({"agent_id": t.fx.operator.id})).await;
    act(&t, done, "assign", json!({"agent_id": t.fx.operator.id})).await;
    act(&t, done, "resolve", json!({"resolution": "Fatto"})).await;
    act(&t, c, "assign", json!({"agent_id": t.fx.supervisor.id})).await;

    let r = t
        .call(
            Method::PUT,
            "/api/v1/presence",
            Some(&t.fx.operator.token),
            Some(json!({"state": "available"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // operator2 answers a call and hangs up at 10:05: wrap-up for 60 s.
    t.clock.advance(Duration::minutes(5));
    for (id, kind) in [("e1", "offered"), ("e2", "answered"), ("e3", "ended")] {
        let r = t
            .post(
                "/api/v1/cti/events",
                &t.fx.admin.token,
                json!({"event_id": id, "type": kind, "call_id": "C-1", "caller": "0612345678",
                       "agent_id": t.fx.operator2.id}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let v = view(&t, t.fx.first_level).await;
    let op2 = agent(&v, t.fx.operator2.id);
    assert_eq!(op2["presence"], "wrap_up");
    assert_eq!(op2["member"], true);
    assert_eq!(op2["assigned_tickets"], 0);

    t.clock.advance(Duration::minutes(10));
    let v = view(&t, t.fx.first_level).await;
    let op = agent(&v, t.fx.operator.id);
    assert_eq!(op["presence"], "available");
    assert_eq!(op["since"], "2026-03-02T10:00:00+01:00");
    assert_eq!(op["seconds_in_state"], 15 * 60);
    assert_eq!(
        op["assigned_tickets"], 2,
        "the resolved ticket is not counted"
    );
    // A wrap-up that has run out shows as available since it ended.
    let op2 = agent(&v, t.fx.operator2.id);
    assert_eq!(op2["presence"], "available");
    assert_eq!(op2["since"], "2026-03-02T10:06:00+01:00");
    // Not a member, but working a ticket of the queue: listed after the members.
    let sup = agent(&v, t.fx.supervisor.id);
    assert_eq!(sup["member"], false);
    assert_eq!(sup["assigned_tickets"], 1);
    assert_eq!(sup["presence"], "offline");
    assert_eq!(sup["since"], Value::Null);
    assert_eq!(
        v["agents"].as_array().unwrap().last().unwrap()["id"],
        t.fx.supervisor.id
    );
    assert_eq!(v["agents"].as_array().unwrap().len(), 3);
    assert_eq!(v["unassigned"], 0);

    // Other queues show their own members only.
    let desk = view(&t, t.fx.desktop).await;
    assert_eq!(ids(&desk["agents"]), [t.fx.specialist.id]);
    assert_eq!(desk["agents"][0]["presence"], "offline");
});

both!(supervisors_and_admins_only, |t| {
    for token in [
        &t.fx.operator.token,
        &t.fx.specialist.token,
        &t.fx.care_agent.token,
    ] {
        for path in [
            "/api/v1/supervisor/queues".to_string(),
            format!("/api/v1/supervisor/queues/{}", t.fx.first_level),
        ] {
            let r = t.get(&path, token).await;
            assert_eq!(r.status, 403, "{}", r.body);
            assert!(r.is_problem());
            assert_eq!(r.body["code"], "forbidden");
        }
    }
    let r = t
        .call(Method::GET, "/api/v1/supervisor/queues", None, None)
        .await;
    assert_eq!(r.status, 401);
    let r = t
        .get("/api/v1/supervisor/queues/9999", &t.fx.supervisor.token)
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.is_problem());
    assert_eq!(r.body["code"], "not-found");
    let r = t
        .get("/api/v1/supervisor/queues/abc", &t.fx.supervisor.token)
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = t
        .get(
            &format!("/api/v1/supervisor/queues/{}", t.fx.care),
            &t.fx.admin.token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["level"], "customer_care");
    let all = t
        .get("/api/v1/supervisor/queues", &t.fx.supervisor.token)
        .await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body.as_array().unwrap().len(), 5, "{}", all.body);
});
