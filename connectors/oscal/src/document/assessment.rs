//! The assessment layer: POA&Ms and assessment results, with the parts they share
//! (observations, risks, findings).

use serde::{Deserialize, Serialize};

use super::{
    IncludeAll, Link, Metadata, OscalDateTime, OscalUuid, Prop, Token, XmlNode, parse_string,
    write_all,
};
use crate::markup::{MarkupLine, MarkupMultiline};
use crate::xml::{Elem, XmlIn, XmlOut, XmlResult, required};

/// Reads the `prop`, `link` and `remarks` children every assembly has; returns false for
/// other names.
fn common(
    x: &mut XmlIn<'_>,
    c: &Elem,
    props: &mut Vec<Prop>,
    links: &mut Vec<Link>,
) -> XmlResult<bool> {
    match c.name.as_str() {
        "prop" => props.push(Prop::read_xml(x, c.clone())?),
        "link" => links.push(Link::read_xml(x, c.clone())?),
        _ => return Ok(false),
    }
    Ok(true)
}

/// `import-ssp`, `import-ap`: a reference to the document this one builds on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ImportHref {
    pub href: String,
}

impl XmlNode for ImportHref {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let href = el.req("href")?;
        x.skip(el)?;
        Ok(ImportHref { href })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.empty(name, &[("href", Some(&self.href))]);
    }
}

/// The system a POA&M is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SystemId {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier_type: Option<String>,
    pub id: String,
}

