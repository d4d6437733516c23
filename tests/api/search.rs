//! Ticket list: filters, keyset pagination, and full-text search in Italian, Russian and Czech.

use serde_json::json;

use crate::both;
use crate::harness::TestApp;

async fn ids(t: &TestApp, query: &str) -> Vec<i64> {
    let r = t
        .get(&format!("/api/v1/tickets?{query}"), &t.fx.operator.token)
        .await;
    assert_eq!(r.status, 200, "{query}: {}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect()
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

both!(full_text_in_three_languages, |t| {
    let it = t
        .new_ticket(
            "Stampante guasta al secondo piano",
            "La stampante non funziona dopo l'aggiornamento",
        )
        .await;
    let ru = t
        .new_ticket(
            "Не работает почта",
            "Здравствуйте! Мой компьютер не загружается, синий экран",
        )
        .await;
    let cs = t
        .new_ticket(
            "Telefon nefunguje",
            "Dobrý den, můj služební telefon nesynchronizuje poštu",
        )
        .await;
    let id = |v: &serde_json::Value| v["id"].as_i64().unwrap();
    assert_eq!(
        ids(&t, &format!("q={}", enc("stampante"))).await,
        vec![id(&it)]
    );
    assert_eq!(
        ids(&t, &format!("q={}", enc("aggiornamento"))).await,
        vec![id(&it)],
        "words in the article body"
    );
    assert_eq!(
        ids(&t, &format!("q={}", enc("компьютер"))).await,
        vec![id(&ru)]
    );
    assert_eq!(
        ids(&t, &format!("q={}", enc("ПОЧТА"))).await,
        vec![id(&ru)],
        "Cyrillic ignores case"
    );
    assert_eq!(
        ids(&t, &format!("q={}", enc("služební"))).await,
        vec![id(&cs)]
    );
    assert_eq!(
        ids(&t, &format!("q={}", enc("Telefon"))).await,
        vec![id(&cs)]
    );
    assert!(ids(&t, &format!("q={}", enc("ombrello"))).await.is_empty());
    // Operator syntax is plain text, never an FTS error.
    assert!(ids(&t, &format!("q={}", enc("\"NEAR( OR * -")))
        .await
        .is_empty());
    // A ticket number finds its ticket.
    assert_eq!(
        ids(&t, &format!("q={}", enc(ru["number"].as_str().unwrap()))).await,
        vec![id(&ru)]
    );
});

both!(search_finds_contact_fields, |t| {
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "Richiesta", "body": "Testo",
        "contact": {"name": "Giuseppe Verdi", "contract_number": "ABC-123"}}),
        )
        .await;
    t.new_ticket("Altro", "Testo").await;
    assert_eq!(
        ids(&t, "q=verdi").await,
        vec![r.body["id"].as_i64().unwrap()]
    );
});

both!(search_finds_contacts_by_any_substring, |t| {
    let r = t
        .post(
            "/api/v1/tickets",
            &t.fx.operator.token,
            json!({"subject": "Richiesta", "body": "Testo",
        "contact": {"name": "Giuseppe Verdi", "contract_number": "QZ-4471"}}),
        )
        .await;
    let verdi = r.body["id"].as_i64().unwrap();
    t.post(
        "/api/v1/tickets",
        &t.fx.operator.token,
        json!({"subject": "Altro", "body": "Testo",
        "contact": {"name": "Anna Bianchi"}}),
    )
    .await;
    // Inside a word and across words (the trigram index on both databases).
    assert_eq!(ids(&t, "q=erd").await, vec![verdi]);
    assert_eq!(
        ids(&t, &format!("q={}", enc("seppe ver"))).await,
        vec![verdi]
    );
    assert_eq!(ids(&t, &format!("q={}", enc("Z-447"))).await, vec![verdi]);
    // Too short for trigrams: found by scanning, all the same.
    assert_eq!(ids(&t, "q=qz").await, vec![verdi]);
    assert_eq!(ids(&t, "q=BI").await.len(), 1);
    // Quotes and LIKE wildcards are plain characters.
    assert!(ids(&t, &format!("q={}", enc("\"verdi\""))).await.is_empty());
    assert!(ids(&t, &format!("q={}", enc("verdi%"))).await.is_empty());
    assert!(ids(&t, &format!("q={}", enc("q_"))).await.is_empty());
});

