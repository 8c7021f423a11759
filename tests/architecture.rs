//! The shape of the code and the docs, checked in `src/` and `emulator/src/`: no module cycles
//! (between top-level modules, nor between files of one folder), no file over 700 lines, no
//! function over 100 lines,
//! and every relative link and anchor in the README and `docs/` leads somewhere.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file's code before its tests (`#[cfg(test)]` at the start of a line) and without comments.
fn code_of(text: &str) -> String {
    let end = text.find("\n#[cfg(test)]").unwrap_or(text.len());
    text[..end].lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// Names that follow `prefix` in `code` (`crate::` → `model`, `engine`…).
fn names_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices(prefix) {
        let before = code[..i].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[i + prefix.len()..];
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            out.insert(name);
        }
        // `use super::{a, b}` names several.
        if let Some(group) = rest.strip_prefix('{') {
            for part in group.split('}').next().unwrap_or_default().split(',') {
                let name: String = part.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        }
    }
    out
}

/// A cycle in `edges`, if any, as the path around it.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(node) {
            Some(1) => {
                let start = path.iter().position(|n| n == node).unwrap();
                let mut cycle = path[start..].to_vec();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            Some(2) => return None,
            _ => {}
        }
        state.insert(node.to_string(), 1);
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, state, path) {
                return Some(cycle);
            }
        }
        path.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    edges.keys().find_map(|n| visit(n, edges, &mut state, &mut Vec::new()))
}

