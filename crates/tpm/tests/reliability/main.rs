//! The reliability suite: what users fear from a process manager, each as a test on real
//! processes. Run it alone with `cargo test -p tpm --test reliability`;
//! docs/guarantees.md states what it proves.

mod at_rest;
mod bounds;
mod concurrency;
mod crash_loops;
mod hostile_input;
mod log_compression;
mod log_faults;
mod orphans;
mod pid_reuse;
mod scale;
mod scheduled_restarts;
mod store_damage;
mod supervisor_killed;
