//! Catalogs (groups, controls, parameters, parts) and profiles (control selections).

use serde::{Deserialize, Serialize};

use super::{IncludeAll, Link, Metadata, OscalUuid, Prop, Token, XmlNode, parse_string, write_all};
use crate::markup::{MarkupLine, MarkupMultiline};
use crate::xml::{Elem, XmlIn, XmlOut, XmlResult, required};

/// A catalog: controls, optionally in (nested) groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Catalog {
    pub uuid: OscalUuid,
    pub metadata: Metadata,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<Param>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<Control>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Group>,
}

impl XmlNode for Catalog {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let uuid = el.parse("uuid", OscalUuid::parse)?;
        let mut metadata = None;
        let (mut params, mut controls, mut groups) = (Vec::new(), Vec::new(), Vec::new());
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "metadata" => metadata = Some(Metadata::read_xml(x, c)?),
                "param" => params.push(Param::read_xml(x, c)?),
                "control" => controls.push(Control::read_xml(x, c)?),
                "group" => groups.push(Group::read_xml(x, c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        Ok(Catalog {
            uuid,
            metadata: required(metadata, &el, "metadata")?,
            params,
            controls,
            groups,
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
        write_all(w, "param", &self.params);
        write_all(w, "control", &self.controls);
        write_all(w, "group", &self.groups);
        w.close(name);
    }
}

/// A group of controls (a family, a clause).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Group {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Token>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    pub title: MarkupLine,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<Param>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Group>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<Control>,
}

impl XmlNode for Group {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let id = el.parse_opt("id", Token::parse)?;
        let class = el.opt("class");
        let mut title = None;
        let mut g = Group {
            id,
            class,
            title: MarkupLine::default(),
            params: Vec::new(),
            props: Vec::new(),
            links: Vec::new(),
            parts: Vec::new(),
            groups: Vec::new(),
            controls: Vec::new(),
        };
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "title" => title = Some(x.markup_line(c)?),
                "param" => g.params.push(Param::read_xml(x, c)?),
                "prop" => g.props.push(Prop::read_xml(x, c)?),
                "link" => g.links.push(Link::read_xml(x, c)?),
                "part" => g.parts.push(Part::read_xml(x, c)?),
                "group" => g.groups.push(Group::read_xml(x, c)?),
                "control" => g.controls.push(Control::read_xml(x, c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        g.title = required(title, &el, "title")?;
        Ok(g)
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(
            name,
            &[
                ("id", self.id.as_ref().map(Token::as_str)),
                ("class", self.class.as_deref()),
            ],
        );
        w.markup_line("title", &self.title);
        write_all(w, "param", &self.params);
        write_all(w, "prop", &self.props);
        write_all(w, "link", &self.links);
        write_all(w, "part", &self.parts);
        write_all(w, "group", &self.groups);
        write_all(w, "control", &self.controls);
        w.close(name);
    }
}

/// A control; its enhancements are nested controls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Control {
    pub id: Token,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    pub title: MarkupLine,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<Param>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<Control>,
}

impl XmlNode for Control {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let mut c = Control {
            id: el.parse("id", Token::parse)?,
            class: el.opt("class"),
            title: MarkupLine::default(),
            params: Vec::new(),
            props: Vec::new(),
            links: Vec::new(),
            parts: Vec::new(),
            controls: Vec::new(),
        };
        let mut title = None;
        x.children(&el, |x, ch| {
            match ch.name.as_str() {
                "title" => title = Some(x.markup_line(ch)?),
                "param" => c.params.push(Param::read_xml(x, ch)?),
                "prop" => c.props.push(Prop::read_xml(x, ch)?),
                "link" => c.links.push(Link::read_xml(x, ch)?),
                "part" => c.parts.push(Part::read_xml(x, ch)?),
                "control" => c.controls.push(Control::read_xml(x, ch)?),
                _ => x.skip(ch)?,
            }
            Ok(())
        })?;
        c.title = required(title, &el, "title")?;
        Ok(c)
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(
            name,
            &[
                ("id", Some(self.id.as_str())),
                ("class", self.class.as_deref()),
            ],
        );
        w.markup_line("title", &self.title);
        write_all(w, "param", &self.params);
        write_all(w, "prop", &self.props);
        write_all(w, "link", &self.links);
        write_all(w, "part", &self.parts);
        write_all(w, "control", &self.controls);
        w.close(name);
    }
}

/// A parameter: a value the organisation fills in (`[Assignment: …]`) or chooses
/// (`[Selection: …]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Param {
    pub id: Token,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<MarkupLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<MarkupMultiline>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<Select>,
}

