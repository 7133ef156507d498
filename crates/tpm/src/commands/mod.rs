//! One file per command. Each parses nothing (clap did), calls `tpm_core`, renders, and
//! returns its exit code.

pub mod completions;
pub mod describe;
pub mod doctor;
pub mod dump;
pub mod events;
pub mod export;
pub mod flush;
pub mod import;
pub mod init;
pub mod list;
pub mod logs;
pub mod metrics;
pub mod monit;
pub mod ports;
pub mod reload;
pub mod resurrect;
pub mod save;
pub mod scale;
pub mod serve;
pub mod start;
pub mod startup;
pub mod stop;

/// Says on stderr what was worth a warning.
pub fn warn_all(warnings: &[String]) {
    for w in warnings {
        crate::render::eline(&format!("tpm: warning: {w}"));
    }
}

/// The exit code of an operation on several processes: the first failure's, or 0.
pub fn first_failure(codes: impl IntoIterator<Item = i32>) -> i32 {
    codes.into_iter().find(|&c| c != 0).unwrap_or(0)
}
