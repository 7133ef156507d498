//! The rule this folder exists for, checked on the sources: outside `platform/`, the core
//! names no operating system (no `target_os`, `target_env`, `target_vendor` in a `cfg`),
//! so porting tpm is writing a backend here, never hunting through the supervisor.

use std::path::{Path, PathBuf};

/// What names an OS or its C library in a `cfg`, `cfg!` or `cfg_attr`.
const NAMES: [&str; 3] = ["target_os", "target_env", "target_vendor"];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("a folder entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The lines of `text` (1-based) that name an OS in code; comments may say what systems do.
fn offending(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.split("//").next().unwrap_or("");
            NAMES.iter().any(|n| code.contains(n))
        })
        .map(|(i, line)| (i + 1, line.trim().to_string()))
        .collect()
}

#[test]
fn no_os_is_named_outside_the_platform_folder() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let platform = src.join("platform");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(
        files.len() > 20,
        "the sources were found under {}",
        src.display()
    );
    let mut found = Vec::new();
    for file in files.iter().filter(|f| !f.starts_with(&platform)) {
        let text = std::fs::read_to_string(file).expect("a source file is text");
        for (line, code) in offending(&text) {
            let shown = file.strip_prefix(&src).unwrap_or(file).display();
            found.push(format!("{shown}:{line}: {code}"));
        }
    }
    assert!(
        found.is_empty(),
        "an OS is named outside src/platform/ (move the OS-specific part behind the layer):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_cfg_in_every_form_and_not_in_comments() {
    let text = "#[cfg(target_os = \"linux\")]\nlet x = cfg!(target_env = \"gnu\");\n\
                #[cfg_attr(not(target_vendor = \"apple\"), allow(dead_code))]\n\
                // target_os = \"macos\" is said in a comment\nfn f() {}";
    let lines: Vec<usize> = offending(text).into_iter().map(|(l, _)| l).collect();
    assert_eq!(lines, [1, 2, 3]);
}
