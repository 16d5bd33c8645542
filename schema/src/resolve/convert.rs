//! Upstream JSON to GraphQL values, checked against the field's declared type: a value of
//! the wrong type is an error naming the service, never a panic or a silent wrong value.

use std::{borrow::Cow, sync::Arc};

use async_graphql::{
    Name, Value as GqlValue,
    dynamic::FieldValue,
    parser::types::{BaseType, Type},
};
use serde_json::Value;

use super::{entities::Entities, json::get_path};
use crate::{
    fetch::loader::key_text,
    model::{Graph, SourceName},
};

/// One step from a value into a child: an object key or a list index.
#[derive(Debug, Clone)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A place inside an upstream response: the response, shared and never copied, and the
/// steps that lead to the value. Objects handed to child resolvers are places, so that a
/// list of 250 orders costs 250 small step lists, not 250 deep copies of JSON.
#[derive(Debug, Clone)]
pub struct Loc {
    root: Arc<Value>,
    steps: Vec<Step>,
}

impl Loc {
    pub fn new(root: Arc<Value>) -> Self {
        Loc {
            root,
            steps: Vec::new(),
        }
    }

    /// The value at this place; null when the response has nothing there.
    pub fn value(&self) -> &Value {
        self.steps
            .iter()
            .try_fold(self.root.as_ref(), |current, step| match step {
                Step::Key(key) => current.get(key.as_str()),
                Step::Index(index) => current.get(index),
            })
            .unwrap_or(&Value::Null)
    }

    /// The place `path` (object keys) below this one.
    pub fn join(&self, path: &[String]) -> Loc {
        let mut steps = Vec::with_capacity(self.steps.len() + path.len());
        steps.extend(self.steps.iter().cloned());
        steps.extend(path.iter().map(|key| Step::Key(key.clone())));
        Loc {
            root: self.root.clone(),
            steps,
        }
    }

    /// The item `index` of the list at this place.
    pub fn item(&self, index: usize) -> Loc {
        let mut steps = Vec::with_capacity(self.steps.len() + 1);
        steps.extend(self.steps.iter().cloned());
        steps.push(Step::Index(index));
        Loc {
            root: self.root.clone(),
            steps,
        }
    }
}

/// An object as the resolvers of its fields see it: where its JSON is, and the service it
/// came from.
#[derive(Debug, Clone)]
pub struct Node {
    pub loc: Loc,
    pub source: SourceName,
}

impl Node {
    pub fn json(&self) -> &Value {
        self.loc.value()
    }
}

/// Where a value being converted sits, built into a [`Loc`] only when an object needs it.
#[derive(Clone, Copy)]
pub enum At<'a> {
    Loc(&'a Loc),
    /// The keys `path` below a place.
    Below(&'a Loc, &'a [String]),
    /// An item of a list.
    Item(&'a At<'a>, usize),
}

impl At<'_> {
    fn loc(&self) -> Loc {
        match self {
            At::Loc(loc) => (*loc).clone(),
            At::Below(loc, path) => loc.join(path),
            At::Item(list, index) => list.loc().item(*index),
        }
    }
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

pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

pub fn mismatch(expected: &str, value: &Value) -> ConvertError {
    ConvertError::Mismatch {
        expected: expected.to_owned(),
        found: kind(value),
    }
}

/// Where converted values go: the graph they are typed by, the service they came from,
/// and the request's entities, in which each entity object is recorded.
pub struct Target<'a> {
    pub graph: &'a Graph,
    pub source: &'a SourceName,
    pub entities: &'a Entities,
    /// The conversion of the field's scalar or enum type, when it is one.
    pub leaf: Option<&'a Leaf>,
}

/// Converts `value`, found at `at`, to a field value of type `ty`. `None` is GraphQL null.
pub fn to_field_value(
    value: &Value,
    at: At<'_>,
    ty: &Type,
    target: &Target<'_>,
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
            for (index, item) in items.iter().enumerate() {
                let at = At::Item(&at, index);
                out.push(to_field_value(item, at, inner, target)?.unwrap_or(FieldValue::NULL));
            }
            Ok(Some(FieldValue::list(out)))
        }
        BaseType::Named(name) => named(value, at, name, target).map(Some),
    }
}

