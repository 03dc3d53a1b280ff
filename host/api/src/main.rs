//! The `backoffice` binary: admin CLI and server.

fn main() -> std::process::ExitCode {
    backoffice_api::cli::main()
}
