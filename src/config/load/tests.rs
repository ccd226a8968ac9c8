//! Tests of the configuration loader: every key, every error with its line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::*;
use crate::decision::Mode;
use crate::parse::Zone;

fn no_env(_: &str) -> Option<String> {
    None
}

fn load_in(dir: &Path, text: &str) -> Result<Config, ConfigErrors> {
    load_text(text, &dir.join("loginwatch.toml"), &no_env)
}

/// The (line, message) pairs of a failed load.
fn errors(text: &str) -> Vec<(Option<usize>, String)> {
    let d = tempfile::tempdir().unwrap();
    match load_in(d.path(), text) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e.0.into_iter().map(|e| (e.line, e.message)).collect(),
    }
}

#[test]
fn every_key_is_read_and_relative_paths_follow_the_file() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("rules")).unwrap();
    crate::private::write(&d.path().join("token"), b"s3cret\n").unwrap();
    let text = r#"
mode = "enforce"
rules_dir = "rules"
state_path = "state/lw.db"
year = 2024
poll_interval = "2s"
checkpoint_interval = "1m"

[http]
listen = "0.0.0.0:0"
admin_token_file = "token"

[[source]]
path = "/var/log/auth.log"

[[source]]
path = "app/*.json"
format = "okta"
tz = "Asia/Tokyo"
name = "okta"
"#;
    let c = load_in(d.path(), text).unwrap();
    assert_eq!(c.mode, Mode::Enforce);
    assert_eq!(c.rules_dir, Some(d.path().join("rules")));
    assert_eq!(c.state_path, d.path().join("state/lw.db"));
    assert_eq!(c.year, Some(2024));
    assert_eq!(c.poll_interval, Duration::from_secs(2));
    assert_eq!(c.checkpoint_interval, Duration::from_secs(60));
    assert_eq!(c.http.listen.to_string(), "0.0.0.0:0");
    assert_eq!(c.http.admin_token.as_deref(), Some("s3cret"));
    assert_eq!(c.sources.len(), 2);
    assert_eq!(c.sources[0].name, "auth.log");
    assert_eq!(c.sources[0].format, "auto");
    assert_eq!(c.sources[0].zone, Zone::Local);
    assert_eq!(c.sources[1].name, "okta");
    assert_eq!(
        PathBuf::from(&c.sources[1].path),
        d.path().join("app/*.json")
    );
    assert_eq!(c.sources[1].zone, "Asia/Tokyo".parse::<Zone>().unwrap());
}

#[test]
fn an_empty_file_means_the_embedded_defaults() {
    let d = tempfile::tempdir().unwrap();
    let c = load_in(d.path(), "").unwrap();
    assert_eq!(c, Config::defaults_with_state(defaults::state_path()));
}

#[test]
fn the_token_can_come_from_the_environment() {
    let env = |k: &str| (k == "LW_TOKEN").then(|| "abc".to_owned());
    let text = "[http]\nadmin_token_env = \"LW_TOKEN\"\n";
    let c = load_text(text, Path::new("x/lw.toml"), &env).unwrap();
    assert_eq!(c.http.admin_token.as_deref(), Some("abc"));
    let e = load_text(
        "[http]\nadmin_token_env = \"NOPE\"\n",
        Path::new("lw.toml"),
        &env,
    )
    .unwrap_err();
    assert_eq!(e.0[0].line, Some(2));
    assert!(e.0[0].message.contains("\"NOPE\" is not set"));
}

#[test]
fn every_error_is_reported_with_its_line() {
    let text = r#"mode = "block"
year = 12
poll_interval = "1.5s"
checkpoint_interval = 5
colour = "blue"

[http]
listen = "localhost:9464"

[[source]]
path = "/var/log/a.log"
tz = "Mars/Olympus"

[[source]]
path = "/var/log/b.log"
fromat = "sshd"

[[source]]
path = "/other/c.log"

[[source]]
path = "/more/c.log"
"#;
    let errs = errors(text);
    let lines: Vec<Option<usize>> = errs.iter().map(|e| e.0).collect();
    assert_eq!(
        lines,
        vec![
            Some(4),  // checkpoint_interval: wrong type (serde, while reading)
            Some(5),  // unknown top-level key
            Some(16), // unknown key in a source
            Some(1),  // mode
            Some(2),  // year
            Some(3),  // poll_interval
            Some(8),  // listen
            Some(12), // tz
            Some(21), // duplicate name c.log
        ],
        "{errs:#?}"
    );
    assert!(errs[1].1.contains("unknown key \"colour\""), "{errs:?}");
    assert!(errs[2].1.contains("fromat"), "{errs:?}");
    assert!(errs[3].1.contains("recommend, enforce"), "{errs:?}");
    assert!(errs[8].1.contains("\"c.log\""), "{errs:?}");
}

