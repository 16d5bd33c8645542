//! Subscriptions with real clients: GraphQL over WebSocket (`graphql-transport-ws`) and over
//! server-sent events (`graphql-sse`), fed by the notification service's event stream.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchyard::config::{AuthConfig, Config, IssuerConfig, QuotaConfig};
use switchyard_schema::live::sse::{SseDecoder, SseEvent};
use switchyard_tests::{ServiceKind, Stack};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

const SECRET: &str = "a-subscription-test-secret";
const WAIT: Duration = Duration::from_secs(10);
const SUBSCRIPTION: &str = "subscription { notifications { userId message user { id name } } }";
const STREAM_ROUTE: &str = "GET /users/{id}/notifications/stream";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// A token for user `sub`, valid for `seconds` from now (negative: expired).
fn token(sub: &str, seconds: i64) -> String {
    let claims = json!({"iss": "test", "sub": sub, "exp": now() as i64 + seconds});
    let key = EncodingKey::from_secret(SECRET.as_bytes()).expect("a secret");
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).expect("signs")
}

fn with_auth(config: &mut Config) {
    config.auth = AuthConfig {
        issuers: vec![IssuerConfig {
            issuer: Some("test".to_owned()),
            secret: Some(SECRET.to_owned()),
            ..IssuerConfig::default()
        }],
        ..AuthConfig::default()
    };
}

async fn start(change: impl FnOnce(&mut Config)) -> Stack {
    Stack::builder()
        .config(|config| {
            with_auth(config);
            change(config);
        })
        .start()
        .await
}

/// A `graphql-transport-ws` client.
struct Socket {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

/// What the server did next on a socket.
#[derive(Debug)]
enum Received {
    Message(Value),
    Closed(Option<(u16, String)>),
}

impl Socket {
    /// Connects and sends `connection_init` with `payload`.
    async fn open(stack: &Stack, payload: Value) -> Socket {
        let url = stack.graphql_url().replace("http://", "ws://");
        let mut request = url.into_client_request().expect("a WebSocket request");
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().expect("a header value"),
        );
        let (socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the gateway accepts the WebSocket");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "graphql-transport-ws"
        );
        let mut socket = Socket { socket };
        socket
            .send(json!({"type": "connection_init", "payload": payload}))
            .await;
        socket
    }

    /// Connects as `token`'s holder and waits for the acknowledgement.
    async fn ready(stack: &Stack, token: &str) -> Socket {
        let mut socket =
            Socket::open(stack, json!({"Authorization": format!("Bearer {token}")})).await;
        match socket.receive().await {
            Received::Message(m) if m["type"] == "connection_ack" => socket,
            other => panic!("expected connection_ack, got {other:?}"),
        }
    }

    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("the message is sent");
    }

    async fn subscribe(&mut self, id: &str, query: &str) {
        self.send(json!({"id": id, "type": "subscribe", "payload": {"query": query}}))
            .await;
    }

    /// The next protocol message or close, skipping pings.
    async fn receive(&mut self) -> Received {
        loop {
            let message = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("the gateway sends within the wait");
            match message {
                Some(Ok(Message::Text(text))) => {
                    return Received::Message(serde_json::from_str(&text).expect("JSON"));
                }
                Some(Ok(Message::Close(frame))) => {
                    return Received::Closed(frame.map(|f| (f.code.into(), f.reason.to_string())));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Received::Closed(None),
            }
        }
    }

    /// The next message, which must be one.
    async fn message(&mut self) -> Value {
        match self.receive().await {
            Received::Message(message) => message,
            closed => panic!("expected a message, the socket closed: {closed:?}"),
        }
    }

    /// Whether anything but pings arrives within `window`.
    async fn quiet_for(&mut self, window: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + window;
        loop {
            match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_) => return true,
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(other) => panic!("expected silence, got {other:?}"),
            }
        }
    }
}

/// A `graphql-sse` client (distinct connections mode).
struct EventStream {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    decoder: SseDecoder,
    ready: std::collections::VecDeque<SseEvent>,
}

