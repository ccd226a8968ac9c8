//! A real headless Chromium for the helpdesk page's tests: Debian's
//! `chromium` driven through its `chromedriver` over the WebDriver protocol
//! (the `fantoccini` client). Each [`Chrome`] has its own chromedriver on a
//! free loopback port and its own temporary profile (a fresh browser: no
//! cookie, no cache); dropping it ends the WebDriver session (chromedriver
//! quits the browser) and then kills chromedriver, so nothing is left running.
//!
//! The calls are synchronous, like the rest of the harness: the client runs on
//! a current-thread tokio runtime owned by the [`Chrome`], and a failed
//! WebDriver command fails the test with what it was doing.

use std::fmt::Debug;
use std::future::Future;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use super::{Proc, free_port, skip, wait_for};

/// The browser's language: its `Accept-Language` (the profile's
/// `intl.accept_languages`) and its UI language (`--lang`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ja,
}

impl Lang {
    fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }
}

/// One headless Chromium behind its own chromedriver.
pub struct Chrome {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Proc,
    _profile: tempfile::TempDir,
    /// Held while this browser lives (released after it is gone).
    _turn: MutexGuard<'static, ()>,
}

/// One browser at a time in the test binary: a Chromium takes a core or more
/// while it loads, and several at once on a 2-core machine starve the other
/// tests' daemons into their timeouts.
static TURN: Mutex<()> = Mutex::new(());

/// `name` found on `PATH`.
fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

impl Chrome {
    /// A fresh browser in `lang` with a 1280x900 window, or `None` after one
    /// skip naming `test` when chromium or chromedriver is not installed.
    pub fn start(test: &str, lang: Lang) -> Option<Chrome> {
        let Some(chromium) = which("chromium") else {
            skip(
                "chromium",
                test,
                "chromium is not installed (apt-get install chromium)",
            );
            return None;
        };
        let Some(chromedriver) = which("chromedriver") else {
            skip(
                "chromedriver",
                test,
                "chromedriver is not installed (apt-get install chromium-driver)",
            );
            return None;
        };
        // A test that failed while holding it poisons nothing of ours.
        let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let port = free_port();
        let driver = Proc(
            Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts"),
        );
        wait_for("chromedriver to listen", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        let profile = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--headless=new".to_owned(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--no-first-run".into(),
            "--window-size=1280,900".into(),
            format!("--lang={}", lang.code()),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        // Chromium refuses to run as root with its sandbox on.
        if nix::unistd::geteuid().is_root() {
            args.push("--no-sandbox".into());
        }
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": args,
                "prefs": { "intl.accept_languages": lang.code() },
            },
            // The console (CSP violations are reported there), read by `logs`.
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = rt
            .block_on(
                ClientBuilder::new(connector)
                    .capabilities(caps)
                    .connect(&format!("http://127.0.0.1:{port}/")),
            )
            .unwrap_or_else(|e| panic!("a chromedriver session: {e}"));
        Some(Chrome {
            rt,
            client: Some(client),
            driver,
            _profile: profile,
            _turn: turn,
        })
    }

    fn client(&self) -> Client {
        self.client.clone().expect("a live session")
    }

    /// Runs one client call to its end; a WebDriver error fails the test.
    fn run<T, E: Debug, F: Future<Output = Result<T, E>>>(
        &self,
        what: &str,
        f: impl FnOnce(Client) -> F,
    ) -> T {
        let fut = f(self.client());
        self.rt
            .block_on(fut)
            .unwrap_or_else(|e| panic!("{what}: {e:?}"))
    }

    /// Loads `url` (returns once the page has loaded).
    pub fn goto(&self, url: &str) {
        let url = url.to_owned();
        self.run(
            &format!("goto {url}"),
            |c| async move { c.goto(&url).await },
        )
    }

    /// The address the browser shows.
    pub fn url(&self) -> String {
        self.run("current url", |c| async move { c.current_url().await })
            .to_string()
    }

    /// The first element matching `css` (fails the test when there is none).
    pub fn find(&self, css: &str) -> Element {
        let sel = css.to_owned();
        self.run(&format!("find {css}"), |c| async move {
            c.find(Locator::Css(&sel)).await
        })
    }

    /// Every element matching `css`.
    pub fn find_all(&self, css: &str) -> Vec<Element> {
        let sel = css.to_owned();
        self.run(&format!("find all {css}"), |c| async move {
            c.find_all(Locator::Css(&sel)).await
        })
    }

    /// The `textContent` of the first element matching `css`: the text as the
    /// DOM holds it (not as laid out), so escapes and controls are compared
    /// exactly.
    pub fn text_content(&self, css: &str) -> String {
        self.property(css, "textContent")
    }

    /// The `textContent` of `e`.
    pub fn elem_text_content(&self, e: &Element) -> String {
        let arg = serde_json::to_value(e).unwrap();
        let v = self.execute("return arguments[0].textContent;", vec![arg]);
        v.as_str().unwrap_or_default().to_owned()
    }

    /// The rendered text (`innerText`) of the first element matching `css`.
    pub fn text(&self, css: &str) -> String {
        self.property(css, "innerText")
    }

