//! `vouch witness`, a C2SP tlog-witness server, and `vouch monitor`.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::CliResult;
use crate::keyfile;
use crate::note::Alg;
use crate::witness::Witness;

#[derive(Debug, Args)]
pub struct WitnessArgs {
    /// The witness's private key file (`vouch keygen NAME --witness`).
    #[arg(long)]
    pub key: PathBuf,
    /// The public key file of a log to witness (repeatable); its name is the log's
    /// origin.
    #[arg(long = "log-key", required = true)]
    pub log_keys: Vec<PathBuf>,
    /// Directory for the newest checkpoint cosigned of each log.
    #[arg(long, default_value = "witness")]
    pub state: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: String,
    /// Verify before cosigning: read the log's entry tiles from this URL, judge every
    /// entry by the log's rules and check that they make the checkpoint (root,
    /// registry head, supplier index root). With exactly one --log-key; the mirror is
    /// kept under --state.
    #[arg(long, value_name = "LOG_URL")]
    pub verify: Option<String>,
}

/// `vouch witness`.
///
/// # Errors
/// Unreadable keys or state, or an address that cannot be bound.
pub fn run(args: WitnessArgs) -> CliResult {
    let signer = keyfile::read_signer_as(&args.key, Alg::CosignatureV1)?;
    let logs = args
        .log_keys
        .iter()
        .map(|p| keyfile::read_verifier(p))
        .collect::<Result<Vec<_>, _>>()?;
    let origins: Vec<String> = logs.iter().map(|l| l.name().to_string()).collect();
    let mut witness = Witness::open(signer, logs.clone(), &args.state)?;
    if let (Some(url), [log]) = (&args.verify, &logs[..]) {
        let monitor = open_monitor(url, log.clone(), &args.state)?;
        witness = witness.verifying(monitor)?;
    } else if args.verify.is_some() {
        return Err("--verify needs exactly one --log-key".into());
    }
    let witness = Arc::new(witness);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, key = %witness.verifier(), logs = ?origins, "witnessing");
        println!("witness {} on http://{addr}", witness.verifier());
        crate::server::serve_app(
            listener,
            crate::witness::router(witness),
            &crate::server::ServerConfig::default(),
            super::client::shutdown_signal(),
        )
        .await?;
        Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    })?;
    Ok(())
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// The log's URL.
    #[arg(long, value_parser = crate::client::base_url)]
    pub url: String,
    /// The log's public key file (.pub).
    #[arg(long)]
    pub log_key: PathBuf,
    /// The monitor's state: a mirror of every entry it verified, and its own key.
    #[arg(long, default_value = "monitor")]
    pub state: PathBuf,
    /// Keep following: another pass every this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub follow: Option<u64>,
    #[command(flatten)]
    pub trust: super::client::WitnessPolicyArgs,
}

/// `vouch monitor`: discrepancies as JSON lines on stdout, progress on stderr; exit 2
/// after a pass that found any.
///
/// # Errors
/// Unreadable keys or state; a log that cannot be read (exit 1).
pub fn monitor(args: MonitorArgs) -> CliResult {
    let log_key = keyfile::read_verifier(&args.log_key)?;
    let policy = args.trust.policy()?;
    let mut m = open_monitor(&args.url, log_key, &args.state)?.with_policy(policy);
    loop {
        let pass = m.pass()?;
        for d in &pass.discrepancies {
            println!("{}", serde_json::to_string(d)?);
        }
        let rate = if pass.seconds > 0.0 {
            pass.judged as f64 / pass.seconds
        } else {
            0.0
        };
        eprintln!(
            "{}: {} entries verified ({} new, {:.0}/s) of the log's {}; {}",
            args.url,
            m.size(),
            pass.judged,
            rate,
            pass.tree_size,
            if pass.discrepancies.is_empty() {
                "every entry follows the log's rules and the checkpoint matches them"
            } else {
                "DISCREPANCIES FOUND (one JSON line each on stdout)"
            }
        );
        if !pass.discrepancies.is_empty() {
            return Err(super::Exit(2).into());
        }
        match args.follow {
            Some(s) => std::thread::sleep(std::time::Duration::from_secs(s)),
            None => return Ok(()),
        }
    }
}

/// A monitor of the log at `url` whose mirror and key are kept in `state`.
fn open_monitor(
    url: &str,
    log_key: crate::note::Verifier,
    state: &std::path::Path,
) -> Result<crate::monitor::Monitor, Box<dyn std::error::Error + Send + Sync>> {
    let store: Arc<dyn crate::store::Store> = Arc::new(crate::store::SledStore::open(
        &state.join("mirror"),
        &crate::store::SledOptions::default(),
    )?);
    let name = crate::note::KeyName::new("monitor")?;
    let (key_path, _) = keyfile::paths(state, &name);
    let signer = if key_path.exists() {
        keyfile::read_signer(&key_path)?
    } else {
        keyfile::generate(state, &name)?.0
    };
    crate::monitor::Monitor::open(url, log_key, store, signer)
}
