//! The restart policy: what a supervisor does when its process exits unasked.
//!
//! - Every unasked exit restarts the process (unless `autorestart` is off, or the exit code
//!   is one of `stop_exit_codes`: a normal end).
//! - The delay starts at `restart_delay`, doubles after each restart, is capped at
//!   [`MAX_DELAY`], and falls back to `restart_delay` once a run has lasted [`STABLE_AFTER`].
//! - A run shorter than `min_uptime` is a quick exit. Quick exits in a row are a crash loop,
//!   and the verdict (`errored`) falls when the loop has gone on for
//!   [`VERDICT_UPTIMES`] × `min_uptime` with at least [`MIN_TRIES`] quick exits, or when it
//!   has `max_restarts` quick exits, whichever comes first. At the defaults a process that
//!   can never start is `errored` 3 to 5 s after it was started, while one that fails for
//!   its first 2 s (a database not up yet) is still being retried when it comes up; a
//!   process that crashes after running a while is restarted for ever. The loop is judged
//!   wherever in a long life it begins, not only at start-up.

use std::time::Duration;

use nix::sys::signal::Signal;

/// Defaults, as documented in docs/commands.md (`tpm start`).
pub const DEFAULT_RESTART_DELAY: Duration = Duration::from_millis(100);
pub const DEFAULT_MAX_RESTARTS: u32 = 10;
pub const DEFAULT_KILL_TIMEOUT: Duration = Duration::from_millis(3000);
/// pm2's `min_uptime` default.
pub const DEFAULT_MIN_UPTIME: Duration = Duration::from_secs(1);
pub const DEFAULT_STOP_SIGNAL: Signal = Signal::SIGTERM;
/// The largest values the options accept (see `options::OptionDef::range`): a record
/// written by hand or by an older tpm with more is read as these.
pub const MAX_MAX_RESTARTS: u32 = 1_000_000;
pub const MAX_RESTART_DELAY: Duration = Duration::from_secs(3600);
pub const MAX_MIN_UPTIME: Duration = Duration::from_secs(3600);
/// The largest `--max-memory`: 1 TiB.
pub const MAX_MAX_MEMORY: u64 = 1 << 40;
/// A stop never waits longer than this between TERM and KILL.
pub const MAX_KILL_TIMEOUT: Duration = Duration::from_secs(600);
/// The backoff never waits longer than this.
pub const MAX_DELAY: Duration = Duration::from_secs(15);
/// A run at least this long resets the backoff.
pub const STABLE_AFTER: Duration = Duration::from_secs(30);
/// A crash loop is judged once it has lasted this many `min_uptime`s (3 s at the default):
/// longer than a slow starter's first failures, shorter than a user's patience.
pub const VERDICT_UPTIMES: u32 = 3;
/// ...and has had at least this many quick exits: a long `restart_delay` still gets a few
/// tries before the verdict.
pub const MIN_TRIES: u32 = 3;

/// Exit codes 0-255, as a set (Copy, so a [`Policy`] stays a value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExitCodes([u64; 4]);

impl ExitCodes {
    pub const fn empty() -> ExitCodes {
        ExitCodes([0; 4])
    }

    /// Adds `code`; codes outside 0-255 are not exit codes and are ignored.
    pub fn insert(&mut self, code: i32) {
        if let Ok(c) = u8::try_from(code) {
            self.0[usize::from(c / 64)] |= 1 << (c % 64);
        }
    }

    pub fn contains(&self, code: i32) -> bool {
        u8::try_from(code).is_ok_and(|c| self.0[usize::from(c / 64)] & (1 << (c % 64)) != 0)
    }

    pub fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }

    /// The codes, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = i32> + '_ {
        (0..=255).filter(|&c| self.contains(c))
    }

    /// `0,143`: how records, files and flags write them.
    pub fn to_text(&self) -> String {
        self.iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `0,143` (commas or spaces); an error says which item is not an exit code.
    pub fn parse(text: &str) -> Result<ExitCodes, String> {
        let mut codes = ExitCodes::empty();
        for item in text.split([',', ' ']).filter(|i| !i.is_empty()) {
            match item.parse::<u8>() {
                Ok(c) => codes.insert(i32::from(c)),
                Err(_) => return Err(format!("{item:?} is not an exit code (0-255)")),
            }
        }
        Ok(codes)
    }
}

