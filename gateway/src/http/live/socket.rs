//! GraphQL over WebSocket: `graphql-transport-ws` (and the older `graphql-ws`), with
//! async-graphql's protocol state machine. The gateway adds what a public endpoint needs:
//! the origin check browsers rely on, authentication from the `connection_init` payload,
//! an init timeout, keep-alive pings, and a close frame when it shuts down.

use std::{
    any::TypeId,
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use async_graphql::{
    Data, Executor,
    http::{ALL_WEBSOCKET_PROTOCOLS, WebSocket as Protocol, WebSocketProtocols, WsMessage},
};
use axum::{
    extract::{
        FromRequestParts,
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    },
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use futures_util::{SinkExt, StreamExt, stream::BoxStream};
use serde_json::Value;
use switchyard_schema::Caller;

use super::run;
use crate::http::GraphqlState;

/// True for a WebSocket upgrade request.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Who the connection is, once `connection_init` authenticated it.
struct Session {
    caller: Caller,
}

/// Runs each operation of a connection for the connection's caller.
#[derive(Clone)]
struct SocketExecutor {
    state: GraphqlState,
}

impl Executor for SocketExecutor {
    async fn execute(&self, request: async_graphql::Request) -> async_graphql::Response {
        self.execute_stream(request, None)
            .next()
            .await
            .unwrap_or_default()
    }

    fn execute_stream(
        &self,
        request: async_graphql::Request,
        session: Option<Arc<Data>>,
    ) -> BoxStream<'static, async_graphql::Response> {
        let caller = session
            .as_deref()
            .and_then(|data| data.get(&TypeId::of::<Session>()))
            .and_then(|session| session.downcast_ref::<Session>())
            .map(|session| session.caller.clone())
            .unwrap_or_default();
        run(&self.state, request, caller, "websocket")
    }
}

/// What a WebSocket handshake's `Origin` allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Not a browser, or a page of the gateway's own origin: as any request.
    Trusted,
    /// A page of another origin that `[cors]` admits: as a cross-origin request, its
    /// cookies count only where `allow_credentials` lets them.
    CrossSite {
        cookies: bool,
    },
    Refused,
}

/// Browsers send cookies with WebSocket handshakes from any site and CORS does not apply,
/// so the gateway applies the `[cors]` rules itself: a page of another origin may open a
/// socket only when listed, and presents its cookies only as CORS would let it
/// (never for `"*"`). A token in `connection_init` is no ambient credential and counts.
fn origin_policy(headers: &HeaderMap, allowed: &[String], credentials: bool) -> Origin {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Origin::Trusted;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if origin
        .split_once("://")
        .is_some_and(|(_, rest)| Some(rest) == host)
    {
        return Origin::Trusted;
    }
    if allowed.iter().any(|a| a == origin) {
        Origin::CrossSite {
            cookies: credentials,
        }
    } else if allowed.iter().any(|a| a == "*") {
        Origin::CrossSite { cookies: false }
    } else {
        Origin::Refused
    }
}

/// Answers an upgrade request on `/graphql`.
pub async fn upgrade(state: GraphqlState, mut parts: Parts) -> Response {
    let live = &state.live;
    match origin_policy(&parts.headers, &live.cors_origins, live.cors_credentials) {
        Origin::Trusted | Origin::CrossSite { cookies: true } => {}
        Origin::CrossSite { cookies: false } => {
            parts.headers.remove(header::COOKIE);
        }
        Origin::Refused => {
            return (
                StatusCode::FORBIDDEN,
                "this origin may not open a WebSocket to the gateway",
            )
                .into_response();
        }
    }
    let protocol = parts
        .headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .and_then(|protocols| {
            protocols
                .split(',')
                .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
        });
    let Some(protocol) = protocol else {
        return (
            StatusCode::BAD_REQUEST,
            "ask for the graphql-transport-ws subprotocol (Sec-WebSocket-Protocol)",
        )
            .into_response();
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    let headers = parts.headers;
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(socket, state, protocol, headers, peer))
}

/// The init payload stands in for headers (browsers cannot set a WebSocket's): its string
/// entries join the handshake's headers, and `token` is a bearer token.
fn init_headers(mut headers: HeaderMap, payload: &Value) -> HeaderMap {
    let Some(entries) = payload.as_object() else {
        return headers;
    };
    for (name, value) in entries {
        let Some(value) = value.as_str() else {
            continue;
        };
        let (name, value) = if name == "token" {
            (header::AUTHORIZATION, format!("Bearer {value}"))
        } else {
            match HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()) {
                Ok(name) => (name, value.to_owned()),
                Err(_) => continue,
            }
        };
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    headers
}

