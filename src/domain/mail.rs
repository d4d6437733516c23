//! E-mail rules with no I/O: the ticket tag in subjects, reply prefixes in
//! several languages, telling robots from people, and cutting quoted history.

use super::number;

/// Reply and forward prefixes as mail clients write them (it, en, de, cs, ru, nordic…).
const PREFIXES: &[&str] = &[
    "re",
    "r",
    "aw",
    "fw",
    "fwd",
    "i",
    "rif",
    "inoltro",
    "sv",
    "vs",
    "wg",
    "tr",
    "odp",
    "ответ",
    "отв",
    "пересл",
    "fwd",
];

/// The subject without any stack of `Re:`/`R:`/`AW:`/`Fwd:` prefixes.
pub fn strip_prefixes(subject: &str) -> &str {
    let mut s = subject.trim();
    loop {
        let Some(colon) = s.find(':') else { return s };
        let head = s[..colon].trim();
        // "Re[2]" and "Re(3)" count too.
        let word = head
            .split(['[', '('])
            .next()
            .unwrap_or("")
            .trim()
            .to_lowercase();
        if colon > 12 || !PREFIXES.contains(&word.as_str()) {
            return s;
        }
        s = s[colon + 1..].trim_start();
    }
}

/// The ticket number in a `[#2026-000123]` tag anywhere in the subject.
pub fn ticket_tag(subject: &str) -> Option<String> {
    let mut rest = subject;
    while let Some(start) = rest.find("[#") {
        let after = &rest[start + 2..];
        if let Some(end) = after.find(']') {
            if let Some(n) = number::parse(&after[..end]) {
                return Some(n);
            }
        }
        rest = &rest[start + 2..];
    }
    None
}

/// The subject Sportello sends: the tag first, then the ticket's subject.
pub fn tagged_subject(number: &str, subject: &str) -> String {
    let clean = strip_prefixes(subject);
    if ticket_tag(clean).as_deref() == Some(number) {
        clean.to_string()
    } else {
        format!("[#{number}] {clean}")
    }
}

/// What a message's headers say about who sent it.
#[derive(Debug, Default, Clone)]
pub struct RobotSignals {
    pub auto_submitted: Option<String>,
    pub x_autoreply: bool,
    pub x_autorespond: bool,
    pub precedence: Option<String>,
    pub list_id: bool,
    /// `Return-Path: <>`: the null sender of bounces and many robots.
    pub null_return_path: bool,
    pub from: String,
    pub subject: String,
}

const OUT_OF_OFFICE: &[&str] = &[
    "out of office",
    "out of the office",
    "automatic reply",
    "auto reply",
    "autoreply",
    "auto-reply",
    "away from the office",
    "on vacation",
    "risposta automatica",
    "fuori sede",
    "fuori ufficio",
    "assenza dall'ufficio",
    "sono assente",
    "in ferie",
];

/// Why a message is from a robot (and must never be answered), or `None` for a person.
pub fn robot_reason(s: &RobotSignals) -> Option<&'static str> {
    if s.auto_submitted
        .as_deref()
        .is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"))
    {
        return Some("auto-submitted");
    }
    if s.x_autoreply || s.x_autorespond {
        return Some("auto-reply header");
    }
    if s.precedence
        .as_deref()
        .is_some_and(|p| matches!(p.trim().to_lowercase().as_str(), "bulk" | "junk" | "list"))
    {
        return Some("bulk precedence");
    }
    if s.list_id {
        return Some("mailing list");
    }
    if s.null_return_path {
        return Some("null return path");
    }
    let from = s.from.to_lowercase();
    if from.starts_with("mailer-daemon@")
        || from.starts_with("postmaster@")
        || from.starts_with("noreply@")
        || from.starts_with("no-reply@")
    {
        return Some("robot sender");
    }
    let subject = s.subject.to_lowercase();
    if OUT_OF_OFFICE.iter().any(|p| subject.contains(p)) {
        return Some("out-of-office subject");
    }
    None
}

/// Lines that start the quoted history in replies written by common clients.
fn starts_history(line: &str) -> bool {
    let l = line.trim();
    let lower = l.to_lowercase();
    lower.starts_with("-----original message-----")
        || lower.starts_with("-------- original message --------")
        || lower.starts_with("-------- messaggio originale --------")
        || lower.starts_with("-----messaggio originale-----")
        || lower.starts_with("-------- исходное сообщение --------")
        || lower.starts_with("-----původní zpráva-----")
        || (lower.starts_with("on ") && lower.ends_with("wrote:"))
        || (lower.starts_with("il ") && lower.ends_with("ha scritto:"))
        || (lower.starts_with("dne ")
            && (lower.ends_with("napsal(a):") || lower.ends_with("napsal:")))
        || lower.ends_with("написал(а):")
        || lower.ends_with("написал:")
}

