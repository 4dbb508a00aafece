//! Notifications from the service's threads, turned into async completions.
//!
//! Each handle (compute system or process) has a [`Watcher`]. The service
//! calls [`callback`] with the context the watcher was registered under;
//! the watcher latches what arrived, so a notification that comes before
//! anyone waits for it is not lost, and wakes the waiters. Completions of
//! operations (create, start, pause, resume) are taken by the wait for them;
//! exits and a lost service stay latched, for every later waiter to see.

use std::{
    collections::HashMap,
    ffi::c_void,
    pin::pin,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex, OnceLock, Weak,
    },
    time::Duration,
};

use tokio::{sync::Notify, time::Instant};

use crate::abi::{self, notification as n};

/// A notification type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    SystemExited,
    CreateCompleted,
    StartCompleted,
    PauseCompleted,
    ResumeCompleted,
    ProcessExited,
    ServiceDisconnect,
}

impl Kind {
    pub fn from_raw(raw: u32) -> Option<Self> {
        Some(match raw {
            n::SYSTEM_EXITED => Kind::SystemExited,
            n::SYSTEM_CREATE_COMPLETED => Kind::CreateCompleted,
            n::SYSTEM_START_COMPLETED => Kind::StartCompleted,
            n::SYSTEM_PAUSE_COMPLETED => Kind::PauseCompleted,
            n::SYSTEM_RESUME_COMPLETED => Kind::ResumeCompleted,
            n::PROCESS_EXITED => Kind::ProcessExited,
            n::SERVICE_DISCONNECT => Kind::ServiceDisconnect,
            _ => return None,
        })
    }

    /// An exit: the end of the handle's system or process.
    fn is_exit(self) -> bool {
        matches!(self, Kind::SystemExited | Kind::ProcessExited)
    }

    /// Stays latched once seen (the others are taken by their waiter).
    fn is_sticky(self) -> bool {
        self.is_exit() || self == Kind::ServiceDisconnect
    }
}

/// What a notification carried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    /// The operation's HRESULT: negative is failure.
    pub status: abi::Hresult,
    /// The notification's data (a result document on failure), if any.
    pub data: Option<String>,
}

/// Why a wait ended without its notification.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WaitError {
    Timeout,
    /// The system (or process) exited while something else was awaited.
    UnexpectedExit(Event),
    ServiceDisconnect(Event),
    /// The handle was closed.
    Closed,
}

#[derive(Default)]
struct State {
    latched: HashMap<Kind, Event>,
    closed: bool,
}

/// The notifications of one handle.
#[derive(Default)]
pub(crate) struct Watcher {
    state: Mutex<State>,
    changed: Notify,
}

impl Watcher {
    /// Records a notification and wakes the waiters.
    pub fn notify(&self, kind: Kind, event: Event) {
        let mut state = self.state.lock().unwrap();
        // A sticky notification keeps its first value.
        if !(kind.is_sticky() && state.latched.contains_key(&kind)) {
            state.latched.insert(kind, event);
        }
        drop(state);
        self.changed.notify_waiters();
    }

    /// Forgets a latched completion of `kind`: called before starting the
    /// operation that completes with it, so that only its own completion
    /// counts.
    pub fn clear(&self, kind: Kind) {
        debug_assert!(!kind.is_sticky());
        self.state.lock().unwrap().latched.remove(&kind);
    }

    /// Marks the handle closed and wakes every waiter; false if it already
    /// was.
    pub fn close(&self) -> bool {
        let first = !std::mem::replace(&mut self.state.lock().unwrap().closed, true);
        self.changed.notify_waiters();
        first
    }

    pub fn is_closed(&self) -> bool {
        self.state.lock().unwrap().closed
    }

    /// What a wait for `expected` would return now, if anything.
    fn check(&self, expected: Kind) -> Option<Result<Event, WaitError>> {
        let mut state = self.state.lock().unwrap();
        let found = if expected.is_sticky() {
            state.latched.get(&expected).cloned()
        } else {
            state.latched.remove(&expected)
        };
        if let Some(event) = found {
            return Some(Ok(event));
        }
        if !expected.is_exit() {
            let exit = [Kind::SystemExited, Kind::ProcessExited]
                .iter()
                .find_map(|k| state.latched.get(k));
            if let Some(event) = exit {
                return Some(Err(WaitError::UnexpectedExit(event.clone())));
            }
        }
        if let Some(event) = state.latched.get(&Kind::ServiceDisconnect) {
            return Some(Err(WaitError::ServiceDisconnect(event.clone())));
        }
        if state.closed {
            return Some(Err(WaitError::Closed));
        }
        None
    }

