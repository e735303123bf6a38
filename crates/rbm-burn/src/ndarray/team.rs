//! A team of threads for the host kernels of `NdArray<f32>`, whose idle members wait for the
//! next job by spinning rather than sleeping.
//!
//! A CD update on the host alternates matrix products (a few hundred microseconds each at
//! batch 100) with short element-wise passes (tens of microseconds). A thread pool whose idle
//! threads go to sleep within microseconds, as rayon's do, has to wake them for every product,
//! and on the 2-core machine of the README that costs 10–20 % of each product (measured: the
//! same products run that much slower with a 150 µs pause before each). Numerical libraries
//! with their own threads (OpenBLAS, MKL, OpenMP runtimes) avoid this by spinning between
//! jobs, and so does this team: a helper polls for work for [`SPIN`] after its last job, and
//! only then parks until the next one.
//!
//! The team has as many members as rayon's global pool has threads (`RAYON_NUM_THREADS`, or
//! one per core, as for the rest of `NdArray`), but never more than the machine's cores, since
//! spinning threads that outnumber the cores only take turns: the calling thread and that many
//! less one helpers, started on first use and kept for the life of the process, like rayon's
//! pool. A job runs `parts` numbered parts, part `p` on member `p mod size`; the caller runs its
//! own parts and returns once every part has finished. One caller uses the team at a time: a
//! second caller (another thread, or a part that itself asks for the team) runs all its parts
//! in order on its own thread instead of waiting, so nothing can deadlock, and since the parts
//! are the same either way, so are the results.
//!
//! While polling, a helper yields its core to any other runnable thread every few
//! microseconds, so that on a busy machine it costs little more than a sleeping thread.

use std::any::Any;
use std::cell::UnsafeCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, TryLockError};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How long a helper polls for the next job before it parks. Longer than the gaps between
/// the products of a CD update (the element-wise passes and the next batch's gather), short
/// enough that a helper stops competing for its core soon after the work stops.
const SPIN: Duration = Duration::from_millis(1);

/// A job's parts count is kept in the low bits of the job word, next to its number; a job of
/// more parts runs on the calling thread.
const PART_BITS: u32 = 16;
const MAX_PARTS: usize = (1 << PART_BITS) - 1;

/// Polls between two looks at the clock (and two yields of the core), a few microseconds.
const POLLS: u32 = 1024;

/// A job as the helpers see it: the caller's closure with its lifetime erased.
type Job = *const (dyn Fn(usize) + Sync + 'static);

/// The state the caller and the helpers share.
struct Shared {
    /// `(job number << PART_BITS) | parts` of the latest job.
    word: AtomicU64,
    /// The latest job's closure. Written only by the caller holding [`Team::busy`], before it
    /// publishes a new `word` and after every helper with a part of the previous job has
    /// finished; read only by helpers with a part of the job in `word`.
    job: UnsafeCell<Option<Job>>,
    /// Helpers still running a part of the latest job.
    running: AtomicUsize,
    /// The panics of the helpers' parts of the latest job, in the order they were caught (the
    /// caller rethrows the first and drops the others, so that no helper runs their `Drop`).
    panics: Mutex<Vec<Box<dyn Any + Send>>>,
    /// Per helper: whether it is parked (or about to park) and needs an unpark for a new job.
    parked: Vec<AtomicBool>,
    /// The members of the team: the caller and the helpers that started.
    size: AtomicUsize,
}

// SAFETY: `job` is only touched under the protocol described on the field: the caller writes
// it while no helper can be reading it, and the `word`/`running` atomics order those accesses
// (release/acquire). The closure it points to is `Sync`, so running it on several threads is
// sound.
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

/// The team: see the module documentation.
pub(crate) struct Team {
    shared: Arc<Shared>,
    helpers: Vec<Thread>,
    /// Held by the caller for the duration of a job.
    busy: Mutex<()>,
}

/// The process's team, started on first use.
pub(crate) fn team() -> &'static Team {
    static TEAM: OnceLock<Team> = OnceLock::new();
    TEAM.get_or_init(|| {
        let cores = thread::available_parallelism().map_or(1, usize::from);
        Team::new(rayon::current_num_threads().min(cores))
    })
}

impl Team {
    /// A team of `size` members: the caller and `size − 1` helper threads (fewer if the
    /// system refuses to start them).
    fn new(size: usize) -> Self {
        let wanted = size.clamp(1, MAX_PARTS) - 1;
        let shared = Arc::new(Shared {
            word: AtomicU64::new(0),
            job: UnsafeCell::new(None),
            running: AtomicUsize::new(0),
            panics: Mutex::new(Vec::new()),
            parked: (0..wanted).map(|_| AtomicBool::new(false)).collect(),
            size: AtomicUsize::new(1),
        });
        let mut helpers = Vec::with_capacity(wanted);
        for index in 0..wanted {
            let shared = Arc::clone(&shared);
            let started = thread::Builder::new()
                .name(format!("rbm-burn-team-{}", index + 1))
                .spawn(move || helper(&shared, index));
            match started {
                Ok(handle) => helpers.push(handle.thread().clone()),
                Err(_) => break,
            }
        }
        // Published to the helpers by the release store of each job's `word`.
        shared.size.store(helpers.len() + 1, Ordering::Relaxed);
        Self {
            shared,
            helpers,
            busy: Mutex::new(()),
        }
    }

