//! Writes the test fixture's pack (27001 SoA, 9001 CAPA register, 42001 AI risk register)
//! into a folder, to look at the files:
//!
//! ```text
//! cargo run -p imsbridge-audit --example sample_pack -- /tmp/sample-pack
//! ```

#[path = "../tests/fixture/mod.rs"]
mod fixture;

use imsbridge_audit::{PackOptions, build, write_pack};
use imsbridge_mappings::Mappings;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .ok_or("usage: sample_pack OUT_DIR")?;
    let mappings = Mappings::embedded()?;
    let mut options = PackOptions::new(fixture::standards(), fixture::now());
    options.title = Some("Example Ltd: joint audit 2025".into());
    let pack = build(&fixture::records(), &mappings, options)?;
    let summary = write_pack(&pack, std::path::Path::new(&out))?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
