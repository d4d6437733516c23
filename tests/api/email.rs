//! The e-mail channel through the mailgate: a corpus of real-shaped messages
//! (Italian, Russian in windows-1251 and KOI8-R, Czech in ISO-8859-2, HTML with
//! scripts, attachments with non-ASCII names, robots, bounces, garbage).

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::both;
use crate::harness::{mail_fixture, mailgate, TestApp};

async fn ticket(t: &TestApp, id: &Value) -> Value {
    t.get(&format!("/api/v1/tickets/{id}"), &t.fx.operator.token)
        .await
        .body
}

async fn mailbox(t: &TestApp, name: &str, address: &str, queue: i64) -> i64 {
    let r = t
        .post("/api/v1/mailboxes", &t.fx.admin.token, json!({"name": name, "address": address, "queue_id": queue,
            "imap_host": "127.0.0.1", "imap_user": "u", "imap_password": "s3cret-imap", "imap_tls": "none"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        !r.raw.windows(11).any(|w| w == b"s3cret-imap"),
        "the password is never returned"
    );
    assert_eq!(r.body["has_password"], true);
    r.body["id"].as_i64().unwrap()
}

fn reply(
    to_subject: &str,
    from: &str,
    body: &str,
    message_id: &str,
    in_reply_to: Option<&str>,
) -> Vec<u8> {
    let irt = in_reply_to
        .map(|i| format!("In-Reply-To: <{i}>\r\nReferences: <{i}>\r\n"))
        .unwrap_or_default();
    format!(
        "From: {from}\r\nTo: assistenza@sportello.test\r\nSubject: {to_subject}\r\nMessage-ID: <{message_id}>\r\n{irt}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

both!(corpus_in_every_charset, |t| {
    let cases = [
        (
            "it_plain.eml",
            "Sconto non applicato al ristorante convenzionato – perché?",
            "Maria Rossi",
            "Perché? Città: Siena.",
        ),
        (
            "ru_cp1251.eml",
            "Не работает рабочая станция",
            "Ирина Петрова",
            "синий экран",
        ),
        (
            "ru_koi8.eml",
            "Почта на телефоне",
            "Сергей Иванов",
            "служебный телефон",
        ),
        (
            "cs_iso88592.eml",
            "Telefon nesynchronizuje poštu",
            "Jiří Dvořák",
            "můj služební telefon od včerejška",
        ),
    ];
    for (file, subject, name, text) in cases {
        let r = mailgate(&t, mail_fixture(file), None).await;
        assert_eq!(r.status, 201, "{file}: {}", r.body);
        assert_eq!(r.body["outcome"], "ticket");
        let tk = ticket(&t, &r.body["ticket_id"]).await;
        assert_eq!(tk["subject"], subject, "{file}");
        assert_eq!(tk["channel"], "email");
        assert_eq!(tk["contact"]["name"], name, "{file}");
        let body = tk["articles"][0]["body"].as_str().unwrap();
        assert!(body.contains(text), "{file}: {body}");
        assert_eq!(tk["articles"][0]["kind"], "inbound");
        assert_eq!(tk["articles"][0]["public"], true);
    }
    // Searchable in their own scripts.
    let r = t
        .get(
            "/api/v1/tickets?q=%D1%81%D0%B8%D0%BD%D0%B8%D0%B9",
            &t.fx.operator.token,
        )
        .await; // "синий"
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
});

both!(html_only_is_converted_and_sanitized, |t| {
    let r = mailgate(&t, mail_fixture("html_only_script.eml"), None).await;
    let tk = ticket(&t, &r.body["ticket_id"]).await;
    let article = &tk["articles"][0];
    let body = article["body"].as_str().unwrap();
    assert!(
        body.contains("Il modulo di richiesta non si invia."),
        "{body}"
    );
    assert!(body.contains("Grazie & saluti"), "{body}");
    assert!(!body.contains("alert") && !body.contains("<"), "{body}");
    let html = article["html"].as_str().unwrap();
    assert!(html.contains("<b>richiesta</b>"));
    for bad in ["<script", "onclick", "onerror", "alert("] {
        assert!(!html.contains(bad), "{bad} survived sanitizing: {html}");
    }
});

both!(attachments_with_non_ascii_names, |t| {
    let r = mailgate(&t, mail_fixture("alternative_attachment.eml"), None).await;
    let tk = ticket(&t, &r.body["ticket_id"]).await;
    let article = &tk["articles"][0];
    assert_eq!(
        article["body"], "Allego la fattura contestata.",
        "text/plain is preferred"
    );
    let att = &article["attachments"][0];
    assert_eq!(att["filename"], "fattura n°12 è.pdf");
    assert_eq!(att["content_type"], "application/pdf");
    assert_eq!(att["size"], 26 * 50);
});

both!(the_same_message_twice_is_one_ticket, |t| {
    let a = mailgate(&t, mail_fixture("it_plain.eml"), None).await;
    let b = mailgate(&t, mail_fixture("it_plain.eml"), None).await;
    assert_eq!(a.body["outcome"], "ticket");
    assert_eq!(b.status, 200);
    assert_eq!(b.body["outcome"], "duplicate");
    assert_eq!(t.count("tickets").await, 1);
    assert_eq!(t.count("inbound_messages").await, 1);
});

both!(replies_thread_by_tag_and_by_references, |t| {
    let first = mailgate(&t, mail_fixture("it_plain.eml"), None).await;
    let tk = ticket(&t, &first.body["ticket_id"]).await;
    let number = tk["number"].as_str().unwrap();
    // By tag, however the prefixes stack, with the quoted history cut.
    let r = mailgate(&t, reply(&format!("R: Re: AW: [#{number}] Sconto"), "maria.rossi@example.it",
        "Ho trovato lo scontrino.\r\n\r\nIl giorno lun 2 mar 2026 Help desk ha scritto:\r\n> Ci serve lo scontrino", "r1@example.it", None), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["ticket_id"], first.body["ticket_id"]);
    assert_eq!(r.body["created"], false);
    // By References, with a subject the customer rewrote.
    let r = mailgate(
        &t,
        reply(
            "scontrino allegato",
            "maria.rossi@example.it",
            "Ecco di nuovo.",
            "r2@example.it",
            Some("it-plain-001@example.it"),
        ),
        None,
    )
    .await;
    assert_eq!(r.body["ticket_id"], first.body["ticket_id"]);
    let tk = ticket(&t, &first.body["ticket_id"]).await;
    let bodies: Vec<&str> = tk["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies[1], "Ho trovato lo scontrino.");
    assert_eq!(bodies[2], "Ecco di nuovo.");
    // The cut history is still in the original.
    let original = t
        .get(
            &format!("/api/v1/articles/{}/original", tk["articles"][1]["id"]),
            &t.fx.operator.token,
        )
        .await;
    assert_eq!(original.status, 200);
    assert!(String::from_utf8_lossy(&original.raw).contains("> Ci serve lo scontrino"));
    let none = t
        .get("/api/v1/articles/999999/original", &t.fx.operator.token)
        .await;
    assert_eq!(none.status, 404);
    // A tag naming no ticket starts a new one.
    let r = mailgate(
        &t,
        reply(
            "[#2026-999999] ciao",
            "x@example.it",
            "?",
            "r3@example.it",
            None,
        ),
        None,
    )
    .await;
    assert_eq!(r.body["created"], true);
});

both!(replies_reopen_resolved_but_not_long_closed, |t| {
    let first = mailgate(&t, mail_fixture("it_plain.eml"), None).await;
    let id = first.body["ticket_id"].clone();
    let number = ticket(&t, &id).await["number"]
        .as_str()
        .unwrap()
        .to_string();
    t.post(
        &format!("/api/v1/tickets/{id}/resolve"),
        &t.fx.operator.token,
        json!({"resolution": "Sconto riconosciuto"}),
    )
    .await;
    let r = mailgate(
        &t,
        reply(
            &format!("Re: [#{number}] Sconto"),
            "maria.rossi@example.it",
            "Non ancora!",
            "x1@example.it",
            None,
        ),
        None,
    )
    .await;
    assert_eq!(r.body["ticket_id"], id);
    assert_eq!(
        ticket(&t, &id).await["state"],
        "open",
        "a reply reopens a resolved ticket"
    );
    t.post(
        &format!("/api/v1/tickets/{id}/close"),
        &t.fx.operator.token,
        json!({}),
    )
    .await;
    t.clock.advance(chrono::Duration::days(15));
    let r = mailgate(
        &t,
        reply(
            &format!("Re: [#{number}] Sconto"),
            "maria.rossi@example.it",
            "Di nuovo lo stesso problema",
            "x2@example.it",
            None,
        ),
        None,
    )
    .await;
    assert_eq!(
        r.body["created"], true,
        "closed 15 days ago (limit 14): a new ticket"
    );
    let new = ticket(&t, &r.body["ticket_id"]).await;
    assert_eq!(new["links"][0]["kind"], "follow_up");
    assert_eq!(new["links"][0]["ticket_id"], id);
    assert_eq!(ticket(&t, &id).await["state"], "closed");
});

both!(robots_go_to_review_and_can_be_released_or_discarded, |t| {
    for (file, cause) in [
        ("auto_reply.eml", "auto_reply"),
        ("ooo_subject.eml", "auto_reply"),
        ("malformed.eml", "malformed"),
    ] {
        let r = mailgate(&t, mail_fixture(file), None).await;
        assert_eq!(r.status, 200, "{file}: {}", r.body);
        assert_eq!(r.body["outcome"], "quarantined", "{file}");
        assert_eq!(r.body["cause"], cause, "{file}");
    }
    assert_eq!(
        t.count("tickets").await,
        0,
        "robots and garbage never open tickets"
    );
    // Agents (not only admins) see the review queue, with the raw source.
    let list = t.get("/api/v1/mail/review", &t.fx.operator.token).await;
    assert_eq!(list.status, 200);
    let items = list.body.as_array().unwrap().clone();
    assert_eq!(items.len(), 3);
    let malformed = items.iter().find(|i| i["cause"] == "malformed").unwrap();
    let one = t
        .get(
            &format!("/api/v1/mail/review/{}", malformed["id"]),
            &t.fx.operator.token,
        )
        .await;
    assert!(one.body["raw"]
        .as_str()
        .unwrap()
        .contains("this is not an e-mail at all"));
    let r = t
        .post(
            &format!("/api/v1/mail/review/{}/release", malformed["id"]),
            &t.fx.operator.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 409, "garbage cannot become a ticket");
    let r = t
        .post(
            &format!("/api/v1/mail/review/{}/discard", malformed["id"]),
            &t.fx.operator.token,
            json!({"reason": "spazzatura"}),
        )
        .await;
    assert_eq!(r.status, 204);
    // A person's mail that looked automatic is released into a ticket.
    let ooo = items
        .iter()
        .find(|i| i["subject"] == "Out of Office: Re: printer")
        .unwrap();
    let r = t
        .post(
            &format!("/api/v1/mail/review/{}/release", ooo["id"]),
            &t.fx.operator.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["outcome"], "ticket");
    let r = t
        .post(
            &format!("/api/v1/mail/review/{}/release", ooo["id"]),
            &t.fx.operator.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 409, "released once");
    assert_eq!(
        t.get("/api/v1/mail/review", &t.fx.operator.token)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
});

both!(bounces_note_the_ticket_and_flag_the_address, |t| {
    let first = mailgate(&t, mail_fixture("it_plain.eml"), None).await;
    let raw = String::from_utf8(mail_fixture("bounce.eml"))
        .unwrap()
        .replace("{ORIGINAL}", "it-plain-001@example.it");
    let r = mailgate(&t, raw.into_bytes(), None).await;
    assert_eq!(r.body["outcome"], "quarantined");
    assert_eq!(r.body["cause"], "bounce");
    assert_eq!(t.count("tickets").await, 1, "a bounce never opens a ticket");
    let tk = ticket(&t, &first.body["ticket_id"]).await;
    let note = tk["articles"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(note["kind"], "note");
    assert_eq!(note["public"], false);
    assert!(note["body"]
        .as_str()
        .unwrap()
        .contains("maria.rossi@example.it"));
    assert!(note["body"].as_str().unwrap().contains("5.1.1"));
    let flagged = t
        .app
        .db
        .read(|c| {
            use diesel::prelude::*;
            use sportello::store::schema::contact_emails::dsl::*;
            Ok(contact_emails
                .filter(bounced_at.is_not_null())
                .select(email)
                .load::<String>(c)?)
        })
        .await
        .unwrap();
    assert_eq!(flagged, vec!["maria.rossi@example.it".to_string()]);
});

both!(one_reply_to_two_mailboxes_threads_once, |t| {
    // A customer answers to two of the desk's addresses at once: both copies
    // thread to the ticket, and its Message-ID is remembered once.
    mailbox(
        &t,
        "assistenza",
        "assistenza@sportello.test",
        t.fx.first_level,
    )
    .await;
    mailbox(&t, "reclami", "reclami@sportello.test", t.fx.care).await;
    let first = mailgate(
        &t,
        reply(
            "Stampante",
            "luca.bianchi@example.it",
            "Non stampa",
            "q1@example.it",
            None,
        ),
        Some("assistenza"),
    )
    .await;
    assert_eq!(first.body["created"], true, "{}", first.body);
    let answer = reply(
        "Re: Stampante",
        "luca.bianchi@example.it",
        "Ancora niente",
        "q2@example.it",
        Some("q1@example.it"),
    );
    for mb in ["assistenza", "reclami"] {
        let r = mailgate(&t, answer.clone(), Some(mb)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["outcome"], "ticket", "{}", r.body);
        assert_eq!(r.body["created"], false, "{}", r.body);
        assert_eq!(r.body["ticket_id"], first.body["ticket_id"]);
    }
    let id = first.body["ticket_id"].as_i64().unwrap();
    let entries = t
        .app
        .db
        .read(move |c| {
            use diesel::prelude::*;
            use sportello::store::schema::mail_threads::dsl::*;
            Ok(mail_threads
                .filter(ticket_id.eq(id))
                .filter(direction.eq("in"))
                .select(message_id)
                .order(message_id)
                .load::<String>(c)?)
        })
        .await
        .unwrap();
    assert_eq!(
        entries,
        vec!["q1@example.it".to_string(), "q2@example.it".to_string()]
    );
});

both!(one_mail_two_mailboxes_two_linked_tickets, |t| {
    mailbox(
        &t,
        "assistenza",
        "assistenza@sportello.test",
        t.fx.first_level,
    )
    .await;
    let reclami = mailbox(&t, "reclami", "reclami@sportello.test", t.fx.care).await;
    let a = mailgate(&t, mail_fixture("it_plain.eml"), Some("assistenza")).await;
    let b = mailgate(&t, mail_fixture("it_plain.eml"), Some("reclami")).await;
    assert_eq!(a.body["created"], true);
    assert_eq!(
        b.body["created"], true,
        "each mailbox's queue gets its ticket"
    );
    let tb = ticket(&t, &b.body["ticket_id"]).await;
    assert_eq!(tb["queue"]["id"], t.fx.care);
    assert_eq!(tb["links"][0]["kind"], "sibling");
    assert_eq!(tb["links"][0]["ticket_id"], a.body["ticket_id"]);
    let again = mailgate(&t, mail_fixture("it_plain.eml"), Some("reclami")).await;
    assert_eq!(again.body["outcome"], "duplicate");
    // Mail from our own address is a loop.
    let r = mailgate(
        &t,
        reply(
            "ciao",
            "reclami@sportello.test",
            "loop",
            "loop@sportello.test",
            None,
        ),
        Some("assistenza"),
    )
    .await;
    assert_eq!(r.body["cause"], "loop");
    // A mailbox's new address is ours from the next message on (the
    // addresses are kept in memory with the catalogue), the old one no more.
    let r = t
        .patch(
            &format!("/api/v1/mailboxes/{reclami}"),
            &t.fx.admin.token,
            json!({"address": "reclami.nuovo@sportello.test"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = mailgate(
        &t,
        reply(
            "ciao",
            "reclami.nuovo@sportello.test",
            "loop-2",
            "loop-2@sportello.test",
            None,
        ),
        Some("assistenza"),
    )
    .await;
    assert_eq!(r.body["cause"], "loop", "{}", r.body);
    let r = mailgate(
        &t,
        reply(
            "ciao",
            "reclami@sportello.test",
            "not-a-loop",
            "not-a-loop@sportello.test",
            None,
        ),
        Some("assistenza"),
    )
    .await;
    assert_eq!(r.body["outcome"], "ticket", "{}", r.body);
    // A reply into that ticket from the mailbox's address of a moment ago
    // is a loop too.
    let r = t
        .patch(
            &format!("/api/v1/mailboxes/{reclami}"),
            &t.fx.admin.token,
            json!({"address": "reclami.terzo@sportello.test"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = mailgate(
        &t,
        reply(
            "Re: ciao",
            "reclami.terzo@sportello.test",
            "loop-3",
            "loop-3@sportello.test",
            Some("not-a-loop@sportello.test"),
        ),
        Some("assistenza"),
    )
    .await;
    assert_eq!(r.body["cause"], "loop", "{}", r.body);
    let r = mailgate(&t, mail_fixture("it_plain.eml"), Some("nowhere")).await;
    assert_eq!(r.status, 422);
});

both!(mailgate_and_mailboxes_need_the_right_people, |t| {
    let req = TestRequest::default()
        .method(Method::POST)
        .uri("/api/v1/inbound/email")
        .set_payload(mail_fixture("it_plain.eml"));
    assert_eq!(t.send(req).await.status, 401);
    let r = t
        .post(
            "/api/v1/mailboxes",
            &t.fx.supervisor.token,
            json!({"name": "x", "address": "x@x.it", "queue_id": 1}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = t
        .post(
            "/api/v1/mailboxes",
            &t.fx.admin.token,
            json!({"name": "x", "address": "not-an-address", "queue_id": 1}),
        )
        .await;
    assert_eq!(r.status, 422);
    let r = t
        .post(
            "/api/v1/mailboxes",
            &t.fx.admin.token,
            json!({"name": "x", "address": "x@x.it", "queue_id": 1, "imap_tls": "maybe"}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["field"], "imap_tls");
    let r = mailgate(&t, vec![], None).await;
    assert_eq!(r.status, 422);
});

both!(a_message_that_cannot_be_processed_is_kept_for_review, |t| {
    // A Russian letter longer than a ticket's text may be: intake refuses it
    // inside the ingestion transaction, which is undone; the message is then
    // journaled on its own, quarantined with the cause, raw source kept.
    let body = "Принтер не печатает. ".repeat(12_000);
    let raw = format!(
        "From: Иван Петров <ivan@example.ru>\r\nTo: helpdesk@sportello.test\r\nSubject: =?utf-8?b?0J/RgNC40L3RgtC10YA=?=\r\nMessage-ID: <long-1@example.ru>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    );
    let r = mailgate(&t, raw.clone(), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["outcome"], "quarantined", "{}", r.body);
    assert_eq!(r.body["cause"], "rejected", "{}", r.body);
    assert_eq!(
        t.count("tickets").await,
        0,
        "nothing of the undone work stays"
    );
    assert_eq!(
        t.count("contacts").await,
        0,
        "nothing of the undone work stays"
    );
    let list = t.get("/api/v1/mail/review", &t.fx.operator.token).await;
    let items = list.body.as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", list.body);
    assert_eq!(items[0]["id"], r.body["inbound_id"]);
    assert!(
        items[0]["detail"].as_str().unwrap().contains("body"),
        "{}",
        items[0]
    );
    let one = t
        .get(
            &format!("/api/v1/mail/review/{}", items[0]["id"]),
            &t.fx.operator.token,
        )
        .await;
    assert!(one.body["raw"]
        .as_str()
        .unwrap()
        .contains("Принтер не печатает."));
    // Delivered again, it is recognised and not journaled twice.
    let again = mailgate(&t, raw, None).await;
    assert_eq!(again.body["outcome"], "duplicate", "{}", again.body);
    assert_eq!(again.body["inbound_id"], r.body["inbound_id"]);
    assert_eq!(t.count("inbound_messages").await, 1);
});

both!(
    one_message_delivered_at_once_many_times_is_one_ticket,
    |t| {
        // The MTA retries while the first delivery is still being processed: the
        // deliveries meet at the journal's key and all but one are duplicates.
        let raw = mail_fixture("it_plain.eml");
        let deliveries = (0..6).map(|_| mailgate(&t, raw.clone(), None));
        let results = futures_util::future::join_all(deliveries).await;
        let mut outcomes: Vec<String> = results
            .iter()
            .map(|r| {
                assert!(r.status.is_success(), "{}", r.body);
                r.body["outcome"].as_str().unwrap().to_string()
            })
            .collect();
        outcomes.sort();
        assert_eq!(
            outcomes,
            [
                "duplicate",
                "duplicate",
                "duplicate",
                "duplicate",
                "duplicate",
                "ticket"
            ]
        );
        assert_eq!(t.count("tickets").await, 1);
        assert_eq!(t.count("inbound_messages").await, 1);
        assert_eq!(t.count("outbox").await, 1, "one acknowledgement");
    }
);

// The acknowledgement goes to the address the message came from, which may be
// the contact's second one, by the contact's name and in their language.
both!(the_acknowledgement_answers_the_address_that_wrote, |t| {
    let r = t
        .post(
            "/api/v1/contacts",
            &t.fx.operator.token,
            json!({"name": "Jana Dvořáková", "language": "en",
                "emails": ["jana.dvorakova@urad.cz", "jana@example.cz"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let contact = r.body["id"].clone();
    let raw = "From: Jana <Jana@Example.CZ>\r\nTo: assistenza@sportello.test\r\n\
        Subject: =?utf-8?q?Tisk=C3=A1rna_netiskne?=\r\nMessage-ID: <jana-1@example.cz>\r\n\
        Date: Mon, 02 Mar 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
        Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
        Dobrý den, tiskárna v kanceláři netiskne.\r\n";
    let r = mailgate(&t, raw, None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["outcome"], "ticket", "{}", r.body);
    let tk = ticket(&t, &r.body["ticket_id"]).await;
    assert_eq!(tk["contact"]["id"], contact, "{tk}");
    let sent: Vec<(String, String, Option<String>)> = t
        .app
        .db
        .read(|c| {
            use diesel::prelude::*;
            use sportello::store::schema::outbox::dsl::*;
            Ok(outbox.select((to_address, body, in_reply_to)).load(c)?)
        })
        .await
        .unwrap();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (to, text, answers) = &sent[0];
    assert_eq!(to, "jana@example.cz");
    assert!(text.starts_with("Dear Jana Dvořáková,"), "{text}");
    assert_eq!(answers.as_deref(), Some("jana-1@example.cz"));
});

// A message journaled but never processed (by an earlier version, which
// processed in a second transaction) is processed when it comes again, under
// its entry; after that it is a duplicate.
both!(
    a_message_journaled_but_not_processed_is_processed_when_it_comes_again,
    |t| {
        let raw = "From: Marco Verdi <marco@example.it>\r\nTo: assistenza@sportello.test\r\n\
        Subject: Punti non accreditati\r\nMessage-ID: <legacy-1@example.it>\r\n\
        Date: Mon, 02 Mar 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\r\nBuongiorno, i punti della spesa non ci sono.\r\n";
        let now = chrono::Utc::now().naive_utc();
        let entry = t
            .app
            .db
            .write(move |c| {
                use sha2::Digest;
                sportello::store::mail::insert_inbound_marked(
                    c,
                    &sportello::store::mail::NewInbound {
                        mailbox_id: None,
                        dedupe_key: "gate:legacy-1@example.it".into(),
                        message_id: Some("legacy-1@example.it".into()),
                        source: "mailgate".into(),
                        raw: raw.as_bytes().to_vec(),
                        size: raw.len() as i64,
                        sha256: hex::encode(sha2::Sha256::digest(raw.as_bytes())),
                        imap_uid: None,
                        uidvalidity: None,
                        received_at: now,
                    },
                    &sportello::store::mail::InboundMark {
                        status: "received",
                        cause: None,
                        detail: None,
                        ticket_id: None,
                        article_id: None,
                        from: None,
                        subject: None,
                        at: now,
                    },
                )
            })
            .await
            .unwrap();
        let r = mailgate(&t, raw, None).await;
        assert_eq!(r.body["outcome"], "ticket", "{}", r.body);
        assert_eq!(r.body["inbound_id"], entry, "{}", r.body);
        assert_eq!(t.count("inbound_messages").await, 1);
        assert_eq!(t.count("tickets").await, 1);
        let r = mailgate(&t, raw, None).await;
        assert_eq!(r.body["outcome"], "duplicate", "{}", r.body);
        assert_eq!(r.body["inbound_id"], entry, "{}", r.body);
        assert_eq!(t.count("tickets").await, 1);
    }
);

/// `SPORTELLO_ACK_LIMIT_PER_HOUR` acknowledgements to one address an hour
/// (a mail loop with a person's address must not flood it): the requests
/// still open tickets, the acknowledgements past the limit are not written,
/// other addresses are not held back, and an hour later the count starts over.
async fn acknowledgements_stop_at_the_hourly_limit(kind: crate::harness::Kind) {
    let t = TestApp::start_with(kind, &[("SPORTELLO_ACK_LIMIT_PER_HOUR", "2")]).await;
    let message = |from: &str, n: usize| {
        format!(
            "From: Mario Rossi <{from}>\r\nTo: assistenza@sportello.test\r\n\
             Subject: Richiesta numero {n}\r\nMessage-ID: <limite-{n}@example.it>\r\n\
             Date: Mon, 02 Mar 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nBuongiorno, è la richiesta {n}.\r\n"
        )
    };
    let acks_to = |address: &'static str| {
        let t = &t;
        async move {
            t.app
                .db
                .read(move |c| {
                    use diesel::prelude::*;
                    use sportello::store::schema::outbox::dsl::*;
                    Ok(outbox
                        .filter(to_address.eq(address))
                        .filter(kind.eq("acknowledgement"))
                        .count()
                        .get_result::<i64>(c)?)
                })
                .await
                .unwrap()
        }
    };
    for n in 1..=3 {
        let r = mailgate(&t, message("mario.rossi@example.it", n), None).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["created"], true, "{}", r.body);
    }
    assert_eq!(t.count("tickets").await, 3, "every request is a ticket");
    assert_eq!(acks_to("mario.rossi@example.it").await, 2, "two, not three");
    // Someone else is acknowledged as ever.
    let r = mailgate(&t, message("anna.bianchi@example.it", 4), None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(acks_to("anna.bianchi@example.it").await, 1);
    // An hour later the first two no longer count.
    t.clock.advance(chrono::Duration::minutes(61));
    let r = mailgate(&t, message("mario.rossi@example.it", 5), None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(acks_to("mario.rossi@example.it").await, 3);
}

mod acknowledgements_stop_at_the_hourly_limit {
    use crate::harness::{pg_base, Kind};

    #[actix_web::test]
    async fn sqlite() {
        super::acknowledgements_stop_at_the_hourly_limit(Kind::Sqlite).await;
    }

    #[actix_web::test]
    async fn postgres() {
        if pg_base().is_some() {
            super::acknowledgements_stop_at_the_hourly_limit(Kind::Postgres).await;
        }
    }
}
