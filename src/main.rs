//! The `switchboard` binary: a thin shell over the library's CLI.

fn main() -> std::process::ExitCode {
    switchboard::cli::main()
}
