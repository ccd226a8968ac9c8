//! `replay --json | alerts preview` through the real binary, on a generated log
//! and on the helpdesk scenarios.

use super::*;

/// `replay --json` of a lockout followed by a successful sign-in.
fn replay_json() -> String {
    let mut log = String::new();
    for i in 0..7 {
        log.push_str(&format!(
            "Nov 14 06:25:0{i} web1 sshd[10{i}]: Failed password for alice from 203.0.113.9 port 4242 ssh2\n"
        ));
    }
    log.push_str("Nov 14 06:26:00 web1 sshd[200]: Accepted password for alice from 203.0.113.9 port 4242 ssh2\n");
    let out = lw()
        .args([
            "replay", "--json", "--tz", "UTC", "--year", "2026", "--rules",
        ])
        .arg(repo().join("rules"))
        .arg("-")
        .write_stdin(log)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn replay_json_into_alerts_preview_for_every_format() {
    let decisions = replay_json();
    assert!(decisions.contains("\"account-lockout\""), "{decisions}");
    for format in [
        "text",
        "email",
        "slack",
        "teams",
        "lineworks",
        "alertmanager",
        "webhook",
        "json",
    ] {
        for lang in ["en", "ja"] {
            let out = lw()
                .args(["alerts", "preview", "--tz", "Asia/Tokyo"])
                .args(["--format", format, "--language", lang])
                .write_stdin(decisions.clone())
                .output()
                .unwrap();
            let stdout = String::from_utf8(out.stdout).unwrap();
            assert!(
                out.status.success(),
                "{format} {lang}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(stdout.contains("account-lockout"), "{format}: {stdout}");
            assert!(stdout.contains("JST"), "{format}: {stdout}");
            // alice has no success on record before the lock: unclear, worded in
            // the alert's language, the reason read back in English.
            if format == "text" {
                let word = if lang == "ja" {
                    "判断できません"
                } else {
                    "Unclear"
                };
                assert!(stdout.contains(word), "{lang}: {stdout}");
                assert!(stdout.contains("No successful login of alice"), "{stdout}");
            }
            if !matches!(format, "text" | "email") {
                let lines: Vec<&str> = stdout.lines().collect();
                assert_eq!(lines.len(), 2, "{format}: one per decision:\n{stdout}");
                for l in lines {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    if format == "alertmanager" {
                        assert!(v[0]["labels"]["alertname"] == "loginwatch", "{v}");
                    }
                }
            }
        }
    }
}

#[test]
fn preview_rejects_a_bad_line_naming_it() {
    let input = format!("{}not json\n", replay_json());
    let out = lw()
        .args(["alerts", "preview"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 4"), "{stderr}");
    let out = lw()
        .args(["alerts", "preview", "--format", "pager"])
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `alerts preview` of a golden scenario's decisions (its `expected.jsonl`).
fn preview_scenario(name: &str, format: &str, lang: &str) -> String {
    let decisions = std::fs::read_to_string(
        repo()
            .join("tests/scenarios")
            .join(name)
            .join("expected.jsonl"),
    )
    .unwrap();
    let out = lw()
        .args(["alerts", "preview", "--tz", "Asia/Tokyo"])
        .args(["--format", format, "--language", lang])
        .write_stdin(decisions)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn preview_of_the_helpdesk_scenarios_tells_a_typo_from_an_attack() {
    // lena mistyped from her own desk: the lock alert is the message to send her.
    let en = preview_scenario("helpdesk-lena-typos-from-her-desk", "text", "en");
    for want in [
        "Assessment: User error",
        "Every attempt came from 203.0.113.10, where lena has logged in successfully before",
        "Send the user this:",
        "Caps Lock",
        "The account unlocks by itself at 2026-11-14 18:34:10 JST",
        "no password reset is needed",
    ] {
        assert!(en.contains(want), "missing {want:?} in:\n{en}");
    }
    let ja = preview_scenario("helpdesk-lena-typos-from-her-desk", "text", "ja");
    for want in [
        "判定:       利用者のミス",
        "全角/半角・IME",
        "ログインID: 正しくは「lena」",
    ] {
        assert!(ja.contains(want), "missing {want:?} in:\n{ja}");
    }
    // mike was guessed from an address he never used: what to do about it.
    let en = preview_scenario("helpdesk-mike-guessed-from-new-address", "text", "en");
    for want in [
        "Assessment: Attack",
        "198.51.100.99 is an address mike has never logged in from.",
        "Keep the account locked",
        "Check the source address 198.51.100.99",
    ] {
        assert!(en.contains(want), "missing {want:?} in:\n{en}");
    }
    assert!(!en.contains("Caps Lock"), "{en}");
    let ja = preview_scenario("helpdesk-mike-guessed-from-new-address", "text", "ja");
    assert!(ja.contains("判定:       攻撃"), "{ja}");
    let am = preview_scenario(
        "helpdesk-mike-guessed-from-new-address",
        "alertmanager",
        "en",
    );
    for line in am.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v[0]["labels"]["assessment"], "attack", "{v}");
        let reason = v[0]["annotations"]["assessment_reason"].as_str().unwrap();
        assert!(reason.contains("never logged in from"), "{reason}");
    }
}
