//! What every verb shares: the store, the caller's identity, the global flags, and how targets
//! (`KIND/NAME`) are read.

use crate::model::{Kind, ResourceKey};
use crate::store::{Store, StoredResource};
use anyhow::{Result, anyhow, bail};
use clap::ValueEnum;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Yaml,
    Json,
}

/// This machine's name, for replica ids.
pub(crate) fn host_name() -> String {
    let name = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    if name.is_empty() { "steward".into() } else { name }
}

/// What every verb needs: the store, the caller's identity, and the global flags.
pub struct Ctx {
    pub store: std::sync::Arc<Store>,
    pub aws: crate::aws::Aws,
    pub stack: Option<String>,
    pub output: Output,
    pub(super) sts: aws_sdk_sts::Client,
}

/// What a verb that writes did to one resource, for people (`line`) or for scripts (`-o json`,
/// `-o yaml`: `fields` plus kind, name and stack).
pub struct Written {
    pub key: ResourceKey,
    pub line: String,
    pub fields: serde_json::Value,
}

impl Ctx {
    /// Prints what a write did: one line each, or one JSON (YAML) list for scripts.
    pub fn print_written(&self, written: &[Written]) -> Result<()> {
        if self.output == Output::Table {
            for w in written {
                println!("{}", w.line);
            }
            return Ok(());
        }
        let items: Vec<serde_json::Value> = written
            .iter()
            .map(|w| {
                let mut item =
                    serde_json::json!({ "kind": w.key.kind.as_str(), "name": w.key.name, "stack": w.key.stack });
                if let (Some(item), Some(fields)) = (item.as_object_mut(), w.fields.as_object()) {
                    item.extend(fields.clone());
                }
                item
            })
            .collect();
        match self.output {
            Output::Json => println!("{}", serde_json::to_string_pretty(&items)?),
            _ => print!("{}", crate::schema::yaml::to_yaml(&serde_json::json!(items))),
        }
        Ok(())
    }

    /// The caller's ARN, recorded with every change (`who changed it`).
    pub async fn actor(&self) -> Result<String> {
        crate::ops::caller(&self.sts).await
    }

    /// Finds the one live resource a `KIND/NAME` argument names, in --stack or in any stack.
    pub async fn find(&self, target: &str) -> Result<StoredResource> {
        self.find_in(target, false).await
    }

    /// Like `find`, but also finds a resource that was deleted from the desired state.
    pub async fn find_any(&self, target: &str) -> Result<StoredResource> {
        self.find_in(target, true).await
    }

    async fn find_in(&self, target: &str, include_deleted: bool) -> Result<StoredResource> {
        let (kind, name) = parse_target(target)?;
        let name = name.ok_or_else(|| anyhow!("expected KIND/NAME, got {target:?}"))?;
        let stacks = self.stack.as_ref().map(|s| vec![s.clone()]);
        let found: Vec<StoredResource> = self
            .store
            .resources(stacks.as_deref())
            .await?
            .into_iter()
            .filter(|r| (include_deleted || !r.deleted) && r.manifest.key.kind == kind && r.manifest.key.name == name)
            .collect();
        match found.len() {
            0 => bail!(
                "{kind}/{name} not found{}",
                self.stack.as_ref().map(|s| format!(" in stack {s:?}")).unwrap_or_default()
            ),
            1 => Ok(found.into_iter().next().expect("one element")),
            _ => {
                let stacks: Vec<&str> = found.iter().map(|r| r.manifest.key.stack.as_str()).collect();
                bail!("{kind}/{name} exists in several stacks ({}); pass --stack", stacks.join(", "))
            }
        }
    }
}

/// `KIND` or `KIND/NAME`; kinds match in any letter case.
pub fn parse_target(target: &str) -> Result<(Kind, Option<String>)> {
    let (kind, name) = match target.split_once('/') {
        Some((k, n)) => (k, Some(n.to_string())),
        None => (target, None),
    };
    let kind = Kind::parse_loose(kind).ok_or_else(|| match Kind::closest(kind) {
        Some(k) => anyhow!("unknown kind {kind:?}; did you mean {k}?"),
        None => anyhow!("unknown kind {kind:?}; expected one of {} (or their short names, see --help)", kind_list()),
    })?;
    if name.as_deref() == Some("") {
        bail!("expected KIND/NAME, got {target:?}");
    }
    Ok((kind, name))
}

pub(crate) fn kind_list() -> String {
    Kind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
}

/// Stored resources of one stack other than `except`, as manifests to validate a change against.
pub(crate) async fn stack_context(
    ctx: &Ctx,
    stack: &str,
    except: &ResourceKey,
) -> Result<Vec<crate::manifest::Manifest>> {
    crate::ops::stack_context(&ctx.store, stack, except).await
}
