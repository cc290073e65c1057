//! The `proxyd` command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use proxyd::app::{self, RunOptions};
use proxyd::config::IoDriver;

#[derive(Parser)]
#[command(
    name = "proxyd",
    version,
    about = "Edge reverse proxy: thread-per-core on io_uring, Traefik-style config"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Static configuration file.
    #[arg(long, global = true, default_value = "config/proxyd.toml")]
    config: PathBuf,
    /// Worker threads, one per core (default: every available core).
    #[arg(long)]
    cores: Option<usize>,
    /// I/O driver (overrides `workers.ioDriver`).
    #[arg(long, value_enum)]
    io_driver: Option<DriverArg>,
}

#[derive(Subcommand)]
enum Command {
    /// Validate the static and dynamic configuration and exit.
    Check,
}

#[derive(Clone, Copy, ValueEnum)]
enum DriverArg {
    Auto,
    Uring,
    Epoll,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Check) = cli.command {
        return match app::check(&cli.config) {
            Ok(()) => {
                println!("{}: configuration is valid", cli.config.display());
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprintln!("{errors}");
                ExitCode::FAILURE
            }
        };
    }
    let io_driver = cli.io_driver.map(|d| match d {
        DriverArg::Auto => IoDriver::Auto,
        DriverArg::Uring => IoDriver::Uring,
        DriverArg::Epoll => IoDriver::Epoll,
    });
    let opts = RunOptions {
        config: cli.config,
        cores: cli.cores,
        io_driver,
    };
    match app::run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Every AppError's message already carries its cause.
            eprintln!("proxyd: {e}");
            ExitCode::FAILURE
        }
    }
}
