//! Keeping the supervisor's resident set small. One supervisor runs per managed process,
//! so what each keeps mapped is paid many times over.
//!
//! Once the process is spawned, the code and constants that starting up used (argument and
//! record parsing, the first spawn, the handshake) are not needed again for a long time,
//! yet they stay mapped, and counted in the supervisor's RSS, with the 64 KiB around each
//! page the kernel maps at a fault. [`release_code`] unmaps this binary's read-only
//! segments from the process: the pages stay in the page cache (one copy for every
//! supervisor), and whatever the supervisor runs next faults back in as it is used.
//!
//! The heap is kept small the same way: what starting up allocated and freed goes back
//! ([`release_heap`]), and the large buffers of a busy log stream are mapped on their own
//! ([`tune_allocator`]), so that freeing them returns them to the system at once.
//!
//! How is the OS's and its C library's (`platform::allocator`: glibc on Linux; elsewhere
//! these do nothing and the supervisor keeps more resident).

/// Allocations at least this large get a mapping of their own (glibc's `M_MMAP_THRESHOLD`):
/// a log stream's read buffer (64 KiB, 1 MiB when busy) is then untouched until a read fills
/// it, and unmapped when it is freed after a quiet second, instead of staying resident in
/// the heap. Set, it also stops glibc from raising the threshold after such a free.
const MMAP_THRESHOLD: i32 = 64 * 1024;

/// Tunes the allocator for a long-lived process that is idle most of its life; call it
/// before the first large allocation it should apply to.
pub fn tune_allocator() {
    crate::platform::allocator::mmap_threshold(MMAP_THRESHOLD);
}

/// Returns the heap's free pages to the system (glibc's `malloc_trim`): starting up (the
/// record, the environment, the first spawn) leaves free memory among the chunks in use,
/// resident until something allocates it again.
pub fn release_heap() {
    crate::platform::allocator::release_heap();
}

/// Drops this binary's code and constants from the process's page tables (they fault back
/// in from the page cache as they are used).
pub fn release_code() {
    crate::platform::allocator::release_code();
}
