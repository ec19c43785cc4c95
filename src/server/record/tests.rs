//! A recording is finished once, whichever way its holder lets go of it.

use std::sync::{Arc, Mutex};

use super::*;
use crate::error::ErrorKind;

#[derive(Default)]
struct Outcomes(Mutex<Vec<Outcome>>);

impl Observer for Outcomes {
    fn finished(&self, call: &CallRecord) {
        self.0.lock().unwrap().push(call.outcome);
    }
}

fn recorder() -> (Recorder, Arc<Outcomes>) {
    let seen = Arc::new(Outcomes::default());
    (Recorder::new(Vec::new()).with(seen.clone()), seen)
}

fn take(seen: &Outcomes) -> Vec<Outcome> {
    std::mem::take(&mut *seen.0.lock().unwrap())
}

#[test]
fn finishing_tells_each_observer_once_and_the_drop_after_it_nothing() {
    let (recorder, seen) = recorder();
    let also = Arc::new(Outcomes::default());
    let recorder = recorder.with(also.clone());
    recorder.open(Route::Chat).succeed();
    assert_eq!(take(&seen), [Outcome::Success]);
    assert_eq!(take(&also), [Outcome::Success]);
    let mut call = recorder.open(Route::Embeddings);
    call.group("g");
    call.fail(ErrorKind::Timeout, &[]);
    assert_eq!(take(&seen), [Outcome::Failed(ErrorKind::Timeout)]);
}

#[test]
fn a_recording_let_go_unfinished_is_cancelled() {
    let (recorder, seen) = recorder();
    drop(recorder.open(Route::Chat));
    assert_eq!(take(&seen), [Outcome::Cancelled]);
}

#[test]
fn a_recording_held_by_a_panicking_task_is_panicked() {
    let (recorder, seen) = recorder();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _call = recorder.open(Route::Chat);
        panic!("a handler bug, on purpose");
    }));
    assert!(caught.is_err());
    assert_eq!(take(&seen), [Outcome::Panicked]);
    assert_eq!(Outcome::Panicked.label(), "error");
    assert_eq!(Outcome::Panicked.kind(), Some(ErrorKind::Internal));
}

#[test]
fn only_chat_and_embeddings_paths_are_calls() {
    assert_eq!(Route::of_path("/v1/chat/completions"), Some(Route::Chat));
    assert_eq!(Route::of_path("/embeddings"), Some(Route::Embeddings));
    assert_eq!(Route::of_path("/v1/models"), None);
}
