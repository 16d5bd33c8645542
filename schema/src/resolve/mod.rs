//! What each field's resolver does: project its value from the parent's JSON, call REST
//! (batched through the request's loader when it uses `$keys`), or join an entity by key.

pub mod convert;
pub mod entities;
pub mod json;
pub mod nulls;
mod prefetch;
pub mod subscribe;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::{
    ErrorExtensions, Name, Value as ConstValue,
    dynamic::{FieldFuture, FieldValue, ResolverContext},
    indexmap::IndexMap,
    parser::types::BaseType,
};
use reqwest::header::HeaderValue;
use serde_json::Value;

pub use convert::Node;
use convert::{At, ConvertError, Loc, Target};
use entities::Entities;
use json::{get_path, graphql_path, graphql_text, json_text};

use crate::{
    caller::Caller,
    fetch::{
        FetchError, Fetcher, LoadKey, PreparedRequest, RestLoader,
        loader::{BatchGroup, Found, KEYS_MARKER, Loaded, key_text},
        request::scope_for,
    },
    model::{
        AuthRule, BodyTemplate, CacheHint, EntitySpec, FieldSpec, Graph, Resolution, RestSpec,
        SourceName, is_list, named_type,
    },
    observe::RequestStats,
    template::{self, Position, RenderError, Var, VarRoot},
};

/// What one request's resolvers share: who asks, and the loader that batches their calls.
pub struct RequestData {
    pub caller: Arc<Caller>,
    pub loader: Arc<RestLoader>,
    pub fetcher: Arc<Fetcher>,
    pub entities: Entities,
    /// Batched calls prepared once for all parents of a field (see [`FieldPlan::shared_batch`]).
    groups: Mutex<Vec<SharedGroup>>,
    /// Every field's plan, by type and field name, for prefetching a selection's children.
    plans: Arc<Plans>,
    /// Results loaded ahead for fields not resolved yet (see [`prefetch`]); `None` where
    /// two places of the query loaded the same call keeping different keys.
    prefetched: Mutex<HashMap<LoadKey, Option<Loaded>>>,
    /// What the request cost upstream.
    pub stats: Arc<RequestStats>,
    /// Set when executed as a stream (WebSocket, server-sent events), where subscriptions
    /// can run (see [`EventErrors`]).
    pub streaming: Option<Arc<EventErrors>>,
}

/// The field errors of a subscription's latest event, kept out of its response until it
/// leaves the executor: async-graphql ends a subscription at the first result with errors,
/// and one event's failed field (its user's service down) must not end a live feed. The
/// stream's own failures (expired token, refused stream) still end it.
#[derive(Debug, Default)]
pub struct EventErrors(Mutex<Vec<async_graphql::ServerError>>);

impl EventErrors {
    /// Holds `response`'s errors back.
    pub fn hold(&self, response: &mut async_graphql::Response) {
        let mut held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        held.append(&mut response.errors);
    }

    /// Gives `response` the errors held back for it.
    pub fn restore(&self, response: &mut async_graphql::Response) {
        let mut held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        response.errors.append(&mut held);
    }
}

/// Every field's plan, by type name then field name, with the graph they plan.
#[derive(Debug)]
pub struct Plans {
    pub graph: Arc<Graph>,
    pub by_type: HashMap<String, HashMap<String, Arc<FieldPlan>>>,
}

/// A batched call prepared for one field and its arguments in this request.
struct SharedGroup {
    /// The field's plan, by address: plans live as long as the schema.
    plan: usize,
    args: Option<IndexMap<Name, ConstValue>>,
    group: Arc<BatchGroup>,
}

impl RequestData {
    /// Forgets what the request has loaded so far, for the next event of a subscription:
    /// each event resolves afresh, and a long subscription holds nothing of its past events.
    pub fn begin_event(&self) {
        *self.groups.lock().unwrap_or_else(PoisonError::into_inner) = Vec::new();
        *self.prefetched() = HashMap::new();
        self.entities.clear();
    }

