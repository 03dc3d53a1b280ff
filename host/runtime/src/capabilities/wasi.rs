//! The WASI a plugin's toolchain needs to start, with nothing behind what would grant
//! access.
//!
//! Linked with behaviour: `wasi:cli` environment, exit and stdio; `wasi:io` error,
//! poll and streams; `wasi:clocks`; `wasi:random`. The environment and arguments are
//! empty, stdin is empty, and stdout/stderr go to bounded in-memory pipes that the host
//! turns into log records after the call.
//!
//! Linked empty: `wasi:filesystem` (types, preopens) and `wasi:sockets` (network,
//! instance-network, ip-name-lookup, tcp, tcp-create-socket, udp, udp-create-socket).
//! A Rust `wasm32-wasip2` plugin imports the filesystem only if it touches `std::fs`,
//! but componentize-py's CPython and jco's runtime import all of these whether the
//! plugin uses them or not, so a component that imports them must instantiate. Nothing
//! stands behind them: there is no preopened directory (`get-directories` answers an
//! empty list, and without a descriptor no other filesystem function can be called),
//! TCP, UDP and name lookup are switched off and every socket address is refused, so
//! every call answers `access-denied` or `not-permitted`. Any other import (`wasi:http`,
//! `wasi:keyvalue`, interfaces of other hosts) is refused at install ([`ALLOWED_WASI`]
//! is the exact list).
//!
//! # Time and waiting
//!
//! The wall clock shows the call's business time for the whole call, so plugin code is
//! deterministic and cannot measure the host. The monotonic clock is virtual: it starts
//! at zero and moves only when a wait on it completes, to exactly the instant the
//! plugin asked for, so after `sleep(d)` the plugin sees `d` elapsed, never the
//! host's real timing.
//!
//! A wait itself is real: a plugin that sleeps 10 ms waits 10 ms (a retry backoff
//! works). It is bounded by the call's deadline, because the epoch interruption that
//! stops a runaway loop cannot reach a guest blocked inside a host function, and a
//! blocked call holds its tenant's write lock. So `wasi:io/poll.poll` and
//! `pollable.block` wait at most until the deadline of the call's store and then
//! trap with [`DeadlineExceeded`], which the runtime reports as the same deadline
//! failure as a runaway loop; the call rolls back and its locks go with it. A wait
//! that can only end past the deadline (every pollable is a clock whose time comes
//! after it, as in a 600 s sleep) fails at once instead of holding the lock until
//! then: the outcome would be the same. Completing instantly with the clock advanced
//! would be deterministic too, but would let a plugin "sleep" through an hour in a
//! 2 s call and spin on timeouts that never really elapse; failing matches what the
//! plugin asked for.
//!
//! No other linked import waits: stdin is closed, stdout and stderr are in-memory
//! pipes that are always ready, and the streams' `blocking-*` calls only wait on
//! those.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::{cli, clocks, random};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::p2::{DynPollable, Pollable};
use wasmtime_wasi::{HostWallClock, WasiCtx, WasiCtxBuilder, WasiView};

use crate::DeadlineExceeded;
use crate::inline::block_on;
use wasmtime_wasi::p2::bindings::io::poll::{Host as AsyncPoll, HostPollable as AsyncPollable};
use wasmtime_wasi::p2::bindings::sync::io::poll;

use super::{CallInfo, CallState};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::random::{WasiRandom, WasiRandomView};

/// The WASI context of one call. Its monotonic clock is never read: `wasi:clocks/
/// monotonic-clock` is served by [`Waits`] instead.
pub(super) fn context(
    info: &CallInfo,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
) -> WasiCtx {
    let wall = FrozenClock {
        since_epoch: Duration::new(
            u64::try_from(info.now.unix_timestamp()).unwrap_or(0),
            info.now.nanosecond(),
        ),
    };
    // No preopened directory and no network. The socket address check already refuses
    // every address by default; the switches below say so explicitly and also stop
    // name lookups, which the address check does not cover.
    WasiCtxBuilder::new()
        .stdout(stdout)
        .stderr(stderr)
        .wall_clock(wall)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }))
        .build()
}

