//! `policy-watch store …`: maintenance of the sled store (stop the daemon first: sled allows
//! one process per directory, and a running daemon makes these fail with a clear message).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use policy_watch::daemon::EXIT_FAILURE;
use policy_watch::store::Store;

#[derive(Subcommand)]
pub enum StoreAction {
    /// Trees, keys, size on disk, pending deliveries
    Stats,
    /// Forget seen items first seen longer ago than this (default: store.keep_seen)
    Prune {
        #[arg(long, value_parser = humantime::parse_duration)]
        older_than: Option<std::time::Duration>,
    },
    /// Write the whole store as JSON Lines (to stdout, or --output FILE)
    Export {
        #[arg(long)]
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
) -> ExitCode {
    match execute(action, dir, cache, keep_seen) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_FAILURE as u8)
        }
    }
}

fn execute(
    action: StoreAction,
    dir: &Path,
    cache: u64,
    keep_seen: std::time::Duration,
) -> Result<(), String> {
    if !matches!(action, StoreAction::Import { .. }) && !dir.exists() {
        return Err(format!(
            "no store at {} (check --state-dir or store.path)",
            dir.display()
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let store = Store::open(dir, cache).map_err(|e| e.to_string())?;
    match action {
        StoreAction::Stats => {
            let stats = store.stats().map_err(|e| e.to_string())?;
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
            let removed = store.prune_seen(older_than).map_err(|e| e.to_string())?;
            println!(
                "pruned {removed} seen items first seen more than {} ago",
                humantime::format_duration(older_than)
            );
        }
        StoreAction::Export { output } => {
            let count = match output {
                Some(path) => {
                    let file = std::fs::File::create(&path)
                        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
                    let mut out = std::io::BufWriter::new(file);
                    store.export(&mut out).map_err(|e| e.to_string())?
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut out = std::io::BufWriter::new(stdout.lock());
                    store.export(&mut out).map_err(|e| e.to_string())?
                }
            };
            eprintln!("exported {count} records");
        }
        StoreAction::Import { file } => {
            let input = std::fs::File::open(&file)
                .map_err(|e| format!("cannot open {}: {e}", file.display()))?;
            let count = store
                .import(std::io::BufReader::new(input))
                .map_err(|e| format!("{}: {e}", file.display()))?;
            eprintln!("imported {count} records into {}", dir.display());
        }
    }
    Ok(())
}