    fn prefetched(&self) -> std::sync::MutexGuard<'_, HashMap<LoadKey, Option<Loaded>>> {
        self.prefetched
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn new(
        caller: Caller,
        fetcher: Arc<Fetcher>,
        plans: Arc<Plans>,
        stats: Arc<RequestStats>,
    ) -> Self {
        let loader = RestLoader::new(fetcher.clone(), stats.clone());
        RequestData {
            caller: Arc::new(caller),
            loader,
            fetcher,
            entities: Entities::default(),
            groups: Mutex::default(),
            plans,
            prefetched: Mutex::default(),
            stats,
            streaming: None,
        }
    }
}

/// Everything a field's resolver needs, prepared once when the schema is built.
#[derive(Debug)]
pub struct FieldPlan {
    pub graph: Arc<Graph>,
    /// The type the field belongs to.
    pub parent_type: String,
    pub field: FieldSpec,
    /// The field's own rule combined with its type's.
    pub auth: AuthRule,
    /// The field's cache hint, else its type's.
    pub cache: Option<CacheHint>,
    /// For `@join`: the entity's lookup and cache hint.
    pub entity: Option<(EntitySpec, Option<CacheHint>)>,
    /// The parent type's fields by GraphQL name, as JSON paths (for `$parent.*`).
    pub parent_paths: HashMap<String, Vec<String>>,
    /// The field's batched call reads nothing of the parent but its key, so all its
    /// parents in a request (with the same arguments) share one prepared call.
    pub shared_batch: bool,
    /// The field belongs to a root type (query, mutation, subscription): it has no
    /// parent object.
    pub root: bool,
    /// The conversion of the field's type, when it is a scalar or an enum.
    pub leaf: Option<convert::Leaf>,
}

/// The code of [`null_parent`].
const NULL_PARENT: &str = "NULL_PARENT";

/// What a field of a null list item answers. async-graphql 7.2's dynamic executor resolves
/// a null item of a list of objects as an object, running its fields against a null
/// parent; [`nulls`] turns this answer into the item's null, with no error.
fn null_parent() -> async_graphql::Error {
    coded("the parent object is null", NULL_PARENT, None)
}

/// Whether `error` is [`null_parent`]'s.
pub(crate) fn is_null_parent(error: &async_graphql::ServerError) -> bool {
    error
        .extensions
        .as_ref()
        .and_then(|ext| ext.get("code"))
        .is_some_and(|code| matches!(code, ConstValue::String(code) if code == NULL_PARENT))
}

/// A GraphQL error with a stable code, and the service when one is involved.
pub(crate) fn coded(
    message: impl Into<String>,
    code: &'static str,
    service: Option<&SourceName>,
) -> async_graphql::Error {
    let service = service.map(|s| s.as_str().to_owned());
    async_graphql::Error::new(message).extend_with(|_, ext| {
        ext.set("code", code);
        if let Some(service) = &service {
            ext.set("service", service.as_str());
        }
    })
}

pub(crate) fn fetch_error(error: &FetchError) -> async_graphql::Error {
    let status = error.status();
    coded(error.to_string(), error.code(), Some(error.service())).extend_with(|_, ext| {
        if let Some(status) = status {
            ext.set("status", status);
        }
    })
}

