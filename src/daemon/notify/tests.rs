use std::sync::atomic::AtomicUsize;

use super::*;
use crate::clock::SystemClock;

#[test]
fn liveness_needs_a_beat_between_two_looks() {
    let mut l = Liveness::default();
    assert!(l.alive(0), "the first look: the thread has just started");
    assert!(!l.alive(0), "no beat since: stuck");
    assert!(!l.alive(0));
    assert!(l.alive(1), "looping again");
    assert!(l.alive(5));
    assert!(!l.alive(5));
}

/// The task itself, on a short period: a thread that answers the nudges gets
/// a ping per tick; one that stops answering gets none; pings resume when it
/// loops again.
#[tokio::test]
async fn pings_follow_the_heartbeat_and_each_tick_nudges_the_thread() {
    const PERIOD: Duration = Duration::from_millis(50);
    let heartbeat = Heartbeat::default();
    let pings = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let stop = CancellationToken::new();
    let count = pings.clone();
    let task = tokio::spawn(watchdog(
        PERIOD,
        heartbeat.clone(),
        tx,
        Arc::new(SystemClock),
        move || {
            count.fetch_add(1, Ordering::SeqCst);
        },
        stop.clone(),
    ));
    // A live thread: it loops (beats) each time it is nudged.
    let live_thread = {
        let heartbeat = heartbeat.clone();
        std::thread::spawn(move || {
            let mut nudges = 0;
            while nudges < 6 {
                if rx.recv().is_ok() {
                    heartbeat.beat();
                    nudges += 1;
                }
            }
            rx
        })
    };
    let rx = tokio::task::spawn_blocking(move || live_thread.join().unwrap())
        .await
        .unwrap();
    let live = pings.load(Ordering::SeqCst);
    assert!(live >= 5, "{live} pings while alive");
    // Stuck: the nudges go unanswered; at most the tick that still sees the
    // last beat pings.
    tokio::time::sleep(PERIOD * 8).await;
    let stuck = pings.load(Ordering::SeqCst);
    assert!(stuck <= live + 1, "{live} then {stuck}: pinged while stuck");
    tokio::time::sleep(PERIOD * 4).await;
    assert_eq!(pings.load(Ordering::SeqCst), stuck, "no ping while stuck");
    assert!(rx.try_iter().count() >= 8, "still nudged at every tick");
    // Looping again.
    heartbeat.beat();
    tokio::time::sleep(PERIOD * 3).await;
    assert!(pings.load(Ordering::SeqCst) > stuck, "pings resume");
    stop.cancel();
    task.await.unwrap();
}

#[test]
fn nothing_is_sent_without_a_socket() {
    let n = Notifier {
        enabled: false,
        failed: Arc::default(),
    };
    n.ready("x");
    n.ping();
    n.stopping();
    assert!(!n.failed.load(Ordering::Relaxed));
}
