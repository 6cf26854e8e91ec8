//! Matching spreadsheet headers to canonical fields, inferring a sheet's kind, skipping
//! helper sheets, and user profiles overriding the built-in one.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] fns: a failed unwrap is the test failing"
)]

use std::fs;

use imsbridge_mappings::{DateOrder, Dimension, Field, Mappings, MappingsError, Profile};
use imsbridge_model::{RecordKind, StandardId};

fn default() -> Profile {
    Profile::default_profile().unwrap()
}

fn check(p: &Profile, kind: Option<RecordKind>, cases: &[(&str, Field)]) {
    for (header, field) in cases {
        assert_eq!(
            p.match_header(header, kind),
            Some(*field),
            "{header:?} on {kind:?}"
        );
    }
}

#[test]
fn required_aliases_match() {
    use Field::*;
    let p = default();
    check(
        &p,
        None,
        &[
            ("Risk ID", ExternalId),
            ("Ref", ExternalId),
            ("ID", ExternalId),
            ("Reference", ExternalId),
            ("No.", ExternalId),
            ("Control ID", ExternalId),
            ("NC ID", ExternalId),
            ("CAPA ID", ExternalId),
            ("Finding ID", ExternalId),
            ("Likelihood", Likelihood),
            ("Probability", Likelihood),
            ("Impact", Impact),
            ("Consequence", Impact),
            ("Risk Owner", Owner),
            ("Owner", Owner),
            ("Responsible", Owner),
            ("Action Owner", Owner),
            ("Treatment", Treatment),
            ("Treatment Option", Treatment),
            ("Risk Response", Treatment),
            ("Mitigation Plan", TreatmentPlan),
            ("Treatment Plan", TreatmentPlan),
            ("Mitigation", TreatmentPlan),
            ("Actions", TreatmentPlan),
            ("Clause", Clauses),
            ("ISO Ref", Clauses),
            ("Control Reference", Clauses),
            ("Requirement", Clauses),
            ("Annex A Control", Clauses),
            ("Clause Reference", Clauses),
            ("Inherent Likelihood", InherentLikelihood),
            ("Residual Impact", ResidualImpact),
            ("Likelihood (inherent)", InherentLikelihood),
            ("Inherent Risk Score", InherentScore),
            ("Applicable", Applicable),
            ("Applicable?", Applicable),
            ("Justification", Justification),
            ("Justification for inclusion/exclusion", Justification),
            ("Implementation Status", ImplementationStatus),
            ("Result", Result),
            ("Conformity", Result),
            ("Compliance Status", Result),
            ("Evidence", Evidence),
            ("AI Risk", AiFlag),
            ("AI-related", AiFlag),
            ("AI Category", AiCategory),
            ("AI Risk Category", AiCategory),
            ("Trustworthiness Objective", AiCategory),
            ("Risk Tier", RiskTier),
        ],
    );
    assert_eq!(
        p.match_header("AI System", Some(RecordKind::AiSystem)),
        Some(Title)
    );
}

#[test]
fn german_french_and_spanish_headers_match() {
    use Field::*;
    check(
        &default(),
        None,
        &[
            ("Titel", Title),
            ("Titre", Title),
            ("Título", Title),
            ("Beschreibung", Description),
            ("Descripción", Description),
            ("Eintrittswahrscheinlichkeit", Likelihood),
            ("Auswirkung", Impact),
            ("Verantwortlich", Owner),
            ("Maßnahme", TreatmentPlan),
            ("Massnahme", TreatmentPlan),
            ("Probabilité", Likelihood),
            ("Probabilite", Likelihood),
            ("Impact", Impact),
            ("Propriétaire", Owner),
            ("Probabilidad", Likelihood),
            ("Impacto", Impact),
            ("Responsable", Owner),
            ("Brutto-Auswirkung", InherentImpact),
            ("Restrisiko", ResidualScore),
            ("Risque résiduel", ResidualScore),
        ],
    );
}

#[test]
fn header_matching_is_tolerant() {
    use Field::*;
    check(
        &default(),
        None,
        &[
            ("  risk id ", ExternalId),
            ("RISK-ID*", ExternalId),
            ("Risk_ID", ExternalId),
            ("Likelihood (1-5)", Likelihood),
            ("Likelihood (1–5) *", Likelihood),
            ("Impact [1-5]", Impact),
            ("Probability (%)", Likelihood),
            ("Probability %", Likelihood),
            ("Applicable ?", Applicable),
            ("Owner:", Owner),
            // Qualifiers before or after, with hints.
            ("Inherent Risk Likelihood", InherentLikelihood),
            ("Inherent - Likelihood (1-5)", InherentLikelihood),
            ("Residual Risk / Score", ResidualScore),
            ("Score (net)", ResidualScore),
            ("Gross Consequence", InherentImpact),
            ("Impact after treatment", ResidualImpact),
        ],
    );
    let p = default();
    assert_eq!(p.match_header("", None), None);
    assert_eq!(p.match_header("Comments", None), None);
    assert_eq!(p.match_header("Risk Register 2024", None), None);
}

