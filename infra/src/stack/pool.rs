//! A function's execution environments: an invocation takes an idle instance or starts a new
//! one (a cold start), up to the function's concurrency; an instance killed at its deadline or
//! dead mid-invocation is gone, so the next invocation starts another. Counts what happened.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Mutex, Semaphore};

use super::functions::FunctionSpec;
use super::instance::{Instance, Launch, MetricSums, Outcome};

/// What a function's instances did.
#[derive(Debug, Default)]
struct Counters {
    invocations: AtomicU64,
    cold_starts: AtomicU64,
    timeout_kills: AtomicU64,
    errors: AtomicU64,
    crashes: AtomicU64,
    init_failures: AtomicU64,
}

/// A function's figures.
#[derive(Debug, Clone, Serialize)]
pub struct PoolFigures {
    /// The binary.
    pub binary: String,
    /// Invocations handed to an instance.
    pub invocations: u64,
    /// Instances started.
    pub cold_starts: u64,
    /// Invocations killed at their deadline.
    pub timeout_kills: u64,
    /// Invocations answered with an error.
    pub errors: u64,
    /// Instances that died mid-invocation.
    pub crashes: u64,
    /// Instances whose init failed.
    pub init_failures: u64,
    /// The Timeout each invocation ran under (scaled), ms.
    pub timeout_ms: u64,
    /// The sums of the metrics its EMF lines carried.
    pub metrics: std::collections::BTreeMap<String, f64>,
}

/// One function's instances.
pub struct Pool {
    /// The function.
    pub spec: FunctionSpec,
    /// The Timeout each invocation runs under (the template's, scaled).
    pub timeout: Duration,
    launch: Launch,
    idle: Mutex<Vec<Instance>>,
    slots: Arc<Semaphore>,
    counters: Counters,
}

impl Pool {
    /// A pool of at most `concurrency` instances, none started yet.
    pub fn new(spec: FunctionSpec, launch: Launch, timeout: Duration, concurrency: usize) -> Self {
        Self {
            spec,
            timeout,
            launch,
            idle: Mutex::new(Vec::new()),
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            counters: Counters::default(),
        }
    }

    /// Runs one invocation of `payload` on an idle or a new instance (waiting for one when
    /// every instance is busy).
    pub async fn invoke(&self, payload: &str) -> Outcome {
        let Ok(_slot) = self.slots.acquire().await else {
            return Outcome::InitFailed("the stack is stopping".into());
        };
        let idle = self.idle.lock().await.pop();
        let mut instance = match idle {
            Some(instance) => instance,
            None => {
                self.counters.cold_starts.fetch_add(1, Ordering::Relaxed);
                match Instance::start(&self.launch).await {
                    Ok(instance) => instance,
                    Err(e) => {
                        self.counters.init_failures.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(function = %self.spec.id, error = %format!("{e:#}"), "init failed");
                        return Outcome::InitFailed(format!("{e:#}"));
                    }
                }
            }
        };
        self.counters.invocations.fetch_add(1, Ordering::Relaxed);
        let outcome = instance.invoke(payload, self.timeout).await;
        let counter = match &outcome {
            Outcome::Response(_) => None,
            Outcome::Error(_) => Some(&self.counters.errors),
            Outcome::TimedOut => Some(&self.counters.timeout_kills),
            Outcome::Crashed(_) => Some(&self.counters.crashes),
            Outcome::InitFailed(_) => Some(&self.counters.init_failures),
        };
        if let Some(counter) = counter {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        match outcome {
            // The runtime lives on after an answer, an error included.
            Outcome::Response(_) | Outcome::Error(_) => self.idle.lock().await.push(instance),
            _ => instance.stop().await,
        }
        outcome
    }

    /// Invocations killed at their deadline so far.
    pub fn timeout_kills(&self) -> u64 {
        self.counters.timeout_kills.load(Ordering::Relaxed)
    }

    /// The sums of its metrics so far.
    pub fn metrics(&self) -> MetricSums {
        self.launch.metrics.clone()
    }

    /// What it did so far.
    pub fn figures(&self) -> PoolFigures {
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        PoolFigures {
            binary: self.spec.binary.clone(),
            invocations: load(&c.invocations),
            cold_starts: load(&c.cold_starts),
            timeout_kills: load(&c.timeout_kills),
            errors: load(&c.errors),
            crashes: load(&c.crashes),
            init_failures: load(&c.init_failures),
            timeout_ms: self.timeout.as_millis() as u64,
            metrics: self
                .launch
                .metrics
                .lock()
                .map(|m| m.clone())
                .unwrap_or_default(),
        }
    }

    /// Stops every idle instance and refuses new invocations (busy ones are killed when
    /// their invocation's caller drops them).
    pub async fn stop(&self) {
        self.slots.close();
        for instance in self.idle.lock().await.drain(..) {
            instance.stop().await;
        }
    }
}