impl FromIterator<i32> for ExitCodes {
    fn from_iter<I: IntoIterator<Item = i32>>(iter: I) -> ExitCodes {
        let mut codes = ExitCodes::empty();
        for c in iter {
            codes.insert(c);
        }
        codes
    }
}

/// A signal by name (`TERM`, `SIGQUIT`, `int`) or number (`15`).
pub fn parse_signal(text: &str) -> Result<Signal, String> {
    let t = text.trim();
    if let Ok(n) = t.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| format!("{n} is not a signal number"));
    }
    let upper = t.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    full.parse::<Signal>()
        .map_err(|_| format!("{t:?} is not a signal (TERM, INT, QUIT, HUP, USR1, ...)"))
}

/// A signal as the user writes it: `SIGQUIT`.
pub fn signal_name(signal: Signal) -> &'static str {
    signal.as_str()
}

/// The per-process settings, stored in the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub autorestart: bool,
    pub max_restarts: u32,
    pub restart_delay: Duration,
    pub kill_timeout: Duration,
    /// A run shorter than this is a quick exit (pm2's `min_uptime`).
    pub min_uptime: Duration,
    /// The signal a stop sends first (then KILL after `kill_timeout`).
    pub stop_signal: Signal,
    /// Exit codes that are a normal end: not restarted, status `stopped`.
    pub stop_exit_codes: ExitCodes,
    /// Restart it when its tree's resident memory stays above this many bytes (0: never).
    pub max_memory: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            autorestart: true,
            max_restarts: DEFAULT_MAX_RESTARTS,
            restart_delay: DEFAULT_RESTART_DELAY,
            kill_timeout: DEFAULT_KILL_TIMEOUT,
            min_uptime: DEFAULT_MIN_UPTIME,
            stop_signal: DEFAULT_STOP_SIGNAL,
            stop_exit_codes: ExitCodes::empty(),
            max_memory: 0,
        }
    }
}

impl Policy {
    /// The run of a quick exit that takes longest: just under `min_uptime`.
    fn longest_quick_run(&self) -> Duration {
        self.min_uptime.saturating_sub(Duration::from_millis(1))
    }

    /// The delays before `n` restarts in a row when no run lasts long enough to reset the
    /// backoff: what other engines' settings are derived from (see `export`). Computed by
    /// the [`Tracker`] itself, so it cannot drift from what a supervisor does.
    pub fn delays(&self, n: u32) -> Vec<Duration> {
        let mut tracker = Tracker::new(Policy {
            autorestart: true,
            max_restarts: 0,
            ..*self
        });
        (0..n)
            .map(|_| match tracker.on_exit(self.longest_quick_run()) {
                Decision::Restart(delay) => delay,
                Decision::Stay | Decision::GiveUp { .. } => MAX_DELAY,
            })
            .collect()
    }

    /// How many restarts in a row come before the delay stops growing (0 when it never
    /// grows: a zero delay, or one at or past [`MAX_DELAY`]).
    pub fn steps_to_cap(&self) -> u32 {
        let mut delay = self.restart_delay;
        let mut steps = 0;
        while !delay.is_zero() && delay < MAX_DELAY {
            delay = (delay * 2).min(MAX_DELAY);
            steps += 1;
        }
        steps
    }

    /// The longest time `exits` quick exits in a row can take: each run just under
    /// `min_uptime`, with the backoff's delays between them.
    pub fn crash_loop_span(&self, exits: u32) -> Duration {
        let waits: Duration = self.delays(exits.saturating_sub(1)).into_iter().sum();
        self.longest_quick_run() * exits + waits
    }

    /// When the verdict falls on a crash loop of the slowest quick exits (runs just under
    /// `min_uptime`): how many exits, and how long they took. `None` when it never falls
    /// (autorestart off, or `max_restarts` 0). Computed by the [`Tracker`] itself.
    pub fn verdict(&self) -> Option<(u32, Duration)> {
        if !self.autorestart || self.max_restarts == 0 {
            return None;
        }
        let mut tracker = Tracker::new(*self);
        let mut span = Duration::ZERO;
        for exits in 1..=self.max_restarts {
            span += self.longest_quick_run();
            match tracker.on_exit(self.longest_quick_run()) {
                Decision::Restart(delay) => span += delay,
                Decision::GiveUp { .. } => return Some((exits, span)),
                Decision::Stay => return None,
            }
        }
        None
    }
}

