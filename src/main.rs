//! The `switchboard` binary: a thin shell over the library's CLI.

// The proxy allocates small JSON values on every request; mimalloc serves
// them with less work than the system allocator. The library leaves the
// choice of allocator to its users.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    switchboard::cli::main()
}
