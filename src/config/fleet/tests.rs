use std::path::Path;

use crate::config::{Config, ConfigErrors, load_text};
use crate::fleet::{Auth, Secret};

fn env(k: &str) -> Option<String> {
    (k == "NATS_PW").then(|| "from-env".to_owned())
}

fn load_in(dir: &Path, text: &str) -> Result<Config, ConfigErrors> {
    load_text(text, &dir.join("loginwatch.toml"), &env)
}

/// The (line, message) pairs of a failed load.
fn errors(dir: &Path, text: &str) -> Vec<(Option<usize>, String)> {
    match load_in(dir, text) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e.0.into_iter().map(|e| (e.line, e.message)).collect(),
    }
}

#[test]
fn defaults_and_every_key() {
    let d = tempfile::tempdir().unwrap();
    let c = load_in(d.path(), "[fleet]\nurl = \"nats://127.0.0.1:4222\"\n").unwrap();
    let f = c.fleet.unwrap();
    assert_eq!(f.servers, ["nats://127.0.0.1:4222"]);
    assert_eq!(f.stream, "LOGINWATCH_EVENTS");
    assert_eq!(f.subject_prefix, "loginwatch.events");
    assert_eq!(f.decisions_bucket, "loginwatch_decisions");
    assert_eq!(f.decisions_replicas, 1);
    assert_eq!(f.auth, Auth::None);
    assert!(crate::fleet::is_name(&f.host), "{}", f.host);

    crate::private::write(&d.path().join("pw"), b"s3cret\n").unwrap();
    std::fs::write(d.path().join("ca.pem"), "x").unwrap();
    let text = r#"
[fleet]
url = ["tls://n1:4222", "tls://n2:4222"]
host = "web1"
user = "agent"
password_file = "pw"
tls_ca = "ca.pem"
stream = "EV"
subject_prefix = "acme.lw"
decisions_bucket = "dec"
decisions_replicas = 3
"#;
    let f = load_in(d.path(), text).unwrap().fleet.unwrap();
    assert_eq!(f.servers.len(), 2);
    assert_eq!(f.host, "web1");
    assert_eq!(
        f.auth,
        Auth::UserPassword {
            user: "agent".into(),
            password: Secret("s3cret".into())
        }
    );
    assert_eq!(f.tls_ca, Some(d.path().join("ca.pem")));
    assert_eq!(
        (f.stream.as_str(), f.subject_prefix.as_str()),
        ("EV", "acme.lw")
    );
    assert_eq!(f.decisions_bucket, "dec");
    assert_eq!(f.decisions_replicas, 3);

    let text = "[fleet]\nurl = \"nats://h\"\nuser = \"a\"\npassword_env = \"NATS_PW\"\n";
    let f = load_in(d.path(), text).unwrap().fleet.unwrap();
    assert!(matches!(f.auth, Auth::UserPassword { password, .. } if password.0 == "from-env"));
}

#[test]
fn the_password_is_not_in_the_debug_output() {
    let d = tempfile::tempdir().unwrap();
    crate::private::write(&d.path().join("pw"), b"hunter2\n").unwrap();
    let text = "[fleet]\nurl = \"nats://h\"\nuser = \"a\"\npassword_file = \"pw\"\n";
    let c = load_in(d.path(), text).unwrap();
    assert!(!format!("{c:?}").contains("hunter2"));
}

#[test]
fn every_mistake_is_reported_at_its_line() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("seed"), "SUAEXAMPLE\n").unwrap();
    std::fs::set_permissions(
        d.path().join("seed"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    crate::private::write(&d.path().join("pw"), b"pw\n").unwrap();
    let text = r#"
[fleet]
url = "http://127.0.0.1:4222"
host = "web1.example.com"
user = "agent"
password_file = "pw"
nkey_file = "seed"
stream = "A.B"
subject_prefix = "a.*"
decisions_replicas = 0
colour = "blue"
"#;
    let errs = errors(d.path(), text);
    // An unknown key fails the table's deserialization at its line.
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, Some(11));
    assert!(errs[0].1.contains("colour"), "{errs:?}");

    let text = text.replace("colour = \"blue\"\n", "");
    let errs = errors(d.path(), &text);
    let at = |line: usize, says: &str| {
        assert!(
            errs.iter()
                .any(|(l, m)| *l == Some(line) && m.contains(says)),
            "no {says:?} at line {line}: {errs:?}"
        )
    };
    at(3, "not nats or tls");
    at(4, "one subject token");
    at(7, "user and nkey_file are both set");
    at(8, "stream \"A.B\"");
    at(9, "subject_prefix");
    at(10, "decisions_replicas 0: 1 to 5");
    assert_eq!(errs.len(), 6, "{errs:?}");
}

