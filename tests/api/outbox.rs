//! Outgoing mail: acknowledgements, agent replies and resolutions go through
//! the outbox in the ticket's transaction; the sender delivers, retries with
//! backoff and records failures on the ticket.

use serde_json::{json, Value};
use sportello::channels::email::sender::{send_due, Mailer, SendReport};

use crate::both;
use crate::harness::{mail_fixture, mailgate, TestApp};

fn file_mailer(t: &TestApp, dir: &std::path::Path) -> Mailer {
    let mut cfg = (*t.app.config).clone();
    cfg.mail_dir = dir.to_path_buf();
    Mailer::from_config(&cfg).unwrap()
}

/// The .eml files the file transport wrote, in no particular order.
fn written(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

async fn emails(t: &TestApp, ticket: &Value) -> Vec<Value> {
    t.get(
        &format!("/api/v1/tickets/{ticket}/emails"),
        &t.fx.operator.token,
    )
    .await
    .body
    .as_array()
    .unwrap()
    .clone()
}

both!(acknowledgement_then_the_reply_threads_back, |t| {
    t.post("/api/v1/mailboxes", &t.fx.admin.token, json!({"name": "assistenza", "address": "assistenza@sportello.test", "queue_id": t.fx.first_level})).await;
    let r = mailgate(&t, mail_fixture("it_plain.eml"), Some("assistenza")).await;
    let ticket = r.body["ticket_id"].clone();
    let queued = emails(&t, &ticket).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0]["kind"], "acknowledgement");
    assert_eq!(queued[0]["state"], "pending");
    assert_eq!(queued[0]["to"], "maria.rossi@example.it");
    let number = t
        .get(&format!("/api/v1/tickets/{ticket}"), &t.fx.operator.token)
        .await
        .body["number"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        queued[0]["subject"],
        format!("[#{number}] Abbiamo ricevuto la sua richiesta"),
        "Italian, by the contact's language"
    );

    let dir = tempfile::tempdir().unwrap();
    let report = send_due(&t.app, &file_mailer(&t, dir.path()))
        .await
        .unwrap();
    assert_eq!(
        report,
        SendReport {
            sent: 1,
            retrying: 0,
            failed: 0
        }
    );
    let files = written(dir.path());
    assert_eq!(files.len(), 1);
    let mail = &files[0];
    assert!(mail.contains("Auto-Submitted: auto-replied"), "{mail}");
    assert!(
        mail.contains("Reply-To: assistenza@sportello.test"),
        "{mail}"
    );
    assert!(mail.contains("From: assistenza@sportello.test"));
    assert!(
        mail.contains("In-Reply-To: <it-plain-001@example.it>"),
        "{mail}"
    );
    assert_eq!(emails(&t, &ticket).await[0]["state"], "sent");
    assert_eq!(
        send_due(&t.app, &file_mailer(&t, dir.path()))
            .await
            .unwrap(),
        SendReport::default(),
        "sent once"
    );

    // The customer answers the acknowledgement with a subject of her own: References thread it.
    let our_id = queued[0]["message_id"].as_str().unwrap();
    let answer = format!(
        "From: maria.rossi@example.it\r\nTo: assistenza@sportello.test\r\nSubject: scontrino\r\nMessage-ID: <answer-1@example.it>\r\nIn-Reply-To: <{our_id}>\r\nReferences: <it-plain-001@example.it> <{our_id}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nEcco lo scontrino.\r\n"
    );
    let r = mailgate(&t, answer.into_bytes(), Some("assistenza")).await;
    assert_eq!(r.body["ticket_id"], ticket);
    assert_eq!(r.body["created"], false);
    assert_eq!(
        emails(&t, &ticket).await.len(),
        1,
        "no acknowledgement for a reply"
    );
});

both!(robots_and_floods_get_no_acknowledgement, |t| {
    mailgate(&t, mail_fixture("auto_reply.eml"), None).await;
    assert_eq!(t.count("outbox").await, 0);
    for i in 0..5 {
        let raw = format!("From: flood@example.it\r\nTo: a@sportello.test\r\nSubject: richiesta {i}\r\nMessage-ID: <flood-{i}@example.it>\r\n\r\nTesto {i}\r\n");
        let r = mailgate(&t, raw.into_bytes(), None).await;
        assert_eq!(r.body["created"], true);
    }
    assert_eq!(
        t.count("outbox").await,
        3,
        "three acknowledgements an hour per sender"
    );
    t.clock.advance(chrono::Duration::minutes(61));
    let raw = "From: flood@example.it\r\nTo: a@sportello.test\r\nSubject: dopo\r\nMessage-ID: <flood-late@example.it>\r\n\r\nTesto\r\n";
    mailgate(&t, raw.as_bytes().to_vec(), None).await;
    assert_eq!(t.count("outbox").await, 4);
});

