//! Step 3 of the pipeline: references across types. Every source, type, join and root the
//! graph names must exist and fit, so that building and resolving never meet a dangling name.

use crate::{
    error::Diagnostic,
    model::{BUILTIN_SCALARS, Graph, ObjectSpec, Resolution, SubscriptionSpec, named_type},
};

/// Types a key may have: an id-like scalar.
const KEY_TYPES: [&str; 3] = ["ID", "Int", "String"];

fn output_type_exists(graph: &Graph, name: &str) -> bool {
    BUILTIN_SCALARS.contains(&name)
        || graph.objects.contains_key(name)
        || graph.enums.contains_key(name)
        || graph.scalars.contains_key(name)
}

fn input_type_exists(graph: &Graph, name: &str) -> bool {
    BUILTIN_SCALARS.contains(&name)
        || graph.inputs.contains_key(name)
        || graph.enums.contains_key(name)
        || graph.scalars.contains_key(name)
}

fn check_source(
    graph: &Graph,
    source: &str,
    pos: async_graphql::parser::Pos,
    diags: &mut Vec<Diagnostic>,
) {
    if !graph.sources.keys().any(|s| s.as_str() == source) {
        let known: Vec<&str> = graph.sources.keys().map(|s| s.as_str()).collect();
        diags.push(
            Diagnostic::new(pos, format!("unknown source `{source}`")).help(if known.is_empty() {
                "declare it: extend schema @source(name: \"...\", url: \"http://...\")".to_owned()
            } else {
                format!("the sources are: {}", known.join(", "))
            }),
        );
    }
}

/// Every argument of `owner.field` takes an input type.
fn check_args(
    graph: &Graph,
    owner: &str,
    field: &str,
    args: &[crate::model::ArgSpec],
    pos: async_graphql::parser::Pos,
    diags: &mut Vec<Diagnostic>,
) {
    for arg in args {
        let arg_ty = named_type(&arg.ty);
        if !input_type_exists(graph, arg_ty) {
            diags.push(
                Diagnostic::new(
                    pos,
                    format!(
                        "{owner}.{field}({}:): {arg_ty} is not an input type",
                        arg.name
                    ),
                )
                .help("arguments take scalars, enums or input types"),
            );
        }
    }
}

fn key_type<'a>(object: &'a ObjectSpec, field: &str) -> Option<&'a str> {
    object
        .fields
        .iter()
        .find(|f| f.name == field)
        .map(|f| named_type(&f.ty))
}

/// Whether `value` is a literal of type `ty`, whose named type is a scalar or an enum.
fn fallback_fits(
    graph: &Graph,
    ty: &async_graphql::parser::types::Type,
    value: &async_graphql::Value,
) -> Result<(), String> {
    use async_graphql::{Value, parser::types::BaseType};
    if *value == Value::Null {
        return if ty.nullable {
            Ok(())
        } else {
            Err("is null for a non-null field".to_owned())
        };
    }
    match &ty.base {
        BaseType::List(inner) => match value {
            Value::List(items) => items
                .iter()
                .try_for_each(|item| fallback_fits(graph, inner, item)),
            _ => Err("is not a list".to_owned()),
        },
        BaseType::Named(name) => {
            let fits = match (name.as_str(), value) {
                ("Int", Value::Number(n)) => n.is_i64(),
                ("Float", Value::Number(_)) => true,
                ("String", Value::String(_)) | ("Boolean", Value::Boolean(_)) => true,
                ("ID", Value::String(_) | Value::Number(_)) => true,
                ("Int" | "Float" | "String" | "Boolean" | "ID", _) => false,
                (other, Value::Enum(item)) if graph.enums.contains_key(other) => {
                    graph.enums[other].values.iter().any(|v| v == item.as_str())
                }
                (other, _) if graph.scalars.contains_key(other) => true,
                (other, _) if graph.objects.contains_key(other) => {
                    return Err(format!(
                        "on an object field ({other}): fallbacks are for scalar and enum fields"
                    ));
                }
                _ => false,
            };
            if fits {
                Ok(())
            } else {
                Err(format!("`{value}` is not a {name}"))
            }
        }
    }
}

