//! Time and chance, injected: the Router reads the clock, sleeps and draws
//! random numbers only through these, so tests run on a manual clock with
//! a fixed seed and never sleep for real.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A monotonic clock that can also wait.
pub trait Clock: Send + Sync {
    /// Time since an arbitrary fixed start.
    fn now(&self) -> Duration;
    /// Waits `d` (a manual clock just moves forward).
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// Real time, through tokio (so `tokio::time::pause` also works).
#[derive(Debug)]
pub struct TokioClock {
    start: tokio::time::Instant,
}

impl Default for TokioClock {
    fn default() -> Self {
        TokioClock {
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// A clock that only moves when told to (or when something sleeps on it).
#[derive(Debug, Default)]
pub struct ManualClock {
    micros: AtomicU64,
    slept: Mutex<Vec<Duration>>,
}

impl ManualClock {
    pub fn advance(&self, d: Duration) {
        self.micros
            .fetch_add(d.as_micros() as u64, Ordering::SeqCst);
    }

    /// Every sleep so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.slept.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_micros(self.micros.load(Ordering::SeqCst))
    }

    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        if let Ok(mut s) = self.slept.lock() {
            s.push(d);
        }
        self.advance(d);
        Box::pin(std::future::ready(()))
    }
}

/// A small seeded generator (xorshift64*): deterministic for a seed.
#[derive(Debug)]
pub struct Rng(Mutex<u64>);

impl Rng {
    pub fn seeded(seed: u64) -> Self {
        Rng(Mutex::new(seed.max(1)))
    }

    /// Seeded from the wall clock.
    pub fn from_time() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Rng::seeded(nanos)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&self) -> f64 {
        let Ok(mut s) = self.0.lock() else { return 0.5 };
        let mut x = *s;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *s = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}