/// Modules compiled for tests only (`#[cfg(test)] mod x;` in their parent), which the size
/// rules leave alone, as they do `#[cfg(test)]` blocks.
fn test_only(file: &Path) -> bool {
    let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
    if stem == "tests" {
        return true;
    }
    let parent = file.parent().unwrap();
    let index = [parent.join("mod.rs"), parent.with_extension("rs")];
    index.iter().filter_map(|p| fs::read_to_string(p).ok()).any(|t| t.contains(&format!("#[cfg(test)]\nmod {stem};")))
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The crates whose code the rules hold: steward's and the emulator's.
fn roots() -> [PathBuf; 2] {
    [src(), Path::new(env!("CARGO_MANIFEST_DIR")).join("emulator/src")]
}

#[test]
fn no_module_depends_on_itself_through_others() {
    for root in roots() {
        let modules = no_cycles_below(&root);
        if root == src() {
            assert!(modules.get("model").is_none_or(BTreeSet::is_empty), "model imports {:?}", modules["model"]);
        }
    }
}

/// Panics on a cycle between the top-level modules of `root`, or between the files of one of its
/// folders; returns what each top-level module uses.
fn no_cycles_below(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let src = || root.to_path_buf();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let top: BTreeSet<String> = fs::read_dir(src())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path().file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|m| m != "lib" && m != "main")
        .collect();
    let mut modules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut folders: BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in &files {
        let rel = file.strip_prefix(src()).unwrap();
        let Some(first) = rel.iter().next().map(|c| Path::new(c).file_stem().unwrap().to_string_lossy().into_owned())
        else {
            continue;
        };
        if first == "lib" || first == "main" || rel.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let code = code_of(&fs::read_to_string(file).unwrap());
        let uses: BTreeSet<String> =
            names_after(&code, "crate::").into_iter().filter(|m| top.contains(m) && *m != first).collect();
        modules.entry(first.clone()).or_default().extend(uses);
        // Within a folder: `super::x` where x is a sibling file, or `super::Item` (the folder's index).
        let folder = file.parent().unwrap().to_path_buf();
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        if folder == src() {
            continue;
        }
        let siblings: BTreeSet<String> = fs::read_dir(&folder)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path().file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        let me = if stem == "mod" { "mod".to_string() } else { stem.clone() };
        let mut deps: BTreeSet<String> = names_after(&code, "super::")
            .into_iter()
            .map(|n| if siblings.contains(&n) && n != "mod" { n } else { "mod".into() })
            .filter(|n| *n != me)
            .collect();
        if me == "mod" {
            // The index depends on what it re-exports or uses, not on what it merely declares.
            deps = code
                .lines()
                .filter(|l| l.trim_start().starts_with("pub use") || l.trim_start().starts_with("use "))
                .flat_map(|l| {
                    siblings
                        .iter()
                        .filter(|s| l.contains(&format!(" {s}::")) || l.contains(&format!("{{{s}::")))
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .collect();
        }
        folders.entry(folder).or_default().entry(me).or_default().extend(deps);
    }
    if let Some(cycle) = find_cycle(&modules) {
        panic!("a cycle between the modules of {}: {}", root.display(), cycle.join(" → "));
    }
    for (folder, edges) in &folders {
        if let Some(cycle) = find_cycle(edges) {
            panic!("a cycle between the files of {}: {}", folder.display(), cycle.join(" → "));
        }
    }
    modules
}

#[test]
fn files_and_functions_stay_short() {
    let mut files = Vec::new();
    for root in roots() {
        rust_files(&root, &mut files);
    }
    let mut problems = Vec::new();
    for file in files.iter().filter(|f| !test_only(f)) {
        let text = fs::read_to_string(file).unwrap();
        let lines = text.lines().count();
        if lines > 700 {
            problems.push(format!("{}: {lines} lines", file.display()));
        }
        // A function: a line starting (after indentation) with `fn`/`pub fn`/`async fn`…, to the
        // line that closes it at the same indentation. Tests are left out.
        let code = &text[..text.find("\n#[cfg(test)]").unwrap_or(text.len())];
        let all: Vec<&str> = code.lines().collect();
        for (i, line) in all.iter().enumerate() {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            let is_fn = [
                "fn ",
                "pub fn ",
                "async fn ",
                "pub async fn ",
                "pub(crate) fn ",
                "pub(super) fn ",
                "pub(crate) async fn ",
                "pub(super) async fn ",
            ]
            .iter()
            .any(|p| trimmed.starts_with(p));
            if !is_fn || trimmed.ends_with(';') {
                continue;
            }
            let close = format!("{}}}", " ".repeat(indent));
            if let Some(end) = all[i + 1..].iter().position(|l| *l == close)
                && end + 2 > 100
            {
                problems.push(format!("{}:{}: a function of {} lines", file.display(), i + 1, end + 2));
            }
        }
    }
    let pass = fs::read_to_string(src().join("engine/pass.rs")).unwrap().lines().count();
    if pass >= 400 {
        problems.push(format!("engine/pass.rs: {pass} lines (the wiring stays under 400)"));
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The anchor GitHub makes of a heading.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let base = anchor(line.trim_start_matches('#'));
        let n = seen.entry(base.clone()).or_insert(0);
        out.insert(if *n == 0 { base.clone() } else { format!("{base}-{n}") });
        *n += 1;
    }
    out
}

#[test]
fn every_relative_link_in_the_docs_leads_somewhere() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md")];
    for entry in fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    let readme_lines = fs::read_to_string(root.join("README.md")).unwrap().lines().count();
    assert!(readme_lines <= 250, "the README is a front page: {readme_lines} lines (at most 250)");
    let mut broken = Vec::new();
    for page in &pages {
        let text = fs::read_to_string(page).unwrap();
        for (i, _) in text.match_indices("](") {
            let target: String = text[i + 2..].chars().take_while(|c| *c != ')').collect();
            if target.starts_with("http") || target.starts_with("mailto:") || target.is_empty() {
                continue;
            }
            let (file, fragment) = target.split_once('#').map_or((target.as_str(), None), |(f, a)| (f, Some(a)));
            let path = if file.is_empty() { page.clone() } else { page.parent().unwrap().join(file) };
            if !path.exists() {
                broken.push(format!("{}: {target}: no such file", page.display()));
                continue;
            }
            if let Some(fragment) = fragment {
                let linked = fs::read_to_string(&path).unwrap_or_default();
                if !anchors(&linked).contains(fragment) {
                    broken.push(format!("{}: {target}: no such heading", page.display()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "\n{}", broken.join("\n"));
}
