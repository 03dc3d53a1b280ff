//! Package signing and the trusted vendor keys.
//!
//! A vendor signs a package with Ed25519; the signature lives in a detached file
//! `<file.wasm>.sig` beside the component, so the component bytes (and their digest)
//! stay exactly what the vendor built. It signs the text
//! `backoffice package sha256:<hex digest of the whole component>`: the manifest is a
//! custom section inside the component, so it is covered too.
//!
//! Key and signature files are small text files, one field per line:
//!
//! ```text
//! backoffice-ed25519-secret-key v1      backoffice-ed25519-signature v1
//! vendor: acme                          vendor: acme
//! <32 bytes, hex>                       key: <public key, hex>
//!                                       <64 bytes, hex>
//! ```
//!
//! Install trusts a signature when its key is trusted under the manifest's vendor
//! name (`backoffice trust add`). A signature that does not match the file is always
//! refused; unsigned packages and unknown keys only with an explicit
//! `--allow-unsigned`.

use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::Host;
use crate::error::{HostError, HostResult};
use crate::host::now_rfc3339;
use crate::manifest::check_ident;
use crate::package;
use crate::store::TrustedKey;

const SECRET_HEADER: &str = "backoffice-ed25519-secret-key v1";
const PUBLIC_HEADER: &str = "backoffice-ed25519-public-key v1";
const SIGNATURE_HEADER: &str = "backoffice-ed25519-signature v1";

/// Where the signature of `file` lives: `<file>.sig`.
pub fn signature_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// The signature file beside `file`, if there is one.
pub fn read_signature(file: &Path) -> HostResult<Option<String>> {
    let path = signature_path(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(HostError::InvalidInput(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// What the bytes say: the message a vendor signs for a component.
fn message(component: &[u8]) -> Vec<u8> {
    format!("backoffice package sha256:{}", package::digest(component)).into_bytes()
}

/// Split a key or signature file into its header, vendor and remaining lines.
fn fields<'a>(text: &'a str, header: &str, what: &str) -> Result<(String, Vec<&'a str>), String> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    if lines.next() != Some(header) {
        return Err(format!(
            "it is not a {what} (the first line must be '{header}')"
        ));
    }
    let vendor = lines
        .next()
        .and_then(|l| l.strip_prefix("vendor:"))
        .map(|v| v.trim().to_string())
        .ok_or_else(|| format!("the {what} lacks its 'vendor:' line"))?;
    Ok((vendor, lines.collect()))
}

fn hex_bytes<const N: usize>(text: &str, what: &str) -> Result<[u8; N], String> {
    let bytes = hex::decode(text.trim()).map_err(|_| format!("{what} is not hex"))?;
    bytes
        .try_into()
        .map_err(|_| format!("{what} must be {N} bytes"))
}

/// A parsed public key file: vendor name and key (hex).
pub fn parse_public_key(text: &str) -> Result<(String, String), String> {
    let (vendor, rest) = fields(text, PUBLIC_HEADER, "backoffice public key file")?;
    let key = rest.first().ok_or("the public key file has no key line")?;
    let bytes = hex_bytes::<32>(key, "the public key")?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "the public key is not a valid Ed25519 key")?;
    Ok((vendor, hex::encode(bytes)))
}

fn parse_secret_key(text: &str) -> Result<(String, SigningKey), String> {
    let (vendor, rest) = fields(text, SECRET_HEADER, "backoffice secret key file")?;
    let key = rest.first().ok_or("the secret key file has no key line")?;
    Ok((
        vendor,
        SigningKey::from_bytes(&hex_bytes::<32>(key, "the secret key")?),
    ))
}

/// The files `keygen` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct KeyFiles {
    /// `<vendor>.key`, readable by its owner only.
    pub secret: PathBuf,
    /// `<vendor>.pub`, to hand to admins.
    pub public: PathBuf,
    /// The public key, hex.
    pub public_key: String,
}

