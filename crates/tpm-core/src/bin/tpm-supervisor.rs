//! `tpm-supervisor`: the supervisor alone (see `tpm_core::supervisor`), a small binary that
//! `tpm` and the Nushell plugin run, one per managed process, when it is installed beside them.

fn main() {
    tpm_core::supervisor::main()
}
