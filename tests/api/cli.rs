//! `loginwatch decisions list|unlock` through a served fake daemon, and without
//! one.

use super::*;

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