impl EventStream {
    async fn open(
        stack: &Stack,
        token: Option<&str>,
        query: &str,
    ) -> Result<EventStream, (StatusCode, String)> {
        let client = reqwest::Client::new();
        let mut request = client
            .post(stack.graphql_url())
            .header("accept", "text/event-stream")
            .json(&json!({"query": query}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the gateway answers");
        if response.status() != StatusCode::OK {
            let status = response.status();
            return Err((status, response.text().await.unwrap_or_default()));
        }
        assert!(
            response.headers()["content-type"]
                .to_str()
                .is_ok_and(|v| v.starts_with("text/event-stream"))
        );
        Ok(EventStream {
            body: response.bytes_stream().boxed(),
            decoder: SseDecoder::new(1 << 20),
            ready: Default::default(),
        })
    }

    /// The next event (`next` or `complete`); `None` when the stream ended.
    async fn event(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            let chunk = tokio::time::timeout(WAIT, self.body.next())
                .await
                .expect("the gateway sends within the wait")?
                .ok()?;
            let mut events = Vec::new();
            self.decoder.feed(&chunk, &mut events).expect("well-formed");
            self.ready.extend(events);
        }
    }

    async fn next_payload(&mut self) -> Value {
        let event = self.event().await.expect("an event");
        assert_eq!(event.event, "next", "{event:?}");
        serde_json::from_str(&event.data).expect("JSON")
    }
}

async fn open_streams(stack: &Stack) -> u64 {
    stack.services.stats(ServiceKind::Notifications).await["openStreams"]
        .as_u64()
        .expect("openStreams is a number")
}

/// Waits until the notification service holds `count` streams.
async fn until_open_streams(stack: &Stack, count: u64) {
    let deadline = Instant::now() + WAIT * 2;
    loop {
        let open = open_streams(stack).await;
        if open == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{open} streams open, waiting for {count}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn place_order(stack: &Stack, user: u64) {
    let reply = stack
        .graphql_with(
            json!({
                "query": "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }",
                "variables": {"input": {"userId": user, "items": [{"sku": "SKU-0002", "quantity": 1}]}}
            }),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(reply.body["errors"].is_null(), "{}", reply.text);
}

fn notification(payload: &Value) -> &Value {
    assert!(payload["errors"].is_null(), "{payload}");
    &payload["data"]["notifications"]
}

#[tokio::test]
async fn websocket_and_sse_subscribers_each_see_only_their_own_events() {
    let stack = start(|_| {}).await;
    let mut alice = Socket::ready(&stack, &token("1", 600)).await;
    alice.subscribe("a", SUBSCRIPTION).await;
    let mut bob = EventStream::open(&stack, Some(&token("2", 600)), SUBSCRIPTION)
        .await
        .expect("the event stream opens");
    until_open_streams(&stack, 2).await;

    place_order(&stack, 1).await;
    let message = alice.message().await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["id"], "a");
    let event = notification(&message["payload"]);
    assert_eq!(event["userId"], "1");
    assert!(
        event["message"]
            .as_str()
            .is_some_and(|m| m.contains("was placed"))
    );
    assert_eq!(event["user"]["id"], "1");
    assert!(
        event["user"]["name"]
            .as_str()
            .is_some_and(|n| !n.is_empty()),
        "{event}"
    );

    // Bob's first event is his own order's: Alice's never reached him.
    place_order(&stack, 2).await;
    let payload = bob.next_payload().await;
    assert_eq!(notification(&payload)["userId"], "2");
    assert_eq!(notification(&payload)["user"]["id"], "2");
    // And Alice got exactly one event: nothing of Bob's, no duplicate.
    assert!(alice.quiet_for(Duration::from_millis(300)).await);

    // Completing the subscription is acknowledged, and the upstream stream closes.
    alice.send(json!({"id": "a", "type": "complete"})).await;
    assert_eq!(
        alice.message().await,
        json!({"id": "a", "type": "complete"})
    );
    drop(bob);
    until_open_streams(&stack, 0).await;
}

#[tokio::test]
async fn tokens_are_checked_at_subscribe_and_an_expiring_token_ends_the_stream() {
    let stack = start(|_| {}).await;

    // No token: the connection is anonymous, and the field needs a signed-in user.
    let mut anonymous = Socket::open(&stack, json!({})).await;
    assert_eq!(anonymous.message().await["type"], "connection_ack");
    anonymous.subscribe("1", SUBSCRIPTION).await;
    let refused = anonymous.message().await;
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    assert_eq!(
        anonymous.message().await,
        json!({"id": "1", "type": "complete"})
    );

    // An expired token: the connection is refused at init, saying why.
    let mut expired = Socket::open(&stack, json!({"token": token("1", -3600)})).await;
    match expired.receive().await {
        Received::Closed(Some((_, reason))) => assert!(reason.contains("expired"), "{reason}"),
        other => panic!("expected a close, got {other:?}"),
    }
    let (status, _) = EventStream::open(&stack, Some(&token("1", -3600)), SUBSCRIPTION)
        .await
        .err()
        .expect("refused");
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let mut without = EventStream::open(&stack, None, SUBSCRIPTION)
        .await
        .expect("opens");
    let payload = without.next_payload().await;
    assert_eq!(
        payload["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    assert_eq!(
        without.event().await.map(|e| e.event).as_deref(),
        Some("complete")
    );

    // A token expiring mid-stream ends the stream with a clear error, on both transports.
    let short = token("1", 2);
    let mut socket = Socket::ready(&stack, &short).await;
    socket.subscribe("s", SUBSCRIPTION).await;
    let mut events = EventStream::open(&stack, Some(&short), SUBSCRIPTION)
        .await
        .expect("opens");
    until_open_streams(&stack, 1).await;
    let ended = socket.message().await;
    let error = &ended["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "UNAUTHENTICATED", "{ended}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("expired"))
    );
    assert_eq!(
        socket.message().await,
        json!({"id": "s", "type": "complete"})
    );
    let payload = events.next_payload().await;
    assert_eq!(
        payload["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    assert_eq!(
        events.event().await.map(|e| e.event).as_deref(),
        Some("complete")
    );
    until_open_streams(&stack, 0).await;
}

/// Tasks alive on this test's runtime (gateway, services and clients all run on it).
fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Waits until `check` holds, up to twice the wait.
async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + WAIT * 2;
    while !check().await {
        assert!(Instant::now() < deadline, "waited too long for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn two_hundred_subscribers_share_one_upstream_connection_and_leave_nothing_behind() {
    let stack = start(|config| config.subscriptions.max_per_client = 500).await;
    let alice = token("1", 600);
    let query = "subscription { notifications { userId message } }";
    let gateway_metric = async |name: &str| -> f64 {
        stack
            .metric(&format!("switchyard_{name}"))
            .await
            .expect("the gateway exposes the metric")
    };

    // One subscriber and one event first, so that the baseline holds what warms up once
    // (the connections the services, the gateway and this test keep in their pools).
    let mut first = Socket::ready(&stack, &alice).await;
    first.subscribe("1", query).await;
    until_open_streams(&stack, 1).await;
    place_order(&stack, 1).await;
    assert_eq!(
        notification(&first.message().await["payload"])["userId"],
        "1"
    );
    stack.services.reset_stats().await;
    drop(first);
    until_open_streams(&stack, 0).await;
    until("the first subscription to end", async || {
        gateway_metric("subscriptions_active").await == 0.0
    })
    .await;
    let baseline = alive_tasks();

    let mut sockets = Vec::new();
    for _ in 0..200 {
        let mut socket = Socket::ready(&stack, &alice).await;
        socket.subscribe("1", query).await;
        sockets.push(socket);
    }
    until("200 subscriptions", async || {
        gateway_metric("subscriptions_active").await == 200.0
    })
    .await;
    until_open_streams(&stack, 1).await;
    assert_eq!(
        gateway_metric("upstream_streams_open{source=\"notifications\"}").await,
        1.0
    );
    place_order(&stack, 1).await;
    for socket in &mut sockets {
        let message = socket.message().await;
        assert_eq!(notification(&message["payload"])["userId"], "1");
    }
    let stats = stack.services.stats(ServiceKind::Notifications).await;
    assert_eq!(stats["routes"][STREAM_ROUTE], 1, "{stats}");

    drop(sockets);
    until_open_streams(&stack, 0).await;
    until("subscriptions to end", async || {
        gateway_metric("subscriptions_active").await == 0.0
            && gateway_metric("upstream_streams_open{source=\"notifications\"}").await == 0.0
    })
    .await;
    until("the task count to return to the baseline", async || {
        alive_tasks() <= baseline
    })
    .await;
}

#[tokio::test]
async fn subscribers_keep_their_connection_while_the_service_restarts() {
    let mut stack = start(|_| {}).await;
    let mut socket = Socket::ready(&stack, &token("1", 600)).await;
    socket.subscribe("r", SUBSCRIPTION).await;
    let mut events = EventStream::open(&stack, Some(&token("1", 600)), SUBSCRIPTION)
        .await
        .expect("opens");
    until_open_streams(&stack, 1).await;

    let addr = stack
        .services
        .cluster
        .stop_service(ServiceKind::Notifications)
        .await
        .expect("the service ran");
    tokio::time::sleep(Duration::from_millis(500)).await;
    stack
        .services
        .cluster
        .restart_service(ServiceKind::Notifications, addr)
        .await
        .expect("the service restarts on its address");
    until_open_streams(&stack, 1).await;

    let reconnects = stack
        .metric("switchyard_upstream_stream_reconnects_total{source=\"notifications\"}")
        .await;
    assert!(reconnects.is_some_and(|n| n >= 1.0), "{reconnects:?}");

    place_order(&stack, 1).await;
    let message = socket.message().await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(notification(&message["payload"])["userId"], "1");
    let payload = events.next_payload().await;
    assert_eq!(notification(&payload)["userId"], "1");
}

#[tokio::test]
async fn shutdown_completes_event_streams_and_closes_sockets() {
    let stack = start(|_| {}).await;
    let mut socket = Socket::ready(&stack, &token("1", 600)).await;
    socket.subscribe("x", SUBSCRIPTION).await;
    let mut events = EventStream::open(&stack, Some(&token("1", 600)), SUBSCRIPTION)
        .await
        .expect("opens");
    until_open_streams(&stack, 1).await;

    stack.gateway.shutdown();
    assert_eq!(
        events.event().await.map(|e| e.event).as_deref(),
        Some("complete")
    );
    loop {
        match socket.receive().await {
            Received::Message(message) => assert_eq!(message["type"], "complete"),
            Received::Closed(frame) => {
                assert_eq!(frame.map(|f| f.0), Some(1001));
                break;
            }
        }
    }
    tokio::time::timeout(WAIT, stack.gateway.wait())
        .await
        .expect("the gateway stops within the wait")
        .expect("it drained cleanly");
}

#[tokio::test]
async fn a_client_may_hold_only_so_many_subscriptions() {
    let stack = start(|config| config.subscriptions.max_per_client = 2).await;
    let alice = token("1", 600);
    let mut socket = Socket::ready(&stack, &alice).await;
    socket.subscribe("1", SUBSCRIPTION).await;
    socket.subscribe("2", SUBSCRIPTION).await;
    socket.subscribe("3", SUBSCRIPTION).await;
    let refused = socket.message().await;
    assert_eq!(refused["id"], "3", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "TOO_MANY_SUBSCRIPTIONS"
    );
    // Another client is not affected.
    let mut bob = EventStream::open(&stack, Some(&token("2", 600)), SUBSCRIPTION)
        .await
        .expect("opens");
    until_open_streams(&stack, 2).await;
    place_order(&stack, 2).await;
    assert_eq!(notification(&bob.next_payload().await)["userId"], "2");
}

#[tokio::test]
async fn a_websocket_from_a_foreign_page_is_refused() {
    let stack = start(|_| {}).await;
    let url = stack.graphql_url().replace("http://", "ws://");
    let mut request = url.into_client_request().expect("a WebSocket request");
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("a value"),
    );
    headers.insert("origin", "https://evil.example".parse().expect("a value"));
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
        }
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn each_subscribe_counts_against_the_rate_limit() {
    let stack = start(|config| {
        config.rate_limit.authenticated = QuotaConfig {
            requests: 2,
            per: Duration::from_secs(60),
            burst: None,
        };
    })
    .await;
    let alice = token("1", 600);
    let mut socket = Socket::ready(&stack, &alice).await;
    for id in ["1", "2", "3"] {
        socket.subscribe(id, SUBSCRIPTION).await;
    }
    // The limiter is asked when a subscription starts, which the socket does in no set
    // order: one of the three is refused and completed, the other two stay open.
    let refused = socket.message().await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{refused}"
    );
    assert_eq!(
        socket.message().await,
        json!({"id": refused["id"], "type": "complete"})
    );
    until("the two admitted subscriptions", async || {
        stack.metric("switchyard_subscriptions_active").await == Some(2.0)
    })
    .await;
    assert!(socket.quiet_for(Duration::from_millis(200)).await);

    let mut events = EventStream::open(&stack, Some(&alice), SUBSCRIPTION)
        .await
        .expect("opens");
    let payload = events.next_payload().await;
    assert_eq!(payload["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    assert_eq!(
        events.event().await.map(|e| e.event).as_deref(),
        Some("complete")
    );
    // Both refusals are counted as the rate limiter's, like refused requests (refused
    // before parsing, their operation is unknown).
    until("the refusals to be counted", async || {
        stack
            .metric("switchyard_rate_limited_requests_total{class=\"authenticated\"}")
            .await
            == Some(2.0)
    })
    .await;
    let metrics = stack.get_text("/metrics").await;
    assert!(metrics.contains("outcome=\"rate_limited\"} 2"), "{metrics}");
}

#[tokio::test]
async fn a_subscription_posted_as_plain_json_says_which_transports_carry_it() {
    let stack = start(|_| {}).await;
    let bearer = format!("Bearer {}", token("1", 600));
    let reply = stack
        .graphql_with(
            json!({"query": SUBSCRIPTION}),
            &[("authorization", &bearer)],
        )
        .await;
    let error = &reply.body["errors"][0];
    assert_eq!(
        error["extensions"]["code"], "STREAMING_REQUIRED",
        "{}",
        reply.text
    );
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("graphql-transport-ws") && message.contains("text/event-stream"));
    assert_eq!(open_streams(&stack).await, 0);
}

/// A stream service on loopback that misbehaves on purpose: `/mixed` sends an event whose
/// data is not JSON, one of another type, one that does not fit the schema, then a good
/// one; `/plain` answers text, not an event stream; `/missing` answers 404.
async fn odd_stream_service() -> String {
    use axum::{Router, http::header, routing::get};
    let mixed = "data: not json\n\n\
                 event: other\ndata: {\"id\": \"0\", \"label\": \"other type\"}\n\n\
                 event: tick\ndata: {\"id\": \"1\"}\n\n\
                 event: tick\ndata: {\"id\": \"2\", \"label\": \"good\"}\n\n";
    let app = Router::new()
        .route(
            "/mixed",
            get(move || async move {
                // The events, then the stream stays open like a real one.
                let head = futures_util::stream::once(async move {
                    Ok::<_, std::convert::Infallible>(mixed.to_owned())
                });
                let body = head.chain(futures_util::stream::pending());
                (
                    [(header::CONTENT_TYPE, "text/event-stream")],
                    axum::body::Body::from_stream(body),
                )
            }),
        )
        .route("/plain", get(|| async { "hello" }))
        .route(
            "/missing",
            get(|| async { (StatusCode::NOT_FOUND, "no such stream") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn odd_upstream_streams_give_clear_errors_and_bad_events_are_skipped() {
    let url = odd_stream_service().await;
    let schema = r#"
extend schema @source(name: "feed", url: "http://127.0.0.1:9")
type Query { tick(id: ID!): Tick @rest(source: "feed", path: "/ticks/{$args.id}") }
type Tick { id: ID! label: String! }
type Subscription {
  mixed: Tick! @sse(source: "feed", path: "/mixed", event: "tick")
  plain: Tick! @sse(source: "feed", path: "/plain")
  missing: Tick! @sse(source: "feed", path: "/missing")
}
"#;
    let stack = Stack::builder()
        .schema(schema)
        .config(|config| {
            config.sources.entry("feed".to_owned()).or_default().url = Some(url);
        })
        .start()
        .await;

    // An event that is not JSON, or of another type, is skipped; one missing a non-null
    // field gets the field's error, like a query's answer; the subscription goes on.
    let mut mixed = EventStream::open(&stack, None, "subscription { mixed { id label } }")
        .await
        .expect("opens");
    let unfit = mixed.next_payload().await;
    assert_eq!(unfit["data"], Value::Null, "{unfit}");
    assert_eq!(
        unfit["errors"][0]["extensions"]["code"],
        "UPSTREAM_BAD_RESPONSE"
    );
    assert_eq!(unfit["errors"][0]["path"], json!(["mixed", "label"]));
    assert_eq!(
        mixed.next_payload().await,
        json!({"data": {"mixed": {"id": "2", "label": "good"}}})
    );

    // A service that answers something else than an event stream, or refuses it: the
    // subscription ends with the service's error, naming the service but not its URL.
    for (field, code) in [
        ("plain", "UPSTREAM_BAD_RESPONSE"),
        ("missing", "UPSTREAM_ERROR"),
    ] {
        let query = format!("subscription {{ {field} {{ id }} }}");
        let mut events = EventStream::open(&stack, None, &query)
            .await
            .expect("opens");
        let payload = events.next_payload().await;
        let error = &payload["errors"][0];
        assert_eq!(error["extensions"]["code"], code, "{payload}");
        assert_eq!(error["extensions"]["service"], "feed", "{payload}");
        assert!(!payload.to_string().contains("127.0.0.1"), "{payload}");
        assert_eq!(
            events.event().await.map(|e| e.event).as_deref(),
            Some("complete")
        );
    }
}

#[tokio::test]
async fn a_failing_join_in_one_event_does_not_end_the_subscription() {
    let stack = start(|_| {}).await;
    let mut socket = Socket::ready(&stack, &token("1", 600)).await;
    socket.subscribe("j", SUBSCRIPTION).await;
    until_open_streams(&stack, 1).await;

    let reply = stack
        .services
        .set_faults(ServiceKind::Users, json!({"errorRate": 1.0}))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    place_order(&stack, 1).await;
    let failed = socket.message().await;
    assert_eq!(failed["type"], "next", "{failed}");
    let error = &failed["payload"]["errors"][0];
    assert_eq!(error["extensions"]["service"], "users", "{failed}");
    assert_eq!(error["path"], json!(["notifications", "user"]));

    let reply = stack
        .services
        .call(
            ServiceKind::Users,
            reqwest::Method::POST,
            "/__faults/reset",
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    place_order(&stack, 1).await;
    let healed = socket.message().await;
    assert_eq!(healed["type"], "next", "{healed}");
    let event = notification(&healed["payload"]);
    assert!(event["user"]["name"].is_string(), "{healed}");
}

#[tokio::test]
async fn subscriptions_outlive_a_reload() {
    let stack = start(|_| {}).await;
    let alice = token("1", 600);
    let mut before = EventStream::open(&stack, Some(&alice), SUBSCRIPTION)
        .await
        .expect("opens");
    until_open_streams(&stack, 1).await;

    // The same graph with a changed description, served by the next version.
    let dir = std::env::temp_dir().join(format!("switchyard-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let file = dir.join("shop.graphql");
    let schema = switchyard_schema::SHOP_SCHEMA.replace(
        "The signed-in user's new notifications",
        "New notifications of the signed-in user",
    );
    std::fs::write(&file, &schema).expect("the schema is written");
    let mut config = Config::default();
    with_auth(&mut config);
    config.schema.path = file;
    for kind in ServiceKind::ALL {
        config
            .sources
            .entry(kind.name().to_owned())
            .or_default()
            .url = Some(stack.services.url(kind));
    }
    switchyard::reload(stack.gateway.state(), &config)
        .await
        .expect("the new version loads");
    let sdl = stack
        .query("{ __type(name: \"Subscription\") { fields { description } } }")
        .await;
    assert!(sdl.text.contains("New notifications"), "{}", sdl.text);

    // The subscription of the old version still delivers; a new one runs on the new.
    let mut after = EventStream::open(&stack, Some(&alice), SUBSCRIPTION)
        .await
        .expect("opens");
    until_open_streams(&stack, 2).await;
    place_order(&stack, 1).await;
    assert_eq!(notification(&before.next_payload().await)["userId"], "1");
    assert_eq!(notification(&after.next_payload().await)["userId"], "1");
    let _ = std::fs::remove_dir_all(&dir);
}
