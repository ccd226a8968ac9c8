//! The submodules of `rules` import each other without a circle: the model is
//! data, the kinds are called by the compiler and the engine and never import
//! them, and nothing imports `rules` itself (its `mod.rs` is the facade).
//!
//! The sources are read from disk; every path that names a module of `rules`
//! (`super::x`, `crate::rules::x`, `self::x`, a child module `x::`), in `use`
//! items and in code, is an edge from the file's module to the module it
//! names. Test code (`tests` modules, inline or in files) is left out: tests
//! may import anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module of `rules` by its path below it (`[]` is `rules` itself).
type Module = Vec<String>;

/// Every module of `rules` with its source, test code left out.
fn sources() -> BTreeMap<Module, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rules");
    let mut out = BTreeMap::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&root).unwrap().with_extension("");
            let mut module: Module = rel
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            if module.last().is_some_and(|l| l == "mod") {
                module.pop();
            }
            if module.iter().any(|m| m == "tests") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            out.insert(module, without_tests(&text).to_owned());
        }
    }
    out
}

/// The source up to its `#[cfg(test)] mod ...` (tests sit at the bottom).
fn without_tests(text: &str) -> &str {
    let mut from = 0;
    while let Some(i) = text[from..].find("#[cfg(test)]") {
        let at = from + i;
        let rest = text[at + "#[cfg(test)]".len()..].trim_start();
        if rest.starts_with("mod ") || rest.starts_with("#[path") {
            return &text[..at];
        }
        from = at + 1;
    }
    text
}

/// `text` without comments, string literals and char literals, so that only
/// code is searched for paths.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        let c = b[i];
        let prev_ident = i > 0 && ident(b[i - 1]);
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if c == b'r' && !prev_ident && matches!(b.get(i + 1), Some(b'"' | b'#')) {
            let hashes = b[i + 1..].iter().take_while(|&&h| h == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            i += 2 + hashes;
            while i < b.len() && !b[i..].starts_with(&close) {
                i += 1;
            }
            i += close.len();
            out.push_str("\"\"");
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == b'\'' && b.get(i + 1) == Some(&b'\\') {
            i += 2;
            while i < b.len() && b[i] != b'\'' {
                i += 1;
            }
            i += 1;
        } else if c == b'\'' && b.get(i + 2) == Some(&b'\'') {
            i += 3;
        } else {
            out.push(char::from(c));
            i += 1;
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Sep,
    Punct(char),
}

fn tokens(code: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            let mut s = String::from(c);
            while let Some(&n) = chars.peek().filter(|n| n.is_alphanumeric() || **n == '_') {
                s.push(n);
                chars.next();
            }
            out.push(Tok::Ident(s));
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            out.push(Tok::Sep);
        } else if !c.is_whitespace() {
            out.push(Tok::Punct(c));
        }
    }
    out
}

/// The paths of one `use` tree starting at `toks[*i]`, braces expanded.
fn use_tree(toks: &[Tok], i: &mut usize, mut path: Vec<String>, out: &mut Vec<Vec<String>>) {
    loop {
        match toks.get(*i) {
            Some(Tok::Ident(s)) => {
                path.push(s.clone());
                *i += 1;
                if toks.get(*i) == Some(&Tok::Sep) {
                    *i += 1;
                    continue;
                }
                if toks.get(*i) == Some(&Tok::Ident("as".into())) {
                    *i += 2;
                }
                out.push(path);
                return;
            }
            Some(Tok::Punct('{')) => {
                *i += 1;
                while *i < toks.len() && toks[*i] != Tok::Punct('}') {
                    use_tree(toks, i, path.clone(), out);
                    if toks.get(*i) == Some(&Tok::Punct(',')) {
                        *i += 1;
                    }
                }
                *i += 1;
                return;
            }
            Some(Tok::Punct('*')) => {
                *i += 1;
                out.push(path);
                return;
            }
            _ => {
                out.push(path);
                return;
            }
        }
    }
}

/// Every path of the code: each `use` item's (expanded) and every `a::b...`
/// chain elsewhere.
fn paths(code: &str) -> Vec<Vec<String>> {
    let toks = tokens(code);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if toks[i] == Tok::Ident("use".into()) {
            i += 1;
            use_tree(&toks, &mut i, Vec::new(), &mut out);
            while i < toks.len() && toks[i] != Tok::Punct(';') {
                i += 1;
            }
            continue;
        }
        let starts = matches!(toks[i], Tok::Ident(_))
            && (i == 0 || toks[i - 1] != Tok::Sep)
            && toks.get(i + 1) == Some(&Tok::Sep);
        if !starts {
            i += 1;
            continue;
        }
        let mut path = Vec::new();
        while let Some(Tok::Ident(s)) = toks.get(i) {
            path.push(s.clone());
            i += 1;
            if toks.get(i) != Some(&Tok::Sep) {
                break;
            }
            i += 1;
        }
        out.push(path);
    }
    out
}

/// The module of `rules` that `path`, written in `from`, names (the longest
/// known module its resolved form starts with), if any.
fn target(from: &Module, path: &[String], known: &BTreeSet<Module>) -> Option<Module> {
    let first = path.first()?.as_str();
    let resolved: Vec<String> = match first {
        "crate" => {
            if path.get(1).map(String::as_str) != Some("rules") {
                return None;
            }
            path[2..].to_vec()
        }
        "super" => {
            let ups = path.iter().take_while(|s| *s == "super").count();
            let base = from.len().checked_sub(ups)?;
            from[..base].iter().chain(&path[ups..]).cloned().collect()
        }
        "self" => from.iter().chain(&path[1..]).cloned().collect(),
        _ => {
            let child: Module = from.iter().chain(&path[..1]).cloned().collect();
            if !known.contains(&child) {
                return None;
            }
            from.iter().chain(path).cloned().collect()
        }
    };
    (0..=resolved.len())
        .rev()
        .map(|n| resolved[..n].to_vec())
        .find(|m| known.contains(m))
}