both!(filters_and_keyset_pages, |t| {
    let mut all = vec![];
    for i in 0..7 {
        t.clock.advance(chrono::Duration::hours(1));
        all.push(
            t.new_ticket(&format!("Ticket {i}"), "x").await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let esc = all[2];
    t.post(
        &format!("/api/v1/tickets/{esc}/escalate"),
        &t.fx.operator.token,
        json!({"queue_id": t.fx.desktop, "reason": "r"}),
    )
    .await;
    t.post(
        &format!("/api/v1/tickets/{}/assign", all[3]),
        &t.fx.operator.token,
        json!({"agent_id": t.fx.operator2.id}),
    )
    .await;

    // Newest first, three at a time, following the cursor.
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("limit=3&cursor={c}"),
            None => "limit=3".into(),
        };
        let r = t
            .get(&format!("/api/v1/tickets?{q}"), &t.fx.operator.token)
            .await;
        seen.extend(
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["id"].as_i64().unwrap()),
        );
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut newest = all.clone();
    newest.reverse();
    assert_eq!(seen, newest);
    assert_eq!(ids(&t, "order=oldest&limit=2").await, all[..2].to_vec());

    assert_eq!(ids(&t, &format!("queue={}", t.fx.desktop)).await, vec![esc]);
    assert_eq!(ids(&t, "state=escalated").await, vec![esc]);
    assert_eq!(
        ids(&t, &format!("assignee={}", t.fx.operator2.id)).await,
        vec![all[3]]
    );
    assert_eq!(ids(&t, "state=open").await, vec![all[3]]);
    assert_eq!(ids(&t, "state=new,open").await.len(), 6);
    assert_eq!(ids(&t, "channel=phone").await.len(), 7);
    assert!(ids(&t, "channel=email").await.is_empty());
    // 2026-03-02 09:00 UTC + 1..7 h: created from 12:00 UTC on.
    assert_eq!(
        ids(
            &t,
            &format!("created_from={}", enc("2026-03-02T13:00:00+01:00"))
        )
        .await
        .len(),
        5
    );
    assert_eq!(
        ids(&t, &format!("created_to={}", enc("2026-03-02T12:00:00Z")))
            .await
            .len(),
        2
    );
    let r = t
        .get(
            &format!("/api/v1/queues/{}/tickets", t.fx.first_level),
            &t.fx.operator.token,
        )
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 6);
    let q = t.get("/api/v1/queues", &t.fx.operator.token).await.body;
    let first = q
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == t.fx.first_level)
        .unwrap();
    assert_eq!(first["active_tickets"], 6);
    assert_eq!(first["unassigned"], 5);
    assert_eq!(first["by_state"]["new"], 5);

    for bad in [
        "state=bogus",
        "limit=0",
        "limit=500",
        "cursor=abc",
        "assignee=someone",
        "order=sideways",
        "channel=fax",
        "q=%21%21%21",
        "colour=red",
    ] {
        let r = t
            .get(&format!("/api/v1/tickets?{bad}"), &t.fx.operator.token)
            .await;
        assert_eq!(r.status, 422, "{bad}: {}", r.body);
        assert!(r.is_problem());
    }
});

/// Every match of a search for `word`, page after page of `limit`, following
/// the cursors to the end.
async fn every_page(t: &TestApp, word: &str, limit: usize) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = format!("/api/v1/tickets?q={word}&limit={limit}");
        if let Some(c) = &cursor {
            q += &format!("&cursor={c}");
        }
        let r = t.get(&q, &t.fx.operator.token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let page: Vec<i64> = r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_i64().unwrap())
            .collect();
        assert!(page.len() <= limit);
        seen.extend(page);
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return seen,
        }
    }
}

// Paging through a search: full pages (which PostgreSQL takes from its window
// of newest tickets) and the last, short one (which falls back to everything)
// give every match once, newest first, on both databases.
both!(search_pages_through_every_match_newest_first, |t| {
    let mut made = Vec::new();
    for i in 0..7 {
        let tk = t
            .new_ticket(&format!("Scanner {i}"), "Lo scanner non acquisisce")
            .await;
        made.push(tk["id"].as_i64().unwrap());
        t.new_ticket(&format!("Altro {i}"), "Niente a che vedere")
            .await;
    }
    made.reverse();
    assert_eq!(every_page(&t, "scanner", 3).await, made);
});

/// Leaves a gap of `n` ids before the next ticket (PostgreSQL: the sequence
/// moves on; SQLite searches without windows and needs none).
async fn skip_ticket_ids(t: &TestApp, n: i64) {
    t.app
        .db
        .write(move |c| {
            use diesel::RunQueryDsl;
            if matches!(c, sportello::store::DbConn::Postgresql(_)) {
                diesel::sql_query(format!(
                    "SELECT setval('tickets_id_seq', (SELECT max(id) FROM tickets) + {n})"
                ))
                .execute(c)?;
            }
            Ok(())
        })
        .await
        .unwrap();
}

// PostgreSQL looks for a page of matches among the newest 1,000 ids, then
// 8,000, then 64,000, then everywhere: matches spread over all four (by gaps
// in the ids) still come page after page, each once, newest first.
both!(search_pages_across_its_windows_of_newest_tickets, |t| {
    let mut made = Vec::new();
    for gap in [0, 100_000, 20_000, 3_000] {
        skip_ticket_ids(&t, gap).await;
        for i in 0..2 {
            let tk = t
                .new_ticket(&format!("Plotter {gap} {i}"), "Il plotter non stampa")
                .await;
            made.push(tk["id"].as_i64().unwrap());
        }
    }
    t.new_ticket("Altro", "Niente a che vedere").await;
    made.reverse();
    assert_eq!(every_page(&t, "plotter", 3).await, made);
    assert_eq!(ids(&t, "q=plotter&limit=50").await, made);
});