async fn serve(
    socket: WebSocket,
    state: GraphqlState,
    protocol: WebSocketProtocols,
    headers: HeaderMap,
    peer: Option<std::net::IpAddr>,
) {
    let (mut sink, input) = socket.split();
    let input = input
        .take_while(|message| futures_util::future::ready(message.is_ok()))
        .filter_map(|message| {
            futures_util::future::ready(match message {
                Ok(Message::Text(text)) => Some(text.as_bytes().to_vec()),
                Ok(Message::Binary(bytes)) => Some(bytes.to_vec()),
                _ => None,
            })
        });
    let initialised = Arc::new(AtomicBool::new(false));
    let on_init = {
        let auth = state.current.get().auth.clone();
        let metrics = state.metrics.clone();
        let initialised = initialised.clone();
        move |payload: Value| async move {
            initialised.store(true, Ordering::Relaxed);
            match auth.caller(init_headers(headers, &payload)).await {
                Ok(caller) => {
                    let mut data = Data::default();
                    data.insert(Session {
                        caller: caller.with_peer(peer),
                    });
                    Ok(data)
                }
                Err(error) => {
                    metrics.auth_failed(error.reason());
                    Err(async_graphql::Error::new(format!("Forbidden: {error}")))
                }
            }
        }
    };
    let executor = SocketExecutor {
        state: state.clone(),
    };
    let _open = state.live.socket_opened();
    let messages = Protocol::new(executor, input, protocol).on_connection_init(on_init);
    tokio::pin!(messages);
    let config = &state.live.config;
    let init_deadline = tokio::time::sleep(config.init_timeout);
    tokio::pin!(init_deadline);
    let mut keepalive = tokio::time::interval(config.keepalive);
    keepalive.reset();
    let closed = state.live.closed();
    tokio::pin!(closed);
    let close = |code: u16, reason: &str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }))
    };
    loop {
        let outgoing = tokio::select! {
            message = messages.next() => match message {
                Some(WsMessage::Text(text)) => Message::Text(text.into()),
                Some(WsMessage::Close(code, reason)) => {
                    let _ = sink.send(close(code, &reason)).await;
                    break;
                }
                None => break,
            },
            () = &mut init_deadline, if !initialised.load(Ordering::Relaxed) => {
                let _ = sink.send(close(4408, "Connection initialisation timeout")).await;
                break;
            }
            _ = keepalive.tick() => Message::Ping(Default::default()),
            () = &mut closed => {
                let _ = sink.send(close(1001, "the gateway is shutting down")).await;
                break;
            }
        };
        if sink.send(outgoing).await.is_err() {
            break;
        }
    }
    let _ = sink.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake(origin: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("gw.example:4000"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_str(origin).expect("a value"),
        );
        headers
    }

    #[test]
    fn origins_follow_the_cors_rules() {
        let listed = vec!["https://app.example".to_owned()];
        let any = vec!["*".to_owned()];
        assert_eq!(
            origin_policy(&HeaderMap::new(), &[], false),
            Origin::Trusted
        );
        assert_eq!(
            origin_policy(&handshake("http://gw.example:4000"), &[], false),
            Origin::Trusted
        );
        assert_eq!(
            origin_policy(&handshake("https://evil.example"), &listed, true),
            Origin::Refused
        );
        assert_eq!(
            origin_policy(&handshake("https://app.example"), &listed, true),
            Origin::CrossSite { cookies: true }
        );
        assert_eq!(
            origin_policy(&handshake("https://app.example"), &listed, false),
            Origin::CrossSite { cookies: false }
        );
        assert_eq!(
            origin_policy(&handshake("https://evil.example"), &any, true),
            Origin::CrossSite { cookies: false }
        );
    }

    #[test]
    fn the_init_payload_adds_headers_and_a_token() {
        let headers = init_headers(
            HeaderMap::new(),
            &serde_json::json!({"token": "t1", "X-Api-Key": "k", "nested": {"a": 1}, "bad name": "x"}),
        );
        assert_eq!(
            headers.get("authorization").and_then(|v| v.to_str().ok()),
            Some("Bearer t1")
        );
        assert_eq!(
            headers.get("x-api-key").and_then(|v| v.to_str().ok()),
            Some("k")
        );
        assert_eq!(headers.len(), 2);
    }
}
