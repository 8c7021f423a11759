//! `import terraform FILE` and `import aws --vpc V`: manifests for a stack that already exists,
//! checked as `validate` checks them, then written (never over a file without `--force`).

use super::context::Ctx;
use crate::import::shape::{Plan, plan};
use crate::import::{Inventory, NetworkObject, live, terraform as tfstate};
use crate::manifest::{parse_manifests, validate_set};
use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum From {
    /// From a Terraform state file (format 4) or `terraform show -json` output
    Terraform {
        /// The state file (`terraform state pull > state.tfstate`)
        file: PathBuf,
        /// The stack's VPC (id or Name tag) when the state names none
        #[arg(long)]
        vpc: Option<String>,
        #[command(flatten)]
        options: Options,
    },
    /// From the objects of one VPC in the account (a stack made by hand)
    Aws {
        /// The VPC: its id or its Name tag
        #[arg(long)]
        vpc: String,
        /// A cache user's password parameter, as USER_ID=/ssm/parameter/name (repeatable)
        #[arg(long = "password-parameter", value_parser = user_parameter)]
        password_parameters: Vec<(String, String)>,
        #[command(flatten)]
        options: Options,
    },
}

#[derive(Args)]
pub struct Options {
    /// The folder the manifests are written to (default: desired-state/STACK)
    #[arg(short = 'd', long = "dir")]
    pub dir: Option<PathBuf>,
    /// Print what would be written, and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Overwrite files that exist
    #[arg(long)]
    pub force: bool,
    /// The Stack's resync
    #[arg(long, default_value = "60s")]
    pub resync: String,
}

fn user_parameter(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((user, parameter)) if !user.is_empty() && parameter.starts_with('/') => {
            Ok((user.into(), parameter.into()))
        }
        _ => Err(format!("expected USER_ID=/ssm/parameter/name, got {text:?}")),
    }
}

fn stack_name(stack: Option<&str>) -> Result<&str> {
    stack.ok_or_else(|| anyhow!("name the stack the manifests are for: steward --stack NAME import …"))
}

/// `--region` and `--vpc` fill in what the state does not say (a state of App Runner services
/// alone names neither).
pub struct Fallbacks<'a> {
    pub region: Option<&'a str>,
    pub vpc: Option<&'a str>,
}

pub fn terraform(file: &Path, stack: Option<&str>, fallbacks: Fallbacks, options: &Options) -> Result<ExitCode> {
    let stack = stack_name(stack)?;
    let text = std::fs::read_to_string(file).map_err(|e| anyhow!("{}: cannot read: {e}", file.display()))?;
    let mut inventory = tfstate::read(&text, &file.display().to_string())?;
    if inventory.region.is_none() {
        let region =
            fallbacks.region.ok_or_else(|| anyhow!("{}: the state names no region; pass --region", file.display()))?;
        inventory.region = Some(region.to_string());
    }
    if inventory.vpc.is_none() {
        let vpc = fallbacks
            .vpc
            .ok_or_else(|| anyhow!("{}: the state names no VPC; pass --vpc (its id or Name tag)", file.display()))?;
        inventory.vpc = Some(match vpc.starts_with("vpc-") {
            true => NetworkObject { id: vpc.into(), name: None },
            false => NetworkObject { id: String::new(), name: Some(vpc.into()) },
        });
    }
    finish(inventory, stack, options, Source::Terraform)
}

pub async fn aws(ctx: &Ctx, vpc: &str, password_parameters: &[(String, String)], options: Options) -> Result<ExitCode> {
    let stack = stack_name(ctx.stack.as_deref())?;
    let region = ctx
        .aws
        .base()
        .region()
        .map(|r| r.to_string())
        .ok_or_else(|| anyhow!("no region: set AWS_REGION or pass --region"))?;
    let parameters: BTreeMap<String, String> = password_parameters.iter().cloned().collect();
    let inventory = live::read(&ctx.aws.region(&region), vpc, &parameters).await?;
    finish(inventory, stack, &options, Source::Aws)
}

#[derive(PartialEq)]
enum Source {
    Terraform,
    Aws,
}

fn finish(inventory: Inventory, stack: &str, options: &Options, source: Source) -> Result<ExitCode> {
    let dir = options.dir.clone().unwrap_or_else(|| PathBuf::from("desired-state").join(stack));
    let planned = plan(inventory, stack, &options.resync);
    check(&planned, &dir)?;
    if options.dry_run {
        for (name, text) in &planned.files {
            println!("# {} (not written: --dry-run)\n{text}", dir.join(name).display());
        }
    } else {
        let existing: Vec<String> = planned
            .files
            .iter()
            .map(|(n, _)| dir.join(n))
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() && !options.force {
            bail!(
                "{} already exist(s); nothing was written (--force overwrites, --dir writes elsewhere)",
                existing.join(", ")
            );
        }
        std::fs::create_dir_all(&dir).map_err(|e| anyhow!("cannot create {}: {e}", dir.display()))?;
        for (name, text) in &planned.files {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
        }
    }
    print!("{}", summary(&planned, &dir, options.dry_run, source));
    Ok(ExitCode::SUCCESS)
}

/// The manifests pass `steward validate` before anything is written.
fn check(planned: &Plan, dir: &Path) -> Result<()> {
    let mut all = Vec::new();
    let mut errors = Vec::new();
    for (name, text) in &planned.files {
        match parse_manifests(text, &dir.join(name).display().to_string(), None) {
            Ok(m) => all.extend(m),
            Err(e) => errors.extend(e.0),
        }
    }
    if errors.is_empty()
        && let Err(e) = validate_set(&all, &[])
    {
        errors = e.0;
    }
    match errors.is_empty() {
        true => Ok(()),
        false => bail!(
            "the imported manifests do not validate, so nothing was written (please report this):\n{}",
            crate::manifest::ValidationErrors(errors).listing()
        ),
    }
}

fn summary(planned: &Plan, dir: &Path, dry_run: bool, source: Source) -> String {
    let s = &planned.summary;
    let verb = if dry_run { "would write" } else { "wrote" };
    let mut out = format!(
        "{verb} {} resource(s) and the Stack to {} ({} files): {} reference(s), {} byTag selector(s), {} id(s) kept as ids\n",
        s.resources,
        dir.display(),
        planned.files.len(),
        s.references,
        s.selectors,
        s.ids_kept
    );
    if !s.default_tags.is_empty() {
        let tags: Vec<String> = s.default_tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push_str(&format!("defaultTags (shared by every tagged resource): {}\n", tags.join(", ")));
    }
    if !s.skipped.is_empty() {
        out.push_str(&format!("skipped {}:\n", s.skipped.len()));
        for k in &s.skipped {
            out.push_str(&format!("  {}: {}\n", k.origin, k.reason));
        }
    }
    if !s.unmanaged.is_empty() {
        out.push_str("not managed by steward (left as they are, never \"fixed\"):\n");
        for u in &s.unmanaged {
            out.push_str(&format!("  {u}\n"));
        }
    }
    out.push_str(&format!(
        "next: steward apply -f {0}, then steward reconcile (adoption: only ownership tags are written), then steward diff --live\n",
        dir.display()
    ));
    if source == Source::Terraform {
        out.push_str("then: terraform state rm each imported address, so that two tools never manage one object\n");
    }
    out
}
