//! A query's text to its field plan: the selection of each object flattened (fragments
//! inlined, duplicate leaves merged), every field tied to its [`FieldPlan`], once per query
//! text. Whatever the planned executor does not handle is refused with the reason, and the
//! query runs on async-graphql's executor instead.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    Name, Positioned, Value as ConstValue,
    indexmap::IndexMap,
    parser::{
        Pos,
        types::{
            DocumentOperations, ExecutableDocument, Field, FragmentDefinition, OperationType,
            Selection as AstSelection, SelectionSet, VariableDefinition,
        },
    },
};
use async_graphql_value::Value as InputValue;

use crate::{
    model::{Resolution, named_type},
    resolve::{FieldPlan, Plans},
};

/// Every operation of one document, planned or refused.
#[derive(Debug)]
pub struct DocumentPlan {
    operations: Vec<(Option<Name>, OperationOutcome)>,
}

/// One operation's plan, or why it has none.
type OperationOutcome = Result<Arc<OperationPlan>, Unsupported>;

impl DocumentPlan {
    /// The plan of the operation async-graphql chose by `name` (the only one when `None`).
    pub fn operation(&self, name: Option<&str>) -> Result<&Arc<OperationPlan>, &Unsupported> {
        let found = match name {
            Some(name) => self
                .operations
                .iter()
                .find(|(n, _)| n.as_ref().is_some_and(|n| n.as_str() == name)),
            None if self.operations.len() == 1 => self.operations.first(),
            None => None,
        };
        match found {
            Some((_, plan)) => plan.as_ref(),
            None => Err(&Unsupported::NoOperation),
        }
    }
}

/// Why a query runs on async-graphql's executor instead of the planned one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsupported {
    #[error("not a query")]
    NotAQuery,
    #[error("no such operation")]
    NoOperation,
    #[error("introspection")]
    Introspection,
    #[error("`@skip` or `@include`, or another directive")]
    Directive,
    #[error("`{0}` is selected twice as different fields or with different arguments")]
    Merge(String),
    #[error("unknown field `{0}`")]
    UnknownField(String),
    #[error("unknown fragment `{0}`")]
    UnknownFragment(String),
    #[error("fragment `{0}` spreads itself")]
    FragmentCycle(String),
    #[error("a fragment on another type")]
    OtherType,
    #[error("a projected field on the root type")]
    RootProjection,
}

/// One query operation, ready to execute against any variables.
#[derive(Debug)]
pub struct OperationPlan {
    pub root: Selection,
    pub variables: Vec<Positioned<VariableDefinition>>,
}

/// The fields selected on one object type, in response order.
#[derive(Debug)]
pub struct Selection {
    pub type_name: String,
    pub fields: Vec<Planned>,
    /// Whether any field here or below calls a service: when none does, the selection is
    /// answered by walking the parent's JSON, with no future.
    pub calls: bool,
    /// Where the entity key is in this type's JSON, when a `@join` of the operation reads
    /// this type: each object is then kept for the joins to reuse.
    pub keep: Option<Vec<String>>,
}

/// One selected field.
#[derive(Debug)]
pub struct Planned {
    /// The response key: the alias, else the field name.
    pub key: Name,
    /// Where the field is in the query, for errors.
    pub pos: Pos,
    pub kind: Kind,
}

#[derive(Debug)]
pub enum Kind {
    /// `__typename`: the object type's name.
    Typename(Name),
    /// A field read from its parent's JSON.
    Project {
        plan: Arc<FieldPlan>,
        path: Vec<String>,
        below: Option<Selection>,
    },
    /// A field answered by a `@rest` call.
    Call {
        plan: Arc<FieldPlan>,
        args: Args,
        below: Option<Selection>,
    },
    /// A `@join`: the entity whose key is at `key` in the parent's JSON, from a record
    /// the request holds already or through the entity's lookup.
    Join {
        plan: Arc<FieldPlan>,
        key: Vec<String>,
        entity: String,
        below: Option<Selection>,
    },
}

/// A field's arguments: resolved once when the query gives them literally, else against
/// each request's variables.
#[derive(Debug, PartialEq)]
pub enum Args {
    Const(IndexMap<Name, ConstValue>),
    Variables {
        given: Vec<(Name, Positioned<InputValue>)>,
        /// The declared defaults of the arguments not given.
        defaults: Vec<(Name, ConstValue)>,
    },
}

