//! Configuration: defaults, then an optional TOML file, then environment
//! variables, then command-line flags. Validated once at start-up; the
//! database password never appears in `Debug` output or logs.

use std::path::Path;

use chrono_tz::Tz;
use serde::Deserialize;

use crate::store::DbUrl;

#[derive(Clone)]
pub struct Config {
    pub database_url: DbUrl,
    pub bind: String,
    pub time_zone: Tz,
    pub pool_size: u32,
    pub workers: usize,
    pub session_ttl_hours: i64,
    pub max_body_bytes: usize,
    pub max_attachment_bytes: usize,
    /// Largest raw e-mail accepted by the mailgate and the importer.
    pub max_message_bytes: usize,
    /// SMTP server for outgoing mail (`smtp://user:pass@host:587?tls=required`,
    /// `smtps://…`); when absent, mail is written as .eml files to `mail_dir`.
    pub smtp_url: Option<String>,
    pub mail_dir: std::path::PathBuf,
    /// The address automatic mail comes from when no mailbox is involved.
    pub mail_from: String,
    /// The help desk's name, signed under every mail.
    pub desk_name: String,
    /// Folder with template overrides (`acknowledgement.it.txt`, …).
    pub template_dir: Option<std::path::PathBuf>,
    /// Acknowledgements one sender can receive per hour.
    pub ack_limit_per_hour: i64,
    /// Sending attempts before an outgoing mail is marked failed.
    pub outbox_max_attempts: i32,
    /// Where delegated back-office work is e-mailed when the agent names no address.
    pub backoffice_address: Option<String>,
    /// How the back office writes its own reference numbers (a regular expression;
    /// the first capture group, or the whole match).
    pub backoffice_ref_pattern: regex::Regex,
    /// Hours a delegation has before it is overdue, unless the agent says otherwise.
    pub delegation_due_hours: i64,
    /// Where citizens reach Sportello (links in mail): `SPORTELLO_PUBLIC_URL`;
    /// `None` means `http://` + the bind address (see [`Config::public_url`]).
    pub public_url_setting: Option<String>,
    /// Origins allowed to call the public API from a browser (CORS).
    pub cors_origins: Vec<String>,
    /// Public requests one address may send per minute (form, API, messages).
    pub public_rate_per_minute: u32,
    /// Attachments a citizen may add to one request or message.
    pub public_max_attachments: usize,
    /// How often the monitored mailboxes are polled.
    pub poll_interval_secs: u64,
    /// How often the outbox is sent.
    pub outbox_interval_secs: u64,
    /// A reply to a ticket closed longer ago than this opens a new, linked ticket.
    pub mail_reopen_days: i64,
    /// Seconds of wrap-up after a call before an agent is available again.
    pub wrap_up_secs: i64,
    /// When the desk is open (callbacks are booked and dispatched within these hours).
    pub business_hours: crate::domain::calendar::Week,
    /// Italian national holidays are closed days.
    pub italian_holidays: bool,
    /// Other closed days.
    pub closed_days: std::collections::BTreeSet<chrono::NaiveDate>,
    /// Yearly holidays besides the national ones (month, day).
    pub holidays: std::collections::BTreeSet<(u32, u32)>,
    /// How often the service-level check (escalation rules) runs.
    pub sla_check_secs: u64,
    pub callback_slot_minutes: i64,
    pub callback_slot_capacity: i64,
    pub callback_offer_secs: i64,
    pub callback_max_attempts: i32,
    pub callback_retry_minutes: Vec<i64>,
    pub callback_sla_minutes: i64,
    pub callback_dispatch_secs: u64,
    /// How long an instance holds the outbox rows it is sending; a crashed
    /// instance's rows are sent by another after this.
    pub outbox_lease_secs: i64,
    /// Days after which a resolved ticket with no word from the customer is
    /// closed (0: never).
    pub auto_close_days: i64,
    /// Days a ticket waits on its customer before a reminder, and between
    /// reminders (0: no reminders).
    pub pending_reminder_days: i64,
    /// Days a ticket waits on its customer before it is resolved (0: never).
    pub pending_auto_resolve_days: i64,
    /// How often housekeeping runs.
    pub housekeeping_secs: u64,
    /// Seconds a bearer token found valid is taken as valid again without a
    /// read (0: read on every request). Revocation and changes of an agent
    /// made through this instance take effect at once; through another
    /// instance sharing the database, within this many seconds.
    pub token_cache_secs: u64,
}

