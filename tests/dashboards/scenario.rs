//! The deterministic scenario the dashboards test feeds the daemon: lines for
//! every rule the shipped rules have (the sweep rules need only the inventory
//! of `setup.rs`), a few unparsable lines, and the steady trickle
//! that keeps the attack (and the failing sink's retries) going while Prometheus
//! watches. Lines are stamped around the wall clock because the daemon works in
//! event time and the windows must line up with the live alerts.

use chrono::{DateTime, Duration, SecondsFormat, Utc};

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn sshd(t: DateTime<Utc>, pid: u32, msg: &str) -> String {
    format!("{} web1 sshd[{pid}]: {msg}", ts(t))
}

fn ecs(
    t: DateTime<Utc>,
    action: &str,
    outcome: &str,
    reason: &str,
    user: &str,
    ip: &str,
) -> String {
    let reason = if reason.is_empty() {
        String::new()
    } else {
        format!(", \"reason\": \"{reason}\"")
    };
    format!(
        "{{\"@timestamp\": \"{}\", \"event\": {{\"action\": \"{action}\", \"outcome\": \"{outcome}\"{reason}}}, \
         \"user\": {{\"name\": \"{user}\"}}, \"source\": {{\"ip\": \"{ip}\"}}, \"service\": {{\"name\": \"idp\"}}}}",
        ts(t)
    )
}

/// A successful ECS login from `device` (`device.id`), for the new-device rule.
fn ecs_device(t: DateTime<Utc>, user: &str, ip: &str, device: &str) -> String {
    format!(
        "{{\"@timestamp\": \"{}\", \"event\": {{\"action\": \"login\", \"outcome\": \"success\"}}, \
         \"user\": {{\"name\": \"{user}\"}}, \"source\": {{\"ip\": \"{ip}\"}}, \"device\": {{\"id\": \"{device}\"}}, \
         \"service\": {{\"name\": \"idp\"}}}}",
        ts(t)
    )
}

/// Five bad passwords for `user` from `ip`: one account lockout.
pub fn lockout(now: DateTime<Utc>, user: &str, ip: &str, pid: u32) -> Vec<String> {
    (0..5)
        .map(|i| {
            sshd(
                now,
                pid + i,
                &format!(
                    "Failed password for {user} from {ip} port {} ssh2",
                    40000 + i
                ),
            )
        })
        .collect()
}

/// History the idp source starts with, longer than the novelty rules' quiet
/// week: `olivia` has logged in from Japan (the GeoIP databases the test writes
/// put 192.0.2.0/24 in Tokyo, AS64500, and 2001:db8::/32 in Sweden, AS64511),
/// and `victor` from Japan on his laptop.
pub fn idp_history(now: DateTime<Utc>) -> Vec<String> {
    let mut out = Vec::new();
    for d in 0..3 {
        let t = now - Duration::days(10 - d);
        out.push(ecs(t, "login", "success", "", "olivia", "192.0.2.10"));
        out.push(ecs_device(t, "victor", "192.0.2.20", "laptop-victor"));
    }
    out
}

