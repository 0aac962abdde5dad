//! The shipped systemd unit: `systemd-analyze verify` accepts it and `systemd-analyze security`
//! rates its exposure at most 2.0. Needs `systemd-analyze` (Debian package `systemd`; .ci/run
//! installs it). PID 1 need not be systemd.

use std::path::Path;
use std::process::Command;

fn analyze_available() -> bool {
    let found = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "systemd-analyze is missing in CI: .ci/run must install the systemd package"
        );
        eprintln!("skipped: systemd-analyze is not installed (apt-get install systemd)");
    }
    found
}

/// The unit with ExecStart pointing at the binary under test (verify checks that it exists).
fn unit_under_test(dir: &Path) -> std::path::PathBuf {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/policy-watch.service"),
    )
    .unwrap();
    let unit = unit.replace(
        "/usr/local/bin/policy-watch",
        env!("CARGO_BIN_EXE_policy-watch"),
    );
    let path = dir.join("policy-watch.service");
    std::fs::write(&path, unit).unwrap();
    path
}

#[test]
fn the_unit_verifies() {
    if !analyze_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(unit_under_test(dir.path()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("policy-watch.service:"),
        "warnings about the unit: {stderr}"
    );
}

#[test]
fn the_unit_is_sandboxed_to_an_exposure_of_at_most_2() {
    if !analyze_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--threshold=20"])
        .arg(unit_under_test(dir.path()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let level: f64 = line
        .split(':')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the level from {line:?}"));
    assert!(level <= 2.0, "exposure {level} > 2.0:\n{stdout}");
    assert!(
        out.status.success(),
        "systemd-analyze's own threshold (2.0) failed:\n{stdout}"
    );
}
