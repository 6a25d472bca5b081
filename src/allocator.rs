//! The allocator the `lexnis` command and the benchmarks run with: mimalloc,
//! asked first by its plain entry point, the alignment of what it gives checked.
//!
//! A batch reads a dozen small values a record (lists and records of facts)
//! and frees them at the next; mimalloc's per-thread heaps do that faster than
//! the system allocator. The `mimalloc` crate's allocator sends every request to
//! `mi_malloc_aligned`, which takes a longer path than `mi_malloc` to the same
//! block: reading a record's facts took 6% less time with the plain call
//! (docs/performance.md).
//!
//! mimalloc is built without transparent huge pages (the `no_thp` feature in
//! Cargo.toml): with them, the first touch of each of its arenas made the
//! kernel clear a 2 MB page, and a one-entity `lexnis eval` held 28.7 MB
//! instead of 9.3 MB (10,000,000 batch records: 60.7 MB instead of 28.0).
//!
//! mimalloc does not promise an alignment for `mi_malloc` (the `mimalloc`
//! crate once assumed one, RUSTSEC-2022-0094), so nothing here assumes it
//! either: a block from the plain call is used only if its address has the
//! alignment asked for, and otherwise given back and asked for again by the
//! aligned call, as `mi_malloc_aligned` itself first tries a block and checks
//! it. Growing a block always takes the aligned call: a plain one could move
//! the block to an address of the wrong alignment, with the old one freed.

use libmimalloc_sys::{mi_free, mi_malloc, mi_malloc_aligned, mi_realloc_aligned};
use libmimalloc_sys::{mi_zalloc, mi_zalloc_aligned};
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

/// The largest alignment worth asking the plain call for: mimalloc's blocks
/// are usually aligned to a word or to 16 bytes, seldom to more.
const PLAIN_ALIGN_TRIED: usize = 16;

/// Whether the plain call is worth a try: a block is usually aligned to a
/// word, or to 16 bytes when it is as large (a type's size is a multiple of
/// its alignment; a layout asking for more is sent to the aligned call).
#[inline(always)]
fn plain_worth_trying(layout: Layout) -> bool {
    layout.align() <= PLAIN_ALIGN_TRIED && layout.align() <= layout.size()
}

/// `block` if it has the alignment `layout` asks for (a null block, a failed
/// allocation, passes as it is); otherwise it is freed and the aligned call
/// `aligned` makes the block.
///
/// # Safety
/// `block` is null or a block from mimalloc that nothing else refers to.
#[inline(always)]
unsafe fn checked(
    block: *mut c_void,
    layout: Layout,
    aligned: impl FnOnce() -> *mut c_void,
) -> *mut u8 {
    if block as usize & (layout.align() - 1) == 0 {
        return block as *mut u8;
    }
    mi_free(block);
    aligned() as *mut u8
}

/// A block for `layout`: from the plain call `plain` where it is worth a try
/// and its block is aligned as asked, else from the aligned call `aligned`.
///
/// # Safety
/// As [`GlobalAlloc::alloc`]: `layout` has a size other than zero.
#[inline(always)]
unsafe fn allocate(
    layout: Layout,
    plain: unsafe extern "C" fn(usize) -> *mut c_void,
    aligned: unsafe extern "C" fn(usize, usize) -> *mut c_void,
) -> *mut u8 {
    let (size, align) = (layout.size(), layout.align());
    if !plain_worth_trying(layout) {
        return aligned(size, align) as *mut u8;
    }
    checked(plain(size), layout, || aligned(size, align))
}

// SAFETY: every block comes from mimalloc and goes back to it, and every block
// handed out has the alignment its layout asks for: those of the aligned calls
// by their contract, those of the plain calls by `checked`.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        allocate(layout, mi_malloc, mi_malloc_aligned)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        allocate(layout, mi_zalloc, mi_zalloc_aligned)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi_free(ptr as *mut c_void);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
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
                    let plain = Mimalloc.alloc(layout);
                    assert!(!plain.is_null() && aligned(plain), "{size} bytes, {align}");
                    Mimalloc.dealloc(plain, layout);
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

    /// A block of the wrong alignment is given back and made again by the
    /// aligned call. Today's mimalloc seldom hands the plain calls such a block
    /// for the layouts they are asked (its size classes are multiples of the
    /// alignments that reach them), so the fallback is tested here directly,
    /// on an 8-byte block, which is aligned to 8 and often not to 16.
    #[test]
    fn a_block_of_the_wrong_alignment_is_made_again_aligned() {
        let layout = Layout::from_size_align(8, 16).unwrap();
        // SAFETY: the blocks come from mimalloc and are freed once each.
        unsafe {
            let mut kept = Vec::new();
            let misaligned = loop {
                let block = mi_malloc(8);
                if block as usize % 16 != 0 {
                    break block;
                }
                kept.push(block);
            };
            let block = checked(misaligned, layout, || mi_malloc_aligned(8, 16));
            assert!(!block.is_null() && block as usize % 16 == 0);
            Mimalloc.dealloc(block, layout);
            kept.into_iter().for_each(|block| mi_free(block));
        }
    }

    /// Blocks asked for zeroed are zero, also where freed blocks of the same
    /// size, written over, are there to be handed out again.
    #[test]
    fn zeroed_blocks_are_zero_after_others_were_written_and_freed() {
        for (size, align) in [(8, 8), (16, 16), (24, 8), (24, 16), (40, 16), (48, 16)] {
            let layout = Layout::from_size_align(size, align).unwrap();
            // SAFETY: each block is used within its size and freed once.
            unsafe {
                let written: Vec<*mut u8> = (0..1000)
                    .map(|_| {
                        let block = Mimalloc.alloc(layout);
                        block.write_bytes(0xAB, size);
                        block
                    })
                    .collect();
                written
                    .into_iter()
                    .for_each(|b| Mimalloc.dealloc(b, layout));
                let zeroed: Vec<*mut u8> =
                    (0..1000).map(|_| Mimalloc.alloc_zeroed(layout)).collect();
                for &block in &zeroed {
                    assert_eq!(block as usize % align, 0, "{size} bytes, {align}");
                    assert!(
                        (0..size).all(|i| *block.add(i) == 0),
                        "{size} bytes, {align}"
                    );
                }
                zeroed.into_iter().for_each(|b| Mimalloc.dealloc(b, layout));
            }
        }
    }
}
