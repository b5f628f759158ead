//! A real SMTP server for the email tests: `tests/smtp/sink.py` on aiosmtpd (Debian's `python3-aiosmtpd`,
//! installed by `.ci/run`), which stores every message it accepts; the tests read what arrived. In CI it
//! must run; elsewhere the tests that need it are skipped with the reason printed.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One message as the server received it, parsed.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Received {
    pub to: Vec<String>,
    pub subject: String,
    pub message_id: String,
    pub text: String,
    pub html: String,
    /// The message as sent, headers and encoded parts.
    pub raw: String,
}

impl Received {
    /// The first link of the plain-text part that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        let start = self.text.find(prefix).unwrap_or_else(|| panic!("no link {prefix} in:\n{}", self.text));
        self.text[start..].split_whitespace().next().expect("link").to_owned()
    }
}

pub struct Mailbox {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        self.stop();
    }
}

fn python() -> Option<&'static str> {
    ["/usr/bin/python3", "python3"].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

impl Mailbox {
    /// A running server, or `None` outside CI when aiosmtpd is missing.
    pub fn start() -> Option<Mailbox> {
        let mut mailbox = Self::stopped()?;
        mailbox.resume();
        Some(mailbox)
    }

    /// A port reserved for a server that is not running yet (`resume` starts it): SMTP is down.
    pub fn stopped() -> Option<Mailbox> {
        if python().is_none() {
            assert!(
                !std::env::var("CI").is_ok_and(|v| v == "true"),
                "python3 with aiosmtpd is required in CI: apt-get install python3-aiosmtpd"
            );
            eprintln!("skipped: install python3-aiosmtpd to run the email tests against a real SMTP server");
            return None;
        }
        Some(Mailbox { port: free_port(), dir: tempfile::tempdir().expect("temp dir"), child: None })
    }

    /// Starts (again) the server on its port, and waits until it accepts connections.
    pub fn resume(&mut self) {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/sink.py");
        let child = Command::new(python().expect("python3 with aiosmtpd"))
            .arg(script)
            .arg(self.port.to_string())
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the SMTP server starts");
        self.child = Some(child);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("the SMTP server did not listen on {}", self.port);
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `KEYWARD_SMTP_URL` for this server (plain SMTP on loopback).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// Every message received so far, in arrival order.
    pub fn messages(&self) -> Vec<Received> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("mail dir")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).expect("message")).expect("message JSON"))
            .collect()
    }

    /// The messages sent to `address`.
    pub fn to(&self, address: &str) -> Vec<Received> {
        self.messages().into_iter().filter(|m| m.to.iter().any(|t| t == address)).collect()
    }
}

/// The configuration of a server that sends its email to `mailbox`, from keyward@example.com; the tests
/// run the email job themselves.
pub fn sending_to(mailbox: &Mailbox) -> impl FnOnce(&mut keyward::config::Config) + use<> {
    let url = mailbox.url();
    move |config| {
        config.smtp = Some(keyward::config::SmtpConfig { url, from: "Keyward <keyward@example.com>".into() });
        config.email_every_secs = 0;
    }
}

/// Email on, to a server nobody calls (the job is off): for tests of what email changes in pages and flows
/// rather than of what is sent.
pub fn email_on(config: &mut keyward::config::Config) {
    let (url, from) = ("smtp://127.0.0.1:9?tls=none".into(), "Keyward <keyward@example.com>".into());
    config.smtp = Some(keyward::config::SmtpConfig { url, from });
    config.email_every_secs = 0;
}

/// Runs the email job once, as the background task would; returns (sent, failed).
pub async fn deliver(state: &keyward::state::AppState) -> (usize, usize) {
    keyward::services::email::send_digests(state).expect("digests");
    keyward::services::email::deliver_due(state).await.expect("email job")
}
