//! Contract tests of the write side, against the recorded CISO Assistant answers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use common::*;
use imsbridge_connector::{CheckStatus, ConnectorError, FieldMap, Target, correlation_id};
use imsbridge_connector_ciso_assistant::map;
use imsbridge_model::{
    AiFlag, Dates, Details, Provenance, Record, RecordId, RecordKind, RiskDetails, RiskRating,
    ScaleValue, Treatment,
};
use mockito::{Matcher, Server};
use serde_json::{Value, json};

fn rated(n: f64) -> ScaleValue {
    ScaleValue {
        raw: format!("{n}"),
        scale: "1-5".into(),
        value: n,
        normalised: n,
    }
}

/// A local risk: (likelihood, impact) inherent and residual on the common 1–5 scale.
fn risk_record(
    title: &str,
    inherent: (Option<f64>, Option<f64>),
    residual: (Option<f64>, Option<f64>),
    treatment: Option<&str>,
    owner: Option<&str>,
) -> Record {
    let rating = |(l, i): (Option<f64>, Option<f64>)| RiskRating {
        likelihood: l.map(rated),
        impact: i.map(rated),
        score: None,
    };
    let mut record = Record {
        id: RecordId::from_source("risk-register.xlsx", RecordKind::Risk, title),
        provenance: Provenance {
            system: "risk-register.xlsx".into(),
            connector: "spreadsheet".into(),
            external_id: title.into(),
            location: "risk-register.xlsx!Risks!A2".into(),
            imported_at: DateTime::<Utc>::from_timestamp(0, 0).unwrap(),
            content_hash: String::new(),
        },
        title: title.into(),
        description: None,
        owner: owner.map(str::to_string),
        status: None,
        dates: Dates::default(),
        clauses: vec![],
        hs: vec![],
        ai: AiFlag {
            flagged: true,
            ..AiFlag::default()
        },
        details: Details::Risk(Box::new(RiskDetails {
            inherent: rating(inherent),
            residual: rating(residual),
            treatment: treatment.map(|t| Treatment::parse(t).unwrap()),
            ..RiskDetails::default()
        })),
        extra: BTreeMap::new(),
    };
    record.seal();
    record
}

fn the_matrix() -> map::Matrix {
    map::Matrix::from_api(&fixture("risk-matrices-list.json").body["results"][0]).unwrap()
}

/// The demo assessment, configured by UUID: its detail names the matrix.
async fn by_uuid(server: &mut Server) -> Vec<mockito::Mock> {
    let detail = fixture("risk-assessment-detail.json");
    vec![
        serve(
            server,
            "GET",
            detail.path_only(),
            Matcher::Any,
            200,
            &detail.body,
        )
        .await,
        serve_matrix(server).await,
    ]
}

#[test]
fn matrix_definition_string_is_decoded() {
    let list = fixture("risk-matrices-list.json");
    assert!(list.body["results"][0]["json_definition"].is_string());
    let m = the_matrix();
    assert_eq!(m.id, MATRIX);
    assert_eq!(
        m.urn.as_deref(),
        Some("urn:intuitem:risk:matrix:5x5-iso27005")
    );
    assert_eq!(
        m.urn.as_deref(),
        Some(imsbridge_connector_ciso_assistant::DEFAULT_RISK_MATRIX)
    );
    assert_eq!(m.probability[3].name, "4 - very likely");
    assert_eq!(m.impact[4].name, "5 - catastrophic");
    assert_eq!(m.risk.len(), 5);
    // [probability][impact]: R-AI-005 (0, 4) has level 1, not grid[4][0] = 2.
    assert_eq!(m.level_of(0, 4), Some(1));
    assert_eq!(m.level_of(4, 0), Some(2));
}

