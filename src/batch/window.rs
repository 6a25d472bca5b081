//! How far ahead of the writer chunks may be handed out (by the reader
//! thread) or taken (by the workers that cut JSON lines).
//!
//! The writer writes chunks in input order and holds back those finished
//! early. Without a limit, one chunk slow to evaluate (a record of megabytes
//! read as a tree) lets the other workers finish chunk after chunk, all held
//! back until it is written: memory then grows with the input read meanwhile.
//! The reading waits instead, once it is a window of chunks ahead.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

pub(super) struct Window {
    /// How many chunks past the next one to write may be handed out.
    ahead: u64,
    progress: Mutex<Progress>,
    moved: Condvar,
}

#[derive(Default)]
struct Progress {
    /// The chunks written so far (the next to write has this number).
    written: u64,
    /// The writer has stopped (done, or the output failed): nobody waits.
    closed: bool,
}

impl Window {
    /// A window of `ahead` chunks (at least one).
    pub(super) fn new(ahead: u64) -> Window {
        Window {
            ahead: ahead.max(1),
            progress: Mutex::new(Progress::default()),
            moved: Condvar::new(),
        }
    }

    /// Waits until chunk `seq` may be handed out; `false` if the writer has
    /// stopped, so that the reading stops too.
    pub(super) fn wait_for(&self, seq: u64) -> bool {
        let mut progress = self.lock();
        while seq >= progress.written + self.ahead && !progress.closed {
            progress = (self.moved.wait(progress)).unwrap_or_else(PoisonError::into_inner);
        }
        !progress.closed
    }

    /// The writer has written `written` chunks.
    pub(super) fn written(&self, written: u64) {
        self.lock().written = written;
        self.moved.notify_all();
    }

    /// The writer has stopped.
    pub(super) fn close(&self) {
        self.lock().closed = true;
        self.moved.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::Window;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn the_reader_waits_a_window_ahead_of_the_writer_and_stops_when_it_closes() {
        let window = Window::new(3);
        let handed_out = AtomicU64::new(0);
        std::thread::scope(|s| {
            let reader = s.spawn(|| {
                for seq in 0.. {
                    if !window.wait_for(seq) {
                        return seq;
                    }
                    handed_out.store(seq + 1, Ordering::SeqCst);
                }
                unreachable!()
            });
            // Nothing written: chunks 0, 1 and 2 go out, and the reader waits
            // at chunk 3.
            while handed_out.load(Ordering::SeqCst) < 3 {
                std::thread::yield_now();
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert_eq!(handed_out.load(Ordering::SeqCst), 3);
            window.written(2);
            while handed_out.load(Ordering::SeqCst) < 5 {
                std::thread::yield_now();
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert_eq!(handed_out.load(Ordering::SeqCst), 5);
            window.close();
            assert_eq!(reader.join().unwrap(), 5);
        });
    }
}
