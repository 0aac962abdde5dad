//! Reading the file and the checks that span fields: duplicate ids, settings that only make
//! sense for one source kind, topics that destinations name; every error at `file:line:column`.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::*;

/// Shortest allowed poll interval. Ministries publish a handful of items a day; polling faster
/// only burdens their servers (and MSIT takes seconds to answer).
pub const MIN_INTERVAL: Duration = Duration::from_secs(60);

/// Shortest allowed `store.keep_seen`: the cross-source and same-title checks look back this
/// far, and a release that drops off a list and comes back within days must not be new again.
pub const MIN_KEEP_SEEN: Duration = Duration::from_secs(7 * 24 * 3600);

/// Where `--config` points when not given and `config/policy-watch.toml` does not exist in the
/// current directory (that is, outside a checkout of the repository).
pub const SYSTEM_CONFIG_PATH: &str = "/etc/policy-watch/config.toml";

/// The shipped example config, used by default when running from the repository.
pub const REPO_CONFIG_PATH: &str = "config/policy-watch.toml";

/// A configuration error, located in the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "{path}: cannot read the config file: {source}; check the --config path and its permissions"
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// A validated configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub telegram: TelegramConfig,
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
    #[serde(default)]
    pub classify: ClassifyConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub bot: BotConfig,
    #[serde(default, rename = "topic")]
    pub topics: Vec<TopicConfig>,
    /// The default poll schedule of every source without its own (`[source.schedule]`); without
    /// either, a source polls every `interval`.
    #[serde(default)]
    pub schedule: Option<ScheduleConfig>,
}

