//! Native stack for plugin calls (issue 16, finding 2).
//!
//! wasmtime lets the wasm of a store use [`Limits::max_wasm_stack`] of the native
//! stack, counted from where the thread enters that store. A nested call
//! (`plugins.call`, a payroll or compliance extension call) runs in a store of its
//! own on the same thread, entered below its caller's frames, so a chain of
//! [`MAX_DEPTH`] calls can use [`MAX_DEPTH`] full wasm stacks plus the host's frames
//! between them: over 6 MiB, where a Rust thread gets 2 MiB by default. Past the end
//! of a thread's stack is a guard page, and touching it aborts the whole process.
//!
//! So plugin calls run only on threads with [`Limits::native_stack_bytes`] of stack:
//!
//! ```text
//! serve         the async runtime's threads (the blocking pool that runs every
//!               call, the scheduler and delivery worker) are built with it, marked
//! command line  the command runs on such a thread, marked
//! anything else a library user's thread, the testkit, a test: the outermost call
//!               runs on a scoped thread of that size, and its nested calls with it
//! ```
//!
//! The other way, bounding each level's wasm stack so that all levels together fit a
//! default thread, is not taken: wasmtime's limit is one number for the whole engine,
//! measured per store from its entry, so every call, nested or not, would get a sixth
//! of what fits (about 250 KiB) and a plugin recursing legitimately deep at the top
//! level would trap; and it would still rely on every caller's thread having the
//! assumed stack. A bigger stack costs address space only: the pages of a thread's
//! stack are committed when first touched.
//!
//! [`MAX_DEPTH`]: super::MAX_DEPTH
//! [`Limits::max_wasm_stack`]: super::Limits::max_wasm_stack
//! [`Limits::native_stack_bytes`]: super::Limits::native_stack_bytes

use std::cell::Cell;

thread_local! {
    /// The stack the current thread was started with, when the host started it (or
    /// was told with [`mark_thread`]); 0 for any other thread.
    static STACK_BYTES: Cell<usize> = const { Cell::new(0) };
}

/// Record that the current thread was started with `bytes` of stack, so plugin calls
/// needing at most that run on it in place. Call it first thing on a thread built
/// with that stack size (tokio's `on_thread_start`, for one).
pub fn mark_thread(bytes: usize) {
    STACK_BYTES.set(bytes);
}

/// Run `f` on a new thread with `bytes` of stack, marked (see [`mark_thread`]), and
/// wait for it; a panic in `f` is resumed here. The thread keeps the caller's
/// tracing span. Fails only when the thread cannot be started.
pub fn on_thread_with<R: Send>(bytes: usize, f: impl FnOnce() -> R + Send) -> std::io::Result<R> {
    let span = tracing::Span::current();
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("plugin-call".into())
            .stack_size(bytes)
            .spawn_scoped(scope, move || {
                mark_thread(bytes);
                span.in_scope(f)
            })?;
        match thread.join() {
            Ok(result) => Ok(result),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Start a thread with `bytes` of stack, marked (see [`mark_thread`]), running `f`:
/// for a program that makes plugin calls from threads of its own.
pub fn spawn<T: Send + 'static>(
    bytes: usize,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<T>> {
    std::thread::Builder::new()
        .stack_size(bytes)
        .spawn(move || {
            mark_thread(bytes);
            f()
        })
}

/// Whether the current thread was started (and marked) with at least `bytes` of
/// stack, so a plugin call runs on it in place.
pub fn marked_with(bytes: usize) -> bool {
    STACK_BYTES.get() >= bytes
}

/// Run `f`, which starts a plugin call, with `bytes` of stack: in place on a thread
/// marked with at least that much, else on a thread of its own.
pub(crate) fn with_stack<R: Send>(
    bytes: usize,
    f: impl FnOnce() -> R + Send,
) -> std::io::Result<R> {
    if marked_with(bytes) {
        return Ok(f());
    }
    on_thread_with(bytes, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unmarked_thread_hands_the_work_to_a_marked_one() {
        let here = std::thread::current().id();
        let (ran_on, marked) =
            with_stack(8 << 20, || (std::thread::current().id(), STACK_BYTES.get())).unwrap();
        assert_ne!(ran_on, here);
        assert_eq!(marked, 8 << 20);
        // Marked with enough, the work runs in place; nested work too.
        on_thread_with(8 << 20, || {
            let here = std::thread::current().id();
            let inner = with_stack(4 << 20, || std::thread::current().id()).unwrap();
            assert_eq!(inner, here);
        })
        .unwrap();
    }

    #[test]
    fn a_panic_reaches_the_caller() {
        let caught = std::panic::catch_unwind(|| {
            let _ = with_stack(4 << 20, || panic!("inside"));
        });
        assert!(caught.is_err());
    }
}
