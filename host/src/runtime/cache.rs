//! Compiled-code cache: native code for each installed component, written at install
//! so a restart does not recompile.
//!
//! Loading precompiled code is `unsafe` in wasmtime because the bytes are trusted to be
//! wasmtime's own output. We only ever load files this host wrote, named by the
//! component's SHA-256 and a key of the engine's compatibility hash (which covers the
//! wasmtime version and every code-generation setting). A different wasmtime or
//! configuration therefore looks for a different file and compiles afresh; a file that
//! fails to load anyway (truncated, corrupted) is replaced by a fresh compilation.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// How a component was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from a cache file.
    Hit,
    /// No usable cache file: compiled and written.
    Compiled,
}

/// A directory of precompiled components for one engine configuration.
#[derive(Debug, Clone)]
pub struct CodeCache {
    dir: PathBuf,
    engine_key: String,
}

/// A stable key of everything that makes precompiled code (in)compatible with `engine`.
pub fn engine_key(engine: &Engine) -> String {
    // The std SipHasher with fixed keys is deterministic for a given build, which is
    // all a cache key needs; a different host build may just recompile once.
    let mut h = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("{:016x}", h.finish())
}

impl CodeCache {
    /// A cache in `dir` for code compiled by `engine`.
    pub fn new(dir: &Path, engine: &Engine) -> Self {
        CodeCache {
            dir: dir.to_owned(),
            engine_key: engine_key(engine),
        }
    }

    /// Where the code of the component with `digest` lives.
    pub fn path(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    /// Load the component with `digest`, compiling `bytes` when no usable cache
    /// file exists.
    pub fn load(
        &self,
        engine: &Engine,
        digest: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let path = self.path(digest);
        if path.exists() {
            match deserialize(engine, &path) {
                Ok(component) => return Ok((component, CacheOutcome::Hit)),
                Err(e) => tracing::warn!(
                    path = %path.display(),
                    error = %e,
                    "compiled-code cache file unusable; recompiling"
                ),
            }
        }
        let code = engine.precompile_component(bytes)?;
        self.store(digest, &code);
        Ok((deserialize_bytes(engine, &code)?, CacheOutcome::Compiled))
    }

    /// Write precompiled `code`; a failure only costs a recompilation later.
    pub fn store(&self, digest: &str, code: &[u8]) {
        let path = self.path(digest);
        let result = std::fs::create_dir_all(&self.dir).and_then(|()| {
            let tmp = self
                .dir
                .join(format!(".{digest}.{}.tmp", std::process::id()));
            std::fs::write(&tmp, code)?;
            std::fs::rename(&tmp, &path)
        });
        if let Err(e) = result {
            tracing::warn!(path = %path.display(), error = %e, "cannot write compiled-code cache");
        }
    }
}

#[allow(
    unsafe_code,
    reason = "the file is named by digest and engine key and was written by this host's own precompile"
)]
fn deserialize(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: see the module docs: only files this host wrote, keyed by engine hash.
    unsafe { Component::deserialize_file(engine, path) }
}

#[allow(
    unsafe_code,
    reason = "the bytes come from Engine::precompile_component in this same process"
)]
fn deserialize_bytes(engine: &Engine, code: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: produced by `precompile_component` of this engine a moment ago.
    unsafe { Component::deserialize(engine, code) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_changes_with_engine_configuration() {
        let a = Engine::new(&wasmtime::Config::new()).unwrap();
        let mut cfg = wasmtime::Config::new();
        cfg.cranelift_opt_level(wasmtime::OptLevel::None);
        let b = Engine::new(&cfg).unwrap();
        assert_eq!(
            engine_key(&a),
            engine_key(&Engine::new(&wasmtime::Config::new()).unwrap())
        );
        assert_ne!(engine_key(&a), engine_key(&b));
    }

    #[test]
    fn corrupt_cache_file_is_replaced_by_a_fresh_compile() {
        let engine = Engine::new(&wasmtime::Config::new()).unwrap();
        let bytes = wat::parse_str("(component)").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cache = CodeCache::new(dir.path(), &engine);
        let (_, first) = cache.load(&engine, "d1", &bytes).unwrap();
        assert_eq!(first, CacheOutcome::Compiled);
        let (_, second) = cache.load(&engine, "d1", &bytes).unwrap();
        assert_eq!(second, CacheOutcome::Hit);
        // Simulate a file from another wasmtime build: same name, foreign content.
        std::fs::write(cache.path("d1"), b"not wasmtime code").unwrap();
        let (_, third) = cache.load(&engine, "d1", &bytes).unwrap();
        assert_eq!(third, CacheOutcome::Compiled);
        assert_eq!(
            cache.load(&engine, "d1", &bytes).unwrap().1,
            CacheOutcome::Hit
        );
    }
}
