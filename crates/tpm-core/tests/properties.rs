//! Properties of the parsers and validators that hostile input reaches, checked on
//! generated input (proptest). CI runs the default number of cases; for a long run:
//! `PROPTEST_CASES=1000000 cargo test -p tpm-core --release --test properties`.
//! The `fuzz/` folder has the same targets for cargo-fuzz.

use std::time::Duration;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use tpm_core::name::{Name, Selector};
use tpm_core::policy::Policy;
use tpm_core::port;
use tpm_core::record::Record;
use tpm_core::rotation::LogLimits;
use tpm_core::spec::Spec;
use tpm_core::state::State;
use tpm_core::store::Store;
use tpm_core::Status;

/// Text a record may hold: anything printable (line breaks are refused before storing).
fn text() -> impl Strategy<Value = String> {
    "\\PC{0,24}"
}

fn status() -> impl Strategy<Value = Status> {
    prop::sample::select(Status::ALL.to_vec())
}

prop_compose! {
    // Within the options' ranges: a record holding more is read as the largest allowed.
    fn policy()(
        autorestart: bool,
        max_restarts in 0..=tpm_core::policy::MAX_MAX_RESTARTS,
        delay in 0..=tpm_core::policy::MAX_RESTART_DELAY.as_millis() as u64,
        kill in 0..=tpm_core::policy::MAX_KILL_TIMEOUT.as_millis() as u64,
    ) -> Policy {
        Policy {
            autorestart,
            max_restarts,
            restart_delay: Duration::from_millis(delay),
            kill_timeout: Duration::from_millis(kill),
            ..Policy::default()
        }
    }
}

prop_compose! {
    fn record()(
        id in option::of(any::<u32>()),
        script in text(),
        cmd in vec(text(), 1..5),
        cwd in text(),
        env in vec(("[A-Za-z_][A-Za-z0-9_]{0,8}", text()), 0..4),
        port in option::of(1u16..),
        kind in "[a-z]{1,9}",
        status in status(),
        pids in (option::of(any::<u32>()), option::of(any::<u64>()), option::of(any::<u32>()), option::of(any::<u64>())),
        boot_id in option::of("[0-9a-f-]{1,36}"),
        times in (option::of(any::<i64>()), option::of(any::<i64>())),
        restarts: u32,
        exit_code in option::of(any::<i32>()),
        reason in option::of("\\PC{1,40}"),
        policy in policy(),
        logs in (0..=tpm_core::rotation::MAX_SIZE, 0..=tpm_core::rotation::MAX_KEEP),
        cgroup in option::of("/[a-z0-9/._-]{1,40}"),
        log_dropped: u64,
        usage in (option::of(0u32..200_000), option::of(any::<u64>()), option::of(any::<bool>())),
        wanted: bool,
        cluster in (option::of(0u32..256), 0u32..=1000, any::<bool>()),
        extra in vec(("[a-z_][a-z0-9_]{0,10}", text()), 0..4),
    ) -> Record {
        let mut extra: Vec<(String, String)> = extra
            .into_iter()
            .filter(|(k, _)| !tpm_core::record::KEYS.contains(&k.as_str()))
            .collect();
        extra.sort_by(|a, b| a.0.cmp(&b.0));
        extra.dedup_by(|a, b| a.0 == b.0);
        // A NODE_ENV variable is also written as `node_env`, and read back as one.
        let env: Vec<(String, String)> = env.into_iter().filter(|(k, _)| k != "NODE_ENV").collect();
        Record {
            id,
            created_at: times.1,
            spec: Spec {
                script, cmd, cwd, env, port, kind, policy, wanted,
                logs: LogLimits { max_size: logs.0, keep: logs.1, ..LogLimits::default() },
                discard: Default::default(),
                cluster: tpm_core::spec::Cluster {
                    instance: cluster.0,
                    port_step: cluster.1,
                    socket: cluster.2,
                    ..Default::default()
                },
                ready: Default::default(),
                health: None,
                watchdog: None,
                cron_restart: None,
                watch: None,
                file: None,
                app: None,
                depends_on: Vec::new(),
            },
            state: State {
                status,
                pid: pids.0, pid_start: pids.1, spid: pids.2, spid_start: pids.3,
                boot_id, start_time: times.0, restarts, exit_code, reason, log_dropped, cgroup,
                // CPU is written with one decimal.
                cpu: usage.0.map(|tenths| f64::from(tenths) / 10.0),
                mem: usage.1,
                listening: usage.2,
                ready: usage.2,
                ..State::default()
            },
            extra,
        }
    }
}

