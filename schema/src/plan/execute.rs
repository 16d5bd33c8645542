//! Runs a planned query. A field read from its parent's JSON is a lookup and a copy, with
//! no resolver future, no dynamic dispatch and no per-field extension hook; a selection
//! that calls no service below is answered by a plain recursive walk. Only fields that
//! call a service are futures, run concurrently so that the request's loader batches them
//! as it does for async-graphql's executor.
//!
//! The answers are those of the resolvers in [`crate::resolve`], which this shares its
//! calls and conversions with: the same values, the same errors at the same paths, the
//! same null propagation as [`crate::resolve::nulls`].

use std::{
    borrow::Cow,
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::{
    Name, PathSegment, Pos, Response, ServerError, Value as ConstValue, Variables,
    indexmap::IndexMap,
    parser::types::{BaseType, Type},
};
use futures_util::future::{BoxFuture, FutureExt, join_all};
use serde_json::Value;

use super::compile::{Args, Kind, OperationPlan, Planned, Selection};
use crate::{
    fetch::loader::key_text,
    model::{Resolution, SourceName},
    resolve::{
        Answer, FieldPlan, RequestData, Vars, bad_value, call_rest, check_auth, coded,
        convert::{ConvertError, Leaf, mismatch},
        empty_for,
        entities::has_path,
        fallback_value,
        json::get_path,
        rest_answer,
    },
};

/// Executes `operation` with `variables` for the request `data` belongs to.
pub async fn execute(
    operation: &OperationPlan,
    variables: &Variables,
    data: &RequestData,
) -> Response {
    let run = Run {
        data,
        variables,
        operation,
        errors: Mutex::default(),
        kept: Mutex::default(),
    };
    let fields = operation
        .root
        .fields
        .iter()
        .map(|f| run.field(f, None, &Path::Root));
    let values = join_all(fields).await;
    let mut root = IndexMap::with_capacity(values.len());
    let mut nulled = false;
    for (field, value) in operation.root.fields.iter().zip(values) {
        match value {
            Ok(value) => {
                root.insert(field.key.clone(), value);
            }
            Err(Nulled) => nulled = true,
        }
    }
    let data = if nulled {
        ConstValue::Null
    } else {
        ConstValue::Object(root)
    };
    let mut response = Response::new(data);
    response.errors = run
        .errors
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    response
}

/// One execution: what it reads, and the field errors it has met.
struct Run<'a> {
    data: &'a RequestData,
    variables: &'a Variables,
    operation: &'a OperationPlan,
    errors: Mutex<Vec<ServerError>>,
    /// The objects of the types the operation joins, by type and key, for the joins to
    /// reuse (see [`crate::resolve::entities`]). Per execution: nothing here outlives it.
    kept: Mutex<HashMap<String, HashMap<String, Kept>>>,
}

/// An entity record the request holds.
#[derive(Clone)]
struct Kept {
    record: Arc<Value>,
    source: SourceName,
}

/// How a `@join` is answered.
enum Joined {
    /// Without a call or a future.
    Done(Result<ConstValue, Nulled>),
    /// From a held record, with calls below it.
    Walk(Kept),
    /// Through the entity's lookup, by this key.
    Call(String),
}

/// Whether `record` holds what `below` reads of it directly: every projected field's
/// path, and the keys its batched calls and joins start from (as
/// [`crate::resolve::entities::covers_selection`] decides for async-graphql's executor).
fn covers(below: &Selection, record: &Value) -> bool {
    below.fields.iter().all(|field| match &field.kind {
        Kind::Typename(_) => true,
        Kind::Project { path, .. } => has_path(record, path),
        Kind::Join { key, .. } => has_path(record, key),
        Kind::Call { plan, .. } => match &plan.field.resolution {
            Resolution::Rest { rest, .. } => rest
                .batch
                .as_ref()
                .is_some_and(|batch| has_path(record, &batch.parent_key)),
            _ => false,
        },
    })
}