/// A clock that shows the call's business time for the whole call, so plugin code is
/// deterministic and cannot measure time to probe the host.
struct FrozenClock {
    since_epoch: Duration,
}

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        self.since_epoch
    }
}

/// The waits of one call: the virtual monotonic clock and the deadline no wait may
/// pass.
#[derive(Default)]
pub(crate) struct Waits {
    /// When the store's epoch deadline passes; `None` (before the runtime set it)
    /// refuses every wait that is not ready at once.
    deadline: Option<Instant>,
    /// Nanoseconds since the call started, as the plugin sees them. Shared with the
    /// clock pollables, which move it when they fire.
    clock: Arc<AtomicU64>,
    /// The virtual and the real time (`None`: never) each clock pollable the plugin
    /// holds fires at, by resource id, so a wait that cannot end before the deadline
    /// fails at once.
    alarms: HashMap<u32, (u64, Option<Instant>)>,
}

impl Waits {
    /// No wait of this call may last past `deadline`.
    pub(crate) fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = Some(deadline);
    }

    /// Whether every pollable in `pollables` is a clock that fires after the deadline,
    /// so waiting for them can only end in the deadline failure.
    fn hopeless(&self, pollables: &[u32]) -> bool {
        let Some(deadline) = self.deadline else {
            return false;
        };
        // Only firing alarms move the clock, so a list of alarms none of which is due
        // or fires in time cannot become ready before the deadline.
        let clock = self.clock.load(Ordering::Relaxed);
        !pollables.is_empty()
            && pollables.iter().all(|rep| match self.alarms.get(rep) {
                Some((at, real)) => *at > clock && real.is_none_or(|real| real > deadline),
                None => false,
            })
    }

    /// Run `wait` on the host thread, for no longer than the call has left.
    fn bounded<T>(&self, wait: impl Future<Output = wasmtime::Result<T>>) -> wasmtime::Result<T> {
        let deadline = self.deadline;
        block_on(async move {
            // A pollable that is ready answers even past the deadline: only an
            // actual wait is refused.
            let deadline = deadline.unwrap_or_else(Instant::now);
            match tokio::time::timeout_at(deadline.into(), wait).await {
                Ok(result) => result,
                Err(_elapsed) => Err(wasmtime::Error::new(DeadlineExceeded)),
            }
        })?
    }
}

/// A `monotonic-clock` pollable: fires when the real wait is over and moves the
/// virtual clock to the instant the plugin asked for.
struct Alarm {
    /// Virtual time the plugin waits for, in nanoseconds.
    at: u64,
    /// Real time it fires; `None` for a wait too long to represent (never).
    real: Option<tokio::time::Instant>,
    clock: Arc<AtomicU64>,
}

#[wasmtime_wasi::async_trait]
impl Pollable for Alarm {
    async fn ready(&mut self) {
        if self.clock.load(Ordering::Relaxed) < self.at {
            match self.real {
                Some(real) => tokio::time::sleep_until(real).await,
                None => std::future::pending().await,
            }
            self.clock.fetch_max(self.at, Ordering::Relaxed);
        }
    }
}

/// What the `wasi:io/poll` and `wasi:clocks/monotonic-clock` imports work on.
struct WaitView<'a> {
    table: &'a mut ResourceTable,
    waits: &'a mut Waits,
}

struct HasWaits;

impl HasData for HasWaits {
    type Data<'a> = WaitView<'a>;
}

fn waits(state: &mut CallState) -> WaitView<'_> {
    WaitView {
        table: &mut state.table,
        waits: &mut state.waits,
    }
}

impl WaitView<'_> {
    /// A pollable firing `wait` nanoseconds of virtual time from now.
    fn alarm(&mut self, wait: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let clock = self.waits.clock.clone();
        let at = clock.load(Ordering::Relaxed).saturating_add(wait);
        let real = Instant::now().checked_add(Duration::from_nanos(wait));
        let alarm = self.table.push(Alarm {
            at,
            real: real.map(tokio::time::Instant::from_std),
            clock,
        })?;
        let pollable = wasmtime_wasi::p2::subscribe(self.table, alarm)?;
        self.waits.alarms.insert(pollable.rep(), (at, real));
        Ok(pollable)
    }

    fn refuse_hopeless(&self, pollables: &[u32]) -> wasmtime::Result<()> {
        if self.waits.hopeless(pollables) {
            return Err(wasmtime::Error::new(DeadlineExceeded));
        }
        Ok(())
    }
}

