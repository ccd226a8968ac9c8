use super::*;

#[test]
fn backoff_doubles_to_its_cap_and_a_success_resets_it() {
    let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
    let waits: Vec<u64> = (0..6).map(|_| b.failure().as_secs()).collect();
    assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
    assert_eq!(b.failures(), 6);
    b.success();
    assert_eq!(b.failure(), Duration::from_secs(1));
    // Many failures neither overflow nor pass the cap.
    for _ in 0..100 {
        assert!(b.failure() <= Duration::from_secs(10));
    }
}

#[test]
fn the_cursor_is_the_position_of_the_last_line_handed_out() {
    let (tx, rx) = sync_channel(16);
    let health = Arc::new(Mutex::new(None));
    let feed = Feed {
        tx,
        wake: None,
        woken: Arc::new(AtomicBool::new(false)),
        stop: Arc::new(AtomicBool::new(false)),
        health: health.clone(),
        label: PathBuf::from("https://x/api"),
        name: "p".into(),
        starting: std::cell::Cell::new(false),
    };
    let mut s = PullSource {
        name: "p".into(),
        label: PathBuf::from("https://x/api"),
        rx,
        stop: feed.stop.clone(),
        woken: feed.woken.clone(),
        health,
        position: Some("start".into()),
        file: 0,
        seq: 0,
    };
    // A page of three lines: the position comes with the last.
    feed.begin();
    assert!(feed.line(b"a".to_vec(), false, None));
    assert!(feed.line(b"b".to_vec(), false, None));
    assert!(feed.line(b"c".to_vec(), false, Some("page1".into())));
    let mut got = Vec::new();
    let mut at = Vec::new();
    let r = s.poll(2, &mut |l| {
        got.push(l.line.to_vec());
        at.push((l.file, l.offset));
    });
    assert_eq!((r.lines, r.more), (2, true));
    assert_eq!(
        s.cursors()[0].cursor,
        "start",
        "not past what was handed out"
    );
    s.poll(10, &mut |l| got.push(l.line.to_vec()));
    assert_eq!(got, [b"a", b"b", b"c"]);
    // The page is a file of its own, from offset 0 (its header, for a CSV).
    assert_eq!(at, [(FileId(1), 0), (FileId(1), 1)]);
    feed.begin();
    assert!(feed.line(b"d".to_vec(), false, None));
    let mut next = Vec::new();
    s.poll(10, &mut |l| next.push((l.file, l.offset)));
    assert_eq!(next, [(FileId(2), 0)], "the next download is a new file");
    assert_eq!(s.cursors()[0].cursor, "page1");
    // A position without lines (an empty page).
    assert!(feed.position("page2".into()));
    assert_eq!(s.poll(10, &mut |_| {}).lines, 0);
    assert_eq!(s.cursors()[0].cursor, "page2");
    // Problems show until the next success.
    assert!(s.status()[0].is_up());
    feed.problem("HTTP 401".into(), "fix the token");
    let st = &s.status()[0];
    assert!(!st.is_up());
    assert!(st.errors[0].to_string().contains("fix the token"));
    feed.ok();
    assert!(s.status()[0].is_up());
}
