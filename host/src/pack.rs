//! `plugin pack`: embed a `plugin.toml` into a component from any toolchain.
//!
//! The Rust SDK writes the manifest into a `backoffice:manifest` custom section at
//! build time. Other toolchains (componentize-py, jco) know nothing of it, so `pack`
//! adds that section afterwards, with the same encoding: the manifest text verbatim,
//! UTF-8. A manifest already embedded anywhere in the component (the SDK's lands in
//! the nested core module) is removed first, so packing twice replaces rather than
//! duplicates, and the install check "exactly one manifest" holds.
//!
//! ```text
//! component ── sections ──┬─ custom "backoffice:manifest"  (dropped)
//!                         ├─ core module ── sections ── custom "backoffice:manifest" (dropped)
//!                         ├─ nested component ── ... (walked the same way)
//!                         └─ everything else, byte for byte
//!           + custom "backoffice:manifest" = plugin.toml   (appended at the top level)
//! ```
//!
//! Custom sections carry no semantics for validation or execution, so removing and
//! appending them keeps the component valid; the result is checked with
//! [`crate::package::read_manifest`] before the caller writes it.

use crate::manifest::{self, Manifest};
use crate::package::{self, PackageError};

/// Section ids of a component that hold a whole core module or component.
const CORE_MODULE_SECTION: u8 = 1;
const COMPONENT_SECTION: u8 = 4;

/// `component` with any embedded manifest replaced by `manifest_text`.
///
/// Refuses bytes that are not a component and a manifest that does not parse, break
/// the manifest rules, or need a host API this host does not provide. Returns the
/// packed bytes and the manifest they now carry.
pub fn pack(component: &[u8], manifest_text: &str) -> Result<(Vec<u8>, Manifest), PackageError> {
    if component.len() < 8 || &component[..4] != b"\0asm" {
        return Err(PackageError::NotWasm);
    }
    if wasmparser::Parser::is_core_wasm(component) {
        return Err(PackageError::CoreModule);
    }
    if !wasmparser::Parser::is_component(component) {
        return Err(PackageError::Malformed(
            "unknown WebAssembly encoding version".into(),
        ));
    }
    // Check the manifest on its own first, so its error is not mistaken for the
    // component's.
    Manifest::parse(manifest_text)?;
    let mut out = strip(component, true)?;
    append_custom(&mut out, manifest::SECTION, manifest_text.as_bytes());
    let manifest = package::read_manifest(&out)?;
    Ok((out, manifest))
}

/// `binary` (a component when `component`, else a core module) without manifest
/// sections, at any depth.
fn strip(binary: &[u8], component: bool) -> Result<Vec<u8>, PackageError> {
    let header = binary
        .get(..8)
        .ok_or_else(|| malformed("shorter than a WebAssembly header"))?;
    let mut out = header.to_vec();
    let mut pos = 8;
    while pos < binary.len() {
        let id = binary[pos];
        pos += 1;
        let size = read_leb(binary, &mut pos)?;
        let end = pos
            .checked_add(size)
            .filter(|end| *end <= binary.len())
            .ok_or_else(|| malformed("a section runs past the end of the file"))?;
        let body = &binary[pos..end];
        pos = end;
        match id {
            0 if custom_name(body)? == manifest::SECTION => {}
            CORE_MODULE_SECTION if component => {
                write_section(&mut out, id, &strip(body, false)?);
            }
            COMPONENT_SECTION if component => write_section(&mut out, id, &strip(body, true)?),
            _ => write_section(&mut out, id, body),
        }
    }
    Ok(out)
}

fn malformed(what: &str) -> PackageError {
    PackageError::Malformed(what.to_owned())
}

/// The name of a custom section, from its body.
fn custom_name(body: &[u8]) -> Result<&str, PackageError> {
    let mut pos = 0;
    let len = read_leb(body, &mut pos)?;
    let name = pos
        .checked_add(len)
        .and_then(|end| body.get(pos..end))
        .ok_or_else(|| malformed("a custom section name runs past its section"))?;
    // A name that is not UTF-8 cannot be ours; keep the section as it is.
    Ok(std::str::from_utf8(name).unwrap_or(""))
}

/// Read an unsigned LEB128 u32 at `pos`, moving `pos` past it.
fn read_leb(bytes: &[u8], pos: &mut usize) -> Result<usize, PackageError> {
    let mut value: u64 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *bytes
            .get(*pos)
            .ok_or_else(|| malformed("a section size runs past the end of the file"))?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return usize::try_from(value).map_err(|_| malformed("a section is too large"));
        }
    }
    Err(malformed("a section size is longer than 5 bytes"))
}

/// `n` as unsigned LEB128 (the encoding of sizes in a wasm binary), appended to `out`.
pub(crate) fn write_leb(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn write_section(out: &mut Vec<u8>, id: u8, body: &[u8]) {
    out.push(id);
    write_leb(body.len(), out);
    out.extend_from_slice(body);
}

fn append_custom(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut body = Vec::with_capacity(name.len() + data.len() + 5);
    write_leb(name.len(), &mut body);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    write_section(out, 0, &body);
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str =
        "id = \"p\"\nname = \"P\"\nvendor = \"v\"\nversion = \"0.1.0\"\nhost-api = \"^0.1\"\n";

    fn component_with_nested_manifest() -> Vec<u8> {
        wat::parse_str(
            r#"(component
                (core module $m (@custom "backoffice:manifest" "id = \"old\"") (func (export "f")))
                (component $c (core module (@custom "backoffice:manifest" "id = \"older\"")))
                (@custom "other" "kept"))"#,
        )
        .unwrap()
    }

    #[test]
    fn replaces_every_embedded_manifest_and_keeps_the_rest() {
        let original = component_with_nested_manifest();
        assert!(matches!(
            package::read_manifest(&original),
            Err(PackageError::ManyManifests(2))
        ));
        let (packed, manifest) = pack(&original, MANIFEST).unwrap();
        assert_eq!(manifest.id, "p");
        wasmparser::Validator::new().validate_all(&packed).unwrap();
        // Packing again replaces, never duplicates.
        let (again, _) =
            pack(&packed, &MANIFEST.replace("0.1.0\"\nhost", "0.2.0\"\nhost")).unwrap();
        assert_eq!(
            package::read_manifest(&again).unwrap().version.to_string(),
            "0.2.0"
        );
        let other = wasmparser::Parser::new(0)
            .parse_all(&again)
            .filter_map(Result::ok)
            .filter(|p| matches!(p, wasmparser::Payload::CustomSection(s) if s.name() == "other"))
            .count();
        assert_eq!(other, 1);
    }

    #[test]
    fn refuses_what_is_not_a_component_or_not_a_manifest() {
        let core = wat::parse_str("(module)").unwrap();
        assert!(matches!(
            pack(&core, MANIFEST),
            Err(PackageError::CoreModule)
        ));
        assert!(matches!(
            pack(b"text", MANIFEST),
            Err(PackageError::NotWasm)
        ));
        let component = wat::parse_str("(component)").unwrap();
        assert!(matches!(
            pack(&component, "id = "),
            Err(PackageError::Manifest(_))
        ));
        let newer = MANIFEST.replace("^0.1", "^9.0");
        assert!(matches!(
            pack(&component, &newer),
            Err(PackageError::HostApi { .. })
        ));
    }
}
