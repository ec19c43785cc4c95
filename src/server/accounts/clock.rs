//! Wall-clock time for the accounts: key expiry, budget periods, rate
//! windows, spend rows' timestamps. Read only through a [`WallClock`], which
//! is the system's clock in a server and, in tests, the Router's injected
//! [`Clock`] counted from a chosen instant, so nothing here makes a test
//! sleep. Knows nothing of keys or databases.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::router::Clock;

/// Unix milliseconds now: the system's, or an injected clock's.
#[derive(Clone, Default)]
pub struct WallClock {
    /// (Unix ms at the clock's zero, the clock); None: the system clock.
    driven: Option<(i64, Arc<dyn Clock>)>,
}

impl WallClock {
    /// The system clock.
    pub fn system() -> Self {
        WallClock::default()
    }

    /// `clock`'s time counted from `epoch_ms` (the Unix milliseconds its
    /// zero stands for): a [`ManualClock`](crate::router::ManualClock) moves
    /// budgets, windows and expiry forward without waiting.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use switchboard::router::ManualClock;
    /// use switchboard::server::WallClock;
    ///
    /// let manual = Arc::new(ManualClock::default());
    /// let wall = WallClock::driven_by(manual.clone(), 1_700_000_000_000);
    /// manual.advance(Duration::from_secs(3));
    /// assert_eq!(wall.now_ms(), 1_700_000_003_000);
    /// ```
    pub fn driven_by(clock: Arc<dyn Clock>, epoch_ms: i64) -> Self {
        WallClock {
            driven: Some((epoch_ms, clock)),
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        match &self.driven {
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| clamp_ms(d.as_millis())),
            Some((epoch, clock)) => epoch.saturating_add(clamp_ms(clock.now().as_millis())),
        }
    }
}

fn clamp_ms(ms: u128) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

impl std::fmt::Debug for WallClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.driven {
            None => f.write_str("WallClock(system)"),
            Some((epoch, _)) => write!(f, "WallClock(driven from {epoch})"),
        }
    }
}
