//! The console's pages (GET): stacks, a stack with its graph and timeline, a resource, two
//! versions compared, the on-demand `diff --live`, and the live-update stream.

use super::graph::{self, GraphInput};
use super::templates::*;
use super::views::{self, Counts, encode, resource_href, short, timeline_rows};
use super::{App, Shared};
use crate::engine::walk::levels;
use crate::manifest::references;
use crate::model::paths::changes;
use crate::model::{Kind, ResourceKey};
use crate::schema::yaml::to_yaml;
use crate::status::{ConditionType, DriftAction, Status};
use crate::store::{StackSnapshot, StoredResource, retention_days};
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;

/// How many timeline entries a resource page shows, and a stack page.
const TIMELINE_ROWS: i32 = 50;
const STACK_TIMELINE_ROWS: i32 = 20;

/// A page, or the error page with a status code and a line saying what to do.
pub type Page = Result<Response, Failure>;

/// The error page as a handler's error (boxed: a response is large, and errors are rare).
pub struct Failure(Box<Response>);

impl From<Response> for Failure {
    fn from(response: Response) -> Self {
        Failure(Box::new(response))
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        *self.0
    }
}

pub fn render(template: &impl Template) -> Page {
    template.render().map(|html| Html(html).into_response()).map_err(|e| {
        (StatusCode::INTERNAL_SERVER_ERROR, format!("the page could not be rendered: {e}")).into_response().into()
    })
}

impl App {
    pub fn chrome(&self, live: &str, notice: &str) -> Chrome {
        Chrome { caller: self.caller.clone(), live: live.to_string(), notice: notice.to_string() }
    }

    /// The error page: `status`, a title and the message (the store's or AWS's own words).
    pub fn error(&self, status: StatusCode, title: &str, message: impl std::fmt::Display, back: &str) -> Failure {
        let page = ErrorPage {
            chrome: self.chrome("", ""),
            title: title.into(),
            message: message.to_string(),
            back: back.into(),
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response().into(),
            Err(_) => (status, message.to_string()).into_response().into(),
        }
    }

    fn unreadable(&self, e: anyhow::Error) -> Failure {
        self.error(StatusCode::BAD_GATEWAY, "The store cannot be read", format!("{e:#}"), "")
    }

    pub fn timeline_html(&self, rows: Vec<views::TimelineRow>, stack: &str, show_resource: bool) -> String {
        let view = TimelineView { rows, show_resource, stack_segment: encode(stack), retention_days: retention_days() };
        view.render().unwrap_or_default()
    }
}

pub async fn stacks(shared: Shared) -> Page {
    let app = shared.0;
    let names = app.store.stacks().await.map_err(|e| app.unreadable(e))?;
    let controllers = app.store.controllers(&names).await.map_err(|e| app.unreadable(e))?;
    let mut stacks = Vec::new();
    for name in &names {
        let snapshot = app.store.snapshot(name).await.map_err(|e| app.unreadable(e))?;
        let controller = controllers.get(name).cloned().unwrap_or_default();
        let live = snapshot.resources.iter().filter(|r| !r.deleted);
        stacks.push(StackRow {
            href: format!("/stacks/{}", encode(name)),
            name: name.clone(),
            paused: snapshot.paused,
            counts: Counts::of(live.map(|r| status_of(&snapshot, &r.manifest.key).phase)),
            holder: controller.holder.unwrap_or_default(),
            alive: controller.alive,
            heartbeat: controller.heartbeat_at.unwrap_or_default(),
            last_pass: controller.last_pass_at.unwrap_or_else(|| "never".into()),
        });
    }
    render(&StacksPage { chrome: app.chrome(&names.join(","), ""), table: app.store.table().to_string(), stacks })
}

fn status_of(snapshot: &StackSnapshot, key: &ResourceKey) -> Status {
    snapshot.statuses.get(key).cloned().unwrap_or_default()
}

/// Fields that differ now, as the status says (ignored fields are not drift).
fn drifted_fields(status: &Status) -> usize {
    match status.condition(ConditionType::Drifted) {
        true => status.last_drift.iter().filter(|d| d.action != DriftAction::Ignored).count(),
        false => 0,
    }
}