fn named(
    value: &Value,
    at: At<'_>,
    name: &Name,
    target: &Target<'_>,
) -> Result<FieldValue<'static>, ConvertError> {
    let graph = target.graph;
    let leaf = match target.leaf {
        Some(leaf) => Some(Cow::Borrowed(leaf)),
        None => Leaf::of(name, graph).map(Cow::Owned),
    };
    if let Some(leaf) = leaf {
        return leaf.convert(value).map(FieldValue::value);
    }
    if !value.is_object() {
        return Err(mismatch(name, value));
    }
    let node = Node {
        loc: at.loc(),
        source: target.source.clone(),
    };
    let entity = graph
        .objects
        .get(name.as_str())
        .and_then(|o| o.entity.as_ref());
    if let Some(key) = entity.and_then(|e| key_text(get_path(value, &e.key_path))) {
        target.entities.insert(name, key, &node);
    }
    Ok(FieldValue::owned_any(node))
}

/// How a scalar or enum type's values are converted, decided once per field when the
/// schema is built: a field's values then cost no type-name matching or lookup each.
#[derive(Debug, Clone, PartialEq)]
pub enum Leaf {
    String,
    Id,
    Boolean,
    Int,
    Float,
    /// An enum: its name, and its values as GraphQL names.
    Enum {
        name: String,
        values: Vec<Name>,
    },
    /// A custom scalar: any JSON passes.
    Custom(String),
}

impl Leaf {
    /// The conversion of type `name`; `None` when it is an object type.
    pub fn of(name: &str, graph: &Graph) -> Option<Leaf> {
        Some(match name {
            "String" => Leaf::String,
            "ID" => Leaf::Id,
            "Boolean" => Leaf::Boolean,
            "Int" => Leaf::Int,
            "Float" => Leaf::Float,
            other => {
                if let Some(spec) = graph.enums.get(other) {
                    Leaf::Enum {
                        name: other.to_owned(),
                        values: spec.values.iter().map(Name::new).collect(),
                    }
                } else if graph.scalars.contains_key(other) {
                    Leaf::Custom(other.to_owned())
                } else {
                    return None;
                }
            }
        })
    }

    /// `value` (not null: the caller has checked) as a value of this type.
    pub fn convert(&self, value: &Value) -> Result<GqlValue, ConvertError> {
        match (self, value) {
            (Leaf::String | Leaf::Id, Value::String(s)) => Ok(GqlValue::String(s.clone())),
            (Leaf::Id, Value::Number(n)) if n.is_i64() || n.is_u64() => {
                Ok(GqlValue::String(n.to_string()))
            }
            (Leaf::Boolean, Value::Bool(b)) => Ok(GqlValue::Boolean(*b)),
            (Leaf::Int, Value::Number(n)) => match n.as_i64().and_then(|i| i32::try_from(i).ok()) {
                Some(i) => Ok(GqlValue::from(i)),
                None => Err(mismatch("Int (32-bit integer)", value)),
            },
            (Leaf::Float, Value::Number(n)) => match n.as_f64() {
                Some(f) => Ok(GqlValue::from(f)),
                None => Err(mismatch("Float", value)),
            },
            (Leaf::String, _) => Err(mismatch("String", value)),
            (Leaf::Id, _) => Err(mismatch("ID", value)),
            (Leaf::Boolean, _) => Err(mismatch("Boolean", value)),
            (Leaf::Int, _) => Err(mismatch("Int", value)),
            (Leaf::Float, _) => Err(mismatch("Float", value)),
            (Leaf::Enum { name, values }, _) => {
                let found = match value {
                    Value::String(s) => values.iter().find(|v| v.as_str() == s),
                    _ => None,
                };
                match found {
                    Some(found) => Ok(GqlValue::Enum(found.clone())),
                    None => Err(ConvertError::Mismatch {
                        expected: format!("{name} value"),
                        found: kind(value),
                    }),
                }
            }
            // A custom scalar passes any JSON through; the common cases directly, without
            // serde's round trip.
            (Leaf::Custom(name), _) => match value {
                Value::String(s) => Ok(GqlValue::String(s.clone())),
                Value::Bool(b) => Ok(GqlValue::Boolean(*b)),
                Value::Number(n) => Ok(GqlValue::Number(n.clone())),
                _ => GqlValue::from_json(value.clone()).map_err(|_| mismatch(name, value)),
            },
        }
    }
}