pub(crate) fn check_auth(rule: &AuthRule, caller: &Caller) -> Result<(), async_graphql::Error> {
    if rule.is_open() {
        return Ok(());
    }
    let Some(claims) = &caller.claims else {
        return Err(coded("authentication required", "UNAUTHENTICATED", None));
    };
    if rule.scopes.is_empty() {
        return Ok(());
    }
    let held: Vec<&str> = match claims.get("scope").or_else(|| claims.get("scp")) {
        Some(Value::String(s)) => s.split_whitespace().collect(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if rule
        .scopes
        .iter()
        .any(|all| all.iter().all(|s| held.contains(&s.as_str())))
    {
        Ok(())
    } else {
        Err(coded(
            "missing the scopes this field requires",
            "FORBIDDEN",
            None,
        ))
    }
}

/// The values template variables read, for one field of one parent.
pub(crate) struct Vars<'a> {
    pub plan: &'a FieldPlan,
    pub args: Option<&'a IndexMap<Name, ConstValue>>,
    /// The parent object's JSON.
    pub parent: Option<&'a Value>,
    pub caller: &'a Caller,
    pub key: Option<&'a str>,
}

impl Vars<'_> {
    fn json(&self, var: &Var) -> Option<Value> {
        match var.root {
            VarRoot::Args => {
                let arg = self.args?.get(var.path[0].as_str())?;
                graphql_path(arg, &var.path[1..]).and_then(|v| v.clone().into_json().ok())
            }
            VarRoot::Parent => {
                let parent = self.parent?;
                let base = self.plan.parent_paths.get(&var.path[0])?;
                let value = get_path(get_path(parent, base), &var.path[1..]);
                Some(value.clone())
            }
            VarRoot::Jwt => Some(get_path(self.caller.claims.as_ref()?, &var.path).clone()),
            VarRoot::Headers => Some(Value::String(
                self.caller
                    .headers
                    .get(var.path[0].as_str())?
                    .to_str()
                    .ok()?
                    .to_owned(),
            )),
            VarRoot::Keys => Some(Value::String(KEYS_MARKER.to_owned())),
            VarRoot::Key => self.key.map(|k| Value::String(k.to_owned())),
        }
        .filter(|v| !v.is_null())
    }

    fn text(&self, var: &Var) -> Option<String> {
        match var.root {
            VarRoot::Args => {
                let arg = self.args?.get(var.path[0].as_str())?;
                graphql_path(arg, &var.path[1..]).and_then(graphql_text)
            }
            _ => self.json(var).as_ref().and_then(json_text),
        }
    }

    fn body(&self, body: &BodyTemplate) -> Result<Value, RenderError> {
        Ok(match body {
            BodyTemplate::Null => Value::Null,
            BodyTemplate::Bool(b) => Value::Bool(*b),
            BodyTemplate::Number(n) => Value::Number(n.clone()),
            BodyTemplate::Text(t) => match t.single_var() {
                Some(var) => self.json(var).unwrap_or(Value::Null),
                None => Value::String(template::render(t, Position::Raw, |v| self.text(v))?),
            },
            BodyTemplate::List(items) => Value::Array(
                items
                    .iter()
                    .map(|b| self.body(b))
                    .collect::<Result<_, _>>()?,
            ),
            BodyTemplate::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, b)| Ok((k.clone(), self.body(b)?)))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

fn render_error(error: RenderError, rest: &RestSpec) -> async_graphql::Error {
    let (RenderError::Missing(var) | RenderError::DotSegment(var)) = &error;
    if var.starts_with("$jwt") {
        coded("authentication required", "UNAUTHENTICATED", None)
    } else {
        coded(
            format!("cannot call {}: {error}", rest.source),
            "BAD_USER_INPUT",
            Some(&rest.source),
        )
    }
}

/// Renders a `@rest` into a call.
fn prepare(
    rest: &RestSpec,
    vars: &Vars<'_>,
    cache: Option<CacheHint>,
) -> Result<PreparedRequest, async_graphql::Error> {
    let mut path_and_query = template::render(&rest.path, Position::Path, |v| vars.text(v))
        .map_err(|e| render_error(e, rest))?;
    let mut separator = if path_and_query.contains('?') {
        '&'
    } else {
        '?'
    };
    for (name, value) in &rest.query {
        match template::render(value, Position::Query, |v| vars.text(v)) {
            Ok(value) => {
                path_and_query.push(separator);
                path_and_query.push_str(&template::encode(name));
                path_and_query.push('=');
                path_and_query.push_str(&value);
                separator = '&';
            }
            // An absent optional argument leaves its parameter out.
            Err(RenderError::Missing(_)) => {}
            Err(error) => return Err(render_error(error, rest)),
        }
    }
    let body = match &rest.body {
        Some(body) => {
            let json = vars.body(body).map_err(|e| render_error(e, rest))?;
            Some(Arc::from(serde_json::to_vec(&json).unwrap_or_default()))
        }
        None => None,
    };
    let mut headers = Vec::with_capacity(rest.headers.len() + vars.caller.forward.len());
    for (name, value) in &rest.headers {
        let text = template::render(value, Position::Raw, |v| vars.text(v))
            .map_err(|e| render_error(e, rest))?;
        let value = HeaderValue::from_str(&text).map_err(|_| {
            coded(
                format!("header {name} has a value that is not allowed"),
                "BAD_USER_INPUT",
                Some(&rest.source),
            )
        })?;
        headers.push((name.clone(), value));
    }
    headers.extend(vars.caller.forward.iter().cloned());
    Ok(PreparedRequest {
        source: rest.source.clone(),
        method: rest.method.clone(),
        route: rest.route.clone(),
        path_and_query,
        body,
        headers,
        scope: scope_for(cache, &vars.caller.scope),
        max_age: cache.map(|c| c.max_age),
    })
}

async fn load(data: &RequestData, key: LoadKey) -> Loaded {
    data.loader.load(key).await
}

/// What a `@rest` found for one parent.
pub(crate) enum Answer {
    /// The value at a place of the response (its `select` applied).
    Value(Loc),
    /// The items of a batch's response that match this parent.
    Items { list: Loc, indices: Vec<usize> },
}

/// The batched call of a field for one parent: prepared once per request and arguments
/// when the plan allows, else for this parent.
fn batch_group(
    rest: &RestSpec,
    vars: &Vars<'_>,
    cache: Option<CacheHint>,
    data: &RequestData,
    match_path: &[String],
) -> Result<Arc<BatchGroup>, async_graphql::Error> {
    let make = || {
        let request = prepare(rest, vars, cache)?;
        let max_batch = data
            .fetcher
            .source(&rest.source)
            .map_or(100, |s| s.max_batch);
        let group = BatchGroup::new(
            request,
            rest.select.clone(),
            match_path.to_vec(),
            max_batch,
            None,
        );
        Ok::<_, async_graphql::Error>(Arc::new(group))
    };
    if !vars.plan.shared_batch {
        return make();
    }
    let plan = std::ptr::from_ref(vars.plan) as usize;
    let args = vars.args;
    let mut groups = data.groups.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(shared) = groups
        .iter()
        .find(|g| g.plan == plan && g.args.as_ref() == args)
    {
        return Ok(shared.group.clone());
    }
    let group = make()?;
    groups.push(SharedGroup {
        plan,
        args: args.cloned(),
        group: group.clone(),
    });
    Ok(group)
}

impl Answer {
    fn from_found(found: Found, select: &[String]) -> Answer {
        match found {
            Found::Whole(response) => Answer::Value(Loc::new(response).join(select)),
            Found::Items { list, indices } => Answer::Items { list, indices },
        }
    }
}

/// Runs a `@rest` for one parent.
pub(crate) async fn call_rest(
    rest: &RestSpec,
    vars: &Vars<'_>,
    cache: Option<CacheHint>,
    data: &RequestData,
    batch_key: Option<String>,
    match_path: Option<&[String]>,
) -> Result<Answer, async_graphql::Error> {
    let found = if let (Some(key), Some(match_path)) = (batch_key, match_path) {
        let group = batch_group(rest, vars, cache, data, match_path)?;
        load(data, LoadKey::Batch(group, key)).await
    } else {
        let request = prepare(rest, vars, cache)?;
        if request.is_cacheable_method() {
            load(data, LoadKey::Call(Arc::new(request))).await
        } else {
            // Writes are never deduplicated: two identical mutations are two calls. Boxed: the
            // HTTP call's future is large, and inline it would size every field's future (and
            // the memory of every field waiting on the loader) by it.
            Box::pin(data.fetcher.fetch(&request, &data.stats))
                .await
                .map(Found::Whole)
        }
    }
    .map_err(|e| fetch_error(&e))?;
    Ok(Answer::from_found(found, &rest.select))
}

/// Converts what a `@rest` found for a field: the value `path` below it, or for a batch
/// the parent's items (a list field) or `path` below its first item (a single field).
fn convert_answer(
    answer: &Answer,
    path: &[String],
    plan: &FieldPlan,
    source: &SourceName,
    data: &RequestData,
) -> Result<Option<FieldValue<'static>>, async_graphql::Error> {
    let (list, indices) = match answer {
        Answer::Value(loc) => {
            return convert_at(
                get_path(loc.value(), path),
                At::Below(loc, path),
                plan,
                source,
                data,
            );
        }
        Answer::Items { list, indices } => (list, indices),
    };
    let BaseType::List(item_type) = &plan.field.ty.base else {
        return match indices.first() {
            Some(&index) => {
                let item = list.item(index);
                convert_at(
                    get_path(item.value(), path),
                    At::Below(&item, path),
                    plan,
                    source,
                    data,
                )
            }
            None => convert_at(&Value::Null, At::Loc(list), plan, source, data),
        };
    };
    let items = list.value();
    let list_at = At::Loc(list);
    let target = Target {
        graph: &plan.graph,
        source,
        entities: &data.entities,
        leaf: plan.leaf.as_ref(),
    };
    let mut out = Vec::with_capacity(indices.len());
    for &index in indices {
        let value = items.get(index).unwrap_or(&Value::Null);
        let converted =
            convert::to_field_value(value, At::Item(&list_at, index), item_type, &target)
                .map_err(|error| bad_value(error, plan, source))?;
        out.push(converted.unwrap_or(FieldValue::NULL));
    }
    Ok(Some(FieldValue::list(out)))
}

async fn resolve_value(
    plan: &FieldPlan,
    ctx: &ResolverContext<'_>,
) -> Result<Option<FieldValue<'static>>, async_graphql::Error> {
    let data = ctx.data::<RequestData>()?;
    check_auth(&plan.auth, &data.caller)?;
    let parent = ctx.parent_value.downcast_ref::<Node>();
    let field = &plan.field;
    match &field.resolution {
        Resolution::Project { path } => project(plan, ctx, path),
        Resolution::Rest { rest, path } => {
            let args = Some(ctx.args.as_index_map());
            let Some(answer) = rest_answer(plan, rest, args, parent.map(Node::json), data).await?
            else {
                // The parent holds no key (an empty list or null): no call is needed.
                let Some(parent) = parent else {
                    return Err(coded("no parent object", "INTERNAL", None));
                };
                let empty = empty_for(field);
                return convert_at(&empty, At::Loc(&parent.loc), plan, &rest.source, data);
            };
            load_ahead_below(plan, ctx, data, &answer, path, &rest.source).await;
            convert_answer(&answer, path, plan, &rest.source, data)
        }
        Resolution::Join { key, .. } => {
            let parent = parent.ok_or_else(|| coded("no parent object", "INTERNAL", None))?;
            let Some(key) = key_text(get_path(parent.json(), key)) else {
                return convert_at(
                    &Value::Null,
                    At::Loc(&parent.loc),
                    plan,
                    &parent.source,
                    data,
                );
            };
            let (entity, cache) = plan
                .entity
                .as_ref()
                .ok_or_else(|| coded("join without entity", "INTERNAL", None))?;
            let rest = &entity.rest;
            let mut vars = Vars {
                plan,
                args: None,
                parent: None,
                caller: &data.caller,
                key: None,
            };
            let answer = if rest.batch.is_some() {
                call_rest(rest, &vars, *cache, data, Some(key), Some(&entity.key_path)).await?
            } else {
                vars.key = Some(&key);
                call_rest(rest, &vars, *cache, data, None, None).await?
            };
            load_ahead_below(plan, ctx, data, &answer, &[], &rest.source).await;
            convert_answer(&answer, &[], plan, &rest.source, data)
        }
    }
}

