//! `asr-sim --scenario FILE --listen ADDR [--time-scale X]`: serve the simulator until SIGINT/SIGTERM.
//!
//! Once ready, prints `ARM_ENDPOINT=`, `AUTHORITY=`, `TOKEN_URL=`, `CA_CERT=`, `ADMIN=` lines on stdout.

use clap::Parser;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "asr-sim", about = "Azure Site Recovery (VMware reprotect) simulator")]
struct Args {
    /// Scenario YAML file (default: the built-in single-vault scenario).
    #[arg(long, env = "ASR_SIM_SCENARIO")]
    scenario: Option<PathBuf>,
    /// Listen address (port 0: pick a free port).
    #[arg(long, env = "ASR_SIM_LISTEN", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Simulated seconds per real second.
    #[arg(long, env = "ASR_SIM_TIME_SCALE", default_value_t = 1.0)]
    time_scale: f64,
    /// Copy the CA certificate to this path as well.
    #[arg(long)]
    ca_out: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let args = Args::parse();
    let sc = match &args.scenario {
        Some(p) => asr_sim::Scenario::from_file(p)?,
        None => asr_sim::Scenario::default(),
    };
    let sim = asr_sim::start(sc, asr_sim::SimOptions { listen: args.listen, time_scale: args.time_scale }).await?;
    let mut ca = sim.ca_path.clone();
    if let Some(out) = &args.ca_out {
        std::fs::write(out, &sim.ca_pem)?;
        ca = out.clone();
    }
    let mut o = std::io::stdout().lock();
    writeln!(o, "ARM_ENDPOINT={}", sim.base_url)?;
    writeln!(o, "AUTHORITY={}", sim.authority_url)?;
    writeln!(o, "TOKEN_URL={}", sim.token_url)?;
    writeln!(o, "CA_CERT={}", ca.display())?;
    writeln!(o, "ADMIN={}_admin/", sim.base_url)?;
    o.flush()?;
    drop(o);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
    sim.shutdown().await;
    Ok(())
}