    /// Waits for a notification of `expected` (latched or to come), at most
    /// `timeout` if one is given. An exit while waiting for anything else,
    /// a lost service, or the handle's close end the wait with an error.
    pub async fn wait(
        &self,
        expected: Kind,
        timeout: Option<Duration>,
    ) -> Result<Event, WaitError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let mut notified = pin!(self.changed.notified());
            // Registered before looking, so no wake-up between the look and
            // the sleep is missed.
            notified.as_mut().enable();
            if let Some(result) = self.check(expected) {
                return result;
            }
            match deadline {
                Some(deadline) => {
                    if tokio::time::timeout_at(deadline, notified).await.is_err() {
                        // One last look: a notification may have raced the
                        // timer.
                        return self.check(expected).unwrap_or(Err(WaitError::Timeout));
                    }
                }
                None => notified.await,
            }
        }
    }
}

/// The watchers that callbacks can reach, by context number. Numbers, not
/// pointers, cross the ABI: a late or stray callback finds nothing rather
/// than freed memory.
fn registry() -> &'static Mutex<HashMap<usize, Weak<Watcher>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<usize, Weak<Watcher>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// A watcher's place in the registry; leaving it removes the watcher.
pub(crate) struct Context(usize);

impl Context {
    pub fn new(watcher: &Arc<Watcher>) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        let number = NEXT.fetch_add(1, Ordering::Relaxed);
        registry()
            .lock()
            .unwrap()
            .insert(number, Arc::downgrade(watcher));
        Context(number)
    }

    /// The value passed as the callback's context.
    pub fn value(&self) -> usize {
        self.0
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        registry().lock().unwrap().remove(&self.0);
    }
}

/// Delivers a notification to the watcher registered as `context`.
pub(crate) fn deliver(context: usize, raw_kind: u32, event: Event) {
    let Some(kind) = Kind::from_raw(raw_kind) else {
        return;
    };
    let watcher = registry()
        .lock()
        .unwrap()
        .get(&context)
        .and_then(Weak::upgrade);
    if let Some(watcher) = watcher {
        watcher.notify(kind, event);
    }
}

