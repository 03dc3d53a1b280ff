//! The `backoffice` binary: admin CLI and server.

fn main() -> std::process::ExitCode {
    backoffice::cli::main()
}
