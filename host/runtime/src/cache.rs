//! Compiled-code cache: native code for each installed component, written at install
//! so a restart does not recompile.
//!
//! Loading precompiled code is `unsafe` in wasmtime because the bytes are trusted to be
//! wasmtime's own output. We only ever load files this host wrote, named by the
//! component's SHA-256 and a key of the engine's compatibility hash (which covers the
//! wasmtime version and every code-generation setting). A different wasmtime or
//! configuration therefore looks for a different file and compiles afresh.
//!
//! The name alone proves nothing: whoever can write the cache directory could put any
//! wasmtime code there (another plugin's, or code built to escape the sandbox). So the
//! SHA-256 of every file this host writes is recorded in the database
//! (`code_digests`), and a file is read into memory, hashed and deserialized only when
//! its digest is the recorded one. A file with no recorded digest, or another one, is
//! never loaded: the component is compiled afresh (with a warning for a mismatch) and
//! the file rewritten.

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

    /// The engine key cache files of this engine are stored under.
    pub fn engine_key(&self) -> &str {
        &self.engine_key
    }

    /// Load the component with `digest`, compiling `bytes` when no cache file with the
    /// recorded SHA-256 `expected` exists. Returns the SHA-256 of the code written
    /// when it differs from `expected`, for the caller to record.
    pub fn load(
        &self,
        engine: &Engine,
        digest: &str,
        bytes: &[u8],
        expected: Option<&str>,
    ) -> wasmtime::Result<(Component, CacheOutcome, Option<String>)> {
        let path = self.path(digest);
        match (std::fs::read(&path), expected) {
            (Ok(code), Some(expected)) if code_digest(&code) == expected => {
                match deserialize_checked(engine, &code) {
                    Ok(component) => return Ok((component, CacheOutcome::Hit, None)),
                    Err(e) => tracing::warn!(
                        path = %path.display(),
                        error = %e,
                        "compiled-code cache file unusable; recompiling"
                    ),
                }
            }
            (Ok(code), Some(expected)) => tracing::warn!(
                path = %path.display(),
                recorded = %expected,
                found = %code_digest(&code),
                "compiled-code cache file does not match the digest recorded when it was written; not loading it, recompiling"
            ),
            (Ok(_), None) => tracing::warn!(
                path = %path.display(),
                "compiled-code cache file has no digest recorded in the database; not loading it, recompiling"
            ),
            (Err(_), _) => {}
        }
        let code = engine.precompile_component(bytes)?;
        let written = self.store(digest, &code);
        let component = deserialize_bytes(engine, &code)?;
        Ok((
            component,
            CacheOutcome::Compiled,
            (expected != Some(written.as_str())).then_some(written),
        ))
    }

    /// Write precompiled `code`; a failure only costs a recompilation later. Returns
    /// the SHA-256 of `code`, which the caller records so the file is loaded later.
    pub fn store(&self, digest: &str, code: &[u8]) -> String {
        let path = self.path(digest);
        let result = backoffice_store::fsperm::private_dir(&self.dir).and_then(|()| {
            let tmp = self
                .dir
                .join(format!(".{digest}.{}.tmp", std::process::id()));
            std::fs::write(&tmp, code)?;
            std::fs::rename(&tmp, &path)
        });
        if let Err(e) = result {
            tracing::warn!(path = %path.display(), error = %e, "cannot write compiled-code cache");
        }
        code_digest(code)
    }
}

/// SHA-256 of compiled code, lowercase hex.
pub fn code_digest(code: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(code))
}

#[allow(
    unsafe_code,
    reason = "the bytes hash to the digest recorded in the database when this host wrote them"
)]
fn deserialize_checked(engine: &Engine, code: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: see the module docs: `code` is in memory and its SHA-256 is the one
    // recorded when this host's own precompile wrote it, under this engine's key.
    unsafe { Component::deserialize(engine, code) }
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
        let (_, first, recorded) = cache.load(&engine, "d1", &bytes, None).unwrap();
        assert_eq!(first, CacheOutcome::Compiled);
        let recorded = recorded.expect("a fresh file's digest is handed back to record");
        let (_, second, again) = cache.load(&engine, "d1", &bytes, Some(&recorded)).unwrap();
        assert_eq!((second, again), (CacheOutcome::Hit, None));
        // Simulate a file from another wasmtime build: same name, foreign content.
        std::fs::write(cache.path("d1"), b"not wasmtime code").unwrap();
        let (_, third, _) = cache.load(&engine, "d1", &bytes, Some(&recorded)).unwrap();
        assert_eq!(third, CacheOutcome::Compiled);
        assert_eq!(
            cache
                .load(&engine, "d1", &bytes, Some(&recorded))
                .unwrap()
                .1,
            CacheOutcome::Hit
        );
    }

    /// The attack of issue 16 (finding 9): valid wasmtime code of another component
    /// under this component's file name. It would deserialize fine; it must not be
    /// loaded, since its digest is not the one recorded for this file.
    #[test]
    fn foreign_code_under_a_cache_file_name_is_never_loaded() {
        let engine = Engine::new(&wasmtime::Config::new()).unwrap();
        let genuine = wat::parse_str(
            r#"(component (core module $m (func (export "f"))) (core instance (instantiate $m)))"#,
        )
        .unwrap();
        let intruder = wat::parse_str(
            r#"(component
                 (core module $m (func (export "g") (result i32) i32.const 42))
                 (core instance $i (instantiate $m))
                 (func $g (result u32) (canon lift (core func $i "g")))
                 (export "evil" (func $g)))"#,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cache = CodeCache::new(dir.path(), &engine);
        let (_, _, recorded) = cache.load(&engine, "genuine", &genuine, None).unwrap();
        let recorded = recorded.unwrap();
        let (_, _, intruder_digest) = cache.load(&engine, "intruder", &intruder, None).unwrap();
        // Without a digest check the intruder's code would be loaded as "genuine".
        std::fs::copy(cache.path("intruder"), cache.path("genuine")).unwrap();
        assert_eq!(
            code_digest(&std::fs::read(cache.path("genuine")).unwrap()),
            intruder_digest.unwrap()
        );

        let (component, outcome, rerecord) = cache
            .load(&engine, "genuine", &genuine, Some(&recorded))
            .unwrap();
        assert_eq!(
            outcome,
            CacheOutcome::Compiled,
            "the swapped file was not loaded"
        );
        assert!(
            component.get_export_index(None, "evil").is_none(),
            "the intruder's export must not appear in the genuine component"
        );
        assert_eq!(
            rerecord, None,
            "the recompiled code has the recorded digest again"
        );
        assert_eq!(
            code_digest(&std::fs::read(cache.path("genuine")).unwrap()),
            recorded,
            "the file is rewritten with the genuine code"
        );
        // And without any recorded digest, no file is loaded either.
        let (_, outcome, _) = cache.load(&engine, "genuine", &genuine, None).unwrap();
        assert_eq!(outcome, CacheOutcome::Compiled);
    }
}