impl Config {
    /// Reads and validates the config at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::parse(path, &read(path)?)
    }

    /// [`Config::load`] plus `Config::check_runnable`: what `check-config`, `run`, `once` and
    /// reloads accept.
    pub fn load_runnable(path: &Path) -> Result<Config, ConfigError> {
        let text = read(path)?;
        let config = Config::parse(path, &text)?;
        config.check_runnable(path, &text)?;
        Ok(config)
    }

    /// Parses and validates config text; `path` is only used in error messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let located = |span: Option<Range<usize>>, message: String| {
            invalid(path, text, span.map(|s| s.start).unwrap_or(0), message)
        };
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let message = e.message().trim_end().replace('\n', " ");
            located(e.span(), message)
        })?;
        // A source without a schedule of its own takes the config's.
        if let Some(schedule) = &config.schedule {
            for source in &mut config.sources {
                source.schedule.get_or_insert_with(|| schedule.clone());
            }
        }
        config
            .validate()
            .map_err(|(span, message)| located(Some(span), message))?;
        Ok(config)
    }

    /// Cross-field checks that serde cannot express. Returns the span to blame.
    fn validate(&self) -> Result<(), (Range<usize>, String)> {
        let mut ids = HashSet::new();
        for source in &self.sources {
            if !ids.insert(source.id.get_ref().as_str()) {
                return Err((
                    source.id.span(),
                    format!(
                        "duplicate source id {:?}; every [[source]] needs its own id (it keys the source's history)",
                        source.id.get_ref()
                    ),
                ));
            }
            match (*source.kind.get_ref(), &source.select) {
                (SourceKind::HtmlList, None) => {
                    return Err((
                        source.kind.span(),
                        format!(
                            "source {:?} is kind = \"html_list\" but has no [source.select] table; add selectors for item and title",
                            source.id.get_ref()
                        ),
                    ));
                }
                (kind @ (SourceKind::Feed | SourceKind::BriefingApi), Some(select)) => {
                    return Err((
                        select.span(),
                        format!(
                            "source {:?} is kind = \"{}\"; [source.select] only applies to kind = \"html_list\": remove it or change the kind",
                            source.id.get_ref(),
                            kind.name()
                        ),
                    ));
                }
                _ => {}
            }
            if let (kind @ (SourceKind::Feed | SourceKind::BriefingApi), Some(filter)) =
                (*source.kind.get_ref(), &source.filter)
            {
                return Err((
                    filter.span(),
                    format!(
                        "source {:?} is kind = \"{}\"; [source.filter] only applies to kind = \"html_list\"{}",
                        source.id.get_ref(),
                        kind.name(),
                        if kind == SourceKind::BriefingApi {
                            " (the API filters by `ministries = [...]`)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            if let Some(select) = &source.select {
                let s = select.get_ref();
                match (&s.link_pattern, &s.link_template) {
                    (Some(_), None) | (None, Some(_)) => {
                        return Err((
                            select.span(),
                            format!(
                                "source {:?}: link_pattern and link_template go together (the pattern's groups fill the template); give both or neither",
                                source.id.get_ref()
                            ),
                        ));
                    }
                    (Some(pattern), Some(template)) => {
                        let groups = pattern.regex.captures_len() - 1;
                        if let Some(n) = template_placeholders(template.get_ref())
                            .into_iter()
                            .find(|n| *n == 0 || *n > groups)
                        {
                            return Err((
                                template.span(),
                                format!(
                                    "link_template uses {{{n}}} but link_pattern has {groups} capture group(s); use {{1}} to {{{groups}}}"
                                ),
                            ));
                        }
                    }
                    (None, None) => {}
                }
            }
            if let Some(identity) = &source.identity {
                let i = identity.get_ref();
                let problem = match (&i.link_params, &i.pattern) {
                    (None, None) => Some(
                        "give link_params (the query parameters that identify a document) or a pattern with one capture group",
                    ),
                    (Some(_), Some(_)) => Some("give link_params or pattern, not both"),
                    (Some(p), None) if p.is_empty() || p.iter().any(|s| s.trim().is_empty()) => {
                        Some(
                            "link_params needs at least one non-empty parameter name, e.g. [\"newsId\"]",
                        )
                    }
                    (Some(_), None) if i.from == IdentityFrom::Row => {
                        Some("from = \"row\" applies to pattern only")
                    }
                    (None, Some(_))
                        if i.from == IdentityFrom::Row
                            && *source.kind.get_ref() == SourceKind::Feed =>
                    {
                        Some(
                            "from = \"row\" applies to html_list sources only; feeds use from = \"link\"",
                        )
                    }
                    _ => None,
                };
                if let Some(problem) = problem {
                    return Err((
                        identity.span(),
                        format!(
                            "source {:?}: [source.identity]: {problem}",
                            source.id.get_ref()
                        ),
                    ));
                }
            }
            if source.max_pages > 1 && *source.kind.get_ref() == SourceKind::Feed {
                return Err((
                    source.id.span(),
                    format!(
                        "source {:?} is kind = \"feed\"; max_pages applies to html_list sources only (feeds are read whole)",
                        source.id.get_ref()
                    ),
                ));
            }
            if let (HttpMethod::Get, Some(form)) = (source.method, &source.form) {
                return Err((
                    form.span(),
                    format!(
                        "source {:?} has a form body but method is GET; add method = \"POST\" or remove the form",
                        source.id.get_ref()
                    ),
                ));
            }
        }
        let mut topic_ids = HashSet::new();
        for topic in &self.topics {
            if topic.keywords.is_empty() && topic.strong.is_empty() {
                return Err((
                    topic.id.span(),
                    format!(
                        "topic {:?} has no keywords; give it `keywords` (or `strong`) so that it can ever match",
                        topic.id.get_ref()
                    ),
                ));
            }
            if !topic_ids.insert(topic.id.get_ref().as_str()) {
                return Err((
                    topic.id.span(),
                    format!(
                        "duplicate topic id {:?}; every [[topic]] needs its own id",
                        topic.id.get_ref()
                    ),
                ));
            }
        }
        let excluded: Vec<(String, &str)> = self
            .classify
            .exclude
            .iter()
            .map(|e| (crate::fold::fold_keyword(e), e.as_str()))
            .collect();
        for topic in &self.topics {
            let own: Vec<(String, &str)> = topic
                .exclude
                .iter()
                .map(|e| (crate::fold::fold_keyword(e), e.as_str()))
                .collect();
            for keyword in topic.keywords.iter().chain(&topic.generic) {
                let folded = crate::fold::fold_keyword(keyword);
                let clash = excluded
                    .iter()
                    .map(|(f, e)| (f, e, "a global exclusion ([classify] exclude)"))
                    .chain(
                        own.iter()
                            .map(|(f, e)| (f, e, "an exclusion of the same topic")),
                    )
                    .find(|(f, _, _)| **f == folded);
                if let Some((_, exclusion, what)) = clash {
                    return Err((
                        topic.id.span(),
                        format!(
                            "topic {:?}: keyword {keyword:?} is also {what} ({exclusion:?}), so it can never count; remove one of them, or list it under `strong` (strong keywords override exclusions)",
                            topic.id.get_ref()
                        ),
                    ));
                }
            }
        }
        let mut chats = HashSet::new();
        for spanned in &self.telegram.destinations {
            let destination = spanned.get_ref();
            if !chats.insert(destination.chat.as_str()) {
                return Err((
                    spanned.span(),
                    format!(
                        "telegram destination {} is listed twice; keep one [[telegram.destination]] per chat",
                        destination.chat
                    ),
                ));
            }
            if let Some(topics) = &destination.topics
                && topics.is_empty()
            {
                return Err((
                    spanned.span(),
                    format!(
                        "telegram destination {} has topics = [], so it would never get a notice; remove `topics` to send it every topic, or list some",
                        destination.chat
                    ),
                ));
            }
            for topic in destination.topics.iter().flatten() {
                if !topic_ids.contains(topic.get_ref().as_str()) {
                    let known: Vec<&str> = self.topics.iter().map(|t| t.id()).collect();
                    return Err((
                        topic.span(),
                        format!(
                            "unknown topic {:?} in the filter of telegram destination {}; known topics: {}",
                            topic.get_ref(),
                            destination.chat,
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Checks that a valid config can also run: it has topics and enabled sources, and the
    /// token file it names exists. Not part of [`Config::parse`], so that store maintenance and
    /// `explain` work with partial configs; `check-config`, `run`, `once` and reloads call it.
    pub(crate) fn check_runnable(&self, path: &Path, text: &str) -> Result<(), ConfigError> {
        let located = |offset: usize, message: String| invalid(path, text, offset, message);
        if self.topics.is_empty() {
            return Err(located(
                0,
                "the config has no [[topic]]: no item could ever match; add topics (see the shipped config/policy-watch.toml)".into(),
            ));
        }
        if self.enabled_sources().next().is_none() {
            let at = self.sources.first().map_or(0, |s| s.id.span().start);
            return Err(located(
                at,
                "the config has no enabled [[source]]: nothing would be polled; add a source or set enabled = true".into(),
            ));
        }
        if let Some(file) = &self.telegram.token_file
            && let Err(e) = std::fs::metadata(file.get_ref())
        {
            return Err(located(
                file.span().start,
                format!(
                    "telegram.token_file {}: {e}; create it (one line: the bot token, mode 0600) or remove token_file",
                    file.get_ref().display()
                ),
            ));
        }
        Ok(())
    }

    /// The sources that are switched on.
    pub fn enabled_sources(&self) -> impl Iterator<Item = &SourceConfig> {
        self.sources.iter().filter(|s| s.enabled)
    }

    /// The store directory: `$STATE_DIRECTORY` (systemd) wins over the config.
    pub fn store_dir(&self) -> PathBuf {
        match std::env::var_os("STATE_DIRECTORY") {
            // systemd may pass several colon-separated directories; the first is ours.
            Some(dirs) if !dirs.is_empty() => {
                let dirs = dirs.to_string_lossy().into_owned();
                PathBuf::from(dirs.split(':').next().unwrap_or_default())
            }
            _ => self.store.path.clone(),
        }
    }
}

/// The `{n}` placeholders of a link template.
fn template_placeholders(template: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find('}') else { break };
        found.push(rest[..close].trim().parse().unwrap_or(0));
        rest = &rest[close + 1..];
    }
    found
}

/// The default config path: the repository's example when it exists in the current directory,
/// otherwise the system path.
pub fn default_config_path() -> PathBuf {
    let repo = PathBuf::from(REPO_CONFIG_PATH);
    if repo.exists() {
        repo
    } else {
        PathBuf::from(SYSTEM_CONFIG_PATH)
    }
}

/// The config file's text.
fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

/// An error located at a byte `offset` of the config `text`.
fn invalid(path: &Path, text: &str, offset: usize, message: String) -> ConfigError {
    let (line, column) = line_column(text, offset);
    ConfigError::Invalid {
        path: path.to_owned(),
        line,
        column,
        message,
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}
