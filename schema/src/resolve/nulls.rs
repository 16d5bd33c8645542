//! Field errors as the GraphQL spec wants them: the failed field is `null` with an error at
//! its path, and the null of a non-null field propagates to the nearest nullable parent.
//!
//! async-graphql 7's dynamic executor drops a failed field from its object without a path
//! and without propagating. The engine's extension ([`crate::extension`]) wraps every
//! field's resolution with [`resolve`] instead: a field
//! whose resolver failed becomes null (its error recorded with its path), and a field whose
//! non-null child failed becomes null in turn. It works bottom-up: children finish before
//! the field that holds them.

use std::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicBool, Ordering},
};

use async_graphql::{
    PathSegment, QueryPathNode, QueryPathSegment, Response, ServerError, ServerResult, Value,
    extensions::{ExtensionContext, NextResolve, ResolveInfo},
};

/// The errors and failed non-null paths of one request.
#[derive(Debug, Default)]
pub(crate) struct FieldFailures {
    any: AtomicBool,
    /// Paths of non-null fields (or list items) whose value is missing.
    failed: Mutex<Vec<Vec<PathSegment>>>,
    errors: Mutex<Vec<ServerError>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl FieldFailures {
    fn fail(&self, path: Vec<PathSegment>) {
        self.any.store(true, Ordering::Release);
        lock(&self.failed).push(path);
    }

    fn error(&self, error: ServerError) {
        lock(&self.errors).push(error);
    }

    /// Removes and returns the failures directly below `path` (a child field, or a child
    /// field of one list item), as the rest of their path.
    fn take_children(&self, path: &[PathSegment]) -> Vec<Vec<PathSegment>> {
        if !self.any.load(Ordering::Acquire) {
            return Vec::new();
        }
        let mut failed = lock(&self.failed);
        let (children, rest): (Vec<_>, Vec<_>) = failed.drain(..).partition(|f| {
            f.len() > path.len() && f.len() <= path.len() + 2 && f.starts_with(path)
        });
        *failed = rest;
        children
            .into_iter()
            .map(|f| f[path.len()..].to_vec())
            .collect()
    }

    /// The errors recorded, and whether a root field's null made `data` null.
    /// Takes both, so that the next execution of the request (a subscription's next
    /// event) starts clean.
    fn finish(&self) -> (Vec<ServerError>, bool) {
        let errors = std::mem::take(&mut *lock(&self.errors));
        let root_failed = std::mem::take(&mut *lock(&self.failed))
            .iter()
            .any(|p| p.len() == 1);
        (errors, root_failed)
    }
}

fn path_of(node: &QueryPathNode<'_>) -> Vec<PathSegment> {
    let mut path: Vec<PathSegment> = std::iter::once(node)
        .chain(node.parents())
        .map(|node| match node.segment {
            QueryPathSegment::Index(i) => PathSegment::Index(i),
            QueryPathSegment::Name(name) => PathSegment::Field(name.to_owned()),
        })
        .collect();
    path.reverse();
    path
}

/// `[Item!]!` -> (nullable, list, item nullable).
fn shape(return_type: &str) -> (bool, bool, bool) {
    let nullable = !return_type.ends_with('!');
    let inner = return_type.trim_end_matches('!');
    let list = inner.starts_with('[');
    let item_nullable = list
        && !inner
            .trim_start_matches('[')
            .trim_end_matches(']')
            .ends_with('!');
    (nullable, list, item_nullable)
}

/// Adds the recorded errors to the response, and nulls its data when a non-null root
/// field failed.
pub(crate) fn finish(failures: &FieldFailures, response: &mut Response) {
    let (errors, root_failed) = failures.finish();
    if root_failed {
        response.data = Value::Null;
    }
    response.errors.extend(errors);
}

/// Resolves one field, recording its failure instead of failing the whole request, and
/// nulling the children that failed below it.
pub(crate) async fn resolve(
    failures: &FieldFailures,
    ctx: &ExtensionContext<'_>,
    info: ResolveInfo<'_>,
    next: NextResolve<'_>,
) -> ServerResult<Option<Value>> {
    {
        // The field's shape and path are worked out only when something failed: for every
        // field they cost string parsing and an allocation per ancestor.
        let node = info.path_node;
        let return_type = info.return_type;
        match next.run(ctx, info).await {
            Err(mut error) => {
                let (nullable, _, _) = shape(return_type);
                let path = path_of(node);
                if super::is_null_parent(&error) {
                    // A field of a null list item: the item is null, with no error.
                    failures.fail(path);
                    return Ok(None);
                }
                if error.path.is_empty() {
                    error.path = path.clone();
                }
                failures.error(error);
                if !nullable {
                    failures.fail(path);
                }
                Ok(None)
            }
            Ok(mut value) => {
                if !failures.any.load(Ordering::Acquire) {
                    return Ok(value);
                }
                let path = path_of(node);
                let children = failures.take_children(&path);
                if children.is_empty() {
                    return Ok(value);
                }
                let (nullable, list, item_nullable) = shape(return_type);
                let mut whole = !list;
                for child in children {
                    match (child.first(), &mut value) {
                        (Some(PathSegment::Index(i)), Some(Value::List(items)))
                            if list && item_nullable =>
                        {
                            if let Some(item) = items.get_mut(*i) {
                                *item = Value::Null;
                            }
                        }
                        _ => whole = true,
                    }
                }
                if whole {
                    if !nullable {
                        failures.fail(path);
                    }
                    return Ok(None);
                }
                Ok(value)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::shape;

    #[test]
    fn reads_type_shapes() {
        assert_eq!(shape("Int"), (true, false, false));
        assert_eq!(shape("Int!"), (false, false, false));
        assert_eq!(shape("[Order!]!"), (false, true, false));
        assert_eq!(shape("[Order]"), (true, true, true));
    }
}