#[test]
fn a_syntax_error_has_its_line() {
    let errs = errors("mode = \"enforce\"\n\nyear = = 3\n");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].0, Some(3));
    assert!(errs[0].1.starts_with("TOML syntax"));
}

#[test]
fn a_non_loopback_listen_needs_a_token() {
    let errs = errors("[http]\nlisten = \"0.0.0.0:9464\"\n");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].0, Some(2));
    assert!(errs[0].1.contains("needs a token"));
    let d = tempfile::tempdir().unwrap();
    assert!(load_in(d.path(), "[http]\nlisten = \"[::1]:0\"\n").is_ok());
}

#[test]
fn token_problems_are_errors() {
    let d = tempfile::tempdir().unwrap();
    crate::private::write(&d.path().join("blank"), b"\n").unwrap();
    let text = "[http]\nadmin_token_file = \"blank\"\n";
    let e = load_in(d.path(), text).unwrap_err();
    assert!(e.0[0].message.contains("empty"), "{e}");
    // A token file others can read is refused, with the fix.
    std::fs::write(d.path().join("shared"), "tok\n").unwrap();
    let open = std::os::unix::fs::PermissionsExt::from_mode(0o644);
    std::fs::set_permissions(d.path().join("shared"), open).unwrap();
    let text = "[http]\nadmin_token_file = \"shared\"\n";
    let e = load_in(d.path(), text).unwrap_err();
    assert!(e.0[0].message.contains("chmod 600"), "{e}");
    let text = "[http]\nadmin_token_file = \"missing\"\nadmin_token_env = \"X\"\n";
    let e = load_in(d.path(), text).unwrap_err();
    assert_eq!(e.0.len(), 1, "{e}");
    assert!(e.0[0].message.contains("both set"));
    let e = load_in(d.path(), "[http]\nadmin_token_file = \"missing\"\n").unwrap_err();
    assert!(e.0[0].message.contains("cannot read"), "{e}");
}

#[test]
fn source_shape_and_values_are_checked() {
    let errs = errors("source = 3\n");
    assert!(errs[0].1.contains("write [[source]]"));
    let errs = errors("[[source]]\npath = \"\"\n[[source]]\npath = \"/a/[\"\nname = \"\"\n");
    let lines: Vec<Option<usize>> = errs.iter().map(|e| e.0).collect();
    assert_eq!(lines, vec![Some(2), Some(4), Some(5)], "{errs:?}");
    let errs = errors("rules_dir = \"no/such/dir\"\nyear = 99999999999\n");
    assert_eq!(errs.len(), 2, "{errs:?}");
}

#[test]
fn a_network_source_listens_and_is_named_by_protocol_and_port() {
    let d = tempfile::tempdir().unwrap();
    let c = load_in(
        d.path(),
        "[[source]]\nlisten = \"udp://0.0.0.0:514\"\n[[source]]\nlisten = \"tcp://127.0.0.1:6514\"\nformat = \"sshd\"\n",
    )
    .unwrap();
    let l: Vec<_> = c
        .sources
        .iter()
        .map(|s| (s.name.as_str(), s.listen.map(|l| l.to_string())))
        .collect();
    assert_eq!(
        l,
        [
            ("udp-514", Some("udp://0.0.0.0:514".to_owned())),
            ("tcp-6514", Some("tcp://127.0.0.1:6514".to_owned()))
        ]
    );
    assert_eq!(c.sources[1].format, "sshd");
    assert!(c.sources[0].path.is_empty());
}

#[test]
fn a_source_has_path_or_listen_and_a_listen_address_is_checked() {
    let errs = errors(
        "[[source]]\nname = \"x\"\n[[source]]\npath = \"a.log\"\nlisten = \"udp://1.2.3.4:514\"\n\
         [[source]]\nlisten = \"udp://syslog:514\"\n[[source]]\nlisten = \"http://1.2.3.4:80\"\n",
    );
    let got: Vec<(Option<usize>, &str)> = errs.iter().map(|(l, m)| (*l, m.as_str())).collect();
    assert_eq!(got.len(), 4, "{errs:?}");
    assert!(
        got[0].1.contains("needs `path` (files) or `listen`"),
        "{errs:?}"
    );
    assert_eq!(got[1].0, Some(5));
    assert!(got[1].1.contains("not both"), "{errs:?}");
    assert_eq!(got[2].0, Some(7));
    assert!(got[2].1.contains("not IP:PORT"), "{errs:?}");
    assert_eq!(got[3].0, Some(9));
    assert!(got[3].1.contains("udp or tcp"), "{errs:?}");
}

