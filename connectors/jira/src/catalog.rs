//! The site's fields (`GET /rest/api/3/field`): custom fields are `customfield_NNNNN` in every
//! answer, so names given in the configuration are resolved here, and ids are shown by name in
//! `extra` and in error messages.

use std::collections::HashMap;

use serde_json::Value;

/// How a field's value is shaped, after its `schema` in the field list. Decides how a value is
/// read, and whether and how it can be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Single-line text: a string.
    Text,
    /// Multi-line text (description, environment, text area custom fields): an ADF document
    /// in API v3.
    Rich,
    Number,
    /// `YYYY-MM-DD`.
    Date,
    /// A timestamp (read only).
    DateTime,
    /// A select list: `{"value": …}`.
    Option,
    /// The system priority: `{"name": …}`.
    Priority,
    /// A user: `{"accountId", "displayName"}` (read only: writing needs account ids).
    User,
    /// Anything else (arrays, cascading selects, app fields): read as text, never written.
    Other,
}

impl FieldType {
    /// Reads the `schema` of a field-list entry.
    pub fn from_schema(schema: Option<&Value>) -> FieldType {
        let Some(schema) = schema else {
            return FieldType::Other;
        };
        let text = |key: &str| schema.get(key).and_then(Value::as_str).unwrap_or("");
        match text("type") {
            "string" if text("custom").ends_with(":textarea") => FieldType::Rich,
            "string" if matches!(text("system"), "description" | "environment") => FieldType::Rich,
            "string" => FieldType::Text,
            "number" => FieldType::Number,
            "date" => FieldType::Date,
            "datetime" => FieldType::DateTime,
            "option" => FieldType::Option,
            "priority" => FieldType::Priority,
            "user" => FieldType::User,
            _ => FieldType::Other,
        }
    }

    /// Whether the connector can write a value of this type.
    pub fn writable(self) -> bool {
        matches!(
            self,
            FieldType::Text
                | FieldType::Rich
                | FieldType::Number
                | FieldType::Date
                | FieldType::Option
                | FieldType::Priority
        )
    }

    /// For messages: `a number field`.
    pub fn describe(self) -> &'static str {
        match self {
            FieldType::Text => "a single-line text field",
            FieldType::Rich => "a multi-line text field",
            FieldType::Number => "a number field",
            FieldType::Date => "a date field",
            FieldType::DateTime => "a date-time field",
            FieldType::Option => "a select list",
            FieldType::Priority => "the priority field",
            FieldType::User => "a user field",
            FieldType::Other => "a field of a type the connector does not write",
        }
    }
}

/// One field of the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    /// `summary`, `duedate`, `customfield_10050` …
    pub id: String,
    /// As Jira shows it: `Due date`, `Likelihood`.
    pub name: String,
    pub ty: FieldType,
}

impl FieldDef {
    /// `Likelihood (customfield_10050)`, or the name alone for system fields.
    pub fn describe(&self) -> String {
        if self.id.starts_with("customfield_") {
            format!("{} ({})", self.name, self.id)
        } else {
            self.name.clone()
        }
    }

    /// The field as JQL names it: `cf[10050]` for custom fields (names can repeat, ids
    /// cannot), the id for system fields.
    pub fn jql_name(&self) -> String {
        match self.id.strip_prefix("customfield_") {
            Some(number) => format!("cf[{number}]"),
            None => self.id.clone(),
        }
    }
}

/// Every field of the site.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    fields: Vec<FieldDef>,
    by_id: HashMap<String, usize>,
    /// How many fields carry each (lower-cased) name.
    name_count: HashMap<String, usize>,
}

impl Catalog {
    /// Reads the answer to `GET /rest/api/3/field` (an array of `{id, name, schema}`).
    pub fn from_api(value: &Value) -> Result<Catalog, String> {
        let items = value
            .as_array()
            .ok_or("the field list is not a JSON array")?;
        let fields = items
            .iter()
            .filter_map(|item| {
                let id = item.get("id")?.as_str()?.to_string();
                let name = item
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(&id)
                    .trim()
                    .to_string();
                Some(FieldDef {
                    ty: FieldType::from_schema(item.get("schema")),
                    id,
                    name,
                })
            })
            .collect();
        Ok(Catalog::new(fields))
    }

