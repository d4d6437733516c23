//! `serve --demo`: a help desk ready to try, drawn from the source documents:
//! a loyalty-card service line, an IT help desk with second-level groups,
//! customer care for complaints, and the non-target and line-quality call forms.
//! Seeding is skipped when the demo admin already exists. `demo generate`
//! ([`fill`], [`generate`]) adds a large, realistic history on top.

pub mod fill;
pub mod generate;
mod words;

use std::sync::Arc;

use chrono::Duration;

use crate::clock::ManualClock;
use crate::domain::access::Actor;
use crate::domain::{Channel, Priority, QueueLevel, Role};
use crate::error::{AppError, AppResult};
use crate::service::auth::{create_agent, NewAgentRequest};
use crate::service::call_forms;
use crate::service::catalogue::{
    create_queue, create_subject, create_topic, QueueInput, SubjectInput, TopicInput,
};
use crate::service::contacts::ContactDetails;
use crate::service::tickets::{
    self, CreateTicket, EscalateRequest, ReasonRequest, ResolveRequest, StateRequest, TicketKey,
};
use crate::service::{App, Viewer};
use crate::store::{agents, catalogue};

pub struct Login {
    pub email: &'static str,
    pub password: &'static str,
    pub role: Role,
}

pub const LOGINS: &[Login] = &[
    Login {
        email: "admin@sportello.demo",
        password: "admin-demo-2026",
        role: Role::Admin,
    },
    Login {
        email: "giulia.operatrice@sportello.demo",
        password: "operatore-demo-1",
        role: Role::Operator,
    },
    Login {
        email: "marco.operatore@sportello.demo",
        password: "operatore-demo-2",
        role: Role::Operator,
    },
    Login {
        email: "elena.specialista@sportello.demo",
        password: "specialista-demo",
        role: Role::Specialist,
    },
    Login {
        email: "paolo.supervisore@sportello.demo",
        password: "supervisore-demo",
        role: Role::Supervisor,
    },
    Login {
        email: "chiara.care@sportello.demo",
        password: "customer-care-demo",
        role: Role::CustomerCare,
    },
];

/// A registry feed as the card consortium sends it: `;`-separated, with the
/// card's data as custom attributes.
const DEMO_REGISTRY: &str = "\u{feff}external_key;name;email;phone;city;contract_number;language;Tipo carta;Servizi e benefit;Saldo punti
TES-000101;Maria Rossi;maria.rossi@example.it;0577 123456;Siena;MPS-2024-0001;it;Carta Oro;Sconto 10% ristoranti convenzionati, assicurazione viaggio;1200
TES-000102;Giuseppe Verdi;;+39 347 765 4321;Arezzo;;it;Carta Argento;Sconto 5% negozi convenzionati;350
TES-000103;Lucia Ferri;lucia.ferri@example.it;;Arezzo;MPS-2023-4411;it;Carta Classic;Accumulo punti;80
TES-000104;Andrea Galli;andrea.galli@example.it;;Grosseto;;it;Carta Oro;Sconto 10% ristoranti convenzionati, assicurazione viaggio;2040
";

/// Points of service in Lazio, Lombardia and Campania.
const DEMO_POINTS: &str = "external_key;name;service;region;province;province_code;city;address;postcode;opening_hours;phone
PV-RM-001;Trattoria Al Portico;Ristorazione;Lazio;Roma;RM;Roma;Via della Lungaretta 51;00153;mar-dom 12:30-15:00, 19:30-23:00;06 5812260
PV-RM-002;Ottica Centrale;Ottica;Lazio;Roma;RM;Tivoli;Piazza Garibaldi 7;00019;lun-sab 9:00-13:00, 16:00-19:30;0774 331122
PV-VT-001;Libreria dei Colli;Librerie;Lazio;Viterbo;VT;Viterbo;Corso Italia 88;01100;lun-sab 9:30-19:30;0761 223344
PV-MI-001;Osteria del Naviglio;Ristorazione;Lombardia;Milano;MI;Milano;Ripa di Porta Ticinese 45;20143;tutti i giorni 12:00-23:00;02 8940 1234
PV-BG-001;Farmacia San Marco;Farmacie;Lombardia;Bergamo;BG;Bergamo;Via XX Settembre 12;24122;lun-sab 8:30-19:30;035 241 567
PV-NA-001;Pizzeria Il Vesuvio;Ristorazione;Campania;Napoli;NA;Napoli;Via dei Tribunali 120;80138;lun-sab 12:00-16:00, 19:00-24:00;081 446 1234
PV-SA-001;Cinema Augusteo;Cinema;Campania;Salerno;SA;Salerno;Corso Vittorio Emanuele 22;84123;tutti i giorni 16:00-23:30;089 223 344
";