/// What to do after an unasked exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Restart after this delay.
    Restart(Duration),
    /// Leave it stopped: autorestart is off, or the exit code is a normal end.
    Stay,
    /// A crash loop judged hopeless: `errored`.
    GiveUp { quick_exits: u32 },
}

/// The supervisor's memory of recent exits. Pure: time comes in as arguments.
#[derive(Debug, Clone)]
pub struct Tracker {
    policy: Policy,
    next_delay: Duration,
    quick_in_a_row: u32,
    /// How long the current crash loop has lasted: its runs and the delays between them.
    loop_span: Duration,
    /// The delay given after the last exit (part of the loop if the next run is quick too).
    last_delay: Duration,
}

impl Tracker {
    pub fn new(policy: Policy) -> Tracker {
        Tracker {
            policy,
            next_delay: policy.restart_delay,
            quick_in_a_row: 0,
            loop_span: Duration::ZERO,
            last_delay: Duration::ZERO,
        }
    }

    /// Records an unasked exit after a run of `ran` and says what to do.
    pub fn on_exit(&mut self, ran: Duration) -> Decision {
        if ran >= STABLE_AFTER {
            self.next_delay = self.policy.restart_delay;
        }
        if ran < self.policy.min_uptime {
            if self.quick_in_a_row > 0 {
                self.loop_span += self.last_delay;
            }
            self.quick_in_a_row += 1;
            self.loop_span += ran;
        } else {
            self.quick_in_a_row = 0;
            self.loop_span = Duration::ZERO;
        }
        if !self.policy.autorestart {
            return Decision::Stay;
        }
        let p = &self.policy;
        let judged = p.max_restarts > 0
            && (self.quick_in_a_row >= p.max_restarts
                || (self.quick_in_a_row >= MIN_TRIES
                    && self.loop_span >= p.min_uptime * VERDICT_UPTIMES));
        if judged {
            return Decision::GiveUp {
                quick_exits: self.quick_in_a_row,
            };
        }
        let delay = self.next_delay;
        self.last_delay = delay;
        self.next_delay = (self.next_delay * 2)
            .min(MAX_DELAY)
            .max(self.policy.restart_delay);
        Decision::Restart(delay)
    }

    /// A restart that was not a crash (a watched file changed, the memory limit, a cron
    /// schedule): the next crash starts from a clean slate.
    pub fn on_planned_restart(&mut self) {
        self.quick_in_a_row = 0;
        self.loop_span = Duration::ZERO;
    }
}

/// Checks a `--cron-restart` expression (5 fields, or 6 with seconds first: pm2's dialect,
/// croner's).
pub fn check_cron(expr: &str) -> Result<(), String> {
    next_cron(expr, &chrono::Local::now()).map(|_| ())
}