/// A place in the response, built into a list only for an error.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn segments(&self) -> Vec<PathSegment> {
        let mut out = Vec::new();
        let mut at = self;
        loop {
            match at {
                Path::Root => break,
                Path::Key(parent, key) => {
                    out.push(PathSegment::Field((*key).to_owned()));
                    at = parent;
                }
                Path::Index(parent, index) => {
                    out.push(PathSegment::Index(*index));
                    at = parent;
                }
            }
        }
        out.reverse();
        out
    }
}

/// What a value's type asks for: the selection of an object type, or the conversion of a
/// scalar or enum (decided when the schema was built).
#[derive(Clone, Copy)]
struct Shape<'a> {
    below: Option<&'a Selection>,
    leaf: Option<&'a Leaf>,
}

impl<'a> Shape<'a> {
    fn of(plan: &'a FieldPlan, below: Option<&'a Selection>) -> Self {
        Shape {
            below,
            leaf: plan.leaf.as_ref(),
        }
    }

    /// Whether answering it calls a service.
    fn calls(&self) -> bool {
        self.below.is_some_and(|below| below.calls)
    }
}

/// A value that is null because a non-null field below it failed; the failure's error is
/// recorded already. Its nearest nullable parent becomes null.
#[derive(Debug)]
struct Nulled;

/// Why a value could not be given.
#[derive(Debug)]
enum Fail {
    /// It does not fit its type: an error of the field holding it.
    Convert(ConvertError),
    Nulled,
}

impl From<Nulled> for Fail {
    fn from(_: Nulled) -> Self {
        Fail::Nulled
    }
}

/// The parent object of a field: its JSON and the service it came from.
type Parent<'p> = Option<(&'p Value, &'p SourceName)>;

/// `ty`'s null, or the failure of a non-null field.
fn null_for(ty: &Type) -> Result<ConstValue, Nulled> {
    if ty.nullable {
        Ok(ConstValue::Null)
    } else {
        Err(Nulled)
    }
}

