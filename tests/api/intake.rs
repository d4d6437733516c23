//! Intake through the staff API: routing, contacts, attachments, idempotency.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::json;

use crate::both;
use crate::harness::TestApp;

async fn topic(t: &TestApp, name: &str, queue: i64) -> i64 {
    let r = t
        .post(
            "/api/v1/topics",
            &t.fx.admin.token,
            json!({"name": name, "queue_id": queue, "info_script": format!("Script for {name}")}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

/// Moves a topic to another queue with plain SQL, as another instance or a
/// tool would: the catalogue's version moves with it (a trigger), the pool's
/// copy does not.
async fn move_behind_the_pools_back(t: &TestApp, topic: i64, queue: i64) {
    t.app
        .db
        .write(move |c| {
            use diesel::RunQueryDsl;
            diesel::sql_query(format!(
                "UPDATE topics SET queue_id = {queue} WHERE id = {topic}"
            ))
            .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
}

both!(
    a_topic_moved_elsewhere_routes_to_its_new_queue_at_once,
    |t| {
        // The pool routes with its copy of the catalogue and the ticket's INSERT
        // confirms it is current. A change the pool has not read (another
        // instance, a tool) is found by that INSERT: the request is routed again.
        let moved = topic(&t, "Rete", t.fx.first_level).await;
        let r = t
            .post(
                "/api/v1/tickets",
                &t.fx.operator.token,
                json!({"subject": "Rete giù", "body": "Niente rete", "topic_id": moved}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["queue"]["id"], t.fx.first_level);
        move_behind_the_pools_back(&t, moved, t.fx.care).await;
        let before = t.count("tickets").await;
        let r = t
            .post(
                "/api/v1/tickets",
                &t.fx.operator.token,
                json!({"subject": "Rete giù", "body": "Ancora niente", "topic_id": moved}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["queue"]["id"], t.fx.care);
        assert_eq!(r.body["number"].as_str().map(|n| n.len()), Some(11));
        assert_eq!(t.count("tickets").await, before + 1, "one ticket, not two");
        // The public form's request, checked against the copy it held, too.
        let r = t
            .patch(
                &format!("/api/v1/topics/{moved}"),
                &t.fx.admin.token,
                json!({"public": true}),
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
        move_behind_the_pools_back(&t, moved, t.fx.mobile).await;
        let r = t
            .call(
                Method::POST,
                "/api/v1/public/requests",
                None,
                Some(
                    json!({"topic_id": moved, "name": "Anna Neri", "email": "anna@example.it",
                "text": "La rete non va", "consent": true, "language": "it"}),
                ),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let number = r.body["number"].as_str().unwrap().to_string();
        let found = t
            .get(&format!("/api/v1/tickets?q={number}"), &t.fx.admin.token)
            .await;
        assert_eq!(found.status, 200, "{}", found.body);
        assert_eq!(
            found.body["items"][0]["queue"]["id"], t.fx.mobile,
            "{}",
            found.body
        );
    }
);

both!(routes_by_topic_and_subject, |t| {
    let it = topic(&t, "IT help desk", t.fx.first_level).await;
    let r = t
        .post(
            &format!("/api/v1/topics/{it}/subjects"),
            &t.fx.admin.token,
            json!({"name": "Hosting", "queue_id": t.fx.mobile}),
        )
        .await;
    let hosting = r.body["id"].as_i64().unwrap();
    let complaints = topic(&t, "Reclami", t.fx.care).await;

    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "Server giù", "body": "Il sito non risponde", "subject_id": hosting}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body["queue"]["id"], t.fx.mobile,
        "the subject's queue wins"
    );
    assert_eq!(
        r.body["topic"]["id"], it,
        "the topic follows from the subject"
    );
    assert_eq!(r.body["info_script"], "Script for IT help desk");

    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "Reclamo", "body": "Addebito", "topic_id": complaints}),
        )
        .await;
    assert_eq!(r.body["queue"]["id"], t.fx.care);

    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "x", "body": "y", "topic_id": complaints, "subject_id": hosting}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["field"], "subject_id");
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "x", "body": "y", "topic_id": 4242}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["field"], "topic_id");
});

