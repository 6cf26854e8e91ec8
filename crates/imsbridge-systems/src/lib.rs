//! The configured systems: reads the `[[system]]` entries of `imsbridge.toml` and builds the
//! connector each one names. Adding a connector means one line in [`CONNECTORS`] and one arm
//! in [`Kind`].
//!
//! ```
//! use imsbridge_systems::Systems;
//!
//! let config: toml::Table = toml::from_str(r#"
//!     [[system]]
//!     name = "risk-xlsx"
//!     type = "spreadsheet"
//!     path = "registers/*.xlsx"
//!
//!     [[system]]
//!     name = "ca"
//!     type = "ciso-assistant"
//!     base_url = "https://ciso.example.org"
//!     token_env = "CA_TOKEN"
//!     risk_assessment = "AI risk register"
//!     write = ["risk"]
//! "#).unwrap();
//! let entries = config["system"].as_array().unwrap().iter()
//!     .map(|v| v.as_table().unwrap().clone()).collect();
//! let systems = Systems::from_tables(entries, std::path::Path::new(".")).unwrap();
//! assert_eq!(systems.names(), ["risk-xlsx", "ca"]);
//! assert!(systems.get("ca").unwrap().is_target());
//! ```

mod systems;

pub use systems::{CONNECTORS, Kind, Opened, OscalSystem, SpreadsheetSystem, System, Systems};
