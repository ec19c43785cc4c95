//! An optional hook through which several Routers (one per proxy instance)
//! share their deployments' cooldowns. The Router consults it before each
//! pick and announces every cooldown it starts; the pick itself stays pure
//! and in-process. Without a hook nothing leaves the process.

use std::time::Duration;

use futures::future::BoxFuture;

/// Cooldowns shared with other Routers, by deployment id.
///
/// Implementations should fail open: a store that cannot be reached
/// reports no cooldown and drops announcements, so routing goes on with
/// the local view.
pub trait SharedCooldowns: Send + Sync {
    /// For each id, how long it still cools down according to the shared
    /// store (None: it does not).
    fn cooling<'a>(&'a self, ids: &'a [&'a str]) -> BoxFuture<'a, Vec<Option<Duration>>>;

    /// Announces that the deployment `id` cools down for `left` from now.
    fn cool_down<'a>(&'a self, id: &'a str, left: Duration) -> BoxFuture<'a, ()>;
}
