//! A small Chrome DevTools Protocol client: one headless Chromium driven over
//! `--remote-debugging-pipe` (the browser reads JSON commands on its fd 3 and
//! writes answers and events on its fd 4, each message ended by a NUL byte), with
//! one page attached in flattened mode (`sessionId` on each page message).
//!
//! Every read has a deadline: a reader thread turns fd 4 into a channel read with
//! `recv_timeout`, so a browser that hangs fails the test with a message instead of
//! hanging it. The browser is killed when the `Browser` is dropped.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, PipeReader, PipeWriter, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long one command may take to be answered (a page load included), long
/// enough for a machine under load.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// How often `wait_for` evaluates its condition.
const POLL: Duration = Duration::from_millis(50);

/// Debian's `chromium`, when installed.
pub(crate) fn chromium() -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
}

/// A headless Chromium with one page.
pub(crate) struct Browser {
    child: Child,
    commands: PipeWriter,
    messages: Receiver<Result<Value, String>>,
    /// The page's session: page commands carry it, page events come with it.
    session: String,
    next_id: u64,
    /// Events read while waiting for an answer, oldest first.
    events: VecDeque<Value>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium on a fresh profile (with the arguments a root user in a
    /// container needs) and opens a page on about:blank.
    pub(crate) fn launch() -> Browser {
        let path = chromium().expect("chromium on PATH");
        let profile = tempfile::tempdir().unwrap();
        let (browser_reads, commands) = std::io::pipe().unwrap();
        let (answers, browser_writes) = std::io::pipe().unwrap();
        let (fd3, fd4) = (browser_reads.as_raw_fd(), browser_writes.as_raw_fd());
        let mut command = Command::new(path);
        command
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                "--window-size=1400,1300",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: the closure runs in the child between fork and exec and calls only
        // fcntl and dup2, which are async-signal-safe; it allocates nothing. Both
        // ends are first copied to descriptors above 4 (close-on-exec), so neither
        // dup2 can close the other's source or be a no-op that keeps close-on-exec.
        unsafe {
            command.pre_exec(move || {
                let high = [fd3, fd4].map(|fd| libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 5));
                for (fd, target) in high.into_iter().zip([3, 4]) {
                    if fd < 0 || libc::dup2(fd, target) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let child = command.spawn().unwrap();
        drop((browser_reads, browser_writes));
        let (sender, messages) = std::sync::mpsc::channel();
        std::thread::spawn(move || read_messages(answers, sender));
        let mut browser = Browser {
            child,
            commands,
            messages,
            session: String::new(),
            next_id: 0,
            events: VecDeque::new(),
            _profile: profile,
        };
        let target = browser.call("Target.createTarget", json!({"url": "about:blank"}));
        let attached = browser.call(
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        browser.session = attached["sessionId"].as_str().unwrap().to_string();
        browser.call("Page.enable", json!({}));
        browser
    }

    /// Sends a command (to the page once attached, else to the browser) and
    /// returns its result, keeping the events that arrive meanwhile.
    fn send(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() && !method.starts_with("Target.") {
            message["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.commands
            .write_all(&bytes)
            .map_err(|e| format!("chromium's command pipe: {e}"))?;
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            let message = self.receive(deadline, method)?;
            if message["id"] == id {
                return match message.get("error") {
                    Some(error) => Err(format!("{method}: {error}")),
                    None => Ok(message["result"].clone()),
                };
            }
            if message.get("method").is_some() {
                self.events.push_back(message);
            }
        }
    }

    /// `send` that fails the test on an error.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The next message from the browser, or why there is none by `deadline`.
    fn receive(&mut self, deadline: Instant, waiting_for: &str) -> Result<Value, String> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.messages.recv_timeout(left) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => Err(format!(
                "chromium did not answer {waiting_for} within {ANSWER_TIMEOUT:?}"
            )),
            Err(RecvTimeoutError::Disconnected) => Err(format!(
                "chromium closed its pipe while we waited for {waiting_for} (exit: {:?})",
                self.child.try_wait()
            )),
        }
    }

    /// Waits for the page event `method`, including ones already read; other
    /// messages read meanwhile are kept.
    fn wait_event(&mut self, method: &str) -> Value {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            let session = self.session.as_str();
            let ours = |e: &Value| e["method"] == method && e["sessionId"] == session;
            if let Some(i) = self.events.iter().position(ours) {
                return self.events.remove(i).unwrap();
            }
            let message = self
                .receive(deadline, method)
                .unwrap_or_else(|e| panic!("{e}"));
            self.events.push_back(message);
        }
    }

    /// Loads `url` as a new document and waits for its load event. A URL that
    /// differs from the current one only in its fragment is loaded again too
    /// (Chromium would only move to the fragment, and run no script).
    pub(crate) fn navigate(&mut self, url: &str) {
        self.events.clear();
        let r = self.call("Page.navigate", json!({"url": url}));
        if let Some(error) = r.get("errorText") {
            panic!("navigating to {url}: {error}");
        }
        if r.get("loaderId").is_none() {
            self.wait_event("Page.navigatedWithinDocument");
            self.call("Page.reload", json!({}));
        }
        self.wait_event("Page.loadEventFired");
    }

    /// The value of the JavaScript expression `js` in the page (a promise is
    /// awaited), or the exception it threw.
    fn try_eval(&mut self, js: &str) -> Result<Value, String> {
        let params = json!({"expression": js, "returnByValue": true, "awaitPromise": true});
        let r = self.send("Runtime.evaluate", params)?;
        if let Some(e) = r.get("exceptionDetails") {
            let text = e["exception"]["description"]
                .as_str()
                .or(e["text"].as_str());
            return Err(format!("{js} threw {}", text.unwrap_or_default()));
        }
        Ok(r["result"].get("value").cloned().unwrap_or(Value::Null))
    }

    /// The value of the JavaScript expression `js` in the page.
    pub(crate) fn eval(&mut self, js: &str) -> Value {
        self.try_eval(js).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Evaluates `condition` every 50 ms until its value is truthy and returns that
    /// value; after `timeout` fails with the last value and the page's text.
    pub(crate) fn wait_for(&mut self, condition: &str, timeout: Duration) -> Value {
        let start = Instant::now();
        loop {
            let last = self.try_eval(condition);
            if let Ok(value) = &last {
                if truthy(value) {
                    return value.clone();
                }
            }
            if start.elapsed() > timeout {
                let page = match self.try_eval("location.href + '\\n' + document.body.innerText") {
                    Ok(Value::String(text)) => text,
                    Ok(other) => other.to_string(),
                    Err(e) => e,
                };
                panic!(
                    "after {timeout:?} still not true: {condition}\nlast value: {last:?}\n\
                     the page: {page}"
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Saves a PNG of the page's viewport to `path`.
    pub(crate) fn screenshot(&mut self, path: &Path) {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64_decode(r["data"].as_str().expect("screenshot data"));
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    /// Asks the browser to close, so that it leaves nothing running, and kills it
    /// after 5 s if it has not.
    fn drop(&mut self) {
        let _ = self
            .commands
            .write_all(b"{\"id\":0,\"method\":\"Browser.close\"}\0");
        let start = Instant::now();
        while matches!(self.child.try_wait(), Ok(None)) && start.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads NUL-terminated JSON messages from the browser until its end of the pipe
/// closes or the `Browser` is gone.
fn read_messages(pipe: PipeReader, sender: Sender<Result<Value, String>>) {
    let mut reader = BufReader::new(pipe);
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        match reader.read_until(0, &mut bytes) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => {
                let _ = sender.send(Err(format!("reading chromium's pipe: {e}")));
                return;
            }
        }
        if bytes.last() == Some(&0) {
            bytes.pop();
        }
        let message = serde_json::from_slice(&bytes).map_err(|e| {
            let text = String::from_utf8_lossy(&bytes);
            format!("chromium sent a message that is not JSON ({e}): {text}")
        });
        if sender.send(message).is_err() {
            return;
        }
    }
}

/// JavaScript's truthiness of a value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0 && !x.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// Decodes standard base64 (`+`, `/`, `=` padding), as the protocol sends binary data.
fn base64_decode(text: &str) -> Vec<u8> {
    let digit = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {:?}", c as char),
        }
    };
    let digits: Vec<u32> = text.bytes().filter(|&c| c != b'=').map(digit).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for group in digits.chunks(4) {
        // A group of n digits holds n - 1 bytes, left-aligned in 24 bits.
        let bits = group.iter().fold(0, |acc, d| acc << 6 | d) << (6 * (4 - group.len()));
        out.extend_from_slice(&bits.to_be_bytes()[1..group.len()]);
    }
    out
}

#[test]
fn base64_decodes_every_padding() {
    assert_eq!(base64_decode("TWFu"), b"Man");
    assert_eq!(base64_decode("TWE="), b"Ma");
    assert_eq!(base64_decode("TQ=="), b"M");
    assert_eq!(base64_decode("iVBORw0KGgo="), b"\x89PNG\r\n\x1a\n");
    assert_eq!(base64_decode("+/+/"), [0xfb, 0xff, 0xbf]);
    assert_eq!(base64_decode(""), b"");
}