/// The new part of a reply: cuts the quoted history where it is clearly
/// marked (a client's header line, or a trailing block of `>` lines).
/// Returns the text unchanged when nothing is clearly marked or nothing would be left.
pub fn strip_quoted(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut end = lines.len();
    if let Some(i) = lines.iter().position(|l| starts_history(l)) {
        end = i;
    }
    // A trailing block of quoted lines (with blanks between them).
    while end > 0 {
        let l = lines[end - 1].trim();
        if l.starts_with('>') || l.is_empty() {
            end -= 1;
        } else {
            break;
        }
    }
    let kept = lines[..end].join("\n").trim_end().to_string();
    if kept.trim().is_empty() {
        text.trim_end().to_string()
    } else {
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_stack_in_any_language() {
        assert_eq!(strip_prefixes("Re: R: AW: Fwd: Stampante"), "Stampante");
        assert_eq!(strip_prefixes("RE[2]: Ответ: Почта"), "Почта");
        assert_eq!(strip_prefixes("Odp: Telefon"), "Telefon");
        assert_eq!(
            strip_prefixes("Nota: non è un prefisso"),
            "Nota: non è un prefisso"
        );
        assert_eq!(strip_prefixes("Riunione: ore 10"), "Riunione: ore 10");
    }

    #[test]
    fn tags_are_found_anywhere() {
        assert_eq!(
            ticket_tag("Re: R: [#2026-000123] Stampante").as_deref(),
            Some("2026-000123")
        );
        assert_eq!(
            ticket_tag("Stampante [#2026-7]").as_deref(),
            Some("2026-000007")
        );
        assert_eq!(
            ticket_tag("[#abc] [#2026-000001]").as_deref(),
            Some("2026-000001")
        );
        assert_eq!(ticket_tag("[2026-000123]"), None);
        assert_eq!(
            tagged_subject("2026-000001", "Re: Stampante"),
            "[#2026-000001] Stampante"
        );
        assert_eq!(
            tagged_subject("2026-000001", "Re: [#2026-000001] Stampante"),
            "[#2026-000001] Stampante"
        );
    }

    #[test]
    fn robots_are_recognised() {
        let person = RobotSignals {
            from: "mario@example.it".into(),
            subject: "Aiuto".into(),
            ..Default::default()
        };
        assert_eq!(robot_reason(&person), None);
        let mut s = person.clone();
        s.auto_submitted = Some("no".into());
        assert_eq!(robot_reason(&s), None);
        s.auto_submitted = Some("auto-replied".into());
        assert!(robot_reason(&s).is_some());
        for subject in [
            "Risposta automatica: Stampante",
            "Out of Office: Re: printer",
            "Fuori sede fino al 3",
        ] {
            let s = RobotSignals {
                subject: subject.into(),
                ..person.clone()
            };
            assert_eq!(robot_reason(&s), Some("out-of-office subject"), "{subject}");
        }
        let s = RobotSignals {
            precedence: Some("Bulk".into()),
            ..person.clone()
        };
        assert!(robot_reason(&s).is_some());
        let s = RobotSignals {
            null_return_path: true,
            ..person.clone()
        };
        assert!(robot_reason(&s).is_some());
        let s = RobotSignals {
            list_id: true,
            ..person
        };
        assert!(robot_reason(&s).is_some());
    }

    #[test]
    fn quoted_history_is_cut_where_marked() {
        let it = "Grazie, funziona.\n\nIl giorno lun 2 mar 2026 alle 10:00 Help desk <hd@x.it> ha scritto:\n> Provi a riavviare.";
        assert_eq!(strip_quoted(it), "Grazie, funziona.");
        let en = "Thanks!\n\nOn Mon, 2 Mar 2026 at 10:00, Help desk wrote:\n> Try again";
        assert_eq!(strip_quoted(en), "Thanks!");
        let ru = "Спасибо.\n\n2 марта 2026 г., 10:00 пользователь Help desk написал:\n> Попробуйте";
        assert_eq!(strip_quoted(ru), "Спасибо.");
        let outlook = "Ok\n-----Original Message-----\nFrom: x";
        assert_eq!(strip_quoted(outlook), "Ok");
        let inline = "> domanda?\nrisposta\n> altra?\naltra risposta";
        assert_eq!(strip_quoted(inline), inline, "interleaved quotes are kept");
        assert_eq!(strip_quoted("> only a quote"), "> only a quote");
    }
}