#[test]
fn severity_depends_on_the_sheet_kind() {
    let p = default();
    assert_eq!(p.match_header("Severity", None), Some(Field::Severity));
    assert_eq!(
        p.match_header("Severity", Some(RecordKind::Nonconformity)),
        Some(Field::Severity)
    );
    assert_eq!(
        p.match_header("Severity", Some(RecordKind::Incident)),
        Some(Field::Severity)
    );
    assert_eq!(
        p.match_header("Severity", Some(RecordKind::Risk)),
        Some(Field::Impact)
    );
    assert_eq!(
        p.match_header("Gravité", Some(RecordKind::Risk)),
        Some(Field::Impact)
    );
    assert_eq!(
        p.match_header("Inherent Severity", Some(RecordKind::Risk)),
        Some(Field::InherentImpact)
    );
    assert_eq!(
        p.match_header("Status", Some(RecordKind::Control)),
        Some(Field::ImplementationStatus)
    );
    assert_eq!(
        p.match_header("Status", Some(RecordKind::Risk)),
        Some(Field::Status)
    );
    assert_eq!(
        p.match_header("Actions", Some(RecordKind::Nonconformity)),
        Some(Field::CorrectiveAction)
    );
}

#[test]
fn header_score_finds_the_header_row() {
    let p = default();
    let title_row = ["Information Security Risk Register", "", "Version 3"];
    let header_row = [
        "Risk ID",
        "Risk",
        "Owner",
        "Likelihood",
        "Impact",
        "Severity",
        "Notes",
    ];
    let data_row = ["R-001", "Ransomware", "CISO", "3", "4", "High", "see plan"];
    assert_eq!(p.header_score(&title_row), 0);
    assert_eq!(p.header_score(&header_row), 6);
    assert_eq!(p.header_score(&data_row), 0);
    // A kind-specific alias counts too, and repeats count once.
    assert_eq!(p.header_score(&["Control", "Control"]), 1);
}

#[test]
fn kind_is_inferred_from_signalling_fields() {
    use Field::*;
    let p = default();
    let infer = |fields: &[Field]| p.infer_kind(fields);
    assert_eq!(
        infer(&[ExternalId, Title, Likelihood, Impact, Owner]),
        Some(RecordKind::Risk)
    );
    assert_eq!(
        infer(&[ExternalId, Applicable, Justification, ImplementationStatus]),
        Some(RecordKind::Control)
    );
    assert_eq!(
        infer(&[Clauses, Result, Evidence]),
        Some(RecordKind::RequirementAssessment)
    );
    assert_eq!(
        infer(&[Title, Severity, RootCause, CorrectiveAction]),
        Some(RecordKind::Nonconformity)
    );
    assert_eq!(
        infer(&[Title, Severity, Affected, Resolution]),
        Some(RecordKind::Incident)
    );
    assert_eq!(
        infer(&[FindingType, Audit, Auditor]),
        Some(RecordKind::AuditFinding)
    );
    assert_eq!(
        infer(&[Title, DocumentType, Version, Link]),
        Some(RecordKind::Document)
    );
    assert_eq!(
        infer(&[Title, Target, Measure, Progress]),
        Some(RecordKind::Objective)
    );
    assert_eq!(
        infer(&[Title, RiskTier, Purpose, ModelType]),
        Some(RecordKind::AiSystem)
    );
    assert_eq!(infer(&[Title, Owner]), None, "nothing signals a kind");
    assert_eq!(infer(&[Result, Applicable]), None, "a tie is not guessed");

    let fixed = Profile::parse("kind = \"soa\"", "p.toml").unwrap();
    assert_eq!(
        p.merged_with(&fixed).infer_kind(&[Likelihood]),
        Some(RecordKind::Control)
    );
}

#[test]
fn helper_sheets_are_skipped() {
    let p = default();
    for name in [
        "Instructions",
        "READ ME",
        "Read_me",
        "Lists",
        "Lookup",
        "Dropdowns",
        "Legend",
        "Scales",
        "Anleitung",
        " Legende ",
    ] {
        assert!(p.is_skipped_sheet(name), "{name}");
    }
    for name in [
        "Risks",
        "Risk Register",
        "List of risks",
        "SoA",
        "Key Risks",
        "",
    ] {
        assert!(!p.is_skipped_sheet(name), "{name}");
    }
}

