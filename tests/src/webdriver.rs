//! A small W3C WebDriver client over the system's `chromedriver` and headless
//! Chromium (Debian's `chromium` and `chromium-driver`, installed by
//! `scripts/test.sh`). WebDriver is JSON over HTTP, so the test crate's own HTTP
//! helper is all it needs: no browser download, no async runtime.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One request to the driver. chromedriver keeps connections open whatever the
/// client asks, so the body is read by its Content-Length, not to the end.
fn driver_request(addr: &str, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status from the driver: {line:?}"));
    let mut length = 0usize;
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((n, v)) = l.split_once(':')
            && n.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut buf = vec![0; length];
    reader.read_exact(&mut buf).unwrap();
    (status, String::from_utf8_lossy(&buf).into_owned())
}

/// The element reference key of the W3C protocol.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless Chromium session, closed (and its driver stopped) on drop.
pub struct Browser {
    driver: Child,
    addr: String,
    session: String,
    /// Base URL of the server under test, such as `http://127.0.0.1:4000`.
    pub base: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Where screenshots go: `target/console-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::root().join("target"));
    target.join("console-screenshots")
}

impl Browser {
    /// Start `chromedriver` and a headless Chromium session against `base`.
    pub fn start(base: &str) -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start chromedriver ({e}); install it with `apt-get install -y chromium chromium-driver` (scripts/test.sh does)")
            });
        let addr = format!("127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"]
            }
        }}});
        let (_, body) = driver_request(&addr, "POST", "/session", caps.to_string().as_bytes());
        let v: Value = serde_json::from_str(&body).unwrap();
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {body}"))
            .to_string();
        Browser {
            driver,
            addr,
            session,
            base: base.to_string(),
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let body = if method == "GET" {
            String::new()
        } else {
            body.to_string()
        };
        let (status, text) = driver_request(&self.addr, method, &path, body.as_bytes());
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("WebDriver answered non-JSON ({e}): {text}"));
        if status >= 400 {
            panic!("WebDriver {method} {path} failed: {}", v["value"]);
        }
        v["value"].clone()
    }

    /// Open a path of the server under test.
    pub fn open(&self, path: &str) {
        self.cmd(
            "POST",
            "/url",
            json!({"url": format!("{}{path}", self.base)}),
        );
    }

    /// The current URL.
    pub fn url(&self) -> String {
        self.cmd("GET", "/url", Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The page's HTML.
    pub fn source(&self) -> String {
        self.cmd("GET", "/source", Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The first element matching `css`, if any.
    pub fn try_find(&self, css: &str) -> Option<String> {
        let found = self.cmd(
            "POST",
            "/elements",
            json!({"using": "css selector", "value": css}),
        );
        found.as_array()?.first()?[ELEMENT]
            .as_str()
            .map(String::from)
    }

    /// The first element matching `css`; fails the test if there is none.
    pub fn find(&self, css: &str) -> String {
        self.try_find(css).unwrap_or_else(|| {
            panic!(
                "no element matches {css} on {}:\n{}",
                self.url(),
                self.source()
            )
        })
    }

    /// Click the element matching `css`.
    pub fn click(&self, css: &str) {
        let id = self.find(css);
        self.cmd("POST", &format!("/element/{id}/click"), json!({}));
    }

    /// Click the element matching `css` and wait until the browser has loaded the
    /// page it leads to (the old page's root element is gone).
    pub fn submit(&self, css: &str) {
        let old = self.find("html");
        self.click(css);
        let started = Instant::now();
        loop {
            let path = format!("/session/{}/element/{old}/name", self.session);
            let (status, _) = driver_request(&self.addr, "GET", &path, b"");
            if status >= 400 {
                break;
            }
            if started.elapsed() > Duration::from_secs(20) {
                // Most often the browser's own validation held the form back.
                let invalid = self.cmd(
                    "POST",
                    "/execute/sync",
                    json!({"script": "return Array.from(document.querySelectorAll(':invalid')).map(e => e.name + ': ' + e.validationMessage).join('; ');", "args": []}),
                );
                panic!("clicking {css} did not load another page; invalid fields: {invalid}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        // Wait for the new document to finish loading.
        while self.cmd(
            "POST",
            "/execute/sync",
            json!({"script": "return document.readyState;", "args": []}),
        ) != "complete"
        {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "page did not load"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Replace the value of the input matching `css` by typing `text`.
    pub fn fill(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.cmd("POST", &format!("/element/{id}/clear"), json!({}));
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            json!({"text": text}),
        );
    }

    /// Set the value of the input matching `css` directly: date inputs take typed
    /// text in the browser's locale format, so tests set ISO dates this way.
    pub fn set_value(&self, css: &str, value: &str) {
        self.find(css);
        self.cmd(
            "POST",
            "/execute/sync",
            json!({"script": "document.querySelector(arguments[0]).value = arguments[1];", "args": [css, value]}),
        );
    }

    /// Choose the option with `value` of the select matching `css`.
    pub fn choose(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value=\"{value}\"]"));
    }

    /// The visible text of the element matching `css`.
    pub fn text(&self, css: &str) -> String {
        let id = self.find(css);
        self.cmd("GET", &format!("/element/{id}/text"), Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The `value` property of the input matching `css`.
    pub fn value(&self, css: &str) -> String {
        let id = self.find(css);
        self.cmd("GET", &format!("/element/{id}/property/value"), Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// A cookie's value (HttpOnly ones included: the driver sees them all).
    pub fn cookie(&self, name: &str) -> Option<String> {
        let all = self.cmd("GET", "/cookie", Value::Null);
        all.as_array()?.iter().find(|c| c["name"] == name)?["value"]
            .as_str()
            .map(String::from)
    }

    /// Save a PNG of the page as `target/console-screenshots/<name>.png`.
    pub fn screenshot(&self, name: &str) {
        let data = self.cmd("GET", "/screenshot", Value::Null);
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("{name}.png")),
            decode_base64(data.as_str().unwrap_or_default()),
        )
        .unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = driver_request(
            &self.addr,
            "DELETE",
            &format!("/session/{}", self.session),
            b"",
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_decodes() {
        assert_eq!(super::decode_base64("aGVsbG8="), b"hello");
        assert_eq!(super::decode_base64("iVBORw0KGgo="), b"\x89PNG\r\n\x1a\n");
    }
}
