//! What an operation would cost, read off the parsed document before validation and
//! execution: depth, aliases, root fields and an estimated cost.
//!
//! The cost follows the common convention (IBM's GraphQL cost spec, GitHub's node limit):
//! an object-typed field costs 1, a scalar 0, and a list field multiplies the cost of its
//! subtree by its size: the value of its slicing argument (`first`, ...), else that
//! argument's default, else the configured default list size.
//!
//! It also tells whether an operation reads only public data: every field it selects is
//! open to anyone and comes from calls the schema caches for any caller (`@cacheControl(
//! scope: PUBLIC)`), reading no caller identity. Such an operation answers every caller
//! alike, so identical ones in flight may share one execution whoever sends them.
//!
//! Fragments are summarised once each, so a document that spreads a fragment many times
//! costs a walk linear in its size, while its expansion is still what gets counted.

use std::collections::HashMap;

use async_graphql::{
    Name, Positioned, Value as ConstValue, Variables,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use crate::{
    model::{
        CacheHint, CacheScope, FieldSpec, Graph, ObjectSpec, Resolution, RestSpec, is_list,
        named_type,
    },
    template::VarRoot,
};

/// What the analysis needs to know of a field.
#[derive(Debug, Clone)]
struct FieldShape {
    type_name: String,
    object: bool,
    list: bool,
    /// Default of each slicing argument the field declares.
    slicing_defaults: Vec<(String, Option<u64>)>,
    /// Anyone may read it, and its value is the same for every caller.
    public: bool,
}

/// Whether a call's answer is the same for every caller: cached for any caller, and its
/// request reads no identity.
fn public_call(rest: &RestSpec, hint: Option<CacheHint>) -> bool {
    hint.is_some_and(|hint| hint.scope == CacheScope::Public)
        && !rest.uses(&VarRoot::Jwt)
        && !rest.uses(&VarRoot::Headers)
}

/// Whether `field` (of a type whose own fields' publicness its parent field decided) is
/// the same for every caller.
fn public_field(graph: &Graph, field: &FieldSpec, target: Option<&ObjectSpec>) -> bool {
    let mut auth = field.auth.clone();
    if let Some(target) = target {
        auth.require(&target.auth);
    }
    if !auth.is_open() {
        return false;
    }
    match &field.resolution {
        Resolution::Project { .. } => true,
        Resolution::Rest { rest, .. } => {
            public_call(rest, field.cache.or(target.and_then(|t| t.cache)))
        }
        Resolution::Join { entity, .. } => graph.objects.get(entity).is_some_and(|entity| {
            entity
                .entity
                .as_ref()
                .is_some_and(|lookup| public_call(&lookup.rest, entity.cache))
        }),
    }
}

/// Every object type's fields, as the cost analysis sees them.
#[derive(Debug, Default)]
pub struct Shapes {
    types: HashMap<String, HashMap<String, FieldShape>>,
    default_list_size: u64,
}

impl Shapes {
    pub fn new(graph: &Graph, slicing: &[String], default_list_size: u64) -> Shapes {
        let mut types = HashMap::new();
        for object in graph.objects.values() {
            let fields = object
                .fields
                .iter()
                .map(|field| {
                    let type_name = named_type(&field.ty).to_owned();
                    let public = public_field(graph, field, graph.objects.get(&type_name));
                    let slicing_defaults = field
                        .args
                        .iter()
                        .filter(|arg| slicing.contains(&arg.name))
                        .map(|arg| (arg.name.clone(), arg.default.as_ref().and_then(size_of)))
                        .collect();
                    let shape = FieldShape {
                        public,
                        object: graph.objects.contains_key(&type_name),
                        list: is_list(&field.ty),
                        type_name,
                        slicing_defaults,
                    };
                    (field.name.clone(), shape)
                })
                .collect();
            types.insert(object.name.clone(), fields);
        }
        Shapes {
            types,
            default_list_size,
        }
    }

    fn field(&self, type_name: Option<&str>, field: &str) -> Option<&FieldShape> {
        self.types.get(type_name?)?.get(field)
    }
}

fn size_of(value: &ConstValue) -> Option<u64> {
    match value {
        ConstValue::Number(n) => Some(n.as_u64().unwrap_or(0)),
        _ => None,
    }
}

/// The measures of one operation (or one selection set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub cost: u64,
    /// Levels of fields: `{ a }` is 1, `{ a { b } }` is 2.
    pub depth: usize,
    pub aliases: usize,
    /// Fields at the top level of the selection set, through fragments.
    pub fields: usize,
    /// Every field selected is the same for every caller (see the module's notes).
    pub public: bool,
}

