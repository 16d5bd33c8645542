//! Step 4 of the pipeline: the validated graph becomes an `async_graphql::dynamic` schema,
//! every field with a resolver planned once here. [`Engine`] is the result: the schema, the
//! fetcher it calls through, and the public SDL.

use std::{
    collections::{BTreeMap, HashMap},
    path::Path,
    sync::Arc,
    time::Duration,
};

use futures_util::StreamExt;

use async_graphql::{
    dynamic::{
        Enum, Field, InputObject, InputValue, Object, Scalar, Schema, Subscription,
        SubscriptionField, TypeRef,
    },
    parser::types::{BaseType, Type},
};

use crate::{
    caller::Caller,
    dedup::InFlight,
    error::{LoadError, SchemaErrors},
    extension::{Admission, EngineExtension},
    fetch::Fetcher,
    limits::{Limiter, QueryLimits},
    live::Hub,
    model::{
        ArgSpec, EntitySpec, FieldSpec, Graph, ObjectSpec, Resolution, SourceName,
        SubscriptionSpec, named_type,
    },
    observe::{Observer, RequestStats},
    plan::Planner,
    resolve::convert::Leaf,
    resolve::{
        self, EventErrors, FieldPlan, Plans, RequestData,
        subscribe::{self, StreamPlan},
    },
    sdl,
    template::VarRoot,
};

/// Per-environment settings of one source, replacing the schema's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceOverride {
    pub url: Option<String>,
    pub timeout: Option<Duration>,
    /// Resilience settings; `None` keeps the defaults.
    pub policy: Option<crate::model::SourcePolicy>,
}

/// How to build an engine beyond what the schema file says.
#[derive(Clone)]
pub struct EngineOptions {
    pub sources: BTreeMap<String, SourceOverride>,
    /// Bound of the response cache, in bytes of response bodies.
    pub cache_bytes: u64,
    pub introspection: bool,
    pub limits: QueryLimits,
    /// The host's admission check (the gateway's rate limiter), asked once per operation.
    pub admission: Option<Arc<dyn Admission>>,
    /// Identical queries of one caller scope arriving while one executes share its answer.
    pub dedup: bool,
    /// Queries run on the planned executor where their plan allows ([`crate::plan`]).
    pub planned: bool,
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("sources", &self.sources)
            .field("cache_bytes", &self.cache_bytes)
            .field("introspection", &self.introspection)
            .field("limits", &self.limits)
            .field("admission", &self.admission.is_some())
            .field("dedup", &self.dedup)
            .field("planned", &self.planned)
            .finish()
    }
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            sources: BTreeMap::new(),
            cache_bytes: 64 * 1024 * 1024,
            introspection: true,
            limits: QueryLimits::default(),
            admission: None,
            dedup: true,
            planned: true,
        }
    }
}

/// An executable graph.
pub struct Engine {
    schema: Schema,
    fetcher: Arc<Fetcher>,
    graph: Arc<Graph>,
    plans: Arc<Plans>,
    sdl: String,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("fetcher", &self.fetcher)
            .finish_non_exhaustive()
    }
}

fn type_ref(ty: &Type) -> TypeRef {
    let inner = match &ty.base {
        BaseType::Named(name) => TypeRef::Named(name.to_string().into()),
        BaseType::List(item) => TypeRef::List(Box::new(type_ref(item))),
    };
    if ty.nullable {
        inner
    } else {
        TypeRef::NonNull(Box::new(inner))
    }
}

fn input_value(arg: &ArgSpec) -> InputValue {
    let mut value = InputValue::new(arg.name.clone(), type_ref(&arg.ty));
    if let Some(description) = &arg.description {
        value = value.description(description.clone());
    }
    if let Some(default) = &arg.default {
        value = value.default_value(default.clone());
    }
    value
}

fn build_object(
    graph: &Arc<Graph>,
    object: &ObjectSpec,
    plans: &mut HashMap<String, HashMap<String, Arc<FieldPlan>>>,
) -> Object {
    let parent_paths: HashMap<String, Vec<String>> = object
        .fields
        .iter()
        .filter_map(|f| match &f.resolution {
            Resolution::Project { path } => Some((f.name.clone(), path.clone())),
            _ => None,
        })
        .collect();
    let mut built = Object::new(object.name.clone());
    if let Some(description) = &object.description {
        built = built.description(description.clone());
    }
    for field in &object.fields {
        let target = graph.objects.get(named_type(&field.ty));
        let mut auth = field.auth.clone();
        if let Some(target) = target {
            auth.require(&target.auth);
        }
        let entity = match &field.resolution {
            Resolution::Join { entity, .. } => graph
                .objects
                .get(entity)
                .and_then(|t| t.entity.clone().map(|e| (e, t.cache))),
            _ => None,
        };
        let plan = Arc::new(FieldPlan {
            graph: graph.clone(),
            parent_type: object.name.clone(),
            field: field.clone(),
            auth,
            cache: field.cache.or(target.and_then(|t| t.cache)),
            shared_batch: shares_batch(&field.resolution, entity.as_ref().map(|(e, _)| e)),
            root: object.name == graph.query || graph.mutation.as_ref() == Some(&object.name),
            leaf: Leaf::of(named_type(&field.ty), graph),
            entity,
            parent_paths: parent_paths.clone(),
        });
        plans
            .entry(object.name.clone())
            .or_default()
            .insert(field.name.clone(), plan.clone());
        let mut built_field = Field::new(field.name.clone(), type_ref(&field.ty), move |ctx| {
            resolve::resolve(plan.clone(), ctx)
        });
        if let Some(description) = &field.description {
            built_field = built_field.description(description.clone());
        }
        for arg in &field.args {
            built_field = built_field.argument(input_value(arg));
        }
        built = built.field(built_field);
    }
    built
}

