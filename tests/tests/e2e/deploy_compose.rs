//! `docker-compose.yml` checked against the repository, since no container engine runs in
//! CI: every service it names exists, every mounted file exists, and the gateway config it
//! mounts loads and points at the compose services on the ports they listen on.

use std::{collections::BTreeSet, path::PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn compose() -> Yaml {
    let text =
        std::fs::read_to_string(root().join("docker-compose.yml")).expect("the compose file");
    YamlLoader::load_from_str(&text)
        .expect("valid YAML")
        .into_iter()
        .next()
        .expect("one document")
}

fn strings(yaml: &Yaml) -> Vec<String> {
    yaml.as_vec()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_compose_file_agrees_with_the_repository_and_the_gateway_config() {
    let compose = compose();
    let services = compose["services"].as_hash().expect("services");
    let names: BTreeSet<String> = services
        .keys()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect();
    for expected in [
        "services",
        "gateway-1",
        "gateway-2",
        "lb",
        "redis",
        "jaeger",
        "prometheus",
        "grafana",
    ] {
        assert!(
            names.contains(expected),
            "{expected} is missing from {names:?}"
        );
    }

    for (name, service) in services {
        let name = name.as_str().expect("a name");
        // Dependencies name services of this file.
        for dependency in strings(&service["depends_on"]) {
            assert!(
                names.contains(&dependency),
                "{name} depends on unknown {dependency}"
            );
        }
        // Mounted host paths exist in the repository.
        for volume in strings(&service["volumes"]) {
            let host = volume.split(':').next().expect("host:container");
            assert!(
                host.starts_with("./"),
                "{name} mounts {host}: keep mounts in the repo"
            );
            let path = root().join(host);
            assert!(path.exists(), "{name} mounts {host}, which does not exist");
        }
        // Images are pinned, never `latest`.
        if let Some(image) = service["image"].as_str() {
            assert!(
                !image.ends_with(":latest") && image.contains(':'),
                "{name}: pin {image}"
            );
        }
        if !service["build"].is_badvalue() {
            assert!(
                root().join("Dockerfile").exists(),
                "{name} builds the Dockerfile"
            );
        }
    }

    // The load balancer publishes the README's port and forwards to both gateways.
    assert!(strings(&services[&Yaml::from_str("lb")]["ports"]).contains(&"4000:4000".to_owned()));
    let nginx = std::fs::read_to_string(root().join("deploy/nginx.conf")).expect("nginx.conf");
    for gateway in ["gateway-1:4000", "gateway-2:4000"] {
        assert!(nginx.contains(gateway), "nginx forwards to {gateway}");
    }
    let prometheus =
        std::fs::read_to_string(root().join("deploy/prometheus.yml")).expect("prometheus.yml");
    for gateway in ["gateway-1:4000", "gateway-2:4000"] {
        assert!(prometheus.contains(gateway), "prometheus scrapes {gateway}");
    }

    // The mounted gateway config is valid and names compose services on their ports.
    let config = switchyard::config::load(Some(&root().join("deploy/switchyard.toml")))
        .expect("the compose gateway config loads");
    assert_eq!(config.server.listen.port(), 4000);
    let mock_ports = ["users", "orders", "payments", "notifications"]
        .iter()
        .zip(4001..)
        .collect::<Vec<_>>();
    for (source, port) in mock_ports {
        let url = config.sources[*source].url.clone().expect("a URL");
        assert_eq!(url, format!("http://services:{port}"), "{source}");
    }
    let published = strings(&services[&Yaml::from_str("services")]["ports"]);
    assert!(
        published.contains(&"4001-4004:4001-4004".to_owned()),
        "{published:?}"
    );
    let redis = config.redis.url.clone().expect("Redis is configured");
    assert!(redis.starts_with("redis://redis:6379"), "{redis}");
    let traces = config
        .telemetry
        .traces
        .endpoint
        .clone()
        .expect("traces are exported");
    assert_eq!(traces, "http://jaeger:4318");
    assert_eq!(
        services[&Yaml::from_str("jaeger")]["environment"]["COLLECTOR_OTLP_ENABLED"].as_str(),
        Some("true")
    );
    // The schema path inside the container is where the volume puts the shop schema.
    let gateway = &services[&Yaml::from_str("gateway-1")];
    let target = format!("{}:ro", config.schema.path.display());
    assert!(
        strings(&gateway["volumes"])
            .iter()
            .any(|v| v.ends_with(&target)),
        "the schema is mounted at {target}"
    );
    // And the gateway's schema file is the shop the services serve.
    let shop = std::fs::read_to_string(root().join("schema/examples/shop.graphql")).expect("shop");
    switchyard::engine_from_sdl(&config, std::path::Path::new("shop.graphql"), &shop)
        .expect("the compose gateway builds the shop schema");
}

/// The Dockerfile's build stage builds packages of this workspace, its runtime stage
/// copies the binaries they make and files that exist, and its health check and command
/// are ones the binary has. (CI has no container engine to build it.)
#[test]
fn the_dockerfile_builds_what_the_workspace_has() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).expect("a Dockerfile");
    let build = dockerfile
        .lines()
        .find(|l| l.contains("cargo build"))
        .expect("a cargo build");
    for package in ["switchyard", "switchyard-mock"] {
        assert!(build.contains(&format!("-p {package}")), "{build}");
    }
    assert!(
        build.contains("--locked") && build.contains("--release"),
        "{build}"
    );
    for (manifest, binary) in [
        ("gateway/Cargo.toml", "switchyard"),
        ("services-mock/Cargo.toml", "switchyard-mock"),
    ] {
        let text = std::fs::read_to_string(root().join(manifest)).expect("a manifest");
        assert!(
            text.contains(&format!("name = \"{binary}\"")),
            "{manifest} makes the {binary} binary the image copies"
        );
        assert!(
            dockerfile.contains(&format!("target/release/{binary}")),
            "{binary} is copied"
        );
    }
    for line in dockerfile
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let source = line.split_whitespace().nth(1).expect("a source");
        assert!(root().join(source).exists(), "COPY {source}: missing");
    }
    assert!(dockerfile.contains(r#"CMD ["switchyard", "healthcheck"]"#));
    assert!(dockerfile.contains("/etc/switchyard/switchyard.toml"));
    // The subcommand exists (gateway/tests/cli.rs runs the binary itself).
    let cli = std::fs::read_to_string(root().join("gateway/src/cli.rs")).expect("the CLI");
    assert!(
        cli.contains("Healthcheck(HealthcheckArgs)"),
        "`switchyard healthcheck` exists"
    );
}
