//! The `scanwatch` command; everything lives in the library.

fn main() {
    std::process::exit(scanwatch::run::main_with_args(std::env::args_os()));
}