/// The subscription root: each field joins its upstream stream through `hub`.
fn build_subscription(graph: &Arc<Graph>, spec: &SubscriptionSpec, hub: &Arc<Hub>) -> Subscription {
    let mut built = Subscription::new(spec.name.clone());
    if let Some(description) = &spec.description {
        built = built.description(description.clone());
    }
    for field in &spec.fields {
        let mut auth = field.auth.clone();
        if let Some(target) = graph.objects.get(named_type(&field.ty)) {
            auth.require(&target.auth);
        }
        let plan = Arc::new(StreamPlan {
            plan: Arc::new(FieldPlan {
                graph: graph.clone(),
                parent_type: spec.name.clone(),
                field: FieldSpec {
                    name: field.name.clone(),
                    description: field.description.clone(),
                    ty: field.ty.clone(),
                    args: field.args.clone(),
                    resolution: Resolution::Rest {
                        rest: field.stream.rest.clone(),
                        path: Vec::new(),
                    },
                    cache: None,
                    auth: field.auth.clone(),
                    fallback: None,
                    pos: field.pos,
                },
                auth,
                cache: None,
                entity: None,
                parent_paths: HashMap::new(),
                shared_batch: false,
                root: true,
                leaf: Leaf::of(named_type(&field.ty), graph),
            }),
            rest: field.stream.rest.clone(),
            event: field.stream.event.clone(),
            hub: hub.clone(),
        });
        let mut built_field =
            SubscriptionField::new(field.name.clone(), type_ref(&field.ty), move |ctx| {
                subscribe::subscribe(plan.clone(), ctx)
            });
        if let Some(description) = &field.description {
            built_field = built_field.description(description.clone());
        }
        for arg in &field.args {
            built_field = built_field.argument(input_value(arg));
        }
        built = built.field(built_field);
    }
    built
}

impl Engine {
    /// Reads, validates and builds the schema file at `file`.
    pub fn load(file: &Path, options: &EngineOptions) -> Result<Engine, LoadError> {
        let text = std::fs::read_to_string(file).map_err(|error| LoadError::Read {
            file: file.to_owned(),
            error,
        })?;
        Engine::from_sdl(file, &text, options)
    }

    /// Validates and builds schema `text`; `file` names it in errors.
    pub fn from_sdl(file: &Path, text: &str, options: &EngineOptions) -> Result<Engine, LoadError> {
        let mut graph = sdl::load_graph(file, text)?;
        for (name, change) in &options.sources {
            let Some(source) = graph.sources.values_mut().find(|s| s.name.as_str() == name) else {
                return Err(LoadError::UnknownSource {
                    name: name.clone(),
                    known: graph.sources.keys().map(|s| s.to_string()).collect(),
                });
            };
            if let Some(url) = &change.url {
                source.url = url.trim_end_matches('/').to_owned();
            }
            if let Some(timeout) = change.timeout {
                source.timeout = timeout;
            }
            if let Some(policy) = &change.policy {
                source.policy = policy.clone();
            }
        }
        let graph = Arc::new(graph);
        let fetcher = Arc::new(
            Fetcher::new(&graph.sources, options.cache_bytes)
                .map_err(|e| LoadError::Build(e.to_string()))?,
        );
        let streamed: Vec<SourceName> = graph
            .subscription
            .iter()
            .flat_map(|s| &s.fields)
            .map(|f| f.stream.rest.source.clone())
            .collect();
        let hub = Arc::new(
            Hub::new(&graph.sources, &streamed, fetcher.observer_slot())
                .map_err(|e| LoadError::Build(e.to_string()))?,
        );
        let mut builder = Schema::build(
            &graph.query,
            graph.mutation.as_deref(),
            graph.subscription.as_ref().map(|s| s.name.as_str()),
        );
        if let Some(subscription) = &graph.subscription {
            builder = builder.register(build_subscription(&graph, subscription, &hub));
        }
        let mut plans = HashMap::new();
        for object in graph.objects.values() {
            builder = builder.register(build_object(&graph, object, &mut plans));
        }
        let plans = Arc::new(Plans {
            graph: graph.clone(),
            by_type: plans,
        });
        for spec in graph.enums.values() {
            let mut built = Enum::new(spec.name.clone()).items(spec.values.iter().cloned());
            if let Some(description) = &spec.description {
                built = built.description(description.clone());
            }
            builder = builder.register(built);
        }
        for spec in graph.inputs.values() {
            let mut built = InputObject::new(spec.name.clone());
            for field in &spec.fields {
                built = built.field(input_value(field));
            }
            if let Some(description) = &spec.description {
                built = built.description(description.clone());
            }
            builder = builder.register(built);
        }
        for spec in graph.scalars.values() {
            let mut built = Scalar::new(spec.name.clone());
            if let Some(description) = &spec.description {
                built = built.description(description.clone());
            }
            builder = builder.register(built);
        }
        // One extension only: async-graphql runs every extension for every field.
        builder = builder.extension(EngineExtension {
            limiter: Arc::new(Limiter::new(options.limits.clone(), &graph)),
            admission: options.admission.clone(),
            in_flight: options.dedup.then(|| Arc::new(InFlight::default())),
            planner: options
                .planned
                .then(|| Arc::new(Planner::new(plans.clone()))),
        });
        if !options.introspection {
            builder = builder.disable_introspection().disable_suggestions();
        }
        let schema = builder.finish().map_err(|e| {
            LoadError::Invalid(SchemaErrors {
                file: file.to_owned(),
                diagnostics: vec![crate::error::Diagnostic::new(Default::default(), e.0)],
            })
        })?;
        let sdl = schema.sdl();
        Ok(Engine {
            schema,
            fetcher,
            graph,
            plans,
            sdl,
        })
    }