#[tokio::test]
async fn desired_converts_local_ratings_onto_the_assessment_matrix() {
    let mut server = Server::new_async().await;
    let mocks = by_uuid(&mut server).await;
    let ca = connector(
        &server,
        &format!("risk_assessment = '{ASSESSMENT}'\nowner_actors = {{ 'Dana' = '{ACTOR}' }}"),
    );
    let early = ca.desired(&risk_record("x", (None, None), (None, None), None, None));
    assert!(
        matches!(early, Err(ConnectorError::Unwritable { .. })),
        "{early:?}"
    );

    assert_eq!(ca.prepare(false).await.unwrap(), Vec::<String>::new());
    for m in &mocks {
        m.assert_async().await;
    }
    let record = risk_record(
        "Supplier model outage",
        (Some(5.0), Some(1.0)),
        (None, None),
        Some("Mitigate"),
        Some("Dana"),
    );
    let desired = ca.desired(&record).unwrap();
    let f = &desired.fields;
    assert_eq!(f["name"], json!("Supplier model outage"));
    assert_eq!(f["description"], json!(""));
    assert_eq!(f["ref_id"], json!(correlation_id(&record)));
    assert!(f["ref_id"].as_str().unwrap().starts_with("IMSB-"));
    assert_eq!(f["treatment"], json!("mitigate"));
    assert_eq!(f["inherent_proba"], json!(4));
    assert_eq!(f["inherent_impact"], json!(0));
    assert_eq!(f["residual_proba"], json!(-1));
    assert_eq!(f["residual_impact"], json!(-1));
    assert_eq!(f["owner"], json!([ACTOR]));
    let conversion = |field: &str| {
        desired
            .conversions
            .iter()
            .find(|c| c.field == field)
            .unwrap_or_else(|| panic!("no conversion of {field}"))
    };
    assert_eq!(conversion("inherent_proba").from, "5 (1-5)");
    assert_eq!(
        conversion("inherent_proba").to,
        "4 = \"5 - almost certain\" (5x5 matrix \"5x5 ISO-27005\")"
    );
    assert_eq!(
        conversion("inherent_impact").to,
        "0 = \"1 - minor\" (5x5 matrix \"5x5 ISO-27005\")"
    );
    assert_eq!(conversion("residual_proba").to, "-1 = not rated");

    // 4 on 1-5 is index 3; the other treatments; an owner without an actor is not written.
    let record = risk_record(
        "b",
        (Some(4.0), Some(3.5)),
        (Some(2.0), Some(1.2)),
        Some("accept"),
        Some("Kim"),
    );
    let desired = ca.desired(&record).unwrap();
    assert_eq!(desired.fields["inherent_proba"], json!(3));
    assert_eq!(
        desired.fields["inherent_impact"],
        json!(3),
        "3.5 rounds half up"
    );
    assert_eq!(desired.fields["residual_impact"], json!(0));
    assert_eq!(desired.fields["treatment"], json!("accept"));
    assert!(!desired.fields.contains_key("owner"));
    let owner = desired
        .conversions
        .iter()
        .find(|c| c.field == "owner")
        .unwrap();
    assert!(
        owner.to.contains("not written") && owner.to.contains("Kim"),
        "{}",
        owner.to
    );
    for (word, choice) in [("Avoid", "avoid"), ("Transfer", "transfer")] {
        let r = risk_record("c", (None, None), (None, None), Some(word), None);
        assert_eq!(ca.desired(&r).unwrap().fields["treatment"], json!(choice));
    }
    let r = risk_record("d", (None, None), (None, None), None, None);
    assert_eq!(ca.desired(&r).unwrap().fields["treatment"], json!("open"));

    // Only risks.
    let mut control = r.clone();
    control.details = Details::empty(RecordKind::Control);
    assert!(matches!(
        ca.desired(&control),
        Err(ConnectorError::Unwritable { .. })
    ));
}

