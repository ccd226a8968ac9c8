//! The event's two interchange forms checked against their published schemas:
//! the ECS JSON of `parse` against ECS's field definitions, and `parse
//! --output ocsf` against the OCSF schema (fixtures derived from the upstream
//! schemas, see `tests/fixtures/{ecs,ocsf}/README.md`). Both run over one
//! corpus meant to reach every field: sshd, su, sudo and PAM lines, each JSON
//! preset, and the enrichment (GeoIP, an IP list, the inventory).

mod ecs;
mod ocsf;

use std::path::Path;

use serde_json::Value;

use crate::util::lw;

/// syslog lines reaching every kind of event and field the sshd parser writes.
const AUTH_LOG: &str = "\
2026-11-14T06:00:00Z web1 sshd[1]: Accepted password for alice from 192.0.2.10 port 4000 ssh2
2026-11-14T06:01:00Z web1 sshd[2]: Invalid user oracle from 198.51.100.7 port 44096
2026-11-14T06:02:00Z web1 sshd[3]: Failed password for bob from 203.0.113.9 port 4001 ssh2
2026-11-14T06:03:00Z web1 sshd[4]: Accepted publickey for carol from 2001:db8::1 port 4002 ssh2: ED25519 SHA256:abc
2026-11-14T06:04:00Z web1 sshd[5]: pam_faillock(sshd:auth): Consecutive login failures for user bob account temporarily locked
2026-11-14T06:05:00Z web1 sshd[6]: error: kex_exchange_identification: read: Connection reset by peer
2026-11-14T06:06:00Z web1 su[77]: pam_unix(su:auth): authentication failure; logname=bob uid=1000 euid=0 tty=pts/0 ruser=bob rhost=  user=root
2026-11-14T06:06:02Z web1 su[77]: FAILED SU (to root) bob on pts/0
2026-11-14T06:07:00Z web1 sudo: pam_unix(sudo:auth): authentication failure; logname=eve uid=1001 euid=0 tty=/dev/pts/1 ruser=eve rhost=  user=eve
2026-11-14T06:07:09Z web1 sudo:      eve : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/home/eve ; USER=root ; COMMAND=/bin/sh
";

/// One line per JSON preset and event kind (the presets' own fixtures are in
/// `corpus_json`).
const JSON_LOGS: &[(&str, &str)] = &[
    (
        "okta",
        r#"{"eventType":"user.session.start","published":"2026-11-14T06:10:00.000Z","outcome":{"result":"FAILURE","reason":"INVALID_CREDENTIALS"},"actor":{"alternateId":"alice@example.jp"},"client":{"ipAddress":"192.0.2.10","userAgent":{"rawUserAgent":"Mozilla/5.0"}}}
{"eventType":"user.authentication.auth_via_mfa","published":"2026-11-14T06:11:00.000Z","outcome":{"result":"SUCCESS"},"actor":{"alternateId":"alice@example.jp"},"client":{"ipAddress":"192.0.2.10"},"device":{"id":"guid-1"}}
{"eventType":"user.account.lock","published":"2026-11-14T06:12:00.000Z","outcome":{"result":"SUCCESS"},"actor":{"alternateId":"bob@example.jp"}}
{"eventType":"user.account.reset_password","published":"2026-11-14T06:13:00.000Z","outcome":{"result":"SUCCESS"},"actor":{"alternateId":"bob@example.jp"}}
"#,
    ),
    (
        "windows-security",
        r#"{"@timestamp":"2026-11-14T06:20:00.123Z","winlog":{"computer_name":"DC01.corp.example","event_id":"4625","event_data":{"TargetUserName":"svc_backup","Status":"0xc0000234","SubStatus":"0x0","LogonType":"10","IpAddress":"192.0.2.10","IpPort":"51234","WorkstationName":"KALI","AuthenticationPackageName":"NTLM"}}}
{"EventID":4740,"@timestamp":"2026-11-14T06:21:00Z","TargetUserName":"alice","Hostname":"DC01"}
{"EventID":4624,"@timestamp":"2026-11-14T06:22:00Z","TargetUserName":"bob","IpAddress":"::1","LogonType":"3","AuthenticationPackageName":"Kerberos"}
"#,
    ),
    (
        "cloudtrail",
        r#"{"userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root"},"eventTime":"2026-11-14T06:30:00Z","eventName":"CheckMfa","sourceIPAddress":"203.0.113.50","responseElements":{"CheckMfa":"Failure"}}
{"userIdentity":{"type":"IAMUser","userName":"HIDDEN_DUE_TO_SECURITY_REASONS"},"eventTime":"2026-11-14T06:31:00Z","eventName":"ConsoleLogin","sourceIPAddress":"203.0.113.50","userAgent":"Mozilla/5.0","errorMessage":"No username found in supplied account","responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No"}}
"#,
    ),
    (
        "entra-signin",
        r#"{"createdDateTime":"2026-11-14T06:40:00Z","userPrincipalName":"AdeleV@contoso.com","appDisplayName":"Graph Explorer","ipAddress":"203.0.113.77","clientAppUsed":"Browser","status":{"errorCode":50074},"deviceDetail":{"deviceId":"dev-1"}}
"#,
    ),
];

/// Runs `parse` with `extra` arguments over the whole corpus, in a directory
/// with GeoIP databases, an IP list and an inventory (`--config`), and
/// returns every event printed.
fn parse_corpus(extra: &[&str]) -> Vec<Value> {
    let dir = crate::enrich::cli::config_dir();
    let d = dir.path();
    std::fs::write(d.join("corpus.log"), AUTH_LOG).unwrap();
    // An admin with a group, so `user.roles` and `user.group.name` appear.
    std::fs::write(
        d.join("accounts.csv"),
        "user,email,display_name,status,admin,groups\n\
         alice,alice@example.jp,Alice Abe,active,yes,sales\n\
         bob,bob@example.jp,Bob Ban,suspended,no,dev\n",
    )
    .unwrap();
    let mut inputs = vec![("sshd", "corpus.log".to_string())];
    for (format, text) in JSON_LOGS {
        let name = format!("{format}.jsonl");
        std::fs::write(d.join(&name), text).unwrap();
        inputs.push((format, name));
    }
    let mut events = Vec::new();
    for (format, file) in inputs
        .iter()
        .chain([("sshd", "auth.log".to_string())].iter())
    {
        let text = parse(d, format, file, extra);
        let n = text.lines().count();
        assert!(n > 0, "{format}: no events");
        events.extend(
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
    }
    events
}

/// `loginwatch parse` of one file in `dir`, its stdout.
fn parse(dir: &Path, format: &str, file: &str, extra: &[&str]) -> String {
    let out = lw()
        .current_dir(dir)
        .args([
            "parse",
            "--tz",
            "UTC",
            "--year",
            "2026",
            "--config",
            "loginwatch.toml",
        ])
        .args(["--format", format])
        .args(extra)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{format}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A fixture from `tests/fixtures`.
fn fixture(path: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}
