//! Entry point: parse flags once and hand over to the library.

use clap::{CommandFactory, Parser};
use reprotect_controller::cli::{Cli, Command, Output};
use reprotect_controller::kubectl;

/// After the work returns (shutdown, Lease released), tasks still stuck in I/O (a half-closed vCenter socket,
/// a DNS lookup on a blocking thread) get this long before the process exits anyway.
const EXIT_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(run(Cli::parse()));
    // Dropping a runtime waits for every blocking task without bound; a controller told to stop must stop.
    runtime.shutdown_timeout(EXIT_GRACE);
    result
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Crd { output_dir: None } => print!("{}", reprotect_controller::crd::all_crds_yaml()),
        Command::Crd { output_dir: Some(dir) } => {
            std::fs::create_dir_all(&dir)?;
            for (name, yaml) in reprotect_controller::crd::crd_files() {
                std::fs::write(dir.join(name), yaml)?;
            }
        }
        Command::Version => println!("reprotect-controller {}", env!("CARGO_PKG_VERSION")),
        Command::Checks { output } => print!("{}", render_checks(output)),
        Command::Run(args) => reprotect_controller::run::run(args).await?,
        Command::Status(args) => kubectl::print_status(&args).await?,
        Command::Pause(args) => kubectl::pause_or_resume(&args, true).await?,
        Command::Resume(args) => kubectl::pause_or_resume(&args, false).await?,
        Command::Plan(args) => kubectl::print_plan(&args).await?,
        Command::Completions { shell } => {
            // Named as kubectl runs the plugin, so `kubectl-reprotect` completes too when installed under that name.
            let bin = std::env::args()
                .next()
                .and_then(|a| a.rsplit('/').next().map(str::to_string))
                .unwrap_or_else(|| "reprotect-controller".into());
            clap_complete::generate(shell, &mut Cli::command(), bin, &mut std::io::stdout());
        }
        Command::Check(args) => match reprotect_controller::check::run(&args).await {
            Ok(reports) => {
                for report in &reports {
                    print!("{}", report.render(args.output));
                }
                // 1 when any machine is blocked, as for one machine.
                if reports.iter().any(|r| r.blocked) {
                    std::process::exit(1);
                }
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                std::process::exit(2);
            }
        },
    }
    Ok(())
}

fn render_checks(output: Output) -> String {
    use reprotect_controller::preflight;
    match output {
        Output::Table => preflight::catalog_table(),
        Output::Json => preflight::catalog_json(),
        Output::Markdown => preflight::troubleshooting_markdown(),
    }
}
