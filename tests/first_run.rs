//! The first five minutes of a fresh clone: the demo script wherever cargo
//! puts its build, the demo telling why a daemon died, the README's set-up
//! naming what the test command installs, and skips that are seen.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::repo;

/// The target directory this test binary was built in (`.../target`).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_loginwatch"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// Runs `cmd` with a deadline; returns (success, stdout, stderr).
fn run_with_deadline(cmd: &mut Command, limit: Duration) -> (bool, String, String) {
    use std::os::unix::process::CommandExt as _;
    let mut child = cmd
        // A group of its own, so a deadline ends the cargo build under the
        // script too, not only the shell.
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "still running after {limit:?}; stderr so far:\n{}",
                err_reader.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (
        status.success(),
        reader.join().unwrap(),
        err_reader.join().unwrap(),
    )
}

/// Runs the demo script with `env`; returns its stdout and stderr after
/// checking that it worked and ran `exe`.
fn demo(env: &[(&str, &Path)], exe: &Path) -> (String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("examples/demo/run.sh"))
        // `test`: the profile `cargo test` built the binary with, so cargo
        // finds it fresh and builds nothing (release would take minutes).
        .env("DEMO_PROFILE", "test")
        .env("DEMO_DIR", tmp.path().join("demo"));
    // The variables `cargo test` sets for a test (`CARGO_PKG_NAME`...): build
    // scripts that watch them (ring's) would run again in the demo's cargo,
    // and everything above them be rebuilt.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if (k.starts_with("CARGO_") && k != "CARGO_HOME") || k == "OUT_DIR" {
            cmd.env_remove(&*k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    // A deadline against a hung demo, not a speed check: the first demo after
    // a change builds the bin under the `test` profile, which on two busy
    // cores took over 240 s once the crate grew (fleet, helpdesk page).
    let (ok, out, err) = run_with_deadline(&mut cmd, Duration::from_secs(600));
    assert!(ok, "demo failed:\n{out}\n{err}");
    let ran = format!("demo: running {}\n", exe.display());
    assert!(err.contains(&ran), "{ran:?} not in:\n{err}");
    assert!(out.contains("loginwatch is watching"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("lock_account") && l.contains("user=erin")),
        "{out}"
    );
    (out, err)
}

/// The README's demo with `CARGO_TARGET_DIR` set (to this build's own
/// directory: another path makes cargo rebuild dependencies whose build
/// scripts note it): the script runs the binary cargo reports there.
#[test]
fn the_demo_runs_the_binary_cargo_reports_under_cargo_target_dir() {
    let target = target_dir();
    demo(
        &[("CARGO_TARGET_DIR", target.as_path())],
        &target.join("debug/loginwatch"),
    );
}

/// The path is cargo's word, not a guess: a cargo that reports its binary
/// somewhere no convention would look (a stand-in printing cargo's JSON
/// artifact lines, the real binary linked there) has that binary run.
#[test]
fn the_demo_runs_the_binary_wherever_cargo_says_it_is() {
    let tmp = tempfile::tempdir().unwrap();
    let exe = tmp.path().join("elsewhere/out/loginwatch");
    std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_loginwatch"), &exe).unwrap();
    let cargo = tmp.path().join("cargo");
    let artifact = |kind: &str, exe: &str| {
        format!(
            r#"{{"reason":"compiler-artifact","package_id":"path+file:///src#loginwatch@0.1.0","target":{{"kind":["{kind}"],"crate_types":["{kind}"],"name":"loginwatch","src_path":"/src/main.rs","edition":"2024","doc":true,"doctest":false,"test":true}},"features":[],"filenames":[],"executable":{exe},"fresh":true}}"#
        )
    };
    std::fs::write(
        &cargo,
        format!(
            "#!/bin/sh
case \"$*\" in *--message-format=json*) ;; *) exit 3;; esac
             echo '{}'
echo '{}'
echo '{{\"reason\":\"build-finished\",\"success\":true}}'
",
            artifact("lib", "null"),
            artifact("bin", &format!("\"{}\"", exe.display())),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&cargo, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    demo(&[("CARGO", cargo.as_path())], &exe);
}

/// A daemon that dies before listening: the demo says so at once, with the
/// end of its log, instead of waiting and failing on a missing address file.
#[test]
fn the_demo_shows_why_the_daemon_died() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = tmp.path().join("loginwatch");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'starting' >&2\necho 'loginwatch: invalid configuration (1 error): x.toml:3: bad key' >&2\nexit 2\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let started = Instant::now();
    let (ok, _, err) = run_with_deadline(
        Command::new("bash")
            .arg("-c")
            .arg(". examples/demo/lib.sh; demo_start \"$0\" \"$1\"")
            .arg(&fake)
            .arg(tmp.path())
            .current_dir(repo()),
        Duration::from_secs(60),
    );
    assert!(!ok, "{err}");
    assert!(started.elapsed() < Duration::from_secs(10), "noticed late");
    assert!(err.contains("the daemon exited (status 2)"), "{err}");
    assert!(err.contains("x.toml:3: bad key"), "{err}");
}

/// Every package scripts/test.sh installs is named in the README's set-up.
#[test]
fn the_readme_says_what_the_test_command_installs() {
    let script = std::fs::read_to_string(repo().join("scripts/test.sh")).unwrap();
    let mut installs: Vec<String> = script
        .split("need_pkgs+=(")
        .skip(1)
        .map(|s| s.split(')').next().unwrap().to_owned())
        .collect();
    assert!(installs.len() >= 5, "{installs:?}");
    assert!(script.contains("pip install -q aiosmtpd"));
    let fuzz = std::fs::read_to_string(repo().join("scripts/fuzz-smoke.sh")).unwrap();
    assert!(fuzz.contains("cargo install -q --locked cargo-fuzz"));
    installs.extend(["aiosmtpd".into(), "cargo-fuzz".into(), "nightly".into()]);
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let setup = readme
        .split("## Set-up")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap();
    for p in &installs {
        assert!(setup.contains(&format!("`{p}`")), "the set-up omits {p}");
    }
}

/// A skip is printed through `skip` (tests/util, src/test_support), which
/// writes to the stderr handle and to the test command's list: a `println!`
/// or `eprintln!` of a passing test is swallowed by the harness.
#[test]
fn skips_go_through_the_skip_helper() {
    let mut files = Vec::new();
    let mut dirs = vec![repo().join("src"), repo().join("tests")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, l) in text.lines().enumerate() {
            // `println!` and `eprintln!` alike.
            if l.to_lowercase().contains("println!(\"skip") {
                found.push(format!("{}:{}: {l}", f.display(), i + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "skips printed another way:\n{}",
        found.join("\n")
    );
}
