//! The host's SMTP relay: where notifications go, and one attempt to hand a message
//! to it (lettre's blocking client, rustls on ring).
//!
//! `smtps://host[:465]` speaks TLS from the first byte; `smtp://host[:25]` upgrades
//! with STARTTLS when the relay offers it and sends in the clear otherwise (a relay
//! on the same machine or network). A user name goes in the URL
//! (`smtp://alerts@mail.example.com:587`), its password in a file or the
//! environment, never on the command line.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

/// A relay, as `serve --smtp-url ... --smtp-from ...` describes it.
#[derive(Clone)]
pub struct SmtpRelay {
    /// Host name or address of the relay.
    pub host: String,
    /// Port (465 for `smtps://`, 25 for `smtp://` unless given).
    pub port: u16,
    /// `smtps://`: TLS from the start; otherwise STARTTLS when offered.
    pub implicit_tls: bool,
    /// The user to sign in as, from the URL.
    pub user: Option<String>,
    /// Its password (from `--smtp-password-file` or `BACKOFFICE_SMTP_PASSWORD`).
    pub password: Option<String>,
    /// The `From` address of every message.
    pub from: Mailbox,
}

impl std::fmt::Debug for SmtpRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpRelay")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("implicit_tls", &self.implicit_tls)
            .field("user", &self.user)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpRelay {
    /// Read `smtp://[user@]host[:port]` or `smtps://...` and the sender address.
    pub fn parse(url: &str, from: &str, password: Option<String>) -> Result<SmtpRelay, String> {
        let (implicit_tls, rest) = if let Some(r) = url.strip_prefix("smtps://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("smtp://") {
            (false, r)
        } else {
            return Err(format!(
                "'{url}' is not an SMTP URL; use smtp://HOST:PORT (STARTTLS when offered) or smtps://HOST:PORT (TLS)"
            ));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) {
            return Err(format!(
                "'{url}' has a path or query; give only smtp://[USER@]HOST[:PORT]"
            ));
        }
        let (user, authority) = match rest.rsplit_once('@') {
            Some((user, _)) if user.contains(':') => {
                return Err(
                    "put the SMTP password in a file (--smtp-password-file) or BACKOFFICE_SMTP_PASSWORD, not in the URL".into(),
                );
            }
            Some((user, a)) if !user.is_empty() => (Some(user.to_string()), a),
            Some(_) => return Err(format!("'{url}' has an empty user name before '@'")),
            None => (None, rest),
        };
        let default_port = if implicit_tls { 465 } else { 25 };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                let port =
                    p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                        format!("'{p}' in '{url}' is not a port number (1 to 65535)")
                    })?;
                (h, port)
            }
            _ => (authority, default_port),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("'{url}' names no host"));
        }
        let from: Mailbox = from.parse().map_err(|e| {
            format!("--smtp-from '{from}' is not an email address ({e}); use alerts@example.com or 'Back office <alerts@example.com>'")
        })?;
        if user.is_some() && password.is_none() {
            return Err("the SMTP URL names a user but no password was given; put it in a file named by --smtp-password-file or in BACKOFFICE_SMTP_PASSWORD".into());
        }
        Ok(SmtpRelay {
            host: host.to_string(),
            port,
            implicit_tls,
            user,
            password,
            from,
        })
    }

    /// The relay as one line for logs and `serve`'s banner: no password.
    pub fn describe(&self) -> String {
        let scheme = if self.implicit_tls { "smtps" } else { "smtp" };
        let user = self
            .user
            .as_deref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        format!("{scheme}://{user}{}:{}", self.host, self.port)
    }

    /// A client for one attempt, giving up after `timeout` per network step.
    fn transport(&self, timeout: Duration) -> Result<SmtpTransport, String> {
        let tls = TlsParameters::builder(self.host.clone())
            .build_rustls()
            .map_err(|e| format!("cannot set up TLS for {}: {e}", self.host))?;
        let mut builder = SmtpTransport::builder_dangerous(self.host.clone())
            .port(self.port)
            .timeout(Some(timeout))
            .tls(if self.implicit_tls {
                Tls::Wrapper(tls)
            } else {
                Tls::Opportunistic(tls)
            });
        if let (Some(user), Some(password)) = (&self.user, &self.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(builder.build())
    }
}

/// How an attempt ended: the relay's reply code when it answered, and the error.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The SMTP reply code of the last reply, when there was one.
    pub code: Option<u16>,
    /// What went wrong; none when the relay accepted the message.
    pub error: Option<String>,
}

/// One message to one address.
#[derive(Debug, Clone)]
pub struct Mail<'a> {
    /// Recipient's address.
    pub to: &'a str,
    /// Subject line.
    pub subject: &'a str,
    /// Plain-text body.
    pub body: &'a str,
    /// The `Message-ID` token, the same for every attempt.
    pub token: &'a str,
}

/// Hand `mail` to `relay` once.
pub fn send(relay: &SmtpRelay, mail: &Mail<'_>, timeout: Duration) -> Outcome {
    let failed = |code: Option<u16>, error: String| Outcome {
        code,
        error: Some(error),
    };
    let to: Mailbox = match mail.to.parse() {
        Ok(m) => m,
        Err(e) => return failed(None, format!("the address '{}' is not valid: {e}", mail.to)),
    };
    let domain = relay.from.email.domain().to_string();
    let message = Message::builder()
        .from(relay.from.clone())
        .to(to)
        .subject(mail.subject)
        .message_id(Some(format!("<{}@{domain}>", mail.token)))
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.to_string());
    let message = match message {
        Ok(m) => m,
        Err(e) => return failed(None, format!("the message cannot be built: {e}")),
    };
    let transport = match relay.transport(timeout) {
        Ok(t) => t,
        Err(e) => return failed(None, e),
    };
    match transport.send(&message) {
        Ok(reply) => Outcome {
            code: Some(u16::from(reply.code())),
            error: None,
        },
        Err(e) => failed(e.status().map(u16::from), format!("{e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_and_bad_ones_say_how_to_fix_them() {
        let r = SmtpRelay::parse("smtp://127.0.0.1:2525", "alerts@example.com", None).unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.implicit_tls),
            ("127.0.0.1", 2525, false)
        );
        let r = SmtpRelay::parse(
            "smtps://ops@mail.example.com",
            "Back office <alerts@example.com>",
            Some("pw".into()),
        )
        .unwrap();
        assert_eq!(
            (r.port, r.implicit_tls, r.user.as_deref()),
            (465, true, Some("ops"))
        );
        assert_eq!(r.describe(), "smtps://ops@mail.example.com:465");
        for (url, fragment) in [
            ("http://x", "not an SMTP URL"),
            ("smtp://u:p@x", "not in the URL"),
            ("smtp://x:0", "not a port"),
            ("smtp://", "names no host"),
            ("smtp://x/path", "path or query"),
            ("smtp://ops@x", "no password"),
        ] {
            let e = SmtpRelay::parse(url, "a@example.com", None).unwrap_err();
            assert!(e.contains(fragment), "{url}: {e}");
        }
        let e = SmtpRelay::parse("smtp://x", "not an address", None).unwrap_err();
        assert!(e.contains("--smtp-from"), "{e}");
    }
}
