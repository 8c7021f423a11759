//! The web console (`steward ui`) in a real browser: headless Chromium from Debian, driven over
//! WebDriver, against the emulated stack and a running controller. The screenshots it takes are
//! the README's (docs/screenshots/).

mod common;

use common::browser::Browser;
use common::live::{Live, PERSON_ROLE};
use common::{World, eventually, http_text, replace_in, repo_path};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Stdio};
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

/// A running `steward ui`, stopped when dropped.
struct Console {
    child: Child,
    /// The printed URL, with the session token.
    url: String,
    /// `http://127.0.0.1:PORT`
    base: String,
    /// Kept open: the console writes to it after the URL.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Console {
    fn start(world: &World) -> Console {
        let mut child = world
            .command(&["ui", "--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting steward ui");
        let mut first = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut first).unwrap();
        let url =
            first.trim().strip_prefix("steward console: ").unwrap_or_else(|| panic!("no URL in {first:?}")).to_string();
        let base = url.split("/?").next().unwrap().to_string();
        Console { child, url, base, _stdout: stdout }
    }

    fn token(&self) -> &str {
        self.url.rsplit('=').next().unwrap()
    }

    /// The printed URL pointing at `path` instead of `/`.
    fn url_of(&self, path: &str) -> String {
        format!("{}{path}?token={}", self.base, self.token())
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw HTTP/1.1 request; the status code and body.
fn request(base: &str, head: &str, body: &str) -> (u16, String) {
    let host = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(stream, "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let code = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

fn screenshot(name: &str) -> std::path::PathBuf {
    repo_path(&format!("docs/screenshots/{name}.png"))
}

#[test]
fn the_console_shows_drift_as_it_happens_with_who_made_it_and_pauses_from_the_page() {
    let live = Live::prepared();
    let (_daemon, proxy, _queue) = live.daemon_with_events();
    eventually("the stack converges", 3 * MINUTE, || live.is_converged());
    let console = Console::start(&live.world);
    let browser = Browser::start();

    // The printed URL opens the stacks page and sets the session cookie.
    browser.goto(&console.url);
    browser.wait_for("the stacks page", MINUTE, |b| b.text().contains("mentor-match"));
    assert!(!browser.current_url().contains("token="), "the token leaves the address bar: {}", browser.current_url());
    browser.click("#stacks a[href='/stacks/mentor-match']");
    browser.wait_for("the stack page", MINUTE, |b| b.text().contains("Dependency graph"));
    // Every resource, with its phase, in the table and as a node of the graph.
    let rows = browser.script(
        "return [...document.querySelectorAll('#resources tbody tr')].map(r => r.dataset.key + '=' + r.dataset.phase);",
    );
    let rows: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert_eq!(rows.len(), 19, "{rows:?}");
    assert!(rows.iter().all(|r| r.ends_with("=Ready")), "{rows:?}");
    assert!(rows.contains(&"EcsService/mentor-match-worker=Ready"), "{rows:?}");
    let nodes = browser.script("return document.querySelectorAll('#graph a.node').length;");
    assert_eq!(nodes, 19);
    // One edge per resource and each resource its spec references (`${Kind/name.output}`).
    let stored = live.world.get_json(&[]);
    let references: usize = stored
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let spec = r["spec"].to_string();
            let named: std::collections::BTreeSet<&str> =
                spec.split("${").skip(1).filter_map(|s| s.split('.').next()).collect();
            named.len()
        })
        .sum();
    let edges = browser.script("return document.querySelectorAll('#graph path.edge').length;");
    assert_eq!(edges.as_u64().unwrap() as usize, references);
    browser.screenshot(&screenshot("stack"));

    // Changed out of band by another principal: the page shows the drift, who made it, and its
    // heal, without a reload (a mark set on the window survives).
    browser.script("window.stewardMark = 'no reload'; return null;");
    let person_arn = format!("arn:aws:sts::{}:assumed-role/{PERSON_ROLE}/alice", live.world.account.id);
    let sdk = live.person(proxy.url());
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    live.block(ecs.update_service().cluster("celery-workers").service("mentor-match-worker").desired_count(0).send())
        .unwrap();
    let drift_row =
        "document.querySelector(\"#stack-timeline tr[data-event='drift_detected'][data-field='desiredCount']\")";
    browser.wait_for("the drift and who made it", MINUTE, |b| {
        b.script(&format!("const r = {drift_row}; return r ? r.querySelector('.who').innerText : '';"))
            .as_str()
            .is_some_and(|who| who.contains(&person_arn) && who.contains("session alice"))
    });
    browser.wait_for("its heal", MINUTE, |b| {
        b.script(&format!("const r = {drift_row}; return r ? r.querySelector('.healed').innerText : '';"))
            .as_str()
            .is_some_and(|at| !at.is_empty())
    });
    assert_eq!(browser.script("return window.stewardMark || null;"), "no reload");
    assert!(browser.script("return Number(document.body.dataset.refreshed || 0);").as_u64().unwrap() >= 1);
    browser.element_screenshot("#stack-timeline", &screenshot("timeline"));

    // The resource page: status, the timeline with the person, diff --live on demand.
    browser.click("#resources a[href='/stacks/mentor-match/r/EcsService/mentor-match-worker']");
    browser.wait_for("the resource page", MINUTE, |b| b.text().contains("Drift timeline"));
    assert!(
        browser.script("return document.querySelector('#timeline').innerText;").as_str().unwrap().contains(&person_arn)
    );
    browser.click("#check-live");
    browser.wait_for("the diff --live verdict", MINUTE, |b| {
        b.script("const v = document.querySelector('#verdict'); return v ? v.dataset.verdict : '';") == "in-sync"
    });
    browser.screenshot(&screenshot("resource"));

    // Pause from the page: a confirmation that says what happens, then the store has it and
    // the timeline names the caller.
    let caller = browser.script("return document.querySelector('header .caller').innerText;");
    let caller = caller.as_str().unwrap().trim_start_matches("as ").to_string();
    browser.click("#pause");
    browser.wait_for("the confirmation", MINUTE, |b| b.text().contains("Pause EcsService/mentor-match-worker?"));
    assert!(browser.text().contains("drift is still found and reported"), "{}", browser.text());
    browser.click("#confirm");
    browser.wait_for("the paused resource", MINUTE, |b| b.text().contains("EcsService/mentor-match-worker paused"));
    let stored = live.world.get_json(&["EcsService/mentor-match-worker"]);
    assert_eq!(stored[0]["metadata"]["paused"], true, "{stored}");
    browser.wait_for("the pause on the timeline with the caller", MINUTE, |b| {
        b.script("const r = document.querySelector(\"#timeline tr[data-event='paused']\"); return r ? r.querySelector('.who').innerText : '';")
            == caller.as_str()
    });
    assert!(caller.starts_with("arn:aws:"), "{caller}");
}

#[test]
fn the_console_refuses_foreign_requests_and_shows_markup_as_text() {
    let world = World::new();
    world.ok(&["bootstrap"]);
    // Tag values and names cannot hold markup (steward refuses them, as AWS does); an
    // environment value and a change message can.
    let dir = world.seed_copy();
    replace_in(
        &dir.join("worker.yaml"),
        "FLASK_ENV: development",
        "FLASK_ENV: development\n          NOTE: \"<script>alert(1)</script>\"",
    );
    world.ok(&["apply", "-f", dir.to_str().unwrap(), "-m", "<img src=x onerror=alert(2)>"]);
    let console = Console::start(&world);
    let host = console.base.trim_start_matches("http://");
    let worker = "/stacks/mentor-match/r/EcsService/mentor-match-worker";
    let cookie = format!("Cookie: steward_session={}", console.token());

    // Without the token; with a name that is not the console's address (DNS rebinding).
    let (code, body) = request(&console.base, &format!("GET {worker} HTTP/1.1\r\nHost: {host}"), "");
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("open the URL steward ui printed"), "{body}");
    let (code, _) = request(&console.base, &format!("GET {worker} HTTP/1.1\r\nHost: rebound.example\r\n{cookie}"), "");
    assert_eq!(code, 421);
    let (code, _) = request(&console.base, &format!("GET {worker} HTTP/1.1\r\nHost: {host}\r\n{cookie}"), "");
    assert_eq!(code, 200);
    // A state-changing request from another origin, or without the page's form token.
    let post = format!(
        "POST {worker}/do/pause HTTP/1.1\r\nHost: {host}\r\n{cookie}\r\nContent-Type: application/x-www-form-urlencoded"
    );
    let (code, _) = request(&console.base, &format!("{post}\r\nOrigin: http://evil.example"), "form_token=x&base=1");
    assert_eq!(code, 403);
    let (code, body) = request(&console.base, &post, "form_token=guessed&base=1");
    assert_eq!(code, 403, "{body}");

    // A real cross-site form post from another origin, in the browser that holds the session.
    let browser = Browser::start();
    browser.goto(&console.url_of(worker));
    browser.wait_for("the worker's page", MINUTE, |b| b.text().contains("Desired spec"));
    // Markup in the desired state is text: shown as written, never run.
    let text = browser.text();
    assert!(text.contains("NOTE: \"<script>alert(1)</script>\""), "{text}");
    assert!(text.contains("<img src=x onerror=alert(2)>"), "{text}");
    assert!(!browser.dialog_open(), "a script from the desired state ran");
    assert_eq!(browser.script("return document.images.length;"), 0);
    assert_eq!(browser.script("return document.scripts.length;"), 1, "only the console's own script");
    let evil = EvilSite::start(&format!("{}{worker}/do/pause", console.base));
    browser.goto(&evil.url);
    browser.wait_for("the forged post's answer", MINUTE, |b| b.current_url().contains("/do/pause"));
    assert!(browser.text().contains("no session") || browser.text().contains("refused"), "{}", browser.text());
    let stored = world.get_json(&["EcsService/mentor-match-worker"]);
    assert_eq!(stored[0]["metadata"]["paused"], false, "{stored}");
    assert!(http_text("GET", &format!("{}/assets/console.css", console.base), "").is_some());
}

/// Another site on another port: one page whose form posts to the console at once.
struct EvilSite {
    url: String,
}

impl EvilSite {
    fn start(target: &str) -> EvilSite {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://localhost:{}/", listener.local_addr().unwrap().port());
        let page = format!(
            "<!doctype html><form id=f method=post action='{target}'><input name=form_token value=x><input name=base value=1></form>\
             <script>document.getElementById('f').submit()</script>"
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut stream = stream;
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                    page.len()
                );
            }
        });
        EvilSite { url }
    }
}

