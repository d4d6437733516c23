//! The command line: `serve`, `migrate`, `agent add`, `mail import`,
//! `catalogue seed-forms`, `contacts import`, `service-points import`,
//! `demo generate`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::clock::SystemClock;
use crate::config::Config;
use crate::domain::Role;
use crate::service::auth::{create_agent, NewAgentRequest};
use crate::store::catalogue;

#[derive(Debug, Parser)]
#[command(
    name = "sportello",
    version,
    about = "Omnichannel help-desk ticketing backend"
)]
pub struct Cli {
    /// TOML configuration file (keys as in the README's table).
    #[arg(long, global = true, env = "SPORTELLO_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (SQLite ./sportello.db unless DATABASE_URL says otherwise).
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        bind: Option<String>,
        /// Seed demo data (queues, topics, staff, tickets) and print the demo logins.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage staff accounts.
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
    },
    /// E-mail tools.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// The topic catalogue.
    Catalogue {
        #[command(subcommand)]
        command: CatalogueCommand,
    },
    /// The registry (anagrafica).
    Contacts {
        #[command(subcommand)]
        command: FeedCommand,
    },
    /// The directory of points of service.
    ServicePoints {
        #[command(subcommand)]
        command: FeedCommand,
    },
    /// Demo data.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Fill the database with N generated tickets over the last three years and
    /// N/10 contacts (seeding the demo's queues and staff first if there are none).
    Generate {
        /// How many tickets (1 to 100000000).
        #[arg(long, value_name = "N", value_parser = parse_tickets)]
        tickets: u64,
        /// The same seed on the same catalogue gives the same data.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
}

fn parse_tickets(s: &str) -> Result<u64, String> {
    let max = crate::demo::fill::MAX_TICKETS;
    match s.trim().parse::<u64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        Ok(_) => Err(format!("the number of tickets must be from 1 to {max}")),
        Err(_) => Err(format!(
            "'{s}' is not a number of tickets (a whole number from 1 to {max})"
        )),
    }
}

#[derive(Debug, Subcommand)]
pub enum CatalogueCommand {
    /// Add the shipped call forms: the queues Direzione and Operatore senior and
    /// the topics Chiamata non target and Reclamo qualità linea (those already
    /// there, by name, are left as they are).
    SeedForms,
}

#[derive(Debug, Subcommand)]
pub enum FeedCommand {
    /// Create or update records from a CSV feed (UTF-8, `;` or `,`, header row with
    /// `external_key`); exits with status 2 when some rows were rejected.
    Import { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Ingest an .eml file, an mbox file or a Maildir folder as if it had arrived by mail.
    Import {
        path: PathBuf,
        /// The mailbox (name or id) the mail belongs to; its queue gets the tickets.
        #[arg(long)]
        mailbox: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Create a staff account.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// operator, specialist, customer_care, supervisor or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Password (at least 8 characters); read from SPORTELLO_AGENT_PASSWORD if absent.
        #[arg(long, env = "SPORTELLO_AGENT_PASSWORD", hide_env_values = true)]
        password: String,
        /// Queue (group) the agent belongs to, by name or id; repeat for several.
        #[arg(long = "queue")]
        queues: Vec<String>,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("unknown role '{s}'; use one of: {}", all.join(", "))
    })
}