/// Create a new key pair for `vendor` in `dir`; never overwrites existing files.
pub fn keygen(vendor: &str, dir: &Path) -> HostResult<KeyFiles> {
    check_ident("vendor name", vendor, 40).map_err(|e| {
        HostError::InvalidInput(format!(
            "{e} (it must equal the `vendor` in your plugin.toml)"
        ))
    })?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| HostError::Internal(format!("no randomness for a key: {e}")))?;
    let key = SigningKey::from_bytes(&seed);
    let public_key = hex::encode(key.verifying_key().to_bytes());
    std::fs::create_dir_all(dir)
        .map_err(|e| HostError::InvalidInput(format!("cannot create {}: {e}", dir.display())))?;
    let secret = dir.join(format!("{vendor}.key"));
    let public = dir.join(format!("{vendor}.pub"));
    for path in [&secret, &public] {
        if path.exists() {
            return Err(HostError::Conflict(format!(
                "{} exists; keygen never overwrites a key, move it away first",
                path.display()
            )));
        }
    }
    write_private(
        &secret,
        &format!("{SECRET_HEADER}\nvendor: {vendor}\n{}\n", hex::encode(seed)),
    )?;
    std::fs::write(
        &public,
        format!("{PUBLIC_HEADER}\nvendor: {vendor}\n{public_key}\n"),
    )
    .map_err(|e| HostError::InvalidInput(format!("cannot write {}: {e}", public.display())))?;
    Ok(KeyFiles {
        secret,
        public,
        public_key,
    })
}

/// Write a file that only its owner can read (mode 0600 from the start).
fn write_private(path: &Path, text: &str) -> HostResult<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| HostError::InvalidInput(format!("cannot create {}: {e}", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(|e| HostError::InvalidInput(format!("cannot write {}: {e}", path.display())))
}

/// Sign `component` with the secret key file text; the `.sig` file text.
pub fn sign(secret_key_text: &str, component: &[u8]) -> HostResult<String> {
    let (vendor, key) = parse_secret_key(secret_key_text)
        .map_err(|e| HostError::InvalidInput(format!("cannot use the key: {e}")))?;
    let manifest = package::read_manifest(component)?;
    if manifest.vendor != vendor {
        return Err(HostError::InvalidInput(format!(
            "the key belongs to vendor '{vendor}' but the plugin's manifest names vendor '{}'; sign with that vendor's key",
            manifest.vendor
        )));
    }
    let signature = key.sign(&message(component));
    Ok(format!(
        "{SIGNATURE_HEADER}\nvendor: {vendor}\nkey: {}\n{}\n",
        hex::encode(key.verifying_key().to_bytes()),
        hex::encode(signature.to_bytes())
    ))
}

/// What install found about a package's signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum SignatureStatus {
    /// No `.sig` file.
    Unsigned,
    /// Signed by a key trusted for the manifest's vendor.
    Verified {
        /// Trusted name of the key.
        signer: String,
        /// Public key, hex.
        key: String,
    },
    /// A valid signature by a key nobody trusted.
    Untrusted {
        /// The vendor the signature file claims.
        claimed: String,
        /// Public key, hex.
        key: String,
    },
    /// A valid signature by a key trusted for another vendor than the manifest's.
    WrongVendor {
        /// Trusted name of the key.
        signer: String,
        /// The manifest's vendor.
        vendor: String,
    },
    /// The signature does not match the file (tampered) or cannot be read.
    Invalid {
        /// Why.
        reason: String,
    },
}

