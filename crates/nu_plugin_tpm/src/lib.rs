//! `nu_plugin_tpm`: tpm for Nushell. Every command returns typed data (tables and records
//! whose columns are the CLI's `--json` fields) instead of text.
//!
//! Like the CLI, this front end holds no process logic: commands read their arguments, call
//! `tpm_core`, and turn the results into values (`value.rs`) or labelled errors (`error.rs`).
//! Nushell may stop an idle plugin at any time, so nothing is kept between calls: each call
//! builds its `Tpm` from Nushell's environment and directory (`context.rs`).

mod commands;
mod complete;
mod context;
mod error;
mod follow;
mod selection;
mod start_options;
pub mod value;

use std::path::PathBuf;

use nu_plugin::{Plugin, PluginCommand};

/// The plugin. Each process's supervisor is the `tpm-supervisor` installed beside it, or
/// else the plugin's own binary re-executed, so it works without a `tpm` on PATH.
pub struct TpmPlugin {
    supervisor_exe: PathBuf,
}

impl TpmPlugin {
    /// `supervisor_exe` must be a binary whose `main` first calls
    /// `tpm_core::supervisor::run_if_requested` (this crate's `nu_plugin_tpm` does).
    pub fn new(supervisor_exe: PathBuf) -> TpmPlugin {
        TpmPlugin { supervisor_exe }
    }

    /// The plugin as its binary runs it: supervisors are this same binary.
    pub fn from_current_exe() -> std::io::Result<TpmPlugin> {
        Ok(TpmPlugin::new(std::env::current_exe()?))
    }

    /// The `tpm` CLI binary, for what must run it rather than the plugin (a completion
    /// script registers it; `tpm startup`'s unit runs `tpm resurrect` at boot): the one
    /// installed beside the plugin, else the first on Nushell's PATH.
    fn cli_binary(&self, ctx: &tpm_core::Context) -> Option<PathBuf> {
        let beside = self.supervisor_exe.with_file_name("tpm");
        if beside.is_file() {
            return Some(beside);
        }
        tpm_core::target::which("tpm", ctx)
    }
}

impl Plugin for TpmPlugin {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").into()
    }

    fn commands(&self) -> Vec<Box<dyn PluginCommand<Plugin = Self>>> {
        commands::all()
    }
}
