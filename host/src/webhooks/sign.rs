//! Signatures per the Standard Webhooks scheme, and the sealing of secrets at rest.
//!
//! ```text
//! secret     whsec_<base64 of 32 random bytes>       shown once, at `webhook add`
//! signed     "<webhook-id>.<webhook-timestamp>.<body>"
//! header     webhook-signature: v1,<base64 HMAC-SHA256(secret bytes, signed)>
//! ```
//!
//! At rest the secret is sealed under a key derived from the host's audit key
//! (`audit.key`, 0600 beside the database, or `--audit-key-file`): the stored bytes
//! are `1 || secret XOR HMAC-SHA256(k, "seal <endpoint id>")`. Each endpoint id is
//! random and holds one secret, so no pad is ever used twice; a copy of the database
//! without the key file does not give the secrets away.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{HostError, HostResult};

/// The prefix of a secret as shown to the admin.
pub const SECRET_PREFIX: &str = "whsec_";
const SECRET_LEN: usize = 32;
const SEAL_VERSION: u8 = 1;

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// The `webhook-signature` header value of one message.
pub fn signature(secret: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    let mac = hmac(
        secret,
        &[msg_id.as_bytes(), b".", ts.as_bytes(), b".", body],
    );
    format!("v1,{}", STANDARD.encode(mac))
}

/// A new random secret: its bytes and the `whsec_...` text shown to the admin.
pub fn new_secret() -> HostResult<(Vec<u8>, String)> {
    let mut bytes = vec![0u8; SECRET_LEN];
    getrandom::fill(&mut bytes).map_err(|e| {
        HostError::Internal(format!(
            "cannot draw random bytes for a webhook secret: {e}"
        ))
    })?;
    let text = format!("{SECRET_PREFIX}{}", STANDARD.encode(&bytes));
    Ok((bytes, text))
}

/// The key bytes of a `whsec_...` secret.
pub fn parse_secret(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text.strip_prefix(SECRET_PREFIX)?).ok()
}

/// A random id with a prefix: `wh_` and 24 hex digits.
pub(crate) fn new_id(prefix: &str) -> HostResult<String> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes)
        .map_err(|e| HostError::Internal(format!("cannot draw random bytes for an id: {e}")))?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

/// The pad of an endpoint's secret of one generation: `HMAC(key, "seal <id>")` for
/// the first secret, `"seal <id> <generation>"` for each rotated one, so a pad is
/// never used for two secrets.
fn pad(key: &[u8; 32], endpoint_id: &str, generation: u32) -> [u8; 32] {
    if generation == 0 {
        hmac(key, &[b"seal ", endpoint_id.as_bytes()])
    } else {
        let g = generation.to_string();
        hmac(key, &[b"seal ", endpoint_id.as_bytes(), b" ", g.as_bytes()])
    }
}

/// Seal `secret` of generation `generation` of endpoint `endpoint_id` under `key`.
pub(crate) fn seal(
    key: &[u8; 32],
    endpoint_id: &str,
    generation: u32,
    secret: &[u8],
) -> HostResult<Vec<u8>> {
    if secret.len() > 32 {
        return Err(HostError::Internal(
            "a webhook secret longer than 32 bytes".into(),
        ));
    }
    let mut out = vec![SEAL_VERSION];
    out.extend(
        secret
            .iter()
            .zip(pad(key, endpoint_id, generation))
            .map(|(s, p)| s ^ p),
    );
    Ok(out)
}

/// The secret [`seal`] sealed.
pub(crate) fn unseal(
    key: &[u8; 32],
    endpoint_id: &str,
    generation: u32,
    sealed: &[u8],
) -> HostResult<Vec<u8>> {
    match sealed.split_first() {
        Some((&SEAL_VERSION, body)) if body.len() <= 32 => Ok(body
            .iter()
            .zip(pad(key, endpoint_id, generation))
            .map(|(s, p)| s ^ p)
            .collect()),
        _ => Err(HostError::Internal(format!(
            "the stored secret of webhook {endpoint_id} is not in a known form"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification; the expected value was
    /// computed independently with Python:
    /// `base64(hmac.new(b64decode(key), b"msg_p5jX...14}", sha256).digest())`.
    #[test]
    fn signs_the_standard_webhooks_example() {
        let secret = parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_or_default();
        assert_eq!(secret.len(), 24);
        let sig = signature(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn new_secrets_parse_back_and_seal_round_trips() -> HostResult<()> {
        let (bytes, text) = new_secret()?;
        assert!(text.starts_with("whsec_"));
        assert_eq!(parse_secret(&text), Some(bytes.clone()));
        let key = [9u8; 32];
        let sealed = seal(&key, "wh_1", 0, &bytes)?;
        assert_ne!(&sealed[1..], &bytes[..], "stored in the clear");
        assert_eq!(unseal(&key, "wh_1", 0, &sealed)?, bytes);
        assert_ne!(
            unseal(&key, "wh_2", 0, &sealed)?,
            bytes,
            "the pad depends on the id"
        );
        assert_ne!(unseal(&[8u8; 32], "wh_1", 0, &sealed)?, bytes);
        let rotated = seal(&key, "wh_1", 1, &bytes)?;
        assert_ne!(rotated, sealed, "the pad depends on the generation");
        assert_eq!(unseal(&key, "wh_1", 1, &rotated)?, bytes);
        Ok(())
    }
}
