//! What a generated help desk looks like, with no I/O: contacts in four
//! languages, and tickets spread over the last years whose states, articles
//! and history agree with each other (old tickets are mostly closed, the
//! active ones recent). The same seed gives the same rows.

use chrono::{Datelike, Duration, NaiveDateTime};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::words::{people, words};
use crate::domain::contact::{search_key, SearchFields};
use crate::domain::{number, Channel, QueueLevel, TicketState};
use crate::store::bulk::{
    Article, Attachment, Batch, CatalogueRows, Contact, Cursor, Event, Ticket,
};

/// How far back generated tickets go.
pub const YEARS: i64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    It,
    En,
    Ru,
    Cs,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::It => "it",
            Lang::En => "en",
            Lang::Ru => "ru",
            Lang::Cs => "cs",
        }
    }
}

/// The language of the n-th generated contact: 60 % Italian, 20 % English,
/// 10 % Russian, 10 % Czech. A pure function of the position, so a ticket
/// speaks its contact's language without looking the contact up.
pub fn language_of(index: u64) -> Lang {
    match index % 20 {
        0..=11 => Lang::It,
        12..=15 => Lang::En,
        16 | 17 => Lang::Ru,
        _ => Lang::Cs,
    }
}

fn one(rng: &mut StdRng, items: &[&'static str]) -> &'static str {
    items[rng.gen_range(0..items.len())]
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

/// A mobile number in E.164, as the app stores it after normalising, drawn
/// from ranges libphonenumber accepts as valid.
fn phone(rng: &mut StdRng, lang: Lang) -> String {
    let (prefix, second, digits): (&str, &[u8], usize) = match lang {
        Lang::It => ("+393", &[2, 3, 4, 8], 8),
        Lang::En => ("+4477", &[1, 2, 3, 4, 5, 6, 7], 7),
        Lang::Ru => ("+79", &[0, 1, 2, 5, 6, 8], 8),
        Lang::Cs => ("+4207", &[2, 3, 7, 9], 7),
    };
    let mut p = String::from(prefix);
    p.push(char::from(b'0' + *pick(rng, second)));
    for _ in 0..digits {
        p.push(char::from(b'0' + rng.gen_range(0..10u8)));
    }
    p
}

/// The contact at `index` (0-based within this run) with database id `id`.
pub fn contact(rng: &mut StdRng, index: u64, id: i64, now: NaiveDateTime) -> Contact {
    let lang = language_of(index);
    let p = people(lang);
    let fi = rng.gen_range(0..p.first.len());
    let (first, first_ascii) = p.first[fi];
    let (male, female) = *pick(rng, p.last);
    let (last, last_ascii) = if fi < p.male { male } else { female };
    let name = format!("{first} {last}");
    let city = one(rng, p.cities).to_string();
    // The id makes the address unique, as contact_emails requires.
    let email = rng
        .gen_bool(0.9)
        .then(|| format!("{first_ascii}.{last_ascii}.{id}@{}", p.domain));
    let phone = rng.gen_bool(0.8).then(|| phone(rng, lang));
    let emails: Vec<String> = email.iter().cloned().collect();
    let phones: Vec<String> = phone.iter().cloned().collect();
    let key = search_key(&SearchFields {
        name: &name,
        organisation: "",
        city: &city,
        address: "",
        contract_number: None,
        external_key: None,
        emails: &emails,
        phones: &phones,
    });
    let created_at = now - Duration::seconds(rng.gen_range(0..YEARS * 365 * 86_400 + 86_400 * 90));
    Contact {
        id,
        name,
        city,
        language: lang.code(),
        search_key: key,
        email,
        phone,
        created_at,
    }
}

/// Fills `{}` with the thing and `{n}` with a number.
fn fill(template: &str, thing: &str, rng: &mut StdRng) -> String {
    let with_thing = template.replace("{}", thing);
    if with_thing.contains("{n}") {
        with_thing.replace("{n}", &rng.gen_range(2..400).to_string())
    } else {
        with_thing
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The catalogue tickets are routed over, grouped for quick picking.
#[derive(Debug, Clone)]
pub struct Routing {
    queues: Vec<QueueInfo>,
    agents: Vec<i64>,
}

#[derive(Debug, Clone)]
struct QueueInfo {
    id: i64,
    level: QueueLevel,
    members: Vec<i64>,
    topics: Vec<i64>,
}

impl Routing {
    pub fn new(rows: &CatalogueRows) -> Option<Routing> {
        let queues: Vec<QueueInfo> = rows
            .queues
            .iter()
            .map(|(id, level)| QueueInfo {
                id: *id,
                level: QueueLevel::parse(level).unwrap_or(QueueLevel::FirstLevel),
                members: rows
                    .members
                    .iter()
                    .filter(|(q, _)| q == id)
                    .map(|(_, a)| *a)
                    .collect(),
                topics: rows
                    .topics
                    .iter()
                    .filter(|(_, q)| q == id)
                    .map(|(t, _)| *t)
                    .collect(),
            })
            .collect();
        (!queues.is_empty()).then(|| Routing {
            queues,
            agents: rows.agents.clone(),
        })
    }

    /// Most requests land at first level; every queue gets some.
    fn queue(&self, rng: &mut StdRng) -> &QueueInfo {
        let first: Vec<&QueueInfo> = self
            .queues
            .iter()
            .filter(|q| q.level == QueueLevel::FirstLevel)
            .collect();
        if !first.is_empty() && rng.gen_bool(0.5) {
            return first[rng.gen_range(0..first.len())];
        }
        pick(rng, &self.queues)
    }

    fn first_level(&self, rng: &mut StdRng) -> Option<i64> {
        let first: Vec<i64> = self
            .queues
            .iter()
            .filter(|q| q.level == QueueLevel::FirstLevel)
            .map(|q| q.id)
            .collect();
        (!first.is_empty()).then(|| *pick(rng, &first))
    }

    fn member(&self, rng: &mut StdRng, q: &QueueInfo) -> Option<i64> {
        if !q.members.is_empty() {
            Some(*pick(rng, &q.members))
        } else if !self.agents.is_empty() {
            Some(*pick(rng, &self.agents))
        } else {
            None
        }
    }
}

/// Everything a run's tickets share.
pub struct Plan<'a> {
    pub routing: &'a Routing,
    pub now: NaiveDateTime,
    /// Tickets in the whole run, to spread their creation over [`YEARS`].
    pub total: u64,
    /// Where this run's contacts start and how many there are.
    pub first_contact_id: i64,
    pub contacts: u64,
    /// Ticket numbers follow the year in the help desk's time zone.
    pub tz: Tz,
}

/// The state of a ticket of this age: mostly done when old, mixed when recent.
pub fn state_for_age(rng: &mut StdRng, age: Duration) -> TicketState {
    use TicketState::*;
    let table: &[(TicketState, u32)] = if age > Duration::days(60) {
        &[
            (Closed, 880),
            (Resolved, 50),
            (Merged, 10),
            (Open, 20),
            (PendingCustomer, 15),
            (PendingThirdParty, 25),
        ]
    } else if age > Duration::days(14) {
        &[
            (Closed, 520),
            (Resolved, 250),
            (Merged, 20),
            (Open, 60),
            (PendingCustomer, 60),
            (PendingThirdParty, 50),
            (Escalated, 40),
        ]
    } else {
        &[
            (New, 200),
            (Open, 200),
            (PendingCustomer, 110),
            (PendingThirdParty, 70),
            (Escalated, 100),
            (Resolved, 200),
            (Closed, 100),
            (Merged, 20),
        ]
    };
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut r = rng.gen_range(0..total);
    for (s, w) in table {
        if r < *w {
            return *s;
        }
        r -= w;
    }
    Closed
}

fn channel(rng: &mut StdRng) -> Channel {
    match rng.gen_range(0..100) {
        0..=39 => Channel::Phone,
        40..=69 => Channel::Email,
        70..=84 => Channel::Web,
        85..=89 => Channel::Callback,
        _ => Channel::Staff,
    }
}

fn priority(rng: &mut StdRng) -> i32 {
    match rng.gen_range(0..100) {
        0..=14 => 1,
        15..=79 => 2,
        80..=94 => 3,
        _ => 4,
    }
}

/// When the `index`-th of `total` tickets was created: evenly over the last
/// [`YEARS`], in order, so ids and numbers grow with time.
pub fn created_at(rng: &mut StdRng, index: u64, total: u64, now: NaiveDateTime) -> NaiveDateTime {
    let span = YEARS * 365 * 86_400;
    let position = (index as f64 + rng.gen::<f64>()) / total as f64;
    let seconds = (position * span as f64) as i64;
    now - Duration::seconds(span) + Duration::seconds(seconds.min(span))
}

/// A growing timeline that never passes `now`.
struct Clock {
    at: NaiveDateTime,
    now: NaiveDateTime,
}

impl Clock {
    /// Moves on by up to `max`, but leaves room for `steps_left` more moves before now.
    fn advance(&mut self, rng: &mut StdRng, max: Duration, steps_left: i64) -> NaiveDateTime {
        let room = (self.now - self.at).num_seconds() / (steps_left + 1);
        let step = rng.gen_range(0..=max.num_seconds().min(room).max(0));
        self.at += Duration::seconds(step);
        self.at
    }
}

fn event(
    b: &mut Batch,
    ticket_id: i64,
    kind: &'static str,
    actor: Option<i64>,
    data: serde_json::Value,
    at: NaiveDateTime,
) {
    b.events.push(Event {
        ticket_id,
        kind,
        actor_agent_id: actor,
        data: data.to_string(),
        created_at: at,
    });
}

fn state_changed(
    b: &mut Batch,
    id: i64,
    actor: Option<i64>,
    from: TicketState,
    to: TicketState,
    at: NaiveDateTime,
) {
    event(
        b,
        id,
        "state_changed",
        actor,
        json!({"from": from, "to": to}),
        at,
    );
}

impl Plan<'_> {
    /// Generates the `index`-th ticket of the run into `batch`, taking its id,
    /// article ids and number from `cursor` and advancing it. A merged ticket
    /// points back to one written before it in the same batch.
    pub fn ticket(&self, rng: &mut StdRng, index: u64, cursor: &mut Cursor, batch: &mut Batch) {
        use TicketState::*;
        let created = created_at(rng, index, self.total, self.now);
        let state = state_for_age(rng, self.now - created);
        let channel = channel(rng);
        let priority = priority(rng);

        let contact_index = rng.gen_range(0..self.contacts.max(1));
        let has_contact = self.contacts > 0 && rng.gen_bool(0.95);
        let contact_id = has_contact.then(|| self.first_contact_id + contact_index as i64);
        let lang = if has_contact {
            language_of(contact_index)
        } else {
            Lang::It
        };
        let w = words(lang);

        let q = self.routing.queue(rng);
        let topic_id = (!q.topics.is_empty() && rng.gen_bool(0.8)).then(|| *pick(rng, &q.topics));
        let escalated_from = (q.level.is_escalation_target() && rng.gen_bool(0.6))
            .then(|| self.routing.first_level(rng))
            .flatten();
        // Only a queue that takes escalations holds an escalated ticket.
        let state = match state {
            Escalated if escalated_from.is_none() => Open,
            s => s,
        };
        let assignee = match state {
            New | Escalated => None,
            Merged => None,
            _ if rng.gen_bool(0.9) => self.routing.member(rng, q),
            _ => None,
        };
        let worker = assignee.or_else(|| self.routing.member(rng, q));

        let id = cursor.ticket;
        cursor.ticket += 1;
        let year = created.and_utc().with_timezone(&self.tz).year();
        let seq = cursor.counters.entry(year).or_insert(0);
        *seq += 1;
        let number = number::format(year, *seq);

        let thing = one(rng, w.things);
        let subject = capitalised(&fill(one(rng, w.subjects), thing, rng));
        let mut clock = Clock {
            at: created,
            now: self.now,
        };

        // The request itself, then replies, customer answers and notes.
        let articles = [1, 1, 1, 2, 2, 2, 3, 3, 4, 5][rng.gen_range(0..10)];
        let by_staff = matches!(channel, Channel::Phone | Channel::Callback | Channel::Staff);
        let creator = if by_staff { worker } else { None };
        event(
            batch,
            id,
            "created",
            creator,
            json!({"number": number, "channel": channel, "queue_id": escalated_from.unwrap_or(q.id), "topic_id": topic_id, "subject_id": null, "contact_id": contact_id}),
            created,
        );
        let mut first_response = None;
        for k in 0..articles {
            let at = if k == 0 {
                created
            } else {
                clock.advance(rng, Duration::hours(30), 4)
            };
            let (kind, public, agent, author_contact, body) = if k == 0 {
                let mut body = fill(one(rng, w.openings), thing, rng);
                for _ in 0..rng.gen_range(1..=3) {
                    body.push(' ');
                    body.push_str(&fill(one(rng, w.details), thing, rng));
                }
                body.push_str("\n\n");
                body.push_str(one(rng, w.closings));
                match channel {
                    Channel::Phone | Channel::Callback => ("phone", false, creator, None, body),
                    Channel::Staff => ("note", false, creator, None, body),
                    _ => ("inbound", true, None, contact_id, body),
                }
            } else if k % 2 == 1 && rng.gen_bool(0.85) {
                (
                    "outbound",
                    true,
                    worker,
                    None,
                    fill(one(rng, w.replies), thing, rng),
                )
            } else if rng.gen_bool(0.3) || contact_id.is_none() {
                (
                    "note",
                    false,
                    worker,
                    None,
                    fill(one(rng, w.notes), thing, rng),
                )
            } else {
                let mut body = fill(one(rng, w.details), thing, rng);
                body.push(' ');
                body.push_str(one(rng, w.closings));
                ("inbound", true, None, contact_id, body)
            };
            if first_response.is_none() && (kind == "outbound" || kind == "phone") {
                first_response = Some(at);
            }
            let article_id = cursor.article;
            cursor.article += 1;
            let attached = kind == "inbound" && rng.gen_bool(0.04);
            if attached {
                let (filename, title) = w.attachment;
                let data = format!("{title}: {number}\n{subject}\n").into_bytes();
                batch.attachments.push(Attachment {
                    article_id,
                    filename: filename.to_string(),
                    content_type: "text/plain",
                    sha256: hex::encode(Sha256::digest(&data)),
                    data,
                    created_at: at,
                });
            }
            batch.articles.push(Article {
                id: article_id,
                ticket_id: id,
                kind,
                public,
                author_agent_id: agent,
                author_contact_id: author_contact,
                body,
                created_at: at,
            });
            event(
                batch,
                id,
                "article_added",
                agent,
                json!({"article_id": article_id, "kind": kind, "channel": channel, "attachments": usize::from(attached)}),
                at,
            );
        }

        // The history that leads to `state`, in the order the workflow allows.
        let mut current = New;
        let mut resolution = None;
        let (mut resolved_at, mut closed_at, mut merged_into) = (None, None, None);
        if state != New {
            let at = clock.advance(rng, Duration::hours(2), 3);
            if let Some(from) = escalated_from {
                let level = q.level;
                event(
                    batch,
                    id,
                    "escalated",
                    worker,
                    json!({"from_queue": from, "to_queue": q.id, "level": level, "reason": w.replies[3]}),
                    at,
                );
                state_changed(batch, id, worker, current, Escalated, at);
                current = Escalated;
            }
            if state != Escalated {
                if let Some(a) = assignee {
                    event(
                        batch,
                        id,
                        "assigned",
                        Some(a),
                        json!({"from": null, "to": a}),
                        at,
                    );
                }
                state_changed(batch, id, worker, current, Open, at);
                current = Open;
            }
        }
        match state {
            PendingCustomer | PendingThirdParty => {
                let at = clock.advance(rng, Duration::hours(8), 2);
                state_changed(batch, id, worker, current, state, at);
            }
            Resolved | Closed => {
                let at = clock.advance(rng, Duration::days(2), 2);
                let text = one(rng, w.resolutions).to_string();
                state_changed(batch, id, worker, current, Resolved, at);
                event(
                    batch,
                    id,
                    "resolved",
                    worker,
                    json!({"resolution": text}),
                    at,
                );
                resolution = Some(text);
                resolved_at = Some(at);
                if state == Closed {
                    // Closed by housekeeping a week later, or by hand sooner.
                    let auto = rng.gen_bool(0.7);
                    let at = clock.advance(rng, Duration::days(if auto { 7 } else { 1 }), 1);
                    state_changed(
                        batch,
                        id,
                        if auto { None } else { worker },
                        Resolved,
                        Closed,
                        at,
                    );
                    let data = if auto {
                        json!({"reason": null, "auto": true})
                    } else {
                        json!({"reason": null})
                    };
                    event(
                        batch,
                        id,
                        "closed",
                        if auto { None } else { worker },
                        data,
                        at,
                    );
                    closed_at = Some(at);
                }
            }
            Merged => {
                // Folded into a ticket written just before it in this batch.
                let before = batch.tickets.len();
                if before > 0 {
                    let target = &batch.tickets[before - 1 - rng.gen_range(0..before.min(50))];
                    let (target_id, target_number) = (target.id, target.number.clone());
                    let at = clock.advance(rng, Duration::hours(4), 1);
                    state_changed(batch, id, worker, current, Merged, at);
                    event(
                        batch,
                        id,
                        "merged_into",
                        worker,
                        json!({"into": target_id, "number": target_number}),
                        at,
                    );
                    merged_into = Some(target_id);
                }
            }
            _ => {}
        }
        let state = if state == Merged && merged_into.is_none() {
            current
        } else {
            state
        };
        batch.tickets.push(Ticket {
            id,
            number,
            subject,
            channel: channel.as_str(),
            state: state.as_str(),
            priority,
            queue_id: q.id,
            assignee_id: assignee,
            contact_id,
            topic_id,
            escalated_from_queue_id: escalated_from,
            escalation_reason: escalated_from.map(|_| w.replies[3].to_string()),
            resolution,
            merged_into_id: merged_into,
            created_at: created,
            updated_at: clock.at,
            first_response_at: first_response,
            resolved_at,
            closed_at,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn routing() -> Routing {
        Routing::new(&CatalogueRows {
            queues: vec![
                (1, "first_level".into()),
                (2, "second_level".into()),
                (3, "customer_care".into()),
            ],
            members: vec![(1, 10), (2, 11), (3, 12)],
            topics: vec![(5, 1), (6, 2)],
            agents: vec![10, 11, 12],
        })
        .unwrap()
    }

    fn now() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap()
    }

    fn generate(seed: u64, n: u64) -> (Batch, Cursor) {
        let routing = routing();
        let plan = Plan {
            routing: &routing,
            now: now(),
            total: n,
            first_contact_id: 100,
            contacts: n / 10,
            tz: chrono_tz::Europe::Rome,
        };
        let mut rng = StdRng::seed_from_u64(seed);
        let mut cursor = Cursor {
            contact: 100,
            ticket: 1,
            article: 1,
            counters: std::collections::BTreeMap::from([(2026, 30)]),
        };
        let mut batch = Batch::default();
        for i in 0..n {
            plan.ticket(&mut rng, i, &mut cursor, &mut batch);
        }
        (batch, cursor)
    }

    #[test]
    fn same_seed_same_tickets() {
        let (a, _) = generate(7, 300);
        let (b, _) = generate(7, 300);
        let (c, _) = generate(8, 300);
        let subjects = |b: &Batch| {
            b.tickets
                .iter()
                .map(|t| t.subject.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(subjects(&a), subjects(&b));
        assert_ne!(subjects(&a), subjects(&c));
        assert_eq!(a.events.len(), b.events.len());
    }

    #[test]
    fn tickets_are_consistent() {
        let (b, cursor) = generate(1, 3000);
        let now = now();
        let mut numbers = std::collections::HashSet::new();
        for t in &b.tickets {
            assert!(numbers.insert(t.number.clone()), "duplicate {}", t.number);
            assert!(
                t.created_at <= t.updated_at && t.updated_at <= now,
                "{}",
                t.number
            );
            assert!(t.created_at >= now - Duration::days(YEARS * 365));
            let state = TicketState::parse(t.state).unwrap();
            assert_eq!(
                t.resolved_at.is_some(),
                matches!(state, TicketState::Resolved | TicketState::Closed),
                "{}",
                t.state
            );
            assert_eq!(t.closed_at.is_some(), state == TicketState::Closed);
            assert_eq!(t.merged_into_id.is_some(), state == TicketState::Merged);
            if let Some(into) = t.merged_into_id {
                assert!(into < t.id);
            }
            if state == TicketState::Escalated {
                assert!(t.escalated_from_queue_id.is_some() && t.queue_id != 1);
            }
            // The last state change ends where the ticket is.
            let last = b
                .events
                .iter()
                .rfind(|e| e.ticket_id == t.id && e.kind == "state_changed");
            match last {
                None => assert_eq!(state, TicketState::New),
                Some(e) => assert!(
                    e.data.contains(&format!("\"to\":\"{}\"", t.state)),
                    "{} {}",
                    e.data,
                    t.state
                ),
            }
            let articles = b.articles.iter().filter(|a| a.ticket_id == t.id).count();
            assert!((1..=5).contains(&articles));
        }
        // Numbers continue the existing counter; years follow creation.
        assert!(b.tickets.iter().any(|t| t.number == "2026-000031"));
        assert!(!b.tickets.iter().any(|t| t.number == "2026-000030"));
        assert_eq!(cursor.ticket, 3001);
        assert!(cursor.counters.len() >= 3);
        for s in TicketState::ALL {
            assert!(b.tickets.iter().any(|t| t.state == s.as_str()), "no {s}");
        }
        for c in Channel::ALL {
            assert!(b.tickets.iter().any(|t| t.channel == c.as_str()), "no {c}");
        }
        for q in 1..=3 {
            assert!(b.tickets.iter().any(|t| t.queue_id == q));
        }
        // Active tickets are recent, old ones are mostly done.
        let old: Vec<&Ticket> = b
            .tickets
            .iter()
            .filter(|t| now - t.created_at > Duration::days(365))
            .collect();
        let done = old
            .iter()
            .filter(|t| matches!(t.state, "closed" | "resolved" | "merged"))
            .count();
        assert!(done * 100 / old.len() > 85);
        assert!(b
            .tickets
            .iter()
            .filter(|t| t.state == "new")
            .all(|t| now - t.created_at <= Duration::days(14)));
        assert!(b.articles.iter().any(|a| a.body.contains("stampante")));
        assert!(b.articles.iter().any(|a| a.body.contains("принтер")));
        assert!(!b.attachments.is_empty());
    }

    #[test]
    fn contacts_speak_four_languages_with_search_keys() {
        let mut rng = StdRng::seed_from_u64(3);
        let contacts: Vec<Contact> = (0..200)
            .map(|i| contact(&mut rng, i, 1000 + i as i64, now()))
            .collect();
        for lang in ["it", "en", "ru", "cs"] {
            assert!(contacts.iter().any(|c| c.language == lang));
        }
        for c in &contacts {
            assert!(c.search_key.contains(&c.name.to_lowercase()));
            if let Some(p) = &c.phone {
                assert!(p.starts_with('+') && p[1..].chars().all(|d| d.is_ascii_digit()));
                assert_eq!(
                    crate::domain::phone::normalise(p).as_deref(),
                    Ok(p.as_str()),
                    "{p}"
                );
                assert!(c.search_key.contains(p.as_str()));
            }
            if let Some(e) = &c.email {
                assert_eq!(
                    crate::domain::contact::normalise_email(e).as_deref(),
                    Ok(e.as_str())
                );
            }
        }
        let emails: std::collections::HashSet<_> =
            contacts.iter().filter_map(|c| c.email.clone()).collect();
        assert_eq!(
            emails.len(),
            contacts.iter().filter(|c| c.email.is_some()).count()
        );
    }
}