#[test]
fn credentials_are_checked() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("open"), "pw\n").unwrap();
    std::fs::set_permissions(
        d.path().join("open"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    crate::private::write(&d.path().join("notseed"), b"hello\n").unwrap();
    for (text, says) in [
        (
            "[fleet]\nurl = \"nats://h\"\nuser = \"a\"\n",
            "user needs password_file",
        ),
        (
            "[fleet]\nurl = \"nats://h\"\npassword_env = \"NATS_PW\"\n",
            "needs its user",
        ),
        (
            "[fleet]\nurl = \"nats://h\"\nuser = \"a\"\npassword_file = \"open\"\n",
            "password_file",
        ),
        (
            "[fleet]\nurl = \"nats://h\"\nuser = \"a\"\npassword_env = \"UNSET\"\n",
            "not set",
        ),
        (
            "[fleet]\nurl = \"nats://h\"\nnkey_file = \"notseed\"\n",
            "nkey seed",
        ),
        (
            "[fleet]\nurl = \"nats://h\"\ncreds_file = \"missing.creds\"\n",
            "creds_file",
        ),
        (
            "[fleet]\nurl = \"nats://h\"\ntls_ca = \"missing.pem\"\n",
            "not a file",
        ),
        ("[fleet]\nhost = \"h\"\n", "needs url"),
        ("[fleet]\nurl = []\n", "at least one"),
        (
            "[fleet]\nurl = \"nats://u:p@h\"\n",
            "credentials in the url",
        ),
    ] {
        let errs = errors(d.path(), text);
        assert!(
            errs.iter().any(|(l, m)| l.is_some() && m.contains(says)),
            "{text}: {errs:?}"
        );
    }
}

#[test]
fn a_detectors_place_is_validated() {
    use crate::fleet::shard::{Group, Shard};
    let d = tempfile::tempdir().unwrap();
    let url = "[fleet]\nurl = \"nats://127.0.0.1:4222\"\n";
    let f = load_in(d.path(), url).unwrap().fleet.unwrap();
    assert_eq!(f.shard, Shard::default(), "one detector, every rule");
    let text = format!("{url}group = \"address\"\nmembers = 4\nmember = 3\n");
    let f = load_in(d.path(), &text).unwrap().fleet.unwrap();
    assert_eq!(
        f.shard,
        Shard {
            group: Group::Address,
            members: 4,
            member: 3
        }
    );
    let e = errors(d.path(), &format!("{url}group = \"users\"\n"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, Some(3));
    assert!(e[0].1.contains("\"user\""), "{e:?}");
    let e = errors(
        d.path(),
        &format!("{url}group = \"user\"\nmembers = 2\nmember = 2\n"),
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, Some(5), "{e:?}");
    assert!(e[0].1.contains("0 to 1"), "{e:?}");
    let e = errors(d.path(), &format!("{url}members = 2\n"));
    assert!(e[0].1.contains("group \"all\""), "{e:?}");
    let e = errors(d.path(), &format!("{url}group = \"user\"\nmember = -1\n"));
    assert!(e[0].1.contains("not negative"), "{e:?}");
}

#[test]
fn the_spool_bound_and_the_replicas_are_checked() {
    let d = tempfile::tempdir().unwrap();
    let f = load_in(d.path(), "[fleet]\nurl = \"nats://h\"\n")
        .unwrap()
        .fleet
        .unwrap();
    assert_eq!(f.buffer_max_bytes, 256 * 1024 * 1024);
    assert_eq!(f.replicas, 1);
    let text = "[fleet]\nurl = \"nats://h\"\nbuffer_max_bytes = 2097152\nreplicas = 3\n";
    let f = load_in(d.path(), text).unwrap().fleet.unwrap();
    assert_eq!((f.buffer_max_bytes, f.replicas), (2 * 1024 * 1024, 3));
    let text = "[fleet]\nurl = \"nats://h\"\nbuffer_max_bytes = 1000\nreplicas = 7\n";
    let errs = errors(d.path(), text);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(errs[0].0, Some(3));
    assert!(errs[0].1.contains("at least 1048576 (1 MiB)"), "{errs:?}");
    assert_eq!(errs[1].0, Some(4));
    assert!(errs[1].1.contains("replicas 7: 1 to 5"), "{errs:?}");
    let errs = errors(
        d.path(),
        "[fleet]\nurl = \"nats://h\"\nbuffer_max_bytes = -1\n",
    );
    assert!(errs[0].1.contains("buffer_max_bytes -1"), "{errs:?}");
}

#[test]
fn lifted_keep_defaults_to_a_week_and_is_at_least_a_second() {
    let d = tempfile::tempdir().unwrap();
    let f = load_in(d.path(), "[fleet]\nurl = \"nats://h\"\n")
        .unwrap()
        .fleet
        .unwrap();
    assert_eq!(f.lifted_keep, std::time::Duration::from_secs(7 * 24 * 3600));
    let f = load_in(
        d.path(),
        "[fleet]\nurl = \"nats://h\"\nlifted_keep = \"2s\"\n",
    )
    .unwrap()
    .fleet
    .unwrap();
    assert_eq!(f.lifted_keep, std::time::Duration::from_secs(2));
    let text = "[fleet]\nurl = \"nats://h\"\nlifted_keep = \"0s\"\nreplicas = 9\n";
    let errs = errors(d.path(), text);
    assert_eq!(errs.len(), 2, "{errs:?}");
    let keep = errs.iter().find(|e| e.1.contains("lifted_keep")).unwrap();
    assert_eq!(keep.0, Some(3));
    assert!(keep.1.starts_with("lifted_keep"), "{errs:?}");
    let errs = errors(
        d.path(),
        "[fleet]\nurl = \"nats://h\"\nlifted_keep = \"week\"\n",
    );
    assert!(errs[0].1.starts_with("lifted_keep: "), "{errs:?}");
}
