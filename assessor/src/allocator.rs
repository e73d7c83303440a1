//! The allocator's shape for `assessor run`, set once before any thread
//! starts.
//!
//! glibc gives threads that contend for the heap arenas of their own (up to
//! eight per core), and memory freed in one arena is not reused by another.
//! The job's runtime workers, the blocking pool and the threads that render
//! report files as they upload each kept their own: 100,000 workload
//! statements peaked at 217 MiB resident for about 110 MB of live heap. One
//! arena: 171 MiB, in the same time (`benches/workload_live.rs`; README).
//! The job allocates mostly on one task at a time; the lock one arena adds is
//! small next to the network and the session database.

/// Limits glibc to one malloc arena. Called before any thread exists.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn one_arena() {
    // SAFETY: mallopt only sets an allocator parameter, M_ARENA_MAX with 1
    // is a documented value, and no other thread exists yet to allocate
    // concurrently. A refusal (0) only costs memory, so it is not an error.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Other allocators have no arenas to limit.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn one_arena() {}
