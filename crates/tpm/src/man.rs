//! `tpm __man DIR`: writes the manual pages, `tpm.1` and one `tpm-COMMAND.1` per subcommand,
//! from the same clap `Command` that parses the arguments, prints `--help` and completes, so
//! a page cannot say something the binary does not do. Hidden: `install.sh` runs it; a user
//! reads the pages with `man tpm-start`.

use std::path::{Path, PathBuf};

/// The argument that asks for the pages, before clap parses anything (it is no subcommand,
/// so it is not in `--help` nor in the completions).
pub const REQUEST: &str = "__man";

/// Writes the pages into `dir` (made if missing) and prints one line per page. Exit 0, or
/// 64 without a folder, or 1 when a page cannot be written.
pub fn run(dir: Option<&Path>) -> i32 {
    let Some(dir) = dir else {
        crate::render::eline("tpm: __man needs the folder to write the pages into");
        return tpm_core::error::EXIT_USAGE;
    };
    match write_pages(dir) {
        Ok(pages) => {
            for page in pages {
                println!("{}", page.display());
            }
            0
        }
        Err(e) => {
            crate::render::eline(&format!(
                "tpm: cannot write the manual pages into {}: {e}",
                dir.display()
            ));
            1
        }
    }
}

/// `tpm.1`, then `tpm-NAME.1` for every subcommand (an alias is no page of its own: the
/// page of `list` says `ls`).
pub fn write_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    // Built, clap names each subcommand `tpm-start` (its display name), as git's pages are.
    let mut cmd = crate::cli::command().disable_help_subcommand(true);
    cmd.build();
    let source = format!("tpm {}", env!("CARGO_PKG_VERSION"));
    let mut written = vec![page(dir, cmd.clone(), &source)?];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        written.push(page(dir, sub.clone(), &source)?);
    }
    Ok(written)
}

fn page(dir: &Path, cmd: clap::Command, source: &str) -> std::io::Result<PathBuf> {
    let man = clap_mangen::Man::new(cmd)
        .source(source)
        .manual("tpm manual");
    let path = dir.join(man.get_filename());
    let mut roff = Vec::new();
    man.render(&mut roff)?;
    // Whole or not at all: `man` never finds half a page.
    let tmp = dir.join(format!(".{}.tmp", man.get_filename()));
    std::fs::write(&tmp, roff)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}
