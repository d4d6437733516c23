//! The OpenAPI 3 document, generated from the handlers, and an offline docs page.

use std::sync::OnceLock;

use actix_web::web::Bytes;
use actix_web::HttpResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::{
    auth, callbacks, catalogue, contacts, health, housekeeping, jobs, mail, phone, public, queues,
    registry, sla, stats, supervisor, tickets,
};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Sportello staff API", description = "Omnichannel help-desk ticketing. Errors are RFC 7807 problem+json."),
    paths(
        health::healthz,
        auth::login, auth::logout, auth::me, auth::create_api_token, auth::list_api_tokens, auth::revoke_api_token,
        auth::list_agents, auth::create_agent, auth::update_agent,
        tickets::list, tickets::create, tickets::get, tickets::update, tickets::add_article, tickets::assign,
        tickets::set_state, tickets::escalate, tickets::hand_back, tickets::resolve, tickets::close, tickets::reopen,
        tickets::merge, tickets::link,
        tickets::emails,
        tickets::delegate,
        tickets::delegations, tickets::attachment,
        queues::list, queues::create, queues::update, queues::queue_tickets, queues::claim,
        contacts::search, contacts::create, contacts::get, contacts::update, contacts::history, contacts::tickets,
        catalogue::list, catalogue::create, catalogue::update, catalogue::create_subject, catalogue::update_subject,
        mail::mailgate, mail::review_list, mail::review_get, mail::review_release, mail::review_discard,
        mail::mailbox_list, mail::mailbox_create, mail::mailbox_update,
        mail::mailbox_polls,
        mail::mailbox_poll_now,
        mail::article_original,
        public::topics,
        public::submit,
        public::track,
        public::message,
        public::callback,
        public::rate,
        public::ratings,
        phone::lines,
        phone::create_line,
        phone::cti_event,
        phone::context,
        phone::presence_all,
        phone::presence_set,
        phone::write_up,
        phone::calls,
        phone::acknowledge,
        phone::call_report,
        callbacks::list,
        callbacks::create,
        callbacks::get,
        callbacks::accept,
        callbacks::decline,
        callbacks::attempt,
        callbacks::cancel,
        callbacks::dispatch,
        callbacks::report,
        jobs::status,
        housekeeping::run_housekeeping,
        public::new_callback,
        public::callback_slots,
        stats::ticket_stats,
        registry::import_contacts,
        registry::import_points,
        registry::search,
        registry::regions,
        registry::get,
        registry::send,
        sla::list,
        sla::create,
        sla::update,
        sla::list_calendars,
        sla::get_calendar,
        sla::create_calendar,
        sla::update_calendar,
        sla::list_rules,
        sla::create_rule,
        sla::update_rule,
        sla::check,
        supervisor::queues,
        supervisor::queue,
    ),
    components(schemas(crate::error::Problem)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

/// The document as JSON, built on first request and shared by all workers.
/// Built eagerly it cost every worker some 9 MB of heap at start (utoipa's
/// builders), most of which stayed resident; the JSON is about 150 kB.
static OPENAPI_JSON: OnceLock<Bytes> = OnceLock::new();

pub async fn openapi_json() -> HttpResponse {
    let json = OPENAPI_JSON.get_or_init(|| {
        Bytes::from(serde_json::to_vec(&ApiDoc::openapi()).expect("the OpenAPI document is JSON"))
    });
    HttpResponse::Ok()
        .content_type(mime::APPLICATION_JSON)
        .body(json.clone())
}

/// Where the docs page loads the document from (served by [`openapi_json`]).
pub const DOCS_OPENAPI_URL: &str = "/api/v1/docs/openapi.json";

/// Swagger UI, bundled into the binary (works with no network). It is pointed
/// at [`DOCS_OPENAPI_URL`] rather than handed the document, which it would
/// keep in memory, one copy per worker.
pub fn swagger() -> SwaggerUi {
    SwaggerUi::new("/api/v1/docs/{_:.*}").config(Config::new([DOCS_OPENAPI_URL]))
}