impl clocks::monotonic_clock::Host for WaitView<'_> {
    fn now(&mut self) -> wasmtime::Result<u64> {
        Ok(self.waits.clock.load(Ordering::Relaxed))
    }

    fn resolution(&mut self) -> wasmtime::Result<u64> {
        Ok(1)
    }

    fn subscribe_instant(&mut self, when: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let now = self.waits.clock.load(Ordering::Relaxed);
        self.alarm(when.saturating_sub(now))
    }

    fn subscribe_duration(&mut self, wait: u64) -> wasmtime::Result<Resource<DynPollable>> {
        self.alarm(wait)
    }
}

impl poll::Host for WaitView<'_> {
    fn poll(&mut self, pollables: Vec<Resource<DynPollable>>) -> wasmtime::Result<Vec<u32>> {
        let reps: Vec<u32> = pollables.iter().map(Resource::rep).collect();
        self.refuse_hopeless(&reps)?;
        let table = &mut *self.table;
        self.waits
            .bounded(async move { AsyncPoll::poll(table, pollables).await })
    }
}

impl poll::HostPollable for WaitView<'_> {
    fn ready(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<bool> {
        block_on(AsyncPollable::ready(self.table, pollable))?
    }

    fn block(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        self.refuse_hopeless(&[pollable.rep()])?;
        let table = &mut *self.table;
        self.waits
            .bounded(async move { AsyncPollable::block(table, pollable).await })
    }

    fn drop(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        // Forget the alarm first: the table reuses the id for the next resource.
        self.waits.alarms.remove(&pollable.rep());
        AsyncPollable::drop(self.table, pollable)
    }
}

struct HasIo;

impl HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

/// `wasi:io/streams` for synchronous calls: wasmtime-wasi's own, except that a
/// blocking operation waits through [`block_on`], so it never blocks an async
/// worker (see `runtime::inline`). Every stream a call holds is an in-memory pipe
/// that is always ready, so nothing here waits in practice.
struct Streams<'a>(&'a mut ResourceTable);

struct HasStreams;

impl HasData for HasStreams {
    type Data<'a> = Streams<'a>;
}

mod sync_streams {
    use wasmtime::component::Resource;
    use wasmtime_wasi::p2::bindings::io::streams::{
        Host as AsyncHost, HostInputStream as AsyncInput, HostOutputStream as AsyncOutput,
    };
    use wasmtime_wasi::p2::bindings::sync::io::poll::Pollable;
    use wasmtime_wasi::p2::bindings::sync::io::streams::{
        self, Host, HostInputStream, HostOutputStream, InputStream, OutputStream,
    };
    use wasmtime_wasi::p2::{StreamError, StreamResult};

    use super::{Streams, block_on};

    /// The outcome of a blocking stream operation, a give-up included.
    fn waited<T>(r: wasmtime::Result<StreamResult<T>>) -> StreamResult<T> {
        r.unwrap_or_else(|e| Err(StreamError::Trap(e)))
    }

