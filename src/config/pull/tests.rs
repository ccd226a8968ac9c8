//! Pulled sources in the configuration: the secrets read and checked at
//! load, every mistake at its line.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use crate::config::*;
use crate::source::pull::Pull;

const KEY: &str = include_str!("../../../tests/fixtures/pull/test-only-rsa.pem");

fn load_in(dir: &Path, text: &str) -> Result<Config, ConfigErrors> {
    let env = |k: &str| (k == "OKTA_TOKEN").then(|| "00abc\n".to_owned());
    load_text(text, &dir.join("loginwatch.toml"), &env)
}

fn errors(dir: &Path, text: &str) -> Vec<(Option<usize>, String)> {
    match load_in(dir, text) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e.0.into_iter().map(|e| (e.line, e.message)).collect(),
    }
}

/// A credentials file with the key in a file beside it, both 0600.
fn credentials(dir: &Path) {
    crate::private::write(&dir.join("lw.pem"), KEY.as_bytes()).unwrap();
    crate::private::write(
        &dir.join("lw.toml"),
        b"client_id = \"cid\"\nclient_secret = \"csecret\"\nservice_account = \"sa@example\"\nprivate_key_file = \"lw.pem\"\n",
    )
    .unwrap();
}

#[test]
fn pulls_read_their_secrets_and_imply_their_format_and_once() {
    let d = tempfile::tempdir().unwrap();
    credentials(d.path());
    crate::private::write(&d.path().join("okta.token"), b"00tok\n").unwrap();
    let c = load_in(
        d.path(),
        "[[source]]\npull = \"lineworks\"\ncredentials = \"lw.toml\"\n\
         [[source]]\npull = \"okta\"\nurl = \"https://example.okta.com/\"\ntoken_file = \"okta.token\"\ninterval = \"30s\"\nstart = \"2h\"\n\
         [[source]]\npull = \"okta\"\nname = \"okta2\"\nurl = \"https://b.okta.com\"\ntoken_env = \"OKTA_TOKEN\"\n",
    )
    .unwrap();
    let lw = &c.sources[0];
    assert_eq!(
        (lw.name.as_str(), lw.format.as_str()),
        ("lineworks", "lineworks-audit")
    );
    assert_eq!(lw.once, Some(chrono::Duration::days(180)));
    let Some(Pull::Lineworks(l)) = &lw.pull else {
        panic!("{lw:?}")
    };
    assert_eq!(
        l.endpoint(),
        "https://www.worksapis.com/v1.0/audits/logs/download"
    );
    assert_eq!(l.service, "auth");
    assert_eq!(l.interval, Duration::from_secs(60));
    assert_eq!(l.credentials.client_id, "cid");
    assert!(
        l.credentials
            .private_key
            .expose()
            .contains("BEGIN PRIVATE KEY")
    );
    let ok = &c.sources[1];
    assert_eq!((ok.name.as_str(), ok.format.as_str()), ("okta", "okta"));
    assert_eq!(ok.once, Some(chrono::Duration::days(90)));
    let Some(Pull::Okta(o)) = &ok.pull else {
        panic!("{ok:?}")
    };
    assert_eq!(o.endpoint(), "https://example.okta.com/api/v1/logs");
    assert_eq!(o.token.expose(), "00tok");
    assert_eq!(
        (o.interval, o.start),
        (Duration::from_secs(30), chrono::Duration::hours(2))
    );
    let Some(Pull::Okta(o2)) = &c.sources[2].pull else {
        panic!()
    };
    assert_eq!(o2.token.expose(), "00abc");
    // No secret in the configuration's debug form.
    let shown = format!("{c:?}");
    for s in ["csecret", "00tok", "00abc", "BEGIN PRIVATE KEY"] {
        assert!(!shown.contains(s), "{s} in {shown}");
    }
}