both!(agent_reply_and_resolution_by_email, |t| {
    use base64::Engine;
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "Card smarrita", "body": "Persa a Madrid",
        "contact": {"name": "John Smith", "email": "john@example.co.uk", "language": "en"}}),
        )
        .await;
    let ticket = r.body["id"].clone();
    let pdf = base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4 modulo");
    let r = t.post(&format!("/api/v1/tickets/{ticket}/articles"), &t.fx.operator.token, json!({"kind": "reply",
        "body": "We blocked your card; please fill in the attached form.",
        "attachments": [{"filename": "modulo blocco.pdf", "content_type": "application/pdf", "content_base64": pdf}]})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    t.post(
        &format!("/api/v1/tickets/{ticket}/articles"),
        &t.fx.operator.token,
        json!({"kind": "reply", "body": "Not by mail", "email": false}),
    )
    .await;
    t.post(
        &format!("/api/v1/tickets/{ticket}/articles"),
        &t.fx.operator.token,
        json!({"kind": "note", "body": "internal"}),
    )
    .await;
    t.post(
        &format!("/api/v1/tickets/{ticket}/resolve"),
        &t.fx.operator.token,
        json!({"resolution": "A new card is on its way."}),
    )
    .await;
    let queued = emails(&t, &ticket).await;
    let kinds: Vec<&str> = queued.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["reply", "resolution"]);

    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        send_due(&t.app, &file_mailer(&t, dir.path()))
            .await
            .unwrap()
            .sent,
        2
    );
    let files = written(dir.path());
    let reply = files
        .iter()
        .find(|f| f.contains("We blocked your card"))
        .unwrap();
    assert!(
        !reply.contains("Auto-Submitted"),
        "a person's reply is not automatic"
    );
    assert!(
        reply.contains("modulo blocco.pdf")
            || reply.contains("modulo%20blocco.pdf")
            || reply.contains("=?utf-8?"),
        "{reply}"
    );
    assert!(reply.contains("To: john@example.co.uk"));
    let resolution = files
        .iter()
        .find(|f| f.contains("A new card is on its way."))
        .unwrap();
    assert!(
        resolution.contains("Your request has been resolved"),
        "English for an English-speaking contact"
    );
    assert!(resolution.contains("Auto-Submitted: auto-replied"));
    let detail = t
        .get(&format!("/api/v1/tickets/{ticket}"), &t.fx.operator.token)
        .await
        .body;
    let sent = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "email_sent")
        .count();
    assert_eq!(sent, 2);
});

both!(
    smtp_down_retries_with_backoff_then_fails_on_the_ticket,
    |t| {
        let r = t
            .post(
                "/api/v1/tickets",
                &t.fx.operator.token,
                json!({"subject": "x", "body": "y", "contact": {"email": "c@example.it"}}),
            )
            .await;
        let ticket = r.body["id"].clone();
        t.post(
            &format!("/api/v1/tickets/{ticket}/articles"),
            &t.fx.operator.token,
            json!({"kind": "reply", "body": "risposta"}),
        )
        .await;
        let mut cfg = (*t.app.config).clone();
        cfg.smtp_url = Some("smtp://127.0.0.1:1".into());
        let down = Mailer::from_config(&cfg).unwrap();
        let r = send_due(&t.app, &down).await.unwrap();
        assert_eq!(
            r,
            SendReport {
                sent: 0,
                retrying: 1,
                failed: 0
            }
        );
        let e = &emails(&t, &ticket).await[0];
        assert_eq!(e["state"], "pending");
        assert_eq!(e["attempts"], 1);
        assert!(e["last_error"].as_str().is_some());
        // Not due again before the backoff has passed.
        assert_eq!(
            send_due(&t.app, &down).await.unwrap(),
            SendReport::default()
        );
        for _ in 0..7 {
            t.clock.advance(chrono::Duration::hours(1));
            send_due(&t.app, &down).await.unwrap();
        }
        let e = &emails(&t, &ticket).await[0];
        assert_eq!(e["state"], "failed");
        assert_eq!(e["attempts"], 8);
        let detail = t
            .get(&format!("/api/v1/tickets/{ticket}"), &t.fx.operator.token)
            .await
            .body;
        let failed: Vec<&Value> = detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "email_failed")
            .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0]["data"]["to"], "c@example.it");
    }
);

both!(a_crashed_sender_lease_expires, |t| {
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "x", "body": "y", "contact": {"email": "c@example.it"}}),
        )
        .await;
    t.post(
        &format!("/api/v1/tickets/{}/articles", r.body["id"]),
        &t.fx.operator.token,
        json!({"kind": "reply", "body": "risposta"}),
    )
    .await;
    // Another instance claimed it and died.
    let now = sportello::clock::Clock::now_db(&*t.app.clock);
    let claimed = t
        .app
        .db
        .write(move |c| {
            sportello::store::outbox::claim_due(c, now, now + chrono::Duration::minutes(5), 10)
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        send_due(&t.app, &file_mailer(&t, dir.path()))
            .await
            .unwrap()
            .sent,
        0,
        "leased elsewhere"
    );
    t.clock.advance(chrono::Duration::minutes(6));
    assert_eq!(
        send_due(&t.app, &file_mailer(&t, dir.path()))
            .await
            .unwrap()
            .sent,
        1,
        "the lease expired"
    );
});

both!(one_run_sends_more_than_a_batch, |t| {
    // 120 replies (the sender claims 50 at a time): one run sends them all,
    // rather than 50 every interval.
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "Tante risposte", "body": "y", "contact": {"email": "molte@example.it"}}),
        )
        .await;
    for i in 0..120 {
        let a = t
            .post(
                &format!("/api/v1/tickets/{}/articles", r.body["id"]),
                &t.fx.operator.token,
                json!({"kind": "reply", "body": format!("risposta {i}")}),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let dir = tempfile::tempdir().unwrap();
    let report = send_due(&t.app, &file_mailer(&t, dir.path()))
        .await
        .unwrap();
    assert_eq!(report.sent, 120);
    assert_eq!(written(dir.path()).len(), 120);
    assert_eq!(
        send_due(&t.app, &file_mailer(&t, dir.path()))
            .await
            .unwrap()
            .sent,
        0
    );
});
