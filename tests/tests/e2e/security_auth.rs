//! Authentication and field authorization with real signed tokens: HMAC secrets, PEM
//! public keys and a JWKS host on loopback.

use std::{
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{Router, routing::get};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchyard::config::{AuthConfig, Config, IssuerConfig};
use switchyard_tests::{Reply, ServiceKind, Stack, recorder::Recorder};

const SECRET: &str = "a-test-secret-of-decent-length";

fn keys_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/keys")
}

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(keys_dir().join(name)).expect("the fixture key exists")
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// Claims valid for ten minutes, from `iss`, for `aud` "switchyard".
fn claims(iss: &str, sub: &str, scope: &str) -> Value {
    json!({"iss": iss, "aud": "switchyard", "sub": sub, "scope": scope, "exp": now() + 600})
}

fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("signs")
}

fn hs(secret: &str, claims: &Value) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes()).expect("a secret");
    sign(Algorithm::HS256, None, &key, claims)
}

fn rs(file: &str, kid: Option<&str>, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(&key_file(file)).expect("an RSA key");
    sign(Algorithm::RS256, kid, &key, claims)
}

fn issuer(iss: &str) -> IssuerConfig {
    IssuerConfig {
        issuer: Some(iss.to_owned()),
        audiences: vec!["switchyard".to_owned()],
        ..IssuerConfig::default()
    }
}

/// HS256 (`test-hs`), RS256 from a PEM file (`test-rs`) and ES256 (`test-ec`).
fn static_issuers(config: &mut Config) {
    config.auth = AuthConfig {
        issuers: vec![
            IssuerConfig {
                secret: Some(SECRET.to_owned()),
                ..issuer("test-hs")
            },
            IssuerConfig {
                public_key_file: Some(keys_dir().join("rsa-a.pub.pem")),
                ..issuer("test-rs")
            },
            IssuerConfig {
                public_key_file: Some(keys_dir().join("ec.pub.pem")),
                ..issuer("test-ec")
            },
        ],
        ..AuthConfig::default()
    };
}

async fn me(stack: &Stack, token: &str) -> Reply {
    let auth = format!("Bearer {token}");
    stack
        .graphql_with(
            json!({"query": "{ me { id name } }"}),
            &[("authorization", &auth)],
        )
        .await
}

fn assert_refused(reply: &Reply, reason: &str) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
    let error = &reply.body["errors"][0];
    assert_eq!(
        error["extensions"]["code"], "UNAUTHENTICATED",
        "{}",
        reply.text
    );
    assert_eq!(error["extensions"]["reason"], reason, "{}", reply.text);
    let challenge = reply.headers["www-authenticate"].to_str().expect("ascii");
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
    assert!(reply.body["data"].is_null(), "{}", reply.text);
}

