//! The admin API and its CLI: routes through `tower::ServiceExt::oneshot` over an
//! in-memory backend, the CLI against a served router, configuration errors with
//! their lines, and `promtool check metrics` on the metrics output.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{TimeZone, Utc};
use http_body_util::BodyExt;
use loginwatch::account::AccountFacts;
use loginwatch::decision::{Decision, DecisionAction, Evidence, Mode, Severity, Target, Unlock};
use loginwatch::http::{
    AdminBackend, AdminToken, AppState, BackendError, Problem, Readiness, UnlockError, router,
};
use loginwatch::state::model::{AuditEntry, DecisionRecord, LockStatus};
use loginwatch::telemetry::Metrics;
use serde_json::{Value, json};
use tower::ServiceExt;

/// An in-memory stand-in for the daemon's store.
#[derive(Default)]
struct Fake {
    records: Mutex<Vec<(DecisionRecord, Vec<AuditEntry>)>>,
    problems: Vec<Problem>,
}

fn record(id: &str, user: &str, status: LockStatus) -> DecisionRecord {
    let at = Utc.with_ymd_and_hms(2025, 3, 1, 10, 0, 0).unwrap();
    DecisionRecord {
        decision: Decision {
            kind: "decision",
            id: id.to_owned(),
            rule: Arc::from("ssh-brute"),
            action: DecisionAction::LockAccount,
            target: Target::user(Arc::from(user)),
            at,
            until: Some(at + chrono::TimeDelta::minutes(30)),
            unlock: Unlock::Auto,
            severity: Severity::Medium,
            mode: Mode::Recommend,
            exempt: false,
            assessment: loginwatch::decision::Assessment::Unclear,
            why: Default::default(),
            evidence: Evidence {
                count: 5,
                first: at,
                last: at,
                source_ips: vec!["192.0.2.7".parse().unwrap()],
                users: vec![Arc::from(user)],
            },
        },
        status,
        ended_at: None,
        unlocked_by: None,
        unlock_reason: None,
    }
}

fn audit(id: &str, what: &str, who: &str) -> AuditEntry {
    AuditEntry {
        at: Utc.with_ymd_and_hms(2025, 3, 1, 10, 0, 0).unwrap(),
        decision_id: id.to_owned(),
        what: what.to_owned(),
        who: who.to_owned(),
        detail: String::new(),
        credential: None,
    }
}

impl Fake {
    fn with_two() -> Fake {
        let f = Fake::default();
        f.records.lock().unwrap().extend([
            (
                record("00000000000000aa", "alice", LockStatus::Active),
                vec![audit("00000000000000aa", "decided", "loginwatch")],
            ),
            (
                record("00000000000000bb", "bob", LockStatus::Expired),
                vec![],
            ),
        ]);
        f
    }
}

impl AdminBackend for Fake {
    fn decisions(&self, active_only: bool) -> Result<Vec<DecisionRecord>, BackendError> {
        let r = self.records.lock().unwrap();
        Ok(r.iter()
            .filter(|(d, _)| !active_only || d.status == LockStatus::Active)
            .map(|(d, _)| d.clone())
            .collect())
    }

    fn decision(
        &self,
        id: &str,
    ) -> Result<Option<(DecisionRecord, Vec<AuditEntry>)>, BackendError> {
        let r = self.records.lock().unwrap();
        Ok(r.iter().find(|(d, _)| d.decision.id == id).cloned())
    }

    fn unlock(
        &self,
        id: &str,
        by: &str,
        reason: &str,
        credential: &str,
    ) -> Result<DecisionRecord, UnlockError> {
        let mut r = self.records.lock().unwrap();
        let (d, trail) = r
            .iter_mut()
            .find(|(d, _)| d.decision.id == id)
            .ok_or(UnlockError::NotFound)?;
        if d.status != LockStatus::Active {
            return Err(UnlockError::NotActive(d.status));
        }
        d.status = LockStatus::Unlocked;
        d.unlocked_by = Some(by.to_owned());
        d.unlock_reason = Some(reason.to_owned());
        let mut line = audit(id, "unlocked", by);
        line.credential = Some(credential.to_owned());
        trail.push(line);
        Ok(d.clone())
    }

