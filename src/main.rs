//! The `policy-watch` binary: the allocator's settings, then the command line (`cli`), which
//! loads the config and calls the library.

use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    policy_watch::daemon::limit_allocator_arenas();
    cli::main()
}
