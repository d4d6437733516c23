//! Calendars per queue, escalation rules and the service-level check under
//! simulated time. The clock starts on Monday 2 March 2026 at 10:00 in Rome
//! (09:00 UTC); the desk is open Monday to Friday 09:00–18:00.

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use crate::both;
use crate::harness::TestApp;

/// A UTC instant from a Rome wall-clock time (March 2026: UTC+1).
fn rome(day: u32, hour: u32, minute: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, 0, minute, 0).unwrap()
        + chrono::Duration::hours(hour as i64 - 1)
}

async fn admin_post(t: &TestApp, path: &str, body: Value) -> Value {
    let r = t.post(path, &t.fx.admin.token, body).await;
    assert_eq!(r.status, 201, "{path}: {}", r.body);
    r.body
}

async fn check(t: &TestApp) -> Value {
    let r = t
        .post("/api/v1/sla/check", &t.fx.supervisor.token, json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn ticket(t: &TestApp, id: i64) -> Value {
    let r = t
        .get(&format!("/api/v1/tickets/{id}"), &t.fx.operator.token)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn emails(t: &TestApp, id: i64) -> Vec<Value> {
    let r = t
        .get(
            &format!("/api/v1/tickets/{id}/emails"),
            &t.fx.operator.token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body.as_array().unwrap().clone()
}

fn events<'a>(ticket: &'a Value, kind: &str) -> Vec<&'a Value> {
    ticket["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

async fn new_ticket_in(t: &TestApp, queue: i64, subject: &str) -> i64 {
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.supervisor.token,
            json!({"subject": subject, "body": "Il contatore non funziona.", "queue_id": queue}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

fn problem_codes(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

both!(rules_are_configured_by_admins_and_checked, |t| {
    let r = t
        .post(
            "/api/v1/escalation-rules",
            &t.fx.supervisor.token,
            json!({"queue_id": t.fx.first_level, "name": "x", "on": "breach", "notify_supervisor": true}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.is_problem());
    let r = t
        .post(
            "/api/v1/escalation-rules",
            &t.fx.admin.token,
            json!({"queue_id": 999, "name": " ", "on": "breach", "escalate_to_queue_id": t.fx.back_office}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let codes = problem_codes(&r.body);
    for expected in [
        ("queue_id", "not_found"),
        ("name", "required"),
        ("escalate_to_queue_id", "not_an_escalation_queue"),
    ] {
        assert!(
            codes.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} in {codes:?}"
        );
    }
    // A rule that does nothing, or a trigger that does not exist.
    let r = t
        .post(
            "/api/v1/escalation-rules",
            &t.fx.admin.token,
            json!({"queue_id": t.fx.first_level, "name": "Nothing", "on": "breach"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        problem_codes(&r.body),
        vec![("on".into(), "no_action".into())]
    );
    let r = t
        .post(
            "/api/v1/escalation-rules",
            &t.fx.admin.token,
            json!({"queue_id": t.fx.first_level, "name": "Soon", "on": "sometime", "notify_supervisor": true}),
        )
        .await;
    assert!(r.status.is_client_error() && r.is_problem(), "{}", r.body);
    assert_eq!(t.count("escalation_rules").await, 0);

    let rule = admin_post(
        &t,
        "/api/v1/escalation-rules",
        json!({"queue_id": t.fx.desktop, "name": "Desktop late", "on": "breach",
               "clock_kind": "resolution", "raise_priority": true}),
    )
    .await;
    assert_eq!(rule["on"], "breach");
    assert_eq!(rule["clock_kind"], "resolution");
    assert_eq!(rule["active"], true);
    let r = t
        .patch(
            &format!("/api/v1/escalation-rules/{}", rule["id"]),
            &t.fx.admin.token,
            json!({"escalate_to_queue_id": t.fx.desktop}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        problem_codes(&r.body),
        vec![("escalate_to_queue_id".into(), "own_queue".into())]
    );
    let r = t
        .patch(
            &format!("/api/v1/escalation-rules/{}", rule["id"]),
            &t.fx.admin.token,
            json!({"clock_kind": null, "active": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["clock_kind"], Value::Null);
    let r = t
        .get(
            &format!("/api/v1/escalation-rules?queue_id={}", t.fx.desktop),
            &t.fx.operator.token,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    let r = t
        .get(
            &format!("/api/v1/escalation-rules?queue_id={}", t.fx.care),
            &t.fx.operator.token,
        )
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 0);
    // Only supervisors run the check by hand.
    let r = t
        .post("/api/v1/sla/check", &t.fx.operator.token, json!({}))
        .await;
    assert_eq!(r.status, 403);
});

both!(a_ticket_warns_then_breaches_and_escalates_once, |t| {
    // The first-level queue's supervisor, a policy and two rules.
    let r = t
        .patch(
            &format!("/api/v1/queues/{}", t.fx.first_level),
            &t.fx.admin.token,
            json!({"supervisor_id": t.fx.operator.id}),
        )
        .await;
    assert_eq!(r.status, 422, "an operator cannot supervise: {}", r.body);
    let r = t
        .patch(
            &format!("/api/v1/queues/{}", t.fx.first_level),
            &t.fx.admin.token,
            json!({"supervisor_id": t.fx.supervisor.id}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    admin_post(
        &t,
        "/api/v1/sla-policies",
        json!({"name": "Standard", "first_response_minutes": 60, "resolution_minutes": 480,
               "warning_percent": 50}),
    )
    .await;
    admin_post(
        &t,
        "/api/v1/escalation-rules",
        json!({"queue_id": t.fx.first_level, "name": "Avviso", "on": "warning",
               "clock_kind": "first_response", "notify_assignee": true, "notify_supervisor": true}),
    )
    .await;
    admin_post(
        &t,
        "/api/v1/escalation-rules",
        json!({"queue_id": t.fx.first_level, "name": "Sforamento", "on": "breach",
               "clock_kind": "first_response", "raise_priority": true,
               "escalate_to_queue_id": t.fx.desktop, "notify_supervisor": true}),
    )
    .await;

    let id = new_ticket_in(&t, t.fx.first_level, "Bolletta doppia").await;
    let r = t
        .post(
            &format!("/api/v1/tickets/{id}/assign"),
            &t.fx.operator.token,
            json!({"agent_id": t.fx.operator.id}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // 10:20: nothing is due yet.
    t.clock.set(rome(2, 10, 20));
    assert_eq!(check(&t).await["warnings"], 0);

    // 10:31: past half of the first-response target → the warning rule.
    t.clock.set(rome(2, 10, 31));
    let r = check(&t).await;
    assert_eq!(
        (r["warnings"].as_i64(), r["breaches"].as_i64()),
        (Some(1), Some(0)),
        "{r}"
    );
    assert_eq!(r["notices"], 2);
    let mails = emails(&t, id).await;
    let warnings: Vec<&Value> = mails
        .iter()
        .filter(|m| m["kind"] == "sla_warning")
        .collect();
    let mut to: Vec<&str> = warnings.iter().map(|m| m["to"].as_str().unwrap()).collect();
    to.sort();
    assert_eq!(to, vec!["operator@test.it", "supervisor@test.it"]);
    assert!(
        warnings[0]["subject"]
            .as_str()
            .unwrap()
            .contains("Livello di servizio a rischio"),
        "{}",
        warnings[0]["subject"]
    );
    // The desk is open: the notices go at once.
    assert_eq!(
        warnings[0]["next_attempt_at"].as_str().unwrap(),
        "2026-03-02T10:31:00+01:00"
    );
    let detail = ticket(&t, id).await;
    let warned = events(&detail, "sla_warning");
    assert_eq!(warned.len(), 1);
    assert_eq!(warned[0]["actor"], Value::Null);
    assert_eq!(warned[0]["data"]["rule"], "Avviso");
    assert_eq!(warned[0]["data"]["clock"], "first_response");
    assert!(
        warned[0]["data"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("first response target at risk"),
        "{}",
        warned[0]["data"]
    );

    // A second check at the same moment, and a later one, fire nothing again.
    assert_eq!(check(&t).await["warnings"], 0);
    t.clock.set(rome(2, 10, 50));
    assert_eq!(check(&t).await["warnings"], 0);

    // 11:01: breached → priority raised, escalated to Desktop, supervisor told.
    t.clock.set(rome(2, 11, 1));
    let r = check(&t).await;
    assert_eq!(
        (r["warnings"].as_i64(), r["breaches"].as_i64()),
        (Some(0), Some(1)),
        "{r}"
    );
    assert_eq!(r["escalated"], 1);
    assert_eq!(r["priorities_raised"], 1);
    assert_eq!(r["notices"], 1);
    let detail = ticket(&t, id).await;
    assert_eq!(detail["queue"]["id"], t.fx.desktop, "{}", detail["queue"]);
    assert_eq!(detail["state"], "escalated");
    assert_eq!(detail["priority"], "high");
    assert_eq!(detail["assignee"], Value::Null);
    let breached = events(&detail, "sla_breached");
    assert_eq!(breached.len(), 1);
    let actions = breached[0]["data"]["actions"].as_array().unwrap();
    assert_eq!(actions[0]["kind"], "priority");
    assert_eq!(actions[0]["to"], "high");
    assert_eq!(actions[1]["kind"], "escalated");
    let escalated = events(&detail, "escalated");
    assert_eq!(escalated.len(), 1);
    assert_eq!(escalated[0]["data"]["auto"], true);
    assert!(escalated[0]["data"]["reason"]
        .as_str()
        .unwrap()
        .contains("first response target breached"));
    let breach_mail = emails(&t, id)
        .await
        .into_iter()
        .find(|m| m["kind"] == "sla_breach")
        .expect("the supervisor's notice");
    assert_eq!(breach_mail["to"], "supervisor@test.it");

    // Never twice for the same breach, however often the check runs.
    for minutes in [1, 30, 240] {
        t.clock.advance(chrono::Duration::minutes(minutes));
        let r = check(&t).await;
        assert_eq!(
            (r["warnings"].as_i64(), r["breaches"].as_i64()),
            (Some(0), Some(0)),
            "{r}"
        );
    }
    let detail = ticket(&t, id).await;
    assert_eq!(events(&detail, "sla_breached").len(), 1);
    assert_eq!(events(&detail, "escalated").len(), 1);
    assert_eq!(t.count("escalation_firings").await, 2);

    // The named supervisor leaves: renaming the queue still works.
    let r = t
        .patch(
            &format!("/api/v1/agents/{}", t.fx.supervisor.id),
            &t.fx.admin.token,
            json!({"active": false}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let r = t
        .patch(
            &format!("/api/v1/queues/{}", t.fx.first_level),
            &t.fx.admin.token,
            json!({"name": "Primo livello"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
});

both!(notices_wait_for_the_opening_unless_the_queue_is_24_7, |t| {
    let bad = t
        .post(
            "/api/v1/calendars",
            &t.fx.admin.token,
            json!({"name": " ", "time_zone": "Europe/Atlantis", "hours": "mon-fri 18:00-09:00",
                   "holidays": ["13-01"], "closed_days": ["2026-02-30"]}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let fields: Vec<String> = problem_codes(&bad.body)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        fields,
        ["name", "time_zone", "hours", "holidays", "closed_days"]
    );
    let r = t
        .post(
            "/api/v1/calendars",
            &t.fx.operator.token,
            json!({"name": "Sempre"}),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(t.count("calendars").await, 0);

    let always = admin_post(
        &t,
        "/api/v1/calendars",
        json!({"name": "Sempre aperto", "hours": "24/7"}),
    )
    .await;
    assert_eq!(always["always_open"], true);
    assert_eq!(always["italian_holidays"], false);
    let siena = admin_post(
        &t,
        "/api/v1/calendars",
        json!({"name": "Siena", "hours": "mon-fri 09:00-13:00 14:00-18:00",
               "holidays": ["12-01"], "closed_days": ["2026-12-24"]}),
    )
    .await;
    assert_eq!(siena["holidays"], json!(["12-01"]));
    assert_eq!(siena["time_zone"], "Europe/Rome");
    let r = t
        .post(
            "/api/v1/calendars",
            &t.fx.admin.token,
            json!({"name": "Siena"}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);

    // Customer care runs around the clock; first level keeps the desk's hours.
    let r = t
        .patch(
            &format!("/api/v1/queues/{}", t.fx.care),
            &t.fx.admin.token,
            json!({"calendar_id": always["id"], "supervisor_id": t.fx.supervisor.id}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let r = t
        .patch(
            &format!("/api/v1/queues/{}", t.fx.first_level),
            &t.fx.admin.token,
            json!({"calendar_id": 999}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let r = t
        .patch(
            &format!("/api/v1/queues/{}", t.fx.first_level),
            &t.fx.admin.token,
            json!({"supervisor_id": t.fx.supervisor.id}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let queues = t.get("/api/v1/queues", &t.fx.operator.token).await;
    let care = queues
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == t.fx.care)
        .unwrap();
    assert_eq!(care["calendar_id"], always["id"]);
    assert_eq!(care["supervisor_id"], t.fx.supervisor.id);
    let r = t
        .get(
            &format!("/api/v1/calendars/{}", always["id"]),
            &t.fx.operator.token,
        )
        .await;
    assert_eq!(r.body["queue_ids"], json!([t.fx.care]));

    admin_post(
        &t,
        "/api/v1/sla-policies",
        json!({"name": "Standard", "first_response_minutes": 60, "warning_percent": 50}),
    )
    .await;
    for queue in [t.fx.first_level, t.fx.care] {
        admin_post(
            &t,
            "/api/v1/escalation-rules",
            json!({"queue_id": queue, "name": format!("Avviso {queue}"), "on": "warning",
                   "notify_supervisor": true}),
        )
        .await;
    }

    // Friday 6 March, 17:30: one ticket in each queue.
    t.clock.set(rome(6, 17, 30));
    let office = new_ticket_in(&t, t.fx.first_level, "Ufficio").await;
    let night = new_ticket_in(&t, t.fx.care, "Notte").await;
    let due = |d: &Value| d["sla_clocks"][0]["due_at"].as_str().unwrap().to_string();
    // Business time: half an hour on Friday, half an hour on Monday.
    assert_eq!(due(&ticket(&t, office).await), "2026-03-09T09:30:00+01:00");
    // Around the clock: an hour later.
    assert_eq!(due(&ticket(&t, night).await), "2026-03-06T18:30:00+01:00");

    // Both clocks reached half their target at 18:00. The check at 18:10
    // fires both warnings: the office notice waits for Monday's opening, the
    // 24/7 queue's goes at once.
    t.clock.set(rome(6, 18, 10));
    let r = check(&t).await;
    assert_eq!(r["warnings"], 2, "{r}");
    let held = emails(&t, office).await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["kind"], "sla_warning");
    assert_eq!(held[0]["state"], "pending");
    // Held to Monday's opening.
    assert_eq!(
        held[0]["next_attempt_at"].as_str().unwrap(),
        "2026-03-09T09:00:00+01:00"
    );
    let at_once = emails(&t, night).await;
    assert_eq!(
        at_once[0]["next_attempt_at"].as_str().unwrap(),
        "2026-03-06T18:10:00+01:00"
    );
    let detail = ticket(&t, office).await;
    assert_eq!(
        events(&detail, "sla_warning")[0]["data"]["notices"][0]["held_until"],
        "2026-03-09T09:00:00+01:00"
    );

    // A clock keeps the calendar it started on: moved to first level (office
    // hours), the night ticket's answer was still due at 18:30, and it is late.
    t.clock.set(rome(6, 22, 0));
    let r = t
        .patch(
            &format!("/api/v1/tickets/{night}"),
            &t.fx.supervisor.token,
            json!({"queue_id": t.fx.first_level}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t
        .post(
            &format!("/api/v1/tickets/{night}/state"),
            &t.fx.supervisor.token,
            json!({"state": "pending_customer"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t
        .post(
            &format!("/api/v1/tickets/{night}/state"),
            &t.fx.supervisor.token,
            json!({"state": "open"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let moved = ticket(&t, night).await;
    assert_eq!(due(&moved), "2026-03-06T18:30:00+01:00");
    assert_eq!(
        moved["sla_clocks"][0]["breached"], true,
        "{}",
        moved["sla_clocks"]
    );
    assert_eq!(moved["sla"]["state"], "breached", "{}", moved["sla"]);
    // First level warns at risk, but this clock is past due: no warning now.
    let r = check(&t).await;
    assert_eq!(
        (r["warnings"].as_i64(), r["failed"].as_i64()),
        (Some(0), Some(0)),
        "{r}"
    );

    // The calendar changes to office hours: the clocks on it are recomputed,
    // in the detail and in the stored times the lists and rules use alike.
    let r = t
        .patch(
            &format!("/api/v1/calendars/{}", always["id"]),
            &t.fx.admin.token,
            json!({"hours": "mon-fri 09:00-18:00"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["always_open"], false);
    let moved = ticket(&t, night).await;
    assert_eq!(due(&moved), "2026-03-09T09:30:00+01:00");
    assert_eq!(
        moved["sla"]["due_at"], "2026-03-09T09:30:00+01:00",
        "{}",
        moved["sla"]
    );
    let history = moved["sla_clocks"][0]["history"].as_array().unwrap();
    assert_eq!(history.last().unwrap()["reason"], "calendar_changed");
    // Back to 24/7 by PATCH: holidays off too, unless said otherwise.
    let r = t
        .patch(
            &format!("/api/v1/calendars/{}", always["id"]),
            &t.fx.admin.token,
            json!({"hours": "24/7"}),
        )
        .await;
    assert_eq!(r.body["always_open"], true, "{}", r.body);
});
