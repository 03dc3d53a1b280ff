//! `backoffice:host/plugins`: calls into other plugins of the same tenant.
//!
//! Only dependencies named in the manifest may be called. The in-transaction call path
//! lands with the payroll work; until then the call is refused clearly.

use crate::bindings::WitError;
use crate::bindings::backoffice::host::plugins::Host;

use super::CallState;

impl Host for CallState {
    fn call(
        &mut self,
        plugin: String,
        operation: String,
        _input: String,
    ) -> wasmtime::Result<Result<String, WitError>> {
        if let Err(e) = self.require("plugins") {
            return Ok(Err(e));
        }
        Ok(Err(WitError::Unsupported(format!(
            "plugin-to-plugin calls are not available in this host version yet \
             ({plugin}.{operation} was not called)"
        ))))
    }
}
