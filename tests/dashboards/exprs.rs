//! What the dashboards test reads out of `dashboards/` and the daemon's
//! exposition: the PromQL of every panel and rule, the metric names they
//! mention, the metric families exported, and the README's unused list. Kept
//! apart from the live run so each part stays readable.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use serde_json::Value;

use super::repo;

/// Every PromQL expression of the rules file (`expr:` inline or as a `|` block).
pub(super) fn rule_exprs(text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut alert = String::new();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim_start();
        if let Some(a) = t.strip_prefix("- alert:") {
            alert = a.trim().to_string();
        }
        if let Some(e) = t.strip_prefix("expr:") {
            let e = e.trim();
            if e == "|" {
                let indent = lines[i].len() - t.len();
                let mut block = String::new();
                while i + 1 < lines.len() {
                    let n = lines[i + 1];
                    if !n.trim().is_empty() && n.len() - n.trim_start().len() <= indent {
                        break;
                    }
                    block.push_str(n.trim());
                    block.push(' ');
                    i += 1;
                }
                out.push((alert.clone(), block));
            } else {
                out.push((alert.clone(), e.to_string()));
            }
        }
        i += 1;
    }
    out
}

/// (dashboard file, panel title, expr) of every target of every panel of every
/// dashboard in `dashboards/`, template variables substituted.
pub(super) fn panel_exprs() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(repo().join("dashboards")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let d: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut panels: Vec<&Value> = Vec::new();
        for p in d["panels"].as_array().unwrap() {
            panels.push(p);
            panels.extend(p["panels"].as_array().into_iter().flatten());
        }
        for p in panels {
            for t in p["targets"].as_array().into_iter().flatten() {
                let e = t["expr"].as_str().unwrap();
                let e = e
                    .replace("${instance}", ".*")
                    .replace("$instance", ".*")
                    .replace("$__rate_interval", "5s")
                    .replace("$__interval", "2s")
                    .replace("$__range", "1m");
                assert!(!e.contains('$'), "{file}: unsubstituted variable in {e}");
                out.push((file.clone(), p["title"].as_str().unwrap().to_string(), e));
            }
        }
    }
    assert!(out.len() >= 20, "too few panel expressions: {out:?}");
    out
}

/// Metric families of a text exposition: name -> type.
pub(super) fn families(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}

/// The names a PromQL expression mentions that look like loginwatch or process
/// metrics (label values are quoted, so they are skipped).
pub(super) fn metric_names(expr: &str) -> BTreeSet<String> {
    let unquoted = regex::Regex::new(r#""[^"]*""#)
        .unwrap()
        .replace_all(expr, "");
    regex::Regex::new(r"\b(loginwatch|process)_[a-z_]+")
        .unwrap()
        .find_iter(&unquoted)
        .map(|m| m.as_str().to_string())
        .collect()
}

/// The README's "Deliberately unused metrics" list.
pub(super) fn readme_unused() -> BTreeSet<String> {
    let text = fs::read_to_string(repo().join("dashboards/README.md")).unwrap();
    let section = text
        .split("## Deliberately unused metrics")
        .nth(1)
        .expect("README has a \"Deliberately unused metrics\" section");
    let section = section.split("\n## ").next().unwrap_or_default();
    section
        .lines()
        .filter_map(|l| l.strip_prefix("- `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}
