//! The layers of ARCHITECTURE.md, checked on the source: a file may name only the layers below its own.
//! This reads `src/` as text (code only: comments and `#[cfg(test)]` modules are left out), so a new
//! upward import fails here, with the file and the name, before review.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each top-level module, and the crate modules it must never name.
const FORBIDDEN: &[(&str, &[&str])] = &[
    ("domain", &["clock", "config", "crypto", "db", "error", "services", "state", "http", "console", "api", "jobs"]),
    ("crypto", &["db", "services", "state", "http", "console", "api", "jobs"]),
    ("db", &["services", "state", "http", "console", "api", "jobs", "startup", "cli"]),
    ("mail", &["db", "services", "state", "http", "console", "api", "jobs", "startup", "cli"]),
    ("memory", &["services", "state", "http", "console", "api", "jobs", "startup", "cli"]),
    ("state", &["services", "http", "console", "api", "jobs"]),
    ("services", &["http", "console", "api", "jobs", "startup", "cli"]),
    ("jobs", &["db", "http", "console", "api"]),
    ("http", &["db", "services", "console", "api"]),
    ("console", &["db", "api"]),
    ("api", &["db", "console"]),
];

/// Upward names still in the tree, each to be removed, never added to (file, module). The test fails when
/// one of these is gone, so the list only shrinks. Empty: keep it so.
const KNOWN: &[(&str, &str)] = &[];

/// What `domain` may use besides itself and the standard library: small crates that compute.
const DOMAIN_CRATES: &[&str] = &[
    "serde",
    "serde_json",
    "sha2",
    "subtle",
    "totp_rs",
    "ipnet",
    "unicode_normalization",
    "thiserror",
    "crc32fast",
    "time",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file: no comments, no test module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    text.lines().map(|line| line.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The crate modules a piece of code names: `crate::x`, and each `x` of `use crate::{x, y::z}`.
fn crate_modules(code: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find(';').unwrap_or(group.len())];
            let mut depth = 0;
            let mut start = true;
            let mut word = String::new();
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && (c.is_alphanumeric() || c == '_') => word.push(c),
                    _ if start && !word.is_empty() => {
                        named.insert(std::mem::take(&mut word));
                        start = false;
                    }
                    _ => {}
                }
            }
            if !word.is_empty() {
                named.insert(word);
            }
        } else {
            let word: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            named.insert(word);
        }
    }
    named
}

const PRIMITIVES: &[&str] = &[
    "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
    "f32", "f64",
];

/// The first segment of every `a::b` path in code that starts lower-case: modules and crates.
fn path_roots(code: &str) -> BTreeSet<String> {
    let mut roots = BTreeSet::new();
    let bytes = code.as_bytes();
    for (i, _) in code.match_indices("::") {
        let start = code[..i].rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |p| p + 1);
        let before = start.checked_sub(1).map(|p| bytes[p]);
        // `a::b::c` counts once; `.collect::<T>()` is a turbofish, not a path.
        if start == i || before == Some(b':') || before == Some(b'.') {
            continue;
        }
        let word = &code[start..i];
        if word.starts_with(|c: char| c.is_ascii_lowercase()) && !PRIMITIVES.contains(&word) {
            roots.insert(word.to_owned());
        }
    }
    roots
}

