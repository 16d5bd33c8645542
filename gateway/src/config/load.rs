//! Reading the config: defaults, then the TOML file, then `SWITCHYARD_*` variables.

use std::path::{Path, PathBuf};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};

use super::Config;

/// Why a configuration could not be loaded. The message names the file and key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path} does not exist")]
    Missing { path: PathBuf },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Environment variables override file keys: `SWITCHYARD_SERVER__LISTEN=0.0.0.0:4000`
/// sets `server.listen` (a double underscore separates nesting levels).
fn env() -> Env {
    Env::prefixed("SWITCHYARD_").split("__")
}

fn extract(figment: Figment) -> Result<Config, ConfigError> {
    figment.extract::<Config>().map_err(|errors| {
        let messages: Vec<String> = errors.into_iter().map(|e| e.to_string()).collect();
        ConfigError::Invalid(messages.join("; "))
    })
}

/// Loads the config from `path` (when given) and the environment, over the defaults.
/// A relative `schema.path` is resolved against the config file's folder.
pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(path) = path {
        if !path.is_file() {
            return Err(ConfigError::Missing {
                path: path.to_owned(),
            });
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    let mut config = extract(figment.merge(env()))?;
    if let Some(folder) = path.and_then(Path::parent) {
        if config.schema.path.is_relative() {
            config.schema.path = folder.join(&config.schema.path);
        }
        for issuer in &mut config.auth.issuers {
            if let Some(file) = issuer.public_key_file.as_mut().filter(|f| f.is_relative()) {
                *file = folder.join(&*file);
            }
        }
    }
    Ok(config)
}

/// Loads a config from TOML text (no environment), as tests and `demo` do.
pub fn load_from_str(toml: &str) -> Result<Config, ConfigError> {
    extract(Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(toml)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_all_defaults() {
        let config = load_from_str("").expect("defaults load");
        assert_eq!(config, Config::default());
        assert_eq!(config.server.listen.port(), 4000);
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let error = load_from_str("[server]\nlisten = \"127.0.0.1:1\"\nlistne = 3\n").unwrap_err();
        assert!(error.to_string().contains("listne"), "{error}");
        let error = load_from_str("[servr]\n").unwrap_err();
        assert!(error.to_string().contains("servr"), "{error}");
    }

    #[test]
    fn durations_are_humantime() {
        let config = load_from_str("[server]\nshutdown_timeout = \"1m 5s\"\n").expect("loads");
        assert_eq!(config.server.shutdown_timeout.as_secs(), 65);
        let error = load_from_str("[server]\nshutdown_timeout = \"soon\"\n").unwrap_err();
        assert!(error.to_string().contains("shutdown_timeout"), "{error}");
    }
}
