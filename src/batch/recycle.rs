//! Byte buffers handed back by the thread done with them, for the next chunk.

use std::sync::Mutex;

/// Buffers kept for use again. A chunk's text or results written into a buffer
/// used before go into memory already mapped and in cache; a new buffer of
/// hundreds of kilobytes is fresh pages, which the kernel must clear first
/// (sampled: 3 to 10% of a batch's time), and freeing it on another thread than
/// the one that made it takes the allocator's slower path.
pub(super) struct Recycled {
    free: Mutex<Vec<Vec<u8>>>,
    /// The most buffers kept: no more than can be in flight at once, so that
    /// memory stays flat (a buffer given back beyond that is freed).
    keep: usize,
}

/// The largest buffer kept. A chunk's text or results take a megabyte or two
/// (1,024 records of a few hundred bytes, their result lines of one or two
/// kilobytes; 64 full traces of some 28 KB); a chunk with a record of many
/// megabytes grows its buffer past this, and the buffer is freed rather than
/// held for the rest of the run.
pub(super) const KEEP_UP_TO_BYTES: usize = 8 << 20;

impl Recycled {
    pub(super) fn new(keep: usize) -> Recycled {
        Recycled {
            free: Mutex::new(Vec::with_capacity(keep)),
            keep,
        }
    }

    /// An empty buffer with room for `capacity` bytes, or for
    /// [`KEEP_UP_TO_BYTES`] if that is less (one outsized chunk does not make
    /// every later buffer as large; it grows as it is written): one given back
    /// if there is one, else a new one.
    pub(super) fn take(&self, capacity: usize) -> Vec<u8> {
        let given = self.free.lock().ok().and_then(|mut free| free.pop());
        let mut buffer = given.unwrap_or_default();
        buffer.reserve(capacity.min(KEEP_UP_TO_BYTES));
        buffer
    }

    /// Gives `buffer` back, emptied, for a later [`Recycled::take`]; one grown
    /// past [`KEEP_UP_TO_BYTES`] is freed.
    pub(super) fn give(&self, mut buffer: Vec<u8>) {
        if buffer.capacity() > KEEP_UP_TO_BYTES {
            return;
        }
        buffer.clear();
        if let Ok(mut free) = self.free.lock() {
            if free.len() < self.keep {
                free.push(buffer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_given_back_is_taken_again_empty_with_its_memory() {
        let recycled = Recycled::new(2);
        let mut buffer = recycled.take(1024);
        buffer.extend_from_slice(b"a chunk's lines");
        let address = buffer.as_ptr();
        recycled.give(buffer);
        let again = recycled.take(16);
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), address);
        assert!(again.capacity() >= 1024);
    }

    #[test]
    fn a_buffer_taken_is_made_as_large_as_asked() {
        let recycled = Recycled::new(2);
        recycled.give(Vec::with_capacity(8));
        assert!(recycled.take(4096).capacity() >= 4096);
    }

    #[test]
    fn no_more_buffers_are_kept_than_it_was_made_to_keep() {
        let recycled = Recycled::new(2);
        for _ in 0..5 {
            recycled.give(Vec::with_capacity(64));
        }
        let kept = recycled.free.lock().unwrap().len();
        assert_eq!(kept, 2);
    }

    #[test]
    fn no_buffer_is_made_larger_than_one_kept_before_it_is_written() {
        let recycled = Recycled::new(2);
        let buffer = recycled.take(10 * KEEP_UP_TO_BYTES);
        assert!(buffer.capacity() < 2 * KEEP_UP_TO_BYTES);
    }

    #[test]
    fn a_buffer_grown_by_an_outsized_chunk_is_freed_not_kept() {
        let recycled = Recycled::new(2);
        recycled.give(Vec::with_capacity(KEEP_UP_TO_BYTES + 1));
        recycled.give(Vec::with_capacity(KEEP_UP_TO_BYTES));
        let kept = recycled.free.lock().unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].capacity(), KEEP_UP_TO_BYTES);
    }
}
