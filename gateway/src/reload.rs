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

/// The files a configuration was loaded from, as they were when it was: a change from then
/// on is reloaded, even one made before the gateway started serving.
pub struct Watcher {
    config_file: Option<PathBuf>,
    watched: Vec<PathBuf>,
    seen: Vec<Stamp>,
}

impl Watcher {
    /// Notes the files now, before `config` is served (a watcher started after serving
    /// missed an edit made in between: it took the edited file for the served one).
    pub fn new(config_file: Option<PathBuf>, config: &Config) -> Watcher {
        let watched = files(config_file.as_ref(), config);
        let seen = stamps(&watched);
        Watcher {
            config_file,
            watched,
            seen,
        }
    }

    /// Reloads `state` whenever the files change, or on SIGHUP, until the process ends.
    /// `load` reads the config afresh (with the command line's overrides).
    pub async fn run(self, state: GraphqlState, load: impl Fn() -> Result<Config, ConfigError>) {
        let Watcher {
            config_file,
            mut watched,
            mut seen,
        } = self;
        #[cfg(unix)]
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
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
            watched = files(config_file.as_ref(), &config);
            seen = stamps(&watched);
            match crate::reload(&state, &config).await {
                Ok(()) => {
                    tracing::info!(reason, schema = %config.schema.path.display(), "reloaded")
                }
                Err(error) => tracing::error!(
                    error = %format!("{error}").trim_end(),
                    reason,
                    "reload rejected; the previous version keeps serving"
                ),
            }
        }
    }
}

/// The config file (when there is one) and the schema file it names.
fn files(config_file: Option<&PathBuf>, config: &Config) -> Vec<PathBuf> {
    config_file
        .cloned()
        .into_iter()
        .chain(std::iter::once(config.schema.path.clone()))
        .collect()
}