/// What a `@rest` field's call found for one parent; `None` when the call is batched by a
/// key the parent does not hold (an empty list or null), so that no call is needed.
pub(crate) async fn rest_answer(
    plan: &FieldPlan,
    rest: &RestSpec,
    args: Option<&IndexMap<Name, ConstValue>>,
    parent: Option<&Value>,
    data: &RequestData,
) -> Result<Option<Answer>, async_graphql::Error> {
    let (batch_key, match_path) = match (&rest.batch, parent) {
        (Some(batch), Some(parent)) => match key_text(get_path(parent, &batch.parent_key)) {
            Some(key) => (Some(key), Some(batch.match_path.as_slice())),
            None => return Ok(None),
        },
        _ => (None, None),
    };
    let vars = Vars {
        plan,
        args,
        parent,
        caller: &data.caller,
        key: None,
    };
    call_rest(rest, &vars, plan.cache, data, batch_key, match_path)
        .await
        .map(Some)
}

pub(crate) fn empty_for(field: &FieldSpec) -> Value {
    if is_list(&field.ty) {
        Value::Array(Vec::new())
    } else {
        Value::Null
    }
}

pub(crate) fn bad_value(
    error: ConvertError,
    plan: &FieldPlan,
    source: &SourceName,
) -> async_graphql::Error {
    tracing::debug!(service = source.as_str(), field = plan.field.name, %error, "upstream value does not fit the schema");
    coded(
        format!("{source} sent a value that does not fit the schema: {error}"),
        "UPSTREAM_BAD_RESPONSE",
        Some(source),
    )
}

