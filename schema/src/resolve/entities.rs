//! The entities one request has received so far, by type and key. A `@join` to a record
//! the request already holds (the users of a page, joined again from their orders) reads
//! it from here instead of fetching it again, when the record carries every field the
//! join's selection reads. Per request: nothing here outlives it or crosses callers.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
};

use async_graphql::SelectionField;
use serde_json::Value;

use super::convert::Node;
use crate::model::{ObjectSpec, Resolution};

#[derive(Debug, Default)]
pub struct Entities {
    by_type: Mutex<HashMap<String, HashMap<String, Node>>>,
}

impl Entities {
    /// Records `node` as the entity `key` of `type_name`; the first record of a key stays.
    pub fn insert(&self, type_name: &str, key: String, node: &Node) {
        let mut by_type = self.by_type.lock().unwrap_or_else(PoisonError::into_inner);
        let records = match by_type.get_mut(type_name) {
            Some(records) => records,
            None => by_type.entry(type_name.to_owned()).or_default(),
        };
        records.entry(key).or_insert_with(|| node.clone());
    }

    /// Forgets every record.
    pub fn clear(&self) {
        self.by_type
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    pub fn get(&self, type_name: &str, key: &str) -> Option<Node> {
        let by_type = self.by_type.lock().unwrap_or_else(PoisonError::into_inner);
        by_type.get(type_name)?.get(key).cloned()
    }
}

/// Whether `path` (object keys) is present in `value`, even as null.
pub(crate) fn has_path(value: &Value, path: &[String]) -> bool {
    let mut current = value;
    for key in path {
        match current.get(key.as_str()) {
            Some(next) => current = next,
            None => return false,
        }
    }
    true
}

/// Whether `record` holds everything the field's `selections` read from it: every
/// projected field's path, and the keys its batched calls and joins start from. A field
/// whose call is templated from the record some other way is not inspected: such a
/// selection is fetched instead.
pub fn covers_selection(
    selections: &[SelectionField<'_>],
    object: &ObjectSpec,
    record: &Value,
) -> bool {
    for selection in selections {
        for child in selection.selection_set() {
            let name = child.name();
            if name.starts_with("__") {
                continue;
            }
            let Some(field) = object.fields.iter().find(|f| f.name == name) else {
                return false;
            };
            let covered = match &field.resolution {
                Resolution::Project { path } => has_path(record, path),
                Resolution::Join { key, .. } => has_path(record, key),
                Resolution::Rest { rest, .. } => rest
                    .batch
                    .as_ref()
                    .is_some_and(|batch| has_path(record, &batch.parent_key)),
            };
            if !covered {
                return false;
            }
        }
    }
    true
}
