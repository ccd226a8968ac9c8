#!/usr/bin/env bash
# Builds the Debian package: target/debian/loginwatch_VERSION-1_ARCH.deb
# (needs cargo-deb: `cargo install cargo-deb --locked`; dpkg-deb is optional).
#
#   bash packaging/build-deb.sh                 # release build, then the package
#   bash packaging/build-deb.sh --output DIR    # any further option goes to cargo deb
#
# What `cargo deb` packages is listed in Cargo.toml, [package.metadata.deb].
# Some of it is generated here first, from the binary just built, into
# target/deb-assets: the man pages (`loginwatch man --dir`), the bash, zsh and
# fish completions (`loginwatch completions`), and the conffile
# /etc/loginwatch/loginwatch.toml: examples/loginwatch.toml with every line
# commented out, so that as shipped it is exactly the embedded defaults.
#
# LOGINWATCH_DEB_PROFILE=NAME packages another cargo profile's binary;
# LOGINWATCH_DEB_NO_BUILD=1 packages the binary already built for it (the
# tests package their own debug build this way: quick, but not for release).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${LOGINWATCH_DEB_PROFILE:-release}
if [ -z "${LOGINWATCH_DEB_NO_BUILD:-}" ]; then
    cargo build --locked --profile "$profile" --bin loginwatch
fi
target_dir=$(cargo metadata --format-version 1 --no-deps --locked \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
case $profile in
dev | test) bin="$target_dir/debug/loginwatch" ;;
*) bin="$target_dir/$profile/loginwatch" ;;
esac
[ -x "$bin" ] || { echo "build-deb: no binary at $bin" >&2; exit 1; }

stage=target/deb-assets
rm -rf "$stage"
mkdir -p "$stage/man" "$stage/completions"
"$bin" man --dir "$stage/man"
"$bin" completions bash > "$stage/completions/loginwatch"
"$bin" completions zsh > "$stage/completions/_loginwatch"
"$bin" completions fish > "$stage/completions/loginwatch.fish"
{
    cat <<'HEAD'
# /etc/loginwatch/loginwatch.toml: the configuration of loginwatch.service.
#
# As shipped, every line below is commented out: the daemon runs on its
# embedded defaults, which these lines show. Uncomment and change what should
# differ, check with `loginwatch config check /etc/loginwatch/loginwatch.toml`,
# then `systemctl restart loginwatch`. Your own rules go in
# /etc/loginwatch/rules (see the README there); the reference is
# /usr/share/doc/loginwatch/config.md.
#
HEAD
    # Every line that sets something (a key, a [table]) becomes a comment.
    sed -E 's/^([^#[:space:]])/# \1/' examples/loginwatch.toml
} > "$stage/loginwatch.toml"

cargo deb --no-build --locked --profile "$profile" "$@"