    /// The number of members: the caller and its helpers.
    pub(crate) fn size(&self) -> usize {
        self.helpers.len() + 1
    }

    /// Runs `job(p)` for every part `p < parts`, in parallel on the team, and returns when all
    /// have finished. Runs them in order on the calling thread when the team is in use (or for
    /// more than `MAX_PARTS` parts).
    ///
    /// # Panics
    /// With the panic of a part that panicked (after every other part has finished).
    pub(crate) fn run(&self, parts: usize, job: &(dyn Fn(usize) + Sync)) {
        let helpers = parts.min(self.size()).saturating_sub(1);
        let guard = match self.busy.try_lock() {
            _ if helpers == 0 || parts > MAX_PARTS => None,
            Ok(guard) => Some(guard),
            // A part panicked in an earlier job; the state was restored before the panic.
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        };
        let Some(_guard) = guard else {
            (0..parts).for_each(job);
            return;
        };
        let shared = &*self.shared;
        // SAFETY: the lifetime is erased only for the duration of this call: `Finish` below
        // waits (even when a part of the caller panics) until no helper runs a part, and the
        // pointer is cleared before this function returns.
        let erased: Job = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), Job>(job) };
        // SAFETY: we hold `busy` and the previous job's helpers have all finished, so no
        // helper reads `job` now.
        unsafe { *shared.job.get() = Some(erased) };
        shared.running.store(helpers, Ordering::Relaxed);
        let number = (shared.word.load(Ordering::Relaxed) >> PART_BITS) + 1;
        shared
            .word
            .store((number << PART_BITS) | parts as u64, Ordering::SeqCst);
        for (index, thread) in self.helpers.iter().take(helpers).enumerate() {
            if shared.parked[index].load(Ordering::SeqCst) {
                thread.unpark();
            }
        }
        let finish = Finish(shared);
        let size = self.size();
        (0..parts).step_by(size).for_each(job);
        drop(finish);
        let mut panics = std::mem::take(&mut *lock(&shared.panics)).into_iter();
        if let Some(panic) = panics.next() {
            drop(panics);
            resume_unwind(panic);
        }
    }

    /// Runs `work(p, item)` for the `p`-th item of `items`, in parallel on the team.
    ///
    /// # Panics
    /// If `work` panics.
    pub(crate) fn for_each<T: Send>(&self, items: Vec<T>, work: impl Fn(usize, T) + Sync) {
        let items: Vec<Mutex<Option<T>>> = items.into_iter().map(|i| Mutex::new(Some(i))).collect();
        self.run(items.len(), &|part| {
            let item = lock(&items[part]).take();
            if let Some(item) = item {
                work(part, item);
            }
        });
    }
}

/// Waits, when dropped, until no helper runs a part of the latest job, then clears the job.
struct Finish<'a>(&'a Shared);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        let mut polls = 0_u32;
        while self.0.running.load(Ordering::Acquire) != 0 {
            polls = polls.wrapping_add(1);
            if polls.is_multiple_of(POLLS) {
                // A helper may have lost its core to another thread: give it back.
                thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        // SAFETY: no helper runs a part, so none reads `job`.
        unsafe { *self.0.job.get() = None };
    }
}

/// Decrements `running` when dropped: a helper is done with its part of the latest job.
struct Done<'a>(&'a Shared);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::Release);
    }
}

