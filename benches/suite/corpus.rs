//! The generated e-mail corpus both ingestion benches use: requests in
//! Italian, Russian (windows-1251), Czech (ISO-8859-2) and English with
//! encoded-word subjects, and replies that quote the request they answer.

// Shared with benches/ingest.rs, which threads by tag only.
#![allow(dead_code)]

fn encoded_word(text: &str, charset: &'static encoding_rs::Encoding, name: &str) -> String {
    use base64::Engine;
    let (bytes, _, _) = charset.encode(text);
    format!(
        "=?{name}?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// How a reply finds its ticket.
pub enum Thread<'a> {
    /// A new request.
    New,
    /// `Re: [#NUMBER]` in the subject (the ticket tag our mail carries).
    Tag(&'a str),
    /// `In-Reply-To` naming an earlier message of the corpus.
    InReplyTo(usize),
}

/// Message `i` of the corpus, with Message-ID `<{prefix}-{i}@example.org>`.
pub fn message(prefix: &str, i: usize, thread: Thread<'_>) -> Vec<u8> {
    let (subject, body, charset, name): (&str, String, &'static encoding_rs::Encoding, &str) = match i % 4 {
        0 => ("Sconto non applicato", format!("Buongiorno, al punto vendita {i} non mi hanno applicato lo sconto della card sullo scontrino. Città: Siena."), encoding_rs::UTF_8, "utf-8"),
        1 => ("Не работает почта", format!("Здравствуйте! Компьютер номер {i} не загружается, синий экран."), encoding_rs::WINDOWS_1251, "windows-1251"),
        2 => ("Telefon nesynchronizuje poštu", format!("Dobrý den, služební telefon {i} nesynchronizuje poštu. Děkuji."), encoding_rs::ISO_8859_2, "iso-8859-2"),
        _ => ("Card lost abroad", format!("Hello, I lost card {i} while travelling. Please block it."), encoding_rs::UTF_8, "utf-8"),
    };
    let (subject, extra_headers, body) = match thread {
        Thread::New => (format!("{subject} {i}"), String::new(), body),
        Thread::Tag(n) => (
            format!("Re: [#{n}] {subject}"),
            String::new(),
            format!("{body}\r\n\r\n> {subject}\r\n> (messaggio precedente)"),
        ),
        Thread::InReplyTo(j) => (
            format!("Re: {subject}"),
            format!("In-Reply-To: <{prefix}-{j}@example.org>\r\nReferences: <{prefix}-{j}@example.org>\r\n"),
            format!("{body}\r\n\r\n> {subject}\r\n> (messaggio precedente)"),
        ),
    };
    let (encoded, _, _) = charset.encode(&body);
    let mut raw = format!(
        "From: Cliente {i} <cliente{}@example.org>\r\nTo: assistenza@sportello.test\r\nSubject: {}\r\nMessage-ID: <{prefix}-{i}@example.org>\r\n{extra_headers}Date: Mon, 02 Mar 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset={name}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        i % 500,
        encoded_word(&subject, charset, name)
    )
    .into_bytes();
    raw.extend_from_slice(&encoded);
    raw.extend_from_slice(b"\r\n");
    raw
}