fn principal(status: &Status) -> String {
    status.last_drift_actor.as_ref().and_then(|a| a["principal"].as_str()).unwrap_or_default().to_string()
}

#[derive(serde::Deserialize, Default)]
pub struct Notice {
    #[serde(default)]
    done: String,
}

pub async fn stack(shared: Shared, Path(stack): Path<String>, Query(notice): Query<Notice>) -> Page {
    let app = shared.0;
    let snapshot = app.store.snapshot(&stack).await.map_err(|e| app.unreadable(e))?;
    if snapshot.resources.is_empty() {
        return Err(app.error(
            StatusCode::NOT_FOUND,
            "No such stack",
            format!("stack {stack:?} has no resources in the store"),
            "/",
        ));
    }
    let controller = app.store.controllers(std::slice::from_ref(&stack)).await.map_err(|e| app.unreadable(e))?;
    let controller = controller.get(&stack).cloned().unwrap_or_default();
    let timeline = app.store.stack_timeline(&stack, STACK_TIMELINE_ROWS).await.map_err(|e| app.unreadable(e))?;
    let levels = levels(&snapshot.resources);
    let inputs: Vec<Vec<GraphInput>> = levels
        .iter()
        .map(|level| {
            level
                .iter()
                .map(|r| {
                    let status = status_of(&snapshot, &r.manifest.key);
                    GraphInput {
                        key: r.manifest.key.clone(),
                        phase: status.phase,
                        drifted: drifted_fields(&status),
                        removed: r.deleted,
                        depends_on: references::dependencies(&r.manifest).into_iter().collect(),
                    }
                })
                .collect()
        })
        .collect();
    let graph = graph::layout(&inputs);
    let nodes = graph
        .nodes
        .iter()
        .map(|n| NodeView {
            href: resource_href(&n.key),
            label: n.key.short(),
            kind: n.key.kind.to_string(),
            name: graph::fitted(&n.key.name),
            phase: n.phase.to_string(),
            bucket: views::bucket(n.phase),
            drifted: n.drifted,
            removed: n.removed,
            x: n.x,
            y: n.y,
        })
        .collect();
    let mut rows = Vec::new();
    for (level, resources) in levels.iter().enumerate() {
        for r in resources {
            let status = status_of(&snapshot, &r.manifest.key);
            rows.push(ResourceRow {
                level,
                label: r.manifest.key.short(),
                href: resource_href(&r.manifest.key),
                phase: status.phase.to_string(),
                bucket: views::bucket(status.phase),
                drifted: drifted_fields(&status),
                last_actor: principal(&status),
                version: r.version,
                message: r.message.clone().unwrap_or_default(),
                paused: r.paused,
                removed: r.deleted,
            });
        }
    }
    let live = snapshot.resources.iter().filter(|r| !r.deleted);
    let page = StackPage {
        chrome: app.chrome(&stack, &notice.done),
        stack_segment: encode(&stack),
        paused: snapshot.paused,
        counts: Counts::of(live.map(|r| status_of(&snapshot, &r.manifest.key).phase)),
        holder: controller.holder.unwrap_or_default(),
        alive: controller.alive,
        last_pass: controller.last_pass_at.unwrap_or_else(|| "never".into()),
        nodes,
        graph,
        node_width: graph::NODE_WIDTH,
        node_height: graph::NODE_HEIGHT,
        rows,
        timeline: app.timeline_html(timeline_rows(&timeline), &stack, true),
        stack,
    };
    render(&page)
}

/// The stored resource a page's path names, with its stack's snapshot; the error page if the
/// kind or the resource is unknown.
pub async fn find(app: &App, stack: &str, kind: &str, name: &str) -> Result<(StoredResource, StackSnapshot), Failure> {
    let kind = Kind::parse(kind).ok_or_else(|| {
        app.error(StatusCode::NOT_FOUND, "No such kind", format!("{kind:?} is not a kind steward knows"), "/")
    })?;
    let snapshot = app.store.snapshot(stack).await.map_err(|e| app.unreadable(e))?;
    let key = ResourceKey::new(stack, kind, name);
    let found = snapshot.resources.iter().find(|r| r.manifest.key == key).cloned();
    let back = format!("/stacks/{}", encode(stack));
    let stored = found.ok_or_else(|| {
        app.error(StatusCode::NOT_FOUND, "No such resource", format!("{key} is not in stack {stack:?}"), &back)
    })?;
    Ok((stored, snapshot))
}

