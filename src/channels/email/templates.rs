//! Mail templates in Italian and English, chosen by the contact's language;
//! a file `NAME.LANG.txt` in the template folder overrides a built-in one.
//! A template's first line is the subject, then a blank line, then the body.

use std::collections::HashMap;

use minijinja::Environment;
use serde::Serialize;

use crate::error::{AppError, AppResult};

pub const NAMES: &[&str] = &[
    "acknowledgement",
    "reply",
    "resolution",
    "delegation",
    "service_points",
    "callback_booked",
    "callback_failed",
    "sla_warning",
    "sla_breach",
    "sla_actions",
    "pending_reminder",
];
pub const LANGUAGES: &[&str] = &["it", "en"];

fn builtin(name: &str, lang: &str) -> &'static str {
    match (name, lang) {
        ("sla_warning", "it") => "[{{ desk }}] Livello di servizio a rischio: {{ number }}\n\n\
La richiesta {{ number }} \"{{ subject }}\" (coda {{ queue }}) è a rischio: \
{% if target == \"first_response\" %}la prima risposta{% elif target == \"next_response\" %}la risposta al cliente{% else %}la risoluzione{% endif %} \
va data entro {{ due }}.\n{% include \"sla_actions.it\" %}\n-- \n{{ desk }}\n",
        ("sla_warning", _) => "[{{ desk }}] Service level at risk: {{ number }}\n\n\
Request {{ number }} \"{{ subject }}\" (queue {{ queue }}) is at risk: \
{% if target == \"first_response\" %}the first response{% elif target == \"next_response\" %}the answer to the customer{% else %}the resolution{% endif %} \
is due by {{ due }}.\n{% include \"sla_actions.en\" %}\n-- \n{{ desk }}\n",
        ("sla_breach", "it") => "[{{ desk }}] Livello di servizio superato: {{ number }}\n\n\
La richiesta {{ number }} \"{{ subject }}\" (coda {{ queue }}) ha superato il livello di servizio: \
{% if target == \"first_response\" %}la prima risposta{% elif target == \"next_response\" %}la risposta al cliente{% else %}la risoluzione{% endif %} \
era dovuta entro {{ due }}.\n{% include \"sla_actions.it\" %}\n-- \n{{ desk }}\n",
        ("sla_breach", _) => "[{{ desk }}] Service level breached: {{ number }}\n\n\
Request {{ number }} \"{{ subject }}\" (queue {{ queue }}) has breached its service level: \
{% if target == \"first_response\" %}the first response{% elif target == \"next_response\" %}the answer to the customer{% else %}the resolution{% endif %} \
was due by {{ due }}.\n{% include \"sla_actions.en\" %}\n-- \n{{ desk }}\n",
        ("sla_actions", "it") => "{% if actions %}\nAzioni automatiche:\n{% for a in actions %}\
{% if a.kind == \"priority\" %}- priorità alzata: {{ a.from }} → {{ a.to }}\n\
{% elif a.kind == \"escalated\" %}- passata alla coda {{ a.queue }}\n\
{% elif a.kind == \"not_escalated\" %}- non passata alla coda {{ a.queue }}: {{ a.error }}\n{% endif %}{% endfor %}{% endif %}",
        ("sla_actions", _) => "{% if actions %}\nDone automatically:\n{% for a in actions %}\
{% if a.kind == \"priority\" %}- priority raised: {{ a.from }} → {{ a.to }}\n\
{% elif a.kind == \"escalated\" %}- moved to queue {{ a.queue }}\n\
{% elif a.kind == \"not_escalated\" %}- not moved to queue {{ a.queue }}: {{ a.error }}\n{% endif %}{% endfor %}{% endif %}",
        ("acknowledgement", "it") => "Abbiamo ricevuto la sua richiesta\n\n\
Gentile {{ name or \"cliente\" }},\n\n\
la sua richiesta \"{{ subject }}\" è stata registrata con il numero {{ number }}.\n\
Per aggiungere informazioni risponda a questo messaggio lasciando invariato l'oggetto.\n\
{% if tracking_url %}Può seguire la richiesta qui (link personale, non lo inoltri): {{ tracking_url }}\n{% endif %}\n\
Cordiali saluti,\n{{ desk }}\n",
        ("acknowledgement", _) => "We have received your request\n\n\
Dear {{ name or \"customer\" }},\n\n\
your request \"{{ subject }}\" has been registered with number {{ number }}.\n\
To add information, reply to this message and keep the subject as it is.\n\
{% if tracking_url %}Follow your request here (a personal link, do not forward it): {{ tracking_url }}\n{% endif %}\n\
Kind regards,\n{{ desk }}\n",
        ("reply", "it") => "{{ subject }}\n\n{{ body }}\n\n--\n{{ desk }} · richiesta {{ number }}\n",
        ("reply", _) => "{{ subject }}\n\n{{ body }}\n\n--\n{{ desk }} · request {{ number }}\n",
        ("resolution", "it") => "La sua richiesta è stata risolta\n\n\
Gentile {{ name or \"cliente\" }},\n\n\
la sua richiesta {{ number }} \"{{ subject }}\" è stata risolta:\n\n{{ resolution }}\n\n\
Se il problema persiste, risponda a questo messaggio.\n\
{% if rating_url %}\nCome valuta il servizio? Un clic basta:\n\
{% for n in [1, 2, 3, 4, 5] %}  {{ n }}/5: {{ rating_url }}&score={{ n }}\n{% endfor %}{% endif %}\n\
Cordiali saluti,\n{{ desk }}\n",
        ("resolution", _) => "Your request has been resolved\n\n\
Dear {{ name or \"customer\" }},\n\n\
your request {{ number }} \"{{ subject }}\" has been resolved:\n\n{{ resolution }}\n\n\
If the problem persists, reply to this message.\n\
{% if rating_url %}\nHow did we do? One click is enough:\n\
{% for n in [1, 2, 3, 4, 5] %}  {{ n }}/5: {{ rating_url }}&score={{ n }}\n{% endfor %}{% endif %}\n\
Kind regards,\n{{ desk }}\n",
        ("service_points", "it") => "I punti di servizio richiesti\n\n\
Gentile {{ name or \"cliente\" }},\n\n\
come d'accordo, ecco i riferimenti richiesti.\n\
{% if note %}\n{{ note }}\n{% endif %}\
{% for p in points %}\n{{ loop.index }}. {{ p.name }}{% if p.service %} – {{ p.service }}{% endif %}\n\
\x20  {{ p.address }}{% if p.postcode or p.city %}, {% if p.postcode %}{{ p.postcode }} {% endif %}{{ p.city }}{% endif %}{% if p.province_code %} ({{ p.province_code }}){% elif p.province %} ({{ p.province }}){% endif %}\n\
{% if p.opening_hours %}   Orari: {{ p.opening_hours }}\n{% endif %}\
{% if p.phone %}   Telefono: {{ p.phone }}\n{% endif %}\
{% endfor %}\n\
Per altre informazioni risponda a questo messaggio (richiesta {{ number }}).\n\n\
Cordiali saluti,\n{{ desk }}\n",
        ("service_points", _) => "The points of service you asked for\n\n\
Dear {{ name or \"customer\" }},\n\n\
as agreed, here are the details you asked for.\n\
{% if note %}\n{{ note }}\n{% endif %}\
{% for p in points %}\n{{ loop.index }}. {{ p.name }}{% if p.service %} – {{ p.service }}{% endif %}\n\
\x20  {{ p.address }}{% if p.postcode or p.city %}, {% if p.postcode %}{{ p.postcode }} {% endif %}{{ p.city }}{% endif %}{% if p.province_code %} ({{ p.province_code }}){% elif p.province %} ({{ p.province }}){% endif %}\n\
{% if p.opening_hours %}   Opening hours: {{ p.opening_hours }}\n{% endif %}\
{% if p.phone %}   Phone: {{ p.phone }}\n{% endif %}\
{% endfor %}\n\
For more information, reply to this message (request {{ number }}).\n\n\
Kind regards,\n{{ desk }}\n",
        ("callback_booked", "it") => "La richiameremo\n\n\
Gentile {{ name or \"cliente\" }},\n\n\
abbiamo registrato la sua richiesta di essere richiamato al numero {{ phone }} \
{% if now %}appena possibile{% else %}il {{ when }}{% endif %} (richiesta {{ number }}).\n\
{% if moved %}L'orario richiesto non era disponibile: la chiameremo alla prima fascia libera.\n{% endif %}\
{% if tracking_url %}Può seguire la richiesta qui (link personale, non lo inoltri): {{ tracking_url }}\n{% endif %}\n\
Cordiali saluti,\n{{ desk }}\n",
        ("callback_booked", _) => "We will call you back\n\n\
Dear {{ name or \"customer\" }},\n\n\
we have booked your callback to {{ phone }} \
{% if now %}as soon as possible{% else %}on {{ when }}{% endif %} (request {{ number }}).\n\
{% if moved %}The time you asked for was not available: we will call you in the first free slot.\n{% endif %}\
{% if tracking_url %}Follow your request here (a personal link, do not forward it): {{ tracking_url }}\n{% endif %}\n\
Kind regards,\n{{ desk }}\n",
        ("callback_failed", "it") => "Non siamo riusciti a contattarla\n\n\
Gentile {{ name or \"cliente\" }},\n\n\
abbiamo provato a richiamarla al numero {{ phone }} {{ attempts }} volte senza riuscirci \
(richiesta {{ number }}).\n\
Può rispondere a questo messaggio o chiederci una nuova richiamata.\n\n\
Cordiali saluti,\n{{ desk }}\n",
        ("callback_failed", _) => "We could not reach you\n\n\
Dear {{ name or \"customer\" }},\n\n\
we tried to call you back at {{ phone }} {{ attempts }} times without reaching you \
(request {{ number }}).\n\
You can reply to this message or ask for a new callback.\n\n\
Kind regards,\n{{ desk }}\n",
        ("pending_reminder", "it") => "Attendiamo una sua risposta\n\n\
Gentile {{ name or \"cliente\" }},\n\n\
per proseguire con la sua richiesta {{ number }} \"{{ subject }}\" ci serve una sua risposta \
(promemoria n. {{ reminder }}).\n\
Risponda a questo messaggio lasciando invariato l'oggetto.\n\
{% if resolve_on %}Se non riceveremo sue notizie entro il {{ resolve_on }}, considereremo la richiesta risolta.\n{% endif %}\n\
Cordiali saluti,\n{{ desk }}\n",
        ("pending_reminder", _) => "We are waiting for your reply\n\n\
Dear {{ name or \"customer\" }},\n\n\
to go on with your request {{ number }} \"{{ subject }}\" we need your reply \
(reminder no. {{ reminder }}).\n\
Reply to this message and keep the subject as it is.\n\
{% if resolve_on %}If we do not hear from you by {{ resolve_on }}, we will consider the request resolved.\n{% endif %}\n\
Kind regards,\n{{ desk }}\n",
        ("delegation", "it") => "Attività delegata: {{ subject }}\n\n\
{{ body }}\n\n\
Rispondete a questo messaggio per aggiornare la richiesta {{ number }}.\n{% if due %}Scadenza: {{ due }}\n{% endif %}\n{{ desk }}\n",
        (_, _) => "Delegated task: {{ subject }}\n\n\
{{ body }}\n\n\
Reply to this message to update request {{ number }}.\n{% if due %}Due: {{ due }}\n{% endif %}\n{{ desk }}\n",
    }
}

