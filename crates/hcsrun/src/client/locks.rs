//! Per-container locks (the seed's `clnt.lock(id)`): calls on one container
//! are serialized, calls on different containers never wait on each other.
//! A lock exists only while someone holds or waits for it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Default)]
pub struct IdLocks {
    locks: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
}

/// A held lock; released (and forgotten if unused) on drop.
pub struct IdGuard<'a> {
    owner: &'a IdLocks,
    id: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl IdLocks {
    pub async fn lock(&self, id: &str) -> IdGuard<'_> {
        let mutex = self
            .locks
            .lock()
            .unwrap()
            .entry(id.to_owned())
            .or_default()
            .clone();
        IdGuard {
            owner: self,
            id: id.to_owned(),
            guard: Some(mutex.lock_owned().await),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.locks.lock().unwrap().len()
    }
}

impl Drop for IdGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = self.owner.locks.lock().unwrap();
        // Only the map holds it: nobody waits, forget it. Clones are made
        // under the map's mutex, so none can appear meanwhile.
        if locks
            .get(&self.id)
            .is_some_and(|m| Arc::strong_count(m) == 1)
        {
            locks.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn same_id_waits_other_ids_do_not() {
        let locks = Arc::new(IdLocks::default());
        let a = locks.lock("a").await;
        // Another id is free.
        drop(
            tokio::time::timeout(Duration::from_millis(100), locks.lock("b"))
                .await
                .unwrap(),
        );
        // The same id waits until released.
        let waiter = {
            let locks = locks.clone();
            tokio::spawn(async move {
                let _b = locks.lock("a").await;
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        drop(a);
        waiter.await.unwrap();
        assert_eq!(locks.len(), 0, "unused locks are forgotten");
    }
}
