//! The HTTP action against a local receiver: method, headers and values
//! encoded in the URL and the body.

use super::*;

#[test]
fn http_action_reaches_a_local_receiver_with_encoded_values() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(s.try_clone().unwrap());
        let mut head = String::new();
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body).unwrap();
        s.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
            .unwrap();
        (head, String::from_utf8(body).unwrap())
    });
    let config = ActionsConfig {
        actions: vec![ActionSpec {
            on: DecisionAction::LockAccount,
            kind: ActionKind::Http(HttpSpec {
                method: "POST".into(),
                url: Template::parse(&format!("http://127.0.0.1:{port}/users/{{user}}/lock"))
                    .unwrap(),
                headers: vec![(
                    "Authorization".into(),
                    Template::parse("Bearer s3cret").unwrap(),
                )],
                body: Some(Template::parse(r#"{{"user":"{user}","until":"{until}"}}"#).unwrap()),
            }),
            undo: None,
            timeout: Duration::from_secs(30),
        }],
    };
    let plan = action::plan(&lock("山田\"x"), &config, Phase::Apply, t0());
    let shown = plan.actions[0].to_string();
    assert!(
        shown.contains("<redacted>") && !shown.contains("s3cret"),
        "{shown}"
    );
    let r = action::run(&plan.actions[0]);
    assert_eq!((r.ok, r.status), (true, Some(204)), "{r:?}");
    let (head, body) = server.join().unwrap();
    assert!(
        head.starts_with("POST /users/%E5%B1%B1%E7%94%B0%22x/lock HTTP/1.1"),
        "{head}"
    );
    assert!(head.contains("Bearer s3cret"), "{head}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["user"], "山田\"x");
    assert_eq!(v["until"], "2026-03-01T12:30:00Z");
}