    impl Host for Streams<'_> {
        fn convert_stream_error(
            &mut self,
            err: StreamError,
        ) -> wasmtime::Result<streams::StreamError> {
            Ok(AsyncHost::convert_stream_error(self.0, err)?.into())
        }
    }

    impl HostOutputStream for Streams<'_> {
        fn drop(&mut self, stream: Resource<OutputStream>) -> wasmtime::Result<()> {
            block_on(AsyncOutput::drop(self.0, stream))?
        }
        fn check_write(&mut self, stream: Resource<OutputStream>) -> StreamResult<u64> {
            AsyncOutput::check_write(self.0, stream)
        }
        fn write(&mut self, stream: Resource<OutputStream>, bytes: Vec<u8>) -> StreamResult<()> {
            AsyncOutput::write(self.0, stream, bytes)
        }
        fn blocking_write_and_flush(
            &mut self,
            stream: Resource<OutputStream>,
            bytes: Vec<u8>,
        ) -> StreamResult<()> {
            waited(block_on(AsyncOutput::blocking_write_and_flush(
                self.0, stream, bytes,
            )))
        }
        fn blocking_write_zeroes_and_flush(
            &mut self,
            stream: Resource<OutputStream>,
            len: u64,
        ) -> StreamResult<()> {
            waited(block_on(AsyncOutput::blocking_write_zeroes_and_flush(
                self.0, stream, len,
            )))
        }
        fn subscribe(
            &mut self,
            stream: Resource<OutputStream>,
        ) -> wasmtime::Result<Resource<Pollable>> {
            AsyncOutput::subscribe(self.0, stream)
        }
        fn write_zeroes(&mut self, stream: Resource<OutputStream>, len: u64) -> StreamResult<()> {
            AsyncOutput::write_zeroes(self.0, stream, len)
        }
        fn flush(&mut self, stream: Resource<OutputStream>) -> StreamResult<()> {
            AsyncOutput::flush(self.0, Resource::new_borrow(stream.rep()))
        }
        fn blocking_flush(&mut self, stream: Resource<OutputStream>) -> StreamResult<()> {
            waited(block_on(AsyncOutput::blocking_flush(
                self.0,
                Resource::new_borrow(stream.rep()),
            )))
        }
        fn splice(
            &mut self,
            dst: Resource<OutputStream>,
            src: Resource<InputStream>,
            len: u64,
        ) -> StreamResult<u64> {
            AsyncOutput::splice(self.0, dst, src, len)
        }
        fn blocking_splice(
            &mut self,
            dst: Resource<OutputStream>,
            src: Resource<InputStream>,
            len: u64,
        ) -> StreamResult<u64> {
            waited(block_on(AsyncOutput::blocking_splice(
                self.0, dst, src, len,
            )))
        }
    }

    impl HostInputStream for Streams<'_> {
        fn drop(&mut self, stream: Resource<InputStream>) -> wasmtime::Result<()> {
            block_on(AsyncInput::drop(self.0, stream))?
        }
        fn read(&mut self, stream: Resource<InputStream>, len: u64) -> StreamResult<Vec<u8>> {
            AsyncInput::read(self.0, stream, len)
        }
        fn blocking_read(
            &mut self,
            stream: Resource<InputStream>,
            len: u64,
        ) -> StreamResult<Vec<u8>> {
            waited(block_on(AsyncInput::blocking_read(self.0, stream, len)))
        }
        fn skip(&mut self, stream: Resource<InputStream>, len: u64) -> StreamResult<u64> {
            AsyncInput::skip(self.0, stream, len)
        }
        fn blocking_skip(&mut self, stream: Resource<InputStream>, len: u64) -> StreamResult<u64> {
            waited(block_on(AsyncInput::blocking_skip(self.0, stream, len)))
        }
        fn subscribe(
            &mut self,
            stream: Resource<InputStream>,
        ) -> wasmtime::Result<Resource<Pollable>> {
            AsyncInput::subscribe(self.0, stream)
        }
    }
}

/// Add the WASI interfaces listed in the module docs to `linker`.
pub fn add_wasi_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::p2::bindings::sync::io::streams;
    let l = linker;
    wasmtime_wasi::p2::bindings::io::error::add_to_linker::<CallState, HasIo>(l, |t| {
        t.ctx().table
    })?;
    poll::add_to_linker::<CallState, HasWaits>(l, waits)?;
    streams::add_to_linker::<CallState, HasStreams>(l, |t| Streams(t.ctx().table))?;
    cli::exit::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::environment::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::stdin::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::stdout::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::stderr::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_input::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_output::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_stdin::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_stdout::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_stderr::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    clocks::wall_clock::add_to_linker::<CallState, WasiClocks>(l, CallState::clocks)?;
    clocks::monotonic_clock::add_to_linker::<CallState, HasWaits>(l, waits)?;
    random::random::add_to_linker::<CallState, WasiRandom>(l, CallState::random)?;
    random::insecure::add_to_linker::<CallState, WasiRandom>(l, CallState::random)?;
    random::insecure_seed::add_to_linker::<CallState, WasiRandom>(l, CallState::random)?;
    add_empty_to_linker(l)
}