/// Imports a feed and prints the report; status 2 when rows were rejected.
async fn import_feed(config: Config, file: &Path, points: bool) -> anyhow::Result<ExitCode> {
    if !file.is_file() {
        anyhow::bail!("{} does not exist or is not a file", file.display());
    }
    let bytes =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let cfg = config.clone();
    let db = tokio::task::spawn_blocking(move || crate::server::open_and_migrate(&cfg)).await??;
    let app = crate::server::app(db, Arc::new(SystemClock), config)?;
    let report = if points {
        crate::service::service_points::import(&app, bytes).await
    } else {
        crate::service::registry::import_contacts(&app, None, bytes).await
    }
    .map_err(|e| anyhow::anyhow!("{}: {}", file.display(), e.problem().detail))?;
    println!(
        "{}: {} created, {} updated, {} unchanged, {} rejected",
        file.display(),
        report.created,
        report.updated,
        report.unchanged,
        report.rejected.len()
    );
    if !report.ignored_columns.is_empty() {
        println!("ignored columns: {}", report.ignored_columns.join(", "));
    }
    for r in &report.rejected {
        match &r.field {
            Some(f) => println!("line {}: {f}: {}", r.line, r.message),
            None => println!("line {}: {}", r.line, r.message),
        }
    }
    Ok(if report.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// Runs the command; errors become a message on stderr and a non-zero exit in `main`.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve { bind, demo } => {
            if let Some(b) = bind {
                if b.parse::<std::net::SocketAddr>().is_err() {
                    anyhow::bail!("--bind '{b}' is not HOST:PORT (e.g. 127.0.0.1:8080)");
                }
                config.bind = b;
            }
            crate::server::serve(config, demo).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Contacts {
            command: FeedCommand::Import { file },
        } => import_feed(config, &file, false).await,
        Command::ServicePoints {
            command: FeedCommand::Import { file },
        } => import_feed(config, &file, true).await,
        Command::Demo {
            command: DemoCommand::Generate { tickets, seed },
        } => {
            let cfg = config.clone();
            let db = tokio::task::spawn_blocking(move || crate::server::open_and_migrate(&cfg))
                .await??;
            let target = config.database_url.redacted();
            let app = crate::server::app(db, Arc::new(SystemClock), config)?;
            println!("{target}: generating {tickets} tickets (seed {seed})");
            let s = crate::demo::fill::generate(&app, tickets, seed).await?;
            if s.seeded_demo {
                println!(
                    "the database had no staff: seeded the demo first (logins as for serve --demo)"
                );
            }
            println!(
                "generated {} tickets in {:.1} s ({:.0}/s), with {} contacts and {} articles",
                s.tickets,
                s.seconds,
                s.tickets as f64 / s.seconds.max(0.001),
                s.contacts,
                s.articles
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let cfg = config.clone();
            let db =
                tokio::task::spawn_blocking(move || crate::store::Db::open(&cfg.database_url, 1))
                    .await??;
            let applied = tokio::task::spawn_blocking(move || db.migrate()).await??;
            if applied.is_empty() {
                println!("{}: already up to date", config.database_url.redacted());
            } else {
                println!(
                    "{}: applied {}",
                    config.database_url.redacted(),
                    applied.join(", ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Mail {
            command: MailCommand::Import { path, mailbox },
        } => {
            let cfg = config.clone();
            let db = tokio::task::spawn_blocking(move || crate::server::open_and_migrate(&cfg))
                .await??;
            let app = crate::server::app(db, Arc::new(SystemClock), config)?;
            if !path.exists() {
                anyhow::bail!("{} does not exist", path.display());
            }
            let mailbox = match mailbox {
                Some(m) => Some(crate::channels::email::mailboxes::find(&app, &m).await?),
                None => None,
            };
            let s = crate::channels::email::import::import(&app, mailbox, &path).await?;
            println!(
                "read {} message(s): {} new ticket(s), {} added to tickets, {} in review, {} already imported",
                s.read, s.tickets_created, s.added_to_tickets, s.quarantined, s.duplicates
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Catalogue {
            command: CatalogueCommand::SeedForms,
        } => {
            let cfg = config.clone();
            let db = tokio::task::spawn_blocking(move || crate::server::open_and_migrate(&cfg))
                .await??;
            let app = crate::server::app(db, Arc::new(SystemClock), config)?;
            // The command line acts with an administrator's authority.
            let admin = crate::service::Viewer {
                actor: crate::domain::access::Actor {
                    agent_id: 0,
                    role: Role::Admin,
                    queues: vec![],
                },
                name: "sportello catalogue".into(),
                email: String::new(),
                tz: app.config.time_zone,
                token_id: 0,
            };
            let i = crate::service::call_forms::install(&app, &admin).await?;
            use crate::service::call_forms as f;
            println!(
                "queue {} (id {}), queue {} (id {}), topic {} (id {}), topic {} (id {})",
                f::MANAGEMENT_QUEUE,
                i.management_queue,
                f::SENIOR_QUEUE,
                i.senior_queue,
                f::NON_TARGET_TOPIC,
                i.non_target_topic,
                f::LINE_QUALITY_TOPIC,
                i.line_quality_topic
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Agent {
            command:
                AgentCommand::Add {
                    email,
                    name,
                    role,
                    password,
                    queues,
                },
        } => {
            let cfg = config.clone();
            let db = tokio::task::spawn_blocking(move || crate::server::open_and_migrate(&cfg))
                .await??;
            let app = crate::server::app(db, Arc::new(SystemClock), config)?;
            let mut queue_ids = Vec::new();
            for q in queues {
                let name = q.clone();
                let found = app
                    .db
                    .read(move |c| match name.parse::<i64>() {
                        Ok(id) => catalogue::queue(c, id),
                        Err(_) => catalogue::queue_by_name(c, &name),
                    })
                    .await?;
                queue_ids.push(
                    found
                        .ok_or_else(|| anyhow::anyhow!("no queue named '{q}'"))?
                        .id,
                );
            }
            let agent = create_agent(
                &app,
                NewAgentRequest {
                    email,
                    name,
                    role,
                    password,
                    queue_ids,
                    time_zone: None,
                },
            )
            .await?;
            println!(
                "created {} {} <{}> (id {})",
                agent.role.as_str(),
                agent.name,
                agent.email,
                agent.id
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
