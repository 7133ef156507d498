//! The plugin's tests. In-process (`in_process`): signatures and examples, through
//! `nu-plugin-test-support`. End to end (`real_nu`, `apps`, `examples`): the real `nu` 0.115.1
//! loading the built plugin, real processes, the real `tpm` CLI beside it.
//!
//! The end-to-end tests need `nu` 0.115.1: `$TPM_TEST_NU`, else the copy `.ci/run` installs in
//! `.ci/cache`, else `nu` on PATH. Without it they fail, saying how to get it.

mod apps;
mod completion;
mod engines;
mod examples;
mod history;
mod in_process;
mod real_nu;
mod reboot;
mod world;
