//! The restart policy: what a supervisor does when its process exits unasked.
//!
//! - Every unasked exit restarts the process (unless `autorestart` is off).
//! - The delay starts at `restart_delay`, doubles after each restart, is capped at
//!   [`MAX_DELAY`], and falls back to `restart_delay` once a run has lasted [`STABLE_AFTER`].
//! - A run shorter than [`QUICK_EXIT`] is a quick exit. When the last `max_restarts` exits
//!   were all quick (a window over the most recent exits, so a crash loop that begins late
//!   in a long life is caught as surely as one at start-up), the process is `errored`.

use std::time::Duration;

/// Defaults, as documented in the README.
pub const DEFAULT_RESTART_DELAY: Duration = Duration::from_millis(100);
pub const DEFAULT_MAX_RESTARTS: u32 = 10;
pub const DEFAULT_KILL_TIMEOUT: Duration = Duration::from_millis(3000);
/// The largest values the options accept (see `options::OptionDef::range`): a record
/// written by hand or by an older tpm with more is read as these.
pub const MAX_MAX_RESTARTS: u32 = 1_000_000;
pub const MAX_RESTART_DELAY: Duration = Duration::from_secs(3600);
/// A stop never waits longer than this between TERM and KILL.
pub const MAX_KILL_TIMEOUT: Duration = Duration::from_secs(600);
/// The backoff never waits longer than this.
pub const MAX_DELAY: Duration = Duration::from_secs(15);
/// A run at least this long resets the backoff.
pub const STABLE_AFTER: Duration = Duration::from_secs(30);
/// A run shorter than this counts towards `max_restarts`.
pub const QUICK_EXIT: Duration = Duration::from_secs(1);

/// The per-process settings, stored in the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub autorestart: bool,
    pub max_restarts: u32,
    pub restart_delay: Duration,
    pub kill_timeout: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            autorestart: true,
            max_restarts: DEFAULT_MAX_RESTARTS,
            restart_delay: DEFAULT_RESTART_DELAY,
            kill_timeout: DEFAULT_KILL_TIMEOUT,
        }
    }
}

impl Policy {
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
            .map(|_| match tracker.on_exit(QUICK_EXIT) {
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

    /// The longest time `exits` quick exits in a row can take: each run under
    /// [`QUICK_EXIT`], with the backoff's delays between them. A crash loop that makes a
    /// supervisor give up fits in `crash_loop_span(max_restarts)`.
    pub fn crash_loop_span(&self, exits: u32) -> Duration {
        let waits: Duration = self.delays(exits.saturating_sub(1)).into_iter().sum();
        QUICK_EXIT * exits + waits
    }
}

/// What to do after an unasked exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Restart after this delay.
    Restart(Duration),
    /// Leave it stopped: autorestart is off.
    Stay,
    /// Too many quick exits in a row: `errored`.
    GiveUp { quick_exits: u32 },
}

/// The supervisor's memory of recent exits. Pure: time comes in as arguments.
#[derive(Debug, Clone)]
pub struct Tracker {
    policy: Policy,
    next_delay: Duration,
    quick_in_a_row: u32,
}

impl Tracker {
    pub fn new(policy: Policy) -> Tracker {
        Tracker {
            policy,
            next_delay: policy.restart_delay,
            quick_in_a_row: 0,
        }
    }

    /// Records an unasked exit after a run of `ran` and says what to do.
    pub fn on_exit(&mut self, ran: Duration) -> Decision {
        if ran >= STABLE_AFTER {
            self.next_delay = self.policy.restart_delay;
        }
        if ran < QUICK_EXIT {
            self.quick_in_a_row += 1;
        } else {
            self.quick_in_a_row = 0;
        }
        if !self.policy.autorestart {
            return Decision::Stay;
        }
        if self.policy.max_restarts > 0 && self.quick_in_a_row >= self.policy.max_restarts {
            return Decision::GiveUp {
                quick_exits: self.quick_in_a_row,
            };
        }
        let delay = self.next_delay;
        self.next_delay = (self.next_delay * 2)
            .min(MAX_DELAY)
            .max(self.policy.restart_delay);
        Decision::Restart(delay)
    }
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

    #[test]
    fn ten_quick_exits_in_a_row_give_up() {
        let mut t = Tracker::new(Policy::default());
        let got = delays(&mut t, &[QUICK; 10]);
        assert!(got[..9].iter().all(|d| matches!(d, Decision::Restart(_))));
        assert_eq!(got[9], Decision::GiveUp { quick_exits: 10 });
    }

    #[test]
    fn a_crash_loop_late_in_life_is_caught_too() {
        let mut t = Tracker::new(Policy::default());
        // A long healthy life with occasional quick exits between long runs...
        for _ in 0..50 {
            delays(&mut t, &[QUICK, QUICK, LONG]);
        }
        // ...then a loop: caught after exactly max_restarts quick exits.
        let got = delays(&mut t, &[QUICK; 10]);
        assert_eq!(got[9], Decision::GiveUp { quick_exits: 10 });
        assert!(got[..9].iter().all(|d| matches!(d, Decision::Restart(_))));
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
        // 10 quick exits: 10 runs under 1 s and the 9 delays between them.
        assert_eq!(
            p.crash_loop_span(10),
            Duration::from_millis(10_000 + 40_500)
        );
        let zero = Policy {
            restart_delay: Duration::ZERO,
            ..p
        };
        assert_eq!(zero.steps_to_cap(), 0);
        assert_eq!(zero.crash_loop_span(3), Duration::from_secs(3));
        let slow = Policy {
            restart_delay: Duration::from_secs(20),
            ..p
        };
        assert_eq!(slow.steps_to_cap(), 0);
        assert_eq!(slow.delays(2), [Duration::from_secs(20); 2]);
    }
}