impl XmlNode for Param {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let mut p = Param {
            id: el.parse("id", Token::parse)?,
            class: el.opt("class"),
            props: Vec::new(),
            label: None,
            usage: None,
            values: Vec::new(),
            select: None,
        };
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "prop" => p.props.push(Prop::read_xml(x, c)?),
                "label" => p.label = Some(x.markup_line(c)?),
                "usage" => p.usage = Some(x.markup_multi(c)?),
                "value" => p.values.push(x.parse_text(c, parse_string)?),
                "select" => p.select = Some(Select::read_xml(x, c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        Ok(p)
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(
            name,
            &[
                ("id", Some(self.id.as_str())),
                ("class", self.class.as_deref()),
            ],
        );
        write_all(w, "prop", &self.props);
        w.markup_line_opt("label", self.label.as_ref());
        w.markup_multi_opt("usage", self.usage.as_ref());
        w.leaves("value", &self.values);
        if let Some(s) = &self.select {
            s.write_xml(w, "select");
        }
        w.close(name);
    }
}

/// The choices of a selection parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Select {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub how_many: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choice: Vec<MarkupLine>,
}

impl XmlNode for Select {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let how_many = el.opt("how-many");
        let mut choice = Vec::new();
        x.children(&el, |x, c| match c.name.as_str() {
            "choice" => {
                choice.push(x.markup_line(c)?);
                Ok(())
            }
            _ => x.skip(c),
        })?;
        Ok(Select { how_many, choice })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(name, &[("how-many", self.how_many.as_deref())]);
        for c in &self.choice {
            w.markup_line("choice", c);
        }
        w.close(name);
    }
}

/// A part of a control: its statement, guidance, objectives, items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Part {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Token>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<MarkupLine>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prose: Option<MarkupMultiline>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
}

impl Part {
    /// The value of an OSCAL property (no namespace, or OSCAL's own) by name.
    pub fn prop(&self, name: &str) -> Option<&str> {
        oscal_prop(&self.props, name)
    }
}

/// The value of an OSCAL-namespace property.
pub(crate) fn oscal_prop<'a>(props: &'a [Prop], name: &str) -> Option<&'a str> {
    props
        .iter()
        .find(|p| p.name.as_str() == name && p.ns.as_deref().is_none_or(|ns| ns == super::OSCAL_NS))
        .map(|p| p.value.as_str())
}

impl XmlNode for Part {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let mut p = Part {
            id: el.parse_opt("id", Token::parse)?,
            name: el.req("name")?,
            ns: el.opt("ns"),
            class: el.opt("class"),
            title: None,
            props: Vec::new(),
            prose: None,
            parts: Vec::new(),
            links: Vec::new(),
        };
        let mut prose = Vec::new();
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "title" => p.title = Some(x.markup_line(c)?),
                "prop" => p.props.push(Prop::read_xml(x, c)?),
                "part" => p.parts.push(Part::read_xml(x, c)?),
                "link" => p.links.push(Link::read_xml(x, c)?),
                // Prose is unwrapped in XML: its blocks sit among the other children.
                name if XmlIn::is_block(name) => x.block(c, &mut prose)?,
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        if !prose.is_empty() {
            p.prose = Some(MarkupMultiline(prose));
        }
        Ok(p)
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(
            name,
            &[
                ("id", self.id.as_ref().map(Token::as_str)),
                ("name", Some(&self.name)),
                ("ns", self.ns.as_deref()),
                ("class", self.class.as_deref()),
            ],
        );
        w.markup_line_opt("title", self.title.as_ref());
        write_all(w, "prop", &self.props);
        if let Some(p) = &self.prose {
            w.blocks(&p.0);
        }
        write_all(w, "part", &self.parts);
        write_all(w, "link", &self.links);
        w.close(name);
    }
}

// ---------------------------------------------------------------------------------------------
// Profiles

