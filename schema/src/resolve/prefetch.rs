//! Loading ahead. When a field's answer is in hand, the batched fields its selection reads
//! below it (the `orders` of a page of users, their `payment`, their `user`) are loaded for
//! all its objects at once, level by level, before async-graphql resolves them one by one.
//! Those fields then resolve from what was loaded, at once, instead of each parking a
//! future on the loader: on the n-plus-one benchmark that was most of the gateway's memory
//! and a large share of its CPU.
//!
//! Only what the plan can prepare without the parent is loaded ahead: batched calls whose
//! templates read nothing of the parent but its key ([`FieldPlan::shared_batch`]). A field
//! not loaded ahead (a template reading the parent, an argument async-graphql coerces
//! differently) still resolves the usual way, so loading ahead never changes an answer,
//! only when its calls are made.

use std::{
    collections::{HashSet, hash_map::Entry},
    sync::Arc,
};

use async_graphql::{
    Name, SelectionField, Value as ConstValue, futures_util::future::BoxFuture, indexmap::IndexMap,
};
use futures_util::future::join_all;
use serde_json::Value;

use super::{
    Answer, FieldPlan, RequestData, Vars, batch_group, check_auth,
    convert::{Loc, Node},
    entities::covers_selection,
    json::get_path,
    load,
};
use crate::{
    fetch::{
        LoadKey,
        loader::{BatchGroup, key_text},
        project::KeySet,
    },
    model::{FieldSpec, Resolution, SourceName, named_type},
    template::VarRoot,
};

/// The objects of a field's answer: `path` below a value (a list's items each), or the
/// matching items of a batch (only the first for a single field).
pub(super) fn objects(
    answer: &Answer,
    path: &[String],
    list: bool,
    source: &SourceName,
) -> Vec<Node> {
    let node = |loc: Loc| Node {
        loc,
        source: source.clone(),
    };
    match answer {
        Answer::Value(loc) => {
            let loc = loc.join(path);
            match loc.value() {
                Value::Array(items) => (0..items.len()).map(|i| node(loc.item(i))).collect(),
                Value::Object(_) => vec![node(loc)],
                _ => Vec::new(),
            }
        }
        Answer::Items {
            list: items,
            indices,
        } if list => indices.iter().map(|&i| node(items.item(i))).collect(),
        Answer::Items {
            list: items,
            indices,
        } => indices
            .first()
            .map(|&i| node(items.item(i).join(path)))
            .into_iter()
            .collect(),
    }
}

/// Loads ahead what `selections` read below `objects`, of type `type_name`.
pub(super) fn prefetch<'a>(
    data: &'a RequestData,
    selections: Vec<SelectionField<'a>>,
    type_name: &'a str,
    objects: Vec<Node>,
) -> BoxFuture<'a, ()> {
    Box::pin(async move {
        let objects: Vec<Node> = objects
            .into_iter()
            .filter(|o| o.json().is_object())
            .collect();
        if objects.is_empty() {
            return;
        }
        let Some(plans) = data.plans.by_type.get(type_name) else {
            return;
        };
        register_entities(data, type_name, &objects);
        let mut fields = Vec::new();
        for selection in &selections {
            for child in selection.selection_set() {
                if !included(&child) {
                    continue;
                }
                if let Some(plan) = plans.get(child.name())
                    && check_auth(&plan.auth, &data.caller).is_ok()
                {
                    fields.push(prefetch_field(data, plan, child, &objects));
                }
            }
        }
        join_all(fields).await;
    })
}

/// Records this level's entities before the joins below look for them.
fn register_entities(data: &RequestData, type_name: &str, objects: &[Node]) {
    let graph = &data.plans.graph;
    let Some(entity) = graph.objects.get(type_name).and_then(|o| o.entity.as_ref()) else {
        return;
    };
    for object in objects {
        if let Some(key) = key_text(get_path(object.json(), &entity.key_path)) {
            data.entities.insert(type_name, key, object);
        }
    }
}