/// A field's arguments as async-graphql hands them to a resolver: those given, in the
/// query's order, then the declared defaults of the others.
fn args(field: &Positioned<Field>, plan: &FieldPlan) -> Args {
    let given: Vec<(Name, Positioned<InputValue>)> = field
        .node
        .arguments
        .iter()
        .map(|(name, value)| (name.node.clone(), value.clone()))
        .collect();
    let defaults: Vec<(Name, ConstValue)> = plan
        .field
        .args
        .iter()
        .filter(|arg| !given.iter().any(|(name, _)| name.as_str() == arg.name))
        .filter_map(|arg| Some((Name::new(&arg.name), arg.default.clone()?)))
        .collect();
    let literal: Option<IndexMap<Name, ConstValue>> = given
        .iter()
        .map(|(name, value)| Some((name.clone(), value.node.clone().into_const()?)))
        .collect();
    match literal {
        Some(mut literal) => {
            literal.extend(defaults);
            Args::Const(literal)
        }
        None => Args::Variables { given, defaults },
    }
}

/// Plans every operation of `document`.
pub fn document(plans: &Plans, document: &ExecutableDocument) -> DocumentPlan {
    let compiler = Compiler {
        plans,
        fragments: &document.fragments,
    };
    let operations = match &document.operations {
        DocumentOperations::Single(op) => vec![(None, compiler.operation(op))],
        DocumentOperations::Multiple(ops) => ops
            .iter()
            .map(|(name, op)| (Some(name.clone()), compiler.operation(op)))
            .collect(),
    };
    DocumentPlan { operations }
}

struct Compiler<'a> {
    plans: &'a Plans,
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
}

impl Compiler<'_> {
    fn operation(
        &self,
        op: &Positioned<async_graphql::parser::types::OperationDefinition>,
    ) -> Result<Arc<OperationPlan>, Unsupported> {
        if op.node.ty != OperationType::Query {
            return Err(Unsupported::NotAQuery);
        }
        if !op.node.directives.is_empty() {
            return Err(Unsupported::Directive);
        }
        let root = &self.plans.graph.query;
        let mut fields = Vec::new();
        let mut spreads = Vec::new();
        self.collect(root, &op.node.selection_set, &mut fields, &mut spreads)?;
        if fields
            .iter()
            .any(|f: &Planned| matches!(f.kind, Kind::Project { .. }))
        {
            return Err(Unsupported::RootProjection);
        }
        let mut root = Selection::new(root, fields);
        let mut joined = Vec::new();
        root.joined(&mut joined);
        let entities: Vec<(String, Vec<String>)> = joined
            .into_iter()
            .filter_map(|name| {
                let key = self.plans.graph.objects.get(&name)?.entity.as_ref()?;
                Some((name, key.key_path.clone()))
            })
            .collect();
        root.keep(&entities);
        Ok(Arc::new(OperationPlan {
            root,
            variables: op.node.variable_definitions.clone(),
        }))
    }

    /// Adds the fields `set` selects on `type_name` to `fields`, fragments inlined;
    /// `spreads` holds the fragments being inlined (a cycle is refused, never followed:
    /// plans are made before async-graphql validates the query).
    fn collect(
        &self,
        type_name: &str,
        set: &Positioned<SelectionSet>,
        fields: &mut Vec<Planned>,
        spreads: &mut Vec<Name>,
    ) -> Result<(), Unsupported> {
        for item in &set.node.items {
            match &item.node {
                AstSelection::Field(field) => {
                    let planned = self.field(type_name, field, spreads)?;
                    match fields.iter_mut().find(|f| f.key == planned.key) {
                        None => fields.push(planned),
                        Some(seen) => seen.merge(planned)?,
                    }
                }
                AstSelection::FragmentSpread(spread) => {
                    if !spread.node.directives.is_empty() {
                        return Err(Unsupported::Directive);
                    }
                    let name = &spread.node.fragment_name.node;
                    if spreads.contains(name) {
                        return Err(Unsupported::FragmentCycle(name.to_string()));
                    }
                    let fragment = self
                        .fragments
                        .get(name)
                        .ok_or_else(|| Unsupported::UnknownFragment(name.to_string()))?;
                    if !fragment.node.directives.is_empty() {
                        return Err(Unsupported::Directive);
                    }
                    if fragment.node.type_condition.node.on.node.as_str() != type_name {
                        return Err(Unsupported::OtherType);
                    }
                    spreads.push(name.clone());
                    self.collect(type_name, &fragment.node.selection_set, fields, spreads)?;
                    spreads.pop();
                }
                AstSelection::InlineFragment(inline) => {
                    if !inline.node.directives.is_empty() {
                        return Err(Unsupported::Directive);
                    }
                    if let Some(condition) = &inline.node.type_condition
                        && condition.node.on.node.as_str() != type_name
                    {
                        return Err(Unsupported::OtherType);
                    }
                    self.collect(type_name, &inline.node.selection_set, fields, spreads)?;
                }
            }
        }
        Ok(())
    }

    fn field(
        &self,
        type_name: &str,
        field: &Positioned<Field>,
        spreads: &mut Vec<Name>,
    ) -> Result<Planned, Unsupported> {
        let node = &field.node;
        if !node.directives.is_empty() {
            return Err(Unsupported::Directive);
        }
        let key = node.response_key().node.clone();
        let name = node.name.node.as_str();
        if name == "__typename" {
            return Ok(Planned {
                key,
                pos: field.pos,
                kind: Kind::Typename(Name::new(type_name)),
            });
        }
        if name.starts_with("__") {
            return Err(Unsupported::Introspection);
        }
        let plan = self
            .plans
            .by_type
            .get(type_name)
            .and_then(|fields| fields.get(name))
            .ok_or_else(|| Unsupported::UnknownField(format!("{type_name}.{name}")))?;
        let below = if self
            .plans
            .graph
            .objects
            .contains_key(named_type(&plan.field.ty))
        {
            let mut fields = Vec::new();
            self.collect(
                named_type(&plan.field.ty),
                &node.selection_set,
                &mut fields,
                spreads,
            )?;
            Some(Selection::new(named_type(&plan.field.ty), fields))
        } else {
            None
        };
        let kind = match &plan.field.resolution {
            Resolution::Project { path } => Kind::Project {
                plan: plan.clone(),
                path: path.clone(),
                below,
            },
            Resolution::Rest { .. } => Kind::Call {
                plan: plan.clone(),
                args: args(field, plan),
                below,
            },
            Resolution::Join { entity, key } => Kind::Join {
                plan: plan.clone(),
                key: key.clone(),
                entity: entity.clone(),
                below,
            },
        };
        Ok(Planned {
            key,
            pos: field.pos,
            kind,
        })
    }
}

