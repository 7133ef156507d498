//! The reliability suite: what users fear from a process manager, each as a test on real
//! processes. Run it alone with `cargo test -p tpm --test reliability`; the README's
//! "Guarantees" section states what it proves.

mod concurrency;
mod crash_loops;
mod hostile_input;
mod log_faults;
mod orphans;
mod pid_reuse;
mod supervisor_killed;

use tpm_testkit::Sandbox;

/// The `spid` field of a record.
pub fn record_field(s: &Sandbox, name: &str, key: &str) -> Option<u64> {
    s.record(name)
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{key}="))?.parse().ok())
}