/// Whether `@skip` / `@include` leave the field in.
fn included(field: &SelectionField<'_>) -> bool {
    let Ok(directives) = field.directives() else {
        return true;
    };
    directives.iter().all(|directive| {
        let condition = directive
            .arguments
            .iter()
            .find(|(name, _)| name.node == "if")
            .map(|(_, value)| &value.node);
        !matches!(
            (directive.name.node.as_str(), condition),
            ("skip", Some(ConstValue::Boolean(true)))
                | ("include", Some(ConstValue::Boolean(false)))
        )
    })
}

/// The field's arguments as its resolver will see them: given ones, else defaults.
fn arguments(field: &SelectionField<'_>, spec: &FieldSpec) -> Option<IndexMap<Name, ConstValue>> {
    let given = field.arguments().ok()?;
    let mut args = IndexMap::with_capacity(spec.args.len());
    for arg in &spec.args {
        let value = given
            .iter()
            .find(|(name, _)| name.as_str() == arg.name)
            .map(|(_, value)| value.clone())
            .or_else(|| arg.default.clone());
        if let Some(value) = value {
            args.insert(Name::new(&arg.name), value);
        }
    }
    Some(args)
}

/// Whether `field` (of type `type_name`) selects anything that calls a service, at any
/// depth of projected objects.
fn loads_below(data: &RequestData, field: SelectionField<'_>, type_name: &str) -> bool {
    let Some(plans) = data.plans.by_type.get(type_name) else {
        return false;
    };
    field
        .selection_set()
        .any(|child| match plans.get(child.name()) {
            Some(plan) => match &plan.field.resolution {
                Resolution::Project { .. } => loads_below(data, child, named_type(&plan.field.ty)),
                Resolution::Rest { .. } | Resolution::Join { .. } => true,
            },
            None => false,
        })
}

/// Loads one child field ahead for all `objects`, then what it reads below.
async fn prefetch_field<'a>(
    data: &'a RequestData,
    plan: &'a Arc<FieldPlan>,
    child: SelectionField<'a>,
    objects: &[Node],
) {
    let child_type = named_type(&plan.field.ty);
    let list = matches!(
        plan.field.ty.base,
        async_graphql::parser::types::BaseType::List(_)
    );
    let next: Vec<Node> = match &plan.field.resolution {
        // A projected object matters only when something below it loads.
        Resolution::Project { path } if loads_below(data, child, child_type) => objects
            .iter()
            .flat_map(|o| {
                let answer = Answer::Value(o.loc.clone());
                self::objects(&answer, path, list, &o.source)
            })
            .collect(),
        Resolution::Project { .. } => return,
        Resolution::Rest { rest, path } => {
            let Some(batch) = rest.batch.as_ref().filter(|_| plan.shared_batch) else {
                return;
            };
            let Some(args) = arguments(&child, &plan.field) else {
                return;
            };
            let vars = Vars {
                plan,
                args: Some(&args),
                parent: None,
                caller: &data.caller,
                key: None,
            };
            let Ok(group) = batch_group(rest, &vars, plan.cache, data, &batch.match_path) else {
                return;
            };
            let keep = kept_keys(
                data,
                child,
                child_type,
                [&rest.select, &batch.match_path, path],
            );
            let keys = objects
                .iter()
                .filter_map(|o| key_text(get_path(o.json(), &batch.parent_key)));
            load_ahead(data, group, keep, keys, path, list, &rest.source).await
        }
        Resolution::Join { entity, key } => {
            let Some((spec, cache)) = plan.entity.as_ref().filter(|_| plan.shared_batch) else {
                return;
            };
            let Some(object) = plan.graph.objects.get(entity) else {
                return;
            };
            let vars = Vars {
                plan,
                args: None,
                parent: None,
                caller: &data.caller,
                key: None,
            };
            let Ok(group) = batch_group(&spec.rest, &vars, *cache, data, &spec.key_path) else {
                return;
            };
            let keep = kept_keys(
                data,
                child,
                entity,
                [&spec.rest.select, &spec.key_path, &[]],
            );
            // Records the request already holds are read where they are (and what they
            // read below was loaded ahead when they arrived).
            let keys = objects.iter().filter_map(|o| {
                let key = key_text(get_path(o.json(), key))?;
                let held = data
                    .entities
                    .get(entity, &key)
                    .is_some_and(|held| covers_selection(&[child], object, held.json()));
                (!held).then_some(key)
            });
            load_ahead(data, group, keep, keys, &[], false, &spec.rest.source).await
        }
    };
    prefetch(data, vec![child], child_type, next).await;
}

