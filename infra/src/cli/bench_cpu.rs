//! CPU time of a flow on a thread and runtime of its own, as in a Lambda, so that its CPU can
//! be told apart from the simulators' (which run on the caller's runtime, on other threads).
//! The clock is the kernel's per-thread run time, the one `CLOCK_THREAD_CPUTIME_ID` reads, in
//! nanoseconds; without it, `/proc` ticks of 10 ms (meaningful over runs of seconds).

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::json;

use ctpvx_shared::flows::batch::{BatchFlow, BatchOutcomes, InputRecord};

/// What a piece of work cost on its own thread.
#[derive(Debug)]
pub struct Timed<T> {
    /// What the work returned.
    pub value: T,
    /// Wall-clock time of the work.
    pub elapsed: Duration,
    /// CPU time of the thread during the work (`None` where the kernel does not tell).
    pub cpu: Option<Duration>,
}

impl<T> Timed<T> {
    /// Events per second and CPU per event, for `events` events.
    pub fn per_event(&self, events: usize) -> serde_json::Value {
        let n = events.max(1) as f64;
        json!({
            "events": events,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "events_per_second_one_worker": n / self.elapsed.as_secs_f64().max(1e-9),
            "cpu_us_per_event": self.cpu.map(|c| c.as_secs_f64() * 1e6 / n),
            "cpu_clock": clock_name(),
        })
    }
}

/// Runs `setup` (not measured) and then `work` on a new thread with a current-thread runtime,
/// and times `work` alone.
pub async fn on_own_thread<S, SF, C, W, WF, T>(setup: S, work: W) -> anyhow::Result<Timed<T>>
where
    S: FnOnce() -> SF + Send + 'static,
    SF: Future<Output = anyhow::Result<C>>,
    W: FnOnce(C) -> WF + Send + 'static,
    WF: Future<Output = anyhow::Result<T>>,
    T: Send + 'static,
{
    let thread = std::thread::spawn(move || -> anyhow::Result<Timed<T>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let ready = setup().await?;
            let cpu_before = thread_cpu();
            let started = Instant::now();
            let value = work(ready).await?;
            let elapsed = started.elapsed();
            let cpu = thread_cpu().zip(cpu_before).map(|(a, b)| a - b);
            Ok(Timed {
                value,
                elapsed,
                cpu,
            })
        })
    });
    tokio::task::spawn_blocking(move || {
        thread
            .join()
            .map_err(|_| anyhow::anyhow!("the measured thread panicked"))?
    })
    .await?
}

/// Builds a flow with `build` on its own thread, then feeds it `records` in batches of `batch`
/// as SQS hands them to a Lambda; times the batches.
pub async fn flow_batches<F, B, BF>(
    records: Vec<InputRecord>,
    batch: usize,
    build: B,
) -> anyhow::Result<Timed<F::Report>>
where
    F: BatchFlow,
    B: FnOnce() -> BF + Send + 'static,
    BF: Future<Output = anyhow::Result<F>>,
{
    let batch = batch.max(1);
    on_own_thread(build, move |flow: F| async move {
        let mut totals = F::Report::default();
        for chunk in records.chunks(batch) {
            totals.absorb(&flow.process(chunk, i64::MAX).await);
        }
        Ok(totals)
    })
    .await
}

/// CPU time (user + system) of the calling thread.
pub fn thread_cpu() -> Option<Duration> {
    schedstat_ns().map(Duration::from_nanos).or_else(stat_ticks)
}

/// Which clock [`thread_cpu`] reads here.
pub fn clock_name() -> &'static str {
    if schedstat_ns().is_some() {
        "thread run time, ns (/proc/thread-self/schedstat)"
    } else {
        "thread CPU ticks of 10 ms (/proc/thread-self/stat)"
    }
}

/// The first field of `schedstat`: the thread's time on a CPU, in ns (the scheduler's
/// `sum_exec_runtime`, which `CLOCK_THREAD_CPUTIME_ID` reports too).
fn schedstat_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// `utime + stime` from `/proc/thread-self/stat`, in ticks of 10 ms.
fn stat_ticks() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let (utime, stime): (u64, u64) = (fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?);
    Some(Duration::from_millis((utime + stime) * 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_moves_with_work() {
        let before = thread_cpu().expect("a thread CPU clock on Linux");
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let after = thread_cpu().unwrap();
        assert!(after >= before);
    }
}
