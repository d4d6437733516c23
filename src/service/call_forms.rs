//! The call forms Sportello ships, from the source documents: the non-target
//! call (advertisers, suppliers, officials: recorded for management, no
//! personal data given out, kept out of the statistics) and the line-quality
//! complaint (passed to the senior operator). `install` puts them in a
//! catalogue; the demo and `sportello catalogue seed-forms` use it.

use super::catalogue::{create_queue, create_topic, QueueInput, TopicInput};
use super::{App, Viewer};
use crate::domain::forms::{FieldType, FormField};
use crate::domain::QueueLevel;
use crate::error::AppResult;
use crate::store::catalogue;

pub const MANAGEMENT_QUEUE: &str = "Direzione";
pub const SENIOR_QUEUE: &str = "Operatore senior";
pub const NON_TARGET_TOPIC: &str = "Chiamata non target";
pub const LINE_QUALITY_TOPIC: &str = "Reclamo qualità linea";

fn field(name: &str, label: &str, kind: FieldType, required: bool) -> FormField {
    FormField {
        name: name.into(),
        label: label.into(),
        kind,
        required,
        options: None,
        max_length: None,
        min: None,
        max: None,
        pattern: None,
    }
}

/// Who called and why, for management.
pub fn non_target_form() -> Vec<FormField> {
    vec![
        field("city", "Città", FieldType::Text, false),
        field("organisation", "Organizzazione", FieldType::Text, false),
        field("position", "Ruolo di chi chiama", FieldType::Text, false),
        field("name", "Nome e cognome", FieldType::Text, false),
        field(
            "contact_phone",
            "Telefono di contatto",
            FieldType::Phone,
            true,
        ),
        field("purpose", "Scopo della chiamata", FieldType::Textarea, true),
    ]
}

/// The number that fails and the subscriber who reports it.
pub fn line_quality_form() -> Vec<FormField> {
    vec![
        field(
            "failing_number",
            "Numero che non funziona",
            FieldType::Phone,
            true,
        ),
        field(
            "where_found",
            "Dove ha trovato il numero (annuncio, volantino, sito…)",
            FieldType::Text,
            false,
        ),
        field(
            "contract_number",
            "Numero di contratto",
            FieldType::Text,
            false,
        ),
        field("address", "Indirizzo", FieldType::Text, false),
        field(
            "contact_phone",
            "Telefono di contatto",
            FieldType::Phone,
            true,
        ),
        field(
            "calling_number",
            "Numero da cui non riesce a chiamare",
            FieldType::Phone,
            false,
        ),
        field("name", "Nome e cognome", FieldType::Text, false),
    ]
}

pub const NON_TARGET_SCRIPT: &str = "Non fornire dati personali né informazioni dalla banca dati (al più il proprio nome). \
Annotare città, organizzazione, ruolo e nome di chi chiama, telefono di contatto e scopo della chiamata: \
la richiesta passa alla Direzione. Le aziende che propongono collaborazioni possono inviare le proposte per e-mail.";

pub const LINE_QUALITY_SCRIPT: &str = "Annotare il numero che non funziona (anche se non è sul sito), dove il chiamante lo ha trovato, \
numero di contratto, indirizzo e telefono di contatto dell'abbonato, il numero da cui non riesce a chiamare e il nome; \
la segnalazione passa all'operatore senior.";

/// What [`install`] found or created.
#[derive(Debug, Clone, Copy)]
pub struct Installed {
    pub management_queue: i64,
    pub senior_queue: i64,
    pub non_target_topic: i64,
    pub line_quality_topic: i64,
}

/// Creates the two queues and topics that are not there yet (found by name;
/// existing ones are left as they are). Admins only.
pub async fn install(app: &App, admin: &Viewer) -> AppResult<Installed> {
    let (queues, topics) = app
        .db
        .read(|c| Ok((catalogue::queues(c)?, catalogue::topics(c)?)))
        .await?;
    let queue_id = |name: &str| queues.iter().find(|q| q.name == name).map(|q| q.id);
    let topic_id = |name: &str| topics.iter().find(|t| t.name == name).map(|t| t.id);
    let queue = |name: &str, level: QueueLevel, description: &str| QueueInput {
        name: Some(name.into()),
        level: Some(level),
        description: Some(description.into()),
        email: None,
        active: Some(true),
        ..Default::default()
    };
    // Management reads non-target calls; it is not a first-level desk, so
    // operators file tickets there but only its members and supervisors work them.
    let management_queue = match queue_id(MANAGEMENT_QUEUE) {
        Some(id) => id,
        None => {
            create_queue(
                app,
                admin,
                queue(
                    MANAGEMENT_QUEUE,
                    QueueLevel::SecondLevel,
                    "Chiamate non target registrate per la direzione",
                ),
            )
            .await?
        }
    };
    let senior_queue = match queue_id(SENIOR_QUEUE) {
        Some(id) => id,
        None => {
            create_queue(
                app,
                admin,
                queue(
                    SENIOR_QUEUE,
                    QueueLevel::FirstLevel,
                    "Reclami sulla qualità della linea, per l'operatore senior",
                ),
            )
            .await?
        }
    };
    let non_target_topic = match topic_id(NON_TARGET_TOPIC) {
        Some(id) => id,
        None => {
            create_topic(
                app,
                admin,
                TopicInput {
                    name: Some(NON_TARGET_TOPIC.into()),
                    queue_id: Some(management_queue),
                    info_script: Some(NON_TARGET_SCRIPT.into()),
                    public: Some(false),
                    active: Some(true),
                    form: Some(non_target_form()),
                    in_statistics: Some(false),
                },
            )
            .await?
        }
    };
    let line_quality_topic = match topic_id(LINE_QUALITY_TOPIC) {
        Some(id) => id,
        None => {
            create_topic(
                app,
                admin,
                TopicInput {
                    name: Some(LINE_QUALITY_TOPIC.into()),
                    queue_id: Some(senior_queue),
                    info_script: Some(LINE_QUALITY_SCRIPT.into()),
                    public: Some(false),
                    active: Some(true),
                    form: Some(line_quality_form()),
                    in_statistics: Some(true),
                },
            )
            .await?
        }
    };
    Ok(Installed {
        management_queue,
        senior_queue,
        non_target_topic,
        line_quality_topic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::forms::check_definition;

    #[test]
    fn shipped_forms_are_valid() {
        assert_eq!(check_definition(&non_target_form()).unwrap().len(), 6);
        assert_eq!(check_definition(&line_quality_form()).unwrap().len(), 7);
    }
}
