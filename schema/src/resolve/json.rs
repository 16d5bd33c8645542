//! Small JSON helpers shared by the resolvers and the loader.

use serde_json::Value;

static NULL: Value = Value::Null;

/// The value at `path` (object keys), or null when any step is missing.
pub fn get_path<'a>(value: &'a Value, path: &[String]) -> &'a Value {
    path.iter()
        .try_fold(value, |current, key| current.get(key.as_str()))
        .unwrap_or(&NULL)
}

/// A JSON value as template text: strings as they are, other scalars as JSON, null absent.
pub fn json_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(json_text)
                .collect::<Vec<_>>()
                .join(","),
        ),
        Value::Object(_) => Some(value.to_string()),
    }
}

/// A GraphQL argument value as template text; lists are comma-separated.
pub fn graphql_text(value: &async_graphql::Value) -> Option<String> {
    use async_graphql::Value as V;
    match value {
        V::Null => None,
        V::String(s) => Some(s.clone()),
        V::Number(n) => Some(n.to_string()),
        V::Boolean(b) => Some(b.to_string()),
        V::Enum(e) => Some(e.to_string()),
        V::List(items) => Some(
            items
                .iter()
                .filter_map(graphql_text)
                .collect::<Vec<_>>()
                .join(","),
        ),
        V::Object(_) | V::Binary(_) => value.clone().into_json().ok().map(|v| v.to_string()),
    }
}

/// The GraphQL value at `path` inside an argument.
pub fn graphql_path<'a>(
    value: &'a async_graphql::Value,
    path: &[String],
) -> Option<&'a async_graphql::Value> {
    path.iter().try_fold(value, |current, key| match current {
        async_graphql::Value::Object(fields) => fields.get(key.as_str()),
        _ => None,
    })
}