both!(contact_matched_completed_or_created, |t| {
    let c = t
        .post(
            "/api/v1/contacts",
            &t.fx.operator.token,
            json!({"name": "Maria Rossi", "emails": ["maria@example.it"]}),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.body);
    let cid = c.body["id"].clone();
    // Same e-mail in another case: the same contact, and the new phone completes the registry.
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "s", "body": "b",
        "contact": {"name": "M. Rossi", "email": "MARIA@example.it", "phone": "06 1234567"}}),
        )
        .await;
    assert_eq!(r.body["contact"]["id"], cid);
    assert_eq!(r.body["contact_details"]["phones"], json!(["+39061234567"]));
    assert_eq!(
        r.body["contact_details"]["name"], "Maria Rossi",
        "known data is not overwritten"
    );
    let hist = t
        .get(
            &format!("/api/v1/contacts/{cid}/history"),
            &t.fx.operator.token,
        )
        .await;
    assert_eq!(hist.body.as_array().unwrap().len(), 2);
    assert_eq!(hist.body[1]["action"], "completed_by_intake");
    // Phone only, written differently: still her.
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "s", "body": "b", "contact": {"phone": "+39 06 123 4567"}}),
        )
        .await;
    assert_eq!(r.body["contact"]["id"], cid);
    // Somebody new.
    let r = t.post("/api/v1/tickets", &t.fx.operator.token, json!({"subject": "s", "body": "b", "contact": {"name": "Иван Петров", "email": "ivan@example.ru", "language": "ru"}})).await;
    assert_ne!(r.body["contact"]["id"], cid);
    assert_eq!(r.body["contact_details"]["language"], "ru");
    // An existing contact by id, and a missing one.
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "s", "body": "b", "contact_id": cid}),
        )
        .await;
    assert_eq!(r.body["contact"]["id"], cid);
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "s", "body": "b", "contact_id": 999999}),
        )
        .await;
    assert_eq!(r.status, 422);
    let r = t
        .get(
            &format!("/api/v1/contacts/{cid}/tickets"),
            &t.fx.operator.token,
        )
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 3);
});

both!(idempotency_key_gives_one_ticket, |t| {
    let body = json!({"subject": "Richiamata", "body": "Il cliente chiede di essere richiamato", "idempotency_key": "cti-call-8812"});
    let first = t
        .post("/api/v1/tickets", &t.fx.operator.token, body.clone())
        .await;
    assert_eq!(first.status, 201);
    let second = t.post("/api/v1/tickets", &t.fx.operator.token, body).await;
    assert_eq!(second.status, 200, "a replay is not a creation");
    assert_eq!(first.body["id"], second.body["id"]);
    // The header works too, and is scoped separately from other keys.
    let req = || {
        TestRequest::default()
            .method(Method::POST)
            .uri("/api/v1/tickets")
            .insert_header(("Authorization", format!("Bearer {}", t.fx.operator.token)))
            .insert_header(("Idempotency-Key", "web-77"))
            .set_json(json!({"subject": "Altro", "body": "Testo"}))
    };
    let a = t.send(req()).await;
    let b = t.send(req()).await;
    assert_eq!(a.body["id"], b.body["id"]);
    assert_ne!(a.body["id"], first.body["id"]);
    assert_eq!(t.count("tickets").await, 2);
    assert_eq!(t.count("articles").await, 2);
});

both!(idempotency_under_concurrency, |t| {
    let calls = (0..12).map(|_| {
        t.post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "Doppio invio", "body": "Testo", "idempotency_key": "same-key"}),
        )
    });
    let results = futures_util::future::join_all(calls).await;
    let ids: std::collections::HashSet<String> = results
        .iter()
        .map(|r| {
            assert!(
                r.status == 201 || r.status == 200,
                "{} {}",
                r.status,
                r.body
            );
            r.body["id"].to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "one ticket for one key");
    assert_eq!(results.iter().filter(|r| r.status == 201).count(), 1);
    assert_eq!(t.count("tickets").await, 1);
});