pub async fn resource(
    shared: Shared,
    Path((stack, kind, name)): Path<(String, String, String)>,
    Query(notice): Query<Notice>,
) -> Page {
    let app = shared.0;
    let (stored, snapshot) = find(&app, &stack, &kind, &name).await?;
    let key = stored.manifest.key.clone();
    let status = status_of(&snapshot, &key);
    let timeline = app.store.timeline(&key, TIMELINE_ROWS).await.map_err(|e| app.unreadable(e))?;
    let history = app.store.history(&key).await.map_err(|e| app.unreadable(e))?;
    let latest = history.last().map_or(0, |h| h.version);
    let previous = history.iter().rev().nth(1).map_or(latest, |h| h.version);
    let history_rows = history
        .iter()
        .rev()
        .map(|h| HistoryRow {
            version: h.version,
            op: h.op.clone(),
            by: h.by.clone(),
            at: h.at.clone(),
            message: h.message.clone().unwrap_or_default(),
            is_from: h.version == previous,
            is_to: h.version == latest,
            can_roll_back: !h.deleted && h.version != stored.version,
        })
        .collect();
    let drift: Vec<FieldRow> = match status.condition(ConditionType::Drifted) {
        true => critical_first(status.last_drift.iter().map(|d| (d, format!("{:?}", d.cause).to_lowercase()))),
        false => Vec::new(),
    };
    let immutable = status.last_drift.iter().any(|d| d.action == DriftAction::ReportedImmutable);
    let page = ResourcePage {
        chrome: app.chrome(&stack, &notice.done),
        stack_segment: encode(&stack),
        label: key.short(),
        href: resource_href(&key),
        phase: status.phase.to_string(),
        bucket: views::bucket(status.phase),
        state_word: status.state_word(),
        paused: stored.paused,
        deleted: stored.deleted,
        version: stored.version,
        updated_by: stored.updated_by.clone(),
        updated_at: stored.updated_at.clone(),
        message: stored.message.clone().unwrap_or_default(),
        drifted: !drift.is_empty(),
        immutable,
        last_observed: status.last_observed_at.clone(),
        last_error: status.last_error.clone().unwrap_or_default(),
        next_attempt: status.next_attempt_at.clone().unwrap_or_default(),
        failures: status.consecutive_failures,
        last_actor: principal(&status),
        conditions: status
            .conditions
            .iter()
            .map(|c| ConditionRow {
                kind: format!("{:?}", c.kind),
                status: c.status,
                reason: c.reason.clone(),
                message: c.message.clone(),
            })
            .collect(),
        drift,
        outputs: status.outputs.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        spec_yaml: to_yaml(&stored.manifest.to_document()),
        timeline: app.timeline_html(timeline_rows(&timeline), &stack, false),
        history: history_rows,
        stack,
    };
    render(&page)
}

