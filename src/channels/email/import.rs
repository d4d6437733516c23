//! `sportello mail import PATH`: an .eml file, an mbox file or a Maildir
//! folder, through the same ingestion as IMAP and the mailgate.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use mail_parser::mailbox::{maildir, mbox};

use super::ingest::{self, Outcome, Source};
use crate::error::{AppError, AppResult};
use crate::service::App;
use crate::store::mail::MailboxRow;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub read: usize,
    pub tickets_created: usize,
    pub added_to_tickets: usize,
    pub quarantined: usize,
    pub duplicates: usize,
}

impl ImportSummary {
    fn count(&mut self, o: &Outcome) {
        self.read += 1;
        match o {
            Outcome::Ticket { created: true, .. } => self.tickets_created += 1,
            Outcome::Ticket { created: false, .. } => self.added_to_tickets += 1,
            Outcome::Quarantined { .. } => self.quarantined += 1,
            Outcome::Duplicate { .. } => self.duplicates += 1,
        }
    }
}

fn io_error(path: &Path, e: std::io::Error) -> AppError {
    AppError::invalid("path", format!("cannot read {}: {e}", path.display()))
}

/// Imports every message found at `path`.
pub async fn import(
    app: &App,
    mailbox: Option<MailboxRow>,
    path: &Path,
) -> AppResult<ImportSummary> {
    let mut summary = ImportSummary::default();
    if path.is_dir() {
        let messages = maildir::MessageIterator::new(path).map_err(|e| io_error(path, e))?;
        for m in messages {
            let raw = m.map_err(|e| io_error(path, e))?.unwrap_contents();
            summary.count(&ingest::ingest(app, mailbox.clone(), Source::Import, raw).await?);
        }
        return Ok(summary);
    }
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let mut reader = BufReader::new(file);
    let is_mbox = reader
        .fill_buf()
        .map_err(|e| io_error(path, e))?
        .starts_with(b"From ");
    if is_mbox {
        for m in mbox::MessageIterator::new(reader) {
            let raw = m.map_err(|e| io_error(path, e))?.unwrap_contents();
            summary.count(&ingest::ingest(app, mailbox.clone(), Source::Import, raw).await?);
        }
    } else {
        let mut raw = Vec::new();
        reader
            .read_to_end(&mut raw)
            .map_err(|e| io_error(path, e))?;
        summary.count(&ingest::ingest(app, mailbox, Source::Import, raw).await?);
    }
    Ok(summary)
}
