//! `policy-watch store …`: maintenance of the sled store (stop the daemon first: sled allows
//! one process per directory, and a running daemon makes these fail with a clear message).

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use policy_watch::daemon::EXIT_FAILURE;
use policy_watch::store::Store;

#[derive(Subcommand)]
pub enum StoreAction {
    /// Trees, keys, size on disk, pending deliveries
    Stats,
    /// Forget seen items their source has not listed for a while (items a source still lists
    /// are always kept); with --dry-run, only show what would be forgotten
    Prune {
        /// Forget items not listed by their source for this long, e.g. "365d" [default: store.keep_seen]
        #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
        older_than: Option<std::time::Duration>,
    },
    /// Write the whole store as JSON Lines (to stdout, or --output FILE)
    Export {
        /// Write to this file instead of standard output
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Load a JSON Lines export into an empty store
    Import { file: PathBuf },
}

pub fn run(
    action: StoreAction,
    dir: &Path,
    cache: u64,
    keep_seen: std::time::Duration,
    dry_run: bool,
) -> ExitCode {
    match execute(action, dir, cache, keep_seen, dry_run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `:#`: the context and its cause on one line ("cannot open F: No such file").
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_FAILURE as u8)
        }
    }
}

fn execute(
    action: StoreAction,
    dir: &Path,
    cache: u64,
    keep_seen: std::time::Duration,
    dry_run: bool,
) -> anyhow::Result<()> {
    if dry_run && matches!(action, StoreAction::Import { .. }) {
        anyhow::bail!(
            "--dry-run does not apply to store import (it writes a whole store); import into a scratch --state-dir to try it"
        );
    }
    if !matches!(action, StoreAction::Import { .. }) && !dir.exists() {
        anyhow::bail!(
            "no store at {} (check --state-dir or store.path)",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let store = Store::open(dir, cache)?;
    match action {
        StoreAction::Stats => {
            let stats = store.stats()?;
            println!("store:        {}", stats.dir.display());
            println!("schema:       {}", stats.schema_version);
            println!(
                "size on disk: {}",
                bytesize::ByteSize::b(stats.size_on_disk)
            );
            println!("pending:      {} deliveries", stats.pending_deliveries);
            println!("dead letters: {}", stats.dead_letters);
            for (tree, keys) in &stats.trees {
                println!("tree {tree:<13} {keys} keys");
            }
        }
        StoreAction::Prune { older_than } => {
            let older_than = older_than.unwrap_or(keep_seen);
            let report = store.prune_seen(older_than, dry_run)?;
            let age = policy_watch::items::format_duration(older_than);
            let verb = if dry_run { "would forget" } else { "pruned" };
            println!(
                "{verb} {} seen items not listed by their source for {age}; {} older ones kept because their source still lists them",
                report.seen_total(),
                report.kept_listed
            );
            for (source, count) in &report.seen {
                println!("  {source}: {count}");
            }
            println!(
                "{verb} {} archived items (what /search finds) dated before then",
                report.archived
            );
            if dry_run {
                println!("dry run: nothing was changed");
            }
        }
        StoreAction::Export { output } => {
            let count = match output {
                Some(path) => {
                    let file = std::fs::File::create(&path)
                        .with_context(|| format!("cannot create {}", path.display()))?;
                    let mut out = std::io::BufWriter::new(file);
                    store.export(&mut out)?
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut out = std::io::BufWriter::new(stdout.lock());
                    store.export(&mut out)?
                }
            };
            eprintln!("exported {count} records");
        }
        StoreAction::Import { file } => {
            let input = std::fs::File::open(&file)
                .with_context(|| format!("cannot open {}", file.display()))?;
            let count = store
                .import(std::io::BufReader::new(input))
                .with_context(|| file.display().to_string())?;
            eprintln!("imported {count} records into {}", dir.display());
        }
    }
    Ok(())
}
