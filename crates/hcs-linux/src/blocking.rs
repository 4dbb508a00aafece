//! Work that holds a thread (file-system calls, `waitid`, the retry sleeps
//! of cgroup removal, `clone` waiting for the holder's exec) runs on tokio's
//! blocking pool, never on a runtime thread: on a current-thread runtime
//! (`hcsrun run`'s) it would stall every other task, another system's
//! calls included.

/// Runs `f` on the blocking pool and waits for it; a panic in `f` is a panic
/// here.
pub async fn blocking<T, F>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(value) => value,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("blocking work did not finish: {e}"),
        },
    }
}