    fn account(
        &self,
        user: &str,
    ) -> Result<Option<(AccountFacts, Vec<DecisionRecord>)>, BackendError> {
        if user == "broken" {
            // A real SQLite I/O error; its message is "disk I/O error".
            let io = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR);
            return Err(BackendError::Store(
                rusqlite::Error::SqliteFailure(io, None).into(),
            ));
        }
        let active: Vec<DecisionRecord> = self
            .decisions(true)?
            .into_iter()
            .filter(|d| d.decision.target.user.as_deref() == Some(user))
            .collect();
        if user != "alice" && user != "bob" {
            return Ok(None);
        }
        let facts = AccountFacts {
            user: user.to_owned(),
            consecutive_failures: 5,
            ..AccountFacts::default()
        };
        Ok(Some((facts, active)))
    }

    fn readiness(&self) -> Readiness {
        Readiness {
            problems: self.problems.clone(),
        }
    }
}

const TOKEN: &str = "t0ken-for-tests";

/// The address the routed requests name in `Host`.
const LISTEN: &str = "127.0.0.1:9464";

fn state_on(fake: Fake, listen: std::net::SocketAddr) -> AppState {
    AppState::new(
        Arc::new(fake),
        Arc::new(Metrics::new()),
        AdminToken::configured(TOKEN),
        listen,
    )
}

fn state(fake: Fake) -> AppState {
    state_on(fake, LISTEN.parse().unwrap())
}

/// Sends one request through the router (naming [`LISTEN`] in `Host` unless
/// the request names a host); returns status, content type and body.
fn call(s: &AppState, mut req: Request<Body>) -> (StatusCode, String, Vec<u8>) {
    if !req.headers().contains_key(header::HOST) {
        req.headers_mut()
            .insert(header::HOST, header::HeaderValue::from_static(LISTEN));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = router(s.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let ct = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, ct, body)
    })
}

/// GET with the admin token.
fn get(s: &AppState, uri: &str) -> (StatusCode, Value) {
    let req = Request::get(uri)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let (st, ct, body) = call(s, req);
    assert!(ct.starts_with("application/json"), "{uri}: {ct}");
    (st, serde_json::from_slice(&body).unwrap())
}

fn post_unlock(s: &AppState, id: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
    let mut b = Request::post(format!("/api/v1/decisions/{id}/unlock"))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let (st, _, body) = call(s, b.body(Body::from(body.to_string())).unwrap());
    (st, serde_json::from_slice(&body).unwrap())
}

#[test]
fn health_metrics_and_readiness() {
    let s = state(Fake::with_two());
    let (st, _, body) = call(&s, Request::get("/healthz").body(Body::empty()).unwrap());
    assert_eq!((st, body.as_slice()), (StatusCode::OK, &b"ok"[..]));
    let (st, ct, body) = call(&s, Request::get("/metrics").body(Body::empty()).unwrap());
    assert_eq!(st, StatusCode::OK);
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("loginwatch_build_info{version=")
    );
    let (st, v) = get(&s, "/readyz");
    assert_eq!((st, v["ready"].clone()), (StatusCode::OK, json!(true)));

    let fake = Fake {
        problems: vec![
            Problem::Source {
                name: "auth.log".into(),
                message: "permission denied: add the user to group adm".into(),
            },
            Problem::State {
                message: "read-only file system".into(),
            },
        ],
        ..Fake::default()
    };
    let (st, v) = get(&state(fake), "/readyz");
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v["ready"], json!(false));
    assert_eq!(v["problems"][0]["component"], "source");
    assert_eq!(v["problems"][0]["name"], "auth.log");
    assert_eq!(v["problems"][1]["component"], "state");
}

