//! Agreement with the Loghub OpenSSH templates: every template line parsed as
//! its template says, in the context of the lines around it.

use super::*;

/// Loghub's ground truth (EventId of each line) mapped to what one attempt
/// should produce on that line; `Once` and `Failed` depend on the pid's earlier
/// lines (see [`loghub_context`]). pam_unix failures are `None`: they are
/// counted on the `Failed` line that follows.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Failure,
    Success,
    None,
    /// A failure unless this pid already counted one (an end, a summary).
    Once,
    /// `Failed ...`: a failure, unless it echoes the pid's `Invalid user`.
    Failed,
}

const LOGHUB_TEMPLATES: &[(&str, Want)] = &[
    ("E1", Want::Success),  // Accepted password for <*> from <*> port <*> ssh2
    ("E2", Want::Once),     // Connection closed by <*> [preauth]
    ("E3", Want::Once),     // Did not receive identification string from <*>
    ("E4", Want::Once),     // Disconnecting: Too many authentication failures for admin [preauth]
    ("E5", Want::Once),     // Disconnecting: Too many authentication failures for root [preauth]
    ("E6", Want::Once),     // error: Received disconnect ... JSchException: Auth fail [preauth]
    ("E7", Want::Once), // error: Received disconnect ... No more user authentication methods [preauth]
    ("E8", Want::None), // Failed none for invalid user <*> (the method probe)
    ("E9", Want::Failed), // Failed password for <*> from <*> port <*> ssh2
    ("E10", Want::Failed), // Failed password for invalid user <*> from <*> port <*> ssh2
    ("E11", Want::Once), // fatal: Write failed: Connection reset by peer [preauth]
    ("E12", Want::None), // input_userauth_request: invalid user <*> [preauth]
    ("E13", Want::Failure), // Invalid user <*> from <*>
    ("E14", Want::Failed), // message repeated <*> times: [ Failed password for root ...]
    ("E15", Want::Once), // PAM <*> more authentication failure; ...
    ("E16", Want::Once), // PAM <*> more authentication failures; ...
    ("E17", Want::Once), // PAM <*> more authentication failures; ... user=root
    ("E18", Want::None), // PAM service(sshd) ignoring max retries
    ("E19", Want::None), // pam_unix(sshd:auth): authentication failure (held)
    ("E20", Want::None), // pam_unix(sshd:auth): authentication failure ... user= (held)
    ("E21", Want::None), // pam_unix(sshd:auth): check pass; user unknown
    ("E22", Want::None), // session closed
    ("E23", Want::None), // session opened
    ("E24", Want::Once), // Received disconnect from <*>: <*>: Bye Bye [preauth]
    ("E25", Want::Once), // Received disconnect ...: Closed due to user request. [preauth]
    ("E26", Want::None), // Received disconnect ...: disconnected by user (after a session)
    ("E27", Want::None), // reverse mapping checking getaddrinfo ... POSSIBLE BREAK-IN ATTEMPT!
];

/// Resolves `Once`/`Failed` from the ground truth alone: per pid, whether a
/// failure was already counted, and whether an `Invalid user` awaits its
/// `Failed` echo.
fn loghub_context(rows: &[(String, Want)]) -> Vec<bool> {
    use std::collections::HashMap;
    #[derive(Default)]
    struct Pid {
        counted: bool,
        awaiting: bool,
        success: bool,
    }
    let mut pids: HashMap<&str, Pid> = HashMap::new();
    rows.iter()
        .map(|(pid, want)| {
            let p = pids.entry(pid.as_str()).or_default();
            match want {
                Want::Failure => {
                    p.counted = true;
                    p.awaiting = true;
                    true
                }
                Want::Success => {
                    p.success = true;
                    false
                }
                Want::None => false,
                Want::Failed if p.awaiting => {
                    p.awaiting = false;
                    false
                }
                Want::Failed => {
                    p.counted = true;
                    true
                }
                Want::Once => {
                    let fail = !p.counted && !p.success;
                    p.counted = true;
                    fail
                }
            }
        })
        .collect()
}

/// Loghub OpenSSH_2k: every line's ground-truth template, through the table
/// and the per-pid context above, against the parser's event for that line.
#[test]
fn loghub_openssh_agreement() {
    let Some(data) = shared_data("loghub_openssh_agreement") else {
        return;
    };
    let dir = data.join("loghub/OpenSSH");
    let csv = std::fs::read_to_string(dir.join("OpenSSH_2k.log_structured.csv")).unwrap();
    // LineId,Date,Day,Time,Component,Pid,Content,EventId,EventTemplate; Content
    // may be quoted, so the EventId is found from the right.
    let row =
        Regex::new(r#"^(\d+),\w+,\d+,[\d:]+,[^,]*,(\d+),.*,(E\d+),(?:"[^"]*"|[^,]*)$"#).unwrap();
    let mut rows = vec![];
    for l in csv.lines().skip(1) {
        let c = row.captures(l).unwrap_or_else(|| panic!("csv row {l}"));
        let want = LOGHUB_TEMPLATES
            .iter()
            .find(|(id, _)| *id == &c[3])
            .unwrap_or_else(|| panic!("template {} not in the table", &c[3]))
            .1;
        rows.push((c[2].to_string(), want, c[3].to_string()));
    }
    let ctx: Vec<(String, Want)> = rows.iter().map(|(p, w, _)| (p.clone(), *w)).collect();
    let fail = loghub_context(&ctx);
    let opts = ParseOptions::at(Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap());
    let lines = run(&dir.join("OpenSSH_2k.log"), &opts);
    assert_eq!(lines.len(), rows.len());
    let (mut agree, mut bad) = (0, 0);
    for (i, (n, raw, ev)) in lines.iter().enumerate() {
        let (_, want, id) = &rows[i];
        let got_fail = ev.as_ref().is_some_and(|e| e.is_failure());
        let got_ok = ev.as_ref().is_some_and(|e| e.is_success());
        let ok = got_fail == fail[i] && got_ok == (*want == Want::Success);
        if ok {
            agree += 1;
        } else {
            bad += 1;
            println!(
                "DISAGREE {n} {id} want fail={} got {ev:?}\n  {}",
                fail[i],
                String::from_utf8_lossy(raw)
            );
        }
    }
    let failures = fail.iter().filter(|f| **f).count();
    println!("loghub: {failures} failure events expected");
    table("loghub OpenSSH_2k", lines.len(), agree, 0, bad);
    assert_eq!(bad, 0);
}
