//! The stop signal shared by the watchdog's threads: set once, waited on
//! with a timeout.

use std::{
    sync::{Condvar, Mutex, PoisonError},
    time::{Duration, Instant},
};

#[derive(Debug, Default)]
pub(crate) struct Stop {
    stopped: Mutex<bool>,
    cv: Condvar,
}

impl Stop {
    pub(crate) fn stop(&self) {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.cv.notify_all();
    }

    /// Waits until `deadline` or the stop; true when stopped.
    pub(crate) fn wait_until(&self, deadline: Instant) -> bool {
        let mut stopped = self.stopped.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if *stopped {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            stopped = self
                .cv
                .wait_timeout(stopped, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Waits `d` or until the stop; true when stopped.
    pub(crate) fn wait(&self, d: Duration) -> bool {
        self.wait_until(Instant::now() + d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_stop_ends_a_wait_early() {
        let stop = Arc::new(Stop::default());
        assert!(!stop.wait(Duration::from_millis(1)));
        let s = Arc::clone(&stop);
        let t = std::thread::spawn(move || s.wait(Duration::from_secs(600)));
        stop.stop();
        assert!(t.join().unwrap());
        assert!(stop.wait(Duration::from_secs(600)));
    }
}
