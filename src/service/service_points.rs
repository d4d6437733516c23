//! The points-of-service directory: imported from the client's feeds like the
//! registry, searched by region, province and city while the caller is on the
//! line, and the chosen entries e-mailed to the caller from the ticket.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::registry::{read_feed, run_rows, ImportReport, Outcome};
use super::tickets::{may_act, TicketKey};
use super::views::local;
use super::{optional_text, App, Viewer};
use crate::channels::email::outbound::{self, Compose, Outgoing};
use crate::domain::contact::normalise_email;
use crate::domain::feed::{self, canonical, fold, Feed, FeedRow};
use crate::domain::workflow::Action;
use crate::domain::{phone, search, ArticleKind, Channel, EventKind};
use crate::error::{AppError, AppResult};
use crate::intake::{self, ContactRef, IntakeRequest};
use crate::store::service_points::{
    self as store, PointFilter, ServicePointFields, ServicePointRow,
};
use crate::store::{contacts, mail as mailstore, outbox, tickets, DbConn};

#[derive(Debug, Serialize, ToSchema)]
pub struct ServicePointView {
    pub id: i64,
    pub external_key: String,
    pub name: String,
    /// The service that can be used there (e.g. "Ristorazione").
    pub service: String,
    pub region: String,
    pub province: String,
    /// Two-letter code, e.g. `RM`.
    pub province_code: String,
    pub city: String,
    pub address: String,
    pub postcode: String,
    pub opening_hours: String,
    /// E.164.
    pub phone: String,
    pub email: String,
    pub active: bool,
    pub updated_at: DateTime<FixedOffset>,
}

fn view(r: ServicePointRow, tz: chrono_tz::Tz) -> ServicePointView {
    ServicePointView {
        id: r.id,
        external_key: r.external_key,
        name: r.name,
        service: r.service,
        region: r.region,
        province: r.province,
        province_code: r.province_code,
        city: r.city,
        address: r.address,
        postcode: r.postcode,
        opening_hours: r.opening_hours,
        phone: r.phone,
        email: r.email,
        active: r.active,
        updated_at: local(r.updated_at, tz),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PointQuery {
    /// Region name, in any case and with or without accents.
    pub region: Option<String>,
    /// Province name or two-letter code (`RM`).
    pub province: Option<String>,
    pub city: Option<String>,
    /// Part of the service's name.
    pub service: Option<String>,
    /// Words in the name, service, address, city, province or region.
    pub q: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
    /// Entries to skip, default 0.
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServicePointPage {
    pub items: Vec<ServicePointView>,
    /// Active points matching the filters, over all pages.
    pub total: i64,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

pub async fn search(app: &App, viewer: &Viewer, q: PointQuery) -> AppResult<ServicePointPage> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            "limit must be between 1 and 200",
        ));
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(AppError::invalid("offset", "offset must not be negative"));
    }
    let filter = PointFilter {
        region_key: given(&q.region).map(fold),
        province: given(&q.province).map(|p| (fold(p), p.to_uppercase())),
        city_key: given(&q.city).map(fold),
        service_like: given(&q.service).map(|s| search::like_contains(&fold(s))),
        words_like: given(&q.q)
            .map(|t| {
                fold(t)
                    .split(' ')
                    .take(8)
                    .map(search::like_contains)
                    .collect()
            })
            .unwrap_or_default(),
    };
    let tz = viewer.tz;
    app.db
        .read(move |c| {
            let (total, rows) = store::search(c, &filter, limit, offset)?;
            Ok(ServicePointPage {
                items: rows.into_iter().map(|r| view(r, tz)).collect(),
                total,
            })
        })
        .await
}

