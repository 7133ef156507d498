//! `TPM_CORE_SOURCES`: a digest of this crate's sources. With the version it names the
//! build (`supervisor::BUILD`), so a front end never hands a process to a `tpm-supervisor`
//! built from other sources: one installed from another checkout, or a stale one left in
//! `target/` by a partial build.

use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut all = vec![root.join("Cargo.toml"), root.join("build.rs")];
    files(&root.join("src"), &mut all);
    all.sort();
    // SipHash with fixed keys: the same sources give the same digest on every machine.
    let mut h = DefaultHasher::new();
    for path in &all {
        h.write(
            path.strip_prefix(&root)
                .unwrap_or(path)
                .as_os_str()
                .as_encoded_bytes(),
        );
        h.write(&std::fs::read(path).unwrap_or_default());
    }
    println!("cargo:rustc-env=TPM_CORE_SOURCES={:016x}", h.finish());
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=build.rs");
}
