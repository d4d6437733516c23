use clap::Parser;

fn main() -> std::process::ExitCode {
    tune_malloc();
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

/// glibc raises its mmap threshold to the size of the largest block freed so
/// far (up to 32 MiB), and its trim threshold to twice that. After the first
/// password hash (Argon2 takes 19 MiB) every later one then came from a
/// thread's arena and stayed resident when freed: tens of MiB per blocking
/// thread. A fixed threshold keeps blocks of 1 MiB and more in mappings of
/// their own, returned on free, and arenas trimmed at the default 128 KiB.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    const M_MMAP_THRESHOLD: std::ffi::c_int = -3;
    extern "C" {
        fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
    }
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}
