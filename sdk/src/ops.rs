//! The [`Plugin`] trait and typed operation dispatch with [`Operations`].

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, Result};

type Handler = Box<dyn Fn(&str) -> Result<String>>;

/// What a plugin implements. Register the implementing type with
/// [`export_plugin!`](crate::export_plugin).
///
/// Every method is an associated function: a plugin keeps no state between calls
/// (the host may run each call in a fresh instance); state lives in
/// [`storage`](crate::storage).
pub trait Plugin {
    /// The operations of the plugin, as declared in its `plugin.toml`.
    fn operations() -> Operations;

    /// Handle an event of a topic the manifest subscribes to. Default: ignore it.
    fn on_event(topic: &str, payload: serde_json::Value) -> Result<()> {
        let _ = (topic, payload);
        Ok(())
    }

    /// Run a job the manifest declares. Default: [`Error::NotFound`] `unknown job`.
    fn run_job(job: &str, payload: serde_json::Value) -> Result<()> {
        let _ = payload;
        Err(Error::not_found(format!("unknown job {job}")))
    }

    /// Bring this tenant's data up to this version; `from` is the previously enabled
    /// version, or `None` on first enablement. Default: nothing to do.
    fn migrate(from: Option<&str>) -> Result<()> {
        let _ = from;
        Ok(())
    }
}

/// A table of typed operation handlers, built with [`Operations::op`].
///
/// ```
/// use backoffice_sdk::prelude::*;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize)]
/// struct Greet { name: String }
/// #[derive(Serialize)]
/// struct Greeting { text: String }
///
/// fn greet(input: Greet) -> Result<Greeting> {
///     Ok(Greeting { text: format!("Hello, {}!", input.name) })
/// }
///
/// let ops = Operations::new().op("greet", greet);
/// assert_eq!(ops.invoke("greet", r#"{"name":"Ada"}"#).unwrap(), r#"{"text":"Hello, Ada!"}"#);
/// assert!(matches!(ops.invoke("greet", "{}"), Err(Error::InvalidInput(_))));
/// assert!(matches!(ops.invoke("nope", "{}"), Err(Error::NotFound(_))));
/// ```
#[derive(Default)]
pub struct Operations {
    ops: Vec<(String, Handler)>,
}

impl Operations {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add operation `name`, handled by `handler`.
    ///
    /// The JSON input is deserialised into `In`; a failure becomes
    /// [`Error::InvalidInput`] with serde's message. The `Out` value is serialised to
    /// JSON. A later registration of the same name replaces the earlier one.
    pub fn op<In, Out, F>(mut self, name: &str, handler: F) -> Self
    where
        In: DeserializeOwned,
        Out: Serialize,
        F: Fn(In) -> Result<Out> + 'static,
    {
        self.ops.retain(|(n, _)| n != name);
        let handler: Handler = Box::new(move |input: &str| {
            let input: In =
                serde_json::from_str(input).map_err(|e| Error::invalid(e.to_string()))?;
            let output = handler(input)?;
            serde_json::to_string(&output)
                .map_err(|e| Error::internal(format!("cannot serialise the output: {e}")))
        });
        self.ops.push((name.to_owned(), handler));
        self
    }

    /// Run operation `name` with JSON `input`; returns its JSON output.
    ///
    /// An unknown name is [`Error::NotFound`] `unknown operation NAME`.
    pub fn invoke(&self, name: &str, input: &str) -> Result<String> {
        match self.ops.iter().find(|(n, _)| n == name) {
            Some((_, handler)) => handler(input),
            None => Err(Error::not_found(format!("unknown operation {name}"))),
        }
    }

    /// The registered operation names, in registration order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.ops.iter().map(|(n, _)| n.as_str())
    }
}

impl fmt::Debug for Operations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

/// An input or output with no fields: deserialises from any JSON object (ignoring
/// its members) and serialises as `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Empty {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Add {
        a: i32,
        b: i32,
    }

    fn add(i: Add) -> Result<i32> {
        i.a.checked_add(i.b)
            .ok_or_else(|| Error::invalid("overflow"))
    }

    #[test]
    fn dispatch() {
        let ops = Operations::new()
            .op("add", add)
            .op("nothing", |_: Empty| Ok(Empty {}));
        assert_eq!(ops.invoke("add", r#"{"a":1,"b":2}"#).unwrap(), "3");
        assert_eq!(ops.invoke("nothing", r#"{"x":1}"#).unwrap(), "{}");
        assert_eq!(ops.names().collect::<Vec<_>>(), ["add", "nothing"]);
        assert_eq!(format!("{ops:?}"), r#"["add", "nothing"]"#);
    }

    #[test]
    fn bad_input_is_invalid_input_with_serde_message() {
        let ops = Operations::new().op("add", add);
        match ops.invoke("add", r#"{"a":1}"#) {
            Err(Error::InvalidInput(m)) => assert!(m.contains("missing field `b`"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            ops.invoke("add", "not json"),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn handler_errors_pass_through() {
        let ops = Operations::new().op("add", add);
        assert_eq!(
            ops.invoke("add", &format!(r#"{{"a":{},"b":1}}"#, i32::MAX)),
            Err(Error::invalid("overflow"))
        );
    }

    #[test]
    fn unknown_operation() {
        assert_eq!(
            Operations::new().invoke("x", "{}"),
            Err(Error::not_found("unknown operation x"))
        );
    }

    #[test]
    fn later_registration_replaces() {
        let ops = Operations::new()
            .op("a", |_: Empty| Ok(1))
            .op("a", |_: Empty| Ok(2));
        assert_eq!(ops.invoke("a", "{}").unwrap(), "2");
        assert_eq!(ops.names().count(), 1);
    }

    struct P;
    impl Plugin for P {
        fn operations() -> Operations {
            Operations::new()
        }
    }

    #[test]
    fn defaults() {
        assert_eq!(P::on_event("t", serde_json::Value::Null), Ok(()));
        assert_eq!(P::migrate(None), Ok(()));
        assert_eq!(
            P::run_job("nightly", serde_json::Value::Null),
            Err(Error::not_found("unknown job nightly"))
        );
    }
}
