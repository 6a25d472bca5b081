//! The allocator the `lexnis` command and the benchmarks run with: mimalloc,
//! called by its plain entry points wherever the alignment asked for is one
//! they give anyway.
//!
//! A batch reads a dozen small values a record (lists and records of facts)
//! and frees them at the next; mimalloc's per-thread heaps do that faster than
//! the system allocator. The `mimalloc` crate's allocator sends every request to
//! `mi_malloc_aligned`, which takes a longer path than `mi_malloc` to the same
//! block: reading a record's facts took 6% less time with the plain calls
//! (docs/performance.md).

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

/// mimalloc as a global allocator:
///
/// ```no_run
/// #[global_allocator]
/// static ALLOCATOR: lexnis::allocator::Mimalloc = lexnis::allocator::Mimalloc;
///
/// fn main() {}
/// ```
pub struct Mimalloc;

/// The alignment `mi_malloc` gives every block of this size or more (its
/// `MI_MAX_ALIGN_SIZE`); a smaller block is aligned to its size's power of
/// two, as the system allocator's `malloc` (Rust's own `System` relies on the
/// same rule).
const PLAIN_ALIGN: usize = 16;

/// Whether a block of `size` bytes from the plain calls is aligned as `align`
/// asks.
#[inline(always)]
fn plain_will_do(align: usize, size: usize) -> bool {
    align <= PLAIN_ALIGN && align <= size
}

// SAFETY: every block comes from mimalloc and goes back to it; the plain calls
// are used only where their blocks have the alignment asked for (see
// `plain_will_do`), the aligned ones otherwise.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let (size, align) = (layout.size(), layout.align());
        let block = match plain_will_do(align, size) {
            true => libmimalloc_sys::mi_malloc(size),
            false => libmimalloc_sys::mi_malloc_aligned(size, align),
        };
        block as *mut u8
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let (size, align) = (layout.size(), layout.align());
        let block = match plain_will_do(align, size) {
            true => libmimalloc_sys::mi_zalloc(size),
            false => libmimalloc_sys::mi_zalloc_aligned(size, align),
        };
        block as *mut u8
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        libmimalloc_sys::mi_free(ptr as *mut c_void);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (ptr, align) = (ptr as *mut c_void, layout.align());
        let block = match plain_will_do(align, new_size) {
            true => libmimalloc_sys::mi_realloc(ptr, new_size),
            false => libmimalloc_sys::mi_realloc_aligned(ptr, new_size, align),
        };
        block as *mut u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks of every size and alignment a program asks for come back aligned
    /// as asked, zeroed when asked, and keep their bytes and alignment when
    /// grown and then shrunk.
    #[test]
    fn every_block_has_the_alignment_asked_for() {
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 3, 8, 12, 16, 24, 40, 100, 1000, 70_000] {
                let aligned = |block: *mut u8| block as usize % align == 0;
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: each block is used within its size and freed once,
                // with the layout it has at that time.
                unsafe {
                    let block = Mimalloc.alloc_zeroed(layout);
                    assert!(!block.is_null() && aligned(block), "{size} bytes, {align}");
                    assert!((0..size).all(|i| *block.add(i) == 0));
                    block.write_bytes(7, size);
                    let grown = Mimalloc.realloc(block, layout, size * 3);
                    assert!(aligned(grown), "{size} bytes grown, {align}");
                    assert!((0..size).all(|i| *grown.add(i) == 7));
                    let layout = Layout::from_size_align(size * 3, align).unwrap();
                    let kept = size.div_ceil(2);
                    let shrunk = Mimalloc.realloc(grown, layout, kept);
                    assert!(aligned(shrunk), "{size} bytes shrunk, {align}");
                    assert!((0..kept).all(|i| *shrunk.add(i) == 7));
                    Mimalloc.dealloc(shrunk, Layout::from_size_align(kept, align).unwrap());
                }
            }
        }
    }
}
