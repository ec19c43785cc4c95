//! The HTTP surface's own tests that need what only a test build has: a
//! route that panics.

/// `GET /__test/panic` (test builds only): a handler bug.
pub(super) async fn panic() -> &'static str {
    panic!("a handler bug, on purpose")
}