fn convert_at(
    value: &Value,
    at: At<'_>,
    plan: &FieldPlan,
    source: &SourceName,
    data: &RequestData,
) -> Result<Option<FieldValue<'static>>, async_graphql::Error> {
    let target = Target {
        graph: &plan.graph,
        source,
        entities: &data.entities,
        leaf: plan.leaf.as_ref(),
    };
    convert::to_field_value(value, at, &plan.field.ty, &target)
        .map_err(|error| bad_value(error, plan, source))
}

/// The resolver of a planned field.
pub fn resolve(plan: Arc<FieldPlan>, ctx: ResolverContext<'_>) -> FieldFuture<'_> {
    if !plan.root && ctx.parent_value.downcast_ref::<Node>().is_none() {
        return FieldFuture::new(async { Err::<Option<FieldValue>, _>(null_parent()) });
    }
    if let Resolution::Project { path } = &plan.field.resolution {
        // Most fields are projections of their parent's JSON and need no I/O: answered
        // here, they cost no boxed future (the resolver's future is large, and moving it
        // to the heap for every leaf was a tenth of the gateway's CPU on wide answers).
        return match project(&plan, &ctx, path) {
            Ok(value) => FieldFuture::Value(value),
            Err(error) => FieldFuture::new(async move { Err::<Option<FieldValue>, _>(error) }),
        };
    }
    if let Some(value) = reuse_entity(&plan, &ctx) {
        return FieldFuture::Value(value);
    }
    match loaded_ahead(&plan, &ctx) {
        Some(Ok(value)) => return FieldFuture::Value(value),
        Some(Err(error)) => {
            if let Some(value) = fallback(&plan, &ctx, &error) {
                return FieldFuture::Value(Some(value));
            }
            return FieldFuture::new(async move { Err::<Option<FieldValue>, _>(error) });
        }
        None => {}
    }
    FieldFuture::new(async move {
        match resolve_value(&plan, &ctx).await {
            Err(error) => match fallback(&plan, &ctx, &error) {
                Some(value) => Ok(Some(value)),
                None => Err(error),
            },
            answer => answer,
        }
    })
}

/// The field's `@fallback` value, when it has one and `error` is its service failing.
fn fallback(
    plan: &FieldPlan,
    ctx: &ResolverContext<'_>,
    error: &async_graphql::Error,
) -> Option<FieldValue<'static>> {
    let data = ctx.data::<RequestData>().ok()?;
    fallback_value(plan, data, error).map(FieldValue::value)
}