pub async fn get(app: &App, viewer: &Viewer, id: i64) -> AppResult<ServicePointView> {
    let tz = viewer.tz;
    app.db
        .read(move |c| {
            store::find(c, id)?
                .map(|r| view(r, tz))
                .ok_or_else(|| AppError::not_found(format!("service point {id}")))
        })
        .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProvinceCount {
    pub province: String,
    pub province_code: String,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegionCount {
    pub region: String,
    pub count: i64,
    pub provinces: Vec<ProvinceCount>,
}

/// Regions with their provinces and how many active points each has.
pub async fn regions(app: &App) -> AppResult<Vec<RegionCount>> {
    let places = app.db.read(store::places).await?;
    let mut out: Vec<RegionCount> = Vec::new();
    let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
    for p in places {
        let i = *by_key.entry(p.region_key.clone()).or_insert_with(|| {
            out.push(RegionCount {
                region: p.region.clone(),
                count: 0,
                provinces: vec![],
            });
            out.len() - 1
        });
        let region = &mut out[i];
        region.count += p.count;
        match region
            .provinces
            .iter_mut()
            .find(|q| fold(&q.province) == p.province_key && q.province_code == p.province_code)
        {
            Some(q) => q.count += p.count,
            None => region.provinces.push(ProvinceCount {
                province: p.province,
                province_code: p.province_code,
                count: p.count,
            }),
        }
    }
    Ok(out)
}

const COLUMNS: &[&str] = &[
    "external_key",
    "name",
    "service",
    "region",
    "province",
    "province_code",
    "city",
    "address",
    "postcode",
    "opening_hours",
    "phone",
    "email",
    "active",
];

/// Column name → index, for the columns this importer knows.
struct PointColumns(BTreeMap<&'static str, usize>);

impl PointColumns {
    fn cell<'a>(&self, row: &'a FeedRow, name: &str) -> Option<&'a str> {
        self.0
            .get(name)
            .map(|i| row.cell(*i))
            .filter(|v| !v.is_empty())
    }
}

fn text(field: &str, value: &str, max: usize) -> AppResult<String> {
    optional_text(field, Some(value), max)
}

/// Creates or updates one point; an empty cell leaves the value as it is.
fn import_point(
    c: &mut DbConn,
    cols: &PointColumns,
    row: &FeedRow,
    now: NaiveDateTime,
) -> AppResult<Outcome> {
    let key = cols
        .cell(row, "external_key")
        .ok_or_else(|| AppError::invalid("external_key", "the external key is empty"))?;
    let key = text("external_key", key, 100)?;
    let before = store::by_key(c, &key)?;
    let mut f = before.clone().unwrap_or(ServicePointFields {
        external_key: key.clone(),
        name: String::new(),
        service: String::new(),
        region: String::new(),
        province: String::new(),
        province_code: String::new(),
        city: String::new(),
        address: String::new(),
        postcode: String::new(),
        opening_hours: String::new(),
        phone: String::new(),
        email: String::new(),
        active: true,
        region_key: String::new(),
        province_key: String::new(),
        city_key: String::new(),
        service_key: String::new(),
        search_key: String::new(),
        updated_at: now,
    });
    for (field, max, slot) in [
        ("name", 200, &mut f.name),
        ("service", 200, &mut f.service),
        ("region", 100, &mut f.region),
        ("city", 100, &mut f.city),
        ("address", 500, &mut f.address),
        ("postcode", 20, &mut f.postcode),
        ("opening_hours", 1000, &mut f.opening_hours),
    ] {
        if let Some(v) = cols.cell(row, field) {
            *slot = text(field, v, max)?;
        }
    }
    let code_of = |v: &str| {
        let v = v.trim().to_uppercase();
        (v.len() == 2 && v.chars().all(|c| c.is_ascii_alphabetic())).then_some(v)
    };
    if let Some(v) = cols.cell(row, "province") {
        match code_of(v) {
            // A two-letter province is its code (`RM`).
            Some(code) if cols.cell(row, "province_code").is_none() => f.province_code = code,
            _ => f.province = text("province", v, 100)?,
        }
    }
    if let Some(v) = cols.cell(row, "province_code") {
        f.province_code = code_of(v).ok_or_else(|| {
            AppError::invalid(
                "province_code",
                format!("'{v}' is not a two-letter code like RM"),
            )
        })?;
    }
    if let Some(v) = cols.cell(row, "phone") {
        f.phone = phone::normalise(v).map_err(|e| AppError::invalid("phone", e.to_string()))?;
    }
    if let Some(v) = cols.cell(row, "email") {
        f.email = normalise_email(v).map_err(|e| AppError::invalid("email", e.to_string()))?;
    }
    if let Some(v) = cols.cell(row, "active") {
        f.active = feed::yes_no(v).ok_or_else(|| {
            AppError::invalid(
                "active",
                format!("'{v}' is not yes or no (1/0, sì/no, true/false)"),
            )
        })?;
    }
    if f.name.is_empty() {
        return Err(AppError::invalid(
            "name",
            "a new point of service needs a name",
        ));
    }
    f.region_key = fold(&f.region);
    f.province_key = fold(&f.province);
    f.city_key = fold(&f.city);
    f.service_key = fold(&f.service);
    f.search_key = fold(
        &[
            f.name.as_str(),
            &f.service,
            &f.address,
            &f.postcode,
            &f.city,
            &f.province,
            &f.province_code,
            &f.region,
        ]
        .join(" "),
    );
    match before {
        Some(b) if b == f => Ok(Outcome::Unchanged),
        Some(_) => {
            f.updated_at = now;
            store::update_by_key(c, &f)?;
            Ok(Outcome::Updated)
        }
        None => {
            store::insert(c, &f)?;
            Ok(Outcome::Created)
        }
    }
}

fn point_columns(feed: &Feed) -> (PointColumns, Vec<String>) {
    let mut known = BTreeMap::new();
    let mut ignored = Vec::new();
    for (i, label) in feed.columns.iter().enumerate() {
        match COLUMNS.iter().find(|c| **c == canonical(label)) {
            Some(c) => {
                known.insert(*c, i);
            }
            None => ignored.push(label.clone()),
        }
    }
    (PointColumns(known), ignored)
}

/// Imports a points-of-service feed. Columns it does not know are reported
/// in `ignored_columns` and left aside.
pub async fn import(app: &App, bytes: Vec<u8>) -> AppResult<ImportReport> {
    let feed = read_feed(&bytes)?;
    let (cols, ignored) = point_columns(&feed);
    let now = app.clock.now_db();
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        let mut report = ImportReport {
            ignored_columns: ignored,
            ..Default::default()
        };
        run_rows(&db, &feed, &mut report, |c, row| {
            import_point(c, &cols, row, now)
        })?;
        Ok(report)
    })
    .await
    .map_err(|e| AppError::Internal(format!("import task failed: {e}")))?
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendPointsRequest {
    /// The points of service chosen with the caller (1 to 20).
    pub point_ids: Vec<i64>,
    /// Where to send them; default: the ticket contact's working address.
    pub to: Option<String>,
    /// `it` or `en`; default: the contact's language (Italian for `it`, else English).
    pub language: Option<String>,
    /// A few words for the caller, put above the list.
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SentPoints {
    pub ticket_id: i64,
    /// The public article recording what was sent.
    pub article_id: i64,
    /// The outgoing mail (see `GET /tickets/{ticket}/emails`).
    pub email_id: i64,
    pub to: String,
    pub language: String,
    pub points: Vec<ServicePointView>,
}

/// E-mails the chosen points of service to the caller, recorded on the ticket
/// as a public outgoing article with an event, in the transaction that queues the mail.
pub async fn send(
    app: &App,
    viewer: &Viewer,
    key: TicketKey,
    req: SendPointsRequest,
) -> AppResult<SentPoints> {
    let mut ids: Vec<i64> = Vec::new();
    for id in &req.point_ids {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    if ids.is_empty() {
        return Err(AppError::invalid(
            "point_ids",
            "choose at least one point of service",
        ));
    }
    if ids.len() > 20 {
        return Err(AppError::invalid(
            "point_ids",
            "send at most 20 points of service at once",
        ));
    }
    let language = match given(&req.language) {
        Some(l) if l == "it" || l == "en" => Some(l.to_string()),
        Some(l) => {
            return Err(AppError::invalid(
                "language",
                format!("'{l}' is not 'it' or 'en'"),
            ));
        }
        None => None,
    };
    let note = optional_text("note", req.note.as_deref(), 2000)?;
    let to = given(&req.to)
        .map(|t| normalise_email(t).map_err(|e| AppError::invalid("to", e.to_string())))
        .transpose()?;
    let tz = viewer.tz;
    let ids2 = ids.clone();
    let (ticket, points, to, name, language) = app
        .db
        .read(move |c| {
            let id = key.resolve(c)?;
            let ticket = tickets::find(c, id)?.ok_or_else(|| AppError::not_found("ticket"))?;
            let rows = store::find_many(c, &ids2)?;
            let mut points = Vec::new();
            for id in &ids2 {
                let p = rows.iter().find(|r| r.id == *id).cloned().ok_or_else(|| {
                    AppError::invalid("point_ids", format!("service point {id} does not exist"))
                })?;
                if !p.active {
                    return Err(AppError::invalid(
                        "point_ids",
                        format!("service point {id} ({}) is no longer active", p.name),
                    ));
                }
                points.push(p);
            }
            let contact = match ticket.contact_id {
                Some(cid) => contacts::find(c, cid)?,
                None => None,
            };
            let to = match to {
                Some(t) => t,
                None => match &contact {
                    Some(ct) => contacts::working_email(c, ct.id)?,
                    None => None,
                }
                .ok_or_else(|| {
                    AppError::invalid(
                        "to",
                        "the ticket's contact has no working e-mail address; say where to send it",
                    )
                })?,
            };
            let name = contact
                .as_ref()
                .map(|ct| ct.name.clone())
                .filter(|n| !n.is_empty());
            let language = language.unwrap_or_else(|| match &contact {
                Some(ct) if ct.language != "it" => "en".into(),
                _ => "it".into(),
            });
            Ok((ticket, points, to, name, language))
        })
        .await?;
    let vars = json!({
        "name": name,
        "number": ticket.number,
        "subject": ticket.subject,
        "desk": app.config.desk_name,
        "note": note,
        "points": points.iter().map(|p| json!({
            "name": p.name, "service": p.service, "address": p.address, "postcode": p.postcode,
            "city": p.city, "province": p.province, "province_code": p.province_code,
            "opening_hours": p.opening_hours, "phone": p.phone, "email": p.email,
        })).collect::<Vec<_>>(),
    });
    let rendered = app
        .templates
        .render(outbound::kind::SERVICE_POINTS, &language, &vars)?;
    let now = app.clock.now_db();
    let actor = viewer.actor.clone();
    let ticket_id = ticket.id;
    let guard: intake::Guard =
        Box::new(move |c| may_act(c, &actor, ticket_id, Action::PublicReply, now));
    let (config, templates) = (app.config.clone(), app.templates.clone());
    let (to2, language2, point_ids) = (to.clone(), language.clone(), ids.clone());
    let agent = viewer.actor.agent_id;
    let after: intake::After = Box::new(move |c, o, ticket| {
        let out = Outgoing {
            config: &config,
            templates: &templates,
            now,
        };
        let mailbox = mailstore::mailbox_of_ticket(c, ticket.id)?;
        let email_id = outbound::enqueue(
            c,
            out,
            Compose {
                kind: outbound::kind::SERVICE_POINTS,
                ticket,
                to: to2.clone(),
                language: language2,
                name,
                mailbox,
                article_id: Some(o.article_id),
                vars,
                automatic: false,
                thread: None,
                access: None,
            },
        )?;
        intake::event(
            c,
            ticket.id,
            EventKind::ServicePointsSent,
            Some(agent),
            json!({"points": point_ids, "to": to2, "email_id": email_id, "article_id": o.article_id}),
            now,
        )
    });
    let outcome = intake::submit_guarded(
        app,
        IntakeRequest {
            channel: Channel::Staff,
            contact: ContactRef::Unknown,
            topic_id: None,
            subject_id: None,
            queue_id: None,
            subject: String::new(),
            body: rendered.body,
            priority: None,
            attachments: vec![],
            idempotency_key: None,
            ticket_id: Some(ticket_id),
            author_agent_id: Some(viewer.actor.agent_id),
            article_kind: ArticleKind::Outbound,
            public: true,
            html: None,
            fields: None,
        },
        Some(guard),
        Some(after),
    )
    .await?;
    let article_id = outcome.article_id;
    let email_id = app
        .db
        .read(move |c| {
            Ok(outbox::of_ticket(c, outcome.ticket_id)?
                .into_iter()
                .find(|m| m.article_id == Some(article_id))
                .map(|m| m.id)
                .unwrap_or_default())
        })
        .await?;
    Ok(SentPoints {
        ticket_id: outcome.ticket_id,
        article_id,
        email_id,
        to,
        language,
        points: points.into_iter().map(|p| view(p, tz)).collect(),
    })
}