#[test]
fn read_shape_compares_equal_to_the_write_shape_that_produced_it() {
    let detail = fixture("risk-scenario-detail.json");
    assert!(
        detail.body["inherent_proba"].is_object(),
        "the detail is in the read shape"
    );
    let remote = map::remote_record(&detail.body).unwrap();
    assert_eq!(remote.remote_id, "c16dd96d-2f2d-4c1d-ab1a-660bac42153a");
    assert_eq!(
        remote.correlation, None,
        "R-AI-001 was not written by the bridge"
    );
    assert_eq!(
        remote.version.as_deref(),
        Some("2026-11-27T03:51:32.170064Z")
    );
    let expected: FieldMap = [
        (
            "name",
            json!("Training-data bias leads to discriminatory model decisions"),
        ),
        (
            "description",
            json!("Historical training data under-represents some customer groups."),
        ),
        ("ref_id", json!("R-AI-001")),
        ("treatment", json!("mitigate")),
        ("inherent_proba", json!(3)),
        ("inherent_impact", json!(3)),
        ("residual_proba", json!(1)),
        ("residual_impact", json!(2)),
        ("owner", json!([ACTOR])),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(remote.fields, expected);

    // A local record with the same content wants exactly these fields (but its own ref_id).
    let mut record = risk_record(
        "Training-data bias leads to discriminatory model decisions",
        (Some(4.0), Some(4.0)),
        (Some(2.0), Some(3.0)),
        Some("Mitigate"),
        Some("Data Science Lead"),
    );
    record.description =
        Some("Historical training data under-represents some customer groups.".into());
    let actors: BTreeMap<String, String> =
        [("Data Science Lead".to_string(), ACTOR.to_string())].into();
    let desired = map::desired(&record, &the_matrix(), &actors).unwrap();
    for (field, value) in &desired.fields {
        if field != "ref_id" {
            assert_eq!(Some(value), remote.fields.get(field), "{field}");
        }
    }
}

#[tokio::test]
async fn create_posts_the_write_shape_and_normalises_the_answer() {
    let mut server = Server::new_async().await;
    serve_containers(&mut server).await;
    let f = fixture("risk-scenario-create.json");
    let mut record = risk_record(
        "Model inversion reveals training records",
        (Some(2.0), Some(4.0)),
        (None, None),
        None,
        Some("Dana"),
    );
    record.description = Some(f.request_body["description"].as_str().unwrap().into());
    let corr = correlation_id(&record);
    let mut answer = f.body.clone();
    answer["ref_id"] = json!(corr);
    let post = server
        .mock("POST", "/api/risk-scenarios/")
        .match_header("authorization", auth().as_str())
        .match_header("content-type", "application/json")
        .match_body(Matcher::PartialJson(json!({
            "name": f.request_body["name"],
            "description": f.request_body["description"],
            "ref_id": corr,
            "risk_assessment": ASSESSMENT,
            "inherent_proba": 1,
            "inherent_impact": 3,
            "residual_proba": -1,
            "residual_impact": -1,
            "treatment": "open",
            "owner": [ACTOR],
        })))
        .with_status(201)
        .with_header("content-type", "application/json")
        .with_body(answer.to_string())
        .expect(1)
        .create_async()
        .await;
    let ca = connector(
        &server,
        &format!("{DEMO}owner_actors = {{ 'Dana' = '{ACTOR}' }}"),
    );
    ca.prepare(false).await.unwrap();
    let desired = ca.desired(&record).unwrap();
    // The recorded create sent the same fields in the same shape.
    for (field, value) in &desired.fields {
        if field != "ref_id" {
            assert_eq!(Some(value), f.request_body.get(field), "{field}");
        }
    }
    let remote = ca
        .create(RecordKind::Risk, &corr, &desired.fields)
        .await
        .unwrap();
    post.assert_async().await;
    assert_eq!(remote.remote_id, "4b831057-fff2-4962-90a9-678ba9af0392");
    assert_eq!(remote.correlation.as_deref(), Some(corr.as_str()));
    assert_eq!(
        remote.version.as_deref(),
        Some("2026-11-27T03:51:36.399311Z")
    );
    assert_eq!(
        remote.fields, desired.fields,
        "the answer reads back as what was written"
    );
}

#[tokio::test]
async fn update_patches_only_the_changes() {
    let mut server = Server::new_async().await;
    let f = fixture("risk-scenario-patch.json");
    let changes: FieldMap = [
        ("treatment".to_string(), json!("mitigate")),
        ("residual_proba".to_string(), json!(1)),
        ("residual_impact".to_string(), json!(2)),
    ]
    .into();
    let patch = server
        .mock("PATCH", f.path.as_str())
        .match_header("authorization", auth().as_str())
        .match_body(Matcher::Json(json!(changes)))
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(f.body.to_string())
        .expect(1)
        .create_async()
        .await;
    let ca = connector(&server, "");
    let remote = ca
        .update(
            RecordKind::Risk,
            "ca3584b0-4a00-44c3-a759-5e9bd9f429fb",
            &changes,
        )
        .await
        .unwrap();
    patch.assert_async().await;
    assert_eq!(
        remote.version.as_deref(),
        Some("2026-11-27T03:51:36.503198Z")
    );
    for (field, value) in &changes {
        assert_eq!(remote.fields.get(field), Some(value), "{field}");
    }
    assert_eq!(remote.fields["inherent_proba"], json!(4));
    assert_eq!(remote.fields["owner"], json!([ACTOR]));
}

#[tokio::test]
async fn a_missing_scenario_is_reported() {
    let mut server = Server::new_async().await;
    let f = fixture("not-found.json");
    serve(
        &mut server,
        "PATCH",
        f.path_only(),
        Matcher::Any,
        404,
        &f.body,
    )
    .await;
    let ca = connector(&server, "");
    let err = ca
        .update(
            RecordKind::Risk,
            "00000000-0000-4000-8000-000000000000",
            &FieldMap::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Remote { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("404") && text.contains("No RiskScenario matches"),
        "{text}"
    );
    assert!(
        text.contains("/api/risk-scenarios/00000000-0000-4000-8000-000000000000/"),
        "{text}"
    );
    let err = ca
        .update(RecordKind::Risk, "../iam/users", &FieldMap::new())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not a CISO Assistant object id"),
        "{err}"
    );
}

#[tokio::test]
async fn invalid_create_lists_the_field_errors() {
    let mut server = Server::new_async().await;
    serve_containers(&mut server).await;
    let f = fixture("risk-scenario-create-invalid.json");
    let post = server
        .mock("POST", "/api/risk-scenarios/")
        .match_header("authorization", auth().as_str())
        // Exactly the recorded request body.
        .match_body(Matcher::Json(f.request_body.clone()))
        .with_status(400)
        .with_header("content-type", "application/json")
        .with_body(f.body.to_string())
        .expect(1)
        .create_async()
        .await;
    let ca = connector(&server, DEMO);
    let fields: FieldMap = [
        ("treatment".to_string(), json!("ignore")),
        ("current_proba".to_string(), json!("high")),
    ]
    .into();
    let err = ca
        .create(RecordKind::Risk, "R-AI-BAD", &fields)
        .await
        .unwrap_err();
    post.assert_async().await;
    assert!(
        matches!(err, ConnectorError::Remote { .. }),
        "a 400 is no ambiguity: {err:?}"
    );
    let text = err.to_string();
    for needle in [
        "POST /api/risk-scenarios/ was rejected (400)",
        "name: This field is required.",
        "current_proba: A valid integer is required.",
        "treatment: \"ignore\" is not a valid choice.",
    ] {
        assert!(text.contains(needle), "{needle} missing in {text}");
    }
}

#[tokio::test]
async fn a_403_without_a_fresh_folder_is_reported_at_once() {
    let mut server = Server::new_async().await;
    serve_containers(&mut server).await;
    let f = fixture("forbidden-transient-403.json");
    let post = serve(
        &mut server,
        "POST",
        "/api/risk-scenarios/",
        Matcher::Any,
        403,
        &f.body,
    )
    .await
    .expect(1);
    let ca = connector(&server, DEMO);
    let err = ca
        .create(RecordKind::Risk, "IMSB-0a1b2c3d", &FieldMap::new())
        .await
        .unwrap_err();
    post.assert_async().await;
    let text = err.to_string();
    assert!(matches!(err, ConnectorError::Remote { .. }));
    assert!(
        text.contains("403")
            && text.contains("folder: You do not have permission to add objects in this folder"),
        "{text}"
    );
}

#[tokio::test]
async fn the_transient_403_after_creating_a_folder_is_retried() {
    let mut server = Server::new_async().await;
    serve_fixture(&mut server, "folders-list.json").await;
    serve_fixture(&mut server, "perimeters-list.json").await;
    serve_fixture(&mut server, "risk-assessments-list.json").await;
    serve_fixture(&mut server, "risk-matrices-list.json").await;
    let folder = fixture("folder-create.json");
    let post_folder = server
        .mock("POST", "/api/folders/")
        .match_header("authorization", auth().as_str())
        .match_body(Matcher::PartialJson(json!({"name": "AI Bridge Test"})))
        .with_status(201)
        .with_body(folder.body.to_string())
        .expect(1)
        .create_async()
        .await;
    // First the stale worker's refusal, then the success (mockito serves them in order).
    let forbidden = fixture("forbidden-transient-403.json");
    let perimeter_body = Matcher::PartialJson(json!({"name": "probe perimeter", "folder": FOLDER}));
    let refused = server
        .mock("POST", "/api/perimeters/")
        .match_body(perimeter_body.clone())
        .with_status(403)
        .with_body(forbidden.body.to_string())
        .expect(1)
        .create_async()
        .await;
    let created = server
        .mock("POST", "/api/perimeters/")
        .match_header("authorization", auth().as_str())
        .match_body(perimeter_body)
        .with_status(201)
        .with_body(fixture("perimeter-create.json").body.to_string())
        .expect(1)
        .create_async()
        .await;
    let post_assessment = server
        .mock("POST", "/api/risk-assessments/")
        .match_body(Matcher::PartialJson(json!({
            "name": "AI register test",
            "version": "1.0",
            "perimeter": PERIMETER,
            "folder": FOLDER,
            "risk_matrix": MATRIX,
        })))
        .with_status(201)
        .with_body(fixture("risk-assessment-create.json").body.to_string())
        .expect(1)
        .create_async()
        .await;
    let ca = connector(
        &server,
        "folder = 'AI Bridge Test'\nperimeter = 'probe perimeter'\nrisk_assessment = 'AI register test'\ncreate = true",
    );
    let lines = ca.prepare(true).await.unwrap();
    for m in [&post_folder, &refused, &created, &post_assessment] {
        m.assert_async().await;
    }
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("created folder"), "{lines:?}");
    assert!(
        lines[1].starts_with("created perimeter \"AI Platform\" (57e39c8d"),
        "{lines:?}"
    );
    assert!(
        lines[2].contains("created risk assessment") && lines[2].contains("5x5"),
        "{lines:?}"
    );
    // The write side is ready: the new assessment's matrix is known.
    let r = risk_record("x", (Some(3.0), None), (None, None), None, None);
    assert_eq!(ca.desired(&r).unwrap().fields["inherent_proba"], json!(2));
}

