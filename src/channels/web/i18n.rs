//! Every word the public pages show, in Italian and English.

use std::collections::HashMap;

const TEXTS: &[(&str, &str, &str)] = &[
    ("title", "Richiesta di assistenza", "Request for assistance"),
    ("intro", "Scelga l'argomento e l'oggetto, descriva il problema e invii: riceverà subito un numero di pratica.", "Choose the topic and the subject, describe the problem and send: you get a request number at once."),
    ("topic", "Argomento", "Topic"),
    ("subject", "Oggetto", "Subject"),
    ("subject_any", "— qualsiasi —", "— any —"),
    ("choose", "— scegliere —", "— choose —"),
    ("name", "Nome e cognome", "Full name"),
    ("email", "E-mail", "E-mail"),
    ("phone", "Telefono (facoltativo)", "Phone (optional)"),
    ("text", "Descrizione della richiesta", "Describe your request"),
    ("attachments", "Allegati (facoltativi: PDF, immagini, testo, documenti)", "Attachments (optional: PDF, images, text, documents)"),
    ("privacy", "I dati sono trattati solo per rispondere alla richiesta, secondo la normativa sulla protezione dei dati personali.", "Your data is used only to answer your request, under data-protection law."),
    ("consent", "Ho letto l'informativa sulla privacy e acconsento al trattamento dei dati", "I have read the privacy notice and agree to the processing of my data"),
    ("send", "Invia la richiesta", "Send the request"),
    ("errors_title", "Correggere i campi indicati", "Please correct the fields below"),
    ("err_required", "Campo obbligatorio.", "This field is required."),
    ("err_invalid_email", "Indirizzo e-mail non valido.", "This is not a valid e-mail address."),
    ("err_invalid_phone", "Numero di telefono non valido.", "This is not a valid phone number."),
    ("err_too_long", "Testo troppo lungo.", "The text is too long."),
    ("err_consent", "Per inviare occorre accettare l'informativa.", "You must accept the privacy notice to send."),
    ("err_unknown_topic", "Scegliere un argomento dall'elenco.", "Choose a topic from the list."),
    ("err_unknown_subject", "L'oggetto non appartiene all'argomento scelto.", "The subject does not belong to the chosen topic."),
    ("err_too_many_files", "Troppi allegati.", "Too many attachments."),
    ("err_file_too_large", "Un allegato è troppo grande.", "An attachment is too large."),
    ("err_file_type", "Tipo di file non accettato.", "This type of file is not accepted."),
    ("done_title", "Richiesta ricevuta", "Request received"),
    ("done_number", "Il numero della sua richiesta è", "Your request number is"),
    ("done_link", "Segua la richiesta con questo link personale (lo riceverà anche per e-mail; non lo inoltri):", "Follow your request with this personal link (also sent by e-mail; do not forward it):"),
    ("track_title", "La sua richiesta", "Your request"),
    ("status", "Stato", "Status"),
    ("status_received", "Ricevuta, in attesa di presa in carico", "Received, waiting to be taken in charge"),
    ("status_in_progress", "In lavorazione", "Being worked on"),
    ("status_waiting_for_you", "In attesa di una sua risposta", "Waiting for your answer"),
    ("status_resolved", "Risolta", "Resolved"),
    ("status_closed", "Chiusa", "Closed"),
    ("conversation", "Messaggi", "Messages"),
    ("from_you", "Lei", "You"),
    ("from_help_desk", "Help desk", "Help desk"),
    ("add_message", "Aggiungi un messaggio", "Add a message"),
    ("message", "Messaggio", "Message"),
    ("send_message", "Invia il messaggio", "Send the message"),
    ("callback_title", "Chiedi di essere richiamato", "Ask to be called back"),
    ("callback_now", "Chiamami ora", "Call me now"),
    ("callback_later", "Richiamami più tardi", "Call me back later"),
    ("callback_when", "Quando (data e ora)", "When (date and time)"),
    ("callback_send", "Chiedi la richiamata", "Ask for the call"),
    ("callback_recorded", "Richiamata richiesta al numero", "Callback requested at"),
    ("rate_title", "Valuti il servizio", "Rate the service"),
    ("rate_thanks", "Grazie! Ha dato", "Thank you! You gave"),
    ("rate_comment", "Un commento (facoltativo)", "A comment (optional)"),
    ("rate_send", "Invia il commento", "Send the comment"),
    ("not_found", "Nessuna richiesta con questo numero e questo link.", "No request with this number and link."),
    ("too_many", "Troppe richieste da questo indirizzo. Riprovi tra un minuto.", "Too many requests from this address. Please try again in a minute."),
    ("expired", "La pagina è scaduta: ricarichi il modulo e riprovi.", "This page has expired: reload the form and try again."),
    ("closed_request", "La richiesta è chiusa: ne invii una nuova.", "This request is closed: please send a new one."),
    ("error_title", "Qualcosa non va", "Something is wrong"),
    ("back", "Torna al modulo", "Back to the form"),
    ("other_language", "English", "Italiano"),
];

/// The language of the page: an explicit choice, else the browser's preference, else Italian.
pub fn pick(explicit: Option<&str>, accept_language: Option<&str>) -> &'static str {
    match explicit {
        Some("en") => return "en",
        Some("it") => return "it",
        _ => {}
    }
    let Some(header) = accept_language else {
        return "it";
    };
    let mut best = ("it", -1.0f32);
    for part in header.split(',') {
        let mut bits = part.trim().split(';');
        let tag = bits.next().unwrap_or("").trim().to_lowercase();
        let q = bits
            .find_map(|b| b.trim().strip_prefix("q="))
            .and_then(|q| q.parse().ok())
            .unwrap_or(1.0);
        let lang = if tag.starts_with("en") {
            "en"
        } else if tag.starts_with("it") {
            "it"
        } else {
            continue;
        };
        if q > best.1 {
            best = (lang, q);
        }
    }
    best.0
}

pub fn texts(lang: &str) -> HashMap<&'static str, &'static str> {
    TEXTS
        .iter()
        .map(|(k, it, en)| (*k, if lang == "en" { *en } else { *it }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_choice() {
        assert_eq!(pick(None, None), "it");
        assert_eq!(pick(None, Some("en-GB,en;q=0.9")), "en");
        assert_eq!(pick(None, Some("de-DE,en;q=0.5,it;q=0.8")), "it");
        assert_eq!(pick(Some("en"), Some("it")), "en");
        assert_eq!(pick(Some("fr"), Some("ru")), "it");
    }

    #[test]
    fn every_text_in_both_languages() {
        for (k, it, en) in TEXTS {
            assert!(!it.is_empty() && !en.is_empty(), "{k}");
        }
        assert_eq!(texts("en")["send"], "Send the request");
    }
}
