//! `nu_plugin_tpm`: tpm's Nushell front end, run by Nushell (`plugin add`), never by hand.

use nu_plugin::{serve_plugin, MsgPackSerializer};
use nu_plugin_tpm::TpmPlugin;

fn main() {
    // First: this binary may have been re-executed as a process's supervisor.
    tpm_core::supervisor::run_if_requested();
    let plugin = match TpmPlugin::from_current_exe() {
        Ok(plugin) => plugin,
        Err(e) => {
            eprintln!("nu_plugin_tpm: cannot find its own binary to run supervisors: {e}");
            std::process::exit(1);
        }
    };
    serve_plugin(&plugin, MsgPackSerializer);
}