impl Run<'_> {
    /// Records a field's error at `path`.
    fn report(&self, error: async_graphql::Error, pos: Pos, path: &Path<'_>) {
        let mut error = error.into_server_error(pos);
        error.path = path.segments();
        self.errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(error);
    }

    /// A failed field: its error recorded, the field null when it may be.
    fn failed(
        &self,
        error: async_graphql::Error,
        field: &Planned,
        ty: &Type,
        path: &Path<'_>,
    ) -> Result<ConstValue, Nulled> {
        self.report(error, field.pos, path);
        null_for(ty)
    }

    /// A field's converted value, or its failure settled: a value that does not fit is the
    /// field's error, a nulled child makes the field null.
    fn settle(
        &self,
        value: Result<ConstValue, Fail>,
        field: &Planned,
        plan: &FieldPlan,
        source: &SourceName,
        path: &Path<'_>,
    ) -> Result<ConstValue, Nulled> {
        match value {
            Ok(value) => Ok(value),
            Err(Fail::Convert(error)) => {
                self.failed(bad_value(error, plan, source), field, &plan.field.ty, path)
            }
            Err(Fail::Nulled) => null_for(&plan.field.ty),
        }
    }

    /// One field of an object whose selection calls no service: no future.
    fn field_now(
        &self,
        field: &Planned,
        parent: &Value,
        source: &SourceName,
        path: &Path<'_>,
    ) -> Result<ConstValue, Nulled> {
        let here = Path::Key(path, field.key.as_str());
        match &field.kind {
            Kind::Typename(name) => Ok(ConstValue::String(name.to_string())),
            Kind::Project {
                plan,
                path: select,
                below,
            } => {
                if let Err(error) = check_auth(&plan.auth, &self.data.caller) {
                    return self.failed(error, field, &plan.field.ty, &here);
                }
                let value = self.value_now(
                    get_path(parent, select),
                    &plan.field.ty,
                    Shape::of(plan, below.as_ref()),
                    source,
                    &here,
                );
                self.settle(value, field, plan, source, &here)
            }
            Kind::Call { plan, .. } | Kind::Join { plan, .. } => self.failed(
                coded("a call planned without a future", "INTERNAL", None),
                field,
                &plan.field.ty,
                &here,
            ),
        }
    }

    /// One field, of the root (no parent) or of an object whose selection calls services.
    async fn field(
        &self,
        field: &Planned,
        parent: Parent<'_>,
        path: &Path<'_>,
    ) -> Result<ConstValue, Nulled> {
        let here = Path::Key(path, field.key.as_str());
        let (plan, args, below) = match &field.kind {
            Kind::Typename(name) => return Ok(ConstValue::String(name.to_string())),
            Kind::Project {
                plan,
                path: select,
                below,
            } => {
                let Some((parent, source)) = parent else {
                    let error = coded("no parent object", "INTERNAL", None);
                    return self.failed(error, field, &plan.field.ty, &here);
                };
                if below.as_ref().is_none_or(|b| !b.calls) {
                    return self.field_now(field, parent, source, path);
                }
                if let Err(error) = check_auth(&plan.auth, &self.data.caller) {
                    return self.failed(error, field, &plan.field.ty, &here);
                }
                let value = self
                    .value(
                        get_path(parent, select),
                        &plan.field.ty,
                        Shape::of(plan, below.as_ref()),
                        source,
                        &here,
                    )
                    .await;
                return self.settle(value, field, plan, source, &here);
            }
            Kind::Call { plan, args, below } => (plan, args, below.as_ref()),
            Kind::Join {
                plan,
                key,
                entity,
                below,
            } => {
                return self
                    .join(field, plan, key, entity, below.as_ref(), parent, &here)
                    .await;
            }
        };
        let ty = &plan.field.ty;
        if let Err(error) = check_auth(&plan.auth, &self.data.caller) {
            return self.failed(error, field, ty, &here);
        }
        let Resolution::Rest { rest, path: select } = &plan.field.resolution else {
            let error = coded("a call planned for a field without one", "INTERNAL", None);
            return self.failed(error, field, ty, &here);
        };
        let args = match self.args(args) {
            Ok(args) => args,
            Err(error) => {
                // As async-graphql reports it: the request's error, not the field's.
                self.errors
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(error);
                return null_for(ty);
            }
        };
        let source = &rest.source;
        let answer = rest_answer(
            plan,
            rest,
            Some(&args),
            parent.map(|(json, _)| json),
            self.data,
        )
        .await;
        let answer = match answer {
            Ok(Some(answer)) => Ok(answer),
            // Batched by a key the parent does not hold: no call, an empty answer.
            Ok(None) => {
                let shape = Shape::of(plan, below);
                let value = self.value_now(&empty_for(&plan.field), ty, shape, source, &here);
                return self.converted(value, field, plan, source, &here);
            }
            Err(error) => Err(error),
        };
        self.called(answer, select, field, plan, below, source, &here)
            .await
    }

    /// A `@join`: the entity from a record the request holds when it covers the
    /// selection, else through the entity's lookup.
    #[allow(clippy::too_many_arguments)]
    async fn join(
        &self,
        field: &Planned,
        plan: &FieldPlan,
        key: &[String],
        entity: &str,
        below: Option<&Selection>,
        parent: Parent<'_>,
        here: &Path<'_>,
    ) -> Result<ConstValue, Nulled> {
        let key = match self.join_now(field, plan, key, entity, below, parent, here) {
            Joined::Done(value) => return value,
            Joined::Walk(kept) => {
                let value = self
                    .value(
                        &kept.record,
                        &plan.field.ty,
                        Shape::of(plan, below),
                        &kept.source,
                        here,
                    )
                    .await;
                return self.settle(value, field, plan, &kept.source, here);
            }
            Joined::Call(key) => key,
        };
        let Some((spec, cache)) = &plan.entity else {
            let error = coded("join without entity", "INTERNAL", None);
            return self.failed(error, field, &plan.field.ty, here);
        };
        let rest = &spec.rest;
        let vars = Vars {
            plan,
            args: None,
            parent: None,
            caller: &self.data.caller,
            key: None,
        };
        let answer = if rest.batch.is_some() {
            call_rest(
                rest,
                &vars,
                *cache,
                self.data,
                Some(key),
                Some(&spec.key_path),
            )
            .await
        } else {
            let vars = Vars {
                key: Some(&key),
                ..vars
            };
            call_rest(rest, &vars, *cache, self.data, None, None).await
        };
        self.called(answer, &[], field, plan, below, &rest.source, here)
            .await
    }

    /// What of a `@join` needs no call: a missing key, a refused caller, or a record the
    /// request holds that covers the selection (walked here when nothing below it calls a
    /// service). Answered without a future, a reused join costs no memory in flight.
    #[allow(clippy::too_many_arguments)]
    fn join_now(
        &self,
        field: &Planned,
        plan: &FieldPlan,
        key: &[String],
        entity: &str,
        below: Option<&Selection>,
        parent: Parent<'_>,
        here: &Path<'_>,
    ) -> Joined {
        let ty = &plan.field.ty;
        if let Err(error) = check_auth(&plan.auth, &self.data.caller) {
            return Joined::Done(self.failed(error, field, ty, here));
        }
        let Some((parent, parent_source)) = parent else {
            let error = coded("no parent object", "INTERNAL", None);
            return Joined::Done(self.failed(error, field, ty, here));
        };
        let shape = Shape::of(plan, below);
        let Some(key) = key_text(get_path(parent, key)) else {
            let value = self.value_now(&Value::Null, ty, shape, parent_source, here);
            return Joined::Done(self.converted(value, field, plan, parent_source, here));
        };
        let kept = self
            .kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(entity)
            .and_then(|records| records.get(&key))
            .cloned();
        match kept {
            Some(kept) if below.is_none_or(|below| covers(below, &kept.record)) => {
                if shape.calls() {
                    return Joined::Walk(kept);
                }
                let value = self.value_now(&kept.record, ty, shape, &kept.source, here);
                Joined::Done(self.settle(value, field, plan, &kept.source, here))
            }
            _ => Joined::Call(key),
        }
    }

    /// A call's outcome as the field's value: its answer converted, or its failure
    /// (an upstream one served by the field's `@fallback` when it has one).
    #[allow(clippy::too_many_arguments)]
    async fn called(
        &self,
        answer: Result<Answer, async_graphql::Error>,
        select: &[String],
        field: &Planned,
        plan: &FieldPlan,
        below: Option<&Selection>,
        source: &SourceName,
        here: &Path<'_>,
    ) -> Result<ConstValue, Nulled> {
        let value = match answer {
            Ok(answer) => {
                self.answer(&answer, select, plan, below, source, here)
                    .await
            }
            Err(error) => return self.upstream_failed(error, field, plan, here),
        };
        self.converted(value, field, plan, source, here)
    }

    /// A called field whose service failed: its `@fallback` when it has one, else the
    /// field's error.
    fn upstream_failed(
        &self,
        error: async_graphql::Error,
        field: &Planned,
        plan: &FieldPlan,
        here: &Path<'_>,
    ) -> Result<ConstValue, Nulled> {
        match fallback_value(plan, self.data, &error) {
            Some(value) => Ok(value),
            None => self.failed(error, field, &plan.field.ty, here),
        }
    }

    /// A called field's converted value, or its failure settled: a value that does not
    /// fit is an upstream failure, which the field's `@fallback` serves when it has one.
    fn converted(
        &self,
        value: Result<ConstValue, Fail>,
        field: &Planned,
        plan: &FieldPlan,
        source: &SourceName,
        here: &Path<'_>,
    ) -> Result<ConstValue, Nulled> {
        match value {
            Err(Fail::Convert(error)) => {
                self.upstream_failed(bad_value(error, plan, source), field, plan, here)
            }
            value => self.settle(value, field, plan, source, here),
        }
    }

    /// Keeps `object` for the joins of this execution, when `below` says its type is joined.
    fn keep(&self, below: &Selection, object: &Value, source: &SourceName) {
        let Some(key_path) = &below.keep else {
            return;
        };
        let Some(key) = key_text(get_path(object, key_path)) else {
            return;
        };
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let records = match kept.get_mut(&below.type_name) {
            Some(records) => records,
            None => kept.entry(below.type_name.clone()).or_default(),
        };
        // The first record of a key stays.
        records.entry(key).or_insert_with(|| Kept {
            record: Arc::new(object.clone()),
            source: source.clone(),
        });
    }

    /// A field's arguments against this request's variables.
    fn args<'a>(&self, args: &'a Args) -> Result<Cow<'a, IndexMap<Name, ConstValue>>, ServerError> {
        let (given, defaults) = match args {
            Args::Const(args) => return Ok(Cow::Borrowed(args)),
            Args::Variables { given, defaults } => (given, defaults),
        };
        let mut out = IndexMap::with_capacity(given.len() + defaults.len());
        for (name, value) in given {
            let value = value
                .node
                .clone()
                .into_const_with(|variable| self.variable(&variable, value.pos))?;
            out.insert(name.clone(), value);
        }
        out.extend(defaults.iter().cloned());
        Ok(Cow::Owned(out))
    }

    /// A variable's value, else its declared default (null for a nullable one), as
    /// async-graphql reads it.
    fn variable(&self, name: &Name, pos: Pos) -> Result<ConstValue, ServerError> {
        self.operation
            .variables
            .iter()
            .find(|def| &def.node.name.node == name)
            .and_then(|def| {
                self.variables
                    .get(&def.node.name.node)
                    .or_else(|| def.node.default_value())
            })
            .cloned()
            .ok_or_else(|| ServerError::new(format!("Variable {name} is not defined."), Some(pos)))
    }

    /// What a call found, as the field's value: the value `select` below the answer, or
    /// for a batch the parent's items (a list field) or the first one (a single field).
    async fn answer(
        &self,
        answer: &Answer,
        select: &[String],
        plan: &FieldPlan,
        below: Option<&Selection>,
        source: &SourceName,
        path: &Path<'_>,
    ) -> Result<ConstValue, Fail> {
        let ty = &plan.field.ty;
        let shape = Shape::of(plan, below);
        let (list, indices) = match answer {
            Answer::Value(loc) => {
                return self
                    .value(get_path(loc.value(), select), ty, shape, source, path)
                    .await;
            }
            Answer::Items { list, indices } => (list.value(), indices),
        };
        let item = |index: &usize| list.get(*index).unwrap_or(&Value::Null);
        let BaseType::List(item_type) = &ty.base else {
            let value = indices
                .first()
                .map_or(&Value::Null, |index| get_path(item(index), select));
            return self.value(value, ty, shape, source, path).await;
        };
        let items: Vec<&Value> = indices.iter().map(item).collect();
        self.list(&items, item_type, shape, source, path).await
    }

    /// `value` as a value of type `ty`, with `below` selected when it holds objects.
    fn value<'a>(
        &'a self,
        value: &'a Value,
        ty: &'a Type,
        shape: Shape<'a>,
        source: &'a SourceName,
        path: &'a Path<'a>,
    ) -> BoxFuture<'a, Result<ConstValue, Fail>> {
        async move {
            if !shape.calls() {
                return self.value_now(value, ty, shape, source, path);
            }
            if value.is_null() {
                return null_or_error(ty);
            }
            match &ty.base {
                BaseType::List(item_type) => {
                    let Value::Array(items) = value else {
                        return Err(Fail::Convert(mismatch(&ty.to_string(), value)));
                    };
                    let items: Vec<&Value> = items.iter().collect();
                    self.list(&items, item_type, shape, source, path).await
                }
                BaseType::Named(name) => {
                    let (Value::Object(_), Some(below)) = (value, shape.below) else {
                        return Err(Fail::Convert(mismatch(name, value)));
                    };
                    self.keep(below, value, source);
                    // Only the fields that call a service become futures, each on the
                    // heap: a field's future is sized for a call, and a future per
                    // projected field of every object held in flight cost a third more
                    // peak memory under load than async-graphql's executor.
                    let mut values = Vec::with_capacity(below.fields.len());
                    let mut pending = Vec::new();
                    for (index, field) in below.fields.iter().enumerate() {
                        if let Kind::Join {
                            plan,
                            key,
                            entity,
                            below,
                        } = &field.kind
                        {
                            let here = Path::Key(path, field.key.as_str());
                            let parent = Some((value, source));
                            let below = below.as_ref();
                            let now = self.join_now(field, plan, key, entity, below, parent, &here);
                            if let Joined::Done(value) = now {
                                values.push(value);
                                continue;
                            }
                        }
                        if field.calls() {
                            values.push(Ok(ConstValue::Null));
                            let parent = Some((value, source));
                            pending.push(async move {
                                (index, Box::pin(self.field(field, parent, path)).await)
                            });
                        } else {
                            values.push(self.field_now(field, value, source, path));
                        }
                    }
                    for (index, value) in join_all(pending).await {
                        values[index] = value;
                    }
                    let mut out = IndexMap::with_capacity(values.len());
                    for (field, value) in below.fields.iter().zip(values) {
                        out.insert(field.key.clone(), value?);
                    }
                    Ok(ConstValue::Object(out))
                }
            }
        }
        .boxed()
    }

    /// A list's items, each of type `item_type`, concurrently.
    async fn list(
        &self,
        items: &[&Value],
        item_type: &Type,
        shape: Shape<'_>,
        source: &SourceName,
        path: &Path<'_>,
    ) -> Result<ConstValue, Fail> {
        let paths: Vec<Path<'_>> = (0..items.len()).map(|i| Path::Index(path, i)).collect();
        let values = items
            .iter()
            .zip(&paths)
            .map(|(item, path)| self.value(item, item_type, shape, source, path));
        let values = join_all(values).await;
        let mut out = Vec::with_capacity(values.len());
        for value in values {
            out.push(match value {
                Ok(value) => value,
                Err(Fail::Nulled) if item_type.nullable => ConstValue::Null,
                Err(fail) => return Err(fail),
            });
        }
        Ok(ConstValue::List(out))
    }

    /// `value` as a value of type `ty` when nothing below calls a service: a walk.
    fn value_now(
        &self,
        value: &Value,
        ty: &Type,
        shape: Shape<'_>,
        source: &SourceName,
        path: &Path<'_>,
    ) -> Result<ConstValue, Fail> {
        if value.is_null() {
            return null_or_error(ty);
        }
        match &ty.base {
            BaseType::List(item_type) => {
                let Value::Array(items) = value else {
                    return Err(Fail::Convert(mismatch(&ty.to_string(), value)));
                };
                let mut out = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    let path = Path::Index(path, index);
                    out.push(
                        match self.value_now(item, item_type, shape, source, &path) {
                            Ok(value) => value,
                            Err(Fail::Nulled) if item_type.nullable => ConstValue::Null,
                            Err(fail) => return Err(fail),
                        },
                    );
                }
                Ok(ConstValue::List(out))
            }
            BaseType::Named(name) => {
                if let Some(leaf) = shape.leaf {
                    return leaf.convert(value).map_err(Fail::Convert);
                }
                let (Value::Object(_), Some(below)) = (value, shape.below) else {
                    return Err(Fail::Convert(mismatch(name, value)));
                };
                self.keep(below, value, source);
                let mut out = IndexMap::with_capacity(below.fields.len());
                for field in &below.fields {
                    let value = self.field_now(field, value, source, path)?;
                    out.insert(field.key.clone(), value);
                }
                Ok(ConstValue::Object(out))
            }
        }
    }
}

/// Null where `ty` allows it, else the error of a null in a non-null place.
fn null_or_error(ty: &Type) -> Result<ConstValue, Fail> {
    if ty.nullable {
        Ok(ConstValue::Null)
    } else {
        Err(Fail::Convert(ConvertError::Null(ty.to_string())))
    }
}