/// The callback registered with the service for every handle.
pub(crate) unsafe extern "system" fn callback(
    notification_type: u32,
    context: *mut c_void,
    status: abi::Hresult,
    data: abi::Pcwstr,
) {
    // Nothing may unwind into the service's thread.
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: the ABI promises `data` is NULL or a NUL-terminated
        // string valid during this call.
        let data = unsafe { crate::wide::from_ptr_lossy(data) };
        deliver(context as usize, notification_type, Event { status, data });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Event {
        Event {
            status: 0,
            data: None,
        }
    }

    const LONG: Option<Duration> = Some(Duration::from_secs(30));

    #[tokio::test]
    async fn a_notification_before_the_wait_is_latched() {
        let w = Watcher::default();
        w.notify(Kind::StartCompleted, ok());
        assert_eq!(w.wait(Kind::StartCompleted, LONG).await, Ok(ok()));
        // Taken: the next start waits for its own completion.
        assert_eq!(
            w.wait(Kind::StartCompleted, Some(Duration::from_millis(20)))
                .await,
            Err(WaitError::Timeout)
        );
    }

    #[tokio::test]
    async fn a_notification_after_the_wait_began_wakes_it() {
        let w = Arc::new(Watcher::default());
        let waiter = tokio::spawn({
            let w = w.clone();
            async move { w.wait(Kind::PauseCompleted, LONG).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let failed = Event {
            status: 0x8007_0005_u32 as i32,
            data: Some("{}".into()),
        };
        // From another thread, as the service does.
        let w2 = w.clone();
        let sent = failed.clone();
        std::thread::spawn(move || w2.notify(Kind::PauseCompleted, sent))
            .join()
            .unwrap();
        assert_eq!(waiter.await.unwrap(), Ok(failed));
    }

    #[tokio::test]
    async fn through_the_callback_from_another_thread() {
        let w = Arc::new(Watcher::default());
        let context = Context::new(&w);
        let value = context.value();
        let data = crate::wide::to_wide("{\"Error\":1}").unwrap();
        std::thread::spawn(move || {
            // SAFETY: `data` is NUL-terminated and outlives the call.
            unsafe {
                callback(
                    n::SYSTEM_CREATE_COMPLETED,
                    value as *mut c_void,
                    -1,
                    data.as_ptr(),
                )
            };
            // Unknown types and contexts are ignored.
            // SAFETY: NULL data is allowed.
            unsafe { callback(0x4242, value as *mut c_void, 0, std::ptr::null()) };
            // SAFETY: as above.
            unsafe {
                callback(
                    n::SYSTEM_EXITED,
                    usize::MAX as *mut c_void,
                    0,
                    std::ptr::null(),
                )
            };
        })
        .join()
        .unwrap();
        let event = w.wait(Kind::CreateCompleted, LONG).await.unwrap();
        assert_eq!(event.status, -1);
        assert_eq!(event.data.as_deref(), Some("{\"Error\":1}"));
        drop(context);
        // Once the context is gone, callbacks no longer reach the watcher.
        deliver(value, n::SYSTEM_EXITED, ok());
        assert_eq!(
            w.wait(Kind::SystemExited, Some(Duration::from_millis(20)))
                .await,
            Err(WaitError::Timeout)
        );
    }

    #[tokio::test]
    async fn times_out() {
        let w = Watcher::default();
        let started = std::time::Instant::now();
        assert_eq!(
            w.wait(Kind::StartCompleted, Some(Duration::from_millis(50)))
                .await,
            Err(WaitError::Timeout)
        );
        assert!(started.elapsed() >= Duration::from_millis(50));
    }

    #[tokio::test]
    async fn an_exit_while_waiting_for_something_else_is_unexpected() {
        let w = Arc::new(Watcher::default());
        let waiter = tokio::spawn({
            let w = w.clone();
            async move { w.wait(Kind::StartCompleted, LONG).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        w.notify(Kind::SystemExited, ok());
        assert_eq!(waiter.await.unwrap(), Err(WaitError::UnexpectedExit(ok())));
        // The exit stays: every wait for it sees it.
        assert_eq!(w.wait(Kind::SystemExited, None).await, Ok(ok()));
        assert_eq!(w.wait(Kind::SystemExited, None).await, Ok(ok()));
    }

    #[tokio::test]
    async fn the_expected_completion_wins_over_a_later_exit() {
        let w = Watcher::default();
        w.notify(Kind::StartCompleted, ok());
        w.notify(Kind::SystemExited, ok());
        assert_eq!(w.wait(Kind::StartCompleted, LONG).await, Ok(ok()));
    }

    #[tokio::test]
    async fn a_lost_service_ends_every_wait() {
        let w = Arc::new(Watcher::default());
        let waiter = tokio::spawn({
            let w = w.clone();
            async move { w.wait(Kind::ProcessExited, None).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        w.notify(Kind::ServiceDisconnect, ok());
        assert_eq!(
            waiter.await.unwrap(),
            Err(WaitError::ServiceDisconnect(ok()))
        );
        assert_eq!(
            w.wait(Kind::ResumeCompleted, LONG).await,
            Err(WaitError::ServiceDisconnect(ok()))
        );
    }

    #[tokio::test]
    async fn close_wakes_every_waiter_once() {
        let w = Arc::new(Watcher::default());
        let waiters: Vec<_> = [Kind::SystemExited, Kind::StartCompleted, Kind::SystemExited]
            .into_iter()
            .map(|kind| {
                let w = w.clone();
                tokio::spawn(async move { w.wait(kind, None).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(w.close());
        for waiter in waiters {
            assert_eq!(waiter.await.unwrap(), Err(WaitError::Closed));
        }
        assert!(!w.close(), "a second close reports it was closed");
        assert!(w.is_closed());
    }

    #[tokio::test]
    async fn clear_drops_a_stale_completion() {
        let w = Watcher::default();
        w.notify(Kind::PauseCompleted, ok());
        w.clear(Kind::PauseCompleted);
        assert_eq!(
            w.wait(Kind::PauseCompleted, Some(Duration::from_millis(20)))
                .await,
            Err(WaitError::Timeout)
        );
    }
}