/// Locks `mutex`, whether or not a panic poisoned it (its data stays consistent here).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The loop of helper `index` (member `index + 1`).
fn helper(shared: &Shared, index: usize) {
    let member = index + 1;
    let mut seen = 0;
    loop {
        let idle_since = Instant::now();
        let mut polls = 0_u32;
        let word = loop {
            let word = shared.word.load(Ordering::Acquire);
            if word != seen {
                break word;
            }
            polls = polls.wrapping_add(1);
            if !polls.is_multiple_of(POLLS) {
                std::hint::spin_loop();
                continue;
            }
            if idle_since.elapsed() < SPIN {
                thread::yield_now();
                continue;
            }
            shared.parked[index].store(true, Ordering::SeqCst);
            if shared.word.load(Ordering::SeqCst) == seen {
                thread::park();
            }
            shared.parked[index].store(false, Ordering::SeqCst);
        };
        seen = word;
        let parts = (word & MAX_PARTS as u64) as usize;
        if member >= parts {
            continue;
        }
        // Tells the caller that this helper is done with the job, however it leaves this block.
        let _done = Done(shared);
        // SAFETY: this helper has a part of the job in `word`, so the caller wrote `job` before
        // publishing `word` (acquired above) and keeps the closure alive until `running` drops
        // to zero, which cannot happen before `_done` is dropped.
        let job = unsafe { (*shared.job.get()).map(|job| &*job) };
        if let Some(job) = job {
            let size = shared.size.load(Ordering::Relaxed);
            let result = catch_unwind(AssertUnwindSafe(|| {
                (member..parts).step_by(size).for_each(job);
            }));
            if let Err(panic) = result {
                lock(&shared.panics).push(panic);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a job of `parts` parts on `team` and returns how often each part ran.
    fn counts(team: &Team, parts: usize) -> Vec<usize> {
        let counters: Vec<AtomicUsize> = (0..parts).map(|_| AtomicUsize::new(0)).collect();
        team.run(parts, &|part| {
            counters[part].fetch_add(1, Ordering::Relaxed);
        });
        counters.into_iter().map(AtomicUsize::into_inner).collect()
    }

    /// Every part of a job runs exactly once, for fewer, as many and more parts than members,
    /// on teams of one, two and five members.
    #[test]
    fn every_part_runs_exactly_once() {
        for size in [1, 2, 5] {
            let team = Team::new(size);
            assert_eq!(team.size(), size);
            for parts in [0, 1, 2, size, size + 3, 4 * size + 1] {
                for _ in 0..50 {
                    assert_eq!(
                        counts(&team, parts),
                        vec![1; parts],
                        "{parts} parts, {size} members"
                    );
                }
            }
        }
    }

    /// The parts run on different threads when the team has several members: a part that
    /// waits for another part to start cannot finish if the team runs them one after the other.
    #[test]
    fn parts_run_at_the_same_time() {
        let team = Team::new(2);
        let started = AtomicUsize::new(0);
        team.run(2, &|_| {
            started.fetch_add(1, Ordering::SeqCst);
            let waiting = Instant::now();
            while started.load(Ordering::SeqCst) < 2 {
                assert!(
                    waiting.elapsed() < Duration::from_secs(10),
                    "the other part never started"
                );
                std::hint::spin_loop();
            }
        });
        assert_eq!(started.into_inner(), 2);
    }

    /// A helper that has parked (after `SPIN` without work) wakes up for the next job.
    #[test]
    fn parked_helpers_wake_for_the_next_job() {
        let team = Team::new(3);
        let all_parked = || team.shared.parked.iter().all(|p| p.load(Ordering::SeqCst));
        for _ in 0..3 {
            assert_eq!(counts(&team, 3), vec![1; 3]);
            let waiting = Instant::now();
            while !all_parked() {
                assert!(
                    waiting.elapsed() < Duration::from_secs(10),
                    "idle helpers never parked"
                );
                thread::sleep(SPIN);
            }
        }
        assert_eq!(counts(&team, 3), vec![1; 3]);
    }

    /// A part that asks for the team runs its inner job on its own thread; callers on several
    /// threads at once all get every part run once.
    #[test]
    fn nested_and_concurrent_jobs_complete() {
        let team = Team::new(2);
        let inner_total = AtomicUsize::new(0);
        team.run(2, &|_| {
            let inner = counts(&team, 5);
            assert_eq!(inner, vec![1; 5]);
            inner_total.fetch_add(inner.len(), Ordering::Relaxed);
        });
        assert_eq!(inner_total.into_inner(), 10);
        thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for parts in 0..200 {
                        assert_eq!(counts(&team, parts % 7), vec![1; parts % 7]);
                    }
                });
            }
        });
    }

    /// A panic in a part, on the caller or on a helper, reaches the caller once every part has
    /// finished, and the team works afterwards.
    #[test]
    fn a_panicking_part_panics_the_caller_and_the_team_recovers() {
        let team = Team::new(2);
        for failing in [0, 1] {
            let finished = AtomicUsize::new(0);
            let result = catch_unwind(AssertUnwindSafe(|| {
                team.run(2, &|part| {
                    if part == failing {
                        panic!("part {part} fails");
                    }
                    thread::sleep(Duration::from_millis(20));
                    finished.fetch_add(1, Ordering::SeqCst);
                });
            }));
            let panic = result.expect_err("the part's panic was lost");
            assert_eq!(
                panic.downcast_ref::<String>().map(String::as_str),
                Some(format!("part {failing} fails").as_str()),
                "the caller gets the part's own panic"
            );
            assert_eq!(finished.into_inner(), 1, "the other part had finished");
            assert_eq!(counts(&team, 2), vec![1; 2]);
        }
    }

    /// `for_each` hands each item to exactly one part, with its index.
    #[test]
    fn for_each_gives_each_item_to_one_part() {
        let team = Team::new(2);
        let mut values = vec![0_usize; 9];
        let items: Vec<(usize, &mut usize)> = values.iter_mut().enumerate().collect();
        team.for_each(items, |part, (index, value)| {
            assert_eq!(part, index);
            *value += index + 1;
        });
        assert_eq!(values, (1..=9).collect::<Vec<_>>());
    }
}
