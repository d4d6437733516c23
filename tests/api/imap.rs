//! The e-mail channel against real servers: Dovecot for IMAP, aiosmtpd for SMTP.

use serde_json::{json, Value};
use sportello::channels::email::imap::{poll, poll_with, Faults, PollReport};
use sportello::channels::email::sender::{send_due, Mailer, SendReport};

use crate::both;
use crate::harness::TestApp;
use crate::mailserver::{MailServer, CUSTOMER, HELPDESK};

async fn monitored(t: &TestApp, ms: &MailServer) -> i64 {
    let r = t
        .post("/api/v1/mailboxes", &t.fx.admin.token, json!({
            "name": "assistenza", "address": "helpdesk@sportello.test", "queue_id": t.fx.first_level,
            "imap_host": "127.0.0.1", "imap_port": ms.imap_port, "imap_tls": "none",
            "imap_user": HELPDESK.0, "imap_password": HELPDESK.1}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

fn smtp(t: &TestApp, ms: &MailServer) -> Mailer {
    let mut cfg = (*t.app.config).clone();
    cfg.smtp_url = Some(ms.smtp_url());
    Mailer::from_config(&cfg).unwrap()
}

fn customer_mail(subject: &str, body: &str, id: &str, in_reply_to: Option<&str>) -> Vec<u8> {
    let irt = in_reply_to
        .map(|i| format!("In-Reply-To: <{i}>\r\nReferences: <{i}>\r\n"))
        .unwrap_or_default();
    format!(
        "From: Maria Rossi <customer@example.it>\r\nTo: helpdesk@sportello.test\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{irt}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn header<'a>(mail: &'a str, name: &str) -> Option<&'a str> {
    mail.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
}

async fn ticket(t: &TestApp, id: i64) -> Value {
    t.get(&format!("/api/v1/tickets/{id}"), &t.fx.operator.token)
        .await
        .body
}

async fn only_ticket(t: &TestApp) -> i64 {
    let r = t.get("/api/v1/tickets", &t.fx.operator.token).await;
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", r.body);
    items[0]["id"].as_i64().unwrap()
}

both!(full_round_trip, |t| {
    let Some(ms) = MailServer::start() else {
        return;
    };
    let mailbox = monitored(&t, &ms).await;
    // The customer writes; the poller makes a ticket and queues the acknowledgement.
    ms.deliver(
        HELPDESK,
        &customer_mail(
            "Stampante guasta",
            "La stampante non stampa.",
            "c1@example.it",
            None,
        ),
    )
    .await;
    let report = poll(&t.app, mailbox).await.unwrap().unwrap();
    assert_eq!(
        report,
        PollReport {
            server_count: 1,
            fetched: 1,
            ingested: 1,
            duplicates: 0,
            quarantined: 0
        }
    );
    let id = only_ticket(&t).await;
    // The acknowledgement goes out over SMTP and lands in the customer's mailbox.
    assert_eq!(send_due(&t.app, &smtp(&t, &ms)).await.unwrap().sent, 1);
    let inbox = ms.inbox(CUSTOMER).await;
    assert_eq!(inbox.len(), 1);
    let ack = &inbox[0].0;
    let number = ticket(&t, id).await["number"].as_str().unwrap().to_string();
    assert!(
        header(ack, "Subject")
            .unwrap()
            .contains(&format!("[#{number}]")),
        "{ack}"
    );
    assert_eq!(header(ack, "Auto-Submitted"), Some("auto-replied"));
    let ack_id = header(ack, "Message-ID")
        .unwrap()
        .trim_matches(['<', '>'])
        .to_string();
    // The customer answers the acknowledgement; it threads back into the ticket.
    ms.deliver(
        HELPDESK,
        &customer_mail(
            "Re: grazie",
            "Ho già provato a riavviarla.",
            "c2@example.it",
            Some(&ack_id),
        ),
    )
    .await;
    let report = poll(&t.app, mailbox).await.unwrap().unwrap();
    assert_eq!(
        (report.server_count, report.fetched, report.ingested),
        (2, 1, 1)
    );
    assert_eq!(only_ticket(&t).await, id);
    // An agent answers by e-mail.
    t.post(
        &format!("/api/v1/tickets/{id}/articles"),
        &t.fx.operator.token,
        json!({"kind": "reply", "body": "Arriva un tecnico domani."}),
    )
    .await;
    assert_eq!(send_due(&t.app, &smtp(&t, &ms)).await.unwrap().sent, 1);
    let inbox = ms.inbox(CUSTOMER).await;
    assert_eq!(inbox.len(), 2);
    let reply = inbox
        .iter()
        .map(|(m, _)| m)
        .find(|m| m.contains("Arriva un tecnico domani."))
        .unwrap();
    assert!(reply.contains("c2@example.it"), "{reply}");
    assert_eq!(header(reply, "Reply-To"), Some("helpdesk@sportello.test"));
    // The server's copies are marked handled, not deleted.
    let server = ms.inbox(HELPDESK).await;
    assert_eq!(server.len(), 2);
    assert!(server
        .iter()
        .all(|(_, flags)| flags.iter().any(|f| f.contains("Seen"))
            && flags.iter().any(|f| f.contains("Sportello"))));
    let polls = t
        .get(
            &format!("/api/v1/mailboxes/{mailbox}/polls"),
            &t.fx.admin.token,
        )
        .await
        .body;
    assert_eq!(polls.as_array().unwrap().len(), 2);
    assert_eq!(polls[0]["gap"], false);
});

both!(smtp_down_then_back_delivers_once, |t| {
    let Some(mut ms) = MailServer::start() else {
        return;
    };
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "x", "body": "y", "contact": {"email": "customer@example.it"}}),
        )
        .await;
    t.post(
        &format!("/api/v1/tickets/{}/articles", r.body["id"]),
        &t.fx.operator.token,
        json!({"kind": "reply", "body": "Risposta importante"}),
    )
    .await;
    ms.stop_smtp();
    assert_eq!(
        send_due(&t.app, &smtp(&t, &ms)).await.unwrap(),
        SendReport {
            sent: 0,
            retrying: 1,
            failed: 0
        }
    );
    ms.start_smtp();
    assert_eq!(
        send_due(&t.app, &smtp(&t, &ms)).await.unwrap(),
        SendReport::default(),
        "waits for its backoff"
    );
    t.clock.advance(chrono::Duration::seconds(31));
    assert_eq!(send_due(&t.app, &smtp(&t, &ms)).await.unwrap().sent, 1);
    t.clock.advance(chrono::Duration::hours(2));
    assert_eq!(
        send_due(&t.app, &smtp(&t, &ms)).await.unwrap(),
        SendReport::default()
    );
    let inbox = ms.inbox(CUSTOMER).await;
    assert_eq!(inbox.len(), 1, "delivered exactly once");
    assert!(inbox[0].0.contains("Risposta importante"));
});

both!(
    poller_killed_between_commit_and_flag_makes_no_duplicate,
    |t| {
        let Some(ms) = MailServer::start() else {
            return;
        };
        let mailbox = monitored(&t, &ms).await;
        ms.deliver(
            HELPDESK,
            &customer_mail("Richiesta", "Testo", "crash-1@example.it", None),
        )
        .await;
        ms.deliver(
            HELPDESK,
            &customer_mail("Seconda", "Testo", "crash-2@example.it", None),
        )
        .await;
        let r = poll_with(
            &t.app,
            mailbox,
            Faults {
                crash_after_commit: true,
            },
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(r.ingested, 1);
        assert!(
            ms.inbox(HELPDESK)
                .await
                .iter()
                .all(|(_, f)| !f.iter().any(|f| f.contains("Sportello"))),
            "nothing flagged yet"
        );
        let r = poll(&t.app, mailbox).await.unwrap().unwrap();
        assert_eq!(
            (r.fetched, r.duplicates, r.ingested),
            (2, 1, 1),
            "the first message is recognised, the second ingested"
        );
        assert_eq!(t.count("tickets").await, 2);
        let r = poll(&t.app, mailbox).await.unwrap().unwrap();
        assert_eq!(
            r.fetched, 0,
            "nothing new: the walk resumes after the last UID"
        );
    }
);

both!(the_same_message_delivered_twice_is_one_ticket, |t| {
    let Some(ms) = MailServer::start() else {
        return;
    };
    let mailbox = monitored(&t, &ms).await;
    let raw = customer_mail("Doppio", "Stesso messaggio", "twice@example.it", None);
    ms.deliver(HELPDESK, &raw).await;
    ms.deliver(HELPDESK, &raw).await;
    // Another mail client read them first: \\Seen must not matter.
    let r = poll(&t.app, mailbox).await.unwrap().unwrap();
    assert_eq!((r.fetched, r.ingested, r.duplicates), (2, 1, 1));
    assert_eq!(t.count("tickets").await, 1);
});

both!(a_wrong_password_is_recorded_not_lost, |t| {
    let Some(ms) = MailServer::start() else {
        return;
    };
    let mailbox = monitored(&t, &ms).await;
    t.patch(
        &format!("/api/v1/mailboxes/{mailbox}"),
        &t.fx.admin.token,
        json!({"imap_password": "wrong"}),
    )
    .await;
    ms.deliver(HELPDESK, &customer_mail("x", "y", "pw@example.it", None))
        .await;
    assert!(poll(&t.app, mailbox).await.is_err());
    let polls = t
        .get(
            &format!("/api/v1/mailboxes/{mailbox}/polls"),
            &t.fx.admin.token,
        )
        .await
        .body;
    assert!(
        polls[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("login")),
        "{polls}"
    );
    t.patch(
        &format!("/api/v1/mailboxes/{mailbox}"),
        &t.fx.admin.token,
        json!({"imap_password": HELPDESK.1}),
    )
    .await;
    assert_eq!(poll(&t.app, mailbox).await.unwrap().unwrap().ingested, 1);
});

both!(delegation_round_trip_through_real_servers, |t| {
    let Some(ms) = MailServer::start() else {
        return;
    };
    // The delegation mailbox is the helpdesk IMAP account; the back office reads the "customer" one.
    let r = t
        .post("/api/v1/mailboxes", &t.fx.admin.token, json!({
            "name": "backoffice", "address": "helpdesk@sportello.test", "purpose": "delegation", "queue_id": t.fx.back_office,
            "imap_host": "127.0.0.1", "imap_port": ms.imap_port, "imap_tls": "none", "imap_user": HELPDESK.0, "imap_password": HELPDESK.1}))
        .await;
    let mailbox = r.body["id"].as_i64().unwrap();
    let tk = t.new_ticket("Pagamento", "Da verificare").await;
    t.post(
        &format!("/api/v1/tickets/{}/escalate", tk["id"]),
        &t.fx.operator.token,
        json!({"queue_id": t.fx.desktop, "reason": "r"}),
    )
    .await;
    let r = t
        .post(
            &format!("/api/v1/tickets/{}/delegations", tk["id"]),
            &t.fx.specialist.token,
            json!({"task": "Verificare il bonifico", "to": "backoffice@example.it"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(send_due(&t.app, &smtp(&t, &ms)).await.unwrap().sent, 1);
    let inbox = ms.inbox(CUSTOMER).await;
    let task = &inbox[0].0;
    assert!(task.contains("Verificare il bonifico"));
    let reply_to = header(task, "Reply-To").unwrap().to_string();
    assert!(reply_to.starts_with("helpdesk+d"), "{reply_to}");
    // The back office answers to that address, rewriting the subject.
    let answer = format!(
        "From: backoffice@example.it\r\nTo: {reply_to}\r\nSubject: fatto\r\nMessage-ID: <bo-answer@example.it>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonifico verificato.\r\n"
    );
    ms.deliver(HELPDESK, answer.as_bytes()).await;
    assert_eq!(poll(&t.app, mailbox).await.unwrap().unwrap().ingested, 1);
    let detail = ticket(&t, tk["id"].as_i64().unwrap()).await;
    let last = detail["articles"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["body"], "Bonifico verificato.");
    assert_eq!(last["public"], false);
    assert_eq!(detail["state"], "open");
});
