//! Topics, subjects and queues: listing and admin configuration.

use serde_json::json;

use crate::both;

both!(catalogue_crud, |t| {
    let admin = &t.fx.admin.token;
    let r = t.post("/api/v1/topics", admin, json!({"name": "Punti accumulati", "queue_id": t.fx.first_level, "info_script": "Comunicare il saldo"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let topic = r.body["id"].as_i64().unwrap();
    let r = t
        .post(
            "/api/v1/topics",
            admin,
            json!({"name": "Punti accumulati", "queue_id": t.fx.first_level}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["code"], "name-taken");
    let r = t
        .post("/api/v1/topics", admin, json!({"name": "Senza coda"}))
        .await;
    assert_eq!(r.status, 422);
    let r = t
        .post(
            &format!("/api/v1/topics/{topic}/subjects"),
            admin,
            json!({"name": "Saldo", "info_script": "Leggere il saldo"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let subject = r.body["id"].as_i64().unwrap();
    let r = t
        .patch(
            &format!("/api/v1/subjects/{subject}"),
            admin,
            json!({"queue_id": t.fx.care}),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = t
        .patch(
            &format!("/api/v1/topics/{topic}"),
            admin,
            json!({"public": false}),
        )
        .await;
    assert_eq!(r.status, 204);
    let list = t.get("/api/v1/topics", &t.fx.operator.token).await.body;
    let tp = &list.as_array().unwrap()[0];
    assert_eq!(tp["public"], false);
    assert_eq!(tp["subjects"][0]["queue_id"], t.fx.care);
    let r = t
        .patch("/api/v1/topics/9999", admin, json!({"public": false}))
        .await;
    assert_eq!(r.status, 404);
    let r = t
        .patch(
            &format!("/api/v1/queues/{}", t.fx.mobile),
            admin,
            json!({"description": "Telefoni", "level": "customer_care"}),
        )
        .await;
    assert_eq!(r.status, 204);
    let q = t.get("/api/v1/groups", &t.fx.operator.token).await.body;
    let mobile = q
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == t.fx.mobile)
        .unwrap();
    assert_eq!(mobile["level"], "customer_care");
    let r = t
        .post(
            "/api/v1/queues",
            admin,
            json!({"name": "X", "level": "third_level"}),
        )
        .await;
    assert_eq!(r.status, 422);
});

// Each instance keeps the catalogue in memory: a change made through another
// instance (here: a second pool on the same database) is seen by this one at
// its very next request, on both databases.
both!(
    catalogue_changes_from_another_instance_are_seen_at_once,
    |t| {
        let admin = &t.fx.admin.token;
        let r = t
            .post(
                "/api/v1/topics",
                admin,
                json!({"name": "Rete", "queue_id": t.fx.first_level}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let topic = r.body["id"].as_i64().unwrap();
        let ticket = json!({"subject": "Rete lenta", "body": "La rete è lenta", "topic_id": topic});
        let r = t.post("/api/v1/tickets", admin, ticket.clone()).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["queue"]["id"], t.fx.first_level);

        let other = sportello::store::Db::open(&t.app.config.database_url, 2).unwrap();
        let desktop = t.fx.desktop;
        other
            .write(move |c| {
                use sportello::store::catalogue;
                let mut row = catalogue::topic(c, topic)?.unwrap();
                row.queue_id = desktop;
                catalogue::update_topic(c, &row)?;
                let mut q = catalogue::queue(c, desktop)?.unwrap();
                q.name = "Postazioni".into();
                catalogue::update_queue(c, &q)
            })
            .await
            .unwrap();

        let r = t.post("/api/v1/tickets", admin, ticket).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["queue"]["id"], desktop, "{}", r.body);
        assert_eq!(r.body["queue"]["name"], "Postazioni");
    }
);