#[test]
fn a_credentials_file_or_key_others_may_read_is_refused() {
    let d = tempfile::tempdir().unwrap();
    credentials(d.path());
    let text = "[[source]]\npull = \"lineworks\"\ncredentials = \"lw.toml\"\n";
    std::fs::set_permissions(
        d.path().join("lw.pem"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let e = errors(d.path(), text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, Some(3));
    assert!(
        e[0].1.contains("lw.pem") && e[0].1.contains("chmod 600"),
        "{e:?}"
    );
    std::fs::set_permissions(
        d.path().join("lw.pem"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::set_permissions(
        d.path().join("lw.toml"),
        std::fs::Permissions::from_mode(0o604),
    )
    .unwrap();
    let e = errors(d.path(), text);
    assert!(
        e[0].1.contains("refusing the credentials file") && e[0].1.contains("chmod 600"),
        "{e:?}"
    );
    assert!(!e[0].1.contains("csecret"));
}

#[test]
fn every_mistake_of_a_pull_is_reported_at_its_line() {
    let d = tempfile::tempdir().unwrap();
    credentials(d.path());
    crate::private::write(&d.path().join("bad.toml"), b"client_id = \"c\"\nclient_secret = \"s\"\nservice_account = \"a\"\nprivate_key = \"nope\"\n").unwrap();
    let e = errors(
        d.path(),
        "[[source]]\n\
         pull = \"lineworks\"\n\
         credentials = \"lw.toml\"\n\
         interval = \"10s\"\n\
         token_env = \"X\"\n\
         path = \"/var/log/x\"\n\
         [[source]]\n\
         pull = \"okta\"\n\
         url = \"example.okta.com\"\n\
         credentials = \"lw.toml\"\n\
         [[source]]\n\
         pull = \"salesforce\"\n\
         [[source]]\n\
         path = \"/var/log/auth.log\"\n\
         interval = \"1m\"\n\
         [[source]]\n\
         pull = \"lineworks\"\n\
         name = \"lw2\"\n\
         credentials = \"bad.toml\"\n",
    );
    let lines: Vec<Option<usize>> = e.iter().map(|(l, _)| *l).collect();
    let msg = |i: usize| e[i].1.as_str();
    assert_eq!(
        lines,
        [
            Some(6),
            Some(5),
            Some(4),
            Some(10),
            Some(9),
            Some(7),
            Some(12),
            Some(15),
            Some(19)
        ],
        "{e:?}"
    );
    assert!(msg(0).contains("`path` and `pull` together"), "{e:?}");
    assert!(msg(1).contains("`token_env` is not a key of pull = \"lineworks\""));
    assert!(msg(2).contains("at least 60s"));
    assert!(msg(3).contains("`credentials` is not a key of pull = \"okta\""));
    assert!(msg(4).contains("https:// URL"));
    assert!(msg(5).contains("needs the API token"));
    assert!(msg(6).contains("expected \"lineworks\" or \"okta\""));
    assert!(msg(7).contains("`interval` belongs to a pulled source"));
    assert!(msg(8).contains("not an RSA key"));
}

#[test]
fn a_loopback_url_may_poll_faster_than_the_service_allows() {
    let d = tempfile::tempdir().unwrap();
    credentials(d.path());
    let c = load_in(
        d.path(),
        "[[source]]\npull = \"lineworks\"\ncredentials = \"lw.toml\"\nurl = \"http://127.0.0.1:9/v1.0\"\n\
         token_url = \"http://127.0.0.1:9/token\"\ninterval = \"1s\"\n",
    )
    .unwrap();
    let Some(Pull::Lineworks(l)) = &c.sources[0].pull else {
        panic!()
    };
    assert_eq!(l.interval, Duration::from_secs(1));
    // Any other host is the service (or stands for it): the documented minimum.
    let e = errors(
        d.path(),
        "[[source]]\npull = \"lineworks\"\ncredentials = \"lw.toml\"\nurl = \"https://127.0.0.1.example/v1.0\"\ninterval = \"1s\"\n",
    );
    assert!(e[0].1.contains("at least 60s"), "{e:?}");
}
