//! ServiceNow through the binary: an in-memory instance (Table API rows of `sn_risk_risk`,
//! encoded queries on the correlation field, the dictionary entry `systems check` looks for).

use std::sync::{Arc, Mutex};

use mockito::{Matcher, Mock, Server};
use serde_json::{Value, json};

use super::setup::{Installation, actions, correlation_of, verdicts};

const USER: &str = "imsbridge.integration";
const PASSWORD: &str = "sn-canary-90d4be";
const TABLE: &str = "/api/now/table/sn_risk_risk";

#[derive(Debug, Default)]
struct Instance {
    rows: Vec<Value>,
    creates: u64,
    patches: u64,
}

impl Instance {
    fn create(&mut self, body: &Value) -> Value {
        self.creates += 1;
        let n = self.rows.len() + 1;
        let mut row = body.clone();
        row["sys_id"] = json!(format!("{n:032x}"));
        row["sys_created_on"] = json!(format!("2026-11-0{n} 10:00:00"));
        row["sys_updated_on"] = row["sys_created_on"].clone();
        row["sys_mod_count"] = json!("0");
        // A business rule fills the score on insert; the bridge must never fight it.
        row["score"] = json!("12");
        self.rows.push(row.clone());
        json!({ "result": row })
    }

    /// `GET` on the table, as far as the connector's encoded queries go: `field=value`
    /// filters exactly, `fieldSTARTSWITHvalue` by prefix, ordering and paging are ignored
    /// (every answer is a last page).
    fn query(&self, url: &str) -> Value {
        let query = url
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("sysparm_query="))
            .map(decode)
            .unwrap_or_default();
        let rows: Vec<&Value> = self
            .rows
            .iter()
            .filter(|row| {
                query.split('^').all(|cond| {
                    if let Some((field, value)) = cond.split_once("STARTSWITH") {
                        row[field].as_str().unwrap_or("").starts_with(value)
                    } else if let Some((field, value)) = cond.split_once('=') {
                        if field.ends_with(['>', '<']) {
                            return true;
                        }
                        row[field].as_str() == Some(value)
                    } else {
                        true
                    }
                })
            })
            .collect();
        json!({ "result": rows })
    }
}

/// Percent-decoding of a query value (`%5E` → `^`, `+` → space).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

fn body(request: &mockito::Request) -> Value {
    serde_json::from_slice(request.body().unwrap()).unwrap()
}

fn serve(server: &mut Server, instance: &Arc<Mutex<Instance>>) -> Vec<Mock> {
    let mut mocks = Vec::new();
    let s = Arc::clone(instance);
    mocks.push(
        server
            .mock("GET", TABLE)
            .match_query(Matcher::Any)
            .with_header("content-type", "application/json")
            .with_body_from_request(move |r| {
                let url = r.path_and_query().to_string();
                s.lock().unwrap().query(&url).to_string().into_bytes()
            })
            .create(),
    );
    let s = Arc::clone(instance);
    mocks.push(
        server
            .mock("POST", TABLE)
            .match_query(Matcher::Any)
            .with_status(201)
            .with_header("content-type", "application/json")
            .with_body_from_request(move |r| {
                s.lock().unwrap().create(&body(r)).to_string().into_bytes()
            })
            .create(),
    );
    let s = Arc::clone(instance);
    mocks.push(
        server
            .mock("PATCH", Matcher::Regex(format!("^{TABLE}/[0-9a-f]{{32}}")))
            .with_header("content-type", "application/json")
            .with_body_from_request(move |r| {
                let mut instance = s.lock().unwrap();
                instance.patches += 1;
                let id = r.path().rsplit('/').next().unwrap().to_string();
                let edit = body(r);
                let row = instance
                    .rows
                    .iter_mut()
                    .find(|row| row["sys_id"] == id.as_str())
                    .unwrap();
                for (k, v) in edit.as_object().unwrap() {
                    row[k] = v.clone();
                }
                json!({ "result": row }).to_string().into_bytes()
            })
            .create(),
    );
    // The other tables `pull` and `systems check` read: empty registers.
    mocks.push(
        server
            .mock(
                "GET",
                Matcher::Regex(
                    r"^/api/now/table/(sn_compliance_control|sn_compliance_policy_statement|sn_grc_issue|sn_audit_engagement|sn_si_incident)\b"
                        .into(),
                ),
            )
            .match_query(Matcher::Any)
            .with_header("content-type", "application/json")
            .with_body(json!({"result": []}).to_string())
            .create(),
    );
    mocks.push(
        server
            .mock("GET", "/api/now/table/sys_dictionary")
            .match_query(Matcher::Any)
            .with_header("content-type", "application/json")
            .with_body(
                json!({"result": [{"element": "u_imsbridge_id", "internal_type": "string", "max_length": "40"}]})
                    .to_string(),
            )
            .create(),
    );
    mocks
}

