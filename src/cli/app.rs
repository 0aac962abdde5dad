//! The command line: the commands and options (clap), loading the config, and dispatch.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use policy_watch::config::{self, Config};
use policy_watch::daemon::{self, EXIT_CONFIG, EXIT_FAILURE};
use policy_watch::deliver::TelegramSink;
use policy_watch::printer::Printer;
use policy_watch::store::{Store, StoreError};
use policy_watch::{Mode, Output};

use super::{check_sources, check_telegram, eval, explain, store};

/// `--version`: the version and the commit it was built from.
pub(super) const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("POLICY_WATCH_COMMIT"),
    ")"
);

#[derive(Parser)]
#[command(
    version = VERSION,
    about = "Watches MSIT and 산업통상부 for AI-Semiconductor Initiative news and pushes it to Telegram"
)]
pub(super) struct Cli {
    /// Config file [default: config/policy-watch.toml if it exists here, else /etc/policy-watch/config.toml]
    #[arg(long, short, global = true, env = "POLICY_WATCH_CONFIG")]
    pub(super) config: Option<PathBuf>,
    /// run/once: print each notice to stdout instead of sending it (baselined matches are
    /// previewed too); store prune: show what would be forgotten, change nothing
    #[arg(long, global = true)]
    pub(super) dry_run: bool,
    /// Store directory [default: $STATE_DIRECTORY, else store.path from the config]
    #[arg(long, global = true)]
    pub(super) state_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Subcommand)]
