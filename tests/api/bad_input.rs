//! Bad input gets a clear problem+json and writes nothing.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::json;

use crate::both;
use crate::harness::TestApp;

fn raw(t: &TestApp, path: &str, content_type: &str, body: Vec<u8>) -> TestRequest {
    TestRequest::default()
        .method(Method::POST)
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {}", t.fx.operator.token)))
        .insert_header(("Content-Type", content_type.to_string()))
        .set_payload(body)
}

both!(malformed_unknown_oversize_and_wrong_type, |t| {
    let r = t
        .send(raw(
            &t,
            "/api/v1/tickets",
            "application/json",
            b"{\"subject\": \"x\", ".to_vec(),
        ))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.is_problem());
    assert_eq!(r.body["code"], "malformed-request");

    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "x", "body": "y", "colour": "blue"}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["field"], "colour");

    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "x", "body": 42}),
        )
        .await;
    assert_eq!(r.status, 422);

    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "x"}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["field"], "body");

    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "x", "body": "y", "priority": "whenever"}),
        )
        .await;
    assert_eq!(r.status, 422);

    let huge = serde_json::to_vec(&json!({"subject": "x", "body": "é".repeat(200_000)})).unwrap();
    let r = t
        .send(raw(&t, "/api/v1/tickets", "application/json", huge))
        .await;
    assert_eq!(r.status, 413);
    assert!(r.is_problem());

    let r = t
        .send(raw(&t, "/api/v1/tickets", "text/plain", b"hello".to_vec()))
        .await;
    assert_eq!(r.status, 415);
    assert!(r.is_problem());

    for (subject, body) in [("", "y"), ("   ", "y"), ("x", "")] {
        let r = t
            .post(
                "/api/v1/tickets",
                &t.fx.operator.token,
                json!({"subject": subject, "body": body}),
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
    }
    assert_eq!(t.count("tickets").await, 0);
    assert_eq!(t.count("ticket_events").await, 0);
});

both!(invalid_phone_or_email_writes_nothing, |t| {
    for (contact, field) in [
        (
            json!({"name": "Mario", "phone": "not a phone"}),
            "contact.phone",
        ),
        (json!({"name": "Mario", "phone": "12"}), "contact.phone"),
        (json!({"name": "Mario", "email": "mario@"}), "contact.email"),
        (
            json!({"name": "Mario", "email": "Mario <m@x.it>"}),
            "contact.email",
        ),
        (json!({"name": "Mario", "language": "Italian"}), "language"),
    ] {
        let r = t
            .post(
                "/api/v1/tickets",
                &t.fx.operator.token,
                json!({"subject": "x", "body": "y", "contact": contact}),
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(r.body["field"], field);
        assert!(r.is_problem());
    }
    let r = t
        .post(
            "/api/v1/contacts",
            &t.fx.operator.token,
            json!({"name": "Mario", "phones": ["+39 0"]}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(t.count("tickets").await, 0);
    assert_eq!(t.count("contacts").await, 0);
    assert_eq!(t.count("audit_log").await, 0);
});

both!(unknown_routes_and_ids_are_problems, |t| {
    let r = t.get("/api/v1/nothing-here", &t.fx.operator.token).await;
    assert_eq!(r.status, 404);
    assert!(r.is_problem());
    let r = t
        .get("/api/v1/tickets/not-a-ticket", &t.fx.operator.token)
        .await;
    assert_eq!(r.status, 404);
    assert!(r.is_problem());
    let r = t.get("/api/v1/contacts/abc", &t.fx.operator.token).await;
    assert_eq!(r.status, 404);
    assert!(r.is_problem());
});

both!(health_and_openapi, |t| {
    let r = t.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");
    let expected = match t.kind {
        crate::harness::Kind::Sqlite => "sqlite",
        crate::harness::Kind::Postgres => "postgresql",
    };
    assert_eq!(r.body["database"], expected);
    assert!(r.body["migrations_pending"].as_array().unwrap().is_empty());
    let r = t
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/api/v1/tickets",
        "/api/v1/tickets/{ticket}/escalate",
        "/api/v1/queues/{id}/claim",
        "/api/v1/contacts",
        "/api/v1/auth/token",
        "/healthz",
    ] {
        assert!(
            r.body["paths"].get(p).is_some(),
            "{p} missing from the OpenAPI document"
        );
    }
    assert!(r.body["components"]["schemas"].get("Problem").is_some());
    let r = t.call(Method::GET, "/api/v1/docs/", None, None).await;
    assert_eq!(r.status, 200);
    assert!(
        String::from_utf8_lossy(&r.raw).contains("swagger"),
        "the docs page is served from the binary"
    );
    // The page loads the document from its own folder.
    let r = t
        .call(
            Method::GET,
            "/api/v1/docs/swagger-initializer.js",
            None,
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(String::from_utf8_lossy(&r.raw).contains("/api/v1/docs/openapi.json"));
    let r = t
        .call(Method::GET, "/api/v1/docs/openapi.json", None, None)
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body["paths"].get("/api/v1/tickets").is_some());
    for asset in [
        "/api/v1/docs/swagger-ui-bundle.js",
        "/api/v1/docs/swagger-ui.css",
    ] {
        let r = t.call(Method::GET, asset, None, None).await;
        assert_eq!(r.status, 200, "{asset} is bundled (the page works offline)");
        assert!(r.raw.len() > 1000);
    }
});

both!(optional_bodies_are_still_checked, |t| {
    let tk = t.new_ticket("Richiesta", "Testo").await;
    let close = format!("/api/v1/tickets/{}/close", tk["id"]);
    let r = t
        .post(&close, &t.fx.operator.token, json!({"reasn": "typo"}))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["field"], "reasn");
    let r = t
        .send(raw(&t, &close, "application/json", b"{not json".to_vec()))
        .await;
    assert_eq!(r.status, 400);
    let after = t
        .get(
            &format!("/api/v1/tickets/{}", tk["id"]),
            &t.fx.operator.token,
        )
        .await;
    assert_eq!(after.body["state"], "new");
    let r = t.send(raw(&t, &close, "application/json", vec![])).await;
    assert_eq!(r.status, 200, "no body at all is fine: {}", r.body);
    assert_eq!(r.body["state"], "closed");
});