/// The keys a TOML file may set; the same names as the environment variables
/// without the `SPORTELLO_` prefix, in lower case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    bind: Option<String>,
    time_zone: Option<String>,
    pool_size: Option<u32>,
    workers: Option<usize>,
    session_ttl_hours: Option<i64>,
    max_body_bytes: Option<usize>,
    max_attachment_bytes: Option<usize>,
    mail_reopen_days: Option<i64>,
    max_message_bytes: Option<usize>,
    smtp_url: Option<String>,
    mail_dir: Option<String>,
    mail_from: Option<String>,
    desk_name: Option<String>,
    template_dir: Option<String>,
    ack_limit_per_hour: Option<i64>,
    outbox_max_attempts: Option<i32>,
    outbox_interval_secs: Option<u64>,
    poll_interval_secs: Option<u64>,
    backoffice_address: Option<String>,
    backoffice_ref_pattern: Option<String>,
    delegation_due_hours: Option<i64>,
    public_url: Option<String>,
    cors_origins: Option<String>,
    public_rate_per_minute: Option<u32>,
    public_max_attachments: Option<usize>,
    wrap_up_secs: Option<i64>,
    business_hours: Option<String>,
    italian_holidays: Option<bool>,
    closed_days: Option<String>,
    holidays: Option<String>,
    sla_check_secs: Option<i64>,
    callback_slot_minutes: Option<i64>,
    callback_slot_capacity: Option<i64>,
    callback_offer_secs: Option<i64>,
    callback_max_attempts: Option<i32>,
    callback_retry_minutes: Option<String>,
    callback_sla_minutes: Option<i64>,
    callback_dispatch_secs: Option<u64>,
    outbox_lease_secs: Option<i64>,
    auto_close_days: Option<i64>,
    pending_reminder_days: Option<i64>,
    pending_auto_resolve_days: Option<i64>,
    housekeeping_secs: Option<u64>,
    token_cache_secs: Option<u64>,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://sportello.db";

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// Database connections when none are configured: twice the cores, plus two.
/// Each busy connection is a PostgreSQL backend competing for the same cores
/// (on the 2-core development machine the database runs beside the server):
/// 64 clients through the public form gave 948 tickets/s with 16 connections
/// and 1,070 with 6; through the staff API 692–735 and 824–861. SQLite's
/// writes take turns whatever the number.
pub fn default_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
    2 * cores + 2
}