#[tokio::test]
async fn planning_says_what_would_be_created_and_writes_nothing() {
    let mut server = Server::new_async().await;
    serve_fixture(&mut server, "folders-list.json").await;
    serve_fixture(&mut server, "risk-matrices-list.json").await;
    let no_post = server
        .mock("POST", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let ca = connector(
        &server,
        "folder = 'AI Bridge Test'\nperimeter = 'P'\nrisk_assessment = 'R'\ncreate = true",
    );
    let lines = ca.prepare(false).await.unwrap();
    no_post.assert_async().await;
    assert_eq!(
        lines,
        [
            "would create folder \"AI Bridge Test\"",
            "would create perimeter \"P\" in folder \"AI Bridge Test\"",
            "would create risk assessment \"R\" (version 1.0) in perimeter \"P\" on the 5x5 matrix \"5x5 ISO-27005\"",
        ]
    );
    // Nothing to list yet, and the plan can still convert ratings.
    assert!(ca.list(RecordKind::Risk).await.unwrap().is_empty());
    let r = risk_record("x", (Some(5.0), None), (None, None), None, None);
    assert_eq!(ca.desired(&r).unwrap().fields["inherent_proba"], json!(4));
}

#[tokio::test]
async fn missing_containers_without_create_are_an_error() {
    let mut server = Server::new_async().await;
    serve_fixture(&mut server, "folders-list.json").await;
    serve_fixture(&mut server, "risk-matrices-list.json").await;
    let ca = connector(
        &server,
        "folder = 'Nope'\nperimeter = 'P'\nrisk_assessment = 'R'",
    );
    let err = ca.prepare(false).await.unwrap_err().to_string();
    assert!(
        err.contains("folder \"Nope\"") && err.contains("create = true"),
        "{err}"
    );
}

#[tokio::test]
async fn same_names_are_told_apart_by_folder_and_perimeter() {
    let mut server = Server::new_async().await;
    serve_containers(&mut server).await;
    let mut page = fixture("risk-scenarios-page1.json").body;
    page["next"] = Value::Null;
    page["results"][0]["ref_id"] = json!("IMSB-0a1b2c3d");
    let list = serve(
        &mut server,
        "GET",
        "/api/risk-scenarios/",
        Matcher::AllOf(vec![q("risk_assessment", ASSESSMENT), q("limit", "100")]),
        200,
        &page,
    )
    .await;
    let ca = connector(&server, DEMO);
    assert!(ca.prepare(false).await.unwrap().is_empty());
    let remotes = ca.list(RecordKind::Risk).await.unwrap();
    list.assert_async().await;
    assert_eq!(remotes.len(), 1, "only the bridge's scenarios");
    let r = &remotes[0];
    assert_eq!(r.remote_id, "c16dd96d-2f2d-4c1d-ab1a-660bac42153a");
    assert_eq!(r.correlation.as_deref(), Some("IMSB-0a1b2c3d"));
    assert_eq!(r.fields["inherent_proba"], json!(3));
    assert_eq!(r.fields["residual_impact"], json!(2));

    // Without folder and perimeter the name is ambiguous: two "AI risk register"s.
    let ca = connector(&server, "risk_assessment = 'AI risk register'");
    let err = ca.prepare(false).await.unwrap_err().to_string();
    assert!(
        err.contains("2 risk assessments are named \"AI risk register\""),
        "{err}"
    );
    assert!(
        err.contains(ASSESSMENT) && err.contains("7281c899"),
        "{err}"
    );
}

#[tokio::test]
async fn lookup_matches_the_correlation_exactly() {
    let mut server = Server::new_async().await;
    serve_containers(&mut server).await;
    let mut full = fixture("risk-scenarios-page1.json").body;
    full["next"] = Value::Null;
    // The whole assessment: no `search` in the query.
    let everything = serve(
        &mut server,
        "GET",
        "/api/risk-scenarios/",
        Matcher::Regex(format!("^risk_assessment={ASSESSMENT}&limit=100$")),
        200,
        &full,
    )
    .await;
    // The search is fuzzy: a near miss comes back first.
    let mut found = full.clone();
    found["results"][0]["ref_id"] = json!("IMSB-0a1b2c3d9");
    found["results"][1]["ref_id"] = json!("IMSB-0a1b2c3d");
    let search = serve(
        &mut server,
        "GET",
        "/api/risk-scenarios/",
        Matcher::AllOf(vec![
            q("risk_assessment", ASSESSMENT),
            q("search", "IMSB-0a1b2c3d"),
        ]),
        200,
        &found,
    )
    .await;
    let mut none = full.clone();
    none["results"] = json!([]);
    none["count"] = json!(0);
    serve(
        &mut server,
        "GET",
        "/api/risk-scenarios/",
        Matcher::AllOf(vec![
            q("risk_assessment", ASSESSMENT),
            q("search", "IMSB-ffffffff"),
        ]),
        200,
        &none,
    )
    .await;
    let ca = connector(&server, DEMO);
    let hit = ca
        .lookup(RecordKind::Risk, "IMSB-0a1b2c3d")
        .await
        .unwrap()
        .unwrap();
    search.assert_async().await;
    assert_eq!(hit.remote_id, "8b9593cf-0bf3-4bb8-893e-4e5f4abc1ce7");
    assert_eq!(hit.correlation.as_deref(), Some("IMSB-0a1b2c3d"));
    // A miss is confirmed on the full list before the engine creates the record again.
    assert!(
        ca.lookup(RecordKind::Risk, "IMSB-ffffffff")
            .await
            .unwrap()
            .is_none()
    );
    everything.assert_async().await;
}

#[tokio::test]
async fn a_server_error_on_create_is_ambiguous() {
    let mut server = Server::new_async().await;
    serve_containers(&mut server).await;
    let post = serve(
        &mut server,
        "POST",
        "/api/risk-scenarios/",
        Matcher::Any,
        500,
        &json!("boom"),
    )
    .await
    .expect(1);
    let ca = connector(&server, DEMO);
    let err = ca
        .create(RecordKind::Risk, "IMSB-0a1b2c3d", &FieldMap::new())
        .await
        .unwrap_err();
    post.assert_async().await;
    assert!(err.is_ambiguous(), "{err:?}");
    assert!(
        err.to_string().contains("may or may not have been created"),
        "{err}"
    );
    let err = ca
        .create(RecordKind::Incident, "IMSB-0a1b2c3d", &FieldMap::new())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Unwritable { .. }), "{err:?}");
}

