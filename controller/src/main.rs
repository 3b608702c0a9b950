//! Entry point: parse flags once and hand over to the library.

use clap::Parser;
use reprotect_controller::cli::{Cli, Command, Output};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
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
        Command::Check(args) => match reprotect_controller::check::run(&args).await {
            Ok(report) => {
                print!("{}", report.render(args.output));
                if report.blocked {
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
