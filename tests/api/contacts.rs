//! The registry: search by any detail, phones in any format, audit trail.

use serde_json::json;

use crate::both;
use crate::harness::TestApp;

async fn seed(t: &TestApp) -> (i64, i64, i64) {
    let tok = &t.fx.operator.token;
    let a = t.post("/api/v1/contacts", tok, json!({"name": "Mario Rossi", "emails": ["mario.rossi@example.it"], "phones": ["+39 06 1234567"], "contract_number": "MPS-2024-0001", "city": "Roma"})).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let b = t.post("/api/v1/contacts", tok, json!({"name": "Ирина Петрова", "emails": ["irina@example.ru"], "language": "ru", "organisation": "ООО Ромашка"})).await;
    let c = t.post("/api/v1/contacts", tok, json!({"name": "Jiří Dvořák", "phones": ["+420 601 123 456"], "city": "Brno", "language": "cs"})).await;
    (
        a.body["id"].as_i64().unwrap(),
        b.body["id"].as_i64().unwrap(),
        c.body["id"].as_i64().unwrap(),
    )
}

async fn found(t: &TestApp, q: &str) -> Vec<i64> {
    let r = t
        .get(
            &format!("/api/v1/contacts?q={}", urlencode(q)),
            &t.fx.operator.token,
        )
        .await;
    assert_eq!(r.status, 200, "{q}: {}", r.body);
    r.body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

both!(search_by_phone_in_any_format, |t| {
    let (mario, _, jiri) = seed(&t).await;
    for q in [
        "+39 06 1234567",
        "0039061234567",
        "06-1234567",
        "061234567",
        "06 123 4567",
    ] {
        assert_eq!(found(&t, q).await, vec![mario], "{q}");
    }
    assert_eq!(found(&t, "+420601123456").await, vec![jiri]);
});

both!(search_by_name_email_contract_city, |t| {
    let (mario, irina, jiri) = seed(&t).await;
    assert_eq!(found(&t, "rossi").await, vec![mario]);
    assert_eq!(found(&t, "MARIO ROSSI").await, vec![mario]);
    assert_eq!(found(&t, "mario.rossi@example.it").await, vec![mario]);
    assert_eq!(found(&t, "MPS-2024-0001").await, vec![mario]);
    assert_eq!(
        found(&t, "петрова").await,
        vec![irina],
        "Cyrillic, case-insensitive"
    );
    assert_eq!(found(&t, "ромашка").await, vec![irina]);
    assert_eq!(found(&t, "Dvořák").await, vec![jiri]);
    assert_eq!(found(&t, "brno").await, vec![jiri]);
    t.patch(
        &format!("/api/v1/contacts/{mario}"),
        &t.fx.operator.token,
        json!({"address": "Via del Corso 12"}),
    )
    .await;
    assert_eq!(
        found(&t, "corso").await,
        vec![mario],
        "the address is searchable too"
    );
    assert!(
        found(&t, "50%").await.is_empty(),
        "LIKE wildcards are literal"
    );
    assert_eq!(
        found(&t, "ro").await,
        vec![mario],
        "two letters: no trigram, a scan"
    );
    assert_eq!(found(&t, "ossi ro").await, vec![mario]);
    assert_eq!(found(&t, "ромаш ОО").await, vec![irina]);
    assert!(found(&t, "\"rossi").await.is_empty(), "quotes are literal");
    t.patch(
        &format!("/api/v1/contacts/{jiri}"),
        &t.fx.operator.token,
        json!({"name": "Jiří Novák"}),
    )
    .await;
    assert!(found(&t, "dvořák").await.is_empty(), "the old name is gone");
    assert_eq!(found(&t, "novák").await, vec![jiri]);
    let r = t.get("/api/v1/contacts?q=", &t.fx.operator.token).await;
    assert_eq!(r.status, 422);
});

both!(completing_data_is_audited, |t| {
    let (mario, _, _) = seed(&t).await;
    let r = t.patch(&format!("/api/v1/contacts/{mario}"), &t.fx.operator.token, json!({"emails": ["mario.rossi@example.it", "m.rossi@lavoro.it"], "address": "Via Roma 1, Siena"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["emails"],
        json!(["mario.rossi@example.it", "m.rossi@lavoro.it"])
    );
    let h = t
        .get(
            &format!("/api/v1/contacts/{mario}/history"),
            &t.fx.operator.token,
        )
        .await
        .body;
    let last = h.as_array().unwrap().last().unwrap();
    assert_eq!(last["action"], "updated");
    assert_eq!(last["actor"]["id"], t.fx.operator.id);
    assert_eq!(last["changes"]["address"]["to"], "Via Roma 1, Siena");
    assert!(last["changes"].get("name").is_none(), "only what changed");
    // An unchanged update records nothing.
    t.patch(
        &format!("/api/v1/contacts/{mario}"),
        &t.fx.operator.token,
        json!({"city": "Roma"}),
    )
    .await;
    assert_eq!(
        t.get(
            &format!("/api/v1/contacts/{mario}/history"),
            &t.fx.operator.token
        )
        .await
        .body
        .as_array()
        .unwrap()
        .len(),
        2
    );
});

both!(invalid_contact_data_is_refused_whole, |t| {
    let (mario, irina, _) = seed(&t).await;
    let before = t.count("audit_log").await;
    for (body, field) in [
        (json!({"phones": ["12"]}), "phones"),
        (json!({"phones": ["06-12x4567"]}), "phones"),
        (json!({"emails": ["not-an-email"]}), "emails"),
        (json!({"language": "italiano"}), "language"),
        (json!({"name": "x".repeat(300)}), "name"),
    ] {
        let r = t
            .patch(
                &format!("/api/v1/contacts/{mario}"),
                &t.fx.operator.token,
                body,
            )
            .await;
        assert_eq!(r.status, 422, "{field}: {}", r.body);
        assert_eq!(r.body["field"], field);
    }
    let r = t
        .patch(
            &format!("/api/v1/contacts/{irina}"),
            &t.fx.operator.token,
            json!({"emails": ["MARIO.ROSSI@example.it"]}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["code"], "email-taken");
    assert_eq!(t.count("audit_log").await, before);
    let r = t
        .get(&format!("/api/v1/contacts/{mario}"), &t.fx.operator.token)
        .await;
    assert_eq!(r.body["phones"], json!(["+39061234567"]));
    assert_eq!(
        t.get("/api/v1/contacts/99999", &t.fx.operator.token)
            .await
            .status,
        404
    );
});

both!(a_contacts_lists_keep_their_order_in_every_view, |t| {
    let tok = &t.fx.operator.token;
    let r = t.post("/api/v1/contacts", tok, json!({"name": "Jana Nováková",
        "emails": ["zuzana@example.cz", "jana@example.cz", "novakova@firma.cz"],
        "phones": ["+420 601 123 456", "+39 06 1234567"],
        "attributes": [{"name": "Věrnostní karta", "value": "Zlatá"},
            {"name": "Bodový zůstatek", "value": "1 200"}, {"name": "Agentura", "value": "Praha 2"}]})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    let emails = json!(["zuzana@example.cz", "jana@example.cz", "novakova@firma.cz"]);
    let phones = json!(["+420601123456", "+39061234567"]);
    let attributes = json!([{"name": "Věrnostní karta", "value": "Zlatá"},
        {"name": "Bodový zůstatek", "value": "1 200"}, {"name": "Agentura", "value": "Praha 2"}]);
    let c = t.get(&format!("/api/v1/contacts/{id}"), tok).await.body;
    assert_eq!(
        (&c["emails"], &c["phones"], &c["attributes"]),
        (&emails, &phones, &attributes),
        "{c}"
    );
    // Reordered, as a ticket shows it.
    let r = t.patch(&format!("/api/v1/contacts/{id}"), tok, json!({"emails": ["novakova@firma.cz", "zuzana@example.cz"],
        "attributes": [{"name": "Agentura", "value": "Praha 2"}, {"name": "Věrnostní karta", "value": "Zlatá"}]})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let tk = t
        .post(
            "/api/v1/tickets",
            tok,
            json!({"subject": "Tiskárna netiskne", "body": "Dobrý den, tiskárna netiskne.",
        "contact_id": id}),
        )
        .await;
    assert_eq!(tk.status, 201, "{}", tk.body);
    let d = &tk.body["contact_details"];
    assert_eq!(
        d["emails"],
        json!(["novakova@firma.cz", "zuzana@example.cz"]),
        "{d}"
    );
    assert_eq!(d["phones"], phones);
    assert_eq!(
        d["attributes"],
        json!([{"name": "Agentura", "value": "Praha 2"},
        {"name": "Věrnostní karta", "value": "Zlatá"}])
    );
});
