#!/usr/bin/env bash
# Builds the Debian package: target/debian/policy-watch_<version>-1_<arch>.deb
# Needs cargo-deb (`cargo install cargo-deb --locked`, installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-deb >/dev/null 2>&1; then
    cargo install cargo-deb --locked
fi
cargo build --release --locked
# The man page and completions come from the clap definition; the unit is the repository's with
# the binary in /usr/bin.
rm -rf target/assets
target/release/policy-watch generate-assets target/assets
sed -e 's|/usr/local/bin/policy-watch|/usr/bin/policy-watch|g' \
    -e 's|file:///usr/local/share/doc/policy-watch/README.md|file:///usr/share/doc/policy-watch/README.md man:policy-watch(1)|' \
    config/policy-watch.service > target/assets/policy-watch.service
gzip -9n target/assets/policy-watch.1
cargo deb --no-build
ls -1 target/debian/*.deb
