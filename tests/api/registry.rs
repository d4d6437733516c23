//! Registry feeds and the points-of-service directory: CSV imports that upsert
//! by external key and report bad rows by line, custom attributes in the
//! contact view and the screen pop, directory search by region and province,
//! and mailing the chosen points to the caller from a ticket.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::both;
use crate::harness::{Response, TestApp};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/registry/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn post_csv(
    t: &TestApp,
    path: &str,
    token: &str,
    content_type: &str,
    body: impl Into<Vec<u8>>,
) -> Response {
    let req = TestRequest::default()
        .method(Method::POST)
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", content_type))
        .set_payload(body.into());
    t.send(req).await
}

async fn import_contacts(t: &TestApp, body: impl Into<Vec<u8>>) -> Response {
    post_csv(
        t,
        "/api/v1/contacts/import",
        &t.fx.admin.token,
        "text/csv; charset=utf-8",
        body,
    )
    .await
}

async fn import_points(t: &TestApp) -> Value {
    let r = post_csv(
        t,
        "/api/v1/service-points/import",
        &t.fx.supervisor.token,
        "text/csv",
        fixture("service_points.csv"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn contact_by_key(t: &TestApp, key: &str) -> Value {
    let r = t
        .get(&format!("/api/v1/contacts?q={key}"), &t.fx.operator.token)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let found = r.body.as_array().unwrap();
    assert_eq!(found.len(), 1, "{key}: {}", r.body);
    found[0].clone()
}

fn attribute<'a>(contact: &'a Value, name: &str) -> Option<&'a str> {
    contact["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["name"] == name)
        .and_then(|a| a["value"].as_str())
}

both!(contacts_import_creates_updates_and_reports_bad_rows, |t| {
    let r = import_contacts(&t, fixture("contacts.csv")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["created"], 2, "{}", r.body);
    assert_eq!(r.body["updated"], 0);
    let rejected = r.body["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{}", r.body);
    assert_eq!(rejected[0]["line"], 3);
    assert_eq!(rejected[0]["field"], "email");
    assert!(rejected[0]["message"]
        .as_str()
        .unwrap()
        .contains("not a valid e-mail"));

    let mario = contact_by_key(&t, "K-1001").await;
    assert_eq!(mario["external_key"], "K-1001");
    assert_eq!(mario["name"], "Mario Rossi");
    assert_eq!(mario["phones"], json!(["+39061234567"]));
    assert_eq!(mario["contract_number"], "MPS-2024-0101");
    assert_eq!(
        mario["attributes"],
        json!([
            {"name": "Tipo carta", "value": "Carta Oro"},
            {"name": "Servizi e benefit", "value": "Sconto 10% ristoranti, assicurazione viaggio"},
            {"name": "Saldo punti", "value": "1200"},
        ])
    );
    // A quoted cell over two lines: the row after it still has the right line.
    let john = contact_by_key(&t, "K-1003").await;
    assert_eq!(
        attribute(&john, "Servizi e benefit"),
        Some("Accumulo punti\ne sconti stagionali")
    );
    assert_eq!(john["language"], "en");

    // The same file again changes nothing.
    let r = import_contacts(&t, fixture("contacts.csv")).await;
    assert_eq!(r.body["created"], 0);
    assert_eq!(r.body["unchanged"], 2, "{}", r.body);

    // A later feed updates by key: given cells replace, empty cells keep,
    // new phones are added, attributes not in the file stay.
    let r = import_contacts(
        &t,
        "external_key,name,phone,city,SALDO PUNTI,Scadenza\nK-1001,,06 7654321,Frascati,1500,2027-12\nK-1004,Nuovo Cliente,,,10,\n",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["updated"], 1, "{}", r.body);
    assert_eq!(r.body["created"], 1);
    let mario2 = t
        .get(
            &format!("/api/v1/contacts/{}", mario["id"]),
            &t.fx.operator.token,
        )
        .await
        .body;
    assert_eq!(mario2["name"], "Mario Rossi");
    assert_eq!(mario2["city"], "Frascati");
    assert_eq!(mario2["phones"], json!(["+39061234567", "+39067654321"]));
    assert_eq!(attribute(&mario2, "Saldo punti"), Some("1500"));
    assert_eq!(attribute(&mario2, "Tipo carta"), Some("Carta Oro"));
    assert_eq!(attribute(&mario2, "Scadenza"), Some("2027-12"));
    // The audit trail records the imports.
    let history = t
        .get(
            &format!("/api/v1/contacts/{}/history", mario["id"]),
            &t.fx.operator.token,
        )
        .await
        .body;
    let actions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["imported", "imported"]);
    assert_eq!(history[1]["changes"]["city"]["to"], "Frascati");
    // Search finds by the external key, also when it is all digits.
    let r = import_contacts(&t, "external_key;name\n4000123412341234;Carta Numerica\n").await;
    assert_eq!(r.body["created"], 1, "{}", r.body);
    assert_eq!(
        contact_by_key(&t, "4000123412341234").await["name"],
        "Carta Numerica"
    );
});

both!(semicolons_bom_and_names_in_any_script, |t| {
    let r = import_contacts(&t, fixture("contacts_semicolon_bom.csv")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["created"], 3, "{}", r.body);
    assert_eq!(r.body["rejected"], json!([]));
    let jiri = contact_by_key(&t, "CZ-1").await;
    assert_eq!(jiri["name"], "Jiří Novák");
    assert_eq!(jiri["city"], "Plzeň");
    assert_eq!(jiri["phones"], json!(["+420601123456"]));
    let irina = contact_by_key(&t, "RU-1").await;
    assert_eq!(irina["name"], "Ирина Петрова");
    assert_eq!(attribute(&irina, "Tipo carta"), Some("Carta Argento"));
    let r = t
        .get(
            "/api/v1/contacts?q=%D0%BF%D0%B5%D1%82%D1%80%D0%BE%D0%B2%D0%B0",
            &t.fx.operator.token,
        )
        .await;
    assert_eq!(r.body[0]["external_key"], "RU-1");
    let nicco = contact_by_key(&t, "IT-1").await;
    assert_eq!(nicco["name"], "Niccolò Bellè");
    assert_eq!(nicco["phones"], json!(["+390577111222", "+393334445555"]));
});

both!(attributes_in_the_screen_pop, |t| {
    let r = import_contacts(&t, fixture("contacts.csv")).await;
    assert_eq!(r.status, 200);
    let r = t
        .post(
            "/api/v1/cti/events",
            &t.fx.admin.token,
            json!({"event_id": "r1", "type": "offered", "call_id": "R-1", "caller": "0039061234567"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t
        .post(
            "/api/v1/cti/events",
            &t.fx.admin.token,
            json!({"event_id": "r2", "type": "answered", "call_id": "R-1", "agent_id": t.fx.operator.id}),
        )
        .await;
    let contact = &r.body["context"]["matches"][0]["contact"];
    assert_eq!(contact["external_key"], "K-1001", "{}", r.body);
    assert_eq!(attribute(contact, "Tipo carta"), Some("Carta Oro"));
    assert_eq!(attribute(contact, "Saldo punti"), Some("1200"));
    let pop = t
        .get(
            &format!("/api/v1/calls/{}/context", r.body["call"]["id"]),
            &t.fx.operator.token,
        )
        .await;
    assert_eq!(
        pop.body["matches"][0]["contact"]["attributes"][0]["value"],
        "Carta Oro"
    );
});

both!(
    imports_are_for_supervisors_and_admins_and_refuse_non_csv,
    |t| {
        for token in [&t.fx.operator.token, &t.fx.specialist.token] {
            for path in ["/api/v1/contacts/import", "/api/v1/service-points/import"] {
                let r = post_csv(&t, path, token, "text/csv", fixture("contacts.csv")).await;
                assert_eq!(r.status, 403, "{path}");
                assert!(r.is_problem());
            }
        }
        let r = post_csv(
            &t,
            "/api/v1/contacts/import",
            &t.fx.supervisor.token,
            "text/csv",
            fixture("contacts.csv"),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        for (body, expect) in [
            (Vec::new(), "empty"),
            (b"{\"name\": \"x\"}".to_vec(), "external_key"),
            (fixture("windows_1252.csv"), "not UTF-8"),
            (b"external_key;;name\n".to_vec(), "no name"),
        ] {
            let r = import_contacts(&t, body).await;
            assert_eq!(r.status, 422, "{expect}: {}", r.body);
            assert!(r.is_problem());
            assert!(
                r.body["detail"].as_str().unwrap().contains(expect),
                "{expect}: {}",
                r.body
            );
        }
        let r = post_csv(
            &t,
            "/api/v1/contacts/import",
            &t.fx.admin.token,
            "application/json",
            b"{}".to_vec(),
        )
        .await;
        assert_eq!(r.status, 415);
        assert!(r.is_problem());
        assert_eq!(t.count("contacts").await, 2);
    }
);

both!(service_points_import_search_and_regions, |t| {
    let report = import_points(&t).await;
    assert_eq!(report["created"], 6, "{report}");
    assert_eq!(report["rejected"][0]["line"], 5);
    assert_eq!(report["rejected"][0]["field"], "phone");
    let op = &t.fx.operator.token;
    let page = t.get("/api/v1/service-points?region=lazio", op).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body["total"], 3);
    for query in ["region=LAZIO&province=RM", "province=Roma", "province=rm"] {
        let r = t.get(&format!("/api/v1/service-points?{query}"), op).await;
        assert_eq!(r.body["total"], 2, "{query}: {}", r.body);
    }
    let r = t
        .get("/api/v1/service-points?province=roma&city=TIVOLI", op)
        .await;
    assert_eq!(r.body["items"][0]["name"], "Ottica Centrale");
    assert_eq!(r.body["items"][0]["phone"], "+390774331122");
    assert_eq!(r.body["items"][0]["email"], "ottica@example.it");
    let r = t.get("/api/v1/service-points?service=ristor", op).await;
    assert_eq!(
        r.body["total"], 2,
        "the closed one is not listed: {}",
        r.body
    );
    let r = t
        .get("/api/v1/service-points?q=portico%20lungaretta", op)
        .await;
    assert_eq!(r.body["total"], 1);
    let id = r.body["items"][0]["id"].as_i64().unwrap();
    let r = t.get("/api/v1/service-points?limit=2&offset=2", op).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["total"], 5);
    let r = t.get(&format!("/api/v1/service-points/{id}"), op).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["opening_hours"], "mar-dom 12:30-15:00, 19:30-23:00");
    assert_eq!(t.get("/api/v1/service-points/99999", op).await.status, 404);
    assert_eq!(
        t.get("/api/v1/service-points?limit=0", op).await.status,
        422
    );
    let regions = t.get("/api/v1/service-points/regions", op).await;
    assert_eq!(regions.status, 200);
    assert_eq!(
        regions.body,
        json!([
            {"region": "Campania", "count": 1, "provinces": [{"province": "Napoli", "province_code": "NA", "count": 1}]},
            {"region": "Lazio", "count": 3, "provinces": [
                {"province": "Roma", "province_code": "RM", "count": 2},
                {"province": "Viterbo", "province_code": "VT", "count": 1}]},
            {"region": "Lombardia", "count": 1, "provinces": [{"province": "Bergamo", "province_code": "BG", "count": 1}]},
        ])
    );
    // Importing again with a fix: the bad row is created, the rest unchanged.
    let r = post_csv(
        &t,
        "/api/v1/service-points/import",
        &t.fx.admin.token,
        "text/csv",
        "external_key,phone,Latitudine\nPV-MI-001,02 8940 1234,45.45\nPV-RM-001,06 5812260,41.88\n",
    )
    .await;
    assert_eq!(r.body["rejected"][0]["field"], "name", "{}", r.body);
    assert_eq!(r.body["unchanged"], 1);
    assert_eq!(r.body["ignored_columns"], json!(["Latitudine"]));
});

both!(send_points_to_the_caller, |t| {
    import_points(&t).await;
    let op = &t.fx.operator.token;
    let ids: Vec<i64> = t.get("/api/v1/service-points?province=RM", op).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    let ticket = t
        .post(
            "/api/v1/tickets",
            op,
            json!({"subject": "Punti vendita a Roma", "body": "Dove posso usare la carta?",
                   "contact": {"name": "Maria Rossi", "email": "maria.rossi@example.it"}}),
        )
        .await
        .body;
    let path = format!("/api/v1/tickets/{}/service-points/send", ticket["id"]);
    let r = t
        .post(
            &path,
            op,
            json!({"point_ids": ids, "note": "Ecco i punti vicini a lei."}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["to"], "maria.rossi@example.it");
    assert_eq!(r.body["language"], "it");
    assert_eq!(r.body["points"].as_array().unwrap().len(), 2);
    let emails = t
        .get(&format!("/api/v1/tickets/{}/emails", ticket["id"]), op)
        .await
        .body;
    let mail = emails
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "service_points")
        .expect("the mail is in the outbox");
    assert_eq!(mail["to"], "maria.rossi@example.it");
    assert_eq!(mail["id"], r.body["email_id"]);
    assert!(mail["subject"]
        .as_str()
        .unwrap()
        .contains(ticket["number"].as_str().unwrap()));
    let detail = t
        .get(&format!("/api/v1/tickets/{}", ticket["id"]), op)
        .await
        .body;
    let article = detail["articles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == r.body["article_id"])
        .unwrap();
    assert_eq!(article["kind"], "outbound");
    assert_eq!(article["public"], true);
    let text = article["body"].as_str().unwrap();
    for part in [
        "Trattoria Al Portico",
        "Via della Lungaretta 51, 00153 Roma (RM)",
        "Orari: mar-dom 12:30-15:00, 19:30-23:00",
        "Telefono: +39065812260",
        "Ottica Centrale",
        "Ecco i punti vicini a lei.",
    ] {
        assert!(text.contains(part), "'{part}' in:\n{text}");
    }
    assert!(
        detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "service_points_sent"
                && e["data"]["email_id"] == r.body["email_id"])
    );

    // Another address and English.
    let r = t
        .post(
            &path,
            op,
            json!({"point_ids": [ids[0]], "to": "Maria.Work@Example.it", "language": "en"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["to"], "maria.work@example.it");
    let detail = t
        .get(&format!("/api/v1/tickets/{}", ticket["id"]), op)
        .await
        .body;
    let last = detail["articles"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(last["body"].as_str().unwrap().contains("Opening hours:"));

    // Refusals.
    let closed: i64 = t
        .app
        .db
        .read(|c| {
            use diesel::RunQueryDsl;
            Ok(
                diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                    "(SELECT id FROM service_points WHERE external_key = 'PV-NA-002')",
                ))
                .get_result::<i64>(c)?,
            )
        })
        .await
        .unwrap();
    let outbox = t.count("outbox").await;
    for (body, field) in [
        (json!({"point_ids": []}), "point_ids"),
        (json!({"point_ids": [ids[0], 99999]}), "point_ids"),
        (json!({"point_ids": [closed]}), "point_ids"),
        (json!({"point_ids": [ids[0]], "language": "ru"}), "language"),
        (json!({"point_ids": [ids[0]], "to": "nobody"}), "to"),
    ] {
        let r = t.post(&path, op, body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_eq!(r.body["field"], field, "{body}");
    }
    let bare = t.new_ticket("Senza contatto", "Chiamata anonima").await;
    let r = t
        .post(
            &format!("/api/v1/tickets/{}/service-points/send", bare["id"]),
            op,
            json!({"point_ids": [ids[0]]}),
        )
        .await;
    assert_eq!(r.status, 422, "no address is known: {}", r.body);
    assert_eq!(r.body["field"], "to");
    let r = t
        .post(
            &path,
            &t.fx.specialist.token,
            json!({"point_ids": [ids[0]]}),
        )
        .await;
    assert_eq!(r.status, 403, "a specialist does not work first level");
    assert_eq!(t.count("outbox").await, outbox, "nothing was queued");
});

both!(a_large_feed_is_taken_in_chunks, |t| {
    // Larger than the JSON body limit (256 KiB in the tests): feeds have the raw-message limit.
    let mut csv = String::from("external_key;name;city;Tipo carta;Note\n");
    for i in 0..1500 {
        csv.push_str(&format!(
            "L-{i:05};Cliente numero {i};Roma;Carta Oro;{}\n",
            "x".repeat(150)
        ));
    }
    csv.push_str("L-BAD;Cliente;Roma;Carta Oro;ok;extra cell\n");
    assert!(csv.len() > 262_144);
    let r = import_contacts(&t, csv).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["created"], 1500);
    assert_eq!(r.body["rejected"][0]["line"], 1502);
    assert_eq!(t.count("contacts").await, 1500);
});