#[test]
fn user_profile_overrides_and_extends_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acme.toml");
    fs::write(
        &path,
        r#"
kind = "risk"
standard = "ISO/IEC 27001:2022"
sheet = "Register"
date_order = "day-first"
skip_sheets = ["Archive"]
scales = { likelihood = "1-5", impact = "low-medium-high" }

[aliases]
title = ["Ref"]
external_id = ["Risk #"]
severity = ["Severity"]

[kind_aliases.risk]
impact = ["Schaden (EUR)"]

[signals]
objective = ["target"]
"#,
    )
    .unwrap();
    let user = Profile::load(&path).unwrap();
    let p = default().merged_with(&user);

    assert_eq!(p.kind(), Some(RecordKind::Risk));
    assert_eq!(p.standard(), Some(StandardId::Iso27001));
    assert_eq!(p.sheet(), Some("Register"));
    assert_eq!(p.date_order(), Some(DateOrder::DayFirst));
    assert_eq!(p.scale_for(Dimension::Likelihood), Some("1-5"));
    assert_eq!(p.scale_for(Dimension::Impact), Some("low-medium-high"));
    assert_eq!(p.scale_for(Dimension::Score), None);
    // The user's aliases win over the defaults, even over the defaults' kind-specific ones.
    assert_eq!(p.match_header("Ref", None), Some(Field::Title));
    assert_eq!(
        p.match_header("Severity", Some(RecordKind::Risk)),
        Some(Field::Severity)
    );
    assert_eq!(p.match_header("Risk #", None), Some(Field::ExternalId));
    assert_eq!(
        p.match_header("Schaden (EUR)", Some(RecordKind::Risk)),
        Some(Field::Impact)
    );
    // Everything else still comes from the defaults.
    assert_eq!(p.match_header("Likelihood", None), Some(Field::Likelihood));
    assert!(p.is_skipped_sheet("Archive") && p.is_skipped_sheet("Instructions"));
    assert_eq!(p.sources().len(), 2);
    assert!(p.sources()[0].ends_with("acme.toml"));
    // A kind's signal list is replaced, the others kept.
    let unfixed = default()
        .merged_with(&Profile::parse("[signals]\nobjective = [\"target\"]", "u.toml").unwrap());
    assert_eq!(unfixed.infer_kind(&[Field::Measure, Field::Progress]), None);
    assert_eq!(
        unfixed.infer_kind(&[Field::Likelihood]),
        Some(RecordKind::Risk)
    );

    let m = Mappings::embedded().unwrap();
    m.check_profile(&p).unwrap();
}

#[test]
fn profile_errors_name_the_file_and_key() {
    let err = Profile::parse("scale = { likelihood = \"1-5\" }", "user.toml").unwrap_err();
    assert!(matches!(err, MappingsError::Toml { .. }));
    let message = err.to_string();
    assert!(
        message.starts_with("user.toml:") && message.contains("scale"),
        "{message}"
    );

    let err = Profile::parse("scales = { likelyhood = \"1-5\" }", "user.toml").unwrap_err();
    assert!(err.to_string().contains("likelyhood"), "{err}");

    let err = Profile::parse("[aliases]\ntitel = [\"Name\"]", "user.toml").unwrap_err();
    let message = err.to_string();
    assert!(message.contains("user.toml: aliases.titel"), "{message}");
    assert!(
        message.contains("external_id"),
        "lists the fields: {message}"
    );

    let err = Profile::parse(
        "[aliases]\ntitle = [\"Name\"]\nowner = [\"name\"]",
        "user.toml",
    )
    .unwrap_err();
    assert!(matches!(err, MappingsError::DuplicateAlias { .. }), "{err}");

    let err = Profile::parse("kind = \"spreadsheet\"", "user.toml").unwrap_err();
    assert!(err.to_string().contains("user.toml: kind"), "{err}");
    let err = Profile::parse("date_order = \"year-first\"", "user.toml").unwrap_err();
    assert!(err.to_string().contains("day-first"), "{err}");
    let err = Profile::parse("standard = \"iso27002\"", "user.toml").unwrap_err();
    assert!(err.to_string().contains("user.toml: standard"), "{err}");
    let err = Profile::parse("[kind_aliases.widget]\ntitle = [\"X\"]", "user.toml").unwrap_err();
    assert!(err.to_string().contains("kind_aliases.widget"), "{err}");

    let m = Mappings::embedded().unwrap();
    let unknown = Profile::parse("scales = { likelihood = \"1-7\" }", "user.toml").unwrap();
    let err = m.check_profile(&unknown).unwrap_err();
    assert!(matches!(err, MappingsError::UnknownScale { .. }), "{err}");
    assert!(
        err.to_string().contains("user.toml: scales.likelihood"),
        "{err}"
    );
    let wrong_dimension = Profile::parse("scales = { score = \"1-5\" }", "user.toml").unwrap();
    let err = m.check_profile(&wrong_dimension).unwrap_err();
    assert!(err.to_string().contains("score-1-25"), "{err}");

    let err = Profile::load(std::path::Path::new("/nonexistent/profile.toml")).unwrap_err();
    assert!(matches!(err, MappingsError::Io { .. }), "{err}");
}
