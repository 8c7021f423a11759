use clap::Parser;
use std::process::ExitCode;

// The SDK allocates a lot per call (signing, parsing); mimalloc makes a steady pass about N % cheaper
// in CPU than glibc's malloc (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    steward::cli::run(steward::cli::Cli::parse()).await
}
