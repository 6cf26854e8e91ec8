//! A stand-in CISO Assistant on loopback, for trying `imsbridge systems check`, `plan`,
//! `apply` and `sync` by hand without a real server:
//!
//! ```sh
//! cargo run -p imsbridge-e2e --bin fake-ciso -- [--latency-ms 2]
//! ```
//!
//! It prints its base URL and token, serves until stdin is closed (Ctrl-D) or the process is
//! stopped, then prints what it holds.

use std::io::Read;
use std::time::Duration;

use imsbridge_e2e::fake_ciso::{FakeCiso, FakeOptions};

fn main() -> std::io::Result<()> {
    let mut options = FakeOptions::default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        match (args[i].as_str(), args.get(i + 1)) {
            ("--latency-ms", Some(v)) => {
                let ms: u64 = v.parse().map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "--latency-ms takes a number",
                    )
                })?;
                options.latency = Duration::from_millis(ms);
                i += 2;
            }
            ("--token", Some(v)) => {
                options.token = v.clone();
                i += 2;
            }
            ("--empty", _) => {
                options.seed_containers = false;
                i += 1;
            }
            (other, _) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "unknown argument {other}; expected --latency-ms N, --token T, --empty"
                    ),
                ));
            }
        }
    }
    let fake = FakeCiso::try_start(options)?;
    println!("base_url = \"{}\"", fake.base_url());
    println!("token    = \"{}\"", fake.token());
    println!("(serving until stdin closes)");
    let mut sink = Vec::new();
    std::io::stdin().read_to_end(&mut sink)?;
    println!(
        "{} risk scenarios held; requests: {:?}",
        fake.scenario_count(),
        fake.request_counts()
    );
    Ok(())
}