    /// Attaches the host's observer of upstream calls (metrics, trace context); the first
    /// one attached stays.
    pub fn observe(&self, observer: Arc<dyn Observer>) {
        self.fetcher.observe(observer);
    }

    /// Attaches a second-level response cache shared with other replicas; the first one
    /// attached stays.
    pub fn share_cache(&self, cache: Arc<dyn crate::fetch::shared::SharedCache>) {
        self.fetcher.share(cache);
    }

    /// Executes one GraphQL request for `caller`; `stats` learns what it cost upstream.
    pub async fn execute(
        &self,
        request: async_graphql::Request,
        caller: Caller,
        stats: Arc<RequestStats>,
    ) -> async_graphql::Response {
        let data = RequestData::new(caller, self.fetcher.clone(), self.plans.clone(), stats);
        self.schema.execute(request.data(data)).await
    }

    /// Executes a subscription (or any operation, as a stream of one answer) for `caller`:
    /// one response per event, until the stream ends or is dropped.
    pub fn execute_stream(
        &self,
        request: async_graphql::Request,
        caller: Caller,
        stats: Arc<RequestStats>,
    ) -> futures_util::stream::BoxStream<'static, async_graphql::Response> {
        let mut data = RequestData::new(caller, self.fetcher.clone(), self.plans.clone(), stats);
        let held = Arc::new(EventErrors::default());
        data.streaming = Some(held.clone());
        self.schema
            .execute_stream(request.data(data))
            .map(move |mut response| {
                held.restore(&mut response);
                response
            })
            .boxed()
    }

    /// Executes one request or a batch, each operation on its own as if sent alone.
    pub async fn execute_batch(
        &self,
        batch: async_graphql::BatchRequest,
        caller: Caller,
        stats: Arc<RequestStats>,
    ) -> async_graphql::BatchResponse {
        match batch {
            async_graphql::BatchRequest::Single(request) => {
                async_graphql::BatchResponse::Single(self.execute(request, caller, stats).await)
            }
            async_graphql::BatchRequest::Batch(requests) => {
                let runs = requests
                    .into_iter()
                    .map(|request| self.execute(request, caller.clone(), stats.clone()));
                async_graphql::BatchResponse::Batch(futures_util::future::join_all(runs).await)
            }
        }
    }

    /// The public SDL: the types clients see, without routing directives.
    pub fn sdl(&self) -> &str {
        &self.sdl
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    pub fn fetcher(&self) -> &Arc<Fetcher> {
        &self.fetcher
    }

    /// Every field's plan.
    #[cfg(test)]
    pub(crate) fn plans(&self) -> &Arc<Plans> {
        &self.plans
    }
}

/// Whether every parent of the field makes the same batched call but for its key (see
/// [`FieldPlan::shared_batch`]).
fn shares_batch(resolution: &Resolution, entity: Option<&EntitySpec>) -> bool {
    let rest = match resolution {
        Resolution::Rest { rest, .. } => rest.as_ref(),
        Resolution::Join { .. } => match entity {
            Some(entity) => entity.rest.as_ref(),
            None => return false,
        },
        Resolution::Project { .. } => return false,
    };
    rest.batch.is_some() && !rest.uses(&VarRoot::Parent)
}
