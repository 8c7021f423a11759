//! A real browser for the console's tests: Debian's Chromium, headless, driven over WebDriver
//! by Debian's chromedriver (plain HTTP on loopback, so no client crate). The flags are the
//! ones that keep Chromium off the network this machine does not have.
#![allow(dead_code)]

use super::{free_port, wait_for_http};
use base64::Engine as _;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1800,1100",
];

impl Browser {
    pub fn start() -> Browser {
        let port = free_port();
        let driver = Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver (apt install chromium chromium-driver)");
        let base = format!("http://127.0.0.1:{port}");
        wait_for_http(&base, "chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": { "binary": binary, "args": args } } } });
        let mut browser = Browser { driver, base, session: String::new(), _profile: profile };
        let created = browser.call("POST", "/session", &capabilities);
        browser.session = created["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}")).to_string();
        browser
    }

    /// One WebDriver command; its `value`.
    fn call(&self, method: &str, path: &str, body: &Value) -> Value {
        let text = exchange(&self.base, method, path, &body.to_string());
        let answer: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        answer["value"].clone()
    }

    fn command(&self, method: &str, what: &str, body: &Value) -> Value {
        self.call(method, &format!("/session/{}{what}", self.session), body)
    }

    pub fn goto(&self, url: &str) {
        let v = self.command("POST", "/url", &json!({ "url": url }));
        assert!(v.get("error").is_none(), "navigating to {url}: {v}");
    }

    /// Runs `script` (a function body) in the page and returns its value.
    pub fn script(&self, script: &str) -> Value {
        let v = self.command("POST", "/execute/sync", &json!({ "script": script, "args": [] }));
        assert!(v.get("error").is_none() || v.is_string(), "script {script}: {v}");
        v
    }

    /// The page's visible text.
    pub fn text(&self) -> String {
        self.script("return document.body ? document.body.innerText : '';").as_str().unwrap_or_default().to_string()
    }

    pub fn current_url(&self) -> String {
        self.command("GET", "/url", &json!({})).as_str().unwrap_or_default().to_string()
    }

    /// Clicks the element `css` selects, as a person would (WebDriver element click). A live
    /// update may replace the element between finding and clicking it: then it is found again.
    pub fn click(&self, css: &str) {
        for _ in 0..10 {
            let found = self.command("POST", "/element", &json!({ "using": "css selector", "value": css }));
            let id = found
                .as_object()
                .and_then(|o| o.values().next())
                .and_then(|v| v.as_str())
                .unwrap_or_else(|| panic!("no element {css}: {found}"))
                .to_string();
            let v = self.command("POST", &format!("/element/{id}/click"), &json!({}));
            if v["error"] == "stale element reference" {
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
            assert!(v.is_null(), "clicking {css}: {v}");
            return;
        }
        panic!("{css} kept being replaced while it was clicked");
    }

    /// Whether a JavaScript dialog (alert, confirm) is open.
    pub fn dialog_open(&self) -> bool {
        let v = self.command("GET", "/alert/text", &json!({}));
        v.get("error").is_none()
    }

    /// Waits (bounded, generously) until `done` holds for the page.
    pub fn wait_for(&self, what: &str, within: Duration, done: impl Fn(&Browser) -> bool) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if done(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("{what}: not within {within:?}; the page says:\n{}", self.text());
    }

    /// A PNG of the whole page (the window grown to its height first), written to `path`.
    pub fn screenshot(&self, path: &Path) {
        let height =
            self.script("return document.documentElement.scrollHeight;").as_u64().unwrap_or(1100).clamp(600, 4000);
        self.command("POST", "/window/rect", &json!({ "width": 1800, "height": height + 120 }));
        let png = self.command("GET", "/screenshot", &json!({}));
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().expect("a screenshot")).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
        self.command("POST", "/window/rect", &json!({ "width": 1800, "height": 1100 }));
    }
}

/// One HTTP/1.1 exchange with chromedriver, read by its Content-Length (chromedriver keeps the
/// connection open whatever the request asks).
fn exchange(base: &str, method: &str, path: &str, body: &str) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let host = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).unwrap_or_else(|e| panic!("chromedriver at {host}: {e}"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut payload = vec![0; length];
    reader.read_exact(&mut payload).unwrap();
    String::from_utf8_lossy(&payload).into_owned()
}

impl Browser {
    /// A PNG of the one element `css` selects (the page grown to its height first).
    pub fn element_screenshot(&self, css: &str, path: &Path) {
        let height =
            self.script("return document.documentElement.scrollHeight;").as_u64().unwrap_or(1100).clamp(600, 4000);
        self.command("POST", "/window/rect", &json!({ "width": 1800, "height": height + 120 }));
        let found = self.command("POST", "/element", &json!({ "using": "css selector", "value": css }));
        let id = found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("no element {css}: {found}"));
        let png = self.command("GET", &format!("/element/{id}/screenshot"), &json!({}));
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().expect("a screenshot")).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
        self.command("POST", "/window/rect", &json!({ "width": 1800, "height": 1100 }));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            exchange(&self.base, "DELETE", &format!("/session/{}", self.session), "");
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
