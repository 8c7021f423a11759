//! The console's actions: pause and resume (a resource or a stack), accept drift, approve a
//! replacement, roll back to a version. Each is a confirmation page (GET: what will change,
//! prepared exactly as the CLI prepares it) and a POST that carries the form token and the
//! version the person saw; a resource that moved on since is refused, not overwritten.

use super::guard::{Refusal, form_token_ok};
use super::pages::{Failure, Page, absent_or, find, render};
use super::templates::{ChangeRow, ConfirmPage};
use super::views::{encode, resource_href, short};
use super::{App, Shared};
use crate::model::paths::changes;
use crate::ops::{accept, rollback};
use crate::store::{StoreError, StoredResource};
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use std::collections::HashMap;

type ResourcePath = Path<(String, String, String, String)>;

/// What a confirmation page sends back.
#[derive(serde::Deserialize)]
pub struct ActForm {
    form_token: String,
    /// The resource's version the confirmation was prepared from.
    #[serde(default)]
    base: Option<u64>,
    /// Rollback: the version whose spec comes back.
    #[serde(default)]
    to: Option<u64>,
    /// Accept: the fields shown, as a JSON list.
    #[serde(default)]
    fields: Option<String>,
}

/// What a confirmation page says, before the frame and the form are added.
struct Confirmation {
    title: String,
    lines: Vec<String>,
    changes: Vec<ChangeRow>,
    hidden: Vec<(String, String)>,
    button: &'static str,
    danger: bool,
}

impl App {
    fn confirm_page(&self, stack: &str, c: Confirmation, action: String, back: String) -> Page {
        let mut hidden = c.hidden;
        hidden.retain(|(_, v)| !v.is_empty());
        render(&ConfirmPage {
            chrome: self.chrome(stack, ""),
            title: c.title,
            lines: c.lines,
            changes: c.changes,
            action,
            form_token: self.session.form_token.clone(),
            hidden,
            button: c.button.into(),
            danger: c.danger,
            back,
        })
    }

