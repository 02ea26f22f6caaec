//! The inputs of an action as data: each parameter's name, JSON type, whether it is required
//! and what it means. From them come the JSON Schema `GET /actions` shows, and the reading of
//! an input object into Lever's path, query and body.

use serde_json::{json, Map, Value};

use crate::error::ConnectorError;

/// A parameter's JSON type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    Text,
    /// `true` or `false`.
    Bool,
    /// An integer.
    Int,
    /// A time, Unix milliseconds.
    Millis,
    /// A list of strings.
    Texts,
    /// A JSON object, passed to Lever as it is.
    Object,
    /// A list of JSON objects, passed to Lever as it is.
    Objects,
    /// Any JSON value (`null` too), passed to Lever as it is.
    Any,
}

impl Kind {
    /// The JSON Schema of the type.
    pub fn schema(self) -> Value {
        match self {
            Kind::Text => json!({ "type": "string" }),
            Kind::Bool => json!({ "type": "boolean" }),
            Kind::Int => json!({ "type": "integer" }),
            Kind::Millis => json!({ "type": "integer", "minimum": 0, "format": "unix-ms" }),
            Kind::Texts => json!({ "type": "array", "items": { "type": "string" } }),
            Kind::Object => json!({ "type": "object" }),
            Kind::Objects => json!({ "type": "array", "items": { "type": "object" } }),
            Kind::Any => json!({}),
        }
    }

    /// Whether `value` has this type.
    pub fn accepts(self, value: &Value) -> bool {
        match self {
            Kind::Text => value.is_string(),
            Kind::Bool => value.is_boolean(),
            Kind::Int => value.is_i64() || value.is_u64(),
            Kind::Millis => value.is_u64(),
            Kind::Texts => value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string)),
            Kind::Object => value.is_object(),
            Kind::Objects => value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_object)),
            Kind::Any => true,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Text => "a string",
            Kind::Bool => "true or false",
            Kind::Int => "an integer",
            Kind::Millis => "Unix milliseconds",
            Kind::Texts => "a list of strings",
            Kind::Object => "an object",
            Kind::Objects => "a list of objects",
            Kind::Any => "any JSON value",
        }
    }
}

/// One input parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// Its name in the input object (Lever's own name for query and body parameters).
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Whether the input must have it.
    pub required: bool,
    /// What it means.
    pub doc: &'static str,
}

/// An optional parameter.
pub const fn opt(name: &'static str, kind: Kind, doc: &'static str) -> Param {
    Param {
        name,
        kind,
        required: false,
        doc,
    }
}

/// A required parameter.
pub const fn req(name: &'static str, kind: Kind, doc: &'static str) -> Param {
    Param {
        name,
        kind,
        required: true,
        doc,
    }
}

/// The JSON Schema of an object with these parameters (and no others).
pub fn object_schema<'a>(params: impl IntoIterator<Item = &'a Param>) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for param in params {
        let mut schema = param.kind.schema();
        if let Some(map) = schema.as_object_mut() {
            map.insert("description".into(), json!(param.doc));
        }
        properties.insert(param.name.to_string(), schema);
        if param.required {
            required.push(param.name);
        }
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// Checks `input` against `params`: an object with no unknown key, every required one, each
/// of its type. The error names what is wrong and what is allowed.
pub fn check<'a>(
    input: &'a Value,
    params: &[&Param],
) -> Result<&'a Map<String, Value>, ConnectorError> {
    let object = match input {
        Value::Object(object) => object,
        _ => {
            return Err(ConnectorError::InvalidInput(
                "the input must be a JSON object".into(),
            ))
        }
    };
    for key in object.keys() {
        if !params.iter().any(|p| p.name == key) {
            let known: Vec<&str> = params.iter().map(|p| p.name).collect();
            return Err(ConnectorError::InvalidInput(format!(
                "unknown field {key:?}; this action takes {}",
                if known.is_empty() {
                    "no input".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    for param in params {
        match object.get(param.name) {
            None | Some(Value::Null) if param.required => {
                return Err(ConnectorError::InvalidInput(format!(
                    "{} is required",
                    param.name
                )))
            }
            None | Some(Value::Null) => {}
            Some(value) if !param.kind.accepts(value) => {
                return Err(ConnectorError::InvalidInput(format!(
                    "{} must be {}",
                    param.name,
                    param.kind.name()
                )))
            }
            Some(Value::String(text)) if param.required && text.trim().is_empty() => {
                return Err(ConnectorError::InvalidInput(format!(
                    "{} must not be empty",
                    param.name
                )))
            }
            Some(_) => {}
        }
    }
    Ok(object)
}

/// A query parameter's value(s) as text: a list repeats the key.
pub fn query_values(value: &Value) -> Vec<String> {
    match value {
        Value::Null => Vec::new(),
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items.iter().flat_map(query_values).collect(),
        other => vec![other.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: [Param; 3] = [
        req("opportunityId", Kind::Text, "the opportunity"),
        opt("tags", Kind::Texts, "tags"),
        opt("secret", Kind::Bool, "hidden"),
    ];

    fn params() -> Vec<&'static Param> {
        PARAMS.iter().collect()
    }

    #[test]
    fn inputs_are_checked_against_their_parameters() {
        assert!(check(&json!({ "opportunityId": "o1", "tags": ["a"] }), &params()).is_ok());
        let errors = [
            (json!([]), "must be a JSON object"),
            (json!({}), "opportunityId is required"),
            (json!({ "opportunityId": " " }), "must not be empty"),
            (
                json!({ "opportunityId": "o", "tags": "a" }),
                "tags must be a list",
            ),
            (
                json!({ "opportunityId": "o", "colour": 1 }),
                "unknown field \"colour\"",
            ),
        ];
        for (input, expected) in errors {
            let error = check(&input, &params()).unwrap_err().to_string();
            assert!(error.contains(expected), "{input}: {error}");
        }
    }

    #[test]
    fn the_schema_lists_every_parameter_and_the_required_ones() {
        let schema = object_schema(PARAMS.iter());
        assert_eq!(schema["required"], json!(["opportunityId"]));
        assert_eq!(schema["properties"]["tags"]["items"]["type"], "string");
        assert_eq!(schema["additionalProperties"], false);
    }

    #[test]
    fn lists_repeat_the_query_key() {
        assert_eq!(query_values(&json!(["a", "b"])), ["a", "b"]);
        assert_eq!(query_values(&json!(true)), ["true"]);
        assert_eq!(query_values(&json!(17)), ["17"]);
    }
}