pub fn print_logins(logins: &[Login], bind: &str) {
    println!("Demo logins (POST http://{bind}/api/v1/auth/token):");
    for l in logins {
        println!(
            "  {:<14} {:<36} password: {}",
            l.role.as_str(),
            l.email,
            l.password
        );
    }
}

fn viewer(id: i64, role: Role, queues: Vec<i64>, app: &App) -> Viewer {
    Viewer {
        actor: Actor {
            agent_id: id,
            role,
            queues,
        },
        name: String::new(),
        email: String::new(),
        tz: app.config.time_zone,
        token_id: 0,
    }
}

/// Seeds the demo unless it is there already; returns the logins to print.
pub async fn seed(app: &App) -> AppResult<&'static [Login]> {
    let exists = app
        .db
        .read(|c| agents::find_by_email(c, LOGINS[0].email))
        .await?;
    if exists.is_some() {
        return Ok(LOGINS);
    }
    // Spread the demo tickets over the past weeks with a clock of our own.
    let clock = ManualClock::new(app.clock.now() - Duration::days(21));
    let demo = App {
        clock: Arc::new(clock.clone()),
        ..app.clone()
    };
    let admin = viewer(0, Role::Admin, vec![], &demo);

    let first = demo
        .db
        .read(|c| Ok(catalogue::snapshot(c)?.default_first_level().map(|q| q.id)))
        .await?
        .ok_or_else(|| AppError::Internal("no first-level queue".into()))?;
    let q = |name: &str, level: QueueLevel, description: &str| QueueInput {
        name: Some(name.into()),
        level: Some(level),
        description: Some(description.into()),
        email: None,
        active: Some(true),
        ..Default::default()
    };
    let desktop = create_queue(
        &demo,
        &admin,
        q(
            "Desktop",
            QueueLevel::SecondLevel,
            "Second level: workstations and office software",
        ),
    )
    .await?;
    let mobile = create_queue(
        &demo,
        &admin,
        q(
            "Mobile devices",
            QueueLevel::SecondLevel,
            "Second level: phones and tablets",
        ),
    )
    .await?;
    let voip = create_queue(
        &demo,
        &admin,
        q(
            "VoIP and video conferencing",
            QueueLevel::SecondLevel,
            "Second level: telephony and meetings",
        ),
    )
    .await?;
    let hosting = create_queue(
        &demo,
        &admin,
        q(
            "Hosting",
            QueueLevel::SecondLevel,
            "Second level: servers and hosted services",
        ),
    )
    .await?;
    let care = create_queue(
        &demo,
        &admin,
        q(
            "Customer Care",
            QueueLevel::CustomerCare,
            "The client's own care team: complaints and exceptions",
        ),
    )
    .await?;
    let back_office = create_queue(
        &demo,
        &admin,
        q(
            "Back office",
            QueueLevel::BackOffice,
            "Work delegated to the contractor by e-mail",
        ),
    )
    .await?;
    // Mailboxes with no IMAP server: mail reaches them through the mailgate or `mail import`.
    use crate::channels::email::mailboxes::{create as create_mailbox, MailboxInput};
    create_mailbox(
        &demo,
        &admin,
        MailboxInput {
            name: Some("assistenza".into()),
            address: Some("assistenza@sportello.demo".into()),
            purpose: Some("intake".into()),
            queue_id: Some(first),
            ..Default::default()
        },
    )
    .await?;
    create_mailbox(
        &demo,
        &admin,
        MailboxInput {
            name: Some("backoffice".into()),
            address: Some("backoffice@sportello.demo".into()),
            purpose: Some("delegation".into()),
            queue_id: Some(back_office),
            authorised_senders: Some(vec!["elena.specialista@sportello.demo".into()]),
            ..Default::default()
        },
    )
    .await?;

    let topic = |name: &str, queue: i64, script: &str, public: bool| TopicInput {
        name: Some(name.into()),
        queue_id: Some(queue),
        info_script: Some(script.into()),
        public: Some(public),
        active: Some(true),
        form: None,
        in_statistics: None,
    };
    let subject = |name: &str, queue: Option<i64>, script: &str| SubjectInput {
        name: Some(name.into()),
        queue_id: queue,
        info_script: Some(script.into()),
        active: Some(true),
    };
    let card = create_topic(&demo, &admin, topic("Servizi e benefit della card", first,
        "Buongiorno, sono … Le condizioni e le modalità di fruizione dei servizi sono pubblicate sulla guida cartacea e sul sito dedicato. Verificare i dati anagrafici ricevuti dai flussi del Consorzio e completarli (telefono, e-mail).", true)).await?;
    let card_benefit = create_subject(
        &demo,
        &admin,
        card,
        subject(
            "Condizioni di un benefit",
            None,
            "Aprire lo script illustrativo del servizio richiesto e leggerne le condizioni.",
        ),
    )
    .await?;
    create_subject(
        &demo,
        &admin,
        card,
        subject("Sostituzione della card", None, ""),
    )
    .await?;
    let points = create_topic(
        &demo,
        &admin,
        topic(
            "Punti accumulati",
            first,
            "Comunicare il saldo punti indicato nella scheda del tesserato.",
            true,
        ),
    )
    .await?;
    let points_missing = create_subject(
        &demo,
        &admin,
        points,
        subject(
            "Punti non accreditati",
            Some(care),
            "Raccogliere data e punto vendita dell'acquisto; inoltrare al Customer Care.",
        ),
    )
    .await?;
    let shops = create_topic(&demo, &admin, topic("Punti vendita convenzionati", first, "Cercare per Regione e Provincia; i riferimenti del punto vendita si possono inviare al tesserato via e-mail.", true)).await?;
    create_subject(
        &demo,
        &admin,
        shops,
        subject("Ricerca per regione e provincia", None, ""),
    )
    .await?;
    let it = create_topic(
        &demo,
        &admin,
        topic(
            "IT help desk",
            first,
            "Identificare l'utente, annotare il codice della postazione e il messaggio di errore.",
            true,
        ),
    )
    .await?;
    let it_desktop =
        create_subject(&demo, &admin, it, subject("Postazione di lavoro", None, "")).await?;
    let it_mobile =
        create_subject(&demo, &admin, it, subject("Telefoni e tablet", None, "")).await?;
    create_subject(
        &demo,
        &admin,
        it,
        subject("Telefonia VoIP e videoconferenza", None, ""),
    )
    .await?;
    create_subject(&demo, &admin, it, subject("Guasto hardware", None, "")).await?;
    create_subject(&demo, &admin, it, subject("Hosting", Some(hosting), "")).await?;
    let complaints = create_topic(&demo, &admin, topic("Reclami", care,
        "I reclami vanno presentati per iscritto e devono riportare il numero di contratto. Il cliente viene informato dell'esito.", true)).await?;
    // The two call forms of the source documents, as a real installation gets them.
    let forms = call_forms::install(&demo, &admin).await?;
    let (non_target, line) = (forms.non_target_topic, forms.line_quality_topic);
    // Service levels: a standard policy for everything, a tighter one for urgent tickets.
    use crate::service::sla::{create_policy, PolicyInput};
    for (name, priority, first, next, resolution) in [
        ("Standard", None, 240, 480, 2400),
        (
            "Urgente",
            Some(crate::domain::Priority::Urgent),
            30,
            60,
            480,
        ),
    ] {
        create_policy(
            &demo,
            &admin,
            PolicyInput {
                name: Some(name.into()),
                priority: Some(priority),
                first_response_minutes: Some(Some(first)),
                next_response_minutes: Some(Some(next)),
                resolution_minutes: Some(Some(resolution)),
                ..Default::default()
            },
        )
        .await?;
    }
    // The card holders' line: IVR 1 card services, 2 points, 3 points of sale;
    // a missed call books a callback by itself.
    crate::channels::phone::create_line(
        &demo,
        &admin,
        crate::channels::phone::LineInput {
            number: "+39 0577 123400".into(),
            service: "Carta servizi – titolari".into(),
            caller_kind: Some("titolari di carta".into()),
            privacy_notice: Some(
                "La chiamata può essere registrata per la qualità del servizio. I dati sono trattati secondo il GDPR.".into(),
            ),
            queue_id: first,
            ivr: [("1".to_string(), card), ("2".to_string(), points), ("3".to_string(), shops)]
                .into_iter()
                .collect(),
            auto_callback: Some(true),
        },
    )
    .await?;

    let mut ids = Vec::new();
    for l in LOGINS {
        let (name, queues) = match l.role {
            Role::Admin => ("Amministratore", vec![]),
            Role::Operator if l.email.starts_with("giulia") => ("Giulia Bianchi", vec![first]),
            Role::Operator => ("Marco Esposito", vec![first, forms.senior_queue]),
            Role::Specialist => ("Elena Ricci", vec![desktop, mobile, voip, hosting]),
            Role::Supervisor => ("Paolo Conti", vec![]),
            Role::CustomerCare => ("Chiara Russo", vec![care]),
        };
        let a = create_agent(
            &demo,
            NewAgentRequest {
                email: l.email.into(),
                name: name.into(),
                role: l.role,
                password: l.password.into(),
                queue_ids: queues.clone(),
                time_zone: None,
            },
        )
        .await?;
        ids.push(viewer(a.id, l.role, queues, &demo));
    }
    let (giulia, marco, elena, chiara) = (&ids[1], &ids[2], &ids[3], &ids[5]);
    seed_escalation(&demo, &admin, first, care, ids[4].actor.agent_id).await?;

    struct Req {
        subject: &'static str,
        body: &'static str,
        channel: Channel,
        topic: i64,
        subject_id: Option<i64>,
        name: &'static str,
        email: Option<&'static str>,
        phone: Option<&'static str>,
        language: &'static str,
        contract: Option<&'static str>,
    }
    let requests = [
        Req { subject: "Sconto non applicato al ristorante convenzionato", body: "Buongiorno, ieri sera al ristorante Da Mario di Siena non mi hanno applicato lo sconto del 10% previsto dalla card. Come posso fare?", channel: Channel::Phone, topic: card, subject_id: Some(card_benefit), name: "Maria Rossi", email: Some("maria.rossi@example.it"), phone: Some("0577 123456"), language: "it", contract: Some("MPS-2024-0001") },
        Req { subject: "Saldo punti", body: "Vorrei sapere quanti punti ho accumulato finora.", channel: Channel::Phone, topic: points, subject_id: None, name: "Giuseppe Verdi", email: None, phone: Some("+39 347 765 4321"), language: "it", contract: None },
        Req { subject: "Punti non accreditati dopo l'acquisto", body: "Il 3 novembre ho fatto un acquisto da 120 euro al punto vendita di Arezzo ma i punti non risultano.", channel: Channel::Email, topic: points, subject_id: Some(points_missing), name: "Lucia Ferri", email: Some("lucia.ferri@example.it"), phone: None, language: "it", contract: Some("MPS-2023-4411") },
        Req { subject: "Punti vendita in provincia di Grosseto", body: "Quali negozi convenzionati ci sono a Grosseto e Orbetello?", channel: Channel::Web, topic: shops, subject_id: None, name: "Andrea Galli", email: Some("andrea.galli@example.it"), phone: None, language: "it", contract: None },
        Req { subject: "Не работает рабочая станция", body: "Здравствуйте! Мой компьютер не загружается после обновления, на экране синий экран с ошибкой.", channel: Channel::Email, topic: it, subject_id: Some(it_desktop), name: "Ирина Петрова", email: Some("irina.petrova@example.ru"), phone: None, language: "ru", contract: None },
        Req { subject: "Telefon se nesynchronizuje s poštou", body: "Dobrý den, můj služební telefon od včerejška nesynchronizuje e-mail. Děkuji za pomoc.", channel: Channel::Web, topic: it, subject_id: Some(it_mobile), name: "Jana Nováková", email: Some("jana.novakova@example.cz"), phone: Some("+420 601 123 456"), language: "cs", contract: None },
        Req { subject: "Reclamo per addebito non dovuto", body: "Segnalo per iscritto un addebito di 35 euro non dovuto sull'estratto conto di ottobre. Contratto MPS-2022-9001.", channel: Channel::Email, topic: complaints, subject_id: None, name: "Franco Neri", email: Some("franco.neri@example.it"), phone: None, language: "it", contract: Some("MPS-2022-9001") },
        Req { subject: "Chiamata da agenzia pubblicitaria", body: "Città: Firenze. Organizzazione: Agenzia Spot Srl. Ruolo: account manager. Nome: Luca Sarti. Telefono: 055 987654. Scopo: proposta di campagna pubblicitaria.", channel: Channel::Phone, topic: non_target, subject_id: None, name: "", email: None, phone: None, language: "it", contract: None },
        Req { subject: "Il numero verde non risponde", body: "Il numero 800 123 456 trovato sul sito dà sempre occupato. Contratto MPS-2021-7777, via Roma 12, Siena, tel. 0577 654321.", channel: Channel::Phone, topic: line, subject_id: None, name: "Anna Bruni", email: None, phone: Some("0577 654321"), language: "it", contract: Some("MPS-2021-7777") },
        Req { subject: "Card lost abroad", body: "Hello, I lost my card while travelling in Spain. Can you block it and send a new one?", channel: Channel::Email, topic: card, subject_id: None, name: "John Smith", email: Some("john.smith@example.co.uk"), phone: None, language: "en", contract: None },
    ];

    // The registry feed and the points-of-service directory come first, so
    // that the demo tickets find their callers (with card data) by e-mail or phone.
    for (what, report) in [
        (
            "registry",
            crate::service::registry::import_contacts(
                &demo,
                None,
                DEMO_REGISTRY.as_bytes().to_vec(),
            )
            .await?,
        ),
        (
            "points of service",
            crate::service::service_points::import(&demo, DEMO_POINTS.as_bytes().to_vec()).await?,
        ),
    ] {
        if !report.rejected.is_empty() {
            tracing::warn!(?report.rejected, "demo {what} feed: rows rejected");
        }
    }

    let form_values = |topic: i64| {
        if topic == non_target {
            Some(
                serde_json::json!({"city": "Firenze", "organisation": "Agenzia Spot Srl",
                "position": "Account manager", "name": "Luca Sarti",
                "contact_phone": "055 987654", "purpose": "Proposta di campagna pubblicitaria"}),
            )
        } else if topic == line {
            Some(
                serde_json::json!({"failing_number": "800 123 456", "where_found": "sito",
                "contract_number": "MPS-2021-7777", "address": "Via Roma 12, Siena",
                "contact_phone": "0577 654321", "name": "Anna Bruni"}),
            )
        } else {
            None
        }
    };
    let mut created = Vec::new();
    for round in 0..3 {
        for (i, r) in requests.iter().enumerate() {
            clock.advance(Duration::minutes(397 + (i as i64) * 13));
            let operator = if i % 2 == 0 { giulia } else { marco };
            let (detail, _) = tickets::create(
                &demo,
                operator,
                CreateTicket {
                    subject: if round == 0 {
                        r.subject.to_string()
                    } else {
                        format!("{} ({})", r.subject, round + 1)
                    },
                    body: r.body.into(),
                    channel: Some(r.channel),
                    priority: Some(if i % 5 == 0 {
                        Priority::High
                    } else {
                        Priority::Normal
                    }),
                    topic_id: Some(r.topic),
                    subject_id: r.subject_id,
                    queue_id: None,
                    contact_id: None,
                    contact: (!r.name.is_empty()).then(|| ContactDetails {
                        name: Some(r.name.into()),
                        email: r.email.map(Into::into),
                        phone: r.phone.map(Into::into),
                        organisation: None,
                        city: None,
                        contract_number: r.contract.map(Into::into),
                        language: Some(r.language.into()),
                    }),
                    attachments: vec![],
                    idempotency_key: Some(format!("demo-{round}-{i}")),
                    fields: form_values(r.topic),
                },
                None,
            )
            .await?;
            created.push((detail.ticket.id, i, round));
        }
    }

    // Move some of them along the workflow so every state is on show.
    let reason = |s: &str| ReasonRequest {
        reason: Some(s.into()),
    };
    for (id, i, round) in created {
        clock.advance(Duration::minutes(45));
        let key = TicketKey::Id(id);
        let op = if i % 2 == 0 { giulia } else { marco };
        match (round, i) {
            (0, 0) | (1, 1) | (2, 3) => {
                tickets::resolve(
                    &demo,
                    op,
                    key,
                    ResolveRequest {
                        resolution: "Informazioni fornite durante la chiamata.".into(),
                        notify: None,
                    },
                )
                .await?;
            }
            (0, 4) | (1, 4) => {
                tickets::escalate(
                    &demo,
                    op,
                    key.clone(),
                    EscalateRequest {
                        queue_id: desktop,
                        reason: "Serve intervento sulla postazione".into(),
                    },
                )
                .await?;
                if round == 1 {
                    tickets::claim_next(&demo, elena, desktop).await?;
                }
            }
            (0, 5) => {
                tickets::escalate(
                    &demo,
                    op,
                    key,
                    EscalateRequest {
                        queue_id: mobile,
                        reason: "Configurazione del profilo di posta sul dispositivo".into(),
                    },
                )
                .await?;
            }
            (0, 6) | (2, 6) => {
                tickets::set_state(
                    &demo,
                    chiara,
                    key,
                    StateRequest {
                        state: crate::domain::TicketState::PendingCustomer,
                    },
                )
                .await?;
            }
            (1, 2) => {
                tickets::set_state(
                    &demo,
                    chiara,
                    key,
                    StateRequest {
                        state: crate::domain::TicketState::PendingThirdParty,
                    },
                )
                .await?;
            }
            (1, 0) | (2, 0) => {
                tickets::resolve(
                    &demo,
                    op,
                    key.clone(),
                    ResolveRequest {
                        resolution: "Sconto riconosciuto dal punto vendita.".into(),
                        notify: None,
                    },
                )
                .await?;
                tickets::close(&demo, op, key, reason("Il cliente conferma")).await?;
            }
            (0, 9) | (2, 9) => {
                tickets::claim_next(&demo, op, first).await?;
            }
            (2, 1) => {
                tickets::close(
                    &demo,
                    op,
                    key,
                    reason("Duplicato di una chiamata precedente"),
                )
                .await?;
            }
            _ => {}
        }
    }
    let _ = voip;
    tracing::info!("demo data seeded");
    Ok(LOGINS)
}

