use std::os::unix::fs::PermissionsExt as _;

use super::*;

fn msg(i: usize, id: bool) -> Outgoing {
    Outgoing {
        subject: format!("p.h.{}._", i % 64),
        id: id.then(|| format!("id-{i}")),
        body: format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(200)).into(),
    }
}

fn segments(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".seg"))
        .collect();
    v.sort();
    v
}

fn drain(s: &Spool) -> Vec<Outgoing> {
    let mut out = Vec::new();
    loop {
        let b = s.read(s.acked(), 100, 1 << 20).unwrap();
        if b.messages.is_empty() {
            return out;
        }
        out.extend(b.messages.iter().cloned());
        s.ack(&b).unwrap();
    }
}

#[test]
fn appended_messages_come_back_in_order_and_the_emptied_spool_holds_no_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = Spool::dir_for(&d.path().join("lw.db"));
    let s = Spool::open(&dir, 1 << 20, "lw1s-web1").unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let batch: Vec<Outgoing> = (0..10).map(|i| msg(i, true)).collect();
    s.append(&batch).unwrap();
    s.append(&[msg(10, false)]).unwrap();
    let seg = dir.join(&segments(&dir)[0]);
    assert_eq!(mode(&seg), 0o600);
    let st = s.stats();
    assert_eq!(st.messages, 11);
    assert!(st.bytes > 11 * 200 && !st.full(), "{st:?}");

    let b = s.read(s.acked(), 4, 1 << 20).unwrap();
    assert_eq!(b.messages, batch[..4]);
    s.ack(&b).unwrap();
    assert_eq!(s.stats().messages, 7);
    let rest = drain(&s);
    assert_eq!(rest[..6], batch[4..]);
    // The line without an id got one from its place in the spool.
    let own = rest[6].id.clone().unwrap();
    assert!(own.starts_with("lw1s-web1-"), "{own}");
    assert_eq!(
        s.stats(),
        Stats {
            bytes: 0,
            messages: 0,
            max_bytes: 1 << 20
        }
    );
    assert!(segments(&dir).is_empty(), "{:?}", segments(&dir));
}

#[test]
fn a_reopened_spool_resumes_after_the_acked_position_with_the_same_ids() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("spool");
    let s = Spool::open(&dir, 1 << 20, "x").unwrap();
    // Over several 64 KiB segments.
    for k in 0..40 {
        let batch: Vec<Outgoing> = (k * 25..(k + 1) * 25).map(|i| msg(i, i % 7 != 0)).collect();
        s.append(&batch).unwrap();
    }
    assert!(segments(&dir).len() > 2, "{:?}", segments(&dir));
    let first = s.read(s.acked(), 300, 1 << 30).unwrap();
    s.ack(&first).unwrap();
    let peek = s.read(s.acked(), 1000, 1 << 30).unwrap();
    drop(s);

    let s = Spool::open(&dir, 1 << 20, "x").unwrap();
    assert_eq!(s.stats().messages, 700);
    let rest = drain(&s);
    assert_eq!(
        rest, peek.messages,
        "the same messages and ids after a restart"
    );
    let ns: Vec<usize> = rest
        .iter()
        .map(|m| {
            let v: serde_json::Value = serde_json::from_slice(&m.body).unwrap();
            v["n"].as_u64().unwrap() as usize
        })
        .collect();
    assert_eq!(ns, (300..1000).collect::<Vec<_>>());
    // Appends after a restart go to a new segment, after the old ones.
    s.append(&[msg(5000, false)]).unwrap();
    assert_eq!(drain(&s).len(), 1);
}

#[test]
fn a_torn_tail_is_cut_and_the_records_before_it_kept() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("spool");
    let s = Spool::open(&dir, 1 << 20, "x").unwrap();
    s.append(&(0..5).map(|i| msg(i, true)).collect::<Vec<_>>())
        .unwrap();
    drop(s);
    let seg = dir.join(&segments(&dir)[0]);
    let good = std::fs::metadata(&seg).unwrap().len();
    // Half a record, as a crash in the middle of a write leaves it.
    let mut torn = Vec::new();
    encode(&mut torn, "p.h._._", "id-x", b"{\"n\":99}");
    let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&torn[..torn.len() / 2]).unwrap();
    drop(f);
    let s = Spool::open(&dir, 1 << 20, "x").unwrap();
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), good);
    assert_eq!(s.stats().messages, 5);
    assert_eq!(drain(&s).len(), 5);

    // A damaged record in the middle: the segment's rest is skipped, the
    // read goes on with the next segment, nothing panics.
    s.append(&(0..3).map(|i| msg(i, true)).collect::<Vec<_>>())
        .unwrap();
    let seg = dir.join(&segments(&dir)[0]);
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[20] ^= 0xff;
    std::fs::write(&seg, bytes).unwrap();
    let b = s.read(s.acked(), 100, 1 << 20).unwrap();
    assert!(b.messages.is_empty());
    s.ack(&b).unwrap();
    assert!(segments(&dir).is_empty());
    assert_eq!(
        read_record(&mut &[1u8, 2, 3][..]).unwrap_err().kind(),
        io::ErrorKind::UnexpectedEof
    );
}

#[test]
fn the_bound_counts_the_bytes_on_disk() {
    let d = tempfile::tempdir().unwrap();
    let s = Spool::open(&d.path().join("spool"), 1 << 20, "x").unwrap();
    let mut n = 0;
    while !s.stats().full() {
        s.append(&(n..n + 100).map(|i| msg(i, true)).collect::<Vec<_>>())
            .unwrap();
        n += 100;
    }
    let st = s.stats();
    assert!(
        st.bytes >= 1 << 20 && st.bytes < (1 << 20) + 100 * 300,
        "{st:?}"
    );
    let b = s.read(s.acked(), 1000, 1 << 20).unwrap();
    s.ack(&b).unwrap();
    assert!(!s.stats().full(), "{:?}", s.stats());
}
