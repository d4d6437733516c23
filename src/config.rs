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
    /// A reply to a ticket closed longer ago than this opens a new, linked ticket.
    pub mail_reopen_days: i64,
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
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://sportello.db";

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

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
        f.mail_reopen_days = num(
            "SPORTELLO_MAIL_REOPEN_DAYS",
            get("SPORTELLO_MAIL_REOPEN_DAYS"),
        )?
        .or(f.mail_reopen_days);

        let database_url = DbUrl::parse(f.database_url.as_deref().unwrap_or(DEFAULT_DATABASE_URL))
            .map_err(|e| ConfigError(e.to_string()))?;
        let tz_name = f.time_zone.unwrap_or_else(|| "Europe/Rome".into());
        let time_zone: Tz = tz_name
            .parse()
            .map_err(|_| ConfigError(format!("unknown time zone '{tz_name}'")))?;
        let bind = f.bind.unwrap_or_else(|| "127.0.0.1:8080".into());
        if bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError(format!(
                "bind address '{bind}' is not HOST:PORT (e.g. 127.0.0.1:8080)"
            )));
        }
        let cfg = Config {
            database_url,
            bind,
            time_zone,
            pool_size: f.pool_size.unwrap_or(16),
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
        };
        if cfg.pool_size == 0
            || cfg.workers == 0
            || cfg.session_ttl_hours <= 0
            || cfg.max_body_bytes < 1024
        {
            return Err(ConfigError(
                "pool_size, workers and session_ttl_hours must be positive; max_body_bytes at least 1024".into(),
            ));
        }
        Ok(cfg)
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
        std::fs::write(&path, "colour = \"blue\"\n").unwrap();
        assert!(Config::from_sources(Some(&path), &[]).is_err());
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
