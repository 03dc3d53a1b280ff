//! The sliver of WASI a Rust `wasm32-wasip2` guest needs to start, and nothing else.
//!
//! Linked: `wasi:cli` environment, exit and stdio; `wasi:io` error, poll and streams;
//! `wasi:clocks` (frozen at the call's business time); `wasi:random`. Never linked:
//! filesystem and sockets, so a component importing them is refused at install.
//! The environment and arguments are empty, stdin is empty, and stdout/stderr go to
//! bounded in-memory pipes that the host turns into log records after the call.

use std::time::Duration;

use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::p2::bindings::{cli, clocks, random};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiView};

use super::{CallInfo, CallState};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::random::{WasiRandom, WasiRandomView};

/// The WASI context of one call.
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
    WasiCtxBuilder::new()
        .stdout(stdout)
        .stderr(stderr)
        .wall_clock(wall)
        .monotonic_clock(FrozenClock {
            since_epoch: Duration::ZERO,
        })
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

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        u64::try_from(self.since_epoch.as_nanos()).unwrap_or(u64::MAX)
    }
}

struct HasIo;

impl HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

/// Add the WASI interfaces listed in the module docs to `linker`.
pub fn add_wasi_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::p2::bindings::sync::io::{poll, streams};
    let l = linker;
    wasmtime_wasi::p2::bindings::io::error::add_to_linker::<CallState, HasIo>(l, |t| {
        t.ctx().table
    })?;
    poll::add_to_linker::<CallState, HasIo>(l, |t| t.ctx().table)?;
    streams::add_to_linker::<CallState, HasIo>(l, |t| t.ctx().table)?;
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
    clocks::monotonic_clock::add_to_linker::<CallState, WasiClocks>(l, CallState::clocks)?;
    random::random::add_to_linker::<CallState, WasiRandom>(l, CallState::random)?;
    random::insecure::add_to_linker::<CallState, WasiRandom>(l, CallState::random)?;
    random::insecure_seed::add_to_linker::<CallState, WasiRandom>(l, CallState::random)?;
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
];
