//! The violation context: heavy channels (camera frames) wait in a
//! time-bounded ring and reach the file only inside the window around an
//! event (a violation, or a clamp with `capture_images_on_clamp`).
//!
//! For an event at message time `t`, the window is
//! `[t - pre_event_sec, t - pre_event_sec + window_sec]`: frames of that span
//! already in the ring are written at once (in time order), frames that
//! arrive later and fall inside it are written as they come. Windows of
//! events close together merge. The ring keeps only frames not older than
//! `pre_event_sec` behind the newest message time seen, and at most
//! `image_ring_mb` bytes (the oldest go first); frames leaving it unwritten
//! are counted as discarded, by design not a loss.
//!
//! Frames written from the ring are older than messages already in the file:
//! MCAP readers order by log time through the chunk indexes, and the Python
//! and Rust readers' time-ordered modes sort them back.

use std::collections::VecDeque;

/// What kind of event opens an image window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A guard rejected or faulted: always opens a window.
    Violation,
    /// A guard clamped: opens a window with `capture_images_on_clamp`.
    Clamp,
}

/// A heavy message waiting for a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Held {
    pub(crate) channel: u16,
    pub(crate) log_time: u64,
    pub(crate) payload: Vec<u8>,
}

/// The ring and the open window.
#[derive(Debug)]
pub(crate) struct ContextWindow {
    pre: u64,
    post: u64,
    max_bytes: usize,
    ring: VecDeque<Held>,
    bytes: usize,
    /// The open window, inclusive at both ends.
    open: Option<(u64, u64)>,
}

impl ContextWindow {
    /// `pre` and `post` in nanoseconds.
    pub(crate) fn new(pre: u64, post: u64, max_bytes: usize) -> Self {
        Self {
            pre,
            post,
            max_bytes,
            ring: VecDeque::new(),
            bytes: 0,
            open: None,
        }
    }

    /// Takes a heavy message: returns it when it falls in the open window
    /// (write it now), or holds it. `discarded` hears of frames pushed out
    /// by the byte cap.
    pub(crate) fn offer(&mut self, held: Held, discarded: &mut impl FnMut(&Held)) -> Option<Held> {
        if let Some((from, until)) = self.open
            && (from..=until).contains(&held.log_time)
        {
            return Some(held);
        }
        self.bytes += held.payload.len();
        self.ring.push_back(held);
        while self.bytes > self.max_bytes {
            let Some(old) = self.ring.pop_front() else {
                break;
            };
            self.bytes -= old.payload.len();
            discarded(&old);
        }
        None
    }

    /// An event at `t`: opens (or widens) the window and moves the ring's
    /// frames inside it to `out`, in time order.
    pub(crate) fn trigger(&mut self, t: u64, out: &mut Vec<Held>) {
        let from = t.saturating_sub(self.pre);
        let until = t.saturating_add(self.post);
        self.open = Some(match self.open {
            Some((f, u)) if from <= u.saturating_add(1) && f <= until.saturating_add(1) => {
                (f.min(from), u.max(until))
            }
            _ => (from, until),
        });
        let start = out.len();
        let mut keep = VecDeque::with_capacity(self.ring.len());
        for held in self.ring.drain(..) {
            if (from..=until).contains(&held.log_time) {
                self.bytes -= held.payload.len();
                out.push(held);
            } else {
                keep.push_back(held);
            }
        }
        self.ring = keep;
        if let Some(taken) = out.get_mut(start..) {
            taken.sort_by_key(|h| h.log_time);
        }
    }

    /// Ages the ring: drops frames older than `now - pre` (message time).
    pub(crate) fn expire(&mut self, now: u64, discarded: &mut impl FnMut(&Held)) {
        let horizon = now.saturating_sub(self.pre);
        while let Some(front) = self.ring.front() {
            if front.log_time >= horizon {
                break;
            }
            if let Some(old) = self.ring.pop_front() {
                self.bytes -= old.payload.len();
                discarded(&old);
            }
        }
        if let Some((_, until)) = self.open
            && until < horizon
        {
            self.open = None;
        }
    }

    /// Empties the ring (at close), telling `discarded` of every frame.
    pub(crate) fn clear(&mut self, discarded: &mut impl FnMut(&Held)) {
        for held in self.ring.drain(..) {
            discarded(&held);
        }
        self.bytes = 0;
    }

    #[cfg(test)]
    fn held_times(&self) -> Vec<u64> {
        self.ring.iter().map(|h| h.log_time).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(t: u64) -> Held {
        Held {
            channel: 1,
            log_time: t,
            payload: vec![0; 10],
        }
    }

    fn times(v: &[Held]) -> Vec<u64> {
        v.iter().map(|h| h.log_time).collect()
    }

    #[test]
    fn frames_wait_until_an_event_and_only_its_window_is_written() {
        // pre 3, post 2: an event at 10 keeps [7, 12].
        let mut w = ContextWindow::new(3, 2, 1 << 20);
        let mut gone = Vec::new();
        for t in 0..=10 {
            assert_eq!(w.offer(frame(t), &mut |h| gone.push(h.log_time)), None);
            w.expire(t, &mut |h| gone.push(h.log_time));
        }
        assert_eq!(gone, [0, 1, 2, 3, 4, 5, 6]);
        let mut out = Vec::new();
        w.trigger(10, &mut out);
        assert_eq!(times(&out), [7, 8, 9, 10]);
        // After the event: 11 and 12 are inside the window, 13 is not.
        assert!(w.offer(frame(11), &mut |_| {}).is_some());
        assert!(w.offer(frame(12), &mut |_| {}).is_some());
        assert!(w.offer(frame(13), &mut |_| {}).is_none());
        assert_eq!(w.held_times(), [13]);
    }

    #[test]
    fn a_second_event_does_not_write_frames_twice() {
        let mut w = ContextWindow::new(5, 0, 1 << 20);
        for t in 0..=6 {
            w.offer(frame(t), &mut |_| {});
        }
        let mut out = Vec::new();
        w.trigger(6, &mut out);
        assert_eq!(times(&out), [1, 2, 3, 4, 5, 6]);
        w.offer(frame(7), &mut |_| {});
        out.clear();
        w.trigger(7, &mut out);
        assert_eq!(times(&out), [7]);
        assert_eq!(w.held_times(), [0]);
    }

    #[test]
    fn the_byte_cap_drops_the_oldest_frames() {
        let mut w = ContextWindow::new(1_000, 0, 25);
        let mut gone = Vec::new();
        for t in 0..4 {
            w.offer(frame(t), &mut |h| gone.push(h.log_time));
        }
        assert_eq!(gone, [0, 1]);
        assert_eq!(w.held_times(), [2, 3]);
        let mut rest = Vec::new();
        w.clear(&mut |h| rest.push(h.log_time));
        assert_eq!(rest, [2, 3]);
    }

    #[test]
    fn windows_close_once_behind_the_horizon() {
        let mut w = ContextWindow::new(2, 1, 1 << 20);
        let mut out = Vec::new();
        w.trigger(10, &mut out);
        assert!(w.offer(frame(11), &mut |_| {}).is_some());
        w.expire(20, &mut |_| {});
        assert!(w.offer(frame(11), &mut |_| {}).is_none());
    }
}