pub(super) enum Command {
    /// Run the daemon: poll every source on its schedule and deliver notices
    Run,
    /// Poll every enabled source once, deliver what is new, exit
    Once,
    /// Validate the config and exit (0 = valid, 78 = invalid)
    CheckConfig,
    /// Check the bot token and that the bot may post in every configured destination (channel
    /// admin with post rights, group member not restricted); exit 1 on any problem
    CheckTelegram {
        /// Also post a short test message to each destination that passes
        #[arg(long)]
        send_test: bool,
    },
    /// Write the man page and shell completions (bash, zsh, fish) into DIR (for packaging)
    #[command(hide = true)]
    GenerateAssets { dir: PathBuf },
    /// Fetch every enabled source now and show what it yields (items, links, dates, keys,
    /// warnings), without touching the store; exit 1 when a source yields nothing
    CheckSources {
        /// Only this source (by id; enabled or not); may be repeated
        #[arg(long = "source", value_name = "ID")]
        sources: Vec<String>,
        /// Items shown per source
        #[arg(long, default_value_t = 3, value_name = "N")]
        items: usize,
    },
    /// Store maintenance: stats, prune, export, import (stop the daemon first)
    Store {
        #[command(subcommand)]
        action: store::StoreAction,
    },
    /// Classify a headline (or an item from a JSON file) and show why each topic did or did not match
    Explain {
        /// JSON file with "title" and optional "summary" (e.g. one line of the dev headlines)
        #[arg(long, conflicts_with = "title")]
        item: Option<PathBuf>,
        /// Print the explanation as JSON
        #[arg(long)]
        json: bool,
        /// Also list topics without any evidence
        #[arg(long)]
        all: bool,
        title: Option<String>,
        summary: Option<String>,
    },
    /// Measure the config's topics on labelled items (JSON lines with "id", "title", "labels",
    /// optional "summary" and "confidence", as in tests/data/): item and per-topic precision,
    /// recall and F1, and every error with explain's reason
    Eval {
        /// Labelled JSONL files (measured together, and each on its own)
        #[arg(required = true, value_name = "FILE.jsonl")]
        files: Vec<PathBuf>,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
        /// Also show what OTHER.toml's topics would change: decisions gained and lost per topic
        #[arg(long, value_name = "OTHER.toml")]
        against: Option<PathBuf>,
        /// Also list candidate keywords mined from each topic's misses (for a person to judge;
        /// never applied)
        #[arg(long)]
        suggest: bool,
    },
    /// Mine candidate keywords for each topic from an unlabelled archive: phrases of the titles
    /// the config classifies as the topic, far more frequent there than elsewhere (for a person
    /// to judge; never applied)
    Vocab {
        /// JSONL files (as `eval` reads them; labels ignored) or folders of Markdown releases
        /// (front matter `title:`, a `## 본문` section)
        #[arg(required = true, value_name = "ARCHIVE")]
        archives: Vec<PathBuf>,
        /// Candidates per topic
        #[arg(long, default_value_t = 15)]
        top: usize,
        /// Instead of candidates, list every release whose topics differ between this config
        /// and OTHER.toml (what a change moves on releases nobody labelled)
        #[arg(long, value_name = "OTHER.toml")]
        against: Option<PathBuf>,
    },
}

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::GenerateAssets { dir } = &cli.command {
        return match generate_assets(dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: cannot write the assets into {}: {e}", dir.display());
                ExitCode::from(EXIT_FAILURE as u8)
            }
        };
    }
    policy_watch::secret::install_panic_hook();
    let path = cli
        .config
        .clone()
        .unwrap_or_else(config::default_config_path);
    // Maintenance and `explain` work with a partial config; what runs must be able to run.
    let load = match cli.command {
        Command::GenerateAssets { .. } => unreachable!("handled above"),
        Command::Store { .. }
        | Command::Explain { .. }
        | Command::Eval { .. }
        | Command::Vocab { .. } => Config::load,
        _ => Config::load_runnable,
    };
    let config = match load(&path) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_CONFIG as u8);
        }
    };
    daemon::init_logging(config.log.level.as_deref());
    let classifier = match policy_watch::classify::Classifier::new(&config.classify, &config.topics)
    {
        Ok(classifier) => classifier,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::from(EXIT_CONFIG as u8);
        }
    };
    match cli.command {
        Command::GenerateAssets { .. } => unreachable!("handled before the config is loaded"),
        Command::Explain {
            item,
            json,
            all,
            title,
            summary,
        } => explain::run(&classifier, item, title, summary, json, all),
        Command::Eval {
            files,
            json,
            against,
            suggest,
        } => eval::run(
            &config,
            &classifier,
            eval::Options {
                files,
                json,
                against,
                suggest,
            },
        ),
        Command::Vocab {
            archives,
            top,
            against,
        } => {
            let mut documents = Vec::new();
            for archive in &archives {
                match policy_watch::vocab::read(archive) {
                    Ok(read) => documents.extend(read),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(EXIT_FAILURE as u8);
                    }
                }
            }
            if let Some(other) = against {
                let old = match eval::other_classifier(&other) {
                    Ok((old, _)) => old,
                    Err(code) => return code,
                };
                let movement = policy_watch::vocab::movement(&classifier, &old, &documents);
                return write_stdout(
                    &policy_watch::vocab::render_movement(&movement, &other),
                    "the releases",
                );
            }
            let report = policy_watch::vocab::mine(&classifier, &config.topics, &documents, top);
            write_stdout(
                &policy_watch::vocab::render(&report, documents.len()),
                "the candidates",
            )
        }
        Command::CheckConfig => {
            println!(
                "{}: ok ({} sources, {} enabled; {} topics)",
                path.display(),
                config.sources.len(),
                config.enabled_sources().count(),
                config.topics.len()
            );
            // When each source is polled, and its next polls from now.
            let now = chrono::Utc::now();
            for source in config.enabled_sources() {
                let (how, next) = match &source.schedule {
                    Some(schedule) => (
                        policy_watch::sources::schedule::describe(schedule),
                        policy_watch::sources::schedule::next_polls(schedule, now, 3),
                    ),
                    None => (
                        format!("every {}", humantime::format_duration(source.interval)),
                        Vec::new(),
                    ),
                };
                let next: Vec<String> = next
                    .iter()
                    .map(|t| {
                        t.with_timezone(&policy_watch::items::kst())
                            .format("%a %H:%M:%S")
                            .to_string()
                    })
                    .collect();
                let next = if next.is_empty() {
                    String::new()
                } else {
                    format!("; next {} KST", next.join(", "))
                };
                println!("  {}: {how}{next}", source.id());
            }
            ExitCode::SUCCESS
        }
        Command::CheckTelegram { send_test } => match runtime() {
            Ok(runtime) => check_telegram::run(&runtime, &config, send_test),
            Err(code) => code,
        },
        Command::CheckSources { sources, items } => match runtime() {
            Ok(runtime) => check_sources::run(&runtime, &config, &sources, items),
            Err(code) => code,
        },
        Command::Store { action } => {
            let dir = cli.state_dir.clone().unwrap_or_else(|| config.store_dir());
            store::run(
                action,
                &dir,
                config.store.cache_size,
                config.store.keep_seen,
                cli.dry_run,
            )
        }
        // The pipeline builds its own: this one (its automaton is megabytes) must not stay
        // resident beside it for the daemon's whole life.
        Command::Run => {
            drop(classifier);
            execute(cli, &path, config, Mode::Daemon)
        }
        Command::Once => {
            drop(classifier);
            execute(cli, &path, config, Mode::Once)
        }
    }
}

