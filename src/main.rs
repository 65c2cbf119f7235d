use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

/// jemalloc rather than glibc's allocator: decoding and judging allocate many small,
/// short-lived values on several threads, and glibc spent a fifth of the monitor's CPU
/// in malloc and free. Measured in one session (docs/design.md §13): `vouch monitor`
/// over 1,000,000 entries 23,766 entries/s with glibc, 28,294/s with jemalloc; the
/// first visit of a 300-record factory page 17.2 ms against 13-15 ms. (mimalloc was as
/// fast for the monitor but made that first visit 30-50 ms one time in two.)
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours for a person at a terminal; plain lines for files and journald.
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
    // `vouch history ... | head`: a reader that stops early closes the pipe, and
    // `println!` then panics. End quietly instead, as a program killed by SIGPIPE would.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default_hook(info);
    }));
    match vouch::cli::run(vouch::cli::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<vouch::cli::Exit>() {
            Some(exit) => ExitCode::from(exit.0),
            None => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
