//! Hot reload: the config file and the schema file it names are watched (their
//! modification times, polled: inotify misses edits on many container volume mounts),
//! and SIGHUP asks for a reload too. A new version is built beside the serving one and
//! swapped in only when valid; an invalid one is logged and dropped.

use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use crate::{
    config::{Config, ConfigError},
    http::GraphqlState,
};

/// How often the files are checked.
pub const POLL: Duration = Duration::from_secs(1);

/// What is known of a file: when it changed and how long it is (two edits within the
/// clock's resolution rarely keep the length too).
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn stamps(paths: &[PathBuf]) -> Vec<Stamp> {
    paths.iter().map(|p| stamp(p)).collect()
}

/// Reloads `state` whenever the files `load` reads change, or on SIGHUP, until the
/// process ends. `config_file` is the config's path, if any; `load` reads the config
/// afresh (with the command line's overrides).
pub async fn watch(
    state: GraphqlState,
    config_file: Option<PathBuf>,
    load: impl Fn() -> Result<Config, ConfigError>,
) {
    let files = |config: Option<&Config>| -> Vec<PathBuf> {
        config_file
            .iter()
            .cloned()
            .chain(config.map(|c| c.schema.path.clone()))
            .collect()
    };
    let mut watched = files(load().ok().as_ref());
    let mut seen = stamps(&watched);
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        #[cfg(unix)]
        let hup = async {
            match hangup.as_mut() {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let hup = std::future::pending::<()>();
        let reason = tokio::select! {
            _ = hup => "SIGHUP",
            _ = tokio::time::sleep(POLL) => {
                let now = stamps(&watched);
                if now == seen {
                    continue;
                }
                "a file changed"
            }
        };
        let config = match load() {
            Ok(config) => config,
            Err(error) => {
                tracing::error!(%error, reason, "reload rejected: the config is invalid; the previous version keeps serving");
                seen = stamps(&watched);
                continue;
            }
        };
        watched = files(Some(&config));
        seen = stamps(&watched);
        match crate::reload(&state, &config).await {
            Ok(()) => tracing::info!(reason, schema = %config.schema.path.display(), "reloaded"),
            Err(error) => tracing::error!(
                error = %format!("{error}").trim_end(),
                reason,
                "reload rejected; the previous version keeps serving"
            ),
        }
    }
}
