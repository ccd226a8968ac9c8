//! The Debian package and the systemd unit: the package built by
//! `packaging/build-deb.sh` (from the test build's own binary: quick), its
//! files where the README's table says, its conffile, maintainer scripts and
//! packaged config checked, then installed for real with `dpkg --root` into a
//! throw-away root (its maintainer scripts run against that root through
//! `DPKG_ROOT`), removed and purged. The unit is checked by `systemd-analyze
//! verify`, kept the same as the example unit, and its
//! `RestartPreventExitStatus` is the exit status of a missing config.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::{lw, repo, runs, skip};

const UNIT: &str = "packaging/debian/loginwatch.service";
const EXAMPLE_UNIT: &str = "examples/systemd/loginwatch.service";
const DROP_IN: &str = "examples/systemd/loginwatch.service.d/enforce.conf";

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

/// The unit's settings, `Key=value` lines without comments.
fn settings(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn setting<'a>(lines: &'a [String], key: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .collect()
}

#[test]
fn the_example_unit_is_the_packaged_unit_for_a_binary_in_usr_local() {
    let packaged = settings(&fs::read_to_string(repo().join(UNIT)).unwrap());
    let example = settings(&fs::read_to_string(repo().join(EXAMPLE_UNIT)).unwrap());
    let example: Vec<String> = example
        .into_iter()
        .map(|l| l.replace("ExecStart=/usr/local/bin/", "ExecStart=/usr/bin/"))
        .collect();
    assert_eq!(packaged, example);
    // What the issue asks of it, so that an edit cannot drop one quietly.
    for (key, want) in [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("WatchdogSec", "30s"),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
        ("User", "loginwatch"),
        ("SupplementaryGroups", "adm systemd-journal"),
        ("StateDirectory", "loginwatch"),
        ("StateDirectoryMode", "0750"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert_eq!(setting(&packaged, key), [want], "{key}");
    }
    let families = setting(&packaged, "RestrictAddressFamilies");
    assert!(
        families[0].split(' ').any(|f| f == "AF_NETLINK"),
        "{families:?}"
    );
    assert!(setting(&packaged, "DynamicUser").is_empty());
}

/// `systemd-analyze verify` on the unit, alone and with the enforcement
/// drop-in (its `[Service]` lines appended, as systemd merges them), the
/// binary path pointed at the test build. A bad key or value fails it.
#[test]
fn the_unit_and_its_drop_in_pass_systemd_analyze_verify() {
    if !runs("systemd-analyze", &["--version"]) {
        skip(
            "systemd-analyze",
            "package::the_unit_and_its_drop_in_pass_systemd_analyze_verify",
            "systemd-analyze not installed",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = fs::read_to_string(repo().join(UNIT))
        .unwrap()
        .replace("/usr/bin/loginwatch", env!("CARGO_BIN_EXE_loginwatch"));
    let drop_in = fs::read_to_string(repo().join(DROP_IN)).unwrap();
    for (name, text) in [
        ("alone", unit.clone()),
        ("with the drop-in", format!("{unit}\n{drop_in}")),
        // The check itself: a misspelt value is caught.
        ("broken", unit.replace("Type=notify", "Type=notiffy")),
    ] {
        let path = dir.path().join("loginwatch.service");
        fs::write(&path, &text).unwrap();
        let out = run(Command::new("systemd-analyze")
            .args(["verify", "--man=no", "--recursive-errors=no"])
            .arg(&path));
        let err = String::from_utf8_lossy(&out.stderr);
        if name == "broken" {
            assert!(!out.status.success() && err.contains("notiffy"), "{err}");
        } else {
            assert!(
                out.status.success() && err.trim().is_empty(),
                "{name}: {err}"
            );
        }
    }
}

/// The unit does not restart on exit status 2, and 2 is what the daemon
/// exits with when its `--config` file is missing: a broken install is one
/// failure in the journal, not a restart loop.
#[test]
fn a_missing_config_exits_with_the_status_the_unit_does_not_restart_on() {
    let packaged = settings(&fs::read_to_string(repo().join(UNIT)).unwrap());
    let status: i32 = setting(&packaged, "RestartPreventExitStatus")[0]
        .parse()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("loginwatch.toml");
    let out = lw()
        .args(["run", "--config"])
        .arg(&missing)
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(status));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&missing.display().to_string()) && err.contains("cannot read"),
        "{err}"
    );
}

/// The paths of the README's table under "Install the Debian package".
fn readme_paths() -> Vec<String> {
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme.find("### Install the Debian package").unwrap();
    let section = &readme[start..];
    let end = section[4..].find("\n## ").map_or(section.len(), |e| e + 4);
    let paths: Vec<String> = section[..end]
        .lines()
        .filter_map(|l| l.strip_prefix("| `/"))
        .map(|l| format!("/{}", &l[..l.find('`').unwrap()]))
        .collect();
    assert!(paths.len() >= 10, "{paths:?}");
    paths
}

/// Whether `path` (from the table; a trailing `/` names a directory) is
/// under `root`.
fn present(root: &Path, path: &str) -> bool {
    let p = root.join(path.trim_start_matches('/'));
    if path.ends_with('/') {
        p.is_dir()
    } else {
        p.is_file()
    }
}