/// The next time after `after` that `expr` names.
pub fn next_cron<Tz: chrono::TimeZone>(
    expr: &str,
    after: &chrono::DateTime<Tz>,
) -> Result<chrono::DateTime<Tz>, String> {
    let cron: croner::Cron = expr
        .parse()
        .map_err(|e| format!("--cron-restart {expr:?} is not a cron schedule: {e}"))?;
    cron.find_next_occurrence(after, false)
        .map_err(|e| format!("--cron-restart {expr:?} never comes: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICK: Duration = Duration::from_millis(10);
    const LONG: Duration = Duration::from_secs(5);

    fn delays(tracker: &mut Tracker, runs: &[Duration]) -> Vec<Decision> {
        runs.iter().map(|&r| tracker.on_exit(r)).collect()
    }

    #[test]
    fn backoff_doubles_from_the_first_delay_and_is_capped() {
        let mut t = Tracker::new(Policy {
            max_restarts: 0,
            ..Policy::default()
        });
        let got: Vec<u64> = (0..12)
            .map(|_| match t.on_exit(LONG) {
                Decision::Restart(d) => d.as_millis() as u64,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            got,
            [100, 200, 400, 800, 1600, 3200, 6400, 12800, 15000, 15000, 15000, 15000]
        );
    }

    #[test]
    fn a_stable_run_resets_the_backoff() {
        let mut t = Tracker::new(Policy::default());
        delays(&mut t, &[LONG, LONG, LONG]);
        assert_eq!(
            t.on_exit(STABLE_AFTER),
            Decision::Restart(Duration::from_millis(100))
        );
    }

    /// Quick exits of `run` each under `p`: when the verdict falls (seconds since the first
    /// start), or `None` if not within `limit` exits.
    fn verdict_time(p: Policy, run: Duration, limit: u32) -> Option<f64> {
        let mut t = Tracker::new(p);
        let mut now = Duration::ZERO;
        for _ in 0..limit {
            now += run;
            match t.on_exit(run) {
                Decision::Restart(d) => now += d,
                Decision::GiveUp { .. } => return Some(now.as_secs_f64()),
                Decision::Stay => return None,
            }
        }
        None
    }

    #[test]
    fn a_process_that_can_never_start_is_errored_within_5s_at_the_defaults() {
        // Runs of any length under min_uptime (1 s), 1 ms apart.
        let mut worst = 0.0f64;
        for ms in 0..1000 {
            let at = verdict_time(Policy::default(), Duration::from_millis(ms), 100)
                .unwrap_or_else(|| panic!("no verdict for runs of {ms} ms"));
            assert!(
                (3.0..5.0).contains(&at),
                "runs of {ms} ms: errored at {at}s"
            );
            worst = worst.max(at);
        }
        assert!(worst > 4.5, "{worst}");
    }

    #[test]
    fn a_slow_starter_is_retried_until_it_comes_up() {
        // It fails at once for its first 2 s (whatever the length of a failing run), then
        // stays up: no verdict falls before a start after those 2 s.
        for ms in (0..1000).step_by(10) {
            let run = Duration::from_millis(ms);
            let mut t = Tracker::new(Policy::default());
            let mut now = Duration::ZERO; // when the current run started
            while now < Duration::from_secs(2) {
                match t.on_exit(run) {
                    Decision::Restart(d) => now += run + d,
                    other => panic!("runs of {ms} ms: {other:?} at {now:?}"),
                }
            }
        }
    }

    #[test]
    fn max_restarts_quick_exits_in_a_row_give_up_first_when_restarts_are_fast() {
        let p = Policy {
            restart_delay: Duration::ZERO,
            ..Policy::default()
        };
        let mut t = Tracker::new(p);
        let got = delays(&mut t, &[QUICK; 10]);
        assert!(got[..9].iter().all(|d| matches!(d, Decision::Restart(_))));
        assert_eq!(got[9], Decision::GiveUp { quick_exits: 10 });
    }

    #[test]
    fn a_long_restart_delay_still_gets_three_tries() {
        let p = Policy {
            restart_delay: Duration::from_secs(5),
            ..Policy::default()
        };
        let mut t = Tracker::new(p);
        let got = delays(&mut t, &[QUICK; 3]);
        assert!(matches!(got[1], Decision::Restart(_)));
        assert_eq!(got[2], Decision::GiveUp { quick_exits: 3 });
    }

    #[test]
    fn min_uptime_sets_what_is_quick_and_how_long_a_loop_is_given() {
        let p = Policy {
            min_uptime: Duration::from_secs(5),
            ..Policy::default()
        };
        // Runs of 2 s are quick now, and a loop is judged after 15 s.
        let at = verdict_time(p, Duration::from_secs(2), 100).unwrap();
        assert!((15.0..25.0).contains(&at), "{at}");
        let mut t = Tracker::new(Policy {
            min_uptime: Duration::from_millis(100),
            ..Policy::default()
        });
        // Runs of 200 ms are not quick under a 100 ms min_uptime: never judged.
        for d in delays(&mut t, &[Duration::from_millis(200); 100]) {
            assert!(matches!(d, Decision::Restart(_)));
        }
    }

    #[test]
    fn a_crash_loop_late_in_life_is_caught_too() {
        let mut t = Tracker::new(Policy::default());
        // A long healthy life with occasional quick exits between long runs...
        for _ in 0..50 {
            delays(&mut t, &[QUICK, QUICK, STABLE_AFTER]);
        }
        // ...then a loop: judged as one at start-up would be (the 5th exit, 3.0 s in: the
        // restart after the last long run took the first 100 ms delay).
        let got = delays(&mut t, &[QUICK; 10]);
        let first = got
            .iter()
            .position(|d| matches!(d, Decision::GiveUp { .. }));
        assert_eq!(first, Some(4), "{got:?}");
    }

    #[test]
    fn a_planned_restart_clears_the_loop() {
        let mut t = Tracker::new(Policy {
            restart_delay: Duration::ZERO,
            max_restarts: 3,
            ..Policy::default()
        });
        delays(&mut t, &[QUICK, QUICK]);
        t.on_planned_restart();
        let got = delays(&mut t, &[QUICK, QUICK]);
        assert!(got.iter().all(|d| matches!(d, Decision::Restart(_))));
    }

    #[test]
    fn rare_crashes_restart_forever() {
        let mut t = Tracker::new(Policy::default());
        for d in delays(&mut t, &[LONG; 1000]) {
            assert!(matches!(d, Decision::Restart(_)));
        }
    }

    #[test]
    fn zero_delay_stays_zero_and_autorestart_off_stays_stopped() {
        let mut t = Tracker::new(Policy {
            restart_delay: Duration::ZERO,
            ..Policy::default()
        });
        assert_eq!(t.on_exit(LONG), Decision::Restart(Duration::ZERO));
        assert_eq!(t.on_exit(LONG), Decision::Restart(Duration::ZERO));
        let mut t = Tracker::new(Policy {
            autorestart: false,
            ..Policy::default()
        });
        assert_eq!(t.on_exit(LONG), Decision::Stay);
    }

    #[test]
    fn exit_codes_and_signals_read_as_written() {
        let codes = ExitCodes::parse("0,143 2").unwrap();
        assert!(codes.contains(0) && codes.contains(143) && codes.contains(2));
        assert!(!codes.contains(1) && !codes.contains(-1) && !codes.contains(256));
        assert_eq!(codes.to_text(), "0,2,143");
        assert!(ExitCodes::parse("0,300").is_err());
        assert!(ExitCodes::parse("").unwrap().is_empty());
        assert_eq!(parse_signal("QUIT"), Ok(Signal::SIGQUIT));
        assert_eq!(parse_signal("sigint"), Ok(Signal::SIGINT));
        assert_eq!(parse_signal("15"), Ok(Signal::SIGTERM));
        assert!(parse_signal("NOPE").is_err());
    }

    #[test]
    fn max_restarts_is_configurable() {
        let mut t = Tracker::new(Policy {
            max_restarts: 3,
            ..Policy::default()
        });
        let got = delays(&mut t, &[QUICK; 3]);
        assert_eq!(got[2], Decision::GiveUp { quick_exits: 3 });
    }

    #[test]
    fn the_backoff_seen_from_outside() {
        let p = Policy::default();
        let ms: Vec<u64> = p.delays(10).iter().map(|d| d.as_millis() as u64).collect();
        assert_eq!(
            ms,
            [100, 200, 400, 800, 1600, 3200, 6400, 12800, 15000, 15000]
        );
        // 100 ms doubles 8 times before the 15 s cap stops it.
        assert_eq!(p.steps_to_cap(), 8);
        // 10 quick exits: 10 runs just under 1 s and the 9 delays between them.
        assert_eq!(p.crash_loop_span(10), Duration::from_millis(9_990 + 40_500));
        // The verdict on the slowest quick exits: the third, after 3 s of runs and 300 ms
        // of delays.
        assert_eq!(p.verdict(), Some((3, Duration::from_millis(2_997 + 300))));
        let fast = Policy {
            min_uptime: Duration::from_millis(100),
            ..p
        };
        // Runs of 99 ms: the loop reaches 300 ms at the third exit.
        assert_eq!(fast.verdict().map(|v| v.0), Some(3));
        assert_eq!(
            Policy {
                max_restarts: 0,
                ..p
            }
            .verdict(),
            None
        );
        let zero = Policy {
            restart_delay: Duration::ZERO,
            ..p
        };
        assert_eq!(zero.steps_to_cap(), 0);
        assert_eq!(zero.crash_loop_span(3), Duration::from_millis(2_997));
        let slow = Policy {
            restart_delay: Duration::from_secs(20),
            ..p
        };
        assert_eq!(slow.steps_to_cap(), 0);
        assert_eq!(slow.delays(2), [Duration::from_secs(20); 2]);
    }
}
