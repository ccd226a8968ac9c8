//! Lines through formats declared in rule files (`[[format]]`): two regex
//! formats (one using every capture), a JSON mapping and a CSV format built on
//! a preset. The first byte picks the format.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use loginwatch::parse::Format;
use loginwatch::rules::RuleSet;
use loginwatch_fuzz::{json_strings, lossy, run_lines, shift_jis};

const FORMATS: &str = r#"
[[format]]
name = "radius"
kind = "regex"
pattern = '^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) radiusd: (?P<outcome>Login OK|Login incorrect)(?: \((?P<reason>[^)]+)\))?: \[(?P<user>[^\]]*)\] \(from client (?P<host>\S+) port \d+ cli (?P<ip>[^)]+)\)'
time_format = "%Y-%m-%d %H:%M:%S"
zone = "Asia/Tokyo"
service = "radius"
outcome_map = { "Login OK" = "success", "Login incorrect" = "failure" }
reason_map = { "rlm_pap*" = "bad_password", "No Auth-Type*" = "unknown_user" }

[[format]]
name = "every-capture"
kind = "regex"
pattern = '^(?P<time>\S+ +\S+ \S+) (?P<host>\S*) (?P<service>\w*) (?P<action>\w*) (?P<outcome>\w*) (?P<reason>\w*) (?P<method>\w*) user=(?P<user>\S*) ip=(?P<ip>\S*) port=(?P<port>\S*) device=(?P<device>\S*) ua=(?P<user_agent>.*)$'
time_format = "syslog"
outcome_map = { ok = "success", "fail*" = "failure" }
reason_map = { pw = "bad_password", nouser = "unknown_user" }
action_map = { in = "login", otp = "mfa" }

[[format]]
name = "myidp"
kind = "json"
time_format = "unix"
fields = { time = "ts", outcome = "ok", user = ["doer.name", "doer.email"], ip = ["remote", "ips[1]"], action = "op", port = "port", user_agent = "ua" }
outcome_map = { "true" = "success", "false" = "failure" }
action_map = { signin = "login", "2fa*" = "mfa" }
filter = { scope = "auth" }

[[format]]
name = "lineworks-2025"
kind = "csv"
preset = "lineworks-audit"
zone = "UTC"
csv = { columns = { user = ["Account"] } }
"#;

static DECLARED: LazyLock<Vec<Format>> = LazyLock::new(|| {
    let set = RuleSet::from_str(FORMATS, "fuzz.toml").expect("the fuzz formats compile");
    set.formats.iter().map(|d| d.format()).collect()
});

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let format = &DECLARED[usize::from(pick) % DECLARED.len()];
    let mut texts = json_strings(rest);
    texts.push(lossy(rest));
    texts.push(shift_jis(rest));
    run_lines(format, rest, &texts);
});
