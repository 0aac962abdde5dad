//! Helpers for tests that run the real binary as a process.

use std::io::{BufRead, Read};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_policy-watch");

/// The binary with `args`, in an environment cleared of everything that changes how it behaves
/// (a token, systemd's variables, a config path, journald), logging at `info`, no stdin. The one
/// place tests start the real binary from; a test adds what it needs.
pub fn policy_watch<I, S>(args: I) -> std::process::Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(args)
        .env("RUST_LOG", "info")
        .stdin(std::process::Stdio::null());
    for var in [
        "TELOXIDE_TOKEN",
        "STATE_DIRECTORY",
        "CREDENTIALS_DIRECTORY",
        "JOURNAL_STREAM",
        "NOTIFY_SOCKET",
        "WATCHDOG_USEC",
        "WATCHDOG_PID",
        "POLICY_WATCH_CONFIG",
        "POLICY_WATCH_COMMIT",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Sends a signal (`-TERM`, `-HUP`, `-KILL`) to the child.
pub fn signal(child: &Child, sig: &str) {
    std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
}

/// Waits for the child to exit and returns its code (`None` if killed by a signal or if it had
/// to be killed after `within`).
pub fn wait_exit(child: &mut Child, within: Duration) -> Option<i32> {
    let started = Instant::now();
    while started.elapsed() < within {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}

/// Reads the child's piped stdout and stderr on threads (a verbose child would otherwise fill a
/// pipe and block); the handle yields stderr followed by stdout once the child has exited.
pub fn capture_output(child: &mut Child) -> JoinHandle<String> {
    fn read_all(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    }
    let out = read_all(child.stdout.take());
    let err = read_all(child.stderr.take());
    std::thread::spawn(move || err.join().unwrap() + &out.join().unwrap())
}

/// Collects the child's stderr line by line while it runs.
pub fn stderr_lines(child: &mut Child) -> Arc<Mutex<String>> {
    let err = child.stderr.take().unwrap();
    let lines = Arc::new(Mutex::new(String::new()));
    let shared = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            let mut all = shared.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
    lines
}

/// Polls `done` until it holds, failing the test after `deadline`.
pub async fn wait_for(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
