//! The open-file budget: every in-flight connect probe holds one file descriptor, so the
//! process's `RLIMIT_NOFILE` bounds how many probes can run at once.

use std::io;

/// File descriptors kept free for everything but probes: the runtime, the session log, stdio.
pub const FD_RESERVE: u64 = 64;

/// Ceiling for the soft limit when the hard limit is unlimited and the kernel's own ceiling
/// (`/proc/sys/fs/nr_open`) cannot be read; Linux's default `nr_open`.
const UNLIMITED_CAP: u64 = 1 << 20;

/// Limits assumed when they cannot be read at all: the usual Linux default soft limit.
const FALLBACK_LIMIT: u64 = 1024;

/// The process's file-descriptor budget after raising the soft RLIMIT_NOFILE to the hard limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdBudget {
    /// The soft limit now in force: the most descriptors the process can hold.
    pub soft: u64,
    /// The hard limit: the most the soft limit can be raised to without privileges.
    /// `u64::MAX` means unlimited.
    pub hard: u64,
    /// The soft limit before it was raised; `None` when it was not changed.
    pub raised_from: Option<u64>,
}

/// Raise the soft RLIMIT_NOFILE to the hard limit (an unlimited hard limit is capped at the
/// kernel's `nr_open`, else 2^20). Never fails the program: on error it returns the current
/// limits, and if even those cannot be read, 1024 for both.
pub fn raise_nofile_limit() -> FdBudget {
    let (soft, hard) = match get_nofile() {
        Ok(limits) => limits,
        Err(_) => {
            return FdBudget {
                soft: FALLBACK_LIMIT,
                hard: FALLBACK_LIMIT,
                raised_from: None,
            };
        }
    };
    let target = raise_target(hard, kernel_fd_ceiling());
    if soft >= target {
        return FdBudget {
            soft,
            hard,
            raised_from: None,
        };
    }
    match set_nofile(target, hard) {
        Ok(()) => FdBudget {
            soft: target,
            hard,
            raised_from: Some(soft),
        },
        Err(_) => FdBudget {
            soft,
            hard,
            raised_from: None,
        },
    }
}

/// Number of file descriptors open in this process now (/proc/self/fd), None if unknown.
pub fn open_fd_count() -> Option<u64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    let listed = entries.count() as u64;
    // The directory handle doing the listing is itself one of the entries.
    Some(listed.saturating_sub(1))
}

/// Concurrency that fits: each in-flight probe holds one fd; keep `reserve` fds (the runtime, the
/// session log, stdio) plus the ones open now.
///
/// Returns the clamped value (never 0, even when nothing is free) and, when it is lower than
/// `requested`, a warning such as
/// "concurrency 5000 does not fit the open-file limit of 1024 (hard limit 1024); using 950.
/// Raise it with `ulimit -n` to go higher."
pub fn clamp_concurrency(
    requested: u32,
    budget: FdBudget,
    open_now: u64,
    reserve: u64,
) -> (u32, Option<String>) {
    let requested = requested.max(1);
    let free = budget.soft.saturating_sub(open_now).saturating_sub(reserve);
    if u64::from(requested) <= free {
        return (requested, None);
    }
    // `free < requested <= u32::MAX`, so the conversion cannot fail.
    let fits = u32::try_from(free).unwrap_or(u32::MAX).max(1);
    if fits == requested {
        // Not even one probe's descriptor is free, but one probe is the least a scan can run.
        return (fits, None);
    }
    let warning = format!(
        "concurrency {requested} does not fit the open-file limit of {} (hard limit {}); \
         using {fits}. Raise it with `ulimit -n` to go higher.",
        budget.soft,
        describe_limit(budget.hard),
    );
    (fits, Some(warning))
}

/// A limit for messages: `unlimited` for `u64::MAX`, else the number.
fn describe_limit(limit: u64) -> String {
    if limit == u64::MAX {
        "unlimited".to_string()
    } else {
        limit.to_string()
    }
}

/// The soft limit to aim for: the hard limit, or `ceiling` when the hard limit is unlimited.
fn raise_target(hard: u64, ceiling: u64) -> u64 {
    if hard == u64::MAX { ceiling } else { hard }
}

