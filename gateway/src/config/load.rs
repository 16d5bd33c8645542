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

#[cfg(test)]
mod reference {
    use super::*;

    /// Every key of the config tree, dotted (`server.listen`), from its defaults. Maps with
    /// user-chosen keys (`sources`, `forward_claims`, `scopes`) stand for their entries.
    fn keys(prefix: &str, value: &serde_json::Value, out: &mut Vec<String>) {
        if let serde_json::Value::Object(fields) = value {
            for (key, child) in fields {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                let user_keyed = matches!(key.as_str(), "sources" | "forward_claims" | "scopes");
                if child.is_object() && !user_keyed {
                    keys(&path, child, out);
                } else {
                    out.push(path);
                }
            }
        }
    }

    /// docs/configuration.md documents every key the config accepts, so the reference
    /// cannot drift from the types: a new key fails this test until it is documented.
    #[test]
    fn every_key_is_in_the_reference() {
        let doc = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md"),
        )
        .expect("docs/configuration.md");
        let tree = serde_json::to_value(Config::default()).expect("serialisable");
        let mut all = Vec::new();
        keys("", &tree, &mut all);
        assert!(all.len() > 50, "{all:?}");
        let missing: Vec<&String> = all
            .iter()
            .filter(|path| {
                let mut parts: Vec<&str> = path.split('.').collect();
                let key = parts.pop().unwrap_or_default();
                let section = parts.first().copied().unwrap_or(key);
                let nested = parts.get(1).map(|p| format!("`{p}.{key}`"));
                let has_section = doc.contains(&format!("`[{section}]`"))
                    || doc.contains(&format!("`[{section}."));
                // A key is documented by its name in backticks, as `parent.key`, as a
                // table (`[[auth.issuers]]`, `[sources.<name>]`), as a map (`scopes.<scope>`)
                // or inside an inline-table example (`per = "1m"`).
                let has_key = doc.contains(&format!("`{key}`"))
                    || nested.is_some_and(|n| doc.contains(&n))
                    || doc.contains(&format!("[{section}.{key}]"))
                    || doc.contains(&format!("`[{key}."))
                    || doc.contains(&format!("`{key}.<"))
                    || doc.contains(&format!("{key} = "));
                !(has_section && has_key)
            })
            .collect();
        assert!(missing.is_empty(), "undocumented config keys: {missing:?}");
    }
}
