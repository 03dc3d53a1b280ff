//! `backoffice:host/plugins`: calls into other plugins of the same tenant.
//!
//! ```text
//! capability `plugins` granted -> depth below MAX_DEPTH -> target listed under
//!   [dependencies] -> target installed and enabled for the tenant -> operation
//!   declared -> the caller's principal holds its permission -> input fits its schema
//!   -> target runs in a fresh instance, in the caller's transaction (lent to it, behind
//!      a savepoint), with the caller's principal, business time and remaining deadline
//!   -> Ok: output checked against its schema, savepoint released, audit link added
//!   -> Err: savepoint rolled back (the target's writes undone), the WIT error handed to
//!      the caller, which may handle it or fail (rolling back everything)
//! ```
//!
//! The checks up to the input's schema and the audit link are the host's, reached
//! through the call's [`Plugins`](crate::Plugins) (`resolve`, `audit_nested`), so a
//! nested call is checked exactly like a call from outside.

use super::WitResult;
use std::time::{Duration, Instant};

use crate::bindings::WitError;
use crate::bindings::backoffice::host::plugins::Host;
use crate::store::{Scope, Transaction};
use crate::{Action, Failure, Loaded, MAX_DEPTH, Resolved, schema_errors};

use super::{CallInfo, CallState, Nesting, invocation_id};

// A store failure while preparing or finishing a nested call is the host's problem:
// trap, so the whole call rolls back.
use super::trap;

impl Host for CallState {
    fn call(&mut self, plugin: String, operation: String, input: String) -> WitResult<String> {
        try_wit!(self.require("plugins"));
        let Some(nesting) = self.nesting.clone() else {
            return Ok(Err(WitError::Unsupported(
                "plugin-to-plugin calls are not available in this context".into(),
            )));
        };
        let caller = self.info.scope.plugin.clone();
        if nesting.depth + 1 >= MAX_DEPTH {
            return Ok(Err(WitError::Forbidden(format!(
                "plugin '{caller}' cannot call {plugin}.{operation}: plugin-to-plugin calls \
                 nest at most {MAX_DEPTH} deep"
            ))));
        }
        if self.info.manifest.callable(&plugin).is_none() {
            return Ok(Err(WitError::Forbidden(format!(
                "plugin '{caller}' may only call plugins listed under [dependencies] or \
                 [optional-dependencies] in its plugin.toml, and '{plugin}' is not"
            ))));
        }
        let Some(mut tx) = self.tx.take() else {
            return Err(trap("the call's transaction is in use by a nested call"));
        };
        let started = Instant::now();
        // A dry run lists the call before what it does in turn.
        let mut slot = None;
        self.effect(|e| {
            slot = Some(e.calls.len());
            e.calls.push(crate::dry_run::CallEffect {
                depth: nesting.depth + 1,
                caller: caller.clone(),
                plugin: plugin.clone(),
                operation: operation.clone(),
                input: crate::dry_run::json_or_text(&input),
                output: None,
                error: None,
            });
        });
        let outcome = self.nested(&nesting, tx.as_mut(), &plugin, &operation, &input);
        let result = match outcome {
            Ok(Prepared {
                target,
                version,
                output_check,
                state,
            }) => {
                let (result, state) = {
                    tx.savepoint("nested_call").map_err(trap)?;
                    let remaining = nesting
                        .deadline
                        .saturating_duration_since(Instant::now())
                        .max(Duration::from_millis(1));
                    let state = state.with_tx(tx, nesting.deeper());
                    let action = Action::Invoke {
                        operation: operation.clone(),
                        input,
                    };
                    nesting
                        .plugins
                        .runtime()
                        .call(&target.prepared, state, &action, remaining)
                };
                self.queued_work |= state.queued_work;
                log_output(&state);
                let Some(back) = state.into_tx() else {
                    return Err(trap("a nested call did not hand the transaction back"));
                };
                tx = back;
                if let Err(Failure::Storage(e)) = result {
                    // The host's storage failed under the nested call: the caller's
                    // call fails as a whole (and runs again on a conflict).
                    self.tx = Some(tx);
                    return Err(trap(e));
                }
                let checked = result
                    .map_err(|f| match f {
                        Failure::Plugin(e) => e,
                        other => WitError::Internal(format!(
                            "plugin {plugin} {version}, operation '{operation}' called by \
                             '{caller}': {other}"
                        )),
                    })
                    .and_then(|output| output_check(&output).map(|()| output));
                match checked {
                    Ok(output) => {
                        tx.release("nested_call").map_err(trap)?;
                        // A read-only caller runs on a read snapshot: its nested calls
                        // are covered by its own audit link.
                        if !self.info.read_only {
                            nesting.plugins.audit_nested(
                                tx.as_mut(),
                                &self.info,
                                &plugin,
                                &operation,
                                &version,
                                started.elapsed(),
                            )?;
                        }
                        Ok(output)
                    }
                    Err(e) => {
                        tx.rollback_to("nested_call").map_err(trap)?;
                        Err(e)
                    }
                }
            }
            Err(Ok(refused)) => refused,
            Err(Err(trap)) => {
                self.tx = Some(tx);
                return Err(trap);
            }
        };
        self.tx = Some(tx);
        if let Some(slot) = slot {
            self.effect(|e| {
                let call = &mut e.calls[slot];
                match &result {
                    Ok(output) => call.output = Some(crate::dry_run::json_or_text(output)),
                    Err(err) => {
                        call.error = Some(crate::describe_wit_error(err));
                    }
                }
            });
        }
        Ok(result)
    }
}

