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

/// A bad config must stop the service, not restart it every 10 s: `RestartPreventExitStatus=78`
/// applies to the main process only, so the 78 has to come from `run` itself — an
/// `ExecStartPre=` check would fail the start with its own 78, which systemd restarts.
#[test]
fn a_bad_config_stops_the_service_instead_of_restarting_it() {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/policy-watch.service"),
    )
    .unwrap();
    let settings: Vec<(&str, &str)> = unit
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .collect();
    let values = |key: &str| -> Vec<&str> {
        settings
            .iter()
            .filter(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim())
            .collect()
    };
    assert!(
        values("ExecStartPre").is_empty(),
        "an ExecStartPre= that can fail makes systemd restart a bad config"
    );
    assert_eq!(values("Restart"), ["on-failure"]);
    assert!(
        values("RestartPreventExitStatus")
            .iter()
            .any(|v| v.split_whitespace().any(|s| s == "78")),
        "78 stops the restarts"
    );
    // `run` exits 78 by itself on a bad config (what the unit relies on), with one line.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[store]\ncache_size = \"lots\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_policy-watch"))
        .args(["run", "--config"])
        .arg(&config)
        .env_remove("TELOXIDE_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("bad.toml:2:"), "{stderr}");
}

/// The package's postinst, run as dpkg runs it, against a `systemctl` that records its calls
/// (the real one under systemd is tried by packaging/test-deb.sh): an upgrade restarts a
/// running service on the new binary (`try-restart`, which starts nothing that is stopped); a
/// first install starts nothing.
#[test]
fn the_package_restarts_a_running_service_on_upgrade_and_starts_nothing_on_install() {
    let dir = tempfile::tempdir().unwrap();
    let systemd = dir.path().join("run-systemd-system");
    std::fs::create_dir(&systemd).unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let calls = dir.path().join("calls");
    let systemctl = bin.join("systemctl");
    std::fs::write(
        &systemctl,
        format!("#!/bin/sh\necho \"$*\" >> {}\nexit 1\n", calls.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&systemctl, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/debian/postinst"),
    )
    .unwrap()
    .replace("/run/systemd/system", systemd.to_str().unwrap());
    let postinst = dir.path().join("postinst");
    std::fs::write(&postinst, script).unwrap();
    let run = |args: &[&str]| {
        let _ = std::fs::remove_file(&calls);
        let status = Command::new("sh")
            .arg(&postinst)
            .args(args)
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .output()
            .unwrap()
            .status;
        assert!(status.success(), "postinst {args:?}");
        std::fs::read_to_string(&calls).unwrap_or_default()
    };
    let upgrade = run(&["configure", "0.1.0-1"]);
    assert!(
        upgrade
            .lines()
            .any(|l| l == "try-restart policy-watch.service"),
        "{upgrade}"
    );
    let install = run(&["configure", ""]);
    assert!(
        !install.contains("restart") && !install.contains("start "),
        "a first install starts nothing: {install}"
    );
}
