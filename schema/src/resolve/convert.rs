//! Upstream JSON to GraphQL values, checked against the field's declared type: a value of
//! the wrong type is an error naming the service, never a panic or a silent wrong value.

use async_graphql::{
    Name, Value as GqlValue,
    dynamic::FieldValue,
    parser::types::{BaseType, Type},
};
use serde_json::Value;

use crate::model::{Graph, SourceName};

/// An object as the resolvers of its fields see it: its JSON and the service it came from.
#[derive(Debug, Clone)]
pub struct Node {
    pub json: Value,
    pub source: SourceName,
}

/// What about a value does not fit its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("null for a non-null {0}")]
    Null(String),
    #[error("{found} where a {expected} was expected")]
    Mismatch {
        expected: String,
        found: &'static str,
    },
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

fn mismatch(expected: &str, value: &Value) -> ConvertError {
    ConvertError::Mismatch {
        expected: expected.to_owned(),
        found: kind(value),
    }
}

/// Converts `value` to a field value of type `ty`. `None` is GraphQL null.
pub fn to_field_value(
    value: &Value,
    ty: &Type,
    graph: &Graph,
    source: &SourceName,
) -> Result<Option<FieldValue<'static>>, ConvertError> {
    if value.is_null() {
        return if ty.nullable {
            Ok(None)
        } else {
            Err(ConvertError::Null(ty.to_string()))
        };
    }
    match &ty.base {
        BaseType::List(inner) => {
            let Value::Array(items) = value else {
                return Err(mismatch(&ty.to_string(), value));
            };
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(to_field_value(item, inner, graph, source)?.unwrap_or(FieldValue::NULL));
            }
            Ok(Some(FieldValue::list(out)))
        }
        BaseType::Named(name) => named(value, name, graph, source).map(Some),
    }
}

fn named(
    value: &Value,
    name: &Name,
    graph: &Graph,
    source: &SourceName,
) -> Result<FieldValue<'static>, ConvertError> {
    let scalar = |v: GqlValue| Ok(FieldValue::value(v));
    match (name.as_str(), value) {
        ("String", Value::String(s)) => scalar(GqlValue::String(s.clone())),
        ("ID", Value::String(s)) => scalar(GqlValue::String(s.clone())),
        ("ID", Value::Number(n)) if n.is_i64() || n.is_u64() => {
            scalar(GqlValue::String(n.to_string()))
        }
        ("Boolean", Value::Bool(b)) => scalar(GqlValue::Boolean(*b)),
        ("Int", Value::Number(n)) => match n.as_i64().and_then(|i| i32::try_from(i).ok()) {
            Some(i) => scalar(GqlValue::from(i)),
            None => Err(mismatch("Int (32-bit integer)", value)),
        },
        ("Float", Value::Number(n)) => match n.as_f64() {
            Some(f) => scalar(GqlValue::from(f)),
            None => Err(mismatch("Float", value)),
        },
        ("String" | "ID" | "Boolean" | "Int" | "Float", _) => Err(mismatch(name, value)),
        (other, _) => {
            if let Some(spec) = graph.enums.get(other) {
                match value {
                    Value::String(s) if spec.values.iter().any(|v| v == s) => {
                        scalar(GqlValue::Enum(Name::new(s)))
                    }
                    _ => Err(ConvertError::Mismatch {
                        expected: format!("{other} value"),
                        found: kind(value),
                    }),
                }
            } else if graph.scalars.contains_key(other) {
                GqlValue::from_json(value.clone())
                    .map(FieldValue::value)
                    .map_err(|_| mismatch(other, value))
            } else if value.is_object() {
                Ok(FieldValue::owned_any(Node {
                    json: value.clone(),
                    source: source.clone(),
                }))
            } else {
                Err(mismatch(other, value))
            }
        }
    }
}
