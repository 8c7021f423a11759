//! The pages' templates (src/ui/templates/*.html), checked at compile time by askama; every
//! value is HTML-escaped unless a field says it holds markup a template already rendered.

use super::graph::Graph;
use super::views::{Counts, TimelineRow};
use askama::Template;

/// What every page's frame shows.
pub struct Chrome {
    pub caller: String,
    /// The stacks whose changes the page follows (comma-separated; empty: none).
    pub live: String,
    /// A one-line result of the action just taken.
    pub notice: String,
}

pub struct StackRow {
    pub name: String,
    pub href: String,
    pub paused: bool,
    pub counts: Counts,
    pub holder: String,
    pub alive: bool,
    pub heartbeat: String,
    pub last_pass: String,
}

#[derive(Template)]
#[template(path = "stacks.html")]
pub struct StacksPage {
    pub chrome: Chrome,
    pub table: String,
    pub stacks: Vec<StackRow>,
}

#[derive(Template)]
#[template(path = "timeline.html")]
pub struct TimelineView {
    pub rows: Vec<TimelineRow>,
    pub show_resource: bool,
    pub stack_segment: String,
    pub retention_days: i64,
}

pub struct NodeView {
    pub href: String,
    pub label: String,
    pub kind: String,
    pub name: String,
    pub phase: String,
    pub bucket: &'static str,
    pub drifted: usize,
    pub removed: bool,
    pub x: u32,
    pub y: u32,
}

pub struct ResourceRow {
    pub level: usize,
    pub label: String,
    pub href: String,
    pub phase: String,
    pub bucket: &'static str,
    pub drifted: usize,
    pub last_actor: String,
    pub version: u64,
    pub message: String,
    pub paused: bool,
    pub removed: bool,
}

#[derive(Template)]
#[template(path = "stack.html")]
pub struct StackPage {
    pub chrome: Chrome,
    pub stack: String,
    pub stack_segment: String,
    pub paused: bool,
    pub counts: Counts,
    pub holder: String,
    pub alive: bool,
    pub last_pass: String,
    pub graph: Graph,
    pub nodes: Vec<NodeView>,
    pub node_width: u32,
    pub node_height: u32,
    pub rows: Vec<ResourceRow>,
    /// Rendered by `TimelineView`.
    pub timeline: String,
}

pub struct ConditionRow {
    pub kind: String,
    pub status: bool,
    pub reason: String,
    pub message: String,
}

/// One field: desired and actual (drift), or before and after (versions, confirmations).
pub struct FieldRow {
    pub field: String,
    pub desired: String,
    pub actual: String,
    pub cause: String,
    pub action: String,
    /// Security-relevant drift (`severity: critical`): marked, and listed first.
    pub critical: bool,
}

pub struct ChangeRow {
    pub field: String,
    pub from: String,
    pub to: String,
}

pub struct HistoryRow {
    pub version: u64,
    pub op: String,
    pub by: String,
    pub at: String,
    pub message: String,
    pub is_from: bool,
    pub is_to: bool,
    pub can_roll_back: bool,
}

#[derive(Template)]
#[template(path = "resource.html")]
pub struct ResourcePage {
    pub chrome: Chrome,
    pub stack: String,
    pub stack_segment: String,
    pub label: String,
    pub href: String,
    pub phase: String,
    pub bucket: &'static str,
    pub state_word: String,
    pub paused: bool,
    pub deleted: bool,
    pub version: u64,
    pub updated_by: String,
    pub updated_at: String,
    pub message: String,
    pub drifted: bool,
    pub immutable: bool,
    pub last_observed: String,
    pub last_error: String,
    pub next_attempt: String,
    pub failures: u32,
    pub last_actor: String,
    pub conditions: Vec<ConditionRow>,
    pub drift: Vec<FieldRow>,
    pub outputs: Vec<(String, String)>,
    pub spec_yaml: String,
    /// Rendered by `TimelineView`.
    pub timeline: String,
    pub history: Vec<HistoryRow>,
}

#[derive(Template)]
#[template(path = "live.html")]
pub struct LiveView {
    pub verdict: String,
    pub paused: bool,
    pub differs: bool,
    pub reason: String,
    pub waiting_for: String,
    pub fields: Vec<FieldRow>,
    pub at: String,
}

#[derive(Template)]
#[template(path = "versions.html")]
pub struct VersionsPage {
    pub chrome: Chrome,
    pub stack: String,
    pub stack_segment: String,
    pub label: String,
    pub href: String,
    pub from: u64,
    pub to: u64,
    pub from_meta: String,
    pub to_meta: String,
    pub changes: Vec<ChangeRow>,
}

#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    pub chrome: Chrome,
    pub title: String,
    pub lines: Vec<String>,
    pub changes: Vec<ChangeRow>,
    pub action: String,
    pub form_token: String,
    pub hidden: Vec<(String, String)>,
    pub button: String,
    pub danger: bool,
    pub back: String,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub title: String,
    pub message: String,
    pub back: String,
}
