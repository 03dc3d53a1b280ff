//! No sender: the host built without its feature `http-client` (the test kit's
//! default).

use super::{Answer, Failure, NO_CLIENT, Outgoing, Reply};
use crate::webhooks::WebhookPolicy;

/// No sender can be made without the feature `http-client`.
#[derive(Clone)]
pub struct Sender {
    never: std::convert::Infallible,
}

impl Sender {
    /// Always [`NO_CLIENT`].
    pub fn new(_policy: &WebhookPolicy) -> Result<Sender, String> {
        Err(NO_CLIENT.to_string())
    }

    /// Never called: there is no sender.
    pub fn post(&self, _url: &str, _headers: &[(&str, String)], _body: &[u8]) -> Answer {
        match self.never {}
    }

    /// Never called: there is no sender.
    pub fn send(&self, _out: &Outgoing<'_>) -> Result<Reply, Failure> {
        match self.never {}
    }
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}
