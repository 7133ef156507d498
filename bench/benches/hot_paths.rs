//! The hot in-process paths of tpm-core, measured with criterion (`cargo bench`):
//! parsing records, listing a store of 1 000 records (and rendering it as JSON, as
//! `tpm list --json` does), and PORT detection on a large script.
//! `cargo test` runs each once (criterion's test mode), so they cannot rot.

use std::ffi::OsString;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tpm_core::name::Name;
use tpm_core::port::{self, PortInputs};
use tpm_core::record::Record;
use tpm_core::store::Store;
use tpm_core::{Context, Spec, Status, Tpm};

const RECORDS: usize = 1_000;

/// A record as a supervisor leaves it after a stop: every field filled in.
fn record(i: usize) -> Record {
    let mut r = Record::new(Spec::new(
        format!("/srv/app{i}/server.sh"),
        vec![format!("/srv/app{i}/server.sh"), "--verbose".into()],
        format!("/srv/app{i}"),
        Some(3000 + (i % 60_000) as u16),
    ));
    r.id = Some(i as u32);
    r.state.status = Status::Stopped;
    r.state.restarts = (i % 7) as u32;
    r.state.exit_code = Some(0);
    r.state.spid = Some(10_000 + i as u32);
    r.state.spid_start = Some(146_925 + i as u64);
    r.state.boot_id = Some("b29de52c-8d6d-404f-876d-74cba1d61de9".into());
    r.state.start_time = Some(1_795_459_838);
    r.created_at = Some(1_795_459_838);
    r.spec.env = vec![("NODE_ENV".into(), "production".into())];
    r
}

fn name(i: usize) -> String {
    format!("app{i}-{}", 3000 + i % 60_000)
}

fn records(c: &mut Criterion) {
    let lines: Vec<String> = (0..RECORDS).map(|i| record(i).to_line(&name(i))).collect();
    let bytes: usize = lines.iter().map(String::len).sum();
    let mut g = c.benchmark_group("records");
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.bench_function("parse 1000 lines", |b| {
        b.iter(|| {
            for line in &lines {
                black_box(Record::parse(black_box(line)).expect("a valid record"));
            }
        })
    });
    let parsed: Vec<Record> = lines.iter().map(|l| Record::parse(l).unwrap()).collect();
    g.bench_function("write 1000 lines", |b| {
        b.iter(|| {
            for (i, r) in parsed.iter().enumerate() {
                black_box(r.to_line(&name(i)));
            }
        })
    });
    g.finish();
    eprintln!("(1000 records: {bytes} bytes of .meta lines)");
}

fn listing(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let tetra = dir.path().join("tetra");
    let store = Store::at(tetra.join("tpm"));
    store.ensure().expect("the store");
    for i in 0..RECORDS {
        let n = Name::parse(&name(i)).expect("a valid name");
        store.write(&n, &record(i)).expect("a record written");
    }
    let ctx = Context {
        env: vec![(OsString::from("TETRA_DIR"), tetra.into_os_string())],
        cwd: dir.path().to_path_buf(),
    };
    // The supervisor binary is never run: every record is stopped.
    let tpm = Tpm::new(ctx, PathBuf::from("/nonexistent/tpm")).expect("the store opens");
    let mut g = c.benchmark_group("list");
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.bench_function("1000 records", |b| {
        b.iter(|| {
            let listing = tpm.list().expect("a listing");
            assert_eq!(listing.processes.len(), RECORDS);
            black_box(listing)
        })
    });
    let processes = tpm.list().expect("a listing").processes;
    g.bench_function("1000 records as JSON", |b| {
        b.iter(|| black_box(serde_json::to_vec(black_box(&processes)).expect("JSON")))
    });
    g.finish();
}

fn port_detection(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temp dir");
    // A long script (just under the 1 MiB tpm scans) whose PORT line comes last, and one
    // with no PORT line at all: the worst cases.
    let body: String = (0..18_000)
        .map(|i| format!("echo \"step {i}: preparing the environment\" && sleep 0\n"))
        .collect();
    assert!(body.len() < 1_000_000);
    let late = dir.path().join("late.sh");
    std::fs::write(&late, format!("{body}export PORT=4321\n")).expect("a script");
    let none = dir.path().join("none.sh");
    std::fs::write(&none, &body).expect("a script");
    let mut g = c.benchmark_group("port detection");
    g.throughput(Throughput::Bytes(body.len() as u64));
    for (label, path, want) in [
        ("PORT on the last line", &late, Some(4321)),
        ("no PORT", &none, None),
    ] {
        g.bench_with_input(BenchmarkId::new("1 MB script", label), path, |b, path| {
            b.iter(|| {
                let found = port::detect(&PortInputs {
                    flag: None,
                    args: &[],
                    env: None,
                    script: Some(path),
                    target: "script.sh",
                })
                .ok()
                .map(|d| d.port);
                assert_eq!(found, want);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, records, listing, port_detection);
criterion_main!(benches);
