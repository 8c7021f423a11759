//! `edit`: change one resource in $EDITOR, the way `kubectl edit` does. Invalid input reopens the
//! editor with the errors on top; a concurrent change is refused, naming who made it.

use super::context::{Ctx, Written, stack_context};
use crate::manifest::{ValidationErrors, parse_manifests, validate_set};
use crate::schema::yaml::to_yaml;
use crate::store::{Change, StoreError};
use anyhow::{Context, Result, bail};
use std::process::ExitCode;

const ERROR_MARK: &str = "# error: ";

pub async fn edit(ctx: &Ctx, target: &str, message: Option<String>) -> Result<ExitCode> {
    let current = ctx.find(target).await?;
    let key = current.manifest.key.clone();
    let original = to_yaml(&current.manifest.to_document());
    let header = format!(
        "# Editing {key} in stack {} (version {}). Save and quit to apply; an unchanged file cancels.\n",
        key.stack, current.version
    );
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let path = dir.path().join(format!("{}-{}.yaml", key.kind, key.name));
    std::fs::write(&path, format!("{header}{original}"))?;
    let mut last_invalid: Option<String> = None;
    let manifest = loop {
        run_editor(&path)?;
        let text = std::fs::read_to_string(&path).context("reading the edited file")?;
        let body = strip_header(&text);
        if body.trim() == original.trim() {
            let fields = serde_json::json!({ "action": "cancelled", "version": current.version });
            ctx.print_written(&[Written { key, line: "edit cancelled: no changes made".into(), fields }])?;
            return Ok(ExitCode::SUCCESS);
        }
        // Parse the whole file, comments included, so line numbers match what the user sees.
        let shown_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let errors = match parse_manifests(&text, &shown_name, Some(&key.stack)) {
            Ok(ms) if ms.len() != 1 => {
                one_error(&key.to_string(), format!("expected exactly one manifest, found {}", ms.len()))
            }
            Ok(ms) if ms[0].key != key => {
                one_error(&key.to_string(), "kind, metadata.name and metadata.stack cannot change in edit".to_string())
            }
            Ok(mut ms) => {
                let m = ms.remove(0);
                match validate_set(std::slice::from_ref(&m), &stack_context(ctx, &key.stack, &key).await?) {
                    Ok(()) => break m,
                    Err(e) => e,
                }
            }
            Err(e) => e,
        };
        if last_invalid.as_deref() == Some(body.as_str()) {
            eprintln!("{errors}");
            bail!("edit aborted: the file is still invalid and was not changed since the last attempt");
        }
        let notes: String = errors.0.iter().map(|e| format!("{ERROR_MARK}{e}\n")).collect();
        std::fs::write(&path, format!("{header}{notes}#\n{body}"))?;
        last_invalid = Some(body);
    };
    if manifest.spec == current.manifest.spec {
        let line = format!("{key} unchanged: the spec is the same (only formatting or comments changed)");
        let fields = serde_json::json!({ "action": "unchanged", "version": current.version });
        ctx.print_written(&[Written { key, line, fields }])?;
        return Ok(ExitCode::SUCCESS);
    }
    let change = Change {
        key: key.clone(),
        base_version: Some(current.version),
        spec: manifest.spec,
        deleted: false,
        op: "edit",
        message,
    };
    match ctx.store.commit(&[change], &ctx.actor().await?).await {
        Ok(()) => {
            let now = current.version + 1;
            let fields = serde_json::json!({ "action": "edited", "version": now });
            ctx.print_written(&[Written {
                key: key.clone(),
                line: format!("{key} edited (now version {now})"),
                fields,
            }])?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ StoreError::Conflict { .. }) => {
            let kept = std::env::temp_dir().join(format!("steward-edit-{}-{}.yaml", key.kind, key.name));
            std::fs::copy(&path, &kept).ok();
            bail!("{e}; your edit was not applied and is saved in {}", kept.display())
        }
        Err(e) => Err(e.into()),
    }
}

fn one_error(resource: &str, message: String) -> ValidationErrors {
    ValidationErrors(vec![crate::manifest::ManifestError {
        file: "(edited)".into(),
        line: 0,
        resource: Some(resource.into()),
        path: String::new(),
        message,
    }])
}

/// Drops our header and error comments from the top of the file, keeping the user's text.
fn strip_header(text: &str) -> String {
    let mut lines = text.lines().peekable();
    while lines.peek().is_some_and(|l| l.starts_with("# Editing ") || l.starts_with(ERROR_MARK) || *l == "#") {
        lines.next();
    }
    lines.map(|l| format!("{l}\n")).collect()
}

fn run_editor(path: &std::path::Path) -> Result<()> {
    let editor = std::env::var("VISUAL").or_else(|_| std::env::var("EDITOR")).unwrap_or_else(|_| "vi".into());
    // Through the shell, so that EDITOR may carry arguments ("code --wait").
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("steward-edit")
        .arg(path)
        .status()
        .with_context(|| format!("starting the editor {editor:?}"))?;
    if !status.success() {
        bail!("the editor {editor:?} exited with {status}; nothing was written");
    }
    Ok(())
}
