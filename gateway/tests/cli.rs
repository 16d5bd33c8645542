//! The `switchyard` binary: `check` and `print-schema` on good and broken schema files.
//!
//! These live beside the binary (not in the `tests` crate) because only a package's own
//! integration tests are guaranteed a freshly built binary (`CARGO_BIN_EXE_*`).

mod support;

use support::{TempDir, shop_schema, succeeds, switchyard};

#[test]
fn check_accepts_the_demo_schema() {
    let output = succeeds(switchyard().arg("check").arg("--schema").arg(shop_schema()));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("ok:"));
}

#[test]
fn check_reports_every_error_with_line_and_column() {
    let dir = TempDir::new("check");
    let file = dir.path().join("broken.graphql");
    std::fs::write(
        &file,
        r#"extend schema @source(name: "users", url: "http://127.0.0.1:4001")
type Query {
  user(id: ID!): User @rest(source: "userz", path: "/users/{$args.uid}")
}
type User { id: ID! name: String! boss: User @join(key: "bossId") }
"#,
    )
    .expect("written");
    let output = switchyard()
        .arg("check")
        .arg("--schema")
        .arg(&file)
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let name = file.display().to_string();
    assert!(stderr.contains(&format!("{name}:3:")), "{stderr}");
    assert!(stderr.contains("unknown source `userz`"), "{stderr}");
    assert!(stderr.contains("no argument `uid`"), "{stderr}");
    assert!(
        stderr.contains(&format!("{name}:5:")) && stderr.contains("bossId"),
        "{stderr}"
    );
    assert!(stderr.contains("help:"), "{stderr}");

    // `serve` refuses the same file.
    let serve = switchyard()
        .arg("serve")
        .arg("--schema")
        .arg(&file)
        .arg("--listen")
        .arg("127.0.0.1:0")
        .output()
        .expect("runs");
    assert!(!serve.status.success());
    assert!(String::from_utf8_lossy(&serve.stderr).contains("userz"));
}

#[test]
fn print_schema_prints_the_public_sdl() {
    let output = succeeds(
        switchyard()
            .arg("print-schema")
            .arg("--schema")
            .arg(shop_schema()),
    );
    let sdl = String::from_utf8_lossy(&output.stdout);
    assert!(sdl.contains("type Query") && sdl.contains("placeOrder"));
    assert!(!sdl.contains("@rest"));
}

#[test]
fn bad_config_keys_are_named() {
    let dir = TempDir::new("config");
    let file = dir.path().join("switchyard.toml");
    std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:0\"\nlistne = 1\n").expect("written");
    let output = switchyard()
        .arg("check")
        .arg("--config")
        .arg(&file)
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("listne"));
}

#[test]
fn a_missing_schema_file_is_named_once() {
    for command in ["check", "print-schema"] {
        let output = switchyard()
            .args([command, "--schema", "no-such-schema.graphql"])
            .output()
            .expect("runs");
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("cannot read schema file no-such-schema.graphql"),
            "{stderr}"
        );
        assert_eq!(stderr.matches("No such file").count(), 1, "{stderr}");
    }
}

#[test]
fn token_mints_a_demo_token_and_explains_a_missing_secret() {
    let output = succeeds(switchyard().args([
        "token",
        "--demo",
        "--sub",
        "5",
        "--scope",
        "users:email",
        "--ttl",
        "10m",
    ]));
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "{token}");

    let output = switchyard()
        .args(["token", "--sub", "5"])
        .env_remove("SWITCHYARD_CONFIG")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no HMAC issuer is configured"), "{stderr}");
}

#[test]
fn check_reports_a_bad_security_setting() {
    let dir = TempDir::new("auth");
    let config = dir.path().join("switchyard.toml");
    std::fs::write(
        &config,
        "[[auth.issuers]]\nsecret = \"s\"\npublic_key_file = \"k.pem\"\n",
    )
    .expect("written");
    let output = switchyard()
        .arg("check")
        .arg("--config")
        .arg(&config)
        .arg("--schema")
        .arg(shop_schema())
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("auth.issuers[0]") && stderr.contains("exactly one"),
        "{stderr}"
    );
}

#[test]
fn healthcheck_fails_when_nothing_answers() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let output = switchyard()
        .args([
            "healthcheck",
            "--url",
            &format!("http://127.0.0.1:{port}/health"),
        ])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unhealthy"));
}