/// Checks a nested call's output against the target operation's output schema.
type OutputCheck = Box<dyn Fn(&str) -> Result<(), WitError>>;

/// A refusal the caller gets as a WIT error (`Ok`), or a trap (`Err`).
type Refused = WitResult<String>;

/// A checked nested call, ready to run.
struct Prepared {
    target: std::sync::Arc<Loaded>,
    version: String,
    output_check: OutputCheck,
    /// The target's state without its transaction yet.
    state: PendingState,
}

/// The target's call info, waiting for the lent transaction.
struct PendingState {
    info: CallInfo,
    limits: std::sync::Arc<crate::Limits>,
}

impl PendingState {
    fn with_tx(self, tx: Box<dyn Transaction>, nesting: Nesting) -> CallState {
        let mut state = CallState::new(self.info, tx, self.limits);
        state.nesting = Some(nesting);
        state
    }
}

impl Nesting {
    fn deeper(&self) -> Nesting {
        Nesting {
            depth: self.depth + 1,
            ..self.clone()
        }
    }
}

/// Log what a nested call printed, like the host does for a top-level call.
fn log_output(state: &CallState) {
    let (stdout, stderr) = state.captured_output();
    for (stream, text) in [("stdout", stdout), ("stderr", stderr)] {
        if !text.is_empty() {
            tracing::info!(target: "plugin", plugin = %state.info.scope.plugin,
                version = %state.info.version, tenant = %state.info.scope.tenant, stream,
                "{}", text.trim_end());
        }
    }
}

impl CallState {
    /// Every check before a nested call, then the target's call info.
    fn nested(
        &self,
        nesting: &Nesting,
        tx: &mut dyn Transaction,
        plugin: &str,
        operation: &str,
        input: &str,
    ) -> Result<Prepared, Refused> {
        let tenant = self.info.scope.tenant.clone();
        let limits = nesting.plugins.runtime().limits().clone();
        let resolved = nesting
            .plugins
            .resolve(tx, &self.info, plugin, operation, input);
        let Resolved {
            version: target_version,
            loaded: target,
            read_only: target_read_only,
        } = match resolved {
            Ok(resolved) => resolved,
            Err(refusal) => return Err(refusal.map(Err)),
        };
        let grants = tx.grants_get(plugin).map_err(|e| Err(trap(e)))?;
        let info = CallInfo {
            scope: Scope {
                tenant: tenant.clone(),
                plugin: plugin.to_string(),
            },
            version: target_version.clone(),
            action: format!(
                "operation '{operation}' called by '{}'",
                self.info.scope.plugin
            ),
            principal: self.info.principal.clone(),
            now: self.info.now,
            time_zone: self.info.time_zone.clone(),
            grants,
            invocation_id: invocation_id(self.info.now),
            manifest: target.manifest.clone(),
            read_only: self.info.read_only || target_read_only,
        };
        let checker = target.clone();
        let (plugin, operation, version) = (
            plugin.to_string(),
            operation.to_string(),
            target_version.clone(),
        );
        let output_check = Box::new(move |output: &str| {
            let value: serde_json::Value = serde_json::from_str(output).map_err(|e| {
                WitError::Internal(format!(
                    "plugin {plugin} {version}, operation '{operation}' returned output that \
                     is not JSON: {e}"
                ))
            })?;
            let errors = checker
                .schemas
                .get(&operation)
                .and_then(|(_, output_schema)| schema_errors(output_schema, &value));
            match errors {
                Some(errors) => Err(WitError::Internal(format!(
                    "plugin {plugin} {version}, operation '{operation}' returned output that \
                     does not match its declared schema: {errors}"
                ))),
                None => Ok(()),
            }
        });
        Ok(Prepared {
            target,
            version: target_version,
            output_check,
            state: PendingState { info, limits },
        })
    }
}