impl Config {
    /// Reads the file (if any) and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::from_sources(file, &env)
    }

    /// Builds a configuration from a file and an explicit environment (for tests).
    pub fn from_sources(
        file: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let mut f = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
                toml::from_str::<FileConfig>(&text)
                    .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?
            }
            None => FileConfig::default(),
        };
        let get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        fn num<T: std::str::FromStr>(
            name: &str,
            v: Option<String>,
        ) -> Result<Option<T>, ConfigError> {
            v.map(|s| {
                s.trim()
                    .parse::<T>()
                    .map_err(|_| ConfigError(format!("{name}='{s}' is not a valid number")))
            })
            .transpose()
        }
        if let Some(v) = get("DATABASE_URL").or_else(|| get("SPORTELLO_DATABASE_URL")) {
            f.database_url = Some(v);
        }
        if let Some(v) = get("SPORTELLO_BIND") {
            f.bind = Some(v);
        }
        if let Some(v) = get("SPORTELLO_TIME_ZONE") {
            f.time_zone = Some(v);
        }
        f.pool_size = num("SPORTELLO_POOL_SIZE", get("SPORTELLO_POOL_SIZE"))?.or(f.pool_size);
        f.workers = num("SPORTELLO_WORKERS", get("SPORTELLO_WORKERS"))?.or(f.workers);
        f.session_ttl_hours = num(
            "SPORTELLO_SESSION_TTL_HOURS",
            get("SPORTELLO_SESSION_TTL_HOURS"),
        )?
        .or(f.session_ttl_hours);
        f.max_body_bytes =
            num("SPORTELLO_MAX_BODY_BYTES", get("SPORTELLO_MAX_BODY_BYTES"))?.or(f.max_body_bytes);
        f.max_attachment_bytes = num(
            "SPORTELLO_MAX_ATTACHMENT_BYTES",
            get("SPORTELLO_MAX_ATTACHMENT_BYTES"),
        )?
        .or(f.max_attachment_bytes);

        f.max_message_bytes = num(
            "SPORTELLO_MAX_MESSAGE_BYTES",
            get("SPORTELLO_MAX_MESSAGE_BYTES"),
        )?
        .or(f.max_message_bytes);
        for (name, slot) in [
            ("SPORTELLO_SMTP_URL", &mut f.smtp_url),
            ("SPORTELLO_MAIL_DIR", &mut f.mail_dir),
            ("SPORTELLO_MAIL_FROM", &mut f.mail_from),
            ("SPORTELLO_DESK_NAME", &mut f.desk_name),
            ("SPORTELLO_TEMPLATE_DIR", &mut f.template_dir),
            ("SPORTELLO_BACKOFFICE_ADDRESS", &mut f.backoffice_address),
            ("SPORTELLO_PUBLIC_URL", &mut f.public_url),
            ("SPORTELLO_CORS_ORIGINS", &mut f.cors_origins),
            (
                "SPORTELLO_BACKOFFICE_REF_PATTERN",
                &mut f.backoffice_ref_pattern,
            ),
        ] {
            if let Some(v) = get(name) {
                *slot = Some(v);
            }
        }
        f.ack_limit_per_hour = num(
            "SPORTELLO_ACK_LIMIT_PER_HOUR",
            get("SPORTELLO_ACK_LIMIT_PER_HOUR"),
        )?
        .or(f.ack_limit_per_hour);
        f.outbox_max_attempts = num(
            "SPORTELLO_OUTBOX_MAX_ATTEMPTS",
            get("SPORTELLO_OUTBOX_MAX_ATTEMPTS"),
        )?
        .or(f.outbox_max_attempts);
        f.outbox_interval_secs = num(
            "SPORTELLO_OUTBOX_INTERVAL_SECS",
            get("SPORTELLO_OUTBOX_INTERVAL_SECS"),
        )?
        .or(f.outbox_interval_secs);
        f.public_rate_per_minute = num(
            "SPORTELLO_PUBLIC_RATE_PER_MINUTE",
            get("SPORTELLO_PUBLIC_RATE_PER_MINUTE"),
        )?
        .or(f.public_rate_per_minute);
        f.public_max_attachments = num(
            "SPORTELLO_PUBLIC_MAX_ATTACHMENTS",
            get("SPORTELLO_PUBLIC_MAX_ATTACHMENTS"),
        )?
        .or(f.public_max_attachments);
        f.delegation_due_hours = num(
            "SPORTELLO_DELEGATION_DUE_HOURS",
            get("SPORTELLO_DELEGATION_DUE_HOURS"),
        )?
        .or(f.delegation_due_hours);
        f.poll_interval_secs = num(
            "SPORTELLO_POLL_INTERVAL_SECS",
            get("SPORTELLO_POLL_INTERVAL_SECS"),
        )?
        .or(f.poll_interval_secs);
        f.mail_reopen_days = num(
            "SPORTELLO_MAIL_REOPEN_DAYS",
            get("SPORTELLO_MAIL_REOPEN_DAYS"),
        )?
        .or(f.mail_reopen_days);

        macro_rules! numbers {
            ($($field:ident),+) => {$(
                let name = concat!("SPORTELLO_", stringify!($field)).to_uppercase();
                f.$field = num(&name, get(&name))?.or(f.$field);
            )+};
        }
        numbers!(
            wrap_up_secs,
            callback_slot_minutes,
            callback_slot_capacity,
            callback_offer_secs,
            callback_max_attempts,
            callback_sla_minutes,
            callback_dispatch_secs,
            outbox_lease_secs,
            sla_check_secs,
            auto_close_days,
            pending_reminder_days,
            pending_auto_resolve_days,
            housekeeping_secs,
            token_cache_secs
        );
        for (name, slot) in [
            ("SPORTELLO_BUSINESS_HOURS", &mut f.business_hours),
            ("SPORTELLO_CLOSED_DAYS", &mut f.closed_days),
            ("SPORTELLO_HOLIDAYS", &mut f.holidays),
            (
                "SPORTELLO_CALLBACK_RETRY_MINUTES",
                &mut f.callback_retry_minutes,
            ),
        ] {
            if let Some(v) = get(name) {
                *slot = Some(v);
            }
        }
        if let Some(v) = get("SPORTELLO_ITALIAN_HOLIDAYS") {
            f.italian_holidays = Some(match v.trim() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => {
                    return Err(ConfigError(format!(
                        "SPORTELLO_ITALIAN_HOLIDAYS='{v}' is not true or false"
                    )))
                }
            });
        }
        let business_hours = crate::domain::calendar::Week::parse(
            f.business_hours.as_deref().unwrap_or("mon-fri 09:00-18:00"),
        )
        .map_err(|e| ConfigError(format!("business_hours: {e}")))?;
        let closed_days =
            crate::domain::calendar::parse_dates(f.closed_days.as_deref().unwrap_or(""))
                .map_err(|e| ConfigError(format!("closed_days: {e}")))?;
        let holidays = crate::domain::calendar::parse_yearly(f.holidays.as_deref().unwrap_or(""))
            .map_err(|e| ConfigError(format!("holidays: {e}")))?;
        let callback_retry_minutes = f
            .callback_retry_minutes
            .as_deref()
            .unwrap_or("15,60")
            .split(',')
            .map(|m| match m.trim().parse::<i64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(ConfigError(format!(
                    "callback_retry_minutes: '{m}' is not a positive number of minutes"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(from) = &f.mail_from {
            crate::domain::contact::normalise_email(from)
                .map_err(|e| ConfigError(format!("SPORTELLO_MAIL_FROM: {e}")))?;
        }
        if let Some(a) = &f.backoffice_address {
            crate::domain::contact::normalise_email(a)
                .map_err(|e| ConfigError(format!("SPORTELLO_BACKOFFICE_ADDRESS: {e}")))?;
        }
        let pattern = f
            .backoffice_ref_pattern
            .clone()
            .unwrap_or_else(|| r"\b[A-Z]{2,5}-\d{3,}\b".into());
        let backoffice_ref_pattern = regex::Regex::new(&pattern)
            .map_err(|e| ConfigError(format!("SPORTELLO_BACKOFFICE_REF_PATTERN: {e}")))?;
        let database_url = DbUrl::parse(f.database_url.as_deref().unwrap_or(DEFAULT_DATABASE_URL))
            .map_err(|e| ConfigError(e.to_string()))?;
        let tz_name = f.time_zone.unwrap_or_else(|| "Europe/Rome".into());
        let time_zone: Tz = tz_name
            .parse()
            .map_err(|_| ConfigError(format!("unknown time zone '{tz_name}'")))?;
        let bind = f.bind.clone().unwrap_or_else(|| "127.0.0.1:8080".into());
        if bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError(format!(
                "bind address '{bind}' is not HOST:PORT (e.g. 127.0.0.1:8080)"
            )));
        }
        let cfg = Config {
            database_url,
            bind,
            time_zone,
            pool_size: f.pool_size.unwrap_or_else(default_pool_size),
            workers: f.workers.unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2)
            }),
            session_ttl_hours: f.session_ttl_hours.unwrap_or(12),
            max_body_bytes: f.max_body_bytes.unwrap_or(4 * 1024 * 1024),
            max_attachment_bytes: f.max_attachment_bytes.unwrap_or(2 * 1024 * 1024),
            mail_reopen_days: f.mail_reopen_days.unwrap_or(14),
            max_message_bytes: f.max_message_bytes.unwrap_or(32 * 1024 * 1024),
            smtp_url: f.smtp_url.filter(|u| !u.trim().is_empty()),
            mail_dir: f.mail_dir.unwrap_or_else(|| "mail-out".into()).into(),
            mail_from: f
                .mail_from
                .unwrap_or_else(|| "helpdesk@sportello.localhost".into()),
            desk_name: f.desk_name.unwrap_or_else(|| "Sportello help desk".into()),
            template_dir: f.template_dir.map(Into::into),
            ack_limit_per_hour: f.ack_limit_per_hour.unwrap_or(3),
            outbox_max_attempts: f.outbox_max_attempts.unwrap_or(8),
            outbox_interval_secs: f.outbox_interval_secs.unwrap_or(10),
            poll_interval_secs: f.poll_interval_secs.unwrap_or(60),
            backoffice_address: f.backoffice_address.map(|a| a.trim().to_lowercase()),
            backoffice_ref_pattern,
            delegation_due_hours: f.delegation_due_hours.unwrap_or(48),
            public_url_setting: f
                .public_url
                .clone()
                .map(|u| u.trim().trim_end_matches('/').to_string()),
            cors_origins: f
                .cors_origins
                .as_deref()
                .unwrap_or("")
                .split(',')
                .map(|o| o.trim().trim_end_matches('/').to_string())
                .filter(|o| !o.is_empty())
                .collect(),
            public_rate_per_minute: f.public_rate_per_minute.unwrap_or(10),
            public_max_attachments: f.public_max_attachments.unwrap_or(3),
            wrap_up_secs: f.wrap_up_secs.unwrap_or(60),
            business_hours,
            italian_holidays: f.italian_holidays.unwrap_or(true),
            closed_days,
            holidays,
            sla_check_secs: f.sla_check_secs.unwrap_or(60).max(0) as u64,
            callback_slot_minutes: f.callback_slot_minutes.unwrap_or(30),
            callback_slot_capacity: f.callback_slot_capacity.unwrap_or(4),
            callback_offer_secs: f.callback_offer_secs.unwrap_or(60),
            callback_max_attempts: f.callback_max_attempts.unwrap_or(3),
            callback_retry_minutes,
            callback_sla_minutes: f.callback_sla_minutes.unwrap_or(60),
            callback_dispatch_secs: f.callback_dispatch_secs.unwrap_or(10),
            outbox_lease_secs: f.outbox_lease_secs.unwrap_or(300),
            auto_close_days: f.auto_close_days.unwrap_or(7),
            pending_reminder_days: f.pending_reminder_days.unwrap_or(3),
            pending_auto_resolve_days: f.pending_auto_resolve_days.unwrap_or(14),
            housekeeping_secs: f.housekeeping_secs.unwrap_or(300),
            token_cache_secs: f.token_cache_secs.unwrap_or(2),
        };
        let positive = [
            ("pool_size", cfg.pool_size as i64),
            ("workers", cfg.workers as i64),
            ("session_ttl_hours", cfg.session_ttl_hours),
            ("outbox_max_attempts", cfg.outbox_max_attempts as i64),
            ("outbox_interval_secs", cfg.outbox_interval_secs as i64),
            ("poll_interval_secs", cfg.poll_interval_secs as i64),
            ("delegation_due_hours", cfg.delegation_due_hours),
            ("public_rate_per_minute", cfg.public_rate_per_minute as i64),
            ("callback_slot_minutes", cfg.callback_slot_minutes),
            ("callback_slot_capacity", cfg.callback_slot_capacity),
            ("callback_offer_secs", cfg.callback_offer_secs),
            ("callback_max_attempts", cfg.callback_max_attempts as i64),
            ("callback_sla_minutes", cfg.callback_sla_minutes),
            ("callback_dispatch_secs", cfg.callback_dispatch_secs as i64),
            ("outbox_lease_secs", cfg.outbox_lease_secs),
            ("sla_check_secs", cfg.sla_check_secs as i64),
            ("housekeeping_secs", cfg.housekeeping_secs as i64),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v <= 0) {
            return Err(ConfigError(format!("{name} must be positive")));
        }
        if cfg.max_body_bytes < 1024 || cfg.max_message_bytes < 1024 {
            return Err(ConfigError(
                "max_body_bytes and max_message_bytes must be at least 1024".into(),
            ));
        }
        if cfg.wrap_up_secs < 0 {
            return Err(ConfigError("wrap_up_secs cannot be negative".into()));
        }
        if cfg.mail_reopen_days < 0 || cfg.ack_limit_per_hour < 0 {
            return Err(ConfigError(
                "mail_reopen_days and ack_limit_per_hour cannot be negative".into(),
            ));
        }
        cfg.check_housekeeping()?;
        Ok(cfg)
    }

    /// Housekeeping's days: 0 (off) up to ten years, and reminders that can
    /// actually go out before the ticket is resolved.
    fn check_housekeeping(&self) -> Result<(), ConfigError> {
        for (name, days) in [
            ("SPORTELLO_AUTO_CLOSE_DAYS", self.auto_close_days),
            (
                "SPORTELLO_PENDING_REMINDER_DAYS",
                self.pending_reminder_days,
            ),
            (
                "SPORTELLO_PENDING_AUTO_RESOLVE_DAYS",
                self.pending_auto_resolve_days,
            ),
        ] {
            if !(0..=3650).contains(&days) {
                return Err(ConfigError(format!(
                    "{name}={days} must be a number of days from 0 (off) to 3650"
                )));
            }
        }
        let (remind, resolve) = (self.pending_reminder_days, self.pending_auto_resolve_days);
        if remind > 0 && resolve > 0 && remind >= resolve {
            return Err(ConfigError(format!(
                "SPORTELLO_PENDING_REMINDER_DAYS={remind} must be less than \
                 SPORTELLO_PENDING_AUTO_RESOLVE_DAYS={resolve}, or no reminder is ever sent \
                 (set it to 0 to send none)"
            )));
        }
        Ok(())
    }

    /// The housekeeping rules.
    pub fn housekeeping(&self) -> crate::domain::housekeeping::Rules {
        crate::domain::housekeeping::Rules {
            auto_close_days: self.auto_close_days,
            reminder_days: self.pending_reminder_days,
            auto_resolve_days: self.pending_auto_resolve_days,
        }
    }
}

