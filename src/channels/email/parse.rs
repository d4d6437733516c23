//! Reading a raw RFC 5322 message with mail-parser into what the help desk
//! needs: who, what, the thread it belongs to, attachments, and robot signals.
//! mail-parser decodes the charsets real mail uses (UTF-8, ISO-8859-1/2/15,
//! windows-1250/1251/1252, KOI8-R, encoded words, RFC 2231 names).

use mail_parser::{HeaderValue, MessageParser, MimeHeaders, PartType};

use crate::domain::mail::RobotSignals;

#[derive(Debug, Clone)]
pub struct ParsedAttachment {
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
    pub inline: bool,
}

/// A bounce (delivery status notification).
#[derive(Debug, Clone, Default)]
pub struct Bounce {
    /// Message-ID of the message that could not be delivered, when the report carries it.
    pub original_message_id: Option<String>,
    /// Addresses that failed.
    pub recipients: Vec<String>,
    pub status: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ParsedMail {
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub from_address: Option<String>,
    pub from_name: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// Envelope recipients the MTA recorded (`Delivered-To`, `X-Original-To`).
    pub delivered_to: Vec<String>,
    pub subject: String,
    /// Plain text: the text/plain part, or the HTML converted to text.
    pub text: String,
    /// The HTML part, sanitized (no scripts, no event handlers, no remote content tricks).
    pub html: Option<String>,
    pub attachments: Vec<ParsedAttachment>,
    pub robot: RobotSignals,
    pub bounce: Option<Bounce>,
}

fn text_list(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => vec![],
    }
}

fn addresses(a: Option<&mail_parser::Address<'_>>) -> Vec<String> {
    a.map(|a| {
        a.iter()
            .filter_map(|x| x.address())
            .map(|s| s.trim().to_lowercase())
            .collect()
    })
    .unwrap_or_default()
}

/// Parses raw bytes; `None` when they are not a message at all.
pub fn parse(raw: &[u8]) -> Option<ParsedMail> {
    let msg = MessageParser::default().parse(raw)?;
    // mail-parser is lenient: insist on the headers a message cannot do without.
    if msg.headers().is_empty() || msg.from().is_none() {
        return None;
    }
    let from = msg.from().and_then(|f| f.first());
    let from_address = from
        .and_then(|f| f.address())
        .map(|s| s.trim().to_lowercase());
    let from_name = from
        .and_then(|f| f.name())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let subject = msg.subject().unwrap_or("").trim().to_string();

    let header_text = |name: &str| {
        msg.header(name)
            .and_then(|v| v.as_text())
            .map(|s| s.to_string())
    };
    let return_path = msg.header_raw("Return-Path").map(|s| s.trim().to_string());
    let robot = RobotSignals {
        auto_submitted: header_text("Auto-Submitted"),
        x_autoreply: msg.header("X-Autoreply").is_some(),
        x_autorespond: msg.header("X-Autorespond").is_some(),
        precedence: header_text("Precedence"),
        list_id: !msg.list_id().is_empty(),
        null_return_path: return_path
            .as_deref()
            .is_some_and(|r| r == "<>" || r.is_empty()),
        from: from_address.clone().unwrap_or_default(),
        subject: subject.clone(),
    };

    let html_raw = msg.body_html(0).map(|h| h.into_owned());
    let has_plain = msg
        .text_bodies()
        .any(|p| matches!(p.body, PartType::Text(_)));
    let text = if has_plain {
        msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default()
    } else if let Some(h) = &html_raw {
        html_to_text(h)
    } else {
        String::new()
    };
    let html = html_raw.map(|h| ammonia::clean(&h));

    let bounce = bounce_of(&msg);
    let mut attachments = Vec::new();
    for part in msg.attachments() {
        let data = match &part.body {
            PartType::Message(m) => m.raw_message().to_vec(),
            _ => part.contents().to_vec(),
        };
        let content_type = part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_string(),
            })
            .unwrap_or_else(|| "application/octet-stream".into());
        let filename = part
            .attachment_name()
            .map(|n| n.replace(['/', '\\', '\0'], "_"))
            .unwrap_or_else(|| format!("attachment-{}", attachments.len() + 1));
        attachments.push(ParsedAttachment {
            filename,
            content_type,
            data,
            inline: part.content_disposition().is_some_and(|d| d.is_inline()),
        });
    }

    Some(ParsedMail {
        message_id: msg
            .message_id()
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty()),
        in_reply_to: text_list(msg.in_reply_to()),
        references: text_list(msg.references()),
        from_address,
        from_name,
        to: addresses(msg.to()),
        cc: addresses(msg.cc()),
        delivered_to: ["Delivered-To", "X-Original-To"]
            .iter()
            .flat_map(|h| msg.header_values(*h))
            .filter_map(|v| v.as_text())
            .map(|v| v.trim().trim_matches(['<', '>']).to_lowercase())
            .collect(),
        subject,
        text,
        html,
        attachments,
        robot,
        bounce,
    })
}

/// Readable text from HTML: tags dropped, scripts and styles removed, blocks on their own lines.
pub fn html_to_text(html: &str) -> String {
    // ammonia keeps only text-bearing tags; we then turn block ends into newlines.
    let cleaned = ammonia::Builder::empty().clean(html).to_string();
    let mut out = String::with_capacity(cleaned.len());
    let mut chars = cleaned.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '&' {
            let entity: String = chars.by_ref().take_while(|c| *c != ';').collect();
            out.push_str(match entity.as_str() {
                "amp" => "&",
                "lt" => "<",
                "gt" => ">",
                "quot" => "\"",
                "#39" | "apos" => "'",
                "nbsp" => " ",
                _ => "",
            });
        } else {
            out.push(c);
        }
    }
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn bounce_of(msg: &mail_parser::Message<'_>) -> Option<Bounce> {
    let ct = msg.content_type()?;
    let is_report = ct.ctype().eq_ignore_ascii_case("multipart")
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        && ct
            .attribute("report-type")
            .is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"));
    if !is_report {
        return None;
    }
    let mut b = Bounce::default();
    for part in msg.parts.iter() {
        let sub = part
            .content_type()
            .and_then(|c| c.subtype())
            .unwrap_or("")
            .to_lowercase();
        match (&part.body, sub.as_str()) {
            (PartType::Message(m), _) => {
                b.original_message_id = m.message_id().map(str::to_string);
            }
            (_, "delivery-status") => {
                let text = String::from_utf8_lossy(part.contents()).to_string();
                for line in text.lines() {
                    let lower = line.to_lowercase();
                    if lower.starts_with("final-recipient:")
                        || lower.starts_with("original-recipient:")
                    {
                        if let Some(addr) = line.rsplit(';').next() {
                            let addr = addr.trim().to_lowercase();
                            if !addr.is_empty() && !b.recipients.contains(&addr) {
                                b.recipients.push(addr);
                            }
                        }
                    } else if lower.starts_with("status:") {
                        b.status = Some(line[7..].trim().to_string());
                    }
                }
            }
            (_, "rfc822-headers") => {
                let headers = String::from_utf8_lossy(part.contents()).to_string();
                for line in headers.lines() {
                    if line.to_lowercase().starts_with("message-id:") {
                        let id = line[11..]
                            .trim()
                            .trim_start_matches('<')
                            .trim_end_matches('>')
                            .to_string();
                        b.original_message_id = Some(id);
                    }
                }
            }
            _ => {}
        }
    }
    Some(b)
}