fn build_deb(out_dir: &Path) -> PathBuf {
    let out = run(Command::new("bash")
        .arg(repo().join("packaging/build-deb.sh"))
        .args(["--output"])
        .arg(out_dir)
        .args(["--fast", "--quiet"])
        .env("LOGINWATCH_DEB_PROFILE", "dev")
        .env("LOGINWATCH_DEB_NO_BUILD", "1"));
    ok(out, "packaging/build-deb.sh");
    let debs: Vec<PathBuf> = fs::read_dir(out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    assert_eq!(debs.len(), 1, "{debs:?}");
    debs.into_iter().next().unwrap()
}

#[test]
fn the_package_puts_every_file_where_the_readme_says_and_installs() {
    const TEST: &str = "package::the_package_puts_every_file_where_the_readme_says_and_installs";
    for tool in ["cargo-deb", "dpkg-deb"] {
        let probe = if tool == "cargo-deb" {
            runs("cargo", &["deb", "--version"])
        } else {
            runs(tool, &["--version"])
        };
        if !probe {
            skip(tool, TEST, &format!("{tool} not installed"));
            return;
        }
    }
    let work = tempfile::tempdir().unwrap();
    let deb = build_deb(work.path());

    // The files, as the package holds them.
    let x = work.path().join("x");
    ok(
        run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x)),
        "dpkg-deb -x",
    );
    let installed_later = |p: &str| p.starts_with("/var/");
    for p in readme_paths().iter().filter(|p| !installed_later(p)) {
        assert!(present(&x, p), "{p} is not in the package");
    }
    let man = x.join("usr/share/man/man1");
    for page in ["loginwatch-run.1.gz", "loginwatch-rules-check.1.gz"] {
        assert!(man.join(page).is_file(), "{page}");
    }
    assert!(
        fs::read_to_string(x.join("usr/share/bash-completion/completions/loginwatch"))
            .unwrap()
            .contains("loginwatch")
    );
    let mode = fs::metadata(x.join("usr/bin/loginwatch")).unwrap().mode();
    assert_eq!(mode & 0o777, 0o755);

    // Control: the conffiles, and maintainer scripts that parse.
    let ctl = work.path().join("ctl");
    ok(
        run(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&ctl)),
        "dpkg-deb -e",
    );
    let conffiles = fs::read_to_string(ctl.join("conffiles")).unwrap();
    assert!(
        conffiles
            .lines()
            .any(|l| l == "/etc/loginwatch/loginwatch.toml"),
        "{conffiles}"
    );
    for script in ["postinst", "postrm", "prerm"] {
        let path = ctl.join(script);
        assert!(path.is_file(), "{script}");
        ok(run(Command::new("sh").arg("-n").arg(&path)), script);
        assert!(!fs::read_to_string(&path).unwrap().contains("#DEBHELPER#"));
    }

    // The packaged config: every line a comment, and so the embedded defaults.
    let config = x.join("etc/loginwatch/loginwatch.toml");
    let text = fs::read_to_string(&config).unwrap();
    assert!(
        text.lines()
            .all(|l| l.trim().is_empty() || l.starts_with('#')),
        "an active line in the packaged config"
    );
    for key in [
        "# mode = \"recommend\"",
        "# [http]",
        "# [[source]]",
        "# [safety]",
    ] {
        assert!(text.contains(key), "{key}");
    }
    let empty = work.path().join("empty.toml");
    fs::write(&empty, "").unwrap();
    // Run away from the checkout's ./rules, as the service runs.
    let check = |file: &Path| -> serde_json::Value {
        let out = lw()
            .current_dir(work.path())
            .args(["config", "check", "--json"])
            .arg(file)
            .output()
            .unwrap();
        let mut v: serde_json::Value =
            serde_json::from_str(&ok(out, "config check --json")).unwrap();
        v.as_object_mut().unwrap().remove("file");
        v
    };
    assert_eq!(check(&config), check(&empty));
    // ... and with the packaged rules, as the daemon reads them.
    let with_rules = work.path().join("with-rules.toml");
    fs::write(
        &with_rules,
        format!(
            "{text}\nrules_dir = \"{}\"\n",
            x.join("usr/share/loginwatch/rules").display()
        ),
    )
    .unwrap();
    let checked = check(&with_rules);
    assert_eq!(checked["ok"], true, "{checked}");
    let shipped: serde_json::Value = serde_json::from_str(&ok(
        lw().args(["rules", "check", "--json"])
            .arg(repo().join("rules"))
            .output()
            .unwrap(),
        "rules check --json rules",
    ))
    .unwrap();
    assert_eq!(checked["rules"]["rules"], shipped["rules"], "{checked}");
    assert_eq!(
        checked["rules"]["files"].as_array().unwrap().len(),
        shipped["files"].as_array().unwrap().len()
    );
    // The shipped rules' tests come along and pass where they land.
    let tested = lw()
        .current_dir(work.path())
        .args(["rules", "test", "--json"])
        .arg(x.join("usr/share/loginwatch/rules"))
        .output()
        .unwrap();
    let tested: serde_json::Value =
        serde_json::from_str(&ok(tested, "rules test --json (packaged)")).unwrap();
    let count = fs::read_dir(repo().join("rules/tests")).unwrap().count();
    assert_eq!(tested["tests"].as_array().unwrap().len(), count, "{tested}");

    // Figures.
    let size = fs::metadata(&deb).unwrap().len();
    let installed = ok(
        run(Command::new("dpkg-deb")
            .args(["-f"])
            .arg(&deb)
            .arg("Installed-Size")),
        "dpkg-deb -f",
    );
    eprintln!(
        "package: {} is {size} bytes, Installed-Size {} KiB (debug build, stripped, fast compression)",
        deb.file_name().unwrap().to_string_lossy(),
        installed.trim()
    );

    if !runs("systemd-sysusers", &["--version"]) || !runs("systemd-tmpfiles", &["--version"]) {
        skip(
            "systemd-sysusers",
            TEST,
            "systemd-sysusers or systemd-tmpfiles missing: the dpkg --root install was not run",
        );
    } else if nix::unistd::geteuid().is_root() {
        install_remove_purge(work.path(), &deb);
    } else {
        skip(
            "privileges",
            TEST,
            "not root: the dpkg --root install (its scripts create users and chown) was not run",
        );
    }
}

