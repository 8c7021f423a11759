use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    steward::cli::run(steward::cli::Cli::parse()).await
}
