//! The rules built into the binary are the shipped `rules/` files.

use std::path::Path;

use crate::rules::{BUILTIN, builtin, load_dir, profile, profile_names};

#[test]
fn builtin_profiles_are_the_shipped_profile_directories() {
    for name in profile_names() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("rules/profiles")
            .join(name);
        let on_disk: Vec<String> = load_dir(&dir)
            .unwrap()
            .rules
            .iter()
            .map(|r| r.id.to_string())
            .collect();
        let built_in: Vec<String> = profile(name)
            .unwrap()
            .unwrap()
            .rules
            .iter()
            .map(|r| r.id.to_string())
            .collect();
        assert_eq!(on_disk, built_in, "{name}");
    }
    assert!(profile("nope").is_none());
}

#[test]
fn builtin_rules_are_the_shipped_directory() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let on_disk: Vec<String> = load_dir(&dir)
        .unwrap()
        .rules
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    let built_in: Vec<String> = builtin()
        .unwrap()
        .rules
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(on_disk, built_in);
    let files = std::fs::read_dir(&dir).unwrap().filter(|e| {
        e.as_ref()
            .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "toml"))
    });
    assert_eq!(
        files.count(),
        BUILTIN.len(),
        "every shipped rule file is built in"
    );
}