#[test]
fn config_errors_display_file_and_line() {
    let e = ConfigErrors(vec![
        ConfigError {
            file: Some(PathBuf::from("lw.toml")),
            line: Some(3),
            column: None,
            message: "bad".into(),
        },
        ConfigError {
            file: None,
            line: None,
            column: None,
            message: "worse".into(),
        },
    ]);
    assert_eq!(e.to_string(), "lw.toml:3: bad\n(embedded defaults): worse");
}

#[test]
fn missing_file_is_an_error_and_none_means_defaults() {
    let e = load(Some(Path::new("/nonexistent/lw.toml"))).unwrap_err();
    assert!(e.0[0].message.contains("cannot read"));
    assert_eq!(load(None).unwrap(), Config::default_embedded());
}

/// Issue 11: an unknown source format is reported at its line, in file order
/// with the other mistakes, and a format declared in the rules is accepted.
#[test]
fn an_unknown_format_is_reported_with_its_line_among_the_other_errors() {
    let d = tempfile::tempdir().unwrap();
    let rules = d.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("app.toml"),
        "[[format]]\nname = \"myapp\"\nkind = \"regex\"\npattern = '^(?P<time>\\S+) (?P<outcome>ok|fail) (?P<user>\\S+)'\n\
         time_format = \"rfc3339\"\noutcome_map = { ok = \"success\", fail = \"failure\" }\n",
    )
    .unwrap();
    let text = "rules_dir = \"rules\"\n[[source]]\npath = \"a.log\"\nformat = \"nope\"\n\
                [[source]]\npath = \"b.log\"\nformat = \"myapp\"\ntz = \"Nowhere/City\"\n";
    let e = match load_in(d.path(), text) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e.0,
    };
    let lines: Vec<Option<usize>> = e.iter().map(|e| e.line).collect();
    assert_eq!(lines, [Some(4), Some(8)], "{e:?}");
    assert!(e[0].message.contains("unknown format \"nope\""), "{e:?}");
    assert!(
        e[0].message.contains("declared in the rules: myapp"),
        "{e:?}"
    );
}

#[test]
fn an_export_folder_may_set_its_retention_and_settle_time_each_checked_at_its_line() {
    let d = tempfile::tempdir().unwrap();
    let c = load_in(
        d.path(),
        "[[source]]\npath = \"exports/*.csv\"\nformat = \"lineworks-audit\"\nretention = \"30d\"\nsettle = \"5s\"\n\
         [[source]]\npath = \"auth.log\"\n",
    )
    .unwrap();
    assert_eq!(c.sources[0].once, Some(chrono::Duration::days(30)));
    assert_eq!(c.sources[0].settle, Some(Duration::from_secs(5)));
    // Unset: decided by the format when the daemon starts.
    assert_eq!((c.sources[1].once, c.sources[1].settle), (None, None));
    let errs = errors(
        "[[source]]\npath = \"a/*.csv\"\nretention = \"soon\"\nsettle = \"2h\"\n\
         [[source]]\nlisten = \"udp://127.0.0.1:514\"\nretention = \"1d\"\n",
    );
    let got: Vec<(Option<usize>, &str)> = errs.iter().map(|(l, m)| (*l, m.as_str())).collect();
    assert_eq!(got.len(), 3, "{errs:?}");
    assert_eq!(got[0].0, Some(3));
    assert!(got[0].1.starts_with("retention:"), "{errs:?}");
    assert_eq!(got[1].0, Some(4));
    assert!(got[1].1.contains("at most 3600s"), "{errs:?}");
    assert_eq!(got[2].0, Some(7));
    assert!(got[2].1.contains("not for `listen`"), "{errs:?}");
}

#[test]
fn errors_point_at_their_column_counted_in_characters() {
    let d = tempfile::tempdir().unwrap();
    let text = "mode = \"enforce\"\n  nope = 1\n[http]\nlisten = \"x\"\n";
    let errs = load_in(d.path(), text).unwrap_err().0;
    let places: Vec<(Option<usize>, Option<usize>)> =
        errs.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(
        places,
        [(Some(2), Some(3)), (Some(4), Some(10))],
        "{errs:?}"
    );
    let cx = super::Cx {
        file: Path::new("x.toml"),
        text: "a = 1\nb = \"éé\" x\n",
        errors: Vec::new(),
    };
    // Byte 17 is the `x` after two 2-byte characters: line 2, column 10.
    assert_eq!(cx.place_of(17), (2, 10));
    assert_eq!(cx.place_of(0), (1, 1));
    // Inside a character or past the end: a place, never a panic.
    assert_eq!(cx.place_of(12), (2, 7));
    assert_eq!(cx.place_of(99), (3, 1));
}
