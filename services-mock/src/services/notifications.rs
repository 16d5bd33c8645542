//! The notifications service: a user's messages, unread counts, marking read, and a
//! server-sent-events stream of new notifications per user.

use std::{convert::Infallible, sync::Arc};

use axum::{
    Json,
    extract::{Path, Query, State},
    http::{Method, StatusCode},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::{get, post},
};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio_stream::{StreamExt, wrappers::BroadcastStream};

use super::ServiceState;
use crate::{
    data::{Notification, Store},
    http::{
        error::ApiError,
        params::{self, JsonBody, Params},
        stats::RequestStats,
    },
    openapi::{Endpoint, PAGING, Param, ParamType, Returns},
    shutdown::Shutdown,
};

/// The longest message `POST /notifications` accepts, in characters.
const MAX_MESSAGE_CHARS: usize = 500;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UnreadCount {
    user_id: u64,
    unread: usize,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewNotification {
    user_id: u64,
    message: String,
}

async fn get_notification(
    State(store): State<Arc<Store>>,
    Path(id): Path<String>,
) -> Result<Json<Notification>, ApiError> {
    let id = params::parse_id("id", &id)?;
    store
        .notification(id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("notification", id))
}

async fn list_notifications(
    State(store): State<Arc<Store>>,
    Query(query): Query<Params>,
) -> Result<Response, ApiError> {
    if let Some(ids) = params::id_list(&query, "ids")? {
        return Ok(Json(store.notifications_by_ids(&ids)).into_response());
    }
    let user_ids = match (
        params::optional_id(&query, "userId")?,
        params::id_list(&query, "userIds")?,
    ) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad(
                "userIds",
                "give `userId` or `userIds`, not both",
            ));
        }
        (Some(id), None) => vec![id],
        (None, Some(ids)) => ids,
        (None, None) => {
            return Err(ApiError::bad(
                "userId",
                "`userId`, `userIds` or `ids` is required",
            ));
        }
    };
    let unread_only = params::optional_bool(&query, "unreadOnly")?.unwrap_or(false);
    let page = params::page(&query)?;
    Ok(Json(store.list_notifications(&user_ids, unread_only, page)).into_response())
}

async fn create_notification(
    State(store): State<Arc<Store>>,
    JsonBody(new): JsonBody<NewNotification>,
) -> Result<(StatusCode, Json<Notification>), ApiError> {
    if new.message.trim().is_empty() || new.message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ApiError::bad(
            "message",
            format!("must be 1 to {MAX_MESSAGE_CHARS} characters"),
        ));
    }
    Ok((
        StatusCode::CREATED,
        Json(store.create_notification(new.user_id, new.message)),
    ))
}

async fn mark_read(
    State(store): State<Arc<Store>>,
    Path(id): Path<String>,
) -> Result<Json<Notification>, ApiError> {
    let id = params::parse_id("id", &id)?;
    store
        .mark_read(id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("notification", id))
}

async fn unread_count(
    State(store): State<Arc<Store>>,
    Path(id): Path<String>,
) -> Result<Json<UnreadCount>, ApiError> {
    let user_id = params::parse_id("id", &id)?;
    let unread = store
        .unread_counts(&[user_id])
        .first()
        .map_or(0, |&(_, unread)| unread);
    Ok(Json(UnreadCount { user_id, unread }))
}

async fn unread_counts(
    State(store): State<Arc<Store>>,
    Query(query): Query<Params>,
) -> Result<Json<Vec<UnreadCount>>, ApiError> {
    let user_ids = params::id_list(&query, "userIds")?
        .ok_or_else(|| ApiError::bad("userIds", "`userIds` is required"))?;
    let counts = store.unread_counts(&user_ids);
    Ok(Json(
        counts
            .into_iter()
            .map(|(user_id, unread)| UnreadCount { user_id, unread })
            .collect(),
    ))
}

/// `GET /users/{id}/notifications/stream`: every notification created for the user from now
/// on, as `event: notification` with the record as JSON data. It ends when the service stops.
async fn stream(
    State(store): State<Arc<Store>>,
    State(stats): State<Arc<RequestStats>>,
    State(shutdown): State<Shutdown>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let user_id = params::parse_id("id", &id)?;
    // Counted open while the response stream lives: dropped with it when the client leaves.
    let open = stats.stream_opened();
    let events = BroadcastStream::new(store.subscribe())
        // A lagging subscriber skips what it missed rather than failing the stream.
        .filter_map(move |received| {
            received
                .ok()
                .filter(|n: &Notification| n.user_id == user_id)
        })
        .map(move |notification| {
            let _open = &open;
            let event = Event::default()
                .event("notification")
                .id(notification.id.to_string());
            Ok(event
                .json_data(&notification)
                .unwrap_or_else(|_| Event::default().comment("unencodable")))
        });
    let events = futures_util::StreamExt::take_until(events, shutdown.wait_owned());
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

pub fn endpoints() -> Vec<Endpoint<ServiceState>> {
    let user = || vec![Param::path_id("id", "user id")];
    vec![
        Endpoint {
            method: Method::GET,
            path: "/notifications",
            summary: "Notifications by ids (batch), or a user's (or users') page newest first; with \
                      `userIds` the page applies to each user",
            params: [
                Param::query(
                    "ids",
                    ParamType::IdList,
                    "comma-separated notification ids, at most 500",
                ),
                Param::query("userId", ParamType::Id, "this user's notifications"),
                Param::query(
                    "userIds",
                    ParamType::IdList,
                    "these users' notifications, paged per user",
                ),
                Param::query(
                    "unreadOnly",
                    ParamType::Boolean,
                    "only unread ones, default false",
                ),
            ]
            .into_iter()
            .chain(PAGING)
            .collect(),
            body: None,
            returns: Returns::ManyOrPage("Notification"),
            status: 200,
            handler: get(list_notifications),
        },
        Endpoint {
            method: Method::POST,
            path: "/notifications",
            summary: "Send a notification to a user; it is published on the user's stream",
            params: vec![],
            body: Some("NewNotification"),
            returns: Returns::One("Notification"),
            status: 201,
            handler: post(create_notification),
        },
        Endpoint {
            method: Method::GET,
            path: "/notifications/{id}",
            summary: "One notification",
            params: vec![Param::path_id("id", "notification id")],
            body: None,
            returns: Returns::One("Notification"),
            status: 200,
            handler: get(get_notification),
        },
        Endpoint {
            method: Method::POST,
            path: "/notifications/{id}/read",
            summary: "Mark a notification read",
            params: vec![Param::path_id("id", "notification id")],
            body: None,
            returns: Returns::One("Notification"),
            status: 200,
            handler: post(mark_read),
        },
        Endpoint {
            method: Method::GET,
            path: "/unread-counts",
            summary: "Unread counts of several users, in the order of `userIds`",
            params: vec![Param::query(
                "userIds",
                ParamType::IdList,
                "comma-separated user ids, at most 500",
            )],
            body: None,
            returns: Returns::Many("UnreadCount"),
            status: 200,
            handler: get(unread_counts),
        },
        Endpoint {
            method: Method::GET,
            path: "/users/{id}/unread-count",
            summary: "A user's unread count",
            params: user(),
            body: None,
            returns: Returns::One("UnreadCount"),
            status: 200,
            handler: get(unread_count),
        },
        Endpoint {
            method: Method::GET,
            path: "/users/{id}/notifications/stream",
            summary: "Server-sent events: each new notification of the user as `event: notification`",
            params: user(),
            body: None,
            returns: Returns::Stream("Notification"),
            status: 200,
            handler: get(stream),
        },
    ]
}