impl Default for Summary {
    /// Nothing selected: no cost, and nothing private.
    fn default() -> Self {
        Summary {
            cost: 0,
            depth: 0,
            aliases: 0,
            fields: 0,
            public: true,
        }
    }
}

impl Summary {
    fn add(&mut self, other: Summary) {
        self.cost = self.cost.saturating_add(other.cost);
        self.depth = self.depth.max(other.depth);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.fields = self.fields.saturating_add(other.fields);
        self.public &= other.public;
    }
}

struct Walk<'a> {
    shapes: &'a Shapes,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    fragments: HashMap<&'a Name, Summary>,
    visiting: Vec<&'a Name>,
}

/// The summary of each operation of `document`.
pub fn analyze(
    shapes: &Shapes,
    document: &ExecutableDocument,
    variables: &Variables,
) -> Vec<Summary> {
    let mut walk = Walk {
        shapes,
        document,
        variables,
        fragments: HashMap::new(),
        visiting: Vec::new(),
    };
    let root = |ty| match ty {
        async_graphql::parser::types::OperationType::Query => Some("Query"),
        async_graphql::parser::types::OperationType::Mutation => Some("Mutation"),
        async_graphql::parser::types::OperationType::Subscription => Some("Subscription"),
    };
    document
        .operations
        .iter()
        .map(|(_, operation)| {
            walk.selection_set(&operation.node.selection_set, root(operation.node.ty))
        })
        .collect()
}

impl<'a> Walk<'a> {
    fn selection_set(
        &mut self,
        set: &'a Positioned<SelectionSet>,
        type_name: Option<&str>,
    ) -> Summary {
        let mut summary = Summary::default();
        for item in &set.node.items {
            match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let shape = self.shapes.field(type_name, field.name.node.as_str());
                    let child = if field.selection_set.node.items.is_empty() {
                        Summary::default()
                    } else {
                        let child_type = shape.map(|s| s.type_name.clone());
                        self.selection_set(&field.selection_set, child_type.as_deref())
                    };
                    // Unknown fields (introspection, typos validation will refuse) with a
                    // selection count as objects.
                    let own = match shape {
                        Some(shape) => u64::from(shape.object),
                        None => u64::from(!field.selection_set.node.items.is_empty()),
                    };
                    let size = match shape {
                        Some(shape) if shape.list => self.list_size(field, shape),
                        _ => 1,
                    };
                    // Introspection (`__typename`, `__schema`) is the same for everyone.
                    let public = match shape {
                        Some(shape) => shape.public,
                        None => field.name.node.starts_with("__"),
                    };
                    summary.add(Summary {
                        cost: size.saturating_mul(own.saturating_add(child.cost)),
                        depth: child.depth + 1,
                        aliases: child.aliases + usize::from(field.alias.is_some()),
                        fields: 1,
                        public: public && child.public,
                    });
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    summary.add(self.fragment(name));
                }
                Selection::InlineFragment(inline) => {
                    let inner_type = inline
                        .node
                        .type_condition
                        .as_ref()
                        .map(|c| c.node.on.node.to_string())
                        .or_else(|| type_name.map(str::to_owned));
                    let inner =
                        self.selection_set(&inline.node.selection_set, inner_type.as_deref());
                    summary.add(inner);
                }
            }
        }
        summary
    }

    fn fragment(&mut self, name: &'a Name) -> Summary {
        if let Some(summary) = self.fragments.get(name) {
            return *summary;
        }
        // A cycle is invalid GraphQL that validation reports; count it as nothing here.
        if self.visiting.contains(&name) {
            return Summary::default();
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return Summary::default();
        };
        self.visiting.push(name);
        let on = fragment.node.type_condition.node.on.node.to_string();
        let summary = self.selection_set(&fragment.node.selection_set, Some(&on));
        self.visiting.pop();
        self.fragments.insert(name, summary);
        summary
    }

    fn list_size(&self, field: &async_graphql::parser::types::Field, shape: &FieldShape) -> u64 {
        for (name, default) in &shape.slicing_defaults {
            let given = field
                .arguments
                .iter()
                .find(|(arg, _)| arg.node.as_str() == name)
                .map(|(_, value)| &value.node);
            let size = match given {
                // A variable without a value, or a non-number, falls back to the default.
                Some(value) => value
                    .clone()
                    .into_const_with(|var| self.variables.get(&var).cloned().ok_or(()))
                    .ok()
                    .as_ref()
                    .and_then(size_of)
                    .or(*default),
                None => *default,
            };
            if let Some(size) = size {
                return size;
            }
        }
        self.shapes.default_list_size
    }
}