#[tokio::test]
async fn check_reports_reachability_identity_and_containers() {
    let mut server = Server::new_async().await;
    let build = serve_fixture(&mut server, "build-info.json").await;
    let user = serve_fixture(&mut server, "current-user.json").await;
    serve_containers(&mut server).await;
    let ca = connector(&server, DEMO);
    let checks = ca.check().await;
    build.assert_async().await;
    user.assert_async().await;
    let find = |what: &str| {
        checks
            .iter()
            .find(|c| c.what == what)
            .unwrap_or_else(|| panic!("no check {what}: {checks:?}"))
    };
    assert!(
        checks.iter().all(|c| c.status == CheckStatus::Ok),
        "{checks:?}"
    );
    assert!(find("reachable").detail.contains("version not reported"));
    let token = &find("token").detail;
    assert!(
        token.contains("admin@example.com") && token.contains(ACTOR),
        "{token}"
    );
    assert_eq!(find("read risk assessments").detail, "2 visible");
    assert!(find("risk assessment").detail.contains(ASSESSMENT));
    assert!(find("risk matrix").detail.contains("5x5"));

    // A bad token stops the checks at the token, with the reason.
    let mut server = Server::new_async().await;
    serve_fixture(&mut server, "build-info.json").await;
    let bad = fixture("bad-token.json");
    serve(
        &mut server,
        "GET",
        "/api/iam/current-user/",
        Matcher::Any,
        401,
        &bad.body,
    )
    .await;
    let checks = connector(&server, DEMO).check().await;
    assert_eq!(checks.len(), 2, "{checks:?}");
    assert_eq!(checks[1].status, CheckStatus::Failed);
    assert!(
        checks[1].detail.contains("Invalid token."),
        "{:?}",
        checks[1]
    );
    assert!(!checks[1].detail.contains(TOKEN));
}