#[test]
fn critical_drift_is_marked_and_listed_first_in_the_console() {
    let live = Live::prepared();
    // The seed with the drift table's network, access, registry and queue objects beside it.
    for fixture in ["security_groups", "subnets", "network", "iam", "queues"] {
        live.world.ok(&["apply", "-f", repo_path(&format!("tests/fixtures/{fixture}.yaml")).to_str().unwrap()]);
    }
    live.converge();
    // Paused, so that the drift stays: port 22 opened to the world beside a new tag.
    live.world.ok(&["pause", "SecurityGroup/cache-clients"]);
    let id = live.output("SecurityGroup/cache-clients", "id");
    let range = aws_sdk_ec2::types::IpRange::builder().cidr_ip("0.0.0.0/0").build();
    let ssh = aws_sdk_ec2::types::IpPermission::builder().ip_protocol("tcp").from_port(22).to_port(22).ip_ranges(range);
    live.block(live.ec2().authorize_security_group_ingress().group_id(&id).ip_permissions(ssh.build()).send()).unwrap();
    let tag = aws_sdk_ec2::types::Tag::builder().key("Name").value("renamed").build();
    live.block(live.ec2().create_tags().resources(&id).tags(tag).send()).unwrap();

    let console = Console::start(&live.world);
    let browser = Browser::start();
    browser.goto(&console.url);
    browser.goto(&console.url_of("/stacks/mentor-match/r/SecurityGroup/cache-clients"));
    // Paused, the pass records no drift; diff --live on the page shows it, critical first.
    browser.click("#check-live");
    browser.wait_for("the diff --live verdict", MINUTE, |b| {
        b.script("const v = document.querySelector('#verdict'); return v ? v.dataset.verdict : '';") != ""
    });
    let rows = browser.script(
        "return [...document.querySelectorAll('#verdict tbody tr')].map(r => r.querySelector('code').innerText + (r.classList.contains('critical') ? '!' : ''));",
    );
    let rows: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert_eq!(rows, ["ingress!", "tags.Name"], "the critical row first and marked");
    browser.element_screenshot("#verdict", &screenshot("critical-drift"));

    // The graph of the larger stack stays about a screen high: long levels wrap, kinds together.
    browser.goto(&console.url_of("/stacks/mentor-match"));
    browser.wait_for("the stack page", MINUTE, |b| b.text().contains("Dependency graph"));
    let resources = live.world.get_json(&[]).as_array().unwrap().len();
    let nodes = browser.script("return document.querySelectorAll('#graph a.node').length;");
    assert_eq!(nodes.as_u64().unwrap() as usize, resources);
    assert!(resources >= 30, "{resources} resources");
    let height = browser.script("return document.querySelector('#graph').getAttribute('height');");
    let height: u32 = height.as_str().unwrap().parse().unwrap();
    assert!(height <= 8 * 60 + 10, "a graph {height} px high for {resources} resources");
    browser.element_screenshot("#graph", &screenshot("graph-larger-stack"));
}
