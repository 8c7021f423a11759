//! `steward ui`: a web console on loopback. It reads and writes the store with the caller's own
//! AWS credentials, exactly as the CLI does (IAM is the only permission model), and records
//! every change with the caller's ARN. Pages are rendered on the server (askama templates,
//! compiled in), live updates come by server-sent events, assets ship inside the binary.
//! Every request passes `guard` (host, session token, cross-site) before it is routed.

mod actions;
mod graph;
mod guard;
mod live;
mod pages;
mod templates;
mod views;

pub use live::{POLL, READS_PER_POLL};

use crate::aws::Aws;
use crate::store::Store;
use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use guard::Session;
use std::net::SocketAddr;
use std::sync::Arc;

/// What every handler shares.
pub struct App {
    pub store: Arc<Store>,
    pub aws: Aws,
    /// The caller's ARN: shown on every page, recorded with every change.
    pub caller: String,
    session: Session,
    hub: Arc<live::Hub>,
}

type Shared = State<Arc<App>>;

/// Binds `addr` (port 0: a free one), prints the console's URL with its session token, opens
/// the browser if asked, and serves until stopped.
pub async fn serve(
    store: Arc<Store>,
    aws: Aws,
    caller: String,
    addr: SocketAddr,
    extra_hosts: &[String],
    open: bool,
) -> Result<()> {
    let listener =
        tokio::net::TcpListener::bind(addr).await.with_context(|| format!("--addr {addr}: cannot listen there"))?;
    let bound = listener.local_addr()?;
    let session = Session {
        token: guard::random_token(),
        form_token: guard::random_token(),
        hosts: hosts_for(bound, extra_hosts),
    };
    let url = format!("http://{}/?token={}", session.hosts[0], session.token);
    let app = Arc::new(App { store, aws, caller, session, hub: Arc::default() });
    println!("steward console: {url}");
    println!("(only this URL opens it: it carries the session's token; Ctrl-C stops the console)");
    if open {
        open_browser(&url);
    }
    axum::serve(listener, router(app)).await.context("the console stopped")?;
    Ok(())
}

/// The Host header values the console answers to: the address it is bound to, `localhost` for
/// loopback, and the names given with --allow-host.
fn hosts_for(bound: SocketAddr, extra: &[String]) -> Vec<String> {
    let port = bound.port();
    let mut hosts = vec![bound.to_string()];
    if bound.ip().is_loopback() {
        hosts.push(format!("localhost:{port}"));
    }
    hosts.extend(extra.iter().map(|h| if h.contains(':') { h.clone() } else { format!("{h}:{port}") }));
    hosts
}

fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    if let Err(e) = std::process::Command::new(opener).arg(url).spawn() {
        eprintln!("could not open a browser ({opener}: {e}); open the URL above yourself");
    }
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(pages::stacks))
        .route("/assets/console.css", get(|| async { asset("text/css", include_str!("assets/console.css")) }))
        .route("/assets/console.js", get(|| async { asset("text/javascript", include_str!("assets/console.js")) }))
        .route("/live", get(pages::live_events))
        .route("/stacks/{stack}", get(pages::stack))
        .route("/stacks/{stack}/confirm/{action}", get(actions::confirm_stack))
        .route("/stacks/{stack}/do/{action}", post(actions::act_on_stack))
        .route("/stacks/{stack}/r/{kind}/{name}", get(pages::resource))
        .route("/stacks/{stack}/r/{kind}/{name}/live", get(pages::live_diff))
        .route("/stacks/{stack}/r/{kind}/{name}/versions", get(pages::versions))
        .route("/stacks/{stack}/r/{kind}/{name}/confirm/{action}", get(actions::confirm_resource))
        .route("/stacks/{stack}/r/{kind}/{name}/do/{action}", post(actions::act_on_resource))
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such page in the console\n") })
        .layer(middleware::from_fn_with_state(app.clone(), admit))
        .with_state(app)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

/// The guard in front of every route; a first visit with the printed URL's token gets the
/// session cookie and is sent on without the token in its address.
async fn admit(State(app): Shared, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let query_token = query_param(request.uri().query().unwrap_or_default(), "token");
    let checked = guard::check(
        &app.session,
        &guard::Request {
            changes_state: !matches!(*request.method(), Method::GET | Method::HEAD),
            host: text(header::HOST.as_str()),
            cookie: text(header::COOKIE.as_str()),
            token_header: text(guard::TOKEN_HEADER),
            query_token: query_token.as_deref(),
            origin: text(header::ORIGIN.as_str()),
            fetch_site: text("sec-fetch-site"),
        },
    );
    if let Err(refusal) = checked {
        let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN);
        // Read what the client sent (a small form at most), so that closing the connection does
        // not reset it before the refusal reaches the client.
        let _ = axum::body::to_bytes(request.into_body(), 64 * 1024).await;
        return hardened((status, format!("{refusal}\n")).into_response());
    }
    if query_token.is_some() {
        let mut response = Redirect::to(request.uri().path()).into_response();
        if let Ok(cookie) = HeaderValue::from_str(&guard::session_cookie_header(&app.session.token)) {
            response.headers_mut().insert(header::SET_COOKIE, cookie);
        }
        return hardened(response);
    }
    hardened(next.run(request).await)
}

/// Headers every answer carries: scripts and styles only from the console itself (a name with
/// markup that slipped through escaping still could not run), no framing, no referrer to other sites (a POST of a page with no referrer at all says `Origin: null`).
fn hardened(mut response: Response) -> Response {
    let h: &mut HeaderMap = response.headers_mut();
    let csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
               form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// One parameter of a query string, percent-decoded.
fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| crate::model::policy::percent_decoded(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_decoded_and_hosts_follow_the_address() {
        assert_eq!(query_param("a=1&token=ab%2Fc+d&x", "token").as_deref(), Some("ab/c d"));
        assert_eq!(query_param("token=%zz%4", "token").as_deref(), Some("%zz%4"));
        assert_eq!(query_param("a=1", "token"), None);
        let loopback: SocketAddr = "127.0.0.1:7070".parse().unwrap();
        assert_eq!(hosts_for(loopback, &["laptop".into()]), ["127.0.0.1:7070", "localhost:7070", "laptop:7070"]);
        let any: SocketAddr = "0.0.0.0:80".parse().unwrap();
        assert_eq!(hosts_for(any, &[]), ["0.0.0.0:80"]);
    }
}
