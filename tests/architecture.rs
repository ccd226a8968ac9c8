//! The layout ARCHITECTURE.md promises, checked on the source itself: no
//! import cycle between the top-level modules of `src/`, and no file there
//! over 500 lines. A cycle makes every module in it a prerequisite of every
//! other (nothing can be read, tested or replaced alone), and it creeps in one
//! convenient `use crate::...` at a time, so it is caught here, with the
//! files that make it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Files under `dir`, recursively, that end in `.rs`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Not layers of the library: the crate roots, the binary's subcommands
/// (`cli`, which use the library as `loginwatch::`), and the unit tests'
/// builders (`#[cfg(test)]`, above every module whose tests use them).
const NOT_LAYERS: &[&str] = &["lib", "main", "cli", "test_support"];

/// The top-level module a file of `src/` belongs to (`rules` for
/// `src/rules/engine.rs` and for `src/rules.rs`); `None` for what is not a
/// layer.
fn top_module(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!NOT_LAYERS.contains(&name)).then(|| name.to_owned())
}

/// The top-level modules named by `crate::NAME` paths in `text`, comments
/// left out (a doc link is not a dependency).
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                refs.insert(name);
            }
            rest = after;
        }
    }
    refs
}

/// Edges `from -> to` between top-level modules, each with the files that
/// make it.
fn module_graph() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let root = src();
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in rust_files(&root) {
        let rel = file.strip_prefix(&root).unwrap();
        let Some(from) = top_module(rel) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        let edges = graph.entry(from.clone()).or_default();
        for to in crate_refs(&text) {
            if to != from && !NOT_LAYERS.contains(&to.as_str()) {
                edges
                    .entry(to)
                    .or_default()
                    .insert(rel.display().to_string());
            }
        }
    }
    graph
}

/// A cycle through `start`, if any: the modules in order, `start` first.
fn cycle_from(
    graph: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    start: &str,
) -> Option<Vec<String>> {
    // Depth-first search for a path back to `start`.
    let mut stack = vec![(start.to_owned(), vec![start.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in graph.get(&node).into_iter().flat_map(|e| e.keys()) {
            if next == start {
                return Some(path.clone());
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push((next.clone(), p));
            }
        }
    }
    None
}

#[test]
fn no_import_cycle_between_top_level_modules() {
    let graph = module_graph();
    assert!(
        graph.len() > 10,
        "the walk found too few modules: {:?}",
        graph.keys()
    );
    let mut report = Vec::new();
    for start in graph.keys() {
        if let Some(cycle) = cycle_from(&graph, start) {
            let mut lines = vec![format!("{} -> {start}", cycle.join(" -> "))];
            for (i, from) in cycle.iter().enumerate() {
                let to = cycle.get(i + 1).map_or(start.as_str(), String::as_str);
                let files = &graph[from][to];
                lines.push(format!(
                    "  {from} -> {to}: {}",
                    files.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            report.push(lines.join("\n"));
        }
    }
    assert!(
        report.is_empty(),
        "import cycles between top-level modules:\n{}",
        report.join("\n")
    );
}

/// The module map of ARCHITECTURE.md: each module with the modules it may
/// import.
fn documented_map() -> BTreeMap<String, BTreeSet<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md");
    let text = std::fs::read_to_string(path).unwrap();
    parse_map(&text)
}

/// Rows `| `module` | owns | may import |` of a Markdown table.
fn parse_map(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
        let [module, _owns, may] = cells[..] else {
            continue;
        };
        let Some(module) = module
            .trim()
            .strip_prefix('`')
            .and_then(|m| m.strip_suffix('`'))
        else {
            continue;
        };
        let allowed = may
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty() && *m != "—")
            .map(str::to_owned)
            .collect();
        map.insert(module.to_owned(), allowed);
    }
    map
}

#[test]
fn imports_are_those_architecture_md_allows() {
    let map = documented_map();
    let graph = module_graph();
    let mut wrong = Vec::new();
    for (from, edges) in &graph {
        let Some(allowed) = map.get(from) else {
            wrong.push(format!("{from}: no row in ARCHITECTURE.md's module map"));
            continue;
        };
        for (to, files) in edges {
            if !allowed.contains(to) {
                wrong.push(format!(
                    "{from} imports {to}, which its row does not allow ({})",
                    files.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    for module in map.keys() {
        if !graph.contains_key(module) {
            wrong.push(format!(
                "ARCHITECTURE.md lists {module}, which src/ does not have"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // And the map itself has no cycle: every module may import only modules
    // of rows above its own.
    let order: Vec<&String> = map.keys().collect();
    let rows: Vec<String> = {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md");
        let text = std::fs::read_to_string(path).unwrap();
        parse_map_order(&text)
    };
    assert_eq!(order.len(), rows.len());
    for (i, module) in rows.iter().enumerate() {
        for dep in &map[module] {
            assert!(
                rows[..i].contains(dep),
                "ARCHITECTURE.md: {module} may import {dep}, which is not above it"
            );
        }
    }
}

/// The modules of the map in the order of its rows.
fn parse_map_order(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
            let [module, _, _] = cells[..] else {
                return None;
            };
            let m = module.trim().strip_prefix('`')?.strip_suffix('`')?;
            Some(m.to_owned())
        })
        .collect()
}

#[test]
fn the_cycle_check_sees_a_cycle() {
    // The check itself must be able to fail: a made-up graph with a cycle.
    let mut g: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        g.entry(a.into()).or_default().entry(b.into()).or_default();
    }
    assert_eq!(
        cycle_from(&g, "a"),
        Some(vec!["a".into(), "b".into(), "c".into()])
    );
    assert_eq!(cycle_from(&g, "d"), None);
    assert_eq!(
        crate_refs("use crate::event::Name; // crate::daemon\n//! [`crate::http`]"),
        BTreeSet::from(["event".to_owned()])
    );
    let map = parse_map(
        "| module | owns | may import |\n|---|---|---|\n| `a` | x | — |\n| `b` | y, z | a, c |\n",
    );
    assert_eq!(map.len(), 2);
    assert!(map["a"].is_empty());
    assert_eq!(map["b"], BTreeSet::from(["a".to_owned(), "c".to_owned()]));
}

/// Longest a file may be: a file that outgrows it holds more than one idea.
const MAX_LINES: usize = 500;

#[test]
fn no_file_over_500_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut long = Vec::new();
    for dir in ["src", "tests"] {
        for file in rust_files(&root.join(dir)) {
            let n = std::fs::read_to_string(&file).unwrap().lines().count();
            if n > MAX_LINES {
                long.push(format!(
                    "{} ({n} lines)",
                    file.strip_prefix(root).unwrap().display()
                ));
            }
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines (split them by topic):\n{}",
        long.join("\n")
    );
}