/// The field's `@fallback` value, when it has one and `error` is its service failing; the
/// request's stats learn that it was served.
pub(crate) fn fallback_value(
    plan: &FieldPlan,
    data: &RequestData,
    error: &async_graphql::Error,
) -> Option<ConstValue> {
    let value = plan.field.fallback.as_ref()?;
    let code = error.extensions.as_ref()?.get("code")?;
    let upstream = matches!(
        code,
        ConstValue::String(code) if matches!(
            code.as_str(),
            "UPSTREAM_TIMEOUT"
                | "UPSTREAM_UNAVAILABLE"
                | "UPSTREAM_ERROR"
                | "UPSTREAM_BAD_RESPONSE"
                | "CIRCUIT_OPEN"
                | "UPSTREAM_OVERLOADED"
        )
    );
    if !upstream {
        return None;
    }
    data.stats
        .served_fallback(format!("{}.{}", plan.parent_type, plan.field.name));
    Some(value.clone())
}

/// Loads ahead what the selection reads below a field's answer (see [`prefetch`]).
async fn load_ahead_below(
    plan: &FieldPlan,
    ctx: &ResolverContext<'_>,
    data: &RequestData,
    answer: &Answer,
    path: &[String],
    source: &SourceName,
) {
    let type_name = named_type(&plan.field.ty);
    if !plan.graph.objects.contains_key(type_name) {
        return;
    }
    let list = matches!(plan.field.ty.base, BaseType::List(_));
    let objects = prefetch::objects(answer, path, list, source);
    prefetch::prefetch(
        data,
        ctx.look_ahead().selection_fields(),
        type_name,
        objects,
    )
    .await;
}