    pub fn new(fields: Vec<FieldDef>) -> Catalog {
        let by_id = fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id.clone(), i))
            .collect();
        let mut name_count = HashMap::new();
        for f in &fields {
            *name_count.entry(f.name.to_lowercase()).or_insert(0) += 1;
        }
        Catalog {
            fields,
            by_id,
            name_count,
        }
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&FieldDef> {
        self.by_id.get(id).and_then(|i| self.fields.get(*i))
    }

    /// The field a configured name or id stands for. An id wins; a name matches regardless of
    /// case. No match, or several fields of that name, is an error naming the candidates.
    pub fn resolve(&self, wanted: &str) -> Result<&FieldDef, String> {
        let wanted = wanted.trim();
        if let Some(field) = self.get(wanted) {
            return Ok(field);
        }
        let lower = wanted.to_lowercase();
        let matches: Vec<&FieldDef> = self
            .fields
            .iter()
            .filter(|f| f.name.to_lowercase() == lower)
            .collect();
        match matches.as_slice() {
            [one] => Ok(one),
            [] => {
                let similar: Vec<String> = self
                    .fields
                    .iter()
                    .filter(|f| {
                        let name = f.name.to_lowercase();
                        name.contains(&lower) || (!name.is_empty() && lower.contains(&name))
                    })
                    .take(5)
                    .map(FieldDef::describe)
                    .collect();
                let hint = if similar.is_empty() {
                    String::new()
                } else {
                    format!(" (similar: {})", similar.join(", "))
                };
                Err(format!(
                    "no Jira field is named \"{wanted}\"{hint}; give the name as Jira shows it, \
                     or the field id (customfield_NNNNN)"
                ))
            }
            several => Err(format!(
                "{} Jira fields are named \"{wanted}\": {}; give the id of the one to use",
                several.len(),
                several
                    .iter()
                    .map(|f| f.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// How `extra` and messages name a field: its name, with the id when another field shares
    /// the name; the id alone for a field the list does not know.
    pub fn label(&self, id: &str) -> String {
        match self.get(id) {
            Some(f) if self.name_count.get(&f.name.to_lowercase()).copied() == Some(1) => {
                f.name.clone()
            }
            Some(f) => format!("{} ({})", f.name, f.id),
            None => id.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn resolves_by_id_or_name_and_refuses_unknown_or_ambiguous_names() {
        let catalog = Catalog::from_api(&json!([
            {"id": "duedate", "name": "Due date", "schema": {"type": "date", "system": "duedate"}},
            {"id": "description", "name": "Description", "schema": {"type": "string", "system": "description"}},
            {"id": "customfield_10050", "name": "Likelihood", "schema": {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"}},
            {"id": "customfield_10051", "name": "Root cause", "schema": {"type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textarea"}},
            {"id": "customfield_10060", "name": "Risk", "schema": {"type": "option"}},
            {"id": "customfield_10061", "name": "risk", "schema": {"type": "array", "items": "string"}},
            {"name": "no id"},
        ]))
        .unwrap();
        assert_eq!(catalog.len(), 6);
        assert_eq!(catalog.resolve("duedate").unwrap().ty, FieldType::Date);
        assert_eq!(
            catalog.resolve(" likelihood ").unwrap().id,
            "customfield_10050"
        );
        assert_eq!(catalog.resolve("Root cause").unwrap().ty, FieldType::Rich);
        assert_eq!(catalog.resolve("Description").unwrap().ty, FieldType::Rich);
        assert_eq!(
            catalog.resolve("customfield_10061").unwrap().ty,
            FieldType::Other
        );
        let err = catalog.resolve("Likelyhood").unwrap_err();
        assert!(
            err.contains("\"Likelyhood\"") && err.contains("customfield_NNNNN"),
            "{err}"
        );
        let err = catalog.resolve("Likeli").unwrap_err();
        assert!(
            err.contains("similar: Likelihood (customfield_10050)"),
            "{err}"
        );
        let err = catalog.resolve("Risk").unwrap_err();
        assert!(
            err.starts_with("2 Jira fields")
                && err.contains("customfield_10060, customfield_10061"),
            "{err}"
        );
        assert_eq!(catalog.label("customfield_10050"), "Likelihood");
        assert_eq!(
            catalog.label("customfield_10060"),
            "Risk (customfield_10060)"
        );
        assert_eq!(catalog.label("customfield_99"), "customfield_99");
        assert_eq!(
            catalog.resolve("Likelihood").unwrap().jql_name(),
            "cf[10050]"
        );
        assert!(Catalog::from_api(&json!({"errorMessages": []})).is_err());
    }
}