/// The attack burst of the sshd source, appended once Prometheus watches.
pub fn auth_burst(now: DateTime<Utc>) -> Vec<String> {
    let mut out = Vec::new();
    let mut pid = 1000;
    // A lockout storm: 25 accounts, each from its own address (account-lockout,
    // more than the storm breaker's 20; more than the lowered max_keys, so
    // account-lockout evicts keys).
    for i in 0..25 {
        out.extend(lockout(
            now,
            &format!("staff{i:02}"),
            &format!("198.51.100.{}", 10 + i),
            pid,
        ));
        pid += 10;
    }
    // Password spray: one address, ten users.
    for (i, u) in [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
    ]
    .iter()
    .enumerate()
    {
        out.push(sshd(
            now,
            pid + i as u32,
            &format!("Failed password for {u} from 203.0.113.7 port 5100{i} ssh2"),
        ));
    }
    pid += 10;
    // IP brute force: 20 failures from one address on one account, spread so no
    // five are consecutive for a single user (that would be a lockout).
    for i in 0..20 {
        let user = ["root", "admin", "oracle", "test"][i % 4];
        out.push(sshd(
            now,
            pid + i as u32,
            &format!("Failed password for {user} from 203.0.113.20 port 5200{i} ssh2"),
        ));
    }
    pid += 20;
    // Distributed brute force: one account, five addresses.
    for i in 0..5 {
        out.push(sshd(
            now,
            pid + i,
            &format!(
                "Failed password for payroll from 192.0.2.{} port 5300{i} ssh2",
                50 + i
            ),
        ));
    }
    pid += 5;
    // Success after failures.
    for i in 0..5 {
        out.push(sshd(
            now,
            pid + i,
            &format!("Failed password for mallet from 203.0.113.30 port 5400{i} ssh2"),
        ));
    }
    out.push(sshd(
        now,
        pid + 5,
        "Accepted password for mallet from 203.0.113.30 port 54009 ssh2",
    ));
    pid += 6;
    // Three bad passwords on an account only the inventory says is suspended
    // (disabled-account-attempts through the inventory, not the log's word).
    for i in 0..3 {
        out.push(sshd(
            now,
            pid + 10 + i,
            &format!("Failed password for sam from 198.51.100.60 port 5600{i} ssh2"),
        ));
    }
    // User enumeration: ten unknown users from one address.
    for i in 0..10 {
        out.push(sshd(
            now,
            pid + i,
            &format!("Invalid user ghost{i} from 203.0.113.40 port 5500{i}"),
        ));
    }
    // Lines nobody can parse (fewer than 5% of the burst: the unparsed-ratio
    // alert must stay quiet).
    out.push("this is not a syslog line".into());
    out.push(format!("{} web1 sshd[1]: garbled \u{1}", ts(now)));
    out.push("{\"half\": ".into());
    out
}

/// The attack burst of the idp (ECS JSON) source: MFA failures and fatigue,
/// a disabled account, expired password, impossible travel, a new country and
/// network (olivia), a new device (victor) and a dormant account back (dora).
pub fn idp_burst(now: DateTime<Utc>) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..5 {
        out.push(ecs(
            now,
            "mfa",
            "failure",
            "mfa_failed",
            "heidi",
            "198.51.100.4",
        ));
    }
    out.push(ecs(now, "login", "success", "", "heidi", "198.51.100.4"));
    for _ in 0..3 {
        out.push(ecs(
            now,
            "login",
            "failure",
            "disabled",
            "mallory",
            "203.0.113.9",
        ));
    }
    out.push(ecs(
        now,
        "login",
        "failure",
        "expired_password",
        "trent",
        "198.51.100.5",
    ));
    out.push(ecs(
        now - Duration::minutes(30),
        "login",
        "success",
        "",
        "olivia",
        "192.0.2.10",
    ));
    out.push(ecs(now, "login", "success", "", "olivia", "2001:db8::7"));
    out.push(ecs_device(now, "victor", "192.0.2.20", "phone-unknown"));
    out.push(ecs(now, "login", "success", "", "dora", "198.51.100.6"));
    out
}

/// One second of trickle: 20 bad passwords from a fresh address on the sshd
/// source (an ip-bruteforce block: a new alert for the failing sink, so its
/// retries never pause; the lockout they also make is held by the burst's
/// lockout storm, without an alert) and a quiet success on idp.
pub fn trickle(now: DateTime<Utc>, n: u32) -> (Vec<String>, Vec<String>) {
    let (user, ip) = (
        format!("late{n:03}"),
        format!("198.51.100.{}", 100 + n % 100),
    );
    let auth = (0..4)
        .flat_map(|k| lockout(now, &user, &ip, 20000 + n * 40 + k * 10))
        .collect();
    let idp = vec![ecs(now, "login", "success", "", "olivia", "192.0.2.10")];
    (auth, idp)
}
