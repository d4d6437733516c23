use clap::Parser;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,actix_server=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = sportello::cli::Cli::parse();
    // actix-web's system runtime; blocking database work goes to spawn_blocking.
    let result = actix_web::rt::System::new().block_on(sportello::cli::run(cli));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sportello: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
