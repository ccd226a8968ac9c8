//! Tests of the IP lists: netset files with comments, ranges and overlaps,
//! both address families, bad lines and duplicate names, and reloading.

use super::*;

fn lists(files: &[(&str, &str)]) -> (tempfile::TempDir, Result<IpLists, Vec<IpListError>>) {
    let dir = tempfile::tempdir().unwrap();
    let specs: Vec<ListSpec> = files
        .iter()
        .map(|(name, text)| {
            let path = dir.path().join(format!("{name}.netset"));
            std::fs::write(&path, text).unwrap();
            ListSpec {
                name: Arc::from(*name),
                path,
            }
        })
        .collect();
    let l = IpLists::load(&specs);
    (dir, l)
}

fn names(l: &IpLists, ip: &str) -> Vec<String> {
    l.lists_for(ip.parse().unwrap())
        .iter()
        .map(|n| n.to_string())
        .collect()
}

#[test]
fn netsets_with_comments_ranges_and_overlaps() {
    let (_d, l) = lists(&[
        (
            "tor",
            "# FireHOL style\n\n192.0.2.7\n198.51.100.0/24 # inline\n2001:db8::/32\n",
        ),
        (
            "vpn",
            "198.51.100.128/25 ; drop style\n203.0.113.1-203.0.113.9\n",
        ),
    ]);
    let l = l.unwrap();
    assert_eq!(names(&l, "192.0.2.7"), ["tor"]);
    assert!(names(&l, "192.0.2.8").is_empty());
    assert_eq!(names(&l, "198.51.100.1"), ["tor"]);
    assert_eq!(names(&l, "198.51.100.200"), ["tor", "vpn"]);
    assert_eq!(names(&l, "198.51.101.0"), Vec::<String>::new());
    assert_eq!(names(&l, "203.0.113.9"), ["vpn"]);
    assert!(names(&l, "203.0.113.10").is_empty());
    assert_eq!(names(&l, "2001:db8:ffff::1"), ["tor"]);
    assert_eq!(names(&l, "::ffff:192.0.2.7"), ["tor"]);
    assert!(names(&l, "::c000:207").is_empty());
    assert_eq!(l.info()[0], (Arc::from("tor"), 3));
}

#[test]
fn families_stay_apart_and_full_ranges_work() {
    let (_d, l) = lists(&[("all4", "0.0.0.0/0\n"), ("all6", "::/0\n")]);
    let l = l.unwrap();
    assert_eq!(names(&l, "255.255.255.255"), ["all4"]);
    assert_eq!(names(&l, "0.0.0.0"), ["all4"]);
    assert_eq!(
        names(&l, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ["all6"]
    );
}

#[test]
fn every_bad_line_is_reported_and_the_list_rejected() {
    let (_d, l) = lists(&[
        ("good", "192.0.2.1\n"),
        (
            "bad",
            "192.0.2.1\nnot-an-ip\n10.0.0.0/33\n10.0.0.9-10.0.0.1\n::1-10.0.0.1\n",
        ),
    ]);
    let errs = l.unwrap_err();
    let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert_eq!(msgs.len(), 4, "{msgs:?}");
    assert!(msgs[0].ends_with("bad.netset:2: not an IP address, network or range: \"not-an-ip\""));
    assert!(msgs[1].contains("bad.netset:3:"));
    assert!(msgs[2].contains(":4: range ends before it starts"));
    assert!(msgs[3].contains(":5: range mixes"));
}

#[test]
fn duplicate_names_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a");
    std::fs::write(&p, "192.0.2.1\n").unwrap();
    let spec = ListSpec {
        name: Arc::from("a"),
        path: p,
    };
    let errs = IpLists::load(&[spec.clone(), spec]).unwrap_err();
    assert!(matches!(errs[0], IpListError::DuplicateName { .. }));
}

#[test]
fn reload_swaps_good_versions_and_keeps_the_old_on_error() {
    let (d, l) = lists(&[("tor", "192.0.2.7\n")]);
    let mut l = l.unwrap();
    let p = d.path().join("tor.netset");
    let r = l.reload_if_changed();
    assert!(!r.changed && r.errors.is_empty());
    std::fs::write(&p, "192.0.2.8\n192.0.2.9\n").unwrap();
    let r = l.reload_if_changed();
    assert!(r.changed && r.errors.is_empty());
    assert!(names(&l, "192.0.2.7").is_empty());
    assert_eq!(names(&l, "192.0.2.8"), ["tor"]);
    std::fs::write(&p, "192.0.2.10\nbroken line here\n").unwrap();
    let r = l.reload_if_changed();
    assert!(!r.changed);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(names(&l, "192.0.2.8"), ["tor"]);
    // The same broken file is not reported again.
    assert!(l.reload_if_changed().errors.is_empty());
}

#[test]
fn empty_lists_answer_the_shared_empty_set() {
    let l = IpLists::empty();
    assert!(l.is_empty());
    let a = l.lists_for("192.0.2.1".parse().unwrap());
    let b = l.lists_for("2001:db8::1".parse().unwrap());
    assert!(a.is_empty());
    assert!(Arc::ptr_eq(&a, &b));
}