#[tokio::test]
async fn token_matrix() {
    let stack = Stack::builder().config(static_issuers).start().await;
    let user_1 = stack
        .services
        .get(ServiceKind::Users, "/users/1")
        .await
        .body;

    // Valid tokens of each key kind reach `me`.
    let es_key = EncodingKey::from_ec_pem(&key_file("ec.pem")).expect("an EC key");
    for token in [
        hs(SECRET, &claims("test-hs", "1", "")),
        rs("rsa-a.pem", None, &claims("test-rs", "1", "")),
        sign(Algorithm::ES256, None, &es_key, &claims("test-ec", "1", "")),
    ] {
        let reply = me(&stack, &token).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(
            reply.body["data"]["me"]["name"], user_1["name"],
            "{}",
            reply.text
        );
    }
    stack.services.reset_stats().await;

    let mut expired = claims("test-hs", "1", "");
    expired["exp"] = json!(now() - 3600);
    assert_refused(&me(&stack, &hs(SECRET, &expired)).await, "expired");

    let mut early = claims("test-hs", "1", "");
    early["nbf"] = json!(now() + 3600);
    assert_refused(&me(&stack, &hs(SECRET, &early)).await, "not_yet_valid");

    let forged = hs("another-secret-entirely", &claims("test-hs", "1", ""));
    assert_refused(&me(&stack, &forged).await, "bad_signature");

    // alg "none": a header and claims, no signature.
    let unsigned = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
        base64_url(&claims("test-hs", "1", "").to_string())
    );
    assert_refused(&me(&stack, &unsigned).await, "unsigned");

    // The classic confusion: HS256 keyed with the RSA *public* key, which anyone has.
    let public_pem = String::from_utf8(key_file("rsa-a.pub.pem")).expect("text");
    let confused = hs(&public_pem, &claims("test-rs", "1", ""));
    assert_refused(&me(&stack, &confused).await, "bad_signature");

    // RS256 signed by a key we do not know.
    let stranger = rs("rsa-b.pem", None, &claims("test-rs", "1", ""));
    assert_refused(&me(&stack, &stranger).await, "bad_signature");

    assert_refused(
        &me(&stack, &hs(SECRET, &claims("evil-issuer", "1", ""))).await,
        "wrong_issuer",
    );
    let mut other_audience = claims("test-hs", "1", "");
    other_audience["aud"] = json!("someone-else");
    assert_refused(
        &me(&stack, &hs(SECRET, &other_audience)).await,
        "wrong_audience",
    );

    let mut no_exp = claims("test-hs", "1", "");
    no_exp.as_object_mut().expect("an object").remove("exp");
    assert_refused(&me(&stack, &hs(SECRET, &no_exp)).await, "missing_claim");

    for garbage in ["not-a-jwt", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30"] {
        assert_refused(&me(&stack, garbage).await, "malformed");
    }
    let reply = me(&stack, "x.y.z").await;
    assert!(
        !reply.text.contains(SECRET) && !reply.text.to_lowercase().contains("base64"),
        "no internals: {}",
        reply.text
    );

    // No refused token reached a service.
    assert_eq!(stack.upstream_counts().await, [0; 4]);

    // No token at all: an anonymous caller, whose `me` needs authentication.
    let anonymous = stack.query("{ me { id } }").await;
    assert_eq!(anonymous.status, StatusCode::OK);
    assert!(anonymous.body["data"]["me"].is_null());
    assert_eq!(
        anonymous.body["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
}

fn base64_url(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// A JWKS host whose document can be swapped, counting its fetches.
struct JwksHost {
    url: String,
    document: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl JwksHost {
    async fn start(file: &str) -> JwksHost {
        let document = Arc::new(Mutex::new(String::from_utf8(key_file(file)).expect("text")));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (doc, count) = (document.clone(), fetches.clone());
        let app = Router::new().route(
            "/.well-known/jwks.json",
            get(move || {
                count.fetch_add(1, Ordering::SeqCst);
                let body = doc.lock().expect("not poisoned").clone();
                async move { ([("content-type", "application/json")], body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().expect("an address")
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        JwksHost {
            url,
            document,
            fetches,
            task,
        }
    }

    fn serve(&self, file: &str) {
        *self.document.lock().expect("not poisoned") =
            String::from_utf8(key_file(file)).expect("text");
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl Drop for JwksHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn jwks_rotation_and_unknown_key_ids() {
    let host = JwksHost::start("jwks-a.json").await;
    let url = host.url.clone();
    let stack = Stack::builder()
        .config(move |config| {
            config.auth.issuers = vec![IssuerConfig {
                jwks_url: Some(url),
                jwks_min_refresh: Duration::from_secs(1),
                ..issuer("test-jwks")
            }];
        })
        .start()
        .await;
    assert_eq!(host.fetches(), 1, "fetched once at start");
    let token_a = rs("rsa-a.pem", Some("key-a"), &claims("test-jwks", "1", ""));
    let token_b = rs("rsa-b.pem", Some("key-b"), &claims("test-jwks", "2", ""));
    assert_eq!(me(&stack, &token_a).await.body["data"]["me"]["id"], "1");

    // key-b is not published yet: one refetch, still unknown.
    assert_refused(&me(&stack, &token_b).await, "unknown_key");
    assert_eq!(host.fetches(), 2);

    // The issuer rotates: key-b is published beside key-a.
    host.serve("jwks-ab.json");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let reply = me(&stack, &token_b).await;
    assert_eq!(reply.body["data"]["me"]["id"], "2", "{}", reply.text);
    assert_eq!(host.fetches(), 3);
    // The old key's tokens stay valid until they expire.
    assert_eq!(me(&stack, &token_a).await.body["data"]["me"]["id"], "1");

    // A flood of made-up key ids costs the JWKS host at most one more fetch.
    for i in 0..30 {
        let kid = format!("random-{i}");
        let token = rs("rsa-a.pem", Some(&kid), &claims("test-jwks", "1", ""));
        assert_refused(&me(&stack, &token).await, "unknown_key");
    }
    assert!(host.fetches() <= 4, "{} fetches", host.fetches());
}

#[tokio::test]
async fn scopes_guard_fields_and_their_services() {
    let stack = Stack::builder().config(static_issuers).start().await;
    let without = hs(SECRET, &claims("test-hs", "7", "orders:read"));
    let query = json!({"query": "{ me { id name email } user(id: 8) { name } }"});

    let auth = format!("Bearer {without}");
    let reply = stack
        .graphql_with(query.clone(), &[("authorization", &auth)])
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let me = &reply.body["data"]["me"];
    assert_eq!(me["id"], "7", "{}", reply.text);
    assert!(me["name"].is_string(), "the rest arrives: {}", reply.text);
    assert!(me["email"].is_null(), "{}", reply.text);
    assert!(reply.body["data"]["user"]["name"].is_string());
    let errors = reply.body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{}", reply.text);
    assert_eq!(errors[0]["path"], json!(["me", "email"]));
    assert_eq!(errors[0]["extensions"]["code"], "FORBIDDEN");

    let with = hs(SECRET, &claims("test-hs", "7", "orders:read users:email"));
    let auth = format!("Bearer {with}");
    let reply = stack.graphql_with(query, &[("authorization", &auth)]).await;
    assert!(reply.body.get("errors").is_none(), "{}", reply.text);
    assert!(
        reply.body["data"]["me"]["email"].is_string(),
        "{}",
        reply.text
    );
}

/// A service behind a guarded field is never called for a caller who may not read it,
/// and the caller's identity reaches services only from the verified token.
#[tokio::test]
async fn identity_headers_come_from_the_token_only() {
    let recorder = Recorder::start(|path| {
        (
            StatusCode::OK,
            json!({"id": path.rsplit('/').next().unwrap_or_default()}),
        )
    })
    .await;
    let schema = r#"
        extend schema @source(name: "svc", url: "RECORDER")
        type Query {
          me: Profile @authenticated @rest(source: "svc", path: "/profiles/{$jwt.sub}")
          audit: Profile @requiresScopes(scopes: [["admin"], ["ops", "read"]])
            @rest(source: "svc", path: "/audit")
          open: Profile @rest(source: "svc", path: "/open")
        }
        type Profile { id: ID! }
    "#;
    let gateway = recorder.gateway_with(schema, static_issuers).await;
    let ask = |token: Option<String>, query: &'static str| {
        let url = format!("{}/graphql", gateway.url());
        async move {
            let mut request = switchyard_tests::client()
                .post(url)
                .header("x-user-id", "999")
                .header("x-user-scopes", "admin")
                .json(&json!({ "query": query }));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            switchyard_tests::reply(request.send().await.expect("answers")).await
        }
    };

    let ops_only = hs(SECRET, &claims("test-hs", "5", "ops"));
    let reply = ask(Some(ops_only), "{ me { id } audit { id } }").await;
    assert_eq!(reply.body["data"]["me"]["id"], "5", "{}", reply.text);
    assert!(reply.body["data"]["audit"].is_null());
    assert_eq!(reply.body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let requests = recorder.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].uri, "/profiles/5");
    assert_eq!(requests[0].headers["x-user-id"], "5");
    assert_eq!(requests[0].headers["x-user-scopes"], "ops");

    let ops_read = hs(SECRET, &claims("test-hs", "5", "ops read"));
    let reply = ask(Some(ops_read), "{ audit { id } }").await;
    assert_eq!(reply.body["data"]["audit"]["id"], "audit", "{}", reply.text);

    // Anonymous: nothing guarded is called, and the forged identity headers are dropped.
    let before = recorder.requests().len();
    let reply = ask(None, "{ me { id } audit { id } open { id } }").await;
    assert_eq!(
        reply.body["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    assert_eq!(reply.body["data"]["open"]["id"], "open", "{}", reply.text);
    let requests = recorder.requests();
    assert_eq!(
        requests.len(),
        before + 1,
        "only `open` was called: {requests:?}"
    );
    let open = &requests[before];
    assert_eq!(open.uri, "/open");
    assert!(
        open.headers.get("x-user-id").is_none(),
        "{:?}",
        open.headers
    );
    assert!(
        open.headers.get("x-user-scopes").is_none(),
        "{:?}",
        open.headers
    );
}

#[tokio::test]
async fn jwks_is_refetched_on_its_schedule() {
    let host = JwksHost::start("jwks-a.json").await;
    let url = host.url.clone();
    let _stack = Stack::builder()
        .config(move |config| {
            config.auth.issuers = vec![IssuerConfig {
                jwks_url: Some(url),
                jwks_refresh: Duration::from_millis(200),
                ..issuer("test-jwks")
            }];
        })
        .start()
        .await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(host.fetches() >= 3, "{} fetches", host.fetches());
}

#[tokio::test]
async fn the_demo_prints_a_token_that_reads_me() {
    let demo = switchyard::demo::start("127.0.0.1:0".parse().expect("an address"), 42)
        .await
        .expect("the demo starts");
    assert!(demo.banner().contains(demo.token()));
    let response = switchyard_tests::client()
        .post(format!("{}/graphql", demo.gateway().url()))
        .bearer_auth(demo.token())
        .json(&json!({"query": "{ me { id name email } }"}))
        .send()
        .await
        .expect("answers");
    let reply = switchyard_tests::reply(response).await;
    assert!(reply.body.get("errors").is_none(), "{}", reply.text);
    assert_eq!(reply.body["data"]["me"]["id"], "1");
    assert!(
        reply.body["data"]["me"]["email"].is_string(),
        "{}",
        reply.text
    );
    demo.stop().await.expect("stops");
}
