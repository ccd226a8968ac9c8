//! Issue 15, first step: the helpdesk page against the real daemon over
//! HTTP. Sign-in, sessions, CSRF, the security headers, the tolerant search,
//! a hostile name shown as text, Japanese from `Accept-Language`, and an
//! unlock with a reason that ends the lock and is audited like the API's.

mod account;

use std::time::Duration;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use crate::util::daemon::{Daemon, TOKEN, append, setup};
use crate::util::http::{self, Reply};
use crate::util::wait_for;

/// Names an attacker types: markup, ANSI colours, a right-to-left override.
const HOSTILE: [&str; 3] = [
    "<script>alert(1)</script>",
    "\x1b[31mred\x1b[0m",
    "eve\u{202e}nilam",
];

/// An sshd line stamped `secs_ago` seconds before now.
pub(crate) fn line(secs_ago: i64, pid: u32, msg: &str) -> String {
    let t = (chrono::Utc::now() - chrono::Duration::seconds(secs_ago)).to_rfc3339();
    format!("{t} web1 sshd[{pid}]: {msg}")
}

/// alice logs in from her desk (192.0.2.30), then mistypes her ID
/// (full-width) once and her password five times from the same desk: a lock
/// the assessment calls her own typos.
pub(crate) fn alice_typos() -> Vec<String> {
    let mut lines = vec![line(
        900,
        100,
        "Accepted password for alice from 192.0.2.30 port 50000 ssh2",
    )];
    lines.push(line(
        300,
        101,
        "Invalid user ａｌｉｃｅ from 192.0.2.30 port 50001",
    ));
    lines.push(line(
        300,
        101,
        "Failed password for invalid user ａｌｉｃｅ from 192.0.2.30 port 50001 ssh2",
    ));
    for i in 0..5u32 {
        lines.push(line(
            120,
            200 + i,
            &format!(
                "Failed password for alice from 192.0.2.30 port {} ssh2",
                51000 + i
            ),
        ));
    }
    lines
}

/// `k=v&...` percent-encoded, as a browser sends a form.
fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `html` with the `&#x2f;` the template engine writes for `/` in values
/// (HTML-escaped the way it escapes everything) read back as `/`.
fn unslash(html: &str) -> String {
    html.replace("&#x2f;", "/")
}

fn header<'a>(r: &'a Reply, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// A browser with a session cookie.
struct Browser<'a> {
    d: &'a Daemon,
    cookie: String,
}

impl Browser<'_> {
    fn get(&self, path: &str) -> http::Req {
        http::get(self.d.url(path))
            .header("cookie", &self.cookie)
            .no_redirects()
    }

    fn post(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let origin = self.d.url("");
        http::post(self.d.url(path))
            .header("cookie", &self.cookie)
            .header("origin", &origin)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(fields))
            .no_redirects()
            .send()
    }
}

/// Signs in as `by` through the sign-in form (its CSRF cookie and field).
fn sign_in(d: &Daemon, token: &str, by: &str) -> Reply {
    let page = http::get(d.url("/ui/login")).send();
    let cookie = header(&page, "set-cookie");
    assert!(cookie.starts_with("lw_login="), "{cookie}");
    http::post(d.url("/ui/login"))
        .header("cookie", cookie.split(';').next().unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("by", by),
            ("token", token),
            ("csrf", &csrf_of(&page.body)),
        ]))
        .no_redirects()
        .send()
}

/// The value of the first `name="csrf"` field of a page.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..].split('"').next().unwrap().to_owned()
}

/// The first unlock form's action.
fn unlock_action(html: &str) -> String {
    let at = html
        .find("action=\"/ui/decisions/")
        .expect("an unlock form")
        + 8;
    html[at..].split('"').next().unwrap().to_owned()
}

fn assert_security_headers(r: &Reply, what: &str) {
    let csp = header(r, "content-security-policy");
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(part), "{what}: CSP {csp:?} lacks {part}");
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(header(r, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header(r, "referrer-policy"), "no-referrer", "{what}");
    assert_eq!(header(r, "cache-control"), "no-store", "{what}");
}