impl XmlNode for SystemId {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let identifier_type = el.opt("identifier-type");
        let id = x.req_text(el)?;
        Ok(SystemId {
            identifier_type,
            id,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.leaf(
            name,
            &[("identifier-type", self.identifier_type.as_deref())],
            &self.id,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// POA&M

/// A plan of action and milestones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PlanOfActionAndMilestones {
    pub uuid: OscalUuid,
    pub metadata: Metadata,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_ssp: Option<ImportHref>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_id: Option<SystemId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observations: Vec<Observation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risks: Vec<Risk>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    pub poam_items: Vec<PoamItem>,
}

impl XmlNode for PlanOfActionAndMilestones {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let uuid = el.parse("uuid", OscalUuid::parse)?;
        let (mut metadata, mut import_ssp, mut system_id) = (None, None, None);
        let (mut observations, mut risks, mut findings, mut poam_items) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "metadata" => metadata = Some(Metadata::read_xml(x, c)?),
                "import-ssp" => import_ssp = Some(ImportHref::read_xml(x, c)?),
                "system-id" => system_id = Some(SystemId::read_xml(x, c)?),
                "observation" => observations.push(Observation::read_xml(x, c)?),
                "risk" => risks.push(Risk::read_xml(x, c)?),
                "finding" => findings.push(Finding::read_xml(x, c)?),
                "poam-item" => poam_items.push(PoamItem::read_xml(x, c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        if poam_items.is_empty() {
            return Err(el.missing("poam-item"));
        }
        Ok(PlanOfActionAndMilestones {
            uuid,
            metadata: required(metadata, &el, "metadata")?,
            import_ssp,
            system_id,
            observations,
            risks,
            findings,
            poam_items,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let uuid = self.uuid.to_string();
        w.open(
            name,
            &[
                ("xmlns", Some(crate::xml::OSCAL_XML_NS)),
                ("uuid", Some(&uuid)),
            ],
        );
        self.metadata.write_xml(w, "metadata");
        if let Some(i) = &self.import_ssp {
            i.write_xml(w, "import-ssp");
        }
        if let Some(s) = &self.system_id {
            s.write_xml(w, "system-id");
        }
        write_all(w, "observation", &self.observations);
        write_all(w, "risk", &self.risks);
        write_all(w, "finding", &self.findings);
        write_all(w, "poam-item", &self.poam_items);
        w.close(name);
    }
}

/// One item of a POA&M: a weakness and the plan to remedy it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PoamItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<OscalUuid>,
    pub title: MarkupLine,
    pub description: MarkupMultiline,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<Origin>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_findings: Vec<RelatedFinding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_observations: Vec<RelatedObservation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_risks: Vec<RelatedRisk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<MarkupMultiline>,
}

impl XmlNode for PoamItem {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let mut i = PoamItem {
            uuid: el.parse_opt("uuid", OscalUuid::parse)?,
            title: MarkupLine::default(),
            description: MarkupMultiline::default(),
            props: Vec::new(),
            links: Vec::new(),
            origins: Vec::new(),
            related_findings: Vec::new(),
            related_observations: Vec::new(),
            related_risks: Vec::new(),
            remarks: None,
        };
        let (mut title, mut description) = (None, None);
        x.children(&el, |x, c| {
            if common(x, &c, &mut i.props, &mut i.links)? {
                return Ok(());
            }
            match c.name.as_str() {
                "title" => title = Some(x.markup_line(c)?),
                "description" => description = Some(x.markup_multi(c)?),
                "origin" => i.origins.push(Origin::read_xml(x, c)?),
                "related-finding" => i.related_findings.push(RelatedFinding::read_xml(x, c)?),
                "related-observation" => i
                    .related_observations
                    .push(RelatedObservation::read_xml(x, c)?),
                "associated-risk" => i.related_risks.push(RelatedRisk::read_xml(x, c)?),
                "remarks" => i.remarks = Some(x.markup_multi(c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        i.title = required(title, &el, "title")?;
        i.description = required(description, &el, "description")?;
        Ok(i)
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let uuid = self.uuid.map(|u| u.to_string());
        w.open(name, &[("uuid", uuid.as_deref())]);
        w.markup_line("title", &self.title);
        w.markup_multi("description", &self.description);
        write_all(w, "prop", &self.props);
        write_all(w, "link", &self.links);
        write_all(w, "origin", &self.origins);
        write_all(w, "related-finding", &self.related_findings);
        write_all(w, "related-observation", &self.related_observations);
        write_all(w, "associated-risk", &self.related_risks);
        w.markup_multi_opt("remarks", self.remarks.as_ref());
        w.close(name);
    }
}

macro_rules! uuid_ref {
    ($(#[$doc:meta])* $t:ident, $field:ident, $attr:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub struct $t {
            pub $field: OscalUuid,
        }

        impl XmlNode for $t {
            fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
                let $field = el.parse($attr, OscalUuid::parse)?;
                x.skip(el)?;
                Ok($t { $field })
            }

            fn write_xml(&self, w: &mut XmlOut, name: &str) {
                let v = self.$field.to_string();
                w.empty(name, &[($attr, Some(&v))]);
            }
        }
    };
}

uuid_ref!(
    /// A reference to an observation.
    RelatedObservation,
    observation_uuid,
    "observation-uuid"
);
uuid_ref!(
    /// A reference to a risk (`related-risks` in JSON, `<associated-risk>` in XML).
    RelatedRisk,
    risk_uuid,
    "risk-uuid"
);
uuid_ref!(
    /// A reference to a finding.
    RelatedFinding,
    finding_uuid,
    "finding-uuid"
);

// ---------------------------------------------------------------------------------------------
// Assessment results

/// Assessment results: one or more assessments with their observations, risks and findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AssessmentResults {
    pub uuid: OscalUuid,
    pub metadata: Metadata,
    pub import_ap: ImportHref,
    pub results: Vec<AssessmentResult>,
}

impl XmlNode for AssessmentResults {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let uuid = el.parse("uuid", OscalUuid::parse)?;
        let (mut metadata, mut import_ap) = (None, None);
        let mut results = Vec::new();
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "metadata" => metadata = Some(Metadata::read_xml(x, c)?),
                "import-ap" => import_ap = Some(ImportHref::read_xml(x, c)?),
                "result" => results.push(AssessmentResult::read_xml(x, c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        if results.is_empty() {
            return Err(el.missing("result"));
        }
        Ok(AssessmentResults {
            uuid,
            metadata: required(metadata, &el, "metadata")?,
            import_ap: required(import_ap, &el, "import-ap")?,
            results,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let uuid = self.uuid.to_string();
        w.open(
            name,
            &[
                ("xmlns", Some(crate::xml::OSCAL_XML_NS)),
                ("uuid", Some(&uuid)),
            ],
        );
        self.metadata.write_xml(w, "metadata");
        self.import_ap.write_xml(w, "import-ap");
        write_all(w, "result", &self.results);
        w.close(name);
    }
}

/// One assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AssessmentResult {
    pub uuid: OscalUuid,
    pub title: MarkupLine,
    pub description: MarkupMultiline,
    pub start: OscalDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<OscalDateTime>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    pub reviewed_controls: ReviewedControls,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observations: Vec<Observation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risks: Vec<Risk>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<MarkupMultiline>,
}

impl XmlNode for AssessmentResult {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let uuid = el.parse("uuid", OscalUuid::parse)?;
        let (mut title, mut description, mut start, mut end, mut reviewed) =
            (None, None, None, None, None);
        let (mut props, mut links) = (Vec::new(), Vec::new());
        let (mut observations, mut risks, mut findings) = (Vec::new(), Vec::new(), Vec::new());
        let mut remarks = None;
        x.children(&el, |x, c| {
            if common(x, &c, &mut props, &mut links)? {
                return Ok(());
            }
            match c.name.as_str() {
                "title" => title = Some(x.markup_line(c)?),
                "description" => description = Some(x.markup_multi(c)?),
                "start" => start = Some(x.parse_text(c, OscalDateTime::parse)?),
                "end" => end = Some(x.parse_text(c, OscalDateTime::parse)?),
                "reviewed-controls" => reviewed = Some(ReviewedControls::read_xml(x, c)?),
                "observation" => observations.push(Observation::read_xml(x, c)?),
                "risk" => risks.push(Risk::read_xml(x, c)?),
                "finding" => findings.push(Finding::read_xml(x, c)?),
                "remarks" => remarks = Some(x.markup_multi(c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        Ok(AssessmentResult {
            uuid,
            title: required(title, &el, "title")?,
            description: required(description, &el, "description")?,
            start: required(start, &el, "start")?,
            end,
            props,
            links,
            reviewed_controls: required(reviewed, &el, "reviewed-controls")?,
            observations,
            risks,
            findings,
            remarks,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let uuid = self.uuid.to_string();
        w.open(name, &[("uuid", Some(&uuid))]);
        w.markup_line("title", &self.title);
        w.markup_multi("description", &self.description);
        w.leaf("start", &[], &self.start.to_string());
        if let Some(e) = &self.end {
            w.leaf("end", &[], &e.to_string());
        }
        write_all(w, "prop", &self.props);
        write_all(w, "link", &self.links);
        self.reviewed_controls.write_xml(w, "reviewed-controls");
        write_all(w, "observation", &self.observations);
        write_all(w, "risk", &self.risks);
        write_all(w, "finding", &self.findings);
        w.markup_multi_opt("remarks", self.remarks.as_ref());
        w.close(name);
    }
}

/// The controls an assessment covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ReviewedControls {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<MarkupMultiline>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    pub control_selections: Vec<ControlSelection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<MarkupMultiline>,
}

impl XmlNode for ReviewedControls {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let mut r = ReviewedControls {
            description: None,
            props: Vec::new(),
            links: Vec::new(),
            control_selections: Vec::new(),
            remarks: None,
        };
        x.children(&el, |x, c| {
            if common(x, &c, &mut r.props, &mut r.links)? {
                return Ok(());
            }
            match c.name.as_str() {
                "description" => r.description = Some(x.markup_multi(c)?),
                "control-selection" => r.control_selections.push(ControlSelection::read_xml(x, c)?),
                "remarks" => r.remarks = Some(x.markup_multi(c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        if r.control_selections.is_empty() {
            return Err(el.missing("control-selection"));
        }
        Ok(r)
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(name, &[]);
        w.markup_multi_opt("description", self.description.as_ref());
        write_all(w, "prop", &self.props);
        write_all(w, "link", &self.links);
        write_all(w, "control-selection", &self.control_selections);
        w.markup_multi_opt("remarks", self.remarks.as_ref());
        w.close(name);
    }
}

/// A set of controls, all or by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ControlSelection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<MarkupMultiline>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_all: Option<IncludeAll>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include_controls: Vec<SelectControlById>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_controls: Vec<SelectControlById>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<MarkupMultiline>,
}

impl XmlNode for ControlSelection {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let mut s = ControlSelection {
            description: None,
            props: Vec::new(),
            links: Vec::new(),
            include_all: None,
            include_controls: Vec::new(),
            exclude_controls: Vec::new(),
            remarks: None,
        };
        x.children(&el, |x, c| {
            if common(x, &c, &mut s.props, &mut s.links)? {
                return Ok(());
            }
            match c.name.as_str() {
                "description" => s.description = Some(x.markup_multi(c)?),
                "include-all" => {
                    x.skip(c)?;
                    s.include_all = Some(IncludeAll {});
                }
                "include-control" => s.include_controls.push(SelectControlById::read_xml(x, c)?),
                "exclude-control" => s.exclude_controls.push(SelectControlById::read_xml(x, c)?),
                "remarks" => s.remarks = Some(x.markup_multi(c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        Ok(s)
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(name, &[]);
        w.markup_multi_opt("description", self.description.as_ref());
        write_all(w, "prop", &self.props);
        write_all(w, "link", &self.links);
        if self.include_all.is_some() {
            w.empty("include-all", &[]);
        }
        write_all(w, "include-control", &self.include_controls);
        write_all(w, "exclude-control", &self.exclude_controls);
        w.markup_multi_opt("remarks", self.remarks.as_ref());
        w.close(name);
    }
}

/// One control (and optionally some of its statements) by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SelectControlById {
    pub control_id: Token,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statement_ids: Vec<Token>,
}

impl XmlNode for SelectControlById {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let control_id = el.parse("control-id", Token::parse)?;
        let mut statement_ids = Vec::new();
        x.children(&el, |x, c| match c.name.as_str() {
            "statement-id" => {
                statement_ids.push(x.parse_text(c, Token::parse)?);
                Ok(())
            }
            _ => x.skip(c),
        })?;
        Ok(SelectControlById {
            control_id,
            statement_ids,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let attrs = [("control-id", Some(self.control_id.as_str()))];
        if self.statement_ids.is_empty() {
            w.empty(name, &attrs);
        } else {
            w.open(name, &attrs);
            for s in &self.statement_ids {
                w.leaf("statement-id", &[], s.as_str());
            }
            w.close(name);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared: observations, risks, findings

/// Who or what produced something: parties, tools, assessment platforms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Origin {
    pub actors: Vec<Actor>,
}

impl XmlNode for Origin {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let mut actors = Vec::new();
        x.children(&el, |x, c| match c.name.as_str() {
            "actor" => {
                actors.push(Actor::read_xml(x, c)?);
                Ok(())
            }
            _ => x.skip(c),
        })?;
        if actors.is_empty() {
            return Err(el.missing("actor"));
        }
        Ok(Origin { actors })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(name, &[]);
        write_all(w, "actor", &self.actors);
        w.close(name);
    }
}

/// One actor of an origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Actor {
    #[serde(rename = "type")]
    pub kind: String,
    pub actor_uuid: OscalUuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<Token>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
}

impl XmlNode for Actor {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let mut a = Actor {
            kind: el.req("type")?,
            actor_uuid: el.parse("actor-uuid", OscalUuid::parse)?,
            role_id: el.parse_opt("role-id", Token::parse)?,
            props: Vec::new(),
        };
        x.children(&el, |x, c| match c.name.as_str() {
            "prop" => {
                a.props.push(Prop::read_xml(x, c)?);
                Ok(())
            }
            _ => x.skip(c),
        })?;
        Ok(a)
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let uuid = self.actor_uuid.to_string();
        let attrs = [
            ("type", Some(self.kind.as_str())),
            ("actor-uuid", Some(uuid.as_str())),
            ("role-id", self.role_id.as_ref().map(Token::as_str)),
        ];
        if self.props.is_empty() {
            w.empty(name, &attrs);
        } else {
            w.open(name, &attrs);
            write_all(w, "prop", &self.props);
            w.close(name);
        }
    }
}

/// What an assessment saw: the evidence of findings and risks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Observation {
    pub uuid: OscalUuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<MarkupLine>,
    pub description: MarkupMultiline,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    pub methods: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<Origin>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<SubjectReference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relevant_evidence: Vec<RelevantEvidence>,
    pub collected: OscalDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<OscalDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<MarkupMultiline>,
}

impl XmlNode for Observation {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let uuid = el.parse("uuid", OscalUuid::parse)?;
        let (mut title, mut description, mut collected, mut expires, mut remarks) =
            (None, None, None, None, None);
        let (mut props, mut links) = (Vec::new(), Vec::new());
        let (mut methods, mut types, mut origins, mut subjects, mut evidence) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        x.children(&el, |x, c| {
            if common(x, &c, &mut props, &mut links)? {
                return Ok(());
            }
            match c.name.as_str() {
                "title" => title = Some(x.markup_line(c)?),
                "description" => description = Some(x.markup_multi(c)?),
                "method" => methods.push(x.parse_text(c, parse_string)?),
                "type" => types.push(x.parse_text(c, parse_string)?),
                "origin" => origins.push(Origin::read_xml(x, c)?),
                "subject" => subjects.push(SubjectReference::read_xml(x, c)?),
                "relevant-evidence" => evidence.push(RelevantEvidence::read_xml(x, c)?),
                "collected" => collected = Some(x.parse_text(c, OscalDateTime::parse)?),
                "expires" => expires = Some(x.parse_text(c, OscalDateTime::parse)?),
                "remarks" => remarks = Some(x.markup_multi(c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        if methods.is_empty() {
            return Err(el.missing("method"));
        }
        Ok(Observation {
            uuid,
            title,
            description: required(description, &el, "description")?,
            props,
            links,
            methods,
            types,
            origins,
            subjects,
            relevant_evidence: evidence,
            collected: required(collected, &el, "collected")?,
            expires,
            remarks,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let uuid = self.uuid.to_string();
        w.open(name, &[("uuid", Some(&uuid))]);
        w.markup_line_opt("title", self.title.as_ref());
        w.markup_multi("description", &self.description);
        write_all(w, "prop", &self.props);
        write_all(w, "link", &self.links);
        w.leaves("method", &self.methods);
        w.leaves("type", &self.types);
        write_all(w, "origin", &self.origins);
        write_all(w, "subject", &self.subjects);
        write_all(w, "relevant-evidence", &self.relevant_evidence);
        w.leaf("collected", &[], &self.collected.to_string());
        if let Some(e) = &self.expires {
            w.leaf("expires", &[], &e.to_string());
        }
        w.markup_multi_opt("remarks", self.remarks.as_ref());
        w.close(name);
    }
}

/// What was looked at (a component, a user …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SubjectReference {
    pub subject_uuid: OscalUuid,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<MarkupLine>,
}

impl XmlNode for SubjectReference {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let subject_uuid = el.parse("subject-uuid", OscalUuid::parse)?;
        let kind = el.req("type")?;
        let mut title = None;
        x.children(&el, |x, c| match c.name.as_str() {
            "title" => {
                title = Some(x.markup_line(c)?);
                Ok(())
            }
            _ => x.skip(c),
        })?;
        Ok(SubjectReference {
            subject_uuid,
            kind,
            title,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let uuid = self.subject_uuid.to_string();
        let attrs = [
            ("subject-uuid", Some(uuid.as_str())),
            ("type", Some(self.kind.as_str())),
        ];
        match &self.title {
            None => w.empty(name, &attrs),
            Some(t) => {
                w.open(name, &attrs);
                w.markup_line("title", t);
                w.close(name);
            }
        }
    }
}

/// Evidence an observation points to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RelevantEvidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    pub description: MarkupMultiline,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
}

impl XmlNode for RelevantEvidence {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let href = el.opt("href");
        let mut description = None;
        let mut props = Vec::new();
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "description" => description = Some(x.markup_multi(c)?),
                "prop" => props.push(Prop::read_xml(x, c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        Ok(RelevantEvidence {
            href,
            description: required(description, &el, "description")?,
            props,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(name, &[("href", self.href.as_deref())]);
        w.markup_multi("description", &self.description);
        write_all(w, "prop", &self.props);
        w.close(name);
    }
}

/// An identified risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Risk {
    pub uuid: OscalUuid,
    pub title: MarkupLine,
    pub description: MarkupMultiline,
    pub statement: MarkupMultiline,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<Origin>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub threat_ids: Vec<ThreatId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub characterizations: Vec<Characterization>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mitigating_factors: Vec<MitigatingFactor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<OscalDateTime>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remediations: Vec<Response>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_observations: Vec<RelatedObservation>,
}

impl XmlNode for Risk {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let uuid = el.parse("uuid", OscalUuid::parse)?;
        let (mut title, mut description, mut statement, mut status, mut deadline) =
            (None, None, None, None, None);
        let (mut props, mut links, mut origins, mut threat_ids) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut characterizations, mut mitigating_factors, mut remediations, mut related) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        x.children(&el, |x, c| {
            if common(x, &c, &mut props, &mut links)? {
                return Ok(());
            }
            match c.name.as_str() {
                "title" => title = Some(x.markup_line(c)?),
                "description" => description = Some(x.markup_multi(c)?),
                "statement" => statement = Some(x.markup_multi(c)?),
                "status" => status = Some(x.parse_text(c, parse_string)?),
                "origin" => origins.push(Origin::read_xml(x, c)?),
                "threat-id" => threat_ids.push(ThreatId::read_xml(x, c)?),
                "characterization" => characterizations.push(Characterization::read_xml(x, c)?),
                "mitigating-factor" => mitigating_factors.push(MitigatingFactor::read_xml(x, c)?),
                "deadline" => deadline = Some(x.parse_text(c, OscalDateTime::parse)?),
                "response" => remediations.push(Response::read_xml(x, c)?),
                "related-observation" => related.push(RelatedObservation::read_xml(x, c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        Ok(Risk {
            uuid,
            title: required(title, &el, "title")?,
            description: required(description, &el, "description")?,
            statement: required(statement, &el, "statement")?,
            props,
            links,
            status: required(status, &el, "status")?,
            origins,
            threat_ids,
            characterizations,
            mitigating_factors,
            deadline,
            remediations,
            related_observations: related,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let uuid = self.uuid.to_string();
        w.open(name, &[("uuid", Some(&uuid))]);
        w.markup_line("title", &self.title);
        w.markup_multi("description", &self.description);
        w.markup_multi("statement", &self.statement);
        write_all(w, "prop", &self.props);
        write_all(w, "link", &self.links);
        w.leaf("status", &[], &self.status);
        write_all(w, "origin", &self.origins);
        write_all(w, "threat-id", &self.threat_ids);
        write_all(w, "characterization", &self.characterizations);
        write_all(w, "mitigating-factor", &self.mitigating_factors);
        if let Some(d) = &self.deadline {
            w.leaf("deadline", &[], &d.to_string());
        }
        write_all(w, "response", &self.remediations);
        write_all(w, "related-observation", &self.related_observations);
        w.close(name);
    }
}

/// A threat a risk is about, in some threat catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ThreatId {
    pub system: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    pub id: String,
}

impl XmlNode for ThreatId {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let system = el.req("system")?;
        let href = el.opt("href");
        let id = x.req_text(el)?;
        Ok(ThreatId { system, href, id })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.leaf(
            name,
            &[
                ("system", Some(&self.system)),
                ("href", self.href.as_deref()),
            ],
            &self.id,
        );
    }
}

/// A rating of a risk by one origin: likelihood, impact, risk level … as facets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Characterization {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    pub origin: Origin,
    pub facets: Vec<Facet>,
}

impl XmlNode for Characterization {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let (mut props, mut links, mut facets) = (Vec::new(), Vec::new(), Vec::new());
        let mut origin = None;
        x.children(&el, |x, c| {
            if common(x, &c, &mut props, &mut links)? {
                return Ok(());
            }
            match c.name.as_str() {
                "origin" => origin = Some(Origin::read_xml(x, c)?),
                "facet" => facets.push(Facet::read_xml(x, c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        if facets.is_empty() {
            return Err(el.missing("facet"));
        }
        Ok(Characterization {
            props,
            links,
            origin: required(origin, &el, "origin")?,
            facets,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(name, &[]);
        write_all(w, "prop", &self.props);
        write_all(w, "link", &self.links);
        self.origin.write_xml(w, "origin");
        write_all(w, "facet", &self.facets);
        w.close(name);
    }
}

/// One rated characteristic: `name` (likelihood, impact, risk …) on the scale `system`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Facet {
    pub name: String,
    pub system: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<MarkupMultiline>,
}

impl XmlNode for Facet {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let mut f = Facet {
            name: el.req("name")?,
            system: el.req("system")?,
            value: el.req("value")?,
            props: Vec::new(),
            remarks: None,
        };
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "prop" => f.props.push(Prop::read_xml(x, c)?),
                "remarks" => f.remarks = Some(x.markup_multi(c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        Ok(f)
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let attrs = [
            ("name", Some(self.name.as_str())),
            ("value", Some(self.value.as_str())),
            ("system", Some(self.system.as_str())),
        ];
        if self.props.is_empty() && self.remarks.is_none() {
            w.empty(name, &attrs);
        } else {
            w.open(name, &attrs);
            write_all(w, "prop", &self.props);
            w.markup_multi_opt("remarks", self.remarks.as_ref());
            w.close(name);
        }
    }
}

/// Something that reduces a risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct MitigatingFactor {
    pub uuid: OscalUuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation_uuid: Option<OscalUuid>,
    pub description: MarkupMultiline,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
}

impl XmlNode for MitigatingFactor {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let uuid = el.parse("uuid", OscalUuid::parse)?;
        let implementation_uuid = el.parse_opt("implementation-uuid", OscalUuid::parse)?;
        let mut description = None;
        let mut props = Vec::new();
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "description" => description = Some(x.markup_multi(c)?),
                "prop" => props.push(Prop::read_xml(x, c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        Ok(MitigatingFactor {
            uuid,
            implementation_uuid,
            description: required(description, &el, "description")?,
            props,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let uuid = self.uuid.to_string();
        let imp = self.implementation_uuid.map(|u| u.to_string());
        w.open(
            name,
            &[
                ("uuid", Some(&uuid)),
                ("implementation-uuid", imp.as_deref()),
            ],
        );
        w.markup_multi("description", &self.description);
        write_all(w, "prop", &self.props);
        w.close(name);
    }
}

/// A response to a risk (`remediations` in JSON, `<response>` in XML).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Response {
    pub uuid: OscalUuid,
    pub lifecycle: String,
    pub title: MarkupLine,
    pub description: MarkupMultiline,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<Origin>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Task>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<MarkupMultiline>,
}

impl XmlNode for Response {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let uuid = el.parse("uuid", OscalUuid::parse)?;
        let lifecycle = el.req("lifecycle")?;
        let (mut title, mut description, mut remarks) = (None, None, None);
        let (mut props, mut links, mut origins, mut tasks) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        x.children(&el, |x, c| {
            if common(x, &c, &mut props, &mut links)? {
                return Ok(());
            }
            match c.name.as_str() {
                "title" => title = Some(x.markup_line(c)?),
                "description" => description = Some(x.markup_multi(c)?),
                "origin" => origins.push(Origin::read_xml(x, c)?),
                "task" => tasks.push(Task::read_xml(x, c)?),
                "remarks" => remarks = Some(x.markup_multi(c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        Ok(Response {
            uuid,
            lifecycle,
            title: required(title, &el, "title")?,
            description: required(description, &el, "description")?,
            props,
            links,
            origins,
            tasks,
            remarks,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let uuid = self.uuid.to_string();
        w.open(
            name,
            &[("uuid", Some(&uuid)), ("lifecycle", Some(&self.lifecycle))],
        );
        w.markup_line("title", &self.title);
        w.markup_multi("description", &self.description);
        write_all(w, "prop", &self.props);
        write_all(w, "link", &self.links);
        write_all(w, "origin", &self.origins);
        write_all(w, "task", &self.tasks);
        w.markup_multi_opt("remarks", self.remarks.as_ref());
        w.close(name);
    }
}

/// A task of a response (a milestone, an action).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Task {
    pub uuid: OscalUuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: MarkupLine,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<MarkupMultiline>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<Timing>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Task>,
}

impl XmlNode for Task {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let uuid = el.parse("uuid", OscalUuid::parse)?;
        let kind = el.req("type")?;
        let (mut title, mut description, mut timing) = (None, None, None);
        let (mut props, mut tasks) = (Vec::new(), Vec::new());
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "title" => title = Some(x.markup_line(c)?),
                "description" => description = Some(x.markup_multi(c)?),
                "prop" => props.push(Prop::read_xml(x, c)?),
                "timing" => timing = Some(Timing::read_xml(x, c)?),
                "task" => tasks.push(Task::read_xml(x, c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        Ok(Task {
            uuid,
            kind,
            title: required(title, &el, "title")?,
            description,
            props,
            timing,
            tasks,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let uuid = self.uuid.to_string();
        w.open(name, &[("uuid", Some(&uuid)), ("type", Some(&self.kind))]);
        w.markup_line("title", &self.title);
        w.markup_multi_opt("description", self.description.as_ref());
        write_all(w, "prop", &self.props);
        if let Some(t) = &self.timing {
            t.write_xml(w, "timing");
        }
        write_all(w, "task", &self.tasks);
        w.close(name);
    }
}

/// When a task happens: on a date, within a range, or at a frequency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Timing {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_date: Option<OnDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_date_range: Option<DateRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_frequency: Option<Frequency>,
}

/// `on-date`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnDate {
    pub date: OscalDateTime,
}

/// `within-date-range`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    pub start: OscalDateTime,
    pub end: OscalDateTime,
}

/// `at-frequency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frequency {
    pub period: u32,
    pub unit: String,
}

impl XmlNode for Timing {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let mut t = Timing {
            on_date: None,
            within_date_range: None,
            at_frequency: None,
        };
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "on-date" => {
                    t.on_date = Some(OnDate {
                        date: c.parse("date", OscalDateTime::parse)?,
                    });
                }
                "within-date-range" => {
                    t.within_date_range = Some(DateRange {
                        start: c.parse("start", OscalDateTime::parse)?,
                        end: c.parse("end", OscalDateTime::parse)?,
                    });
                }
                "at-frequency" => {
                    t.at_frequency = Some(Frequency {
                        period: c.parse("period", |s| {
                            s.parse::<u32>()
                                .map_err(|_| format!("{s:?} is not a positive integer"))
                        })?,
                        unit: c.req("unit")?,
                    });
                }
                _ => {}
            }
            x.skip(c)
        })?;
        Ok(t)
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(name, &[]);
        if let Some(d) = &self.on_date {
            w.empty("on-date", &[("date", Some(&d.date.to_string()))]);
        }
        if let Some(r) = &self.within_date_range {
            let (s, e) = (r.start.to_string(), r.end.to_string());
            w.empty(
                "within-date-range",
                &[("start", Some(&s)), ("end", Some(&e))],
            );
        }
        if let Some(f) = &self.at_frequency {
            let p = f.period.to_string();
            w.empty(
                "at-frequency",
                &[("period", Some(&p)), ("unit", Some(&f.unit))],
            );
        }
        w.close(name);
    }
}

/// A conclusion of an assessment about one objective or statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Finding {
    pub uuid: OscalUuid,
    pub title: MarkupLine,
    pub description: MarkupMultiline,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<Origin>,
    pub target: FindingTarget,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation_statement_uuid: Option<OscalUuid>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_observations: Vec<RelatedObservation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_risks: Vec<RelatedRisk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<MarkupMultiline>,
}

impl XmlNode for Finding {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let uuid = el.parse("uuid", OscalUuid::parse)?;
        let (mut title, mut description, mut target, mut impl_uuid, mut remarks) =
            (None, None, None, None, None);
        let (mut props, mut links, mut origins, mut observations, mut risks) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        x.children(&el, |x, c| {
            if common(x, &c, &mut props, &mut links)? {
                return Ok(());
            }
            match c.name.as_str() {
                "title" => title = Some(x.markup_line(c)?),
                "description" => description = Some(x.markup_multi(c)?),
                "origin" => origins.push(Origin::read_xml(x, c)?),
                "target" => target = Some(FindingTarget::read_xml(x, c)?),
                "implementation-statement-uuid" => {
                    impl_uuid = Some(x.parse_text(c, OscalUuid::parse)?)
                }
                "related-observation" => observations.push(RelatedObservation::read_xml(x, c)?),
                "associated-risk" => risks.push(RelatedRisk::read_xml(x, c)?),
                "remarks" => remarks = Some(x.markup_multi(c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        Ok(Finding {
            uuid,
            title: required(title, &el, "title")?,
            description: required(description, &el, "description")?,
            props,
            links,
            origins,
            target: required(target, &el, "target")?,
            implementation_statement_uuid: impl_uuid,
            related_observations: observations,
            related_risks: risks,
            remarks,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let uuid = self.uuid.to_string();
        w.open(name, &[("uuid", Some(&uuid))]);
        w.markup_line("title", &self.title);
        w.markup_multi("description", &self.description);
        write_all(w, "prop", &self.props);
        write_all(w, "link", &self.links);
        write_all(w, "origin", &self.origins);
        self.target.write_xml(w, "target");
        if let Some(u) = &self.implementation_statement_uuid {
            w.leaf("implementation-statement-uuid", &[], &u.to_string());
        }
        write_all(w, "related-observation", &self.related_observations);
        write_all(w, "associated-risk", &self.related_risks);
        w.markup_multi_opt("remarks", self.remarks.as_ref());
        w.close(name);
    }
}

/// What a finding is about and whether it is satisfied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FindingTarget {
    /// `objective-id` or `statement-id`.
    #[serde(rename = "type")]
    pub kind: String,
    pub target_id: Token,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<MarkupLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<MarkupMultiline>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    pub status: ObjectiveStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation_status: Option<ImplementationStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<MarkupMultiline>,
}

impl XmlNode for FindingTarget {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let kind = el.req("type")?;
        let target_id = el.parse("target-id", Token::parse)?;
        let (mut title, mut description, mut status, mut imp, mut remarks) =
            (None, None, None, None, None);
        let (mut props, mut links) = (Vec::new(), Vec::new());
        x.children(&el, |x, c| {
            if common(x, &c, &mut props, &mut links)? {
                return Ok(());
            }
            match c.name.as_str() {
                "title" => title = Some(x.markup_line(c)?),
                "description" => description = Some(x.markup_multi(c)?),
                "status" => status = Some(ObjectiveStatus::read_xml(x, c)?),
                "implementation-status" => imp = Some(ImplementationStatus::read_xml(x, c)?),
                "remarks" => remarks = Some(x.markup_multi(c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        Ok(FindingTarget {
            kind,
            target_id,
            title,
            description,
            props,
            links,
            status: required(status, &el, "status")?,
            implementation_status: imp,
            remarks,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(
            name,
            &[
                ("type", Some(&self.kind)),
                ("target-id", Some(self.target_id.as_str())),
            ],
        );
        w.markup_line_opt("title", self.title.as_ref());
        w.markup_multi_opt("description", self.description.as_ref());
        write_all(w, "prop", &self.props);
        write_all(w, "link", &self.links);
        self.status.write_xml(w, "status");
        if let Some(i) = &self.implementation_status {
            i.write_xml(w, "implementation-status");
        }
        w.markup_multi_opt("remarks", self.remarks.as_ref());
        w.close(name);
    }
}

/// `satisfied` or `not-satisfied`, with an optional reason (`pass`, `fail`, `other`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ObjectiveStatus {
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<MarkupMultiline>,
}

impl XmlNode for ObjectiveStatus {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let state = el.req("state")?;
        let reason = el.opt("reason");
        let mut remarks = None;
        x.children(&el, |x, c| match c.name.as_str() {
            "remarks" => {
                remarks = Some(x.markup_multi(c)?);
                Ok(())
            }
            _ => x.skip(c),
        })?;
        Ok(ObjectiveStatus {
            state,
            reason,
            remarks,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let attrs = [
            ("state", Some(self.state.as_str())),
            ("reason", self.reason.as_deref()),
        ];
        match &self.remarks {
            None => w.empty(name, &attrs),
            Some(r) => {
                w.open(name, &attrs);
                w.markup_multi("remarks", r);
                w.close(name);
            }
        }
    }
}

/// How far the target is implemented (`implemented`, `partial`, `not-applicable` …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ImplementationStatus {
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<MarkupMultiline>,
}

impl XmlNode for ImplementationStatus {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let state = el.req("state")?;
        let mut remarks = None;
        x.children(&el, |x, c| match c.name.as_str() {
            "remarks" => {
                remarks = Some(x.markup_multi(c)?);
                Ok(())
            }
            _ => x.skip(c),
        })?;
        Ok(ImplementationStatus { state, remarks })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let attrs = [("state", Some(self.state.as_str()))];
        match &self.remarks {
            None => w.empty(name, &attrs),
            Some(r) => {
                w.open(name, &attrs);
                w.markup_multi("remarks", r);
                w.close(name);
            }
        }
    }
}