proptest! {
    #[test]
    fn a_record_reads_back_as_written(r in record()) {
        let line = r.to_line("any-1");
        prop_assert_eq!(line.matches('\n').count(), 1);
        prop_assert_eq!(Record::parse(&line).unwrap(), r);
    }

    #[test]
    fn parsing_any_text_never_panics(text in any::<String>()) {
        let _ = Record::parse(&text);
    }

    #[test]
    fn parsing_key_value_soup_never_panics_and_what_parses_round_trips(
        pairs in vec(("[a-z_]{1,11}", "\\PC{0,12}"), 0..12),
    ) {
        let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", shell_words::quote(v))).collect();
        if let Ok(r) = Record::parse(&text.join(" ")) {
            prop_assert_eq!(Record::parse(&r.to_line("x-1")).unwrap(), r);
        }
    }

    #[test]
    fn an_accepted_name_is_a_safe_file_name(raw in any::<String>()) {
        if let Ok(name) = Name::parse(&raw) {
            let s = name.as_str();
            prop_assert!(!s.is_empty() && s.len() <= 100 && !s.starts_with('.'));
            prop_assert!(s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
            let store = Store::at("/store".into());
            let path = store.meta_path(&name);
            prop_assert_eq!(path.parent().unwrap(), std::path::Path::new("/store/processes"));
        }
    }

    #[test]
    fn a_derived_name_is_always_valid(base in any::<String>(), port in 1u16..) {
        let name = Name::with_port(&base, Some(port), true).unwrap();
        let suffix = format!("-{port}");
        prop_assert!(name.as_str().ends_with(&suffix));
    }

    #[test]
    fn every_port_number_parses_and_nothing_else_does(n in any::<u32>(), junk in "\\PC{0,7}") {
        let expected = (1..=65535).contains(&n).then_some(n as u16);
        prop_assert_eq!(port::parse_port(&n.to_string()), expected);
        if junk.parse::<u16>().is_err() || junk.starts_with('+') {
            prop_assert_eq!(port::parse_port(&junk), None);
        }
    }

    #[test]
    fn scanning_any_bytes_never_panics(bytes in vec(any::<u8>(), 0..2048)) {
        let _ = port::scan(&bytes[..]);
    }

    #[test]
    fn a_port_line_among_other_lines_is_found(
        before in vec("[a-zA-OQ-Z0-9 #=$]{0,30}", 0..20),
        after in vec("\\PC{0,30}", 0..5),
        p in 1u16..,
        form in 0usize..4,
    ) {
        let line = [format!("export PORT={p}"), format!("PORT={p}"), format!("PORT=\"{p}\""), format!("PORT=${{PORT:-{p}}}")][form].clone();
        let text = [before.join("\n"), line, after.join("\n")].join("\n");
        prop_assert_eq!(port::scan(text.as_bytes()), Some(p));
    }

    #[test]
    fn detection_from_arguments_never_panics_and_honours_port_flags(
        mut args in vec("\\PC{0,8}", 0..8),
        p in 1u16..,
        at in 0usize..8,
    ) {
        let i = at.min(args.len());
        args.insert(i, format!("--port={p}"));
        let found = port::detect(&port::PortInputs { flag: None, args: &args, env: None, script: None, target: "t" });
        // An earlier --port/-p argument may win; a valid port is found either way.
        prop_assert!(found.is_ok());
    }

    #[test]
    fn command_strings_split_back_into_their_words(words in vec(any::<String>(), 0..8)) {
        let joined = shell_words::join(&words);
        prop_assert_eq!(shell_words::split(&joined).unwrap(), words);
    }

    #[test]
    fn star_patterns_match_like_a_regex(pattern in "[ab*]{0,7}", name in "[ab]{1,10}") {
        let Ok(selector) = Selector::parse(&pattern) else { return Ok(()); };
        let parts: Vec<String> = pattern.split('*').map(regex_escape).collect();
        let re = regex_lite(&format!("^{}$", parts.join(".*")));
        prop_assert_eq!(selector.matches(&Name::parse(&name).unwrap()), re(&name));
    }
}

fn regex_escape(s: &str) -> String {
    s.to_string() // the alphabet has no metacharacters
}

/// A tiny reference matcher for `^(literal|.*)*$` patterns, independent of the code under test.
fn regex_lite(re: &str) -> impl Fn(&str) -> bool {
    let body = re.trim_start_matches('^').trim_end_matches('$').to_string();
    move |text: &str| {
        let parts: Vec<&str> = body.split(".*").collect();
        if parts.len() == 1 {
            return text == parts[0];
        }
        let (first, last) = (parts[0], parts[parts.len() - 1]);
        if !text.starts_with(first)
            || text.len() < first.len() + last.len()
            || !text.ends_with(last)
        {
            return false;
        }
        let mut rest = &text[first.len()..text.len() - last.len()];
        for mid in &parts[1..parts.len() - 1] {
            match rest.find(mid) {
                Some(i) => rest = &rest[i + mid.len()..],
                None => return false,
            }
        }
        true
    }
}
