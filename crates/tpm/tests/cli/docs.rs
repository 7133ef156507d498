//! The documents a reader follows from the README: every relative link leads to a file of
//! the repository, and every `#anchor` to a heading of it. A section moved to another file
//! leaves no dead link behind, and no document sends a reader to a path outside the clone
//! (a file on the writer's machine, or above the repository).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The repository's root.
fn repo() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .canonicalize()
        .expect("the repository's root")
}

/// README.md, CONTRIBUTING.md, bench/README.md and every docs/*.md.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = ["README.md", "CONTRIBUTING.md", "bench/README.md"]
        .iter()
        .map(|p| root.join(p))
        .collect();
    let mut more: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.expect("an entry of docs/").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    more.sort();
    docs.extend(more);
    docs
}

/// The lines outside fenced code blocks, with their numbers.
fn prose(text: &str) -> Vec<(usize, &str)> {
    let mut fence = false;
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
        } else if !fence {
            lines.push((n + 1, line));
        }
    }
    lines
}

/// A line without its inline code spans (`[x](y)` inside backticks is no link).
fn without_code(line: &str) -> String {
    line.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, part)| part)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The targets of the `[text](target)` and `![alt](target)` links of a line.
fn targets(line: &str) -> Vec<String> {
    let line = without_code(line);
    let mut found = Vec::new();
    let mut rest = line.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let Some(end) = after.find(')') else { break };
        // `(path "title")`: the path alone.
        let target = after[..end].split_whitespace().next().unwrap_or("");
        found.push(target.to_string());
        rest = &after[end..];
    }
    found
}

/// The anchor GitHub gives a heading: lowercase, punctuation dropped (but `-` and `_`),
/// spaces as `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown file's headings; a repeated heading gets `-1`, `-2`, as on
/// GitHub.
fn anchors(text: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    for (_, line) in prose(text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if hashes == 0 || hashes > 6 || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = slug(&line[hashes..]);
        let mut anchor = base.clone();
        let mut n = 0;
        while seen.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        seen.insert(anchor);
    }
    seen
}

/// Every problem with the links of `doc`, as `file:line: what`.
fn problems(root: &Path, doc: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(doc).unwrap_or_else(|e| panic!("{}: {e}", doc.display()));
    let shown = doc.strip_prefix(root).unwrap_or(doc).display().to_string();
    let mut found = Vec::new();
    for (n, line) in prose(&text) {
        for target in targets(line) {
            if target.is_empty()
                || ["http://", "https://", "mailto:"]
                    .iter()
                    .any(|s| target.starts_with(s))
            {
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let file = if path.is_empty() {
                doc.to_path_buf()
            } else if path.starts_with('/') || path.starts_with('~') {
                found.push(format!(
                    "{shown}:{n}: {target} is a path on one machine, not in the repository"
                ));
                continue;
            } else {
                doc.parent().expect("a document's folder").join(path)
            };
            let Ok(real) = file.canonicalize() else {
                found.push(format!("{shown}:{n}: {target}: no such file"));
                continue;
            };
            if !real.starts_with(root) {
                found.push(format!("{shown}:{n}: {target} is outside the repository"));
                continue;
            }
            let Some(anchor) = anchor else { continue };
            let in_markdown = real.extension().is_some_and(|e| e == "md");
            let target_text = std::fs::read_to_string(&real).unwrap_or_default();
            if !in_markdown || !anchors(&target_text).contains(anchor) {
                found.push(format!("{shown}:{n}: {target}: no heading #{anchor} there"));
            }
        }
    }
    found
}

#[test]
fn every_relative_link_of_the_documents_resolves_inside_the_repository() {
    let root = repo();
    let docs = documents(&root);
    assert!(docs.len() > 10, "documents found: {docs:?}");
    let found: Vec<String> = docs.iter().flat_map(|d| problems(&root, d)).collect();
    assert!(
        found.is_empty(),
        "{} broken link(s):\n{}",
        found.len(),
        found.join("\n")
    );
}

/// The check itself: a dead file, a dead anchor, a path outside and an absolute path are
/// each found, and what is fine (a code span, a fenced block, a web address) is not.
#[test]
fn the_link_check_finds_what_is_broken_and_only_that() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap().join("repo");
    std::fs::create_dir_all(root.join("docs")).unwrap();
    // A file beside the repository: it exists, and is still no place to send a reader.
    std::fs::write(dir.path().join("x.md"), "# X\n").unwrap();
    std::fs::write(
        root.join("docs/b.md"),
        "# Title\n\n## A `tpm start` flag: --x\n",
    )
    .unwrap();
    std::fs::write(
        root.join("a.md"),
        "# A\n[ok](docs/b.md#a-tpm-start-flag---x) [self](#a) [web](https://example.com/#x)\n\
         `[code](nowhere.md)`\n```\n[fenced](nowhere.md)\n```\n\
         [gone](docs/c.md) [anchor](docs/b.md#nope) [up](../x.md) [abs](/etc/passwd)\n",
    )
    .unwrap();
    let found = problems(&root, &root.join("a.md"));
    assert_eq!(found.len(), 4, "{found:#?}");
    for (problem, what) in [
        ("docs/c.md: no such file", "a dead file"),
        ("docs/b.md#nope: no heading #nope", "a dead anchor"),
        (
            "../x.md is outside the repository",
            "a path above the repository",
        ),
        ("/etc/passwd is a path on one machine", "an absolute path"),
    ] {
        assert!(
            found.iter().any(|f| f.contains(problem)),
            "{what} not found: {found:#?}"
        );
    }
}