both!(one_new_caller_at_once_is_one_contact, |t| {
    // The same new citizen, several requests at the same moment: each opens
    // its ticket, and all of them find or make one contact. The contacts that
    // lose the race on the address are undone, not left behind half-made.
    let before = [
        t.count("contacts").await,
        t.count("contact_emails").await,
        t.count("contact_phones").await,
    ];
    let calls = (0..8).map(|i| {
        t.post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": format!("Richiesta {i}"), "body": "Дублирую запрос",
                "contact": {"name": "Jiří Dvořák", "email": "jiri.dvorak@example.cz",
                    "phone": "+420 601 234 567", "language": "cs"}}),
        )
    });
    let results = futures_util::future::join_all(calls).await;
    let contacts: std::collections::HashSet<String> = results
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.body);
            r.body["contact"]["id"].to_string()
        })
        .collect();
    assert_eq!(
        contacts.len(),
        1,
        "one contact for one address: {contacts:?}"
    );
    let after = [
        t.count("contacts").await,
        t.count("contact_emails").await,
        t.count("contact_phones").await,
    ];
    assert_eq!(after, before.map(|n| n + 1), "contacts, addresses, phones");
    assert_eq!(t.count("tickets").await, 8);
    // One creation in the contact's history, no audit entry of an undone one.
    let history = t
        .get(
            &format!(
                "/api/v1/contacts/{}/history",
                results[0].body["contact"]["id"]
            ),
            &t.fx.operator.token,
        )
        .await;
    assert_eq!(
        history.body.as_array().unwrap().len(),
        1,
        "{}",
        history.body
    );
});

both!(attachments_are_stored_with_hash, |t| {
    use base64::Engine;
    let data: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
    let r = t.post("/api/v1/tickets", &t.fx.operator.token, json!({"subject": "Fattura", "body": "In allegato",
        "attachments": [{"filename": "fattura_è_№1.pdf", "content_type": "application/pdf", "content_base64": b64}]})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let att = &r.body["articles"][0]["attachments"][0];
    assert_eq!(att["size"], 150_000);
    assert_eq!(att["filename"], "fattura_è_№1.pdf");
    use sha2::Digest;
    assert_eq!(att["sha256"], hex::encode(sha2::Sha256::digest(&data)));
    let dl = t
        .get(
            &format!("/api/v1/attachments/{}", att["id"]),
            &t.fx.operator.token,
        )
        .await;
    assert_eq!(dl.status, 200);
    assert_eq!(dl.raw, data);
    // Too big for the configured attachment limit (2 MiB default) is refused whole,
    // but the body limit of this test app (256 KiB) trips first.
    let big = base64::engine::general_purpose::STANDARD.encode(vec![0u8; 300_000]);
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "x", "body": "y",
        "attachments": [{"filename": "big.bin", "content_base64": big}]}),
        )
        .await;
    assert_eq!(r.status, 413);
    assert!(r.is_problem());
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "x", "body": "y",
        "attachments": [{"filename": "../etc/passwd", "content_base64": "AAAA"}]}),
        )
        .await;
    assert_eq!(r.status, 422);
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "x", "body": "y",
        "attachments": [{"filename": "a.txt", "content_base64": "not base64!"}]}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(t.count("tickets").await, 1);
});

both!(times_are_shown_in_rome, |t| {
    // 2026-03-02 09:00 UTC is 10:00 in Rome (CET); after the DST change it is +02:00.
    let r = t.new_ticket("Ora", "Testo").await;
    assert_eq!(r["created_at"], "2026-03-02T10:00:00+01:00");
    t.clock
        .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 7, 1, 9, 0, 0).unwrap());
    let r = t.new_ticket("Ora", "Testo").await;
    assert_eq!(r["created_at"], "2026-07-01T11:00:00+02:00");
});

