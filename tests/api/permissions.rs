//! Who may do what: 401 without a valid token, 403 when the role does not allow it.

use actix_web::http::Method;
use serde_json::json;

use crate::both;

both!(missing_or_bad_token_is_401_problem, |t| {
    for (token, path) in [
        (None, "/api/v1/tickets"),
        (Some("spt_nope"), "/api/v1/tickets"),
        (None, "/api/v1/queues"),
        (Some(""), "/api/v1/contacts?q=x"),
    ] {
        let r = t.call(Method::GET, path, token, None).await;
        assert_eq!(r.status, 401, "{path}");
        assert!(r.is_problem());
        assert_eq!(r.body["code"], "unauthorized");
    }
});

both!(login_logout_and_api_tokens, |t| {
    let r = t
        .call(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"email": "operator@test.it", "password": "wrong-password"})),
        )
        .await;
    assert_eq!(r.status, 401);
    let r = t
        .call(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"email": "nobody@test.it", "password": "wrong-password"})),
        )
        .await;
    assert_eq!(r.status, 401);
    let r = t
        .call(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"email": "Operator@Test.it", "password": crate::harness::PASSWORD})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.body["token"].as_str().unwrap().to_string();
    assert_eq!(r.body["agent"]["role"], "operator");
    assert_eq!(
        t.get("/api/v1/auth/me", &token).await.body["email"],
        "operator@test.it"
    );
    // Sessions expire.
    t.clock.advance(chrono::Duration::hours(13));
    assert_eq!(t.get("/api/v1/auth/me", &token).await.status, 401);
    // Integration tokens do not; they can be revoked.
    let r = t
        .post(
            "/api/v1/auth/api-tokens",
            &t.fx.operator.token,
            json!({"name": "CTI"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let api = r.body["token"].as_str().unwrap().to_string();
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(t.get("/api/v1/tickets", &api).await.status, 200);
    let listed = t.get("/api/v1/auth/api-tokens", &t.fx.operator.token).await;
    assert!(
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x.get("token").is_none()),
        "tokens are shown once"
    );
    let r = t
        .call(
            Method::DELETE,
            &format!("/api/v1/auth/api-tokens/{id}"),
            Some(&t.fx.operator.token),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(t.get("/api/v1/tickets", &api).await.status, 401);
    // Logout ends the token used.
    let r = t
        .call(
            Method::DELETE,
            "/api/v1/auth/token",
            Some(&t.fx.operator2.token),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        t.get("/api/v1/tickets", &t.fx.operator2.token).await.status,
        401
    );
});

both!(configuration_is_admin_only, |t| {
    let f = &t.fx;
    for (who, token) in [
        ("operator", &f.operator.token),
        ("specialist", &f.specialist.token),
        ("care", &f.care_agent.token),
        ("supervisor", &f.supervisor.token),
    ] {
        let r = t
            .post(
                "/api/v1/queues",
                token,
                json!({"name": "Nuova", "level": "second_level"}),
            )
            .await;
        assert_eq!(r.status, 403, "{who} created a queue");
        assert!(r.is_problem());
        let r = t
            .post(
                "/api/v1/topics",
                token,
                json!({"name": "Nuovo", "queue_id": f.first_level}),
            )
            .await;
        assert_eq!(r.status, 403, "{who} created a topic");
        let r = t
            .patch(
                &format!("/api/v1/groups/{}", f.desktop),
                token,
                json!({"name": "Renamed"}),
            )
            .await;
        assert_eq!(r.status, 403, "{who} renamed a group");
        let r = t.post("/api/v1/agents", token, json!({"email": "x@test.it", "name": "X", "role": "admin", "password": "password123"})).await;
        assert_eq!(r.status, 403, "{who} created an agent");
    }
    let r = t
        .post(
            "/api/v1/groups",
            &f.admin.token,
            json!({"name": "VoIP", "level": "second_level"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = t.post("/api/v1/agents", &f.admin.token, json!({"email": "new@test.it", "name": "New", "role": "specialist", "password": "password123", "queue_ids": [f.desktop]})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = t.post("/api/v1/agents", &f.admin.token, json!({"email": "new2@test.it", "name": "New", "role": "operator", "password": "password123", "queue_ids": [f.desktop]})).await;
    assert_eq!(r.status, 422, "an operator is not a second-level member");
    let r = t.post("/api/v1/agents", &f.admin.token, json!({"email": "new@test.it", "name": "Again", "role": "operator", "password": "password123"})).await;
    assert_eq!(r.status, 409);
});

both!(staff_list_is_for_supervisors, |t| {
    assert_eq!(
        t.get("/api/v1/agents", &t.fx.operator.token).await.status,
        403
    );
    assert_eq!(
        t.get("/api/v1/agents", &t.fx.specialist.token).await.status,
        403
    );
    let r = t.get("/api/v1/agents", &t.fx.supervisor.token).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.as_array().unwrap().len(), 6);
    assert!(r.body.to_string().find("password").is_none());
});

both!(working_tickets_depends_on_queue, |t| {
    let f = &t.fx;
    let first = t.new_ticket("Primo livello", "x").await;
    let desk = t.new_ticket("Desktop", "x").await;
    t.post(
        &format!("/api/v1/tickets/{}/escalate", desk["id"]),
        &f.operator.token,
        json!({"queue_id": f.desktop, "reason": "tecnico"}),
    )
    .await;
    let care = t.new_ticket("Care", "x").await;
    t.post(
        &format!("/api/v1/tickets/{}/escalate", care["id"]),
        &f.operator.token,
        json!({"queue_id": f.care, "reason": "reclamo"}),
    )
    .await;
    let note = |id: &serde_json::Value| format!("/api/v1/tickets/{id}/articles");
    let cases = [
        ("operator", &f.operator.token, [true, false, false]),
        ("specialist", &f.specialist.token, [false, true, false]),
        ("customer care", &f.care_agent.token, [false, false, true]),
        ("supervisor", &f.supervisor.token, [true, true, true]),
        ("admin", &f.admin.token, [true, true, true]),
    ];
    for (who, token, allowed) in cases {
        for (ticket, ok) in [&first, &desk, &care].iter().zip(allowed) {
            let r = t
                .post(
                    &note(&ticket["id"]),
                    token,
                    json!({"kind": "note", "body": format!("nota di {who}")}),
                )
                .await;
            assert_eq!(
                r.status == 200,
                ok,
                "{who} on {}: {} {}",
                ticket["subject"],
                r.status,
                r.body
            );
            if !ok {
                assert_eq!(r.status, 403);
                assert!(r.is_problem());
            }
            // Everyone on staff can read any ticket (first level answers "where is my request?").
            assert_eq!(
                t.get(&format!("/api/v1/tickets/{}", ticket["id"]), token)
                    .await
                    .status,
                200
            );
        }
    }
    // Claim-next follows the same rule.
    let r = t
        .post(
            &format!("/api/v1/queues/{}/claim", f.desktop),
            &f.operator.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = t
        .post(
            &format!("/api/v1/queues/{}/claim", f.first_level),
            &f.specialist.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 403);
    // A specialist of another group cannot work Desktop tickets: mobile has no members here.
    let r = t
        .post(
            &format!("/api/v1/queues/{}/claim", f.mobile),
            &f.specialist.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        t.count("articles").await,
        3 + 9,
        "refused notes were not written"
    );
});

/// Revokes every token of an agent behind the server's back, as another
/// instance sharing the database would.
async fn revoke_elsewhere(t: &crate::harness::TestApp, agent_id: i64) {
    t.app
        .db
        .write(move |c| {
            use diesel::RunQueryDsl;
            diesel::sql_query(format!(
                "UPDATE api_tokens SET revoked_at = created_at WHERE agent_id = {agent_id}"
            ))
            .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
}

both!(a_remembered_token_follows_changes_made_here, |t| {
    let (admin, op) = (&t.fx.admin.token, &t.fx.operator);
    let queue = json!({"name": "Nuova", "level": "second_level"});
    let r = t.post("/api/v1/queues", &op.token, queue.clone()).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Deactivated: refused at once, though the token was just found valid.
    let path = format!("/api/v1/agents/{}", op.id);
    let r = t.patch(&path, admin, json!({"active": false})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t.get("/api/v1/auth/me", &op.token).await;
    assert_eq!(r.status, 401, "{}", r.body);
    // Active again with another role: the next request has the new role.
    let r = t
        .patch(&path, admin, json!({"active": true, "role": "admin"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t.post("/api/v1/queues", &op.token, queue).await;
    assert_eq!(r.status, 201, "{}", r.body);
    // A session still ends on time, though just found valid.
    let r = t
        .call(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"email": "operator2@test.it", "password": crate::harness::PASSWORD})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let session = r.body["token"].as_str().unwrap().to_string();
    assert_eq!(t.get("/api/v1/auth/me", &session).await.status, 200);
    t.clock.advance(chrono::Duration::hours(13));
    assert_eq!(t.get("/api/v1/auth/me", &session).await.status, 401);
});

both!(
    a_token_revoked_by_another_instance_is_refused_within_the_cache_lifetime,
    |t| {
        // The default lifetime is two seconds.
        let op = &t.fx.operator;
        let checked = std::time::Instant::now();
        assert_eq!(t.get("/api/v1/auth/me", &op.token).await.status, 200);
        revoke_elsewhere(&t, op.id).await;
        let r = t.get("/api/v1/auth/me", &op.token).await;
        if checked.elapsed() < std::time::Duration::from_millis(1500) {
            // Remembered: not read again.
            assert_eq!(r.status, 200, "{}", r.body);
        }
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let r = t.get("/api/v1/auth/me", &op.token).await;
        assert_eq!(r.status, 401, "{}", r.body);
    }
);

async fn without_cache(kind: crate::harness::Kind) {
    let t = crate::harness::TestApp::start_with(kind, &[("SPORTELLO_TOKEN_CACHE_SECS", "0")]).await;
    let op = &t.fx.operator;
    assert_eq!(t.get("/api/v1/auth/me", &op.token).await.status, 200);
    revoke_elsewhere(&t, op.id).await;
    assert_eq!(t.get("/api/v1/auth/me", &op.token).await.status, 401);
}

mod with_no_token_cache_a_revocation_elsewhere_is_seen_at_once {
    #[actix_web::test]
    async fn sqlite() {
        super::without_cache(crate::harness::Kind::Sqlite).await;
    }
    #[actix_web::test]
    async fn postgres() {
        if crate::harness::pg_base().is_some() {
            super::without_cache(crate::harness::Kind::Postgres).await;
        }
    }
}
