//! Finding the files and the problems with them: globs, renames within a
//! glob, symlinks, hints for patterns that match nothing or cannot be used;
//! an unreadable file reported once while the others keep being read,
//! retried and cleared when fixed, and I/O errors classified.

use super::*;

#[test]
fn glob_finds_new_files_and_a_rename_within_the_glob_is_not_reread() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("app");
    fs::create_dir(&dir).unwrap();
    append(&dir.join("a.log"), "a1\n");
    append(&dir.join("b.txt"), "not matched\n");
    fs::create_dir(dir.join("c.log")).unwrap(); // a directory: skipped
    let mut t = Tailer::new(vec![spec("g", &dir.join("*.log"))], vec![], false);
    assert_eq!(drain(&mut t), strs(&["a1"]));
    assert!(t.status()[0].errors.is_empty());
    append(&dir.join("b.log"), "b1\n");
    assert_eq!(drain(&mut t), strs(&["b1"]));
    fs::rename(dir.join("a.log"), dir.join("a-old.log")).unwrap();
    append(&dir.join("a-old.log"), "a2\n");
    assert_eq!(drain(&mut t), strs(&["a2"]));
    let st = &t.status()[0];
    assert_eq!(st.files.len(), 2);
    assert!(st.files.iter().all(|f| !f.rotated));
    assert!(st.files.iter().any(|f| f.path == dir.join("a-old.log")));
    assert_eq!(t.watch_dirs(), vec![dir]);
}

#[test]
fn symlinked_path_follows_its_target() {
    let d = tempfile::tempdir().unwrap();
    let real = d.path().join("real");
    fs::create_dir(&real).unwrap();
    let t1 = real.join("one.log");
    let t2 = real.join("two.log");
    append(&t1, "one\n");
    append(&t2, "two\n");
    let link = d.path().join("auth.log");
    std::os::unix::fs::symlink(&t1, &link).unwrap();
    let mut t = Tailer::new(vec![spec("s", &link)], vec![], false);
    assert_eq!(drain(&mut t), strs(&["one"]));
    assert_eq!(t.status()[0].files[0].path, link);
    let real_canon = fs::canonicalize(&real).unwrap();
    assert!(t.watch_dirs().contains(&real_canon));
    append(&t1, "one more\n");
    assert_eq!(drain(&mut t), strs(&["one more"]));
    // Repointed: the new target is a new file, read from its start.
    fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&t2, &link).unwrap();
    assert_eq!(drain(&mut t), strs(&["two"]));
}

#[test]
fn hints_and_bad_patterns() {
    let e = SourceError::new(Path::new("/var/log/auth.log"), Problem::PermissionDenied);
    assert!(e.hint.contains("group `adm`"), "{}", e.hint);
    let d = tempfile::tempdir().unwrap();
    let mut t = Tailer::new(
        vec![
            SourceSpec {
                name: "bad".into(),
                pattern: "[".into(),
            },
            spec("dir", d.path()),
        ],
        vec![],
        false,
    );
    let (_, r) = poll(&mut t, 10);
    let st = t.status();
    assert!(matches!(
        st[0].errors[0].problem,
        Problem::InvalidPattern(_)
    ));
    assert_eq!(st[1].errors[0].problem, Problem::NotAFile);
    assert_eq!(r.events.len(), 2);
    let (_, r) = poll(&mut t, 10);
    assert!(r.events.is_empty());
}

#[test]
fn unreadable_file_is_reported_once_and_others_keep_reading() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let locked = d.path().join("locked.log");
    let open = d.path().join("open.log");
    append(&locked, "secret\n");
    append(&open, "o1\n");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    if File::open(&locked).is_ok() {
        use crate::test_support::{UNPRIVILEGED, rerun_as_nobody, skip};
        let test = "unreadable_file_is_reported_once_and_others_keep_reading";
        assert!(
            std::env::var_os(UNPRIVILEGED).is_none(),
            "still reads a mode-000 file as nobody"
        );
        if nix::unistd::Uid::effective().is_root() {
            rerun_as_nobody(&format!("source::tests::discovery::{test}"));
        } else {
            // Not root, yet a capability lets it read: nothing to drop to.
            skip(
                "privileges",
                test,
                "reads a mode-000 file without being root",
            );
        }
        return;
    }
    let mut t = Tailer::new(vec![spec("l", &locked), spec("o", &open)], vec![], false);
    let (got, r) = poll(&mut t, 10);
    assert_eq!(got, strs(&["o1"]));
    let problems: Vec<_> = r
        .events
        .iter()
        .filter(|e| matches!(e, TailEvent::Problem { .. }))
        .collect();
    assert_eq!(problems.len(), 1);
    let err = &t.status()[0].errors[0];
    assert_eq!(err.problem, Problem::PermissionDenied);
    assert!(err.hint.contains("read access"), "{}", err.hint);
    // Reported once, still in status, retried: fixed permissions are picked up.
    let (_, r) = poll(&mut t, 10);
    assert!(
        !r.events
            .iter()
            .any(|e| matches!(e, TailEvent::Problem { .. }))
    );
    assert_eq!(t.status()[0].errors.len(), 1);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(drain(&mut t), strs(&["secret"]));
    assert!(t.status()[0].errors.is_empty());
}

#[test]
fn a_problem_is_reported_once_retried_and_cleared_when_fixed() {
    // Runs as any user (a permission test cannot as root): a directory where
    // the log should be, later replaced by the log.
    let d = tempfile::tempdir().unwrap();
    let bad = d.path().join("auth.log");
    let good = d.path().join("other.log");
    fs::create_dir(&bad).unwrap();
    append(&good, "g1\n");
    let mut t = Tailer::new(vec![spec("a", &bad), spec("b", &good)], vec![], false);
    let (got, r) = poll(&mut t, 10);
    assert_eq!(got, strs(&["g1"]));
    assert_eq!(
        r.events
            .iter()
            .filter(|e| matches!(e, TailEvent::Problem { .. }))
            .count(),
        1
    );
    let (_, r) = poll(&mut t, 10);
    assert!(
        r.events
            .iter()
            .all(|e| !matches!(e, TailEvent::Problem { .. }))
    );
    assert_eq!(t.status()[0].errors[0].problem, Problem::NotAFile);
    fs::remove_dir(&bad).unwrap();
    append(&bad, "a1\n");
    assert_eq!(drain(&mut t), strs(&["a1"]));
    assert!(t.status()[0].errors.is_empty());
}

#[test]
fn io_errors_are_classified() {
    let e = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
    let se = SourceError::from_io(Path::new("/srv/app.log"), &e);
    assert_eq!(se.problem, Problem::PermissionDenied);
    assert!(
        se.hint.contains("read access to /srv/app.log"),
        "{}",
        se.hint
    );
    let se = SourceError::from_io(Path::new("/x"), &std::io::Error::other("boom"));
    assert_eq!(se.problem, Problem::Io("boom".into()));
    assert!(se.to_string().starts_with("/x: boom"));
}
