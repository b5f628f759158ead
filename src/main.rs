use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = keyward::config::Cli::parse();
    keyward::cli::init_logging(&cli.global.log);
    match keyward::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keyward: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