/// The object keys a batched call's answer must keep for `field`: where its list and each
/// item's key sit (`paths`), the item type's own key, and what the field's selection reads
/// below; `None` (keep everything) when the selection reads something not planned here.
fn kept_keys<const N: usize>(
    data: &RequestData,
    field: SelectionField<'_>,
    type_name: &str,
    paths: [&[String]; N],
) -> Option<KeySet> {
    let mut keep: KeySet = paths.iter().flat_map(|p| p.iter().cloned()).collect();
    read_keys(data, &[field], type_name, &mut keep).then_some(keep)
}

/// Adds the keys that `selections` read from objects of `type_name`, below included.
fn read_keys(
    data: &RequestData,
    selections: &[SelectionField<'_>],
    type_name: &str,
    keep: &mut KeySet,
) -> bool {
    let graph = &data.plans.graph;
    if let Some(entity) = graph.objects.get(type_name).and_then(|o| o.entity.as_ref()) {
        keep.extend(entity.key_path.iter().cloned());
    }
    let Some(plans) = data.plans.by_type.get(type_name) else {
        return false;
    };
    for selection in selections {
        for child in selection.selection_set() {
            if child.name().starts_with("__") {
                continue;
            }
            let Some(plan) = plans.get(child.name()) else {
                return false;
            };
            match &plan.field.resolution {
                Resolution::Project { path } => {
                    keep.extend(path.iter().cloned());
                    let child_type = named_type(&plan.field.ty);
                    if graph.objects.contains_key(child_type)
                        && !read_keys(data, &[child], child_type, keep)
                    {
                        return false;
                    }
                }
                Resolution::Join { key, .. } => keep.extend(key.iter().cloned()),
                Resolution::Rest { rest, .. } => {
                    if let Some(batch) = &rest.batch {
                        keep.extend(batch.parent_key.iter().cloned());
                    }
                    // `$parent.*` variables read the parent's fields.
                    let templates = rest.templates();
                    let vars = templates.iter().flat_map(|t| t.vars());
                    for var in vars.filter(|v| v.root == VarRoot::Parent) {
                        let Some(base) = plan.parent_paths.get(&var.path[0]) else {
                            return false;
                        };
                        keep.extend(base.iter().cloned());
                        keep.extend(var.path[1..].iter().cloned());
                    }
                }
            }
        }
    }
    true
}

/// Loads `keys` of a batched call into the request's loaded-ahead results; returns the
/// objects they found. With `keep`, the call's answer keeps only those keys; its results
/// are filed under the call as the field's resolver prepares it (without `keep`).
async fn load_ahead(
    data: &RequestData,
    group: Arc<BatchGroup>,
    keep: Option<KeySet>,
    keys: impl Iterator<Item = String>,
    path: &[String],
    list: bool,
    source: &SourceName,
) -> Vec<Node> {
    let mut seen = HashSet::new();
    let keys: Vec<String> = keys.filter(|k| seen.insert(k.clone())).collect();
    let loaded = keep.map_or_else(|| group.clone(), |keep| Arc::new(group.keeping(keep)));
    let results = join_all(keys.into_iter().map(|key| {
        let loaded = loaded.clone();
        async move {
            let result = load(data, LoadKey::Batch(loaded, key.clone())).await;
            (key, result)
        }
    }))
    .await;
    let mut found = Vec::new();
    let mut prefetched = data.prefetched();
    for (key, result) in results {
        if let Ok(loaded) = &result {
            let answer = Answer::from_found(loaded.clone(), &[]);
            found.extend(objects(&answer, path, list, source));
        }
        // The same call loaded for two places of the query (aliases, or the same field at
        // two levels) may keep different keys: neither is trusted for the other, and both
        // resolve the usual way.
        match prefetched.entry(LoadKey::Batch(group.clone(), key)) {
            Entry::Vacant(entry) => {
                entry.insert(Some(result));
            }
            Entry::Occupied(mut entry) => {
                entry.insert(None);
            }
        }
    }
    found
}