#[test]
fn the_helpdesk_page_signs_in_finds_alice_shows_why_and_unlocks_with_an_audit() {
    let dir = setup("30m");
    let log = dir.path().join("auth.log");
    let d = Daemon::start(dir.path());
    // alice's own typos; attackers' names are locked too.
    let mut lines = alice_typos();
    for (n, name) in HOSTILE.iter().enumerate() {
        for i in 0..5u32 {
            lines.push(line(
                60,
                300 + 10 * n as u32 + i,
                &format!(
                    "Failed password for {name} from 203.0.113.9 port {} ssh2",
                    52000 + i
                ),
            ));
        }
    }
    append(&log, &lines);
    wait_for("the four locks", Duration::from_secs(30), || {
        (d.decisions(true).len() >= 4).then_some(())
    });

    // Without a session: the sign-in page, never data.
    for path in ["/ui/", "/ui/?q=alice", "/ui/accounts/alice"] {
        for cookie in ["", "lw_session=0123456789abcdef"] {
            let r = http::get(d.url(path))
                .header("cookie", cookie)
                .no_redirects()
                .send();
            assert_eq!(r.status, 303, "{path} {cookie:?}");
            assert_eq!(header(&r, "location"), "/ui/login", "{path}");
            assert!(!r.body.contains("alice"), "{path}: {}", r.body);
            assert_security_headers(&r, path);
        }
    }
    let ids: Vec<String> = d
        .decisions(true)
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect();
    for path in [
        format!("/ui/decisions/{}/unlock", ids[0]),
        "/ui/logout".into(),
    ] {
        let r = http::post(d.url(&path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("csrf", "x"), ("reason", "no session")]))
            .no_redirects()
            .send();
        assert_eq!(r.status, 401, "{path}");
    }
    assert_eq!(d.decisions(true).len(), 4, "nothing was unlocked");
    let login = http::get(d.url("/ui/login")).send();
    assert_eq!(login.status, 200);
    assert_security_headers(&login, "/ui/login");
    assert!(login.body.contains("name=\"token\""));
    let css = http::get(d.url("/ui/static/ui.css")).send();
    assert_eq!(css.status, 200);
    assert!(header(&css, "content-type").starts_with("text/css"));
    let misdirected = http::get(d.url("/ui/login"))
        .header("host", "attacker.example")
        .send();
    assert_eq!(misdirected.status, 421, "DNS rebinding: a foreign Host");

    // A sign-in without the form's own token is refused (login CSRF), the
    // right admin token or not.
    for cookie in ["", "lw_login=abc"] {
        let r = http::post(d.url("/ui/login"))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("by", "mallory"),
                ("token", TOKEN),
                ("csrf", "abd"),
            ]))
            .no_redirects()
            .send();
        assert_eq!(r.status, 403, "{cookie:?}");
        assert!(!header(&r, "set-cookie").contains("lw_session"));
    }
    // A wrong token (or no name) signs nobody in.
    for (token, by) in [("wrong", "dana"), ("", "dana"), (TOKEN, "")] {
        let r = sign_in(&d, token, by);
        assert_eq!(r.status, 401, "{token:?} {by:?}");
        assert!(!header(&r, "set-cookie").contains("lw_session"));
    }
    let r = sign_in(&d, TOKEN, "dana");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(header(&r, "location"), "/ui/");
    let set = header(&r, "set-cookie").to_owned();
    for part in [
        "lw_session=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/ui",
        "Max-Age=",
    ] {
        assert!(set.contains(part), "{set} lacks {part}");
    }
    assert!(
        !set.contains("Secure"),
        "a plain HTTP listener, no TLS proxy said: {set}"
    );
    let b = Browser {
        d: &d,
        cookie: set.split(';').next().unwrap().to_owned(),
    };

    // The list: the locks newest first, each assessed; hostile names as text.
    let index = b.get("/ui/").send();
    assert_eq!(index.status, 200);
    assert_security_headers(&index, "/ui/");
    let html = &index.body;
    assert!(unslash(html).contains("/ui/accounts/alice"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script"), "no markup from a user name");
    assert!(!html.contains('\x1b') && !html.contains('\u{202e}'));
    assert!(html.contains("\\u{1b}[31mred") && html.contains("eve\\u{202e}nilam"));
    assert!(
        !html.contains("style=") && !html.contains("onclick"),
        "no inline style or script"
    );
    let attack = unslash(&b.get("/ui/?assessment=attack").send().body);
    let user_error = unslash(&b.get("/ui/?assessment=user_error").send().body);
    assert!(user_error.contains("/ui/accounts/alice"), "{user_error}");
    assert!(!attack.contains("/ui/accounts/alice"), "{attack}");
    assert!(user_error.contains("User error"));

    // The tolerant search.
    for q in ["ａｌｉｃｅ", "Alice", "a1ice", "alice"] {
        let r = b.get("/ui/").query(&[("q", q)]).send();
        assert_eq!(r.status, 200, "{q}");
        assert!(
            unslash(&r.body).contains("<li><a href=\"/ui/accounts/alice\">alice</a></li>"),
            "{q}: {}",
            r.body
        );
    }
    let none = b.get("/ui/").query(&[("q", "zzzzzz")]).send().body;
    assert!(none.contains("No account by that name"), "{none}");

    // The account in Japanese (the browser's language): why, the next step.
    let ja = b
        .get("/ui/accounts/alice")
        .header("accept-language", "ja,en;q=0.5")
        .send();
    assert_eq!(ja.status, 200);
    assert!(ja.body.contains("<html lang=\"ja\">"));
    assert!(ja.body.contains("次の対応"), "{}", ja.body);
    assert!(ja.body.contains("ロック"), "{}", ja.body);
    assert!(
        ja.body.contains("ユーザーの入力ミス"),
        "the lock assessed: {}",
        ja.body
    );
    // `?lang=en` switches and is remembered.
    let en = b
        .get("/ui/accounts/alice?lang=en")
        .header("accept-language", "ja")
        .send();
    assert!(en.body.contains("Next step"), "{}", en.body);
    assert!(header(&en, "set-cookie").starts_with("lw_lang=en"));

    // The unlock: CSRF first, then a reason, then done and audited.
    let csrf = csrf_of(&en.body);
    let action = unlock_action(&unslash(&en.body));
    let id = action
        .trim_start_matches("/ui/decisions/")
        .trim_end_matches("/unlock")
        .to_owned();
    for (token, what) in [("", "missing"), ("0".repeat(64).as_str(), "wrong")] {
        let r = b.post(&action, &[("csrf", token), ("reason", "called in")]);
        assert_eq!(r.status, 403, "CSRF {what}");
    }
    let cross = http::post(d.url(&action))
        .header("cookie", &b.cookie)
        .header("origin", "http://attacker.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("csrf", &csrf), ("reason", "x")]))
        .no_redirects()
        .send();
    assert_eq!(cross.status, 403, "a cross-site post");
    let r = b.post(&action, &[("csrf", &csrf), ("reason", "  ")]);
    assert_eq!(r.status, 400, "a reason is required");
    assert!(
        d.decisions(true).iter().any(|x| x["id"] == id.as_str()),
        "still locked"
    );
    let r = b.post(
        &action,
        &[("csrf", &csrf), ("reason", "called the helpdesk, typo")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        header(&r, "location"),
        format!("/ui/accounts/alice?unlocked={id}")
    );
    assert!(
        !d.decisions(true).iter().any(|x| x["id"] == id.as_str()),
        "unlocked"
    );
    let detail = d.get(&format!("/api/v1/decisions/{id}"));
    assert_eq!(detail["decision"]["status"], "unlocked");
    let audit = detail["audit"].as_array().unwrap();
    let entry = audit
        .iter()
        .find(|e| e["what"] == "unlocked")
        .expect("an audit entry");
    assert_eq!(entry["who"], "dana", "{entry}");
    assert_eq!(entry["credential"], "ui:token:config", "{entry}");
    assert!(
        entry["detail"]
            .as_str()
            .unwrap()
            .contains("called the helpdesk, typo"),
        "{entry}"
    );
    let page = b
        .get(&format!("/ui/accounts/alice?unlocked={id}&lang=en"))
        .send()
        .body;
    assert!(page.contains("Unlocked."), "{page}");
    assert!(
        page.contains("Audit trail"),
        "the unlock's trail is shown: {page}"
    );
    assert!(page.contains("called the helpdesk, typo") && page.contains("ui:token:config"));
    // Another account's decision id shows nothing of it.
    let other = d
        .decisions(true)
        .into_iter()
        .find(|x| x["target"]["user"] != "alice")
        .unwrap();
    let elsewhere = b
        .get(&format!(
            "/ui/accounts/alice?unlocked={}",
            other["id"].as_str().unwrap()
        ))
        .send()
        .body;
    assert!(!elsewhere.contains("Audit trail") && !elsewhere.contains("Unlocked."));
    let list = unslash(&b.get("/ui/").send().body);
    assert!(!list.contains("/ui/accounts/alice\""), "gone from the list");
    let again = b.post(&action, &[("csrf", &csrf), ("reason", "twice")]);
    assert_eq!(again.status, 409);

    // Sign-out ends the session.
    assert_eq!(b.post("/ui/logout", &[("csrf", "nope")]).status, 403);
    let out = b.post("/ui/logout", &[("csrf", &csrf)]);
    assert_eq!(out.status, 303);
    assert!(header(&out, "set-cookie").contains("Max-Age=0"));
    assert_eq!(b.get("/ui/").send().status, 303, "the old cookie is dead");
}

/// Behind an HTTPS proxy (`[ui] secure_cookies = true`) both the sign-in
/// form's cookie and the session's are `Secure`.
#[test]
fn cookies_are_secure_when_the_page_is_served_through_tls() {
    let dir = setup("30m");
    let config = dir.path().join("loginwatch.toml");
    let text = std::fs::read_to_string(&config).unwrap() + "[ui]\nsecure_cookies = true\n";
    std::fs::write(&config, text).unwrap();
    let d = Daemon::start(dir.path());
    let page = http::get(d.url("/ui/login")).send();
    let login = header(&page, "set-cookie");
    assert!(
        login.starts_with("lw_login=") && login.contains("; Secure"),
        "{login}"
    );
    let r = sign_in(&d, TOKEN, "dana");
    assert_eq!(r.status, 303, "{}", r.body);
    let set = header(&r, "set-cookie");
    assert!(
        set.contains("lw_session=") && set.contains("; Secure"),
        "{set}"
    );
}
