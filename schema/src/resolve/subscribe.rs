//! A subscription field's resolver: render the `@sse` URL for the caller, join the shared
//! upstream stream, and turn each event into the field's value, whose own fields then
//! resolve like any other (joins, batching, cache). The stream ends with an error when the
//! caller's token expires or the service refuses the stream.

use std::{sync::Arc, time::Duration};

use async_graphql::dynamic::{FieldValue, ResolverContext, SubscriptionFieldFuture};
use futures_util::stream;
use serde_json::Value;

use super::{
    FieldPlan, RequestData, Vars, check_auth, coded, convert::At, convert::Loc, convert_at,
    fetch_error, prepare,
};
use crate::live::{Delivery, FeedKey, Hub, Subscription};

/// Everything a subscription field's resolver needs, prepared once.
#[derive(Debug)]
pub struct StreamPlan {
    /// The field, planned as a call whose answer is the stream (its variables and type).
    pub plan: Arc<FieldPlan>,
    /// The stream's URL, headers and `select`.
    pub rest: Arc<crate::model::RestSpec>,
    pub event: String,
    pub hub: Arc<Hub>,
}

/// Where a subscriber's stream is.
enum State<'a> {
    Open {
        data: &'a RequestData,
        plan: Arc<StreamPlan>,
        subscription: Subscription,
        /// When the caller's token expires, if it does.
        expires: Option<tokio::time::Instant>,
    },
    Done,
}

/// The resolver of a subscription field.
pub fn subscribe(plan: Arc<StreamPlan>, ctx: ResolverContext<'_>) -> SubscriptionFieldFuture<'_> {
    SubscriptionFieldFuture::new(async move {
        // Borrowed for the subscription's whole life, not just this call.
        let data: &RequestData = ctx.ctx.data::<RequestData>()?;
        let field = &plan.plan;
        check_auth(&field.auth, &data.caller)?;
        let expires = match token_lifetime(data) {
            Some(left) if left.is_zero() => {
                return Err(coded("the token has expired", "UNAUTHENTICATED", None));
            }
            left => left.map(|left| tokio::time::Instant::now() + left),
        };
        let rest = &plan.rest;
        let vars = Vars {
            plan: field,
            args: Some(ctx.args.as_index_map()),
            parent: None,
            caller: &data.caller,
            key: None,
        };
        let request = prepare(rest, &vars, None)?;
        let subscription = plan
            .hub
            .subscribe(FeedKey::new(&request, &plan.event))
            .map_err(|error| fetch_error(&error))?;
        let state = State::Open {
            data,
            plan: plan.clone(),
            subscription,
            expires,
        };
        Ok(stream::unfold(state, next))
    })
}

/// How long the caller's token has left, from its `exp` claim; `None` when it never expires.
fn token_lifetime(data: &RequestData) -> Option<Duration> {
    let exp = data.caller.claims.as_ref()?.get("exp")?.as_u64()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    Some(Duration::from_secs(exp.saturating_sub(now)))
}

async fn next<'a>(state: State<'a>) -> Option<(async_graphql::Result<FieldValue<'a>>, State<'a>)> {
    let State::Open {
        data,
        plan,
        mut subscription,
        expires,
    } = state
    else {
        return None;
    };
    loop {
        let delivery = match expires {
            Some(deadline) => tokio::select! {
                delivery = subscription.next() => delivery,
                () = tokio::time::sleep_until(deadline) => {
                    let error = coded(
                        "the token has expired: subscribe again with a fresh one",
                        "UNAUTHENTICATED",
                        None,
                    );
                    return Some((Err(error), State::Done));
                }
            },
            None => subscription.next().await,
        };
        match delivery? {
            Delivery::Event(event) => match convert(&plan, data, event) {
                Some(value) => {
                    let state = State::Open {
                        data,
                        plan,
                        subscription,
                        expires,
                    };
                    return Some((Ok(value), state));
                }
                None => continue,
            },
            Delivery::Ended(error) => return Some((Err(fetch_error(&error)), State::Done)),
        }
    }
}

/// One event as the field's value; `None` (logged) when it does not fit the field's type,
/// which skips it rather than ending the subscription.
fn convert(
    plan: &StreamPlan,
    data: &RequestData,
    event: Arc<Value>,
) -> Option<FieldValue<'static>> {
    let (field, rest) = (&plan.plan, &plan.rest);
    // Each event resolves afresh: nothing an earlier event loaded is reused for it.
    data.begin_event();
    let loc = Loc::new(event).join(&rest.select);
    match convert_at(loc.value(), At::Loc(&loc), field, &rest.source, data) {
        Ok(Some(value)) => Some(value),
        // A null event (the field is nullable) carries nothing to send.
        Ok(None) => None,
        Err(error) => {
            tracing::warn!(
                service = rest.source.as_str(),
                field = field.field.name,
                error = %error.message,
                "an event does not fit the subscription's type; skipped"
            );
            None
        }
    }
}