#[test]
fn no_layer_names_one_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let domain_modules: BTreeSet<String> = files
        .iter()
        .filter(|p| p.starts_with(root.join("domain")))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    let mut broken = Vec::new();
    let mut still_known = BTreeSet::new();
    for path in &files {
        let relative = path.strip_prefix(&root).expect("under src");
        let layer = relative.iter().next().map(|s| s.to_string_lossy().trim_end_matches(".rs").to_owned());
        let Some(layer) = layer else { continue };
        let code = code(&std::fs::read_to_string(path).expect("source is readable"));
        let named = crate_modules(&code);
        if let Some((_, forbidden)) = FORBIDDEN.iter().find(|(l, _)| *l == layer) {
            let file = relative.to_string_lossy();
            for module in forbidden.iter().filter(|m| named.contains(**m)) {
                if KNOWN.contains(&(file.as_ref(), *module)) {
                    still_known.insert((file.to_string(), (*module).to_owned()));
                } else {
                    broken.push(format!("{file} names crate::{module}"));
                }
            }
        }
        if layer == "domain" {
            let allowed = |root: &str| {
                ["std", "core", "alloc", "crate", "self", "super"].contains(&root)
                    || DOMAIN_CRATES.contains(&root)
                    || domain_modules.contains(root)
            };
            for outside in path_roots(&code).into_iter().filter(|r| !allowed(r)) {
                broken.push(format!("{} uses {outside}::", relative.display()));
            }
        }
    }
    assert!(broken.is_empty(), "layering broken (see ARCHITECTURE.md):\n{}", broken.join("\n"));
    for (file, module) in KNOWN {
        assert!(
            still_known.contains(&((*file).to_owned(), (*module).to_owned())),
            "{file} no longer names crate::{module}: take it off KNOWN"
        );
    }
}

#[test]
fn the_checker_sees_grouped_and_plain_imports() {
    let named = crate_modules("use crate::{db::{a, b}, services::Caller};\nlet x = crate::state::AppState;");
    assert_eq!(named.into_iter().collect::<Vec<_>>(), ["db", "services", "state"]);
    let roots = path_roots(
        "use diesel::prelude::*; let y = key::parse(x); Foo::bar(); <T as a::B>::c; u8::MAX; i.collect::<V>()",
    );
    assert_eq!(roots.into_iter().collect::<Vec<_>>(), ["a", "diesel", "key"]);
    assert_eq!(code("let a = 1; // crate::db\n#[cfg(test)]\nmod tests { crate::db }"), "let a = 1; ");
}

/// The service modules a service module names (`services::x`, `super::x`, `use crate::services::{x, …}`).
fn service_calls(root: &Path) -> Vec<(String, BTreeSet<String>)> {
    let dir = root.join("services");
    let mut files = Vec::new();
    sources(&dir, &mut files);
    let module_of = |p: &Path| {
        let relative = p.strip_prefix(&dir).expect("under services");
        let first = relative.iter().next().map(|s| s.to_string_lossy().trim_end_matches(".rs").to_owned());
        first.filter(|m| m != "mod")
    };
    let modules: BTreeSet<String> = files.iter().filter_map(|p| module_of(p)).collect();
    let mut calls: Vec<(String, BTreeSet<String>)> = Vec::new();
    for path in &files {
        let Some(me) = module_of(path) else { continue };
        let code = code(&std::fs::read_to_string(path).expect("source is readable"));
        let mut named = BTreeSet::new();
        for prefix in ["services::", "super::"] {
            for (i, _) in code.match_indices(prefix) {
                let word: String =
                    code[i + prefix.len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                named.insert(word);
            }
        }
        for (i, _) in code.match_indices("use crate::services::{") {
            let group = &code[i..];
            let group = &group[..group.find(';').unwrap_or(group.len())];
            named.extend(group.split(|c: char| !(c.is_alphanumeric() || c == '_')).map(str::to_owned));
        }
        named.retain(|m| modules.contains(m) && *m != me);
        match calls.iter_mut().find(|(m, _)| *m == me) {
            Some((_, set)) => set.extend(named),
            None => calls.push((me, named)),
        }
    }
    calls
}

#[test]
fn no_two_services_call_each_other() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let calls = service_calls(&root);
    let calls_of = |m: &str| calls.iter().find(|(name, _)| name == m).map(|(_, set)| set.clone()).unwrap_or_default();
    // Every module reachable from each one must not lead back to it.
    let mut cycles = Vec::new();
    for (start, _) in &calls {
        let mut seen = BTreeSet::new();
        let mut frontier: Vec<String> = calls_of(start).into_iter().collect();
        while let Some(next) = frontier.pop() {
            if next == *start {
                cycles.push(start.clone());
                break;
            }
            if seen.insert(next.clone()) {
                frontier.extend(calls_of(&next));
            }
        }
    }
    assert!(cycles.is_empty(), "these services call back into themselves through others: {cycles:?}");
    assert!(calls_of("keys").contains("master_key"), "the checker sees calls between services");
}