/// A profile: a selection of controls from catalogs (a baseline), with tailoring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Profile {
    pub uuid: OscalUuid,
    pub metadata: Metadata,
    pub imports: Vec<Import>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modify: Option<Modify>,
}

impl XmlNode for Profile {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let uuid = el.parse("uuid", OscalUuid::parse)?;
        let mut metadata = None;
        let mut imports = Vec::new();
        let mut modify = None;
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "metadata" => metadata = Some(Metadata::read_xml(x, c)?),
                "import" => imports.push(Import::read_xml(x, c)?),
                "modify" => modify = Some(Modify::read_xml(x, c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        if imports.is_empty() {
            return Err(el.missing("import"));
        }
        Ok(Profile {
            uuid,
            metadata: required(metadata, &el, "metadata")?,
            imports,
            modify,
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
        write_all(w, "import", &self.imports);
        if let Some(m) = &self.modify {
            m.write_xml(w, "modify");
        }
        w.close(name);
    }
}

/// One imported catalog or profile and the controls taken from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Import {
    pub href: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_all: Option<IncludeAll>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include_controls: Vec<Selection>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_controls: Vec<Selection>,
}

impl XmlNode for Import {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let mut i = Import {
            href: el.req("href")?,
            include_all: None,
            include_controls: Vec::new(),
            exclude_controls: Vec::new(),
        };
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "include-all" => {
                    x.skip(c)?;
                    i.include_all = Some(IncludeAll {});
                }
                "include-controls" => i.include_controls.push(Selection::read_xml(x, c)?),
                "exclude-controls" => i.exclude_controls.push(Selection::read_xml(x, c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        Ok(i)
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(name, &[("href", Some(&self.href))]);
        if self.include_all.is_some() {
            w.empty("include-all", &[]);
        }
        write_all(w, "include-controls", &self.include_controls);
        write_all(w, "exclude-controls", &self.exclude_controls);
        w.close(name);
    }
}

/// Controls selected by id or by pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Selection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_child_controls: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub with_ids: Vec<Token>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matching: Vec<Matching>,
}

impl XmlNode for Selection {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let mut s = Selection {
            with_child_controls: el.opt("with-child-controls"),
            with_ids: Vec::new(),
            matching: Vec::new(),
        };
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "with-id" => s.with_ids.push(x.parse_text(c, Token::parse)?),
                "matching" => s.matching.push(Matching::read_xml(x, c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        Ok(s)
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(
            name,
            &[("with-child-controls", self.with_child_controls.as_deref())],
        );
        for id in &self.with_ids {
            w.leaf("with-id", &[], id.as_str());
        }
        write_all(w, "matching", &self.matching);
        w.close(name);
    }
}

/// A glob over control ids (`ac-*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Matching {
    pub pattern: String,
}

impl XmlNode for Matching {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let pattern = el.req("pattern")?;
        x.skip(el)?;
        Ok(Matching { pattern })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.empty(name, &[("pattern", Some(&self.pattern))]);
    }
}

/// A profile's tailoring; parameter settings are read, alterations are not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Modify {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set_parameters: Vec<SetParameter>,
}

impl XmlNode for Modify {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let mut set_parameters = Vec::new();
        x.children(&el, |x, c| match c.name.as_str() {
            "set-parameter" => {
                set_parameters.push(SetParameter::read_xml(x, c)?);
                Ok(())
            }
            _ => x.skip(c),
        })?;
        Ok(Modify { set_parameters })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(name, &[]);
        write_all(w, "set-parameter", &self.set_parameters);
        w.close(name);
    }
}

/// A parameter value set by a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SetParameter {
    pub param_id: Token,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<MarkupLine>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<Select>,
}

impl XmlNode for SetParameter {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let mut s = SetParameter {
            param_id: el.parse("param-id", Token::parse)?,
            label: None,
            values: Vec::new(),
            select: None,
        };
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "label" => s.label = Some(x.markup_line(c)?),
                "value" => s.values.push(x.parse_text(c, parse_string)?),
                "select" => s.select = Some(Select::read_xml(x, c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        Ok(s)
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(name, &[("param-id", Some(self.param_id.as_str()))]);
        w.markup_line_opt("label", self.label.as_ref());
        w.leaves("value", &self.values);
        if let Some(s) = &self.select {
            s.write_xml(w, "select");
        }
        w.close(name);
    }
}