impl Planned {
    /// Whether answering the field calls a service, here or below.
    pub fn calls(&self) -> bool {
        match &self.kind {
            Kind::Typename(_) => false,
            Kind::Call { .. } | Kind::Join { .. } => true,
            Kind::Project { below, .. } => below.as_ref().is_some_and(|b| b.calls),
        }
    }

    /// Merges a second selection of the same response key into this one, as GraphQL's
    /// field collection does: the same field with the same arguments, its sub-selections
    /// combined. Anything else is left to async-graphql (which validates the query after
    /// it is planned).
    fn merge(&mut self, other: Planned) -> Result<(), Unsupported> {
        let refused = Unsupported::Merge(other.key.to_string());
        match (&mut self.kind, other.kind) {
            (Kind::Typename(a), Kind::Typename(b)) if *a == b => Ok(()),
            (
                Kind::Project { plan, below, .. },
                Kind::Project {
                    plan: other_plan,
                    below: other_below,
                    ..
                },
            ) if Arc::ptr_eq(plan, &other_plan) => merge_below(below, other_below, refused),
            (
                Kind::Call { plan, args, below },
                Kind::Call {
                    plan: other_plan,
                    args: other_args,
                    below: other_below,
                },
            ) if Arc::ptr_eq(plan, &other_plan) && *args == other_args => {
                merge_below(below, other_below, refused)
            }
            (
                Kind::Join { plan, below, .. },
                Kind::Join {
                    plan: other_plan,
                    below: other_below,
                    ..
                },
            ) if Arc::ptr_eq(plan, &other_plan) => merge_below(below, other_below, refused),
            _ => Err(refused),
        }
    }
}

/// Merges `other` into `below`: both leaves, or both selections combined.
fn merge_below(
    below: &mut Option<Selection>,
    other: Option<Selection>,
    refused: Unsupported,
) -> Result<(), Unsupported> {
    match (below, other) {
        (None, None) => Ok(()),
        (Some(below), Some(other)) => {
            below.calls |= other.calls;
            for field in other.fields {
                match below.fields.iter_mut().find(|f| f.key == field.key) {
                    None => below.fields.push(field),
                    Some(seen) => seen.merge(field)?,
                }
            }
            Ok(())
        }
        _ => Err(refused),
    }
}