impl SignatureStatus {
    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            SignatureStatus::Unsigned => "unsigned".into(),
            SignatureStatus::Verified { signer, .. } => format!("signed by trusted key '{signer}'"),
            SignatureStatus::Untrusted { claimed, key } => format!(
                "signed by an untrusted key {}… claiming vendor '{claimed}'",
                key.get(..16).unwrap_or(key)
            ),
            SignatureStatus::WrongVendor { signer, vendor } => {
                format!("signed by '{signer}', but the manifest names vendor '{vendor}'")
            }
            SignatureStatus::Invalid { reason } => format!("INVALID: {reason}"),
        }
    }

    /// Short word for tables.
    pub fn word(&self) -> &'static str {
        match self {
            SignatureStatus::Unsigned => "unsigned",
            SignatureStatus::Verified { .. } => "verified",
            SignatureStatus::Untrusted { .. } => "untrusted",
            SignatureStatus::WrongVendor { .. } => "wrong-vendor",
            SignatureStatus::Invalid { .. } => "invalid",
        }
    }

    /// Why install must refuse this package, if it must. A tampered or mis-attributed
    /// signature is refused even with `allow_unsigned`.
    pub fn refusal(&self, plugin: &str, allow_unsigned: bool) -> Option<HostError> {
        match self {
            SignatureStatus::Verified { .. } => None,
            SignatureStatus::Invalid { reason } => Some(HostError::Integrity(format!(
                "refusing plugin '{plugin}': its signature is invalid: {reason}"
            ))),
            SignatureStatus::WrongVendor { signer, vendor } => Some(HostError::Forbidden(format!(
                "refusing plugin '{plugin}': it is signed with the key of '{signer}' but its manifest names vendor '{vendor}'; only a key trusted as '{vendor}' may sign it"
            ))),
            _ if allow_unsigned => None,
            SignatureStatus::Unsigned => Some(HostError::Forbidden(format!(
                "refusing plugin '{plugin}': it is unsigned (no .sig file beside it); ask the vendor for a signed package, or pass --allow-unsigned to install it anyway"
            ))),
            SignatureStatus::Untrusted { claimed, .. } => Some(HostError::Forbidden(format!(
                "refusing plugin '{plugin}': it is signed by a key that is not trusted (claiming vendor '{claimed}'); trust the vendor's key with `backoffice trust add <vendor.pub> --name {claimed}`, or pass --allow-unsigned"
            ))),
        }
    }
}

/// Check a package's signature (the `.sig` text, if any) against the trusted keys for
/// the manifest's `vendor`.
pub fn verify(
    component: &[u8],
    signature: Option<&str>,
    vendor: &str,
    trusted: &[TrustedKey],
) -> SignatureStatus {
    let Some(text) = signature else {
        return SignatureStatus::Unsigned;
    };
    let invalid = |reason: String| SignatureStatus::Invalid { reason };
    let parsed =
        fields(text, SIGNATURE_HEADER, "backoffice signature file").and_then(|(claimed, rest)| {
            let key = rest
                .first()
                .and_then(|l| l.strip_prefix("key:"))
                .ok_or("the signature file lacks its 'key:' line")?;
            let sig = rest
                .get(1)
                .ok_or("the signature file has no signature line")?;
            Ok((
                claimed,
                hex_bytes::<32>(key, "the key")?,
                hex_bytes::<64>(sig, "the signature")?,
            ))
        });
    let (claimed, key, sig) = match parsed {
        Ok(p) => p,
        Err(e) => return invalid(format!("the .sig file is malformed: {e}")),
    };
    let Ok(verifying) = VerifyingKey::from_bytes(&key) else {
        return invalid("the .sig file names a key that is not a valid Ed25519 key".into());
    };
    if verifying
        .verify(&message(component), &Signature::from_bytes(&sig))
        .is_err()
    {
        return invalid(
            "the signature does not match the component: the file or its signature was changed after signing"
                .into(),
        );
    }
    let key = hex::encode(key);
    let holders: Vec<&TrustedKey> = trusted.iter().filter(|t| t.public_key == key).collect();
    if holders.iter().any(|t| t.name == vendor) {
        return SignatureStatus::Verified {
            signer: vendor.to_string(),
            key,
        };
    }
    match holders.first() {
        Some(t) => SignatureStatus::WrongVendor {
            signer: t.name.clone(),
            vendor: vendor.to_string(),
        },
        None => SignatureStatus::Untrusted { claimed, key },
    }
}