/// `dpkg --root` into a throw-away root: the package's scripts run with
/// `DPKG_ROOT` set (`--force-script-chrootless`), so `systemd-sysusers`,
/// `systemd-tmpfiles` and `deb-systemd-helper` work on that root, not the
/// host; a `policy-rc.d` there refuses any start, and the dependencies
/// (libc6, systemd) are the host's.
fn install_remove_purge(work: &Path, deb: &Path) {
    let root = work.join("root");
    for d in [
        "var/lib/dpkg/info",
        "var/lib/dpkg/updates",
        "etc",
        "usr/sbin",
    ] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    fs::write(root.join("var/lib/dpkg/available"), "").unwrap();
    fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    fs::write(
        root.join("etc/group"),
        "root:x:0:\nadm:x:4:\nsystemd-journal:x:999:\n",
    )
    .unwrap();
    let policy = root.join("usr/sbin/policy-rc.d");
    fs::write(&policy, "#!/bin/sh\nexit 101\n").unwrap();
    fs::set_permissions(&policy, fs::Permissions::from_mode(0o755)).unwrap();
    let dpkg = |args: &[&str]| {
        let out = run(Command::new("dpkg")
            .arg(format!("--root={}", root.display()))
            .args(["--force-script-chrootless", "--force-depends"])
            .args(args));
        ok(out, &format!("dpkg {args:?}"));
    };
    dpkg(&["-i", deb.to_str().unwrap()]);

    for p in readme_paths() {
        assert!(present(&root, &p), "{p} is not installed");
    }
    let passwd = fs::read_to_string(root.join("etc/passwd")).unwrap();
    let user = passwd
        .lines()
        .find(|l| l.starts_with("loginwatch:"))
        .unwrap_or_else(|| panic!("no user loginwatch: {passwd}"));
    let fields: Vec<&str> = user.split(':').collect();
    assert_eq!(fields[5], "/var/lib/loginwatch", "{user}");
    assert!(fields[6].ends_with("nologin"), "{user}");
    let uid: u32 = fields[2].parse().unwrap();
    assert!(uid < 1000, "a system user: {user}");
    let groups = fs::read_to_string(root.join("etc/group")).unwrap();
    let members = |g: &str| -> BTreeSet<String> {
        groups
            .lines()
            .find(|l| l.starts_with(&format!("{g}:")))
            .map(|l| {
                l.rsplit(':')
                    .next()
                    .unwrap()
                    .split(',')
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    for g in ["adm", "systemd-journal"] {
        assert!(members(g).contains("loginwatch"), "{g}: {groups}");
    }
    let state = fs::metadata(root.join("var/lib/loginwatch")).unwrap();
    assert_eq!(state.mode() & 0o7777, 0o750);
    assert_eq!(state.uid(), uid);
    assert!(
        fs::symlink_metadata(
            root.join("etc/systemd/system/multi-user.target.wants/loginwatch.service")
        )
        .is_ok(),
        "the unit is not enabled"
    );

    // Remove keeps the configuration and the state; purge takes both.
    let conf = root.join("etc/loginwatch/loginwatch.toml");
    fs::write(&conf, "mode = \"recommend\"\n").unwrap();
    fs::write(root.join("var/lib/loginwatch/loginwatch.db"), "").unwrap();
    dpkg(&["-r", "loginwatch"]);
    assert!(!root.join("usr/bin/loginwatch").exists());
    assert!(conf.is_file() && root.join("var/lib/loginwatch/loginwatch.db").is_file());
    dpkg(&["-P", "loginwatch"]);
    assert!(!conf.exists());
    assert!(!root.join("var/lib/loginwatch").exists());
    assert!(
        fs::symlink_metadata(
            root.join("etc/systemd/system/multi-user.target.wants/loginwatch.service")
        )
        .is_err()
    );
}