#[test]
fn decisions_are_listed_and_shown_with_their_audit_trail() {
    let s = state(Fake::with_two());
    let (st, v) = get(&s, "/api/v1/decisions");
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["decisions"].as_array().unwrap().len(), 2);
    let (_, v) = get(&s, "/api/v1/decisions?active=true");
    let list = v["decisions"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], "00000000000000aa");
    assert_eq!(list[0]["status"], "active");
    assert_eq!(list[0]["target"]["user"], "alice");
    let (st, v) = get(&s, "/api/v1/decisions?active=maybe");
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(v["error"].is_string());

    let (st, v) = get(&s, "/api/v1/decisions/00000000000000aa");
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["decision"]["rule"], "ssh-brute");
    assert_eq!(v["audit"][0]["what"], "decided");
    let (st, v) = get(&s, "/api/v1/decisions/ffff");
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(v["error"].as_str().unwrap().contains("no decision"));
    let (st, _) = get(&s, "/api/v1/nothing");
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[test]
fn unlock_needs_the_token_and_an_active_decision() {
    let s = state(Fake::with_two());
    let body = json!({"by": "carol", "reason": "user called the helpdesk"});
    let req = Request::post("/api/v1/decisions/00000000000000aa/unlock")
        .header(header::HOST, LISTEN)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let resp = rt.block_on(router(s.clone()).oneshot(req)).unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()[header::WWW_AUTHENTICATE], "Bearer");
    let (st, _) = post_unlock(&s, "00000000000000aa", Some("wrong"), &body);
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // Unauthenticated callers do not learn whether an id exists.
    let (st, _) = post_unlock(&s, "ffff", None, &body);
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v) = get(&s, "/api/v1/decisions/00000000000000aa");
    assert_eq!(
        (st, v["decision"]["status"].clone()),
        (StatusCode::OK, json!("active"))
    );

    let (st, v) = post_unlock(&s, "00000000000000aa", Some(TOKEN), &json!({"by": "carol"}));
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let (st, v) = post_unlock(&s, "00000000000000aa", Some(TOKEN), &body);
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["decision"]["status"], "unlocked");
    assert_eq!(v["decision"]["unlocked_by"], "carol");
    let (_, v) = get(&s, "/api/v1/decisions/00000000000000aa");
    assert_eq!(v["audit"][1]["what"], "unlocked");
    assert_eq!(v["audit"][1]["who"], "carol");
    assert_eq!(v["audit"][1]["credential"], "token:config");
    assert_eq!(v["audit"][0]["credential"], Value::Null);

    let (st, v) = post_unlock(&s, "00000000000000aa", Some(TOKEN), &body);
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(v["error"].as_str().unwrap().contains("unlocked"), "{v}");
    let (st, _) = post_unlock(&s, "00000000000000bb", Some(TOKEN), &body);
    assert_eq!(st, StatusCode::CONFLICT);
    let (st, _) = post_unlock(&s, "ffff", Some(TOKEN), &body);
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(
        s.metrics
            .render()
            .contains("loginwatch_unlocks_total{how=\"admin\"} 1")
    );
}

#[test]
fn every_api_route_needs_the_token_and_health_routes_do_not() {
    let s = state(Fake::with_two());
    for uri in [
        "/api/v1/decisions",
        "/api/v1/decisions?active=true",
        "/api/v1/decisions/00000000000000aa",
        "/api/v1/accounts/alice",
        "/api/v1/accounts/alice/why",
    ] {
        for auth in [None, Some("Bearer wrong")] {
            let mut b = Request::get(uri);
            if let Some(a) = auth {
                b = b.header(header::AUTHORIZATION, a);
            }
            let (st, _, body) = call(&s, b.body(Body::empty()).unwrap());
            assert_eq!(st, StatusCode::UNAUTHORIZED, "{uri} {auth:?}");
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert!(v["error"].as_str().unwrap().contains("token"), "{v}");
        }
    }
    for uri in ["/healthz", "/readyz", "/metrics"] {
        let (st, _, _) = call(&s, Request::get(uri).body(Body::empty()).unwrap());
        assert_eq!(st, StatusCode::OK, "{uri}");
    }
}

#[test]
fn the_storm_reset_is_guarded_like_unlock() {
    let s = state(Fake::with_two());
    let post = |ct: &str, host: &str, token: &str| {
        let req = Request::post("/api/v1/safety/storm/reset")
            .header(header::HOST, host)
            .header(header::CONTENT_TYPE, ct)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(r#"{"by": "dave"}"#))
            .unwrap();
        call(&s, req).0
    };
    let json = "application/json";
    assert_eq!(post(json, LISTEN, "nope"), StatusCode::UNAUTHORIZED);
    assert_eq!(
        post("text/plain", LISTEN, TOKEN),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        post(json, "attacker.example:9464", TOKEN),
        StatusCode::MISDIRECTED_REQUEST
    );
    // Past the guard: this backend has no breaker.
    assert_eq!(post(json, LISTEN, TOKEN), StatusCode::SERVICE_UNAVAILABLE);
}

#[test]
fn a_body_over_16_kib_without_a_length_is_refused_while_read() {
    let s = state(Fake::with_two());
    let big = json!({"by": "carol", "reason": "x".repeat(17 * 1024)}).to_string();
    let req = Request::post("/api/v1/decisions/00000000000000aa/unlock")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::from(big))
        .unwrap();
    assert!(!req.headers().contains_key(header::CONTENT_LENGTH));
    let (st, _, _) = call(&s, req);
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
    let (_, v) = get(&s, "/api/v1/decisions/00000000000000aa");
    assert_eq!(v["decision"]["status"], "active");
}