/// The most descriptors the kernel lets one process have (`/proc/sys/fs/nr_open`), or
/// [`UNLIMITED_CAP`] when it cannot be read.
fn kernel_fd_ceiling() -> u64 {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(UNLIMITED_CAP)
}

/// A `rlim_t` as `u64`, `RLIM_INFINITY` as `u64::MAX`.
// `rlim_t` is `u64` on most targets but `u32` on some 32-bit ones, where the conversion is real.
#[allow(clippy::useless_conversion)]
fn from_rlim(value: libc::rlim_t) -> u64 {
    if value == libc::RLIM_INFINITY {
        u64::MAX
    } else {
        u64::from(value)
    }
}

/// A `u64` as `rlim_t`, `u64::MAX` (or anything too large) as `RLIM_INFINITY`.
fn to_rlim(value: u64) -> libc::rlim_t {
    if value == u64::MAX {
        libc::RLIM_INFINITY
    } else {
        libc::rlim_t::try_from(value).unwrap_or(libc::RLIM_INFINITY)
    }
}

/// The current (soft, hard) RLIMIT_NOFILE.
fn get_nofile() -> io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `rlimit` that outlives the call; getrlimit only
    // writes into it.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((from_rlim(limit.rlim_cur), from_rlim(limit.rlim_max)))
}

