//! `get` and `history`: reading the desired state.

use super::context::{Ctx, Output, parse_target};
use crate::model::paths::{changes, summary};
use crate::schema::yaml::to_yaml;
use anyhow::Result;
use serde_json::json;
use std::process::ExitCode;

pub async fn get(ctx: &Ctx, target: Option<&str>) -> Result<ExitCode> {
    let (kind, name) = match target {
        Some(t) => {
            let (k, n) = parse_target(t)?;
            (Some(k), n)
        }
        None => (None, None),
    };
    let stacks = ctx.stack.as_ref().map(|s| vec![s.clone()]);
    let resources: Vec<_> = ctx
        .store
        .resources(stacks.as_deref())
        .await?
        .into_iter()
        .filter(|r| !r.deleted)
        .filter(|r| kind.is_none_or(|k| r.manifest.key.kind == k))
        .filter(|r| name.as_ref().is_none_or(|n| &r.manifest.key.name == n))
        .collect();
    if resources.is_empty() && name.is_some() {
        eprintln!("error: {} not found", target.unwrap_or_default());
        return Ok(ExitCode::from(1));
    }
    // A stack paused as a whole shows as paused on its Stack resource.
    let mut paused_stacks = std::collections::BTreeSet::new();
    for r in resources.iter().filter(|r| r.manifest.key.kind == crate::model::Kind::Stack) {
        if ctx.store.stack_meta(&r.manifest.key.stack).await?.paused {
            paused_stacks.insert(r.manifest.key.stack.clone());
        }
    }
    let paused = |r: &crate::store::StoredResource| {
        r.paused || (r.manifest.key.kind == crate::model::Kind::Stack && paused_stacks.contains(&r.manifest.key.stack))
    };
    match ctx.output {
        Output::Yaml => {
            let docs: Vec<String> = resources.iter().map(|r| to_yaml(&r.manifest.to_document())).collect();
            print!("{}", docs.join("---\n"));
        }
        Output::Json => {
            let items: Vec<_> = resources
                .iter()
                .map(|r| {
                    let mut doc = r.manifest.to_document();
                    doc["metadata"]["version"] = json!(r.version);
                    doc["metadata"]["updatedBy"] = json!(r.updated_by);
                    doc["metadata"]["updatedAt"] = json!(r.updated_at);
                    doc["metadata"]["paused"] = json!(paused(r));
                    doc
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&items)?);
        }
        Output::Table => {
            let mut rows = vec![
                ["STACK", "KIND", "NAME", "VERSION", "POLICY", "PAUSED", "UPDATED", "BY"].map(String::from).to_vec(),
            ];
            for r in &resources {
                let m = &r.manifest;
                rows.push(vec![
                    m.key.stack.clone(),
                    m.key.kind.to_string(),
                    m.key.name.clone(),
                    r.version.to_string(),
                    format!("{}/{}", m.management_policy(), m.deletion_policy()),
                    if paused(r) { "yes" } else { "no" }.into(),
                    r.updated_at.clone(),
                    r.updated_by.clone(),
                ]);
            }
            print_table(&rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn history(ctx: &Ctx, target: &str) -> Result<ExitCode> {
    let current = ctx.find_any(target).await?;
    let entries = ctx.store.history(&current.manifest.key).await?;
    if ctx.output == Output::Json || ctx.output == Output::Yaml {
        let items: Vec<_> = entries
            .iter()
            .map(|e| json!({"version": e.version, "at": e.at, "by": e.by, "op": e.op, "message": e.message, "deleted": e.deleted, "spec": e.spec}))
            .collect();
        match ctx.output {
            Output::Json => println!("{}", serde_json::to_string_pretty(&items)?),
            _ => print!("{}", to_yaml(&json!(items))),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![["VERSION", "AT", "BY", "OP", "MESSAGE", "SUMMARY"].map(String::from).to_vec()];
    let mut previous: Option<&serde_json::Value> = None;
    for e in &entries {
        let what = match (e.deleted, previous) {
            (true, _) => "deleted".to_string(),
            (false, None) => "created".to_string(),
            (false, Some(p)) => summary(&changes("spec", p, &e.spec)),
        };
        rows.push(vec![
            e.version.to_string(),
            e.at.clone(),
            e.by.clone(),
            e.op.clone(),
            e.message.clone().unwrap_or_default(),
            what,
        ]);
        previous = if e.deleted { None } else { Some(&e.spec) };
    }
    print_table(&rows);
    Ok(ExitCode::SUCCESS)
}

/// Left-aligned columns separated by two spaces, like kubectl.
pub fn print_table(rows: &[Vec<String>]) {
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    for row in rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", cells.join("  ").trim_end());
    }
}
