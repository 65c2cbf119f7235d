//! `vouch witness`: a C2SP tlog-witness server.

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
    let witness = Arc::new(Witness::open(signer, logs, &args.state)?);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, key = %witness.verifier(), logs = ?origins, "witnessing");
        println!("witness {} on http://{addr}", witness.verifier());
        axum::serve(listener, crate::witness::router(witness))
            .with_graceful_shutdown(super::client::shutdown_signal())
            .await?;
        Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    })?;
    Ok(())
}
