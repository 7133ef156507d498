//! The program every manager runs in the benchmarks: this binary, as `tpm-bench child ROLE`.
//! It stamps what the harness times, with `CLOCK_MONOTONIC` (one clock for every process on
//! the machine), so a figure never depends on how fast the harness notices something.
//!
//! - `stamp FILE`: writes `start NS PID`, then sleeps until signalled (start and stop);
//! - `crash FILE MS`: writes `start NS PID`, lives MS milliseconds, writes `exit NS`, exits 1
//!   (crash-to-restart: the gap between an `exit` and the next `start`);
//! - `spew FILE BYTES SENTINEL`: writes `start NS PID`, then BYTES of 100-byte lines to
//!   stdout and a last line SENTINEL, then sleeps (log throughput);
//! - `serve PORT`: answers every HTTP request on 127.0.0.1:PORT with `200 OK` (what a
//!   liveness check costs).

use std::fs::OpenOptions;
use std::io::Write;
use std::time::Duration;

use crate::clock::mono_ns;

/// Bytes per line written by `spew`, newline included: a typical log line.
pub const LINE: usize = 100;

pub fn main(args: &[String]) -> i32 {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["stamp", file] => stamp(file).map(|()| sleep_forever()),
        ["crash", file, ms] => crash(file, ms),
        ["spew", file, bytes, sentinel] => spew(file, bytes, sentinel).map(|()| sleep_forever()),
        ["serve", port] => serve(port),
        _ => Err(
            "usage: tpm-bench child stamp FILE | crash FILE MS | spew FILE BYTES SENTINEL | serve PORT"
                .into(),
        ),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("tpm-bench child: {e}");
            2
        }
    }
}

/// Appends one line in a single `write` (O_APPEND), so lines from successive runs never mix.
fn append(file: &str, line: &str) -> Result<(), String> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .map_err(|e| format!("{file}: {e}"))
}

fn started(file: &str) -> Result<(), String> {
    append(
        file,
        &format!("start {} {}\n", mono_ns(), std::process::id()),
    )
}

fn stamp(file: &str) -> Result<(), String> {
    started(file)
}

fn crash(file: &str, ms: &str) -> Result<(), String> {
    started(file)?;
    let ms: u64 = ms.parse().map_err(|_| format!("bad milliseconds: {ms}"))?;
    std::thread::sleep(Duration::from_millis(ms));
    append(file, &format!("exit {}\n", mono_ns()))?;
    std::process::exit(1)
}

fn spew(file: &str, bytes: &str, sentinel: &str) -> Result<(), String> {
    started(file)?;
    let total: u64 = bytes
        .parse()
        .map_err(|_| format!("bad byte count: {bytes}"))?;
    let block = lines_block();
    let mut out = std::io::stdout().lock();
    let mut left = total;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        out.write_all(&block[..n])
            .map_err(|e| format!("stdout: {e}"))?;
        left -= n as u64;
    }
    writeln!(out, "{sentinel}").map_err(|e| format!("stdout: {e}"))?;
    out.flush().map_err(|e| format!("stdout: {e}"))
}

/// One connection at a time: the request's head read, `200 OK` written, the connection
/// closed (a check comes every 30 s; nothing here needs more).
fn serve(port: &str) -> Result<(), String> {
    let port: u16 = port.parse().map_err(|_| format!("bad port: {port}"))?;
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("127.0.0.1:{port}: {e}"))?;
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match std::io::Read::read(&mut conn, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let _ = conn.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
    Ok(())
}

/// 655 lines of [`LINE`] bytes (64 KiB less 36 bytes): what one `write` sends.
pub fn lines_block() -> Vec<u8> {
    let mut line =
        b"GET /api/items?page=2 200 1234 bytes in 3 ms - a typical line of an access log ".to_vec();
    line.resize(LINE - 1, b'.');
    line.push(b'\n');
    line.repeat(65536 / LINE)
}

fn sleep_forever() {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_is_whole_lines_of_the_stated_length() {
        let block = lines_block();
        assert_eq!(block.len() % LINE, 0);
        assert!(block.len() <= 65536);
        assert!(block
            .chunks(LINE)
            .all(|l| l.len() == LINE && l[LINE - 1] == b'\n' && !l[..LINE - 1].contains(&b'\n')));
    }
}
