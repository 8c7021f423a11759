//! Who may use the console (pure, table-tested): a request must name the address served in
//! its Host header (no DNS rebinding), carry the session's token (from the URL printed at start,
//! then a cookie), and a request that changes something must come from the console's own pages
//! (the form's token, and no foreign Origin or cross-site fetch).

use std::fmt;

/// The cookie that carries the session token after the first visit.
pub const COOKIE: &str = "steward_session";
/// The header a script may send the session token in instead of the cookie.
pub const TOKEN_HEADER: &str = "x-steward-token";

/// The secrets of one `steward ui` run, random at start.
#[derive(Clone)]
pub struct Session {
    /// In the printed URL; then in the cookie.
    pub token: String,
    /// In every form the console serves; state-changing requests must send it back.
    pub form_token: String,
    /// The Host header values accepted (`127.0.0.1:8080`, `localhost:8080`).
    pub hosts: Vec<String>,
}

/// Why a request is refused, with the status code and a line that says what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The Host header names another address (421).
    WrongHost,
    /// No session token, or a wrong one (401).
    NoSession,
    /// A state-changing request without the form token or from another site (403).
    CrossSite,
}

impl Refusal {
    pub fn status(self) -> u16 {
        match self {
            Refusal::WrongHost => 421,
            Refusal::NoSession => 401,
            Refusal::CrossSite => 403,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Refusal::WrongHost => "this console answers only at the address steward ui printed; open that URL",
            Refusal::NoSession => "no session: open the URL steward ui printed (it carries the session token)",
            Refusal::CrossSite => {
                "refused: changes are accepted only from the console's own pages; reload the page and try again"
            }
        })
    }
}

/// What of a request the checks read.
#[derive(Debug, Default, Clone, Copy)]
pub struct Request<'a> {
    /// GET and HEAD change nothing; everything else must come from the console's pages.
    pub changes_state: bool,
    pub host: Option<&'a str>,
    pub cookie: Option<&'a str>,
    pub token_header: Option<&'a str>,
    /// The `token` query parameter of the printed URL.
    pub query_token: Option<&'a str>,
    pub origin: Option<&'a str>,
    pub fetch_site: Option<&'a str>,
}

/// Checks a request before it is routed. The form token is checked by each form's handler
/// (`form_token_ok`), since it is in the body.
pub fn check(session: &Session, r: &Request) -> Result<(), Refusal> {
    let host = r.host.unwrap_or_default();
    if !session.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return Err(Refusal::WrongHost);
    }
    let presented = [r.query_token, r.token_header, r.cookie.and_then(session_cookie)];
    if !presented.iter().flatten().any(|t| same(t, &session.token)) {
        return Err(Refusal::NoSession);
    }
    if r.changes_state {
        let foreign_origin = r.origin.is_some_and(|o| !session.hosts.iter().any(|h| o == format!("http://{h}")));
        let cross_site = r.fetch_site.is_some_and(|s| !matches!(s, "same-origin" | "none"));
        if foreign_origin || cross_site || r.query_token.is_some() {
            return Err(Refusal::CrossSite);
        }
    }
    Ok(())
}

pub fn form_token_ok(session: &Session, presented: &str) -> bool {
    same(presented, &session.form_token)
}

/// The session token in a Cookie header, if any.
fn session_cookie(header: &str) -> Option<&str> {
    header.split(';').filter_map(|c| c.trim().split_once('=')).find(|(name, _)| *name == COOKIE).map(|(_, v)| v)
}

/// Compares in time that depends only on the lengths, so that a token cannot be guessed a
/// character at a time.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 32 random bytes in hex.
pub fn random_token() -> String {
    rand::random::<[u8; 32]>().iter().map(|b| format!("{b:02x}")).collect()
}

/// The Set-Cookie value that keeps the session: never sent to another site, not readable by
/// scripts.
pub fn session_cookie_header(token: &str) -> String {
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            token: "t0k".into(),
            form_token: "f0rm".into(),
            hosts: vec!["127.0.0.1:7070".into(), "localhost:7070".into()],
        }
    }

    #[test]
    fn every_rule_in_one_table() {
        let ok =
            Request { host: Some("127.0.0.1:7070"), cookie: Some("a=b; steward_session=t0k"), ..Request::default() };
        let post = Request { changes_state: true, ..ok };
        let cases: [(&str, Request, Result<(), Refusal>); 14] = [
            ("cookie", ok, Ok(())),
            ("localhost", Request { host: Some("LOCALHOST:7070"), ..ok }, Ok(())),
            ("printed URL", Request { cookie: None, query_token: Some("t0k"), ..ok }, Ok(())),
            ("header", Request { cookie: None, token_header: Some("t0k"), ..ok }, Ok(())),
            ("no token", Request { cookie: None, ..ok }, Err(Refusal::NoSession)),
            ("wrong token", Request { cookie: Some("steward_session=t0x"), ..ok }, Err(Refusal::NoSession)),
            ("a prefix", Request { cookie: Some("steward_session=t0"), ..ok }, Err(Refusal::NoSession)),
            ("rebinding", Request { host: Some("evil.example:7070"), ..ok }, Err(Refusal::WrongHost)),
            ("no host", Request { host: None, ..ok }, Err(Refusal::WrongHost)),
            (
                "same-origin post",
                Request { origin: Some("http://127.0.0.1:7070"), fetch_site: Some("same-origin"), ..post },
                Ok(()),
            ),
            ("foreign origin", Request { origin: Some("http://evil.example"), ..post }, Err(Refusal::CrossSite)),
            ("cross-site fetch", Request { fetch_site: Some("cross-site"), ..post }, Err(Refusal::CrossSite)),
            ("token in a post's URL", Request { query_token: Some("t0k"), ..post }, Err(Refusal::CrossSite)),
            ("wrong host before all", Request { host: Some("x:1"), cookie: None, ..post }, Err(Refusal::WrongHost)),
        ];
        for (what, request, expected) in cases {
            assert_eq!(check(&session(), &request), expected, "{what}");
        }
        assert!(form_token_ok(&session(), "f0rm"));
        assert!(!form_token_ok(&session(), "f0rn") && !form_token_ok(&session(), ""));
    }

    #[test]
    fn tokens_are_long_and_differ() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