    /// A refusal from the store or from a check, in its own words.
    fn refused(&self, e: impl Into<StoreError>, back: &str) -> Failure {
        let e: StoreError = e.into();
        let status = match e {
            StoreError::Conflict { .. } => StatusCode::CONFLICT,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        self.error(status, "Refused", format!("{e:#}"), back)
    }
}

fn recorded_as(app: &App) -> String {
    format!("Recorded as {} (the credentials this console runs with).", app.caller)
}

pub async fn confirm_resource(
    shared: Shared,
    Path((stack, kind, name, action)): ResourcePath,
    Query(q): Query<HashMap<String, String>>,
) -> Page {
    let app = shared.0;
    let (stored, _) = find(&app, &stack, &kind, &name).await?;
    let back = resource_href(&stored.manifest.key);
    let to = q.get("to").and_then(|v| v.parse().ok());
    let c = confirmation(&app, &stored, &action, to).await.map_err(|e| app.refused(e, &back))?;
    app.confirm_page(&stack, c, format!("{back}/do/{action}"), back)
}

/// What the confirmation page of `action` on `stored` says, prepared as the CLI prepares it.
async fn confirmation(
    app: &App,
    stored: &StoredResource,
    action: &str,
    to: Option<u64>,
) -> Result<Confirmation, StoreError> {
    let key = stored.manifest.key.clone();
    let base = stored.version.to_string();
    let simple = |title: String, line: &str, button| Confirmation {
        title,
        lines: vec![line.into(), recorded_as(app)],
        changes: Vec::new(),
        hidden: vec![("base".into(), base.clone())],
        button,
        danger: false,
    };
    Ok(match action {
        "pause" => simple(
            format!("Pause {key}?"),
            "steward stops changing this resource in AWS until it is resumed; drift is still found and reported.",
            "Pause",
        ),
        "resume" => simple(
            format!("Resume {key}?"),
            "steward heals it again from its next pass: what differs from the desired state is changed in AWS.",
            "Resume",
        ),
        "accept" => {
            let plan = accept::prepare(&app.store, &app.aws, stored, &[], None).await?;
            let fields: Vec<&str> = plan.chosen.iter().map(|d| d.field.as_str()).collect();
            Confirmation {
                title: format!("Accept the drift of {key}?"),
                lines: vec![
                    format!(
                        "The live values become the desired state as version {}; steward stops changing them back.",
                        stored.version + 1
                    ),
                    format!("History notes: {}.", plan.change.message.clone().unwrap_or_default()),
                    recorded_as(app),
                ],
                changes: plan
                    .chosen
                    .iter()
                    .map(|d| ChangeRow { field: d.field.clone(), from: short(&d.desired), to: short(&d.actual) })
                    .collect(),
                hidden: vec![
                    ("base".into(), base),
                    ("fields".into(), serde_json::to_string(&fields).unwrap_or_default()),
                ],
                button: "Accept",
                danger: false,
            }
        }
        "approve" => {
            let plan = accept::prepare_approval(&app.store, &app.aws, stored).await?;
            Confirmation {
                title: format!("Approve replacing {key}?"),
                lines: vec![
                    format!(
                        "Only a new object can change {}: steward deletes the object and makes it again. Its data is lost.",
                        plan.fields.join(", ")
                    ),
                    "The consent is for exactly this drift, once.".into(),
                    recorded_as(app),
                ],
                changes: Vec::new(),
                hidden: vec![("base".into(), base)],
                button: "Approve the replacement",
                danger: true,
            }
        }
        "rollback" => {
            let plan = rollback::prepare(&app.store, stored, to, None).await?;
            let Some(change) = &plan.change else {
                return Err(
                    anyhow::anyhow!("{key} already has the spec of version {}; nothing to roll back", plan.to).into()
                );
            };
            Confirmation {
                title: format!("Roll {key} back to version {}?", plan.to),
                lines: vec![
                    format!(
                        "Version {} will hold the spec of version {}; history keeps every version.",
                        stored.version + 1,
                        plan.to
                    ),
                    recorded_as(app),
                ],
                changes: changes("", &stored.manifest.spec, &change.spec)
                    .into_iter()
                    .map(|c| ChangeRow { field: c.path.clone(), from: absent_or(c.old), to: absent_or(c.new) })
                    .collect(),
                hidden: vec![("base".into(), base), ("to".into(), plan.to.to_string())],
                button: "Roll back",
                danger: false,
            }
        }
        other => return Err(anyhow::anyhow!("{other:?} is not an action on a resource").into()),
    })
}

pub async fn act_on_resource(
    shared: Shared,
    Path((stack, kind, name, action)): ResourcePath,
    Form(form): Form<ActForm>,
) -> Page {
    let app = shared.0;
    if !form_token_ok(&app.session, &form.form_token) {
        return Err((StatusCode::FORBIDDEN, format!("{}\n", Refusal::CrossSite)).into_response().into());
    }
    let (stored, _) = find(&app, &stack, &kind, &name).await?;
    let key = stored.manifest.key.clone();
    let back = resource_href(&key);
    if let Some(base) = form.base.filter(|b| *b != stored.version) {
        let why = format!(
            "{key} was changed by {} at {} since you looked (version {base}, now version {}); review it again",
            stored.updated_by, stored.updated_at, stored.version
        );
        return Err(app.error(StatusCode::CONFLICT, "Refused: changed meanwhile", why, &back));
    }
    let done = perform(&app, &stored, &action, &form).await.map_err(|e| app.refused(e, &back))?;
    Ok(Redirect::to(&format!("{back}?done={}", encode(&done))).into_response())
}

/// Carries out a confirmed action; the line says what happened.
async fn perform(app: &App, stored: &StoredResource, action: &str, form: &ActForm) -> Result<String, StoreError> {
    let key = &stored.manifest.key;
    match action {
        "pause" | "resume" => {
            let paused = action == "pause";
            let changed = app.store.set_paused(&key.stack, Some(key), paused, &app.caller).await?;
            let verb = if paused { "paused" } else { "resumed" };
            Ok(if changed { format!("{key} {verb}") } else { format!("{key} was already {verb}") })
        }
        "accept" => {
            let fields: Vec<String> = serde_json::from_str(form.fields.as_deref().unwrap_or("[]")).unwrap_or_default();
            let plan = accept::prepare(&app.store, &app.aws, stored, &fields, None).await?;
            plan.commit(&app.store, &app.caller).await?;
            let names: Vec<&str> = plan.chosen.iter().map(|d| d.field.as_str()).collect();
            Ok(format!("{key} accepted the live value of {} (now version {})", names.join(", "), stored.version + 1))
        }
        "approve" => {
            let plan = accept::prepare_approval(&app.store, &app.aws, stored).await?;
            app.store.approve_replacement(key, &plan.consent, &app.caller).await?;
            Ok(format!("{key}: replacement approved for {}", plan.fields.join(", ")))
        }
        "rollback" => {
            let plan = rollback::prepare(&app.store, stored, form.to, None).await?;
            plan.commit(&app.store, &app.caller).await?;
            Ok(format!("{key} rolled back to the spec of version {} (now version {})", plan.to, stored.version + 1))
        }
        other => Err(anyhow::anyhow!("{other:?} is not an action on a resource").into()),
    }
}

pub async fn confirm_stack(shared: Shared, Path((stack, action)): Path<(String, String)>) -> Page {
    let app = shared.0;
    let back = format!("/stacks/{}", encode(&stack));
    let (title, line, button) = match action.as_str() {
        "pause" => (
            format!("Pause stack {stack}?"),
            "steward changes nothing in this stack's AWS objects until it is resumed; drift is still found and reported.",
            "Pause the stack",
        ),
        "resume" => {
            (format!("Resume stack {stack}?"), "steward heals the stack again from its next pass.", "Resume the stack")
        }
        other => return Err(no_stack_action(&app, other, &back)),
    };
    let c = Confirmation {
        title,
        lines: vec![line.into(), recorded_as(&app)],
        changes: Vec::new(),
        hidden: Vec::new(),
        button,
        danger: false,
    };
    app.confirm_page(&stack, c, format!("{back}/do/{action}"), back)
}

fn no_stack_action(app: &App, action: &str, back: &str) -> Failure {
    app.error(StatusCode::NOT_FOUND, "No such action", format!("{action:?} is not an action on a stack"), back)
}

pub async fn act_on_stack(
    shared: Shared,
    Path((stack, action)): Path<(String, String)>,
    Form(form): Form<ActForm>,
) -> Page {
    let app = shared.0;
    if !form_token_ok(&app.session, &form.form_token) {
        return Err((StatusCode::FORBIDDEN, format!("{}\n", Refusal::CrossSite)).into_response().into());
    }
    let back = format!("/stacks/{}", encode(&stack));
    let paused = match action.as_str() {
        "pause" => true,
        "resume" => false,
        other => return Err(no_stack_action(&app, other, &back)),
    };
    if !app.store.stacks().await.map_err(|e| app.refused(e, &back))?.contains(&stack) {
        return Err(app.error(StatusCode::NOT_FOUND, "No such stack", format!("stack {stack:?} not found"), "/"));
    }
    let changed = app.store.set_paused(&stack, None, paused, &app.caller).await.map_err(|e| app.refused(e, &back))?;
    let verb = if paused { "paused" } else { "resumed" };
    let done = if changed { format!("stack {stack} {verb}") } else { format!("stack {stack} was already {verb}") };
    Ok(Redirect::to(&format!("{back}?done={}", encode(&done))).into_response())
}
