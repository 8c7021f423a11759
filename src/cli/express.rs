//! `express-from`: the Express Mode manifests that replace an App Runner web tier, and the steps.

use super::context::Ctx;
use crate::convert::{ExpressRoles, express_from as convert};
use crate::schema::yaml::to_yaml;
use anyhow::{Result, anyhow};
use std::path::Path;
use std::process::ExitCode;

pub async fn express_from(ctx: &Ctx, target: &str, roles: &ExpressRoles, file: Option<&Path>) -> Result<ExitCode> {
    let found = ctx.find(target).await?;
    let stack = found.manifest.key.stack.clone();
    let all: Vec<_> =
        ctx.store.resources(Some(&[stack])).await?.into_iter().filter(|r| !r.deleted).map(|r| r.manifest).collect();
    let conversion = convert(&found.manifest, &all, roles).map_err(|e| anyhow!(e))?;
    let mut text = format!(
        "# Written by `steward express-from {}`: the web tier on ECS Express Mode, beside App Runner.\n",
        found.manifest.key
    );
    let documents: Vec<String> = conversion.manifests.iter().map(to_yaml).collect();
    text.push_str(&documents.join("---\n"));
    let mut said = String::new();
    for note in &conversion.notes {
        said.push_str(&format!("note: {note}\n"));
    }
    said.push_str("The move, step by step:\n");
    for (i, step) in conversion.steps.iter().enumerate() {
        said.push_str(&format!("  {}. {step}\n", i + 1));
    }
    match file {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
            println!("wrote {} manifest(s) to {}", conversion.manifests.len(), path.display());
            print!("{said}");
        }
        None => {
            print!("{text}");
            eprint!("{said}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