pub struct Templates {
    env: Environment<'static>,
}

/// A rendered mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

impl Templates {
    /// Built-ins, overridden by the files in `dir`; a broken override fails start-up.
    pub fn load(dir: Option<&std::path::Path>) -> AppResult<Templates> {
        let mut sources: HashMap<String, String> = HashMap::new();
        for name in NAMES {
            for lang in LANGUAGES {
                let key = format!("{name}.{lang}");
                let text = dir
                    .map(|d| d.join(format!("{key}.txt")))
                    .filter(|p| p.exists())
                    .map(|p| {
                        std::fs::read_to_string(&p).map_err(|e| {
                            AppError::Internal(format!("cannot read template {}: {e}", p.display()))
                        })
                    })
                    .transpose()?
                    .unwrap_or_else(|| builtin(name, lang).to_string());
                sources.insert(key, text);
            }
        }
        let mut env = Environment::new();
        for (key, text) in sources {
            env.add_template_owned(key.clone(), text)
                .map_err(|e| AppError::Internal(format!("template {key}: {e}")))?;
        }
        Ok(Templates { env })
    }

    /// Renders `name` in the contact's language (Italian for `it`, English otherwise).
    pub fn render<C: Serialize>(&self, name: &str, language: &str, ctx: C) -> AppResult<Rendered> {
        let lang = if language == "it" { "it" } else { "en" };
        let text = self
            .env
            .get_template(&format!("{name}.{lang}"))
            .and_then(|t| t.render(ctx))
            .map_err(|e| AppError::Internal(format!("template {name}.{lang}: {e}")))?;
        let (subject, body) = text.split_once('\n').unwrap_or((&text, ""));
        Ok(Rendered {
            subject: subject.trim().to_string(),
            body: body.trim_start_matches('\n').to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_points_list_each_point() {
        let t = Templates::load(None).unwrap();
        let ctx = json!({"name": "Maria", "number": "2026-000001", "desk": "Sportello", "note": "Ecco i punti.",
        "points": [
            {"name": "Trattoria Al Portico", "service": "Ristorazione", "address": "Via della Lungaretta 51",
             "postcode": "00153", "city": "Roma", "province": "Roma", "province_code": "RM",
             "opening_hours": "mar-dom 12:30-15:00", "phone": "+39065812260"},
            {"name": "Libreria dei Colli", "service": "", "address": "Corso Italia 88", "postcode": "",
             "city": "Viterbo", "province": "Viterbo", "province_code": "", "opening_hours": "", "phone": ""},
        ]});
        let it = t.render("service_points", "it", &ctx).unwrap();
        assert_eq!(it.subject, "I punti di servizio richiesti");
        assert!(
            it.body.contains(
                "Ecco i punti.\n\n1. Trattoria Al Portico – Ristorazione\n   Via della Lungaretta 51, 00153 Roma (RM)\n   Orari: mar-dom 12:30-15:00\n   Telefono: +39065812260\n\n2. Libreria dei Colli\n   Corso Italia 88, Viterbo (Viterbo)\n\nPer altre"
            ),
            "{}",
            it.body
        );
        let en = t.render("service_points", "en", &ctx).unwrap();
        assert!(en.body.contains("Opening hours: mar-dom") && en.body.starts_with("Dear Maria"));
    }

    #[test]
    fn pending_reminder_names_the_request_and_the_deadline() {
        let t = Templates::load(None).unwrap();
        let ctx = json!({"name": "Maria", "subject": "Sconto", "number": "2026-000001", "desk": "Sportello",
            "reminder": 2, "resolve_on": "16/03/2026"});
        let it = t.render("pending_reminder", "it", &ctx).unwrap();
        assert_eq!(it.subject, "Attendiamo una sua risposta");
        assert_eq!(
            it.body,
            "Gentile Maria,\n\nper proseguire con la sua richiesta 2026-000001 \"Sconto\" ci serve una sua \
risposta (promemoria n. 2).\nRisponda a questo messaggio lasciando invariato l'oggetto.\n\
Se non riceveremo sue notizie entro il 16/03/2026, considereremo la richiesta risolta.\n\n\
Cordiali saluti,\nSportello"
        );
        let ctx = json!({"subject": "Sconto", "number": "2026-000001", "desk": "Sportello", "reminder": 1});
        let en = t.render("pending_reminder", "en", &ctx).unwrap();
        assert!(en.body.starts_with("Dear customer,") && !en.body.contains("resolved"));
    }

    #[test]
    fn builtins_in_both_languages_and_overrides() {
        let t = Templates::load(None).unwrap();
        let ctx = json!({"name": "Maria", "subject": "Sconto", "number": "2026-000001", "desk": "Sportello"});
        let it = t.render("acknowledgement", "it", &ctx).unwrap();
        assert_eq!(it.subject, "Abbiamo ricevuto la sua richiesta");
        assert!(it.body.contains("Gentile Maria") && it.body.contains("2026-000001"));
        let en = t.render("acknowledgement", "ru", &ctx).unwrap();
        assert!(en.body.starts_with("Dear Maria"));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("acknowledgement.it.txt"),
            "Ricevuta {{ number }}\n\nCiao {{ name }}",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let it = t.render("acknowledgement", "it", &ctx).unwrap();
        assert_eq!(
            it,
            Rendered {
                subject: "Ricevuta 2026-000001".into(),
                body: "Ciao Maria".into()
            }
        );
        std::fs::write(dir.path().join("reply.en.txt"), "{{ broken").unwrap();
        assert!(Templates::load(Some(dir.path())).is_err());
    }
}