/// Drift records as rows (each with its cause), critical drift first: it is what a person looks
/// at before anything else.
fn critical_first<'a, A: serde::Serialize + 'a>(
    records: impl Iterator<Item = (&'a crate::status::DriftRecord<A>, String)>,
) -> Vec<FieldRow> {
    let mut rows: Vec<FieldRow> = records
        .map(|(d, cause)| {
            let action = serde_json::to_value(&d.action).unwrap_or_default();
            let row = field_row(&d.field, &d.desired, &d.actual, &cause, &action);
            FieldRow { critical: !d.severity.is_normal(), ..row }
        })
        .collect();
    rows.sort_by_key(|row| !row.critical);
    rows
}

fn field_row(
    field: &str,
    desired: &serde_json::Value,
    actual: &serde_json::Value,
    cause: &str,
    action: &serde_json::Value,
) -> FieldRow {
    FieldRow {
        field: field.into(),
        desired: short(desired),
        actual: short(actual),
        cause: cause.into(),
        action: short(action),
        critical: false,
    }
}

/// `diff --live` of one resource, as an HTML fragment the resource page asks for.
pub async fn live_diff(shared: Shared, Path((stack, kind, name)): Path<(String, String, String)>) -> Page {
    let app = shared.0;
    let (stored, _) = find(&app, &stack, &kind, &name).await?;
    let at = crate::store::now();
    let view = match crate::ops::plan_of(&app.store, &app.aws, &stored.manifest.key).await {
        Ok(entry) => LiveView {
            verdict: entry.verdict.clone(),
            paused: entry.paused,
            differs: entry.differs,
            reason: entry.reason.clone(),
            waiting_for: entry.waiting_for.join(", "),
            fields: critical_first(entry.drift.iter().map(|d| (d, String::new()))),
            at,
        },
        Err(e) => LiveView {
            verdict: "error".into(),
            paused: false,
            differs: true,
            reason: format!("{e:#}"),
            waiting_for: String::new(),
            fields: Vec::new(),
            at,
        },
    };
    render(&view)
}

#[derive(serde::Deserialize)]
pub struct Compare {
    from: u64,
    to: u64,
}

pub async fn versions(
    shared: Shared,
    Path((stack, kind, name)): Path<(String, String, String)>,
    Query(q): Query<Compare>,
) -> Page {
    let app = shared.0;
    let (stored, _) = find(&app, &stack, &kind, &name).await?;
    let key = stored.manifest.key.clone();
    let history = app.store.history(&key).await.map_err(|e| app.unreadable(e))?;
    let back = resource_href(&key);
    let pick = |v: u64| {
        history.iter().find(|h| h.version == v).ok_or_else(|| {
            let last = history.last().map_or(0, |h| h.version);
            app.error(
                StatusCode::NOT_FOUND,
                "No such version",
                format!("{key} has no version {v}; versions are 1 to {last}"),
                &back,
            )
        })
    };
    let (from, to) = (pick(q.from)?, pick(q.to)?);
    let meta = |h: &crate::store::HistoryEntry| {
        format!(
            "{} by {} at {}{}",
            h.op,
            h.by,
            h.at,
            h.message.as_ref().map(|m| format!(": “{m}”")).unwrap_or_default()
        )
    };
    let rows = changes("", &from.spec, &to.spec)
        .into_iter()
        .map(|c| ChangeRow { field: c.path.clone(), from: absent_or(c.old), to: absent_or(c.new) })
        .collect();
    render(&VersionsPage {
        chrome: app.chrome(&stack, ""),
        stack_segment: encode(&stack),
        label: key.short(),
        href: back.clone(),
        from: from.version,
        to: to.version,
        from_meta: meta(from),
        to_meta: meta(to),
        changes: rows,
        stack,
    })
}

/// Server-sent events: a `change` event each time one of the named stacks changes.
pub async fn live_events(shared: Shared, Query(q): Query<HashMap<String, String>>) -> Response {
    let app = shared.0;
    let stacks: Vec<String> = q
        .get("stacks")
        .map(|s| s.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect())
        .unwrap_or_default();
    let receivers: BTreeMap<String, tokio::sync::watch::Receiver<String>> =
        stacks.iter().take(50).map(|s| (s.clone(), app.hub.subscribe(&app.store, s))).collect();
    let (tx, rx) = tokio::sync::mpsc::channel::<String>(16);
    for (stack, mut receiver) in receivers {
        let tx = tx.clone();
        tokio::spawn(async move {
            let first = receiver.borrow_and_update().clone();
            if tx.send(format!("{stack}:{first}")).await.is_err() {
                return;
            }
            // Until the page goes away (the stream is dropped), so the stack's watcher can stop.
            loop {
                tokio::select! {
                    _ = tx.closed() => return,
                    changed = receiver.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        let digest = receiver.borrow_and_update().clone();
                        if tx.send(format!("{stack}:{digest}")).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
    drop(tx);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let data = rx.recv().await?;
        Some((Ok::<_, Infallible>(Event::default().event("change").data(data)), rx))
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

pub fn absent_or(value: Option<serde_json::Value>) -> String {
    short(&value.unwrap_or(serde_json::Value::Null))
}