pub fn validate(graph: &Graph, diags: &mut Vec<Diagnostic>) {
    match graph.objects.get(&graph.query) {
        Some(query) if !query.fields.is_empty() => {}
        _ => diags.push(
            Diagnostic::new(
                Default::default(),
                format!("the schema has no `type {}` with fields", graph.query),
            )
            .help("declare the root: type Query { ... }"),
        ),
    }
    for object in graph.objects.values() {
        if let Some(entity) = &object.entity {
            check_source(graph, entity.rest.source.as_str(), entity.rest.pos, diags);
        }
        for field in &object.fields {
            let ty = named_type(&field.ty);
            if !output_type_exists(graph, ty) {
                let help = if graph.inputs.contains_key(ty) {
                    format!("{ty} is an input type; fields return object, enum or scalar types")
                } else {
                    format!("declare `type {ty}`, or use one of the declared types")
                };
                diags.push(
                    Diagnostic::new(
                        field.pos,
                        format!("{}.{}: unknown type {ty}", object.name, field.name),
                    )
                    .help(help),
                );
            }
            if let Some(value) = &field.fallback
                && let Err(reason) = fallback_fits(graph, &field.ty, value)
            {
                diags.push(
                    Diagnostic::new(
                        field.pos,
                        format!("{}.{}: @fallback value {reason}", object.name, field.name),
                    )
                    .help("a fallback is a literal of the field's type, on scalar and enum fields"),
                );
            }
            check_args(
                graph,
                &object.name,
                &field.name,
                &field.args,
                field.pos,
                diags,
            );
            match &field.resolution {
                Resolution::Rest { rest, .. } => {
                    check_source(graph, rest.source.as_str(), rest.pos, diags)
                }
                Resolution::Join { entity, .. } => {
                    let Some(target) = graph.objects.get(entity) else {
                        diags.push(Diagnostic::new(
                            field.pos,
                            format!(
                                "{}.{}: @join needs an object type, {entity} is not one",
                                object.name, field.name
                            ),
                        ));
                        continue;
                    };
                    let (Some(key), Some(_)) = (&target.key, &target.entity) else {
                        diags.push(
                            Diagnostic::new(field.pos, format!("{}.{} joins {entity}, which has no @key and @rest lookup", object.name, field.name))
                                .help(format!(
                                    "declare how to fetch {entity} records by key: type {entity} @key(fields: \"id\") @rest(source: \"...\", path: \"/...\", query: {{ids: \"{{$keys}}\"}})"
                                )),
                        );
                        continue;
                    };
                    let join_key = field_key_name(object, field);
                    let (own, theirs) = (
                        join_key.and_then(|k| key_type(object, k)),
                        key_type(target, key),
                    );
                    if let (Some(own), Some(theirs)) = (own, theirs)
                        && (!KEY_TYPES.contains(&own) || !KEY_TYPES.contains(&theirs))
                    {
                        diags.push(
                            Diagnostic::new(field.pos, format!(
                                "type mismatch: {}.{} joins on a {own} but {entity}.{key} is a {theirs}",
                                object.name, field.name
                            ))
                            .help("join keys are ID, Int or String"),
                        );
                    }
                }
                Resolution::Project { .. } => {}
            }
        }
    }
    if let Some(subscription) = &graph.subscription {
        validate_subscription(graph, subscription, diags);
    }
    if let Some(mutation) = &graph.mutation
        && !graph.objects.contains_key(mutation)
    {
        diags.push(Diagnostic::new(
            Default::default(),
            format!("the mutation root {mutation} is not declared"),
        ));
    }
}

fn validate_subscription(
    graph: &Graph,
    subscription: &SubscriptionSpec,
    diags: &mut Vec<Diagnostic>,
) {
    if subscription.fields.is_empty() {
        diags.push(Diagnostic::new(
            subscription.pos,
            format!("the subscription root {} has no fields", subscription.name),
        ));
    }
    for field in &subscription.fields {
        let rest = &field.stream.rest;
        check_source(graph, rest.source.as_str(), rest.pos, diags);
        let ty = named_type(&field.ty);
        if !output_type_exists(graph, ty) {
            diags.push(
                Diagnostic::new(
                    field.pos,
                    format!("{}.{}: unknown type {ty}", subscription.name, field.name),
                )
                .help(format!(
                    "declare `type {ty}`, or use one of the declared types"
                )),
            );
        }
        check_args(
            graph,
            &subscription.name,
            &field.name,
            &field.args,
            field.pos,
            diags,
        );
    }
}

/// The GraphQL field a join's key path came from (its JSON path matches the field's).
fn field_key_name<'a>(object: &'a ObjectSpec, field: &crate::model::FieldSpec) -> Option<&'a str> {
    let Resolution::Join { key, .. } = &field.resolution else {
        return None;
    };
    object.fields.iter().find_map(|f| match &f.resolution {
        Resolution::Project { path } if path == key => Some(f.name.as_str()),
        _ => None,
    })
}
