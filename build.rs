//! Records the git commit the binary is built from, for `policy-watch --version`.
//! `POLICY_WATCH_COMMIT` in the environment wins (builds from a tarball, packaging).

fn main() {
    let commit = std::env::var("POLICY_WATCH_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| {
            let out = std::process::Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        })
        .unwrap_or_else(|| "unknown commit".to_owned());
    println!("cargo:rustc-env=POLICY_WATCH_COMMIT={commit}");
    println!("cargo:rerun-if-env-changed=POLICY_WATCH_COMMIT");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
}
