use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use super::*;
use crate::fleet::Outgoing;
use crate::telemetry::fleet::FleetMetrics;

async fn get(state: &AgentState, path: &str) -> (StatusCode, String) {
    let r = router(state.clone())
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = r.status();
    let body = r.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn readyz_says_why_in_one_line_and_metrics_show_the_spool() {
    let d = tempfile::tempdir().unwrap();
    // A server nobody answers on: the client stays unconnected.
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect("nats://127.0.0.1:1")
        .await
        .unwrap();
    let metrics = Arc::new(Metrics::new());
    let fm = FleetMetrics::register(&metrics);
    let spool = Arc::new(Spool::open(&d.path().join("spool"), 1 << 20, "x").unwrap());
    let state = AgentState {
        link: Arc::new(Link::new(client, "storing events", true)),
        spool: spool.clone(),
        metrics,
    };
    assert_eq!(get(&state, "/healthz").await, (StatusCode::OK, "ok".into()));
    let (status, body) = get(&state, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, "not connected to NATS (reconnecting)\n");

    let m = Outgoing {
        subject: "p.h._._".into(),
        id: None,
        body: vec![b'x'; 4096].into(),
    };
    while !spool.stats().full() {
        spool.append(&vec![m.clone(); 64]).unwrap();
    }
    crate::daemon::agent::drain::show(&spool, &fm);
    let (_, body) = get(&state, "/readyz").await;
    assert!(
        body.starts_with("not connected to NATS (reconnecting); spool full: "),
        "{body}"
    );
    assert!(
        body.contains(" of 1048576 bytes, 256 events waiting"),
        "{body}"
    );
    let (status, text) = get(&state, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.contains("loginwatch_fleet_spool_messages 256"),
        "{text}"
    );
}