/// The man page (`policy-watch.1`) and completions for bash, zsh and fish, generated from the
/// clap definition (never written by hand, so they cannot drift from the CLI).
pub(super) fn generate_assets(dir: &std::path::Path) -> std::io::Result<()> {
    use clap::CommandFactory;
    std::fs::create_dir_all(dir)?;
    let command = Cli::command();
    let mut man = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut man)?;
    std::fs::write(dir.join("policy-watch.1"), man)?;
    for (shell, name) in [
        (clap_complete::Shell::Bash, "policy-watch.bash"),
        (clap_complete::Shell::Zsh, "_policy-watch"),
        (clap_complete::Shell::Fish, "policy-watch.fish"),
    ] {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut command.clone(), "policy-watch", &mut out);
        std::fs::write(dir.join(name), out)?;
    }
    Ok(())
}

/// The Telegram client for the configured API, or the exit code after saying why there is none.
pub(crate) fn telegram_sink(
    config: &Config,
    token: &policy_watch::secret::BotToken,
) -> Result<TelegramSink, ExitCode> {
    TelegramSink::new(
        token,
        config.telegram.api_url.as_ref(),
        config.telegram.link_preview,
    )
    .map_err(|e| {
        eprintln!("error: cannot set up the Telegram client: {e}");
        ExitCode::from(EXIT_FAILURE as u8)
    })
}

/// Writes a report to stdout. `… | head` closes the pipe early: that is no error (println!
/// would panic). `what` names the report in the error otherwise.
pub(crate) fn write_stdout(text: &str, what: &str) -> ExitCode {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write the {what}: {e}");
            ExitCode::from(EXIT_FAILURE as u8)
        }
    }
}

/// The async runtime, or the exit code after saying why there is none.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    // A few threads whatever the machine: the work is a few polls a minute, every thread costs
    // resident memory (its stack, its allocator caches), and parsing (on the blocking pool) gains
    // nothing from more threads than cores — with more, they only contend for the allocator.
    let cores = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 4);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .max_blocking_threads(cores.max(2))
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(EXIT_FAILURE as u8)
        })
}

pub(super) fn execute(cli: Cli, path: &std::path::Path, config: Config, mode: Mode) -> ExitCode {
    let token = match daemon::telegram_token(&config) {
        Ok(token) => token,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_CONFIG as u8);
        }
    };
    let printer = Printer::stdout();
    let output = match (&token, cli.dry_run) {
        (_, true) => {
            tracing::info!("dry run: notices are printed to stdout, nothing is sent");
            Output::dry_run(printer)
        }
        (None, false) => {
            tracing::info!(
                "no Telegram token (TELOXIDE_TOKEN, telegram.token_file or $CREDENTIALS_DIRECTORY/telegram-token): printing notices to stdout instead of sending"
            );
            Output::dry_run(printer)
        }
        (Some(_), false) if config.telegram.destinations.is_empty() && !config.telegram.bot => {
            tracing::warn!(
                "a Telegram token is set but there is no [[telegram.destination]] and the bot is off (telegram.bot = false): printing notices to stdout"
            );
            Output::dry_run(printer)
        }
        (Some((token, source)), false) => {
            let telegram = match telegram_sink(&config, token) {
                Ok(sink) => sink,
                Err(code) => return code,
            };
            tracing::info!(
                "sending to {} Telegram destination(s){} (token from {})",
                config.telegram.destinations.len(),
                if config.telegram.bot && mode == Mode::Daemon {
                    " and the bot's subscribers"
                } else {
                    ""
                },
                source
            );
            Output::telegram(telegram, printer)
        }
    };
    let dir = cli.state_dir.clone().unwrap_or_else(|| config.store_dir());
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!(
            "error: cannot create the state directory {}: {e}",
            dir.display()
        );
        return ExitCode::from(EXIT_FAILURE as u8);
    }
    let store = match Store::open(&dir, config.store.cache_size) {
        Ok(store) => store,
        Err(e @ StoreError::Locked { .. }) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_FAILURE as u8);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_FAILURE as u8);
        }
    };
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = runtime.block_on(async {
        let shutdown = daemon::shutdown_on_signals()?;
        let (config_tx, config_rx) = tokio::sync::watch::channel(Arc::new(config));
        let output = if mode == Mode::Daemon {
            let reloader = policy_watch::reload::Reloader::new(path.to_owned(), config_tx);
            daemon::reload_on_sighup(reloader.clone())?;
            output.with_reloader(reloader)
        } else {
            drop(config_tx);
            output
        };
        policy_watch::run(config_rx, store, output, mode, shutdown).await
    });
    match result {
        Ok(report) => {
            if mode == Mode::Once {
                let failed = &report.ingest.failed_sources;
                tracing::info!(
                    "once: {} sources polled, {} new items, {} notices delivered, {} failed{}",
                    report.ingest.polls,
                    report.ingest.new_items,
                    report.delivered,
                    failed.len(),
                    if failed.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", failed.join(", "))
                    }
                );
                if !failed.is_empty() || report.ingest.store_errors > 0 {
                    return ExitCode::from(EXIT_FAILURE as u8);
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_FAILURE as u8)
        }
    }
}
