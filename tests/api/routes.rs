//! The admin API's routes on a fake backend: health and readiness, listing,
//! unlocking, the token on every route, the storm reset, body limits, accounts.

use super::*;

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
