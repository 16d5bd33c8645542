//! Running the real `switchyard` binary beside in-process demo services: a config file
//! in a temp folder, stderr collected, `/health` awaited.

#![allow(dead_code)]

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use switchyard_mock::{MockCluster, ServiceKind};

pub fn switchyard() -> Command {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
}

/// Runs `command`, which must succeed (its stderr is the failure message).
pub fn succeeds(command: &mut Command) -> std::process::Output {
    let output = command.output().expect("the command runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub fn shop_schema() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/examples/shop.graphql")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A temp folder of this test process, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("switchyard-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `[sources.*]` tables pointing the shop schema at `services`.
pub fn sources_toml(services: &MockCluster) -> String {
    ServiceKind::ALL
        .into_iter()
        .map(|kind| {
            let url = services.url(kind).expect("running");
            format!("[sources.{}]\nurl = \"{url}\"\n", kind.name())
        })
        .collect()
}

/// `switchyard serve` with stderr collected; killed when dropped.
pub struct Gateway {
    pub child: Child,
    pub url: String,
    stderr: Arc<Mutex<String>>,
}

impl Gateway {
    /// Starts `serve --config <dir>/switchyard.toml`, the file holding `[server] listen`
    /// on a free port and then `config`.
    pub async fn start(dir: &Path, config: &str, env: &[(&str, &str)]) -> Gateway {
        let port = free_port();
        let file = dir.join("switchyard.toml");
        std::fs::write(
            &file,
            format!("[server]\nlisten = \"127.0.0.1:{port}\"\n{config}"),
        )
        .expect("written");
        let mut command = switchyard();
        command
            .args(["serve", "--config"])
            .arg(&file)
            .stderr(Stdio::piped())
            .stdout(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("the gateway starts");
        let stderr: Arc<Mutex<String>> = Arc::default();
        let mut pipe = child.stderr.take().expect("piped");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .expect("not poisoned")
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let gateway = Gateway {
            child,
            url: format!("http://127.0.0.1:{port}"),
            stderr,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let up = client.get(format!("{}/health", gateway.url)).send().await;
            if up.is_ok_and(|r| r.status().is_success()) {
                return gateway;
            }
            assert!(
                Instant::now() < deadline,
                "the gateway did not start: {}",
                gateway.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn logs(&self) -> String {
        self.stderr.lock().expect("not poisoned").clone()
    }

    /// Sends a Unix signal (`TERM`, `HUP`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
