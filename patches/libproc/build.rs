// tpm's copy: the only change from libproc 0.14.11 is this build script.
//
// The original decides with `#[cfg(target_os = "macos")]`, which in a build script is the
// OS the build runs on, not the one it builds for: checking for macOS from Linux then
// generates nothing and the crate fails to compile. This script asks Cargo for the target
// (`CARGO_CFG_TARGET_OS`) and, for macOS, copies in the bindings the crate ships for
// docs.rs (generated from the same <libproc.h>), so no SDK and no clang are needed.
use std::env;
use std::fs;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=docs_rs/osx_libproc_bindings.rs");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("macos") {
        return;
    }
    let out = Path::new(&env::var("OUT_DIR").expect("Cargo sets OUT_DIR for build scripts"))
        .join("osx_libproc_bindings.rs");
    fs::copy("docs_rs/osx_libproc_bindings.rs", out)
        .expect("copying the shipped libproc bindings into OUT_DIR");
}