impl Config {
    /// The desk's business calendar.
    pub fn calendar(&self) -> crate::domain::calendar::Calendar {
        crate::domain::calendar::Calendar {
            tz: self.time_zone,
            week: self.business_hours.clone(),
            italian_holidays: self.italian_holidays,
            holidays: self.holidays.clone(),
            closed: self.closed_days.clone(),
        }
    }

    /// The base of links to the public pages.
    pub fn public_url(&self) -> String {
        self.public_url_setting
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &self.database_url.redacted())
            .field("bind", &self.bind)
            .field("time_zone", &self.time_zone.name())
            .field("pool_size", &self.pool_size)
            .field("workers", &self.workers)
            .field("session_ttl_hours", &self.session_ttl_hours)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_attachment_bytes", &self.max_attachment_bytes)
            .field("mail_reopen_days", &self.mail_reopen_days)
            .field("max_message_bytes", &self.max_message_bytes)
            .field(
                "smtp_url",
                &self.smtp_url.as_deref().map(crate::store::redact),
            )
            .field("mail_dir", &self.mail_dir)
            .field("mail_from", &self.mail_from)
            .field("desk_name", &self.desk_name)
            .field("template_dir", &self.template_dir)
            .field("ack_limit_per_hour", &self.ack_limit_per_hour)
            .field("outbox_max_attempts", &self.outbox_max_attempts)
            .field("outbox_interval_secs", &self.outbox_interval_secs)
            .field("poll_interval_secs", &self.poll_interval_secs)
            .field("backoffice_address", &self.backoffice_address)
            .field(
                "backoffice_ref_pattern",
                &self.backoffice_ref_pattern.as_str(),
            )
            .field("delegation_due_hours", &self.delegation_due_hours)
            .field("public_url", &self.public_url())
            .field("cors_origins", &self.cors_origins)
            .field("public_rate_per_minute", &self.public_rate_per_minute)
            .field("public_max_attachments", &self.public_max_attachments)
            .field("wrap_up_secs", &self.wrap_up_secs)
            .field("business_hours", &self.business_hours.to_string())
            .field("italian_holidays", &self.italian_holidays)
            .field("closed_days", &self.closed_days)
            .field("holidays", &self.holidays)
            .field("sla_check_secs", &self.sla_check_secs)
            .field("callback_slot_minutes", &self.callback_slot_minutes)
            .field("callback_slot_capacity", &self.callback_slot_capacity)
            .field("callback_offer_secs", &self.callback_offer_secs)
            .field("callback_max_attempts", &self.callback_max_attempts)
            .field("callback_retry_minutes", &self.callback_retry_minutes)
            .field("callback_sla_minutes", &self.callback_sla_minutes)
            .field("callback_dispatch_secs", &self.callback_dispatch_secs)
            .field("outbox_lease_secs", &self.outbox_lease_secs)
            .field("auto_close_days", &self.auto_close_days)
            .field("pending_reminder_days", &self.pending_reminder_days)
            .field("pending_auto_resolve_days", &self.pending_auto_resolve_days)
            .field("housekeeping_secs", &self.housekeeping_secs)
            .field("token_cache_secs", &self.token_cache_secs)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_need_nothing() {
        let c = Config::from_sources(None, &[]).unwrap();
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert_eq!(c.time_zone, chrono_tz::Europe::Rome);
        assert!(c.database_url.is_sqlite());
    }