both!(numbers_count_per_year_and_never_repeat, |t| {
    // Twelve intakes at once: twelve numbers of the year, none twice and, as
    // none failed, none skipped.
    let calls = (0..12).map(|k| {
        t.post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": format!("Chiamata {k}"), "body": "Testo"}),
        )
    });
    let mut seqs: Vec<i64> = futures_util::future::join_all(calls)
        .await
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.body);
            let n = r.body["number"].as_str().unwrap();
            assert!(n.starts_with("2026-"), "{n}");
            n[5..].parse().unwrap()
        })
        .collect();
    seqs.sort();
    assert_eq!(seqs, (1..=12).collect::<Vec<i64>>());

    // A year whose counter was already advanced (numbers given before an
    // upgrade, or by `demo generate`) continues from it…
    t.app
        .db
        .write(|c| {
            use diesel::RunQueryDsl;
            diesel::sql_query("INSERT INTO ticket_counters (year, last_value) VALUES (2027, 41)")
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    t.clock
        .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2027, 1, 1, 9, 0, 0).unwrap());
    assert_eq!(
        t.new_ticket("Nuovo anno", "Testo").await["number"],
        "2027-000042"
    );
    assert_eq!(
        t.new_ticket("Nuovo anno", "Testo").await["number"],
        "2027-000043"
    );
    // … and a year without one starts at 1.
    t.clock
        .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2028, 1, 1, 9, 0, 0).unwrap());
    assert_eq!(
        t.new_ticket("Ancora", "Testo").await["number"],
        "2028-000001"
    );
    // Past six digits the number grows a digit, spelled alike by both
    // backends (PostgreSQL spells it in SQL, migration 000020; SQLite by
    // `domain::number::format`).
    t.app
        .db
        .write(|c| {
            use diesel::RunQueryDsl;
            diesel::sql_query(
                "INSERT INTO ticket_counters (year, last_value) VALUES (2029, 999998)",
            )
            .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    t.clock
        .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2029, 6, 1, 9, 0, 0).unwrap());
    for expected in ["2029-999999", "2029-1000000"] {
        let r = t.new_ticket("Molti", "Testo").await;
        assert_eq!(r["number"], expected);
        assert_eq!(
            sportello::domain::number::parse(expected).as_deref(),
            Some(expected)
        );
        // The ticket's first event names the number it was given.
        let created = r["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "created")
            .unwrap_or_else(|| panic!("{r}"));
        assert_eq!(created["data"]["number"], expected);
    }
    // Back in 2026 the count goes on.
    t.clock
        .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 1, 9, 0, 0).unwrap());
    assert_eq!(
        t.new_ticket("Ancora", "Testo").await["number"],
        "2026-000013"
    );
});

