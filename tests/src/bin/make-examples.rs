//! Writes the sample registers into a directory (default `examples/`):
//! `cargo run -p imsbridge-e2e --bin make-examples [DIR]`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("examples"), PathBuf::from);
    match imsbridge_e2e::examples::write_all(&dir) {
        Ok(paths) => {
            for path in paths {
                println!("wrote {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: writing the examples into {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}
