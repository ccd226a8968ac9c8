//! Rule directories overlaid (`load_layers`): the packaged rules under
//! `/usr/share/loginwatch/rules`, the operator's under `/etc/loginwatch/rules`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::rules::load_layers;

fn rule(id: &str, count: u32) -> String {
    format!(
        "[[rule]]\nid = \"{id}\"\nkind = \"threshold\"\ngroup_by = \"user\"\ncount = {count}\n\
         window = \"10m\"\n[rule.match]\noutcome = \"failure\"\n[rule.decision]\n\
         action = \"lock_account\"\nduration = \"30m\"\n"
    )
}

fn ids(dirs: &[PathBuf]) -> Vec<(String, u32, String)> {
    let set = load_layers(dirs).unwrap_or_else(|e| panic!("{e}"));
    set.rules
        .iter()
        .map(|r| {
            let file = r.file.display().to_string();
            (r.id.to_string(), r.count, file)
        })
        .collect()
}

fn layers() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let (shipped, own) = (t.path().join("usr"), t.path().join("etc"));
    fs::create_dir(&shipped).unwrap();
    fs::create_dir(&own).unwrap();
    fs::write(shipped.join("accounts.toml"), rule("brute", 5)).unwrap();
    fs::write(shipped.join("network.toml"), rule("spray", 20)).unwrap();
    (t, shipped, own)
}

fn in_dir(file: &str, dir: &Path) -> bool {
    Path::new(file).parent() == Some(dir)
}

#[test]
fn an_empty_operator_layer_leaves_the_shipped_rules() {
    let (_t, shipped, own) = layers();
    let got = ids(&[shipped.clone(), own]);
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|(_, _, f)| in_dir(f, &shipped)));
}

#[test]
fn a_file_of_the_same_name_replaces_the_shipped_one_and_others_add() {
    let (_t, shipped, own) = layers();
    fs::write(own.join("accounts.toml"), rule("brute", 3)).unwrap();
    fs::write(own.join("local.toml"), rule("mine", 2)).unwrap();
    let got = ids(&[shipped.clone(), own.clone()]);
    assert_eq!(got.len(), 3, "{got:?}");
    let brute = got.iter().find(|r| r.0 == "brute").unwrap();
    assert_eq!(brute.1, 3, "the operator's count");
    assert!(in_dir(&brute.2, &own), "{brute:?}");
    assert!(got.iter().any(|r| r.0 == "mine"));
    assert!(got.iter().any(|r| r.0 == "spray" && in_dir(&r.2, &shipped)));
}

#[test]
fn an_empty_file_or_a_dev_null_link_switches_a_shipped_file_off() {
    let (_t, shipped, own) = layers();
    fs::write(own.join("network.toml"), "").unwrap();
    assert_eq!(ids(&[shipped.clone(), own.clone()]).len(), 1);
    fs::remove_file(own.join("network.toml")).unwrap();
    std::os::unix::fs::symlink("/dev/null", own.join("accounts.toml")).unwrap();
    let got = ids(&[shipped.clone(), own]);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "spray");
}

#[test]
fn a_rule_id_in_two_files_is_still_a_duplicate() {
    let (_t, shipped, own) = layers();
    // Another name: it adds, and the same id twice is refused as in one directory.
    fs::write(own.join("more.toml"), rule("brute", 3)).unwrap();
    let errs = load_layers(&[shipped, own]).unwrap_err().0;
    assert!(
        errs.iter().any(|e| e.file.ends_with("more.toml")),
        "{errs:?}"
    );
}

#[test]
fn an_unreadable_layer_is_an_error_naming_it() {
    let (_t, shipped, own) = layers();
    let missing = own.join("missing");
    let errs = load_layers(&[shipped, missing.clone()]).unwrap_err().0;
    assert_eq!(errs[0].file, missing);
}