#[test]
fn accounts_show_facts_and_active_decisions() {
    let s = state(Fake::with_two());
    let (st, v) = get(&s, "/api/v1/accounts/alice");
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["facts"]["user"], "alice");
    assert_eq!(v["facts"]["consecutive_failures"], 5);
    assert_eq!(v["active_decisions"].as_array().unwrap().len(), 1);
    let (_, v) = get(&s, "/api/v1/accounts/bob");
    assert_eq!(v["active_decisions"].as_array().unwrap().len(), 0);
    let (st, _) = get(&s, "/api/v1/accounts/mallory");
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, v) = get(&s, "/api/v1/accounts/broken");
    assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(v["error"].as_str().unwrap().contains("disk I/O error"));
}

fn lw() -> Command {
    Command::cargo_bin("loginwatch").unwrap()
}

/// Serves `s` on a loopback port in a background runtime; returns the URL and a
/// sender that stops the server.
fn serve(
    fake: Fake,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            addr_tx.send(addr).unwrap();
            loginwatch::http::serve(l, router(state_on(fake, addr)), async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
    });
    let addr = addr_rx.recv().unwrap();
    (format!("http://{addr}"), tx, h)
}

#[test]
fn the_cli_lists_and_unlocks_through_the_daemon() {
    let mut f = Fake::with_two();
    // A user name made to drive a terminal must reach it escaped.
    f.records.get_mut().unwrap()[1].0.decision.target = Target::user(Arc::from("ev\u{1b}[2Jil"));
    let (url, stop, h) = serve(Fake::with_two());
    let (url2, stop2, h2) = serve(f);
    let dir = tempfile::tempdir().unwrap();
    let tok = dir.path().join("token");
    loginwatch::private::write(&tok, format!("{TOKEN}\n").as_bytes()).unwrap();
    let tok = tok.to_str().unwrap();

    let out = lw()
        .args(["decisions", "list", "--url", &url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("admin token"),
        "{out:?}"
    );
    let out = lw()
        .args(["decisions", "list", "--url", &url, "--token-file", tok])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("00000000000000aa  active"), "{text}");
    let out = lw()
        .args([
            "decisions",
            "list",
            "--active",
            "--json",
            "--url",
            &url,
            "--token-file",
            tok,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let v: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(v["id"], "00000000000000aa");
    let out = lw()
        .args(["decisions", "list", "--url", &url2, "--token-file", tok])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("user=ev\\u{1b}[2Jil") && !text.contains('\u{1b}'),
        "{text}"
    );

    let unlock = |extra: &[&str]| {
        let mut c = lw();
        c.args([
            "decisions",
            "unlock",
            "00000000000000aa",
            "--reason",
            "helpdesk",
            "--by",
            "carol",
            "--url",
            &url,
        ]);
        c.args(extra).output().unwrap()
    };
    let out = unlock(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("admin token"),
        "{out:?}"
    );
    let out = unlock(&["--token-file", tok]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("is now unlocked (by carol)"));
    let out = unlock(&["--token-file", tok]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not active"),
        "{out:?}"
    );

    stop.send(()).unwrap();
    stop2.send(()).unwrap();
    h.join().unwrap();
    h2.join().unwrap();
}

#[test]
fn the_cli_without_a_daemon_says_so() {
    // Port 1 on loopback: nothing listens there in a test environment.
    let out = lw()
        .args(["decisions", "list", "--url", "http://127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("daemon not running"),
        "{out:?}"
    );
    let out = lw()
        .args(["decisions", "list", "--url", "http://192.0.2.1:9464"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

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
    assert_eq!(c, loginwatch::config::Config::default_embedded());
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