impl Host {
    /// Trust the key in a public key file's text under `name` (the vendor).
    pub fn trust_add(&self, name: &str, public_key_text: &str) -> HostResult<TrustedKey> {
        let (file_vendor, public_key) = parse_public_key(public_key_text)
            .map_err(|e| HostError::InvalidInput(format!("cannot trust this file: {e}")))?;
        if file_vendor != name {
            return Err(HostError::InvalidInput(format!(
                "the key file was made for vendor '{file_vendor}', not '{name}'; pass --name {file_vendor} if that is the vendor you mean"
            )));
        }
        let key = TrustedKey {
            name: name.to_string(),
            public_key,
            added_at: now_rfc3339(),
        };
        let mut tx = self.begin()?;
        tx.trust_insert(&key)?;
        self.audit_admin(
            tx.as_mut(),
            None,
            "trust.add",
            format!("vendor:{name}"),
            serde_json::json!({ "key": key.public_key }),
        )?;
        tx.commit()?;
        Ok(key)
    }

    /// Every trusted key.
    pub fn trusted_keys(&self) -> HostResult<Vec<TrustedKey>> {
        Ok(self.storage.begin_read()?.trust_list()?)
    }

    /// Stop trusting the keys of `name`. Installed plugins stay installed.
    pub fn trust_remove(&self, name: &str) -> HostResult<u64> {
        let mut tx = self.begin()?;
        let removed = tx.trust_remove(name)?;
        if removed == 0 {
            return Err(HostError::NotFound(format!(
                "no trusted key is named '{name}'; see `backoffice trust list`"
            )));
        }
        self.audit_admin(
            tx.as_mut(),
            None,
            "trust.remove",
            format!("vendor:{name}"),
            serde_json::json!({ "keys": removed }),
        )?;
        tx.commit()?;
        Ok(removed)
    }

    /// The signature status of a package against the keys trusted now.
    pub fn signature_status(
        &self,
        component: &[u8],
        signature: Option<&str>,
        vendor: &str,
    ) -> HostResult<SignatureStatus> {
        let trusted = self.trusted_keys()?;
        Ok(verify(component, signature, vendor, &trusted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let files = keygen("acme", dir.path()).unwrap();
        let public = std::fs::read_to_string(&files.public).unwrap();
        assert_eq!(
            parse_public_key(&public).unwrap(),
            ("acme".into(), files.public_key.clone())
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&files.secret)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(keygen("acme", dir.path()).is_err(), "never overwrites");
        assert!(keygen("Bad Name", dir.path()).is_err());
        assert!(parse_public_key("hello").is_err());
        let secret = std::fs::read_to_string(&files.secret).unwrap();
        assert!(parse_secret_key(&secret).is_ok());
        assert!(parse_secret_key(&public).is_err());
    }

    #[test]
    fn verify_outcomes() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let hexkey = hex::encode(key.verifying_key().to_bytes());
        let component = b"pretend component".to_vec();
        let sig = format!(
            "{SIGNATURE_HEADER}\nvendor: acme\nkey: {hexkey}\n{}\n",
            hex::encode(key.sign(&message(&component)).to_bytes())
        );
        let trusted = |name: &str| {
            vec![TrustedKey {
                name: name.into(),
                public_key: hexkey.clone(),
                added_at: String::new(),
            }]
        };
        assert_eq!(
            verify(&component, None, "acme", &[]),
            SignatureStatus::Unsigned
        );
        assert!(matches!(
            verify(&component, Some(&sig), "acme", &trusted("acme")),
            SignatureStatus::Verified { .. }
        ));
        assert!(matches!(
            verify(&component, Some(&sig), "acme", &[]),
            SignatureStatus::Untrusted { .. }
        ));
        assert!(matches!(
            verify(&component, Some(&sig), "acme", &trusted("globex")),
            SignatureStatus::WrongVendor { .. }
        ));
        let mut tampered = component.clone();
        tampered[0] ^= 1;
        assert!(matches!(
            verify(&tampered, Some(&sig), "acme", &trusted("acme")),
            SignatureStatus::Invalid { .. }
        ));
        assert!(matches!(
            verify(&component, Some("junk"), "acme", &trusted("acme")),
            SignatureStatus::Invalid { .. }
        ));
        let unsigned = SignatureStatus::Unsigned;
        assert!(unsigned.refusal("p", false).is_some());
        assert!(unsigned.refusal("p", true).is_none());
        let bad = SignatureStatus::Invalid { reason: "x".into() };
        assert!(
            bad.refusal("p", true).is_some(),
            "tampered is always refused"
        );
    }
}
