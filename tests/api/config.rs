//! `config check`, the example configuration against the embedded defaults, and
//! `promtool` on the metrics the API serves.

use super::*;

#[test]
fn config_check_reports_every_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("lw.toml");
    let mut f = std::fs::File::create(&cfg).unwrap();
    writeln!(f, "mode = \"lock\"\n\n[http]\nlisten = \"0.0.0.0:9464\"\n\n[[source]]\npath = \"a.log\"\ntz = \"Nowhere/City\"").unwrap();
    let out = lw().args(["config", "check"]).arg(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for line in [
        ":1: unknown mode",
        ":4: listen 0.0.0.0:9464",
        ":8: unknown time zone",
    ] {
        assert!(err.contains(line), "{line} missing in {err}");
    }

    // A format that neither the built-ins nor the rules declare.
    std::fs::write(&cfg, "[[source]]\npath = \"a.log\"\nformat = \"nope\"\n").unwrap();
    let out = lw().args(["config", "check"]).arg(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown format \"nope\""));

    let out = lw()
        .args(["config", "check"])
        .arg(repo().join("examples/loginwatch.toml"))
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: 1 sources"));
}

#[test]
fn the_example_config_spells_out_the_embedded_defaults() {
    let c = loginwatch::config::load(Some(&repo().join("examples/loginwatch.toml"))).unwrap();
    // The embedded source is chosen per host (the auth log, else the
    // journal); the example spells out the auth log.
    let mut want = loginwatch::config::Config::default_embedded();
    want.sources = vec![loginwatch::config::defaults::source()];
    assert_eq!(c, want);
}

#[test]
fn promtool_accepts_the_metrics() {
    let Ok(probe) = std::process::Command::new("promtool")
        .arg("--version")
        .output()
    else {
        crate::util::skip(
            "promtool",
            "promtool_accepts_the_metrics",
            "promtool is not installed (apt-get install prometheus)",
        );
        return;
    };
    assert!(probe.status.success());
    let m = Metrics::new();
    m.line_read("auth.log");
    m.decision(
        "ssh-brute",
        DecisionAction::BlockIp,
        Mode::Enforce,
        loginwatch::decision::Assessment::Attack,
    );
    m.set_source_up("app", false);
    m.event_to_decision_seconds.observe(0.02);
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(m.render().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
