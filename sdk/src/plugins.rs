//! Calls into other plugins enabled for the same tenant, in the same transaction.
//!
//! Requires the `plugins` capability, and only plugins the manifest names under
//! `[dependencies]` can be called.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::__private::bindings::backoffice::host::plugins as wit;
use crate::{Error, Result};

/// Invoke `operation` of plugin `plugin` with `input` encoded as JSON, and decode
/// its JSON output as `Out` (use `serde_json::Value` to take it as it comes).
///
/// Errors of the callee pass through unchanged; an output that does not decode as
/// `Out` is [`Error::Internal`].
pub fn call<In, Out>(plugin: &str, operation: &str, input: &In) -> Result<Out>
where
    In: Serialize + ?Sized,
    Out: DeserializeOwned,
{
    let input = serde_json::to_string(input)
        .map_err(|e| Error::internal(format!("cannot encode the input: {e}")))?;
    let output = wit::call(plugin, operation, &input)?;
    serde_json::from_str(&output)
        .map_err(|e| Error::internal(format!("unexpected output of {plugin}.{operation}: {e}")))
}