    /// The whole page's rendered text.
    pub fn page_text(&self) -> String {
        self.text("body")
    }

    /// A string property of the first element matching `css`, read in one
    /// script: no element reference is kept that a navigation could make
    /// stale between finding it and reading it.
    fn property(&self, css: &str, name: &str) -> String {
        let v = self.execute(
            "const e = document.querySelector(arguments[0]);
             return e === null ? null : String(e[arguments[1]]);",
            vec![Value::from(css), Value::from(name)],
        );
        match v {
            Value::String(s) => s,
            _ => panic!("no element {css} on {}", self.url()),
        }
    }

    /// Clicks the first element matching `css` (a link or a submit button:
    /// returns once the next page has loaded).
    pub fn click(&self, css: &str) {
        let e = self.find(css);
        self.mark_page();
        self.run(&format!("click {css}"), |_| async move { e.click().await });
        self.wait_next_page(css);
    }

    /// Clicks `e` (returns once the next page has loaded).
    pub fn click_elem(&self, e: &Element) {
        let e = e.clone();
        self.mark_page();
        self.run("click", |_| async move { e.click().await });
        self.wait_next_page("an element");
    }

    /// Marks the current document, so [`Self::wait_next_page`] can tell it
    /// from the next one.
    fn mark_page(&self) {
        self.execute("window.__lw_old_page = true;", vec![]);
    }

    /// Waits until the marked document has been replaced and the new one has
    /// loaded. WebDriver's click returns once the click is dispatched; for a
    /// form's POST chromedriver does not always wait for the navigation, and
    /// reading the page then would read the old one.
    fn wait_next_page(&self, what: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let v = self.execute(
                "return window.__lw_old_page === true || document.readyState !== 'complete';",
                vec![],
            );
            if v == Value::Bool(false) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "clicking {what} on {} led to no new page within 20 s",
                self.url()
            );
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
    }

    /// Types `text` into the first field matching `css`, as a user would.
    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        let text = text.to_owned();
        self.run(&format!("type into {css}"), |_| async move {
            e.send_keys(&text).await
        })
    }

    /// Runs `script` in the page through WebDriver (which the page's CSP does
    /// not govern: it is the test's hand, not the page's code).
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        let script = script.to_owned();
        self.run("execute script", |c| async move {
            c.execute(&script, args).await
        })
    }

    /// Whether a JavaScript dialog (`alert`, `confirm`...) is open.
    pub fn dialog_open(&self) -> bool {
        let c = self.client();
        match self.rt.block_on(c.get_alert_text()) {
            Ok(_) => true,
            Err(e) if e.is_no_such_alert() => false,
            Err(e) => panic!("alert text: {e:?}"),
        }
    }

    /// The console's entries since the last call (chromedriver hands each
    /// entry out once), as `LEVEL message` lines.
    pub fn logs(&self) -> Vec<String> {
        let v = self.chromium_cmd("se/log", json!({ "type": "browser" }));
        v.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| {
                        format!(
                            "{} {}",
                            e["level"].as_str().unwrap_or("?"),
                            e["message"].as_str().unwrap_or("")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Runs a Chrome DevTools Protocol command (`Emulation.*`, `Page.*`).
    pub fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.chromium_cmd("goog/cdp/execute", json!({ "cmd": cmd, "params": params }))
    }

    fn chromium_cmd(&self, path: &'static str, body: Value) -> Value {
        let cmd = ChromiumCmd { path, body };
        self.run(path, |c| async move { c.issue_cmd(cmd).await })
    }

    /// Lays the page out as a screen `width` x `height` CSS pixels at
    /// `scale` device pixels each; `mobile` emulates a phone (the viewport meta
    /// tag honoured). Until [`Chrome::clear_emulation`].
    pub fn emulate(&self, width: u32, height: u64, scale: f64, mobile: bool) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile }),
        );
    }

    /// Back to the window's own size.
    pub fn clear_emulation(&self) {
        self.cdp("Emulation.clearDeviceMetricsOverride", json!({}));
    }

    /// A PNG of the whole page laid out as [`Chrome::emulate`] says (at least
    /// `height` tall); the emulation is undone afterwards.
    pub fn screenshot(&self, width: u32, height: u32, scale: f64, mobile: bool) -> Vec<u8> {
        self.emulate(width, height.into(), scale, mobile);
        let full = self
            .execute("return document.documentElement.scrollHeight;", vec![])
            .as_u64()
            .unwrap_or(0)
            .max(height.into());
        self.emulate(width, full, scale, mobile);
        // The viewport is now the whole page: WebDriver's screenshot is it.
        let png = self.run("screenshot", |c| async move { c.screenshot().await });
        self.clear_emulation();
        png
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        // Ending the session makes chromedriver quit the browser and its
        // helpers; killing chromedriver alone would orphan them.
        if let Some(c) = self.client.take() {
            let _ = self
                .rt
                .block_on(async { tokio::time::timeout(Duration::from_secs(20), c.close()).await });
        }
        let _ = self.driver.0.kill();
    }
}

/// A chromedriver command the WebDriver standard does not have: its log and
/// DevTools endpoints under the session.
#[derive(Debug)]
struct ChromiumCmd {
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for ChromiumCmd {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}