impl Selection {
    fn new(type_name: &str, fields: Vec<Planned>) -> Self {
        let calls = fields.iter().any(Planned::calls);
        Selection {
            type_name: type_name.to_owned(),
            fields,
            calls,
            keep: None,
        }
    }

    /// The selections below, each once.
    fn below_mut(&mut self) -> impl Iterator<Item = &mut Selection> {
        self.fields.iter_mut().filter_map(|f| match &mut f.kind {
            Kind::Typename(_) => None,
            Kind::Project { below, .. } | Kind::Call { below, .. } | Kind::Join { below, .. } => {
                below.as_mut()
            }
        })
    }

    /// The entity types the `@join`s here and below read.
    fn joined(&self, into: &mut Vec<String>) {
        for field in &self.fields {
            let below = match &field.kind {
                Kind::Typename(_) => None,
                Kind::Join { entity, below, .. } => {
                    if !into.contains(entity) {
                        into.push(entity.clone());
                    }
                    below.as_ref()
                }
                Kind::Project { below, .. } | Kind::Call { below, .. } => below.as_ref(),
            };
            if let Some(below) = below {
                below.joined(into);
            }
        }
    }

    /// Marks the selections of `entities` to keep their objects, with their key paths.
    fn keep(&mut self, entities: &[(String, Vec<String>)]) {
        if let Some((_, key)) = entities.iter().find(|(name, _)| *name == self.type_name) {
            self.keep = Some(key.clone());
        }
        for below in self.below_mut() {
            below.keep(entities);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use async_graphql::parser::parse_query;

    use super::{Kind, Unsupported, document};
    use crate::{Engine, EngineOptions, SHOP_SCHEMA};

    fn plan(query: &str) -> Result<Vec<String>, Unsupported> {
        let engine = Engine::from_sdl(
            Path::new("shop.graphql"),
            SHOP_SCHEMA,
            &EngineOptions::default(),
        )
        .expect("the shop builds");
        let parsed = parse_query(query).expect("the query parses");
        let plan = document(engine.plans(), &parsed);
        let op = plan.operation(None).map_err(Clone::clone)?;
        // The planned root fields, with what each does.
        Ok(op
            .root
            .fields
            .iter()
            .map(|f| {
                let kind = match &f.kind {
                    Kind::Typename(_) => "typename",
                    Kind::Project { .. } => "project",
                    Kind::Call { .. } => "call",
                    Kind::Join { .. } => "join",
                };
                format!("{}:{kind}", f.key)
            })
            .collect())
    }

    #[test]
    fn plans_calls_projections_fragments_and_aliases() {
        assert_eq!(
            plan(
                "{ __typename a: user(id: 1) { ...F id } } fragment F on User { name ... on User { id } }"
            ),
            Ok(vec!["__typename:typename".to_owned(), "a:call".to_owned()])
        );
        assert_eq!(
            plan("query($n: Int) { products(first: $n) { sku } }"),
            Ok(vec!["products:call".to_owned()])
        );
        assert_eq!(
            plan("{ order(id: 1) { user { name } } }"),
            Ok(vec!["order:call".to_owned()])
        );
    }

    #[test]
    fn leaves_what_it_does_not_plan_to_async_graphql() {
        let refused = [
            (
                "mutation { markNotificationRead(id: 1) { id } }",
                Unsupported::NotAQuery,
            ),
            (
                "{ __schema { queryType { name } } }",
                Unsupported::Introspection,
            ),
            (
                "{ user(id: 1) { name @skip(if: true) } }",
                Unsupported::Directive,
            ),
            (
                "{ user(id: 1) { orders(first: 1) { id } orders(first: 2) { total } } }",
                Unsupported::Merge("orders".to_owned()),
            ),
            (
                "{ user(id: 1) { nope } }",
                Unsupported::UnknownField("User.nope".to_owned()),
            ),
        ];
        for (query, reason) in refused {
            assert_eq!(plan(query), Err(reason), "{query}");
        }
    }

    #[test]
    fn a_fragment_cycle_is_refused_not_followed() {
        // Planned before validation, which would refuse it: the planner must not loop.
        let query =
            "{ user(id: 1) { ...A } } fragment A on User { ...B } fragment B on User { ...A }";
        assert_eq!(plan(query), Err(Unsupported::FragmentCycle("A".to_owned())));
    }
}
