//! Re-reading the config while running: the one path behind SIGHUP (the daemon) and the bot's
//! `/reload`. Below both, so that neither the bot reaches into the process layer nor the other way.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;

use crate::classify::{BuildError, Classifier};
use crate::config::{Config, ConfigError};

/// Why a config was refused (the running one stays).
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// Unreadable or invalid: names file:line:column.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Valid TOML whose keywords cannot be built into the matcher.
    #[error("{path}: {source}")]
    Classifier { path: PathBuf, source: BuildError },
}

/// Loads a config and checks that its classifier builds: everything `check-config` checks.
pub fn load_checked(path: &Path) -> Result<Config, ReloadError> {
    let config = Config::load_runnable(path)?;
    Classifier::new(&config.classify, &config.topics).map_err(|source| {
        ReloadError::Classifier {
            path: path.to_owned(),
            source,
        }
    })?;
    Ok(config)
}

/// Re-reads the config file and publishes it to every stage. A valid config (classifier
/// included) replaces the running one atomically; an invalid one is refused with
/// file:line:column and the running config stays.
#[derive(Clone)]
pub struct Reloader {
    path: PathBuf,
    config: Arc<watch::Sender<Arc<Config>>>,
}

impl Reloader {
    pub fn new(path: PathBuf, config: watch::Sender<Arc<Config>>) -> Reloader {
        Reloader {
            path,
            config: Arc::new(config),
        }
    }

    /// Reloads; `trigger` names what asked (for the log).
    pub fn reload(&self, trigger: &str) -> Result<Arc<Config>, ReloadError> {
        tracing::info!("{trigger}: reloading {}", self.path.display());
        match load_checked(&self.path) {
            Ok(new) => {
                metrics::counter!(crate::metrics::RELOADS, "result" => "ok").increment(1);
                let new = Arc::new(new);
                self.config.send_replace(Arc::clone(&new));
                Ok(new)
            }
            Err(e) => {
                metrics::counter!(crate::metrics::RELOADS, "result" => "failed").increment(1);
                tracing::error!("reload refused, the running config stays: {e}");
                Err(e)
            }
        }
    }
}