#[test]
fn servicenow_is_checked_synced_and_keeps_the_score_the_instance_computes() {
    let mut ims = Installation::with_ai_risks(&[
        "Model drift in the credit scoring service",
        "Personal data in prompts sent to an external model",
        "No human review of automated hiring decisions",
    ]);
    let mut server = Server::new();
    let instance = Arc::new(Mutex::new(Instance::default()));
    let _mocks = serve(&mut server, &instance);
    ims.write_config(&format!(
        r#"[[system]]
name = "sn"
type = "servicenow"
base_url = "{url}"
username_env = "SN_USER"
password_env = "SN_PASSWORD"
risk_table = "sn_risk_risk"
correlation_field = "u_imsbridge_id"
write = ["risk"]
"#,
        url = server.url()
    ));
    ims.env = vec![
        ("SN_USER".into(), USER.into()),
        ("SN_PASSWORD".into(), PASSWORD.into()),
    ];

    let checks = ims.json(&["systems", "check"], 0);
    let verdicts = verdicts(&checks, "sn");
    assert!(verdicts.len() >= 2, "{verdicts:?}");
    assert!(
        verdicts.iter().all(|(_, status)| status != "failed"),
        "{verdicts:?}"
    );

    let ids = ims.ai_risk_ids();
    assert_eq!(ids.len(), 3);
    let out = ims.run(&["sync", "--target", "sn"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    {
        let instance = instance.lock().unwrap();
        assert_eq!(instance.creates, 3);
        let mut correlations: Vec<String> = instance
            .rows
            .iter()
            .map(|r| r["u_imsbridge_id"].as_str().unwrap().to_string())
            .collect();
        correlations.sort();
        let mut expected: Vec<String> = ids.iter().map(|id| correlation_of(id)).collect();
        expected.sort();
        assert_eq!(correlations, expected);
        for row in &instance.rows {
            // Descriptive fields only, by default.
            assert!(row["name"].as_str().is_some_and(|n| !n.is_empty()), "{row}");
            assert!(row.get("impact").is_none() && row.get("likelihood").is_none());
            assert!(row.get("state").is_none(), "{row}");
        }
    }

    // The score the instance filled in is not a difference: nothing to write.
    let plan = ims.json(&["plan", "--target", "sn"], 0);
    assert_eq!(actions(&plan).get("noop"), Some(&3), "{plan}");

    // A pull reads the written risks back as ServiceNow records, and they are never planned
    // back into ServiceNow.
    let pulled = ims.run(&["pull", "--system", "sn"]);
    assert_eq!(pulled.code, Some(0), "{}", pulled.describe());
    let plan = ims.json(&["plan", "--target", "sn"], 0);
    let counts = actions(&plan);
    assert_eq!(counts.get("noop"), Some(&3), "{plan}");
    assert_eq!(counts.get("create"), None, "{plan}");

    let instance = instance.lock().unwrap();
    assert_eq!((instance.creates, instance.patches), (3, 0));
    for text in [&out.stdout, &out.stderr, &pulled.stdout, &pulled.stderr] {
        assert!(!text.contains(PASSWORD));
    }
}