/// The filesystem and sockets, with nothing granted (see the module docs).
///
/// The `sync` bindings are used where they exist so that no import blocks on a future
/// outside [`Waits`]: with no descriptor and no socket, none of them can wait anyway.
fn add_empty_to_linker(l: &mut Linker<CallState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::filesystem::WasiFilesystem;
    use wasmtime_wasi::p2::bindings::sockets as nonblocking;
    use wasmtime_wasi::p2::bindings::sync::{filesystem, sockets};
    use wasmtime_wasi::sockets::WasiSockets;
    use wasmtime_wasi::{filesystem::WasiFilesystemView, sockets::WasiSocketsView};
    let fs = <CallState as WasiFilesystemView>::filesystem;
    let net = <CallState as WasiSocketsView>::sockets;
    filesystem::types::add_to_linker::<CallState, WasiFilesystem>(l, fs)?;
    wasmtime_wasi::p2::bindings::filesystem::preopens::add_to_linker::<CallState, WasiFilesystem>(
        l, fs,
    )?;
    let options = nonblocking::network::LinkOptions::default();
    nonblocking::network::add_to_linker::<CallState, WasiSockets>(l, &options, net)?;
    nonblocking::instance_network::add_to_linker::<CallState, WasiSockets>(l, net)?;
    nonblocking::ip_name_lookup::add_to_linker::<CallState, WasiSockets>(l, net)?;
    nonblocking::tcp_create_socket::add_to_linker::<CallState, WasiSockets>(l, net)?;
    sockets::tcp::add_to_linker::<CallState, WasiSockets>(l, net)?;
    sockets::udp::add_to_linker::<CallState, WasiSockets>(l, net)?;
    sockets::udp_create_socket::add_to_linker::<CallState, WasiSockets>(l, net)?;
    Ok(())
}

/// Names of WASI interfaces (without version) a plugin may import.
pub const ALLOWED_WASI: &[&str] = &[
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:cli/exit",
    "wasi:cli/environment",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    // Linked empty: no preopened directory, no network (see the module docs).
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/ip-name-lookup",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn waits_until(deadline: Instant) -> Waits {
        let mut waits = Waits::default();
        waits.set_deadline(deadline);
        waits
    }

    #[test]
    fn a_wait_that_never_ends_fails_at_the_deadline() {
        let started = Instant::now();
        let waits = waits_until(started + Duration::from_millis(50));
        let result = waits.bounded(std::future::pending::<wasmtime::Result<()>>());
        let err = result
            .err()
            .map(|e| e.downcast_ref::<DeadlineExceeded>().is_some());
        assert_eq!(err, Some(true));
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(50), "{took:?}");
        assert!(took < Duration::from_secs(10), "{took:?}");
    }

    #[test]
    fn a_ready_wait_answers_even_past_the_deadline() {
        let waits = waits_until(Instant::now());
        assert_eq!(waits.bounded(async { Ok(7) }).ok(), Some(7));
        // Before the runtime sets a deadline nothing may wait, but ready still answers.
        let unset = Waits::default();
        assert_eq!(unset.bounded(async { Ok(8) }).ok(), Some(8));
        assert!(
            unset
                .bounded(std::future::pending::<wasmtime::Result<()>>())
                .is_err()
        );
    }

    #[test]
    fn only_alarms_that_all_fire_after_the_deadline_are_hopeless() {
        let now = Instant::now();
        let mut waits = waits_until(now + Duration::from_secs(2));
        let late = Some(now + Duration::from_secs(600));
        waits.alarms.insert(1, (600_000_000_000, late));
        waits
            .alarms
            .insert(2, (10_000_000, Some(now + Duration::from_millis(10))));
        waits.alarms.insert(3, (u64::MAX, None));
        assert!(waits.hopeless(&[1]));
        assert!(waits.hopeless(&[1, 3]));
        // One alarm in time, or a pollable that is not an alarm (a stream), may end
        // the wait before the deadline.
        assert!(!waits.hopeless(&[1, 2]));
        assert!(!waits.hopeless(&[1, 4]));
        assert!(!waits.hopeless(&[]));
        // An alarm whose virtual time has come is ready, however late its real time.
        waits.clock.store(600_000_000_000, Ordering::Relaxed);
        assert!(!waits.hopeless(&[1]));
    }
}
