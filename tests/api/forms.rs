//! Structured call forms (topics with typed fields, values on tickets), the
//! shipped non-target and line-quality forms, and the statistics.

use actix_web::http::Method;
use chrono::Duration;
use serde_json::{json, Value};

use crate::both;
use crate::harness::TestApp;

fn complaint_form() -> Value {
    json!([
        {"name": "failing_number", "label": "Numero che non funziona", "type": "phone", "required": true},
        {"name": "where_found", "label": "Dove lo ha trovato", "type": "choice", "options": ["sito", "volantino", "annuncio"]},
        {"name": "contract_number", "label": "Numero di contratto", "type": "text", "max_length": 20, "pattern": "[A-Z]{2,4}-[0-9-]+"},
        {"name": "address", "label": "Indirizzo", "type": "textarea"},
        {"name": "email", "label": "E-mail", "type": "email"},
        {"name": "since", "label": "Da quando", "type": "date"},
        {"name": "attempts", "label": "Tentativi", "type": "number", "min": 1, "max": 100},
        {"name": "recall", "label": "Richiamare", "type": "boolean"},
        {"name": "contact_phone", "label": "Telefono di contatto", "type": "phone", "required": true}
    ])
}

async fn form_topic(t: &TestApp, name: &str, form: Value, in_statistics: bool) -> i64 {
    let r = t
        .post(
            "/api/v1/topics",
            &t.fx.admin.token,
            json!({"name": name, "queue_id": t.fx.first_level, "public": false,
                   "form": form, "in_statistics": in_statistics}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

fn error_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["field"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_else(|| vec![body["field"].as_str().unwrap_or_default().to_string()])
}

both!(fields_are_checked_normalised_and_shown, |t| {
    let topic = form_topic(&t, "Reclamo qualità linea", complaint_form(), true).await;
    let list = t.get("/api/v1/topics", &t.fx.operator.token).await.body;
    let shown = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == topic)
        .unwrap();
    assert_eq!(shown["in_statistics"], true);
    assert_eq!(shown["form"].as_array().unwrap().len(), 9);
    assert_eq!(shown["form"][0]["type"], "phone");
    assert_eq!(shown["form"][1]["options"][2], "annuncio");
    // The public catalogue does not offer operator-only forms.
    let public = t
        .call(Method::GET, "/api/v1/public/topics", None, None)
        .await
        .body;
    assert!(!public.to_string().contains("failing_number"));

    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "Il numero verde non risponde", "body": "Sempre occupato",
                   "topic_id": topic,
                   "fields": {"contact_phone": "0039 0577 654321", "failing_number": "(06) 1234-567",
                              "where_found": "sito", "contract_number": " MPS-2021-7777 ",
                              "email": "Anna.Bruni@Example.IT", "since": "2026-02-28",
                              "attempts": "12", "recall": true, "address": "Via Roma 12\nSiena"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let fields = r.body["fields"].as_array().unwrap();
    let names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "failing_number",
            "where_found",
            "contract_number",
            "address",
            "email",
            "since",
            "attempts",
            "recall",
            "contact_phone"
        ],
        "in the form's order"
    );
    assert_eq!(fields[0]["value"], "+39061234567");
    assert_eq!(fields[0]["label"], "Numero che non funziona");
    assert_eq!(fields[0]["type"], "phone");
    assert_eq!(fields[2]["value"], "MPS-2021-7777");
    assert_eq!(fields[4]["value"], "anna.bruni@example.it");
    assert_eq!(fields[6]["value"], 12);
    assert_eq!(fields[7]["value"], true);
    assert_eq!(fields[8]["value"], "+390577654321");
    let number = r.body["number"].as_str().unwrap().to_string();

    // Changing the form later does not rewrite what was recorded.
    let r = t
        .patch(
            &format!("/api/v1/topics/{topic}"),
            &t.fx.admin.token,
            json!({"form": [{"name": "failing_number", "label": "Numero guasto", "type": "phone", "required": true}]}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = t
        .get(&format!("/api/v1/tickets/{number}"), &t.fx.operator.token)
        .await;
    assert_eq!(r.body["fields"][0]["label"], "Numero che non funziona");
    assert_eq!(r.body["fields"].as_array().unwrap().len(), 9);

    // Optional fields may be left out; a ticket on a topic without a form has no fields.
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "Linea muta", "body": "…", "topic_id": topic,
                   "fields": {"failing_number": "347 123 4567"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["fields"][0]["label"], "Numero guasto");
    let plain = t.new_ticket("Senza modulo", "…").await;
    assert_eq!(plain["fields"], json!([]));

    // `[]` removes the form.
    let r = t
        .patch(
            &format!("/api/v1/topics/{topic}"),
            &t.fx.admin.token,
            json!({"form": []}),
        )
        .await;
    assert_eq!(r.status, 204);
    let list = t.get("/api/v1/topics", &t.fx.operator.token).await.body;
    assert_eq!(list[0]["form"], json!([]));
});

both!(invalid_values_are_refused_and_nothing_is_written, |t| {
    let topic = form_topic(&t, "Reclamo qualità linea", complaint_form(), true).await;
    let plain = t
        .post(
            "/api/v1/topics",
            &t.fx.admin.token,
            json!({"name": "Punti", "queue_id": t.fx.first_level}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let ok = json!({"failing_number": "06 1234567", "contact_phone": "0577 654321"});
    let with = |extra: Value| {
        let mut v = ok.clone();
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let cases: Vec<(Value, Vec<&str>, Vec<&str>)> = vec![
        (
            json!({}),
            vec!["fields.failing_number", "fields.contact_phone"],
            vec!["required", "required"],
        ),
        (
            json!({"failing_number": "06 1234567", "contact_phone": "  "}),
            vec!["fields.contact_phone"],
            vec!["required"],
        ),
        (
            with(json!({"failing_number": "06-12x4567"})),
            vec!["fields.failing_number"],
            vec!["invalid_phone"],
        ),
        (
            with(json!({"email": "anna@"})),
            vec!["fields.email"],
            vec!["invalid_email"],
        ),
        (
            with(json!({"since": "28/02/2026"})),
            vec!["fields.since"],
            vec!["invalid_date"],
        ),
        (
            with(json!({"since": "2026-02-30"})),
            vec!["fields.since"],
            vec!["invalid_date"],
        ),
        (
            with(json!({"where_found": "radio"})),
            vec!["fields.where_found"],
            vec!["not_an_option"],
        ),
        (
            with(json!({"recall": "sì"})),
            vec!["fields.recall"],
            vec!["not_a_boolean"],
        ),
        (
            with(json!({"attempts": "molti"})),
            vec!["fields.attempts"],
            vec!["not_a_number"],
        ),
        (
            with(json!({"attempts": 0})),
            vec!["fields.attempts"],
            vec!["below_min"],
        ),
        (
            with(json!({"attempts": 101})),
            vec!["fields.attempts"],
            vec!["above_max"],
        ),
        (
            with(json!({"contract_number": "mps-1"})),
            vec!["fields.contract_number"],
            vec!["pattern_mismatch"],
        ),
        (
            with(json!({"contract_number": format!("MPS-{}", "1".repeat(30))})),
            vec!["fields.contract_number"],
            vec!["too_long"],
        ),
        (
            with(json!({"address": {"via": "Roma"}})),
            vec!["fields.address"],
            vec!["not_text"],
        ),
        (
            with(json!({"colour": "rosso"})),
            vec!["fields.colour"],
            vec!["unknown_field"],
        ),
        (json!(["06 1234567"]), vec!["fields"], vec!["not_an_object"]),
    ];
    let before = (
        t.count("tickets").await,
        t.count("ticket_fields").await,
        t.count("contacts").await,
        t.count("articles").await,
    );
    for (fields, names, codes) in cases {
        let r = t
            .post(
                "/api/v1/tickets",
                &t.fx.operator.token,
                json!({"subject": "Linea", "body": "…", "topic_id": topic, "fields": fields,
                       "contact": {"name": "Anna Bruni", "phone": "0577 654321"}}),
            )
            .await;
        assert_eq!(r.status, 422, "{fields}: {}", r.body);
        assert!(r.is_problem());
        assert_eq!(r.body["code"], "invalid-input");
        assert_eq!(error_fields(&r.body), names, "{fields}");
        let got: Vec<&str> = r.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["code"].as_str().unwrap())
            .collect();
        assert_eq!(got, codes, "{fields}");
    }
    // Required fields are enforced even when `fields` is left out.
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "Linea", "body": "…", "topic_id": topic}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        error_fields(&r.body),
        ["fields.failing_number", "fields.contact_phone"]
    );
    // Values for a topic without a form, or for no topic at all.
    for topic_id in [json!(plain), Value::Null] {
        let r = t
            .post(
                "/api/v1/tickets",
                &t.fx.operator.token,
                json!({"subject": "Punti", "body": "…", "topic_id": topic_id, "fields": {"city": "Roma"}}),
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(r.body["field"], "fields");
    }
    let after = (
        t.count("tickets").await,
        t.count("ticket_fields").await,
        t.count("contacts").await,
        t.count("articles").await,
    );
    assert_eq!(before, after, "a refused request writes nothing");
    // An empty `fields` on a topic without a form is fine.
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "Punti", "body": "…", "topic_id": plain, "fields": {}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
});

both!(invalid_form_definitions_are_refused, |t| {
    let admin = &t.fx.admin.token;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!([{"name": "City", "label": " ", "type": "text"}]),
            vec!["form[0].name", "form[0].label"],
        ),
        (
            json!([{"name": "city", "label": "Città", "type": "text"}, {"name": "city", "label": "Città 2", "type": "text"}]),
            vec!["form[1].name"],
        ),
        (
            json!([{"name": "city", "label": "Città", "type": "text", "options": ["Roma"]}]),
            vec!["form[0].options"],
        ),
        (
            json!([{"name": "kind", "label": "Tipo", "type": "choice"}]),
            vec!["form[0].options"],
        ),
        (
            json!([{"name": "code", "label": "Codice", "type": "text", "pattern": "([A-Z"}]),
            vec!["form[0].pattern"],
        ),
        (
            json!([{"name": "n", "label": "N", "type": "number", "min": 10, "max": 1}]),
            vec!["form[0].min"],
        ),
        (
            json!([{"name": "d", "label": "D", "type": "date", "max_length": 5}]),
            vec!["form[0].max_length"],
        ),
    ];
    let before = t.count("topics").await;
    for (form, fields) in cases {
        let r = t
            .post(
                "/api/v1/topics",
                admin,
                json!({"name": "Con modulo", "queue_id": t.fx.first_level, "form": form}),
            )
            .await;
        assert_eq!(r.status, 422, "{form}: {}", r.body);
        assert_eq!(error_fields(&r.body), fields, "{form}");
    }
    // Shapes serde cannot read: an unknown type or key.
    for form in [
        json!([{"name": "c", "label": "C", "type": "colour"}]),
        json!([{"name": "c", "label": "C", "type": "text", "colour": "red"}]),
        json!({"name": "c"}),
    ] {
        let r = t
            .post(
                "/api/v1/topics",
                admin,
                json!({"name": "Con modulo", "queue_id": t.fx.first_level, "form": form}),
            )
            .await;
        assert_eq!(r.status, 422, "{form}: {}", r.body);
        assert_eq!(r.body["code"], "invalid-input");
    }
    assert_eq!(t.count("topics").await, before);
    // Configuring is for admins, and an update is checked like a creation.
    let topic = form_topic(&t, "Chiamata non target", json!([]), false).await;
    let r = t
        .patch(
            &format!("/api/v1/topics/{topic}"),
            &t.fx.supervisor.token,
            json!({"form": [{"name": "city", "label": "Città", "type": "text"}]}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = t
        .patch(
            &format!("/api/v1/topics/{topic}"),
            admin,
            json!({"form": [{"name": "city", "label": "Città", "type": "phone", "max": 3}]}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["field"], "form[0].max");
    let list = t.get("/api/v1/topics", admin).await.body;
    assert_eq!(list[0]["form"], json!([]));
    assert_eq!(list[0]["in_statistics"], false);
});

async fn shipped(t: &TestApp) -> sportello::service::call_forms::Installed {
    let admin = sportello::service::Viewer {
        actor: sportello::domain::access::Actor {
            agent_id: t.fx.admin.id,
            role: sportello::domain::Role::Admin,
            queues: vec![],
        },
        name: "Admin".into(),
        email: "admin@test".into(),
        tz: t.app.config.time_zone,
        token_id: 0,
    };
    let first = sportello::service::call_forms::install(&t.app, &admin)
        .await
        .unwrap();
    let again = sportello::service::call_forms::install(&t.app, &admin)
        .await
        .unwrap();
    assert_eq!(
        first.non_target_topic, again.non_target_topic,
        "installing twice changes nothing"
    );
    assert_eq!(first.senior_queue, again.senior_queue);
    first
}

both!(
    shipped_forms_route_and_statistics_leave_non_target_out,
    |t| {
        let forms = shipped(&t).await;
        let op = &t.fx.operator.token;
        let topics = t.get("/api/v1/topics", op).await.body;
        let non_target = topics
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == "Chiamata non target")
            .unwrap();
        assert_eq!(non_target["public"], false);
        assert_eq!(non_target["in_statistics"], false);
        assert!(non_target["info_script"]
            .as_str()
            .unwrap()
            .contains("Non fornire dati personali"));

        // A non-target call: to management, with the caller's details.
        let r = t
            .post(
                "/api/v1/tickets",
                op,
                json!({"subject": "Agenzia pubblicitaria", "body": "Propone una campagna",
                   "topic_id": forms.non_target_topic,
                   "fields": {"city": "Firenze", "organisation": "Agenzia Spot Srl",
                              "position": "Account manager", "name": "Luca Sarti",
                              "contact_phone": "055/987654", "purpose": "Proposta di campagna"}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["queue"]["name"], "Direzione");
        assert_eq!(r.body["queue"]["id"], forms.management_queue);
        assert_eq!(r.body["fields"][4]["value"], "+39055987654");
        assert_eq!(r.body["fields"][0]["label"], "Città");
        let non_target_id = r.body["id"].as_i64().unwrap();
        let r = t
            .post(
                "/api/v1/tickets",
                op,
                json!({"subject": "Fornitore", "body": "…", "topic_id": forms.non_target_topic,
                   "fields": {"contact_phone": "055 987654"}}),
            )
            .await;
        assert_eq!(r.status, 422, "the purpose is required");
        assert_eq!(r.body["field"], "fields.purpose");

        // A line-quality complaint: to the senior operator.
        let r = t
            .post(
                "/api/v1/tickets",
                op,
                json!({"subject": "Il numero non risponde", "body": "Sempre occupato",
                   "topic_id": forms.line_quality_topic,
                   "fields": {"failing_number": "+39 06 9999 0000", "where_found": "volantino",
                              "contract_number": "MPS-2021-7777", "address": "Via Roma 12, Siena",
                              "contact_phone": "0577 654321"}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["queue"]["name"], "Operatore senior");
        assert_eq!(r.body["queue"]["level"], "first_level");
        assert_eq!(r.body["fields"][0]["value"], "+390699990000");
        let line_id = r.body["id"].as_i64().unwrap();

        // One more, with no topic: by mail, answered ten minutes later.
        let r = t
            .post(
                "/api/v1/tickets",
                op,
                json!({"subject": "Punti", "body": "…", "channel": "email"}),
            )
            .await;
        assert_eq!(r.status, 201);
        let mail_id = r.body["id"].as_i64().unwrap();
        t.clock.advance(Duration::minutes(10));
        let r = t
            .post(
                &format!("/api/v1/tickets/{mail_id}/articles"),
                op,
                json!({"kind": "reply", "body": "Ecco il saldo", "email": false}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        for id in [line_id, non_target_id] {
            let r = t
                .post(
                    &format!("/api/v1/tickets/{id}/resolve"),
                    &t.fx.supervisor.token,
                    json!({"resolution": "Fatto"}),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }

        let r = t
            .get(
                "/api/v1/stats?from=2026-03-01&to=2026-03-02",
                &t.fx.supervisor.token,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let s = &r.body["tickets"];
        assert_eq!(r.body["from"], "2026-03-01");
        assert_eq!(r.body["time_zone"], "Europe/Rome");
        assert_eq!(s["total"], 2, "{}", r.body);
        assert_eq!(s["excluded"], 1);
        assert_eq!(
            s["resolved"], 1,
            "the resolved non-target call is not counted"
        );
        // The phone complaint was answered on the call (0 s), the mail after 600 s.
        assert_eq!(s["median_first_response_seconds"], 300);
        assert_eq!(
            s["by_channel"],
            json!([{"key": "email", "count": 1}, {"key": "phone", "count": 1}])
        );
        assert_eq!(
            s["by_state"],
            json!([{"key": "open", "count": 1}, {"key": "resolved", "count": 1}])
        );
        let queues = s["by_queue"].as_array().unwrap();
        assert!(queues.iter().all(|q| q["name"] != "Direzione"));
        assert!(queues
            .iter()
            .any(|q| q["name"] == "Operatore senior" && q["count"] == 1));
        let topics = s["by_topic"].as_array().unwrap();
        assert_eq!(topics.len(), 2);
        assert!(topics
            .iter()
            .any(|x| x["id"].is_null() && x["name"].is_null() && x["count"] == 1));
        assert!(topics
            .iter()
            .any(|x| x["name"] == "Reclamo qualità linea" && x["count"] == 1));

        // Without a period: the last 30 days up to today.
        let r = t.get("/api/v1/stats", &t.fx.admin.token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["to"], "2026-03-02");
        assert_eq!(r.body["tickets"]["total"], 2);
        // A period before the tickets.
        let r = t
            .get(
                "/api/v1/stats?from=2026-02-01&to=2026-03-01",
                &t.fx.supervisor.token,
            )
            .await;
        assert_eq!(r.body["tickets"]["total"], 0);
        assert_eq!(r.body["tickets"]["excluded"], 0);
        assert_eq!(
            r.body["tickets"]["median_first_response_seconds"],
            Value::Null
        );

        // Supervisors and admins only; a bad period is a 422.
        for token in [op, &t.fx.specialist.token, &t.fx.care_agent.token] {
            let r = t.get("/api/v1/stats", token).await;
            assert_eq!(r.status, 403, "{}", r.body);
            assert!(r.is_problem());
        }
        let r = t
            .get(
                "/api/v1/stats?from=2026-03-05&to=2026-03-01",
                &t.fx.supervisor.token,
            )
            .await;
        assert_eq!(r.status, 422);
        assert_eq!(r.body["field"], "from");
        let r = t
            .get("/api/v1/stats?from=yesterday", &t.fx.supervisor.token)
            .await;
        assert_eq!(r.status, 422);
        let r = t.call(Method::GET, "/api/v1/stats", None, None).await;
        assert_eq!(r.status, 401);
    }
);