both!(hot_inserts_stay_prepared, |t| {
    use sportello::domain::{ArticleKind, Channel};
    use sportello::intake::{self, ContactRef, IntakeRequest};
    use sportello::service::contacts::ContactDetails;
    use sportello::store::{mail, outbox, tickets, DbConn};

    // Two new requests from new people, on one connection: every insert of an
    // intake (with its service-level clocks), a ticket's save, an outgoing
    // mail and a journaled message, each with optional values both present
    // and missing.
    let r = t
        .post(
            "/api/v1/sla-policies",
            &t.fx.admin.token,
            json!({"name": "Standard", "first_response_minutes": 60, "resolution_minutes": 480}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let now = t.app.clock.now_db();
    let calendar = t.app.config.calendar();
    let request = |k: usize| {
        intake::prepare(
            IntakeRequest {
                channel: Channel::Web,
                contact: ContactRef::Details(ContactDetails {
                    name: Some(format!("Cittadina {k}")),
                    email: Some(format!("cittadina{k}@example.it")),
                    contract_number: (k == 0).then(|| "C-1".to_string()),
                    ..Default::default()
                }),
                topic_id: None,
                subject_id: None,
                queue_id: None,
                subject: format!("Richiesta {k}"),
                body: "La stampante non stampa".into(),
                priority: None,
                attachments: vec![],
                idempotency_key: None,
                ticket_id: None,
                author_agent_id: None,
                article_kind: ArticleKind::Inbound,
                public: true,
                html: (k == 1).then(|| "<p>La stampante</p>".to_string()),
                fields: None,
            },
            1 << 20,
        )
        .unwrap()
    };
    let prepared = [request(0), request(1)];
    let statements: Vec<String> = t
        .app
        .db
        .write(move |c| {
            use diesel::RunQueryDsl;
            for (k, p) in prepared.iter().enumerate() {
                let out = intake::apply(c, p, now, &calendar)?;
                // A ticket locked with its clocks and saved back, as a
                // request added to it does.
                let (row, clocks) =
                    tickets::lock_with_live_clocks(c, out.ticket_id)?.expect("the new ticket");
                let pg = matches!(c, DbConn::Postgresql(_));
                assert_eq!(
                    clocks.is_some(),
                    pg,
                    "read with the lock on PostgreSQL only"
                );
                if let Some(clocks) = clocks {
                    // First response and resolution, both running.
                    assert_eq!(clocks.len(), 2, "{clocks:?}");
                    assert!(clocks
                        .iter()
                        .all(|k| k.ticket_id == row.id && k.stopped_at.is_none()));
                }
                tickets::save(c, row.id, &row.changes())?;
                let new = outbox::NewOutbox {
                    ticket_id: Some(out.ticket_id),
                    article_id: (k == 0).then_some(out.article_id),
                    kind: "ack".into(),
                    mailbox_id: None,
                    from_address: "help@example.it".into(),
                    to_address: format!("cittadina{k}@example.it"),
                    reply_to: (k == 1).then(|| "noreply@example.it".to_string()),
                    subject: "Ricevuta".into(),
                    body: "Grazie".into(),
                    message_id: format!("<ack{k}@example.it>"),
                    in_reply_to: None,
                    refs: String::new(),
                    auto_submitted: true,
                    state: "queued".into(),
                    next_attempt_at: now,
                    created_at: now,
                };
                // The web form's acknowledgement, its Message-ID remembered
                // and its tracking link's access granted with it.
                let access = outbox::Access {
                    token_hash: format!("hash-{k}"),
                    language: "it".into(),
                };
                match k {
                    0 => outbox::insert(c, &new)?,
                    _ => outbox::insert_remembered(c, &new, out.ticket_id, Some(&access))?,
                };
                assert_eq!(
                    sportello::store::public::ticket_of_token(c, "hash-1")?,
                    (k == 1).then(|| (out.ticket_id, "it".to_string()))
                );
                let journal = |c: &mut DbConn, new: &mail::NewInbound, mark: &mail::InboundMark| {
                    // A message with a Message-ID is journaled with its thread entry.
                    let thread = mail::ThreadEntry {
                        message_id: "<m1@example.it>",
                        ticket_id: out.ticket_id,
                        mailbox_id: None,
                        opened: true,
                    };
                    match k {
                        0 => mail::insert_inbound_marked(c, new, mark),
                        _ => {
                            // With the acknowledgement's question (a contact who
                            // does not exist: no name, no language).
                            let ack = outbox::AckQuestion {
                                to: "cittadina1@example.it",
                                kind: "ack",
                                since: now - chrono::Duration::hours(1),
                                contact_id: -1,
                            };
                            let (id, _, answer) =
                                mail::journal_with_thread(c, new, mark, &thread, Some(&ack))?;
                            let answer = answer.expect("the question is answered");
                            assert_eq!((answer.sent, answer.contact), (1, None));
                            Ok(id)
                        }
                    }
                };
                journal(
                    c,
                    &mail::NewInbound {
                        mailbox_id: None,
                        dedupe_key: format!("gate:<m{k}@example.it>"),
                        message_id: (k == 0).then(|| format!("<m{k}@example.it>")),
                        source: "mailgate".into(),
                        raw: b"From: a@b.it\r\n\r\nciao".to_vec(),
                        size: 22,
                        sha256: "00".into(),
                        imap_uid: (k == 1).then_some(7),
                        uidvalidity: None,
                        received_at: now,
                    },
                    &mail::InboundMark {
                        status: "ingested",
                        cause: None,
                        detail: None,
                        ticket_id: Some(out.ticket_id),
                        article_id: (k == 0).then_some(out.article_id),
                        from: Some("a@b.it"),
                        subject: None,
                        at: now,
                    },
                )?;
            }
            #[derive(diesel::QueryableByName)]
            struct Statement {
                #[diesel(sql_type = diesel::sql_types::Text)]
                statement: String,
            }
            Ok(match c {
                DbConn::Postgresql(pg) => {
                    // The session runs without JIT (see `DbUrl::connect`).
                    let jit: Statement =
                        diesel::sql_query("SELECT current_setting('jit') AS statement")
                            .get_result(pg)?;
                    assert_eq!(jit.statement, "off");
                    diesel::sql_query("SELECT statement FROM pg_prepared_statements")
                        .load::<Statement>(pg)?
                        .into_iter()
                        .map(|s| s.statement)
                        .collect()
                }
                // SQLite has no list of a connection's prepared statements:
                // there the test checks only what was written.
                DbConn::Sqlite(_) => vec![],
            })
        })
        .await
        .unwrap();
    if t.kind != crate::harness::Kind::Sqlite {
        for table in [
            "INSERT INTO \"contacts\"",
            "INSERT INTO \"audit_log\"",
            // The ticket and its number: one statement; with the check
            // that the pool's copy of the catalogue is current (the first
            // request finds it is not: the policy above changed it) or not.
            "SELECT next_ticket_number_text($1), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 FROM \"catalogue_version\" WHERE (\"catalogue_version\".\"version\" = $14)",
            "INSERT INTO \"tickets\" (\"number\", \"subject\", \"channel\", \"state\", \"priority\", \"queue_id\", \"assignee_id\", \"contact_id\", \"topic_id\", \"subject_id\", \"created_at\", \"updated_at\", \"first_response_at\") VALUES (next_ticket_number_text(",
            // The article and its events: one statement.
            "INSERT INTO articles",
            "INSERT INTO ticket_events",
            "INSERT INTO sla_clocks",
            "INSERT INTO \"outbox\"",
            "INSERT INTO \"inbound_messages\"",
            "WITH j AS (INSERT INTO inbound_messages",
            "UPDATE tickets SET subject = $1",
            "FOR UPDATE OF tickets",
            "p AS (INSERT INTO public_access",
        ] {
            assert!(
                statements.iter().any(|s| s.contains(table)),
                "{table} is not among the prepared statements: {statements:#?}"
            );
        }
        // A new ticket's first article, its events and its clocks: one statement.
        assert!(
            statements.iter().any(|s| s.contains("INSERT INTO articles")
                && s.contains("INSERT INTO ticket_events")
                && s.contains("INSERT INTO sla_clocks")
                && s.contains("INSERT INTO sla_clock_events")),
            "the article, its events and clocks are separate statements: {statements:#?}"
        );
    }
    // What was bound as NULL reads back as missing, what was there as there.
    let r = t
        .get("/api/v1/tickets?q=stampante", &t.fx.operator.token)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let tickets = r.body["items"].as_array().unwrap();
    assert_eq!(tickets.len(), 2, "{}", r.body);
    for ticket in tickets {
        assert!(ticket["assignee"].is_null(), "{ticket}");
        assert!(ticket["first_response_at"].is_null(), "{ticket}");
        assert_eq!(ticket["sla"]["state"], "running", "{ticket}");
    }
    let contact = tickets[1]["contact"]["id"].as_i64().unwrap();
    let r = t
        .get(&format!("/api/v1/contacts/{contact}"), &t.fx.operator.token)
        .await;
    assert_eq!(r.body["contract_number"], "C-1", "{}", r.body);
});

// A ticket's detail names every article's author, also one who is no longer
// the ticket's contact, and shows the contact it has now in full.
both!(the_detail_names_an_earlier_contacts_article, |t| {
    let op = &t.fx.operator.token;
    let r = t
        .post(
            "/api/v1/tickets",
            op,
            json!({"subject": "Modulo", "body": "Scrivo dal sito", "channel": "web",
                "contact": {"name": "Dušan Novák", "email": "dusan@example.cz"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let (id, first) = (r.body["id"].clone(), r.body["contact"]["id"].clone());
    let r = t
        .post(
            "/api/v1/contacts",
            op,
            json!({"name": "Ольга Смирнова", "emails": ["olga@example.ru"], "phones": ["+39 06 765 4321"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let second = r.body["id"].clone();
    let r = t
        .patch(
            &format!("/api/v1/tickets/{id}"),
            op,
            json!({"contact_id": second}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t.get(&format!("/api/v1/tickets/{id}"), op).await;
    assert_eq!(r.body["contact"]["id"], second);
    assert_eq!(r.body["contact_details"]["name"], "Ольга Смирнова");
    assert_eq!(
        r.body["contact_details"]["emails"],
        json!(["olga@example.ru"])
    );
    assert_eq!(r.body["contact_details"]["phones"], json!(["+39067654321"]));
    let author = &r.body["articles"][0]["author_contact"];
    assert_eq!(author["id"], first);
    assert_eq!(author["name"], "Dušan Novák");
});

// A new ticket's events, in order: created, then its first article, named by
// its id.
both!(a_new_tickets_events_name_its_article, |t| {
    let op = &t.fx.operator.token;
    let r = t
        .post(
            "/api/v1/tickets",
            op,
            json!({"subject": "Carta bloccata", "body": "Il cliente ha la carta bloccata.", "channel": "phone",
                "contact": {"name": "Luca Bianchi", "phone": "+39 06 111 2222"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let events = r.body["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["created", "article_added"]);
    assert!(events[0]["id"].as_i64() < events[1]["id"].as_i64());
    assert_eq!(events[0]["data"]["number"], r.body["number"]);
    let added = &events[1]["data"];
    assert_eq!(added["article_id"], r.body["articles"][0]["id"]);
    assert_eq!(added["kind"], "phone");
    assert_eq!(added["channel"], "phone");
    assert_eq!(added["attachments"], 0);
});