/// Edges between modules, each with one path that makes it.
fn edges(sources: &BTreeMap<Module, String>) -> BTreeMap<(Module, Module), String> {
    let known: BTreeSet<Module> = sources.keys().cloned().collect();
    let mut out = BTreeMap::new();
    for (from, text) in sources {
        for p in paths(&code_only(text)) {
            if let Some(to) = target(from, &p, &known)
                && &to != from
            {
                out.entry((from.clone(), to))
                    .or_insert_with(|| p.join("::"));
            }
        }
    }
    out
}

/// A circle of the graph, as the modules along it (the first again at the end).
fn cycle(edges: &BTreeMap<(Module, Module), String>) -> Option<Vec<Module>> {
    let mut next: BTreeMap<&Module, Vec<&Module>> = BTreeMap::new();
    for (a, b) in edges.keys() {
        next.entry(a).or_default().push(b);
    }
    // 1: on the current path; 2: done.
    let mut state: BTreeMap<&Module, u8> = BTreeMap::new();
    fn visit<'a>(
        m: &'a Module,
        next: &BTreeMap<&'a Module, Vec<&'a Module>>,
        state: &mut BTreeMap<&'a Module, u8>,
        stack: &mut Vec<&'a Module>,
    ) -> Option<Vec<Module>> {
        state.insert(m, 1);
        stack.push(m);
        for &n in next.get(m).into_iter().flatten() {
            match state.get(n) {
                Some(1) => {
                    let start = stack.iter().position(|s| *s == n).unwrap_or(0);
                    let mut c: Vec<Module> = stack[start..].iter().map(|s| (*s).clone()).collect();
                    c.push(n.clone());
                    return Some(c);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(n, next, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(m, 2);
        None
    }
    for &m in next.keys() {
        if !state.contains_key(m) {
            let mut stack = Vec::new();
            if let Some(c) = visit(m, &next, &mut state, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

fn name(m: &Module) -> String {
    std::iter::once("rules")
        .chain(m.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("::")
}

fn m(s: &str) -> Module {
    s.split("::")
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn the_rules_submodules_import_each_other_without_a_circle() {
    let sources = sources();
    let edges = edges(&sources);
    // The parser sees the imports it must (else the check below means nothing).
    for (a, b) in [
        ("engine", "kinds"),
        ("compile", "kinds"),
        ("kinds::travel", "params"),
        ("model", "params"),
        ("", "load"),
    ] {
        assert!(
            edges.contains_key(&(m(a), m(b))),
            "no edge {a} -> {b} found: {:#?}",
            edges.keys().collect::<Vec<_>>()
        );
    }
    if let Some(c) = cycle(&edges) {
        let steps: Vec<String> = c
            .windows(2)
            .map(|w| {
                let via = edges.get(&(w[0].clone(), w[1].clone()));
                format!(
                    "{} -> {} (via {})",
                    name(&w[0]),
                    name(&w[1]),
                    via.map_or("?", String::as_str)
                )
            })
            .collect();
        panic!("import circle in rules/:\n  {}", steps.join("\n  "));
    }
}

#[test]
fn the_model_imports_no_kind_and_nothing_imports_the_facade() {
    let edges = edges(&sources());
    for ((a, b), via) in &edges {
        assert!(
            !(a.first().is_some_and(|x| x == "model" || x == "params")
                && b.first().is_some_and(|x| x == "kinds")),
            "{} imports {} via {via}",
            name(a),
            name(b)
        );
        assert!(!b.is_empty(), "{} imports rules itself via {via}", name(a));
    }
}

#[test]
fn a_planted_circle_is_found_through_braces_code_paths_and_children() {
    let sources: BTreeMap<Module, String> = [
        ("", "pub mod a;\npub mod b;\n"),
        (
            "a",
            "use super::{b::{self, X as Y}, c};\n// use super::z;\nconst S: &str = \"super::z\";",
        ),
        ("b", "fn f() { let _ = crate::rules::z::Thing; }"),
        ("c", "mod inner;"),
        ("c::inner", "fn g() { super::super::a::h() }"),
        (
            "z",
            "pub struct Thing;\n#[cfg(test)]\nmod tests { use super::super::b; }",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (m(k), without_tests(v).to_owned()))
    .collect();
    let edges = edges(&sources);
    let found: Vec<(String, String)> = edges.keys().map(|(a, b)| (name(a), name(b))).collect();
    let want: Vec<(String, String)> = [("a", "b"), ("a", "c"), ("b", "z"), ("c::inner", "a")]
        .iter()
        .map(|(a, b)| (name(&m(a)), name(&m(b))))
        .collect();
    assert_eq!(found, want);
    assert_eq!(cycle(&edges), None);
    let mut with_circle = sources.clone();
    with_circle.insert(m("c"), "mod inner;\nuse inner::x;".into());
    with_circle.insert(m("b"), "use super::c::inner;".into());
    let c = cycle(&self::edges(&with_circle)).expect("a -> b -> c::inner -> a");
    let names: Vec<String> = c.iter().map(name).collect();
    assert_eq!(
        names,
        ["rules::a", "rules::b", "rules::c::inner", "rules::a"]
    );
}
