//! The reference and the example agree: every key docs/config.md documents (in
//! its key tables and its TOML examples) is spelled out in
//! examples/loginwatch.toml under the same table, set to its default or, when it
//! has none, commented out with an example value. (That the example loads and
//! equals the embedded defaults is `api::the_example_config_spells_out_the_embedded_defaults`.)

use std::collections::BTreeSet;

use crate::util::repo;
use regex::Regex;

/// `(table, key)`; the top level is the table `""`, `[[alert.sink]]` is `alert.sink`.
type Keys = BTreeSet<(String, String)>;

fn header() -> Regex {
    Regex::new(r"^\[\[?([a-z_.]+)\]\]?\s*(#.*)?$").unwrap()
}

fn key() -> Regex {
    Regex::new(r"^([a-z_]+)\s*=").unwrap()
}

/// The keys of the reference: rows `| `key` | ...` of a table under a heading
/// or paragraph that names its TOML table (`## `[http]``, `` `[safety]` filters``),
/// rows under "Top-level keys", and `key =` lines of its ```toml blocks.
fn doc_keys(md: &str) -> Keys {
    let named = Regex::new(r"`\[\[?([a-z_.]+)\]\]?`").unwrap();
    let row = Regex::new(r"^\| `([a-z_]+)` \|").unwrap();
    let (header, key) = (header(), key());
    let mut keys = Keys::new();
    // The table the next keys belong to; None where the text is not about keys.
    let mut table: Option<String> = None;
    let mut code: Option<bool> = None; // Some(is TOML) inside a fenced block
    for line in md.lines() {
        if let Some(fence) = line.strip_prefix("```") {
            code = match code {
                Some(_) => None,
                None => {
                    if fence == "toml" {
                        table = Some(String::new());
                    }
                    Some(fence == "toml")
                }
            };
            continue;
        }
        match code {
            Some(true) => {
                if let Some(c) = header.captures(line) {
                    table = Some(c[1].to_owned());
                } else if let (Some(c), Some(t)) = (key.captures(line), &table) {
                    keys.insert((t.clone(), c[1].to_owned()));
                }
            }
            Some(false) => {}
            None if line.starts_with('#') => {
                table = named
                    .captures(line)
                    .map(|c| c[1].to_owned())
                    .or_else(|| line.contains("Top-level keys").then(String::new));
            }
            None if line.starts_with("`[") => {
                table = named.captures(line).map(|c| c[1].to_owned());
            }
            None => {
                if let (Some(c), Some(t)) = (row.captures(line), &table) {
                    keys.insert((t.clone(), c[1].to_owned()));
                }
            }
        }
    }
    keys
}

/// The keys of the example, set or commented out (`# key = ...`, `# [table]`).
fn example_keys(toml: &str) -> Keys {
    let (header, key) = (header(), key());
    let mut keys = Keys::new();
    let mut table = String::new();
    for line in toml.lines() {
        let line = line.trim_start_matches('#').trim_start();
        if let Some(c) = header.captures(line) {
            table = c[1].to_owned();
        } else if let Some(c) = key.captures(line) {
            keys.insert((table.clone(), c[1].to_owned()));
        }
    }
    keys
}

#[test]
fn the_example_config_spells_out_every_documented_key() {
    let doc = doc_keys(&std::fs::read_to_string(repo().join("docs/config.md")).unwrap());
    // The parser found the reference's keys (not an empty set that passes).
    for (t, k) in [
        ("", "geoip"),
        ("", "profile"),
        ("http", "admin_token_env"),
        ("source", "tz"),
        ("ip_list", "path"),
        ("inventory", "columns"),
        ("alert", "samples"),
        ("alert.sink", "ca_file"),
        ("actions", "timeout"),
        ("actions.lock_account", "undo_http"),
        ("actions.block_ip", "nft"),
        ("safety", "detect_own"),
    ] {
        assert!(doc.contains(&(t.into(), k.into())), "[{t}] {k} not parsed");
    }
    let example =
        example_keys(&std::fs::read_to_string(repo().join("examples/loginwatch.toml")).unwrap());
    let missing: Vec<_> = doc.difference(&example).collect();
    assert!(
        missing.is_empty(),
        "documented in docs/config.md, missing from examples/loginwatch.toml: {missing:?}"
    );
}

#[test]
fn a_key_missing_from_the_example_is_caught() {
    let doc = doc_keys(
        "## `[safety]`\n\n| Key | Default | Meaning |\n|--|--|--|\n| `min_admins` | `1` | x |\n\
         | `detect_own` | `true` | x |\n\n```toml\n[[alert.sink]]\nname = \"am\"\n```\n",
    );
    let want: Keys = [
        ("safety", "min_admins"),
        ("safety", "detect_own"),
        ("alert.sink", "name"),
    ]
    .into_iter()
    .map(|(t, k)| (t.into(), k.into()))
    .collect();
    assert_eq!(doc, want);
    // Commented out counts; under another table does not.
    let example = example_keys(
        "[safety]\n# min_admins = 1\n[alert]\ndetect_own = true\n# [[alert.sink]]\n# name = \"x\"\n",
    );
    let missing: Vec<_> = doc.difference(&example).collect();
    assert_eq!(missing, [&("safety".to_owned(), "detect_own".to_owned())]);
}