    #[test]
    fn env_beats_file_and_bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "bind = \"0.0.0.0:9000\"\npool_size = 4\n").unwrap();
        let c = Config::from_sources(Some(&path), &env(&[("SPORTELLO_POOL_SIZE", "7")])).unwrap();
        assert_eq!(c.bind, "0.0.0.0:9000");
        assert_eq!(c.pool_size, 7);
        assert!(Config::from_sources(None, &env(&[("SPORTELLO_TIME_ZONE", "Mars/Base")])).is_err());
        assert!(Config::from_sources(None, &env(&[("SPORTELLO_POOL_SIZE", "many")])).is_err());
        assert!(
            Config::from_sources(None, &env(&[("SPORTELLO_POLL_INTERVAL_SECS", "0")])).is_err()
        );
        assert!(Config::from_sources(None, &env(&[("SPORTELLO_MAIL_FROM", "not mail")])).is_err());
        std::fs::write(&path, "colour = \"blue\"\n").unwrap();
        assert!(Config::from_sources(Some(&path), &[]).is_err());
    }

    #[test]
    fn housekeeping_days_default_switch_off_and_are_checked() {
        let c = Config::from_sources(None, &[]).unwrap();
        assert_eq!(
            (
                c.auto_close_days,
                c.pending_reminder_days,
                c.pending_auto_resolve_days,
                c.housekeeping_secs
            ),
            (7, 3, 14, 300)
        );
        let c = Config::from_sources(
            None,
            &env(&[
                ("SPORTELLO_AUTO_CLOSE_DAYS", "0"),
                ("SPORTELLO_PENDING_REMINDER_DAYS", "0"),
                ("SPORTELLO_PENDING_AUTO_RESOLVE_DAYS", "30"),
                ("SPORTELLO_HOUSEKEEPING_SECS", "60"),
            ]),
        )
        .unwrap();
        assert_eq!(c.housekeeping().auto_close_days, 0);
        assert_eq!(c.housekeeping().auto_resolve_days, 30);
        assert_eq!(c.housekeeping_secs, 60);
        let error = |pairs: &[(&str, &str)]| {
            Config::from_sources(None, &env(pairs))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error(&[("SPORTELLO_AUTO_CLOSE_DAYS", "a week")]),
            "configuration: SPORTELLO_AUTO_CLOSE_DAYS='a week' is not a valid number"
        );
        assert_eq!(
            error(&[("SPORTELLO_PENDING_REMINDER_DAYS", "-1")]),
            "configuration: SPORTELLO_PENDING_REMINDER_DAYS=-1 must be a number of days from 0 (off) to 3650"
        );
        assert_eq!(
            error(&[("SPORTELLO_HOUSEKEEPING_SECS", "0")]),
            "configuration: housekeeping_secs must be positive"
        );
        assert!(error(&[("SPORTELLO_HOUSEKEEPING_SECS", "-5")]).contains("not a valid number"));
        assert_eq!(
            error(&[
                ("SPORTELLO_PENDING_REMINDER_DAYS", "14"),
                ("SPORTELLO_PENDING_AUTO_RESOLVE_DAYS", "14")
            ]),
            "configuration: SPORTELLO_PENDING_REMINDER_DAYS=14 must be less than \
             SPORTELLO_PENDING_AUTO_RESOLVE_DAYS=14, or no reminder is ever sent (set it to 0 to send none)"
        );
        // The file takes the same names.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "auto_close_days = 2\n").unwrap();
        let c = Config::from_sources(Some(&path), &[]).unwrap();
        assert_eq!(c.auto_close_days, 2);
    }

    #[test]
    fn debug_hides_the_password() {
        let c = Config::from_sources(None, &env(&[("DATABASE_URL", "postgres://u:s3cret@db/x")]))
            .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("db/x"));
    }
}
