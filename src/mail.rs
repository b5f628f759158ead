//! Outbound email: the SMTP server named by `KEYWARD_SMTP_URL` and the sender `KEYWARD_SMTP_FROM`.
//! This module only carries letters; what they say and when they go is `services::email`'s.
//!
//! `smtp://host[:port]` asks for STARTTLS (refusing a server that does not offer it; port 587 by
//! default), `smtps://host[:port]` speaks TLS from the first byte (465), and `?tls=none` sends in the
//! clear, for a relay on loopback. `user:password@` in the URL authenticates.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How long one conversation with the server may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// How the connection to the server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    StartTls,
    Implicit,
    None,
}

impl Security {
    pub fn label(self) -> &'static str {
        match self {
            Self::StartTls => "STARTTLS",
            Self::Implicit => "TLS",
            Self::None => "no encryption",
        }
    }
}

/// The SMTP server as Settings shows it: never the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: Option<String>,
}

impl Server {
    /// Reads `KEYWARD_SMTP_URL`; the password, when there is one, is returned apart.
    pub fn parse(text: &str) -> Result<(Self, Option<String>), String> {
        let url = url::Url::parse(text.trim())
            .map_err(|_| "KEYWARD_SMTP_URL: write smtp://host:587 or smtps://host:465".to_owned())?;
        let mut security = match url.scheme() {
            "smtp" => Security::StartTls,
            "smtps" => Security::Implicit,
            other => return Err(format!("KEYWARD_SMTP_URL: the scheme is smtp or smtps, not {other}")),
        };
        for (name, value) in url.query_pairs() {
            match (name.as_ref(), value.as_ref()) {
                ("tls", "none") if security == Security::StartTls => security = Security::None,
                ("tls", "required" | "starttls") if security == Security::StartTls => {}
                _ => {
                    return Err(format!(
                        "KEYWARD_SMTP_URL: unknown option {name}={value} (only tls=none, with smtp://)"
                    ));
                }
            }
        }
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or("KEYWARD_SMTP_URL names no host")?.to_owned();
        let port = url.port().unwrap_or(if security == Security::Implicit { 465 } else { 587 });
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let user = (!url.username().is_empty()).then(|| decode(url.username()));
        let password = url.password().map(decode);
        Ok((Self { host, port, security, user }, password))
    }

    /// "smtp.example.com:587 (STARTTLS, as keyward)".
    pub fn describe(&self) -> String {
        let user = self.user.as_deref().map(|u| format!(", as {u}")).unwrap_or_default();
        format!("{}:{} ({}{user})", self.host, self.port, self.security.label())
    }
}

/// One email to send.
#[derive(Debug, Clone)]
pub struct Letter<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    /// `<…@…>`, kept across retries so a receiver can drop a repeat.
    pub message_id: &'a str,
}

/// The configured SMTP server and sender.
#[derive(Clone)]
pub struct Smtp {
    pub server: Server,
    pub from: Mailbox,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp").field("server", &self.server).field("from", &self.from.to_string()).finish()
    }
}

impl Smtp {
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let (server, password) = Server::parse(url)?;
        let from: Mailbox = from
            .trim()
            .parse()
            .map_err(|_| format!("KEYWARD_SMTP_FROM: write an address such as keyward@example.com or \"Keyward <keyward@example.com>\", not {from:?}"))?;
        let tls = match server.security {
            Security::None => Tls::None,
            security => {
                let parameters = TlsParameters::new(server.host.clone())
                    .map_err(|e| format!("KEYWARD_SMTP_URL: cannot set up TLS for {}: {e}", server.host))?;
                if security == Security::Implicit { Tls::Wrapper(parameters) } else { Tls::Required(parameters) }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.host.clone())
            .port(server.port)
            .tls(tls)
            .timeout(Some(TIMEOUT));
        if let Some(user) = &server.user {
            builder = builder.credentials(Credentials::new(user.clone(), password.unwrap_or_default()));
        }
        Ok(Self { server, from, transport: builder.build() })
    }

    /// The domain of the sender, for Message-IDs.
    pub fn domain(&self) -> &str {
        self.from.email.domain()
    }

    /// Sends one letter; the error says what went wrong in words for Settings (never a credential).
    pub async fn send(&self, letter: &Letter<'_>) -> Result<(), String> {
        let to: Mailbox = letter.to.parse().map_err(|_| format!("{} is not an address SMTP accepts", letter.to))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(letter.subject)
            .message_id(Some(letter.message_id.to_owned()))
            .multipart(MultiPart::alternative_plain_html(letter.text.to_owned(), letter.html.to_owned()))
            .map_err(|e| format!("the message could not be built: {e}"))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(format!("the server refused the message: {e}")),
            Err(e) if e.is_transient() => Err(format!("the server asked to try later: {e}")),
            Err(e) if e.is_timeout() => Err(format!("{} did not answer in time", self.server.describe())),
            Err(_) => Err(format!("could not talk to {}", self.server.describe())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_say_how_to_reach_the_server_and_default_to_encryption() {
        let (s, pw) = Server::parse("smtp://keyward:p%40ss@mail.example.com").expect("valid");
        assert_eq!((s.host.as_str(), s.port, s.security), ("mail.example.com", 587, Security::StartTls));
        assert_eq!((s.user.as_deref(), pw.as_deref()), (Some("keyward"), Some("p@ss")));
        assert_eq!(s.describe(), "mail.example.com:587 (STARTTLS, as keyward)");
        let (s, _) = Server::parse("smtps://mail.example.com").expect("valid");
        assert_eq!((s.port, s.security), (465, Security::Implicit));
        let (s, pw) = Server::parse("smtp://127.0.0.1:2525?tls=none").expect("valid");
        assert_eq!((s.port, s.security, pw), (2525, Security::None, None));
        assert!(Server::parse("smtps://mail.example.com?tls=none").is_err(), "implicit TLS cannot be turned off");
        assert!(Server::parse("http://mail.example.com").is_err());
        assert!(Server::parse("mail.example.com").is_err());
    }

    #[test]
    fn the_sender_must_be_an_address() {
        assert!(Smtp::new("smtp://127.0.0.1:25?tls=none", "Keyward <keyward@example.com>").is_ok());
        assert!(Smtp::new("smtp://127.0.0.1:25?tls=none", "keyward").is_err());
    }
}