/// Paolo supervises first level and customer care; customer care keeps the
/// Siena office's hours (closed on 1 December, Sant'Ansano); first level warns
/// the assignee and Paolo at risk, and raises the priority of a late first
/// answer and tells Paolo.
async fn seed_escalation(
    demo: &App,
    admin: &Viewer,
    first: i64,
    care: i64,
    supervisor: i64,
) -> AppResult<()> {
    use crate::domain::escalation::Trigger;
    use crate::domain::sla::ClockKind;
    use crate::service::catalogue::update_queue;
    use crate::service::sla::calendars::{create_calendar, CalendarInput};
    use crate::service::sla::escalation::{create_rule, RuleInput};
    let siena = create_calendar(
        demo,
        admin,
        CalendarInput {
            name: Some("Sede di Siena".into()),
            hours: Some("mon-fri 08:30-13:00 14:00-17:30".into()),
            holidays: Some(vec!["12-01".into()]),
            ..Default::default()
        },
    )
    .await?;
    let queue = |calendar: Option<i64>| QueueInput {
        calendar_id: calendar.map(Some),
        supervisor_id: Some(Some(supervisor)),
        ..Default::default()
    };
    update_queue(demo, admin, first, queue(None)).await?;
    update_queue(demo, admin, care, queue(Some(siena.id))).await?;
    let rules = [
        (
            first,
            "Prima risposta a rischio",
            Trigger::Warning,
            ClockKind::FirstResponse,
            true,
            false,
        ),
        (
            first,
            "Prima risposta scaduta",
            Trigger::Breach,
            ClockKind::FirstResponse,
            false,
            true,
        ),
    ];
    for (queue_id, name, on, kind, assignee, raise) in rules {
        create_rule(
            demo,
            admin,
            RuleInput {
                queue_id: Some(queue_id),
                name: Some(name.into()),
                on: Some(on),
                clock_kind: Some(Some(kind)),
                notify_assignee: Some(assignee),
                notify_supervisor: Some(true),
                raise_priority: Some(raise),
                ..Default::default()
            },
        )
        .await?;
    }
    Ok(())
}
