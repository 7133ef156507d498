//! The C library's allocator and the program's mappings, for a process that is idle most of
//! its life (see `crate::supervisor::resident` for why). glibc's `mallopt` and
//! `malloc_trim`, and unmapping the ELF's read-only segments, are Linux's (with glibc for
//! the first two); they are used on both backends, since the allocator is the C library's,
//! not a mechanic of supervision. Elsewhere (macOS, musl) each call does nothing: the
//! supervisor works the same and keeps more resident (macOS's allocator returns free
//! pages on its own).

/// Allocations at least `bytes` large get a mapping of their own, and the threshold stays
/// there (glibc's `M_MMAP_THRESHOLD`).
pub(crate) fn mmap_threshold(bytes: i32) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; the caller is single-threaded here
    // (its short-lived threads start later).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, bytes);
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = bytes;
}

/// One malloc arena: a thread's allocations come back to the main one, where
/// [`release_heap`] returns them, instead of staying in an arena of its own.
pub(crate) fn one_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Returns the heap's free pages to the system (glibc's `malloc_trim`).
pub(crate) fn release_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; no pointer in use is invalidated.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Drops this binary's never-written segments (code and constants: `PT_LOAD` without
/// `PF_W`) from the process's page tables. Harmless: those pages are file-backed and
/// unmodified, so a later access reads them again from the page cache. Writable segments
/// (data, and RELRO, which was written when it was relocated) are left alone.
pub(crate) fn release_code() {
    #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
    // SAFETY: the kernel gives AT_PHDR/AT_PHNUM for the running program; the headers are
    // mapped for the life of the process. MADV_DONTNEED on a private file mapping whose
    // pages were never written only drops their mappings.
    unsafe {
        let at = libc::getauxval(libc::AT_PHDR) as usize;
        let count = libc::getauxval(libc::AT_PHNUM) as usize;
        if at == 0 || count == 0 {
            return;
        }
        let headers = std::slice::from_raw_parts(at as *const libc::Elf64_Phdr, count);
        // Where the program was loaded (0 unless it is position-independent).
        // A program linked at a fixed address (static, not PIE) may have no PT_PHDR: it
        // was loaded where it was linked if its headers are where a segment puts them.
        let fixed = || {
            headers
                .iter()
                .any(|h| {
                    h.p_type == libc::PT_LOAD
                        && (h.p_vaddr as usize) <= at
                        && at < (h.p_vaddr + h.p_memsz) as usize
                })
                .then_some(0)
        };
        let Some(bias) = headers
            .iter()
            .find(|h| h.p_type == libc::PT_PHDR)
            .map(|h| at.wrapping_sub(h.p_vaddr as usize))
            .or_else(fixed)
        else {
            return;
        };
        let page = libc::sysconf(libc::_SC_PAGESIZE).max(4096) as usize;
        for h in headers
            .iter()
            .filter(|h| h.p_type == libc::PT_LOAD && h.p_flags & libc::PF_W == 0)
        {
            let start = bias.wrapping_add(h.p_vaddr as usize) & !(page - 1);
            let end =
                (bias.wrapping_add((h.p_vaddr + h.p_memsz) as usize) + page - 1) & !(page - 1);
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Resident KiB of this binary's code mappings, from /proc/self/smaps.
    fn code_rss_kib() -> u64 {
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let exe = exe.to_string_lossy().into_owned();
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut ours = false;
        let mut total = 0;
        for line in smaps.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields
                .first()
                .is_some_and(|f| f.contains('-') && !f.ends_with(':'))
            {
                ours = fields.get(1).is_some_and(|p| p.starts_with("r-x")) && line.ends_with(&exe);
            } else if ours && fields.first() == Some(&"Rss:") {
                total += fields[1].parse::<u64>().unwrap();
            }
        }
        total
    }

    #[test]
    fn code_pages_are_released_and_fault_back_in_when_run() {
        let before = code_rss_kib();
        assert!(before > 0, "the test binary's code is resident");
        release_code();
        let after = code_rss_kib();
        // Other test threads run code meanwhile, faulting a little back in.
        assert!(
            after < before,
            "{after} KiB resident after, {before} KiB before"
        );
        // And the code still runs: formatting, allocation, the file system.
        assert_eq!(format!("{:?}", vec![1, 2]), "[1, 2]");
        assert!(std::fs::read_to_string("/proc/self/stat").is_ok());
    }
}