/// A batched field answered from what was loaded ahead for it; `None` when nothing was.
fn loaded_ahead(
    plan: &FieldPlan,
    ctx: &ResolverContext<'_>,
) -> Option<Result<Option<FieldValue<'static>>, async_graphql::Error>> {
    if !plan.shared_batch {
        return None;
    }
    let data = ctx.data::<RequestData>().ok()?;
    check_auth(&plan.auth, &data.caller).ok()?;
    let parent = ctx.parent_value.downcast_ref::<Node>()?;
    let (rest, cache, parent_key, match_path, path, args) = match &plan.field.resolution {
        Resolution::Rest { rest, path } => {
            let batch = rest.batch.as_ref()?;
            let args = Some(ctx.args.as_index_map());
            (
                rest.as_ref(),
                plan.cache,
                &batch.parent_key,
                &batch.match_path,
                path.as_slice(),
                args,
            )
        }
        Resolution::Join { key, .. } => {
            let (entity, cache) = plan.entity.as_ref()?;
            (
                entity.rest.as_ref(),
                *cache,
                key,
                &entity.key_path,
                &[][..],
                None,
            )
        }
        Resolution::Project { .. } => return None,
    };
    let key = key_text(get_path(parent.json(), parent_key))?;
    let vars = Vars {
        plan,
        args,
        parent: None,
        caller: &data.caller,
        key: None,
    };
    let group = batch_group(rest, &vars, cache, data, match_path).ok()?;
    let loaded = data
        .prefetched()
        .get(&LoadKey::Batch(group, key))
        .cloned()
        .flatten()?;
    Some(match loaded {
        Ok(found) => {
            let answer = Answer::from_found(found, &[]);
            convert_answer(&answer, path, plan, &rest.source, data)
        }
        Err(error) => Err(fetch_error(&error)),
    })
}

/// A `@join` answered from an entity this request already holds, when the held record
/// carries what the selection reads; `None` means fetch it as usual (which also reports
/// any error).
fn reuse_entity(
    plan: &FieldPlan,
    ctx: &ResolverContext<'_>,
) -> Option<Option<FieldValue<'static>>> {
    let Resolution::Join { entity, key } = &plan.field.resolution else {
        return None;
    };
    let data = ctx.data::<RequestData>().ok()?;
    check_auth(&plan.auth, &data.caller).ok()?;
    let parent = ctx.parent_value.downcast_ref::<Node>()?;
    let key = key_text(get_path(parent.json(), key))?;
    let held = data.entities.get(entity, &key)?;
    let object = plan.graph.objects.get(entity)?;
    if !entities::covers_selection(&ctx.look_ahead().selection_fields(), object, held.json()) {
        return None;
    }
    convert_at(held.json(), At::Loc(&held.loc), plan, &held.source, data).ok()
}

/// A field read from its parent's JSON.
fn project(
    plan: &FieldPlan,
    ctx: &ResolverContext<'_>,
    path: &[String],
) -> Result<Option<FieldValue<'static>>, async_graphql::Error> {
    let data = ctx.data::<RequestData>()?;
    check_auth(&plan.auth, &data.caller)?;
    let parent = ctx
        .parent_value
        .downcast_ref::<Node>()
        .ok_or_else(|| coded("no parent object", "INTERNAL", None))?;
    let value = get_path(parent.json(), path);
    convert_at(
        value,
        At::Below(&parent.loc, path),
        plan,
        &parent.source,
        data,
    )
}