/// Sets RLIMIT_NOFILE to (`soft`, `hard`).
fn set_nofile(soft: u64, hard: u64) -> io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: to_rlim(soft),
        rlim_max: to_rlim(hard),
    };
    // SAFETY: `limit` is a valid `rlimit` that outlives the call; setrlimit only reads it.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    /// Set in the child process that `raise_lifts_a_lowered_soft_limit` starts.
    const CHILD_ENV: &str = "SCANWATCH_RLIMIT_TEST_CHILD";

    fn budget(soft: u64, hard: u64) -> FdBudget {
        FdBudget {
            soft,
            hard,
            raised_from: None,
        }
    }

    #[test]
    fn concurrency_that_fits_is_kept_without_a_warning() {
        assert_eq!(
            clamp_concurrency(100, budget(1024, 4096), 10, FD_RESERVE),
            (100, None)
        );
        // Exactly the free descriptors: 1024 - 10 - 64.
        assert_eq!(
            clamp_concurrency(950, budget(1024, 1024), 10, 64),
            (950, None)
        );
    }

    #[test]
    fn concurrency_over_the_limit_is_clamped_with_a_warning() {
        let (fits, warning) = clamp_concurrency(5000, budget(1024, 1024), 10, 64);
        assert_eq!(fits, 950);
        assert_eq!(
            warning.as_deref(),
            Some(
                "concurrency 5000 does not fit the open-file limit of 1024 (hard limit 1024); \
                 using 950. Raise it with `ulimit -n` to go higher."
            )
        );
        let (fits, warning) = clamp_concurrency(951, budget(1024, 1024), 10, 64);
        assert_eq!(fits, 950);
        assert!(warning.is_some());
    }

    #[test]
    fn an_unlimited_hard_limit_reads_as_unlimited() {
        let (_, warning) = clamp_concurrency(5000, budget(1024, u64::MAX), 0, 64);
        assert!(warning.unwrap().contains("(hard limit unlimited)"));
    }

    #[test]
    fn concurrency_is_never_zero() {
        assert_eq!(clamp_concurrency(100, budget(50, 50), 10, 64).0, 1);
        assert_eq!(clamp_concurrency(100, budget(0, 0), 0, 0).0, 1);
        assert_eq!(clamp_concurrency(100, budget(74, 74), 10, 64).0, 1);
        assert_eq!(clamp_concurrency(0, budget(1024, 1024), 0, 0), (1, None));
        assert!(clamp_concurrency(100, budget(50, 50), 10, 64).1.is_some());
    }

    #[test]
    fn extreme_inputs_do_not_overflow() {
        let huge = budget(u64::MAX, u64::MAX);
        assert_eq!(clamp_concurrency(u32::MAX, huge, 0, 0), (u32::MAX, None));
        assert_eq!(clamp_concurrency(u32::MAX, huge, u64::MAX, u64::MAX).0, 1);
        assert_eq!(clamp_concurrency(7, budget(0, 0), u64::MAX, u64::MAX).0, 1);
        let (fits, _) =
            clamp_concurrency(u32::MAX, budget(u64::from(u32::MAX) + 5, u64::MAX), 1, 1);
        assert_eq!(fits, u32::MAX);
    }

    #[test]
    fn clamping_holds_its_promises_across_many_inputs() {
        let values = [
            0,
            1,
            2,
            63,
            64,
            65,
            100,
            1023,
            1024,
            4096,
            1 << 20,
            u64::from(u32::MAX),
            u64::MAX,
        ];
        for &soft in &values {
            for &open_now in &values {
                for &reserve in &[0, 1, FD_RESERVE, u64::MAX] {
                    for requested in [0, 1, 2, 512, 1024, 100_000, u32::MAX] {
                        let (fits, warning) =
                            clamp_concurrency(requested, budget(soft, soft), open_now, reserve);
                        let free = soft.saturating_sub(open_now).saturating_sub(reserve);
                        assert!(fits >= 1);
                        assert!(fits <= requested.max(1));
                        assert!(u64::from(fits) <= free.max(1));
                        assert_eq!(warning.is_some(), fits < requested.max(1));
                    }
                }
            }
        }
    }

    #[test]
    fn an_unlimited_hard_limit_is_capped() {
        assert_eq!(raise_target(4096, 1 << 20), 4096);
        assert_eq!(raise_target(u64::MAX, 1 << 20), 1 << 20);
        assert_eq!(raise_target(u64::MAX, 1_073_741_816), 1_073_741_816);
    }

    #[test]
    fn rlim_values_round_trip() {
        assert_eq!(from_rlim(libc::RLIM_INFINITY), u64::MAX);
        assert_eq!(to_rlim(u64::MAX), libc::RLIM_INFINITY);
        assert_eq!(from_rlim(to_rlim(1024)), 1024);
    }

    #[test]
    fn raising_leaves_the_soft_limit_at_its_target() {
        let budget = raise_nofile_limit();
        assert!(budget.soft <= budget.hard, "{budget:?}");
        assert_eq!(
            budget.soft,
            raise_target(budget.hard, kernel_fd_ceiling()),
            "{budget:?}"
        );
        assert_eq!(get_nofile().unwrap(), (budget.soft, budget.hard));
        let again = raise_nofile_limit();
        assert_eq!(
            again,
            FdBudget {
                raised_from: None,
                ..budget
            }
        );
    }

    #[test]
    fn open_descriptors_are_counted() {
        if !std::path::Path::new("/proc/self/fd").is_dir() {
            eprintln!("skipped: no /proc/self/fd here");
            return;
        }
        assert!(open_fd_count().is_some_and(|n| n >= 1));
    }

    /// Runs `child_raises_a_lowered_limit` alone in a new process, so lowering the limit there
    /// cannot starve the other tests of file descriptors.
    #[test]
    fn raise_lifts_a_lowered_soft_limit() {
        let exe = std::env::current_exe().unwrap();
        let output = Command::new(exe)
            .args(["--exact", "rlimit::tests::child_raises_a_lowered_limit"])
            .args(["--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
        assert!(
            stdout.contains("1 passed"),
            "child test did not run:\n{stdout}\n{stderr}"
        );
    }

    #[test]
    #[ignore = "runs inside raise_lifts_a_lowered_soft_limit's child process"]
    fn child_raises_a_lowered_limit() {
        if std::env::var_os(CHILD_ENV).is_none() {
            return;
        }
        let (_, hard) = get_nofile().unwrap();
        let target = raise_target(hard, kernel_fd_ceiling());
        let lowered = 256.min(target - 1);
        set_nofile(lowered, hard).unwrap();
        let budget = raise_nofile_limit();
        assert_eq!(
            budget,
            FdBudget {
                soft: target,
                hard,
                raised_from: Some(lowered)
            }
        );
        assert_eq!(get_nofile().unwrap(), (target, hard));
    }
}
