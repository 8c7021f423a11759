//! ElastiCache users and user groups: passwords and their authentication, membership, and the
//! default user every account has.

use super::{ElastiCache, USER, User, UserGroup, arn, page, strings, tags_of, with_marker};
use crate::api::{ApiError, Call, OpResult, text};
use crate::lifecycle::{Lifecycle, Phase};
use serde_json::{Value as Json, json};
use std::time::Instant;

impl ElastiCache {
    pub(super) fn create_user(&mut self, input: &Json, call: &Call) -> OpResult {
        let id = text(input, "UserId").unwrap_or_default().to_string();
        let name = text(input, "UserName").unwrap_or_default();
        if self.users.contains_key(&id) {
            return Err(ApiError::new("UserAlreadyExistsFault", format!("User {id} already exists.")));
        }
        if self.users.values().any(|u| u.json["UserName"] == name) {
            return Err(ApiError::new(
                "DuplicateUserNameFault",
                format!("A user with the name {name} already exists."),
            ));
        }
        let (passwords, auth) = authentication(input, &[])?;
        let arn = arn(call, "user", &id);
        let json = json!({
            "UserId": id, "UserName": name, "Engine": text(input, "Engine").unwrap_or("redis"),
            "MinimumEngineVersion": "6.0", "AccessString": text(input, "AccessString").unwrap_or_default(),
            "UserGroupIds": [], "Authentication": auth, "ARN": arn,
        });
        self.tags.insert(arn, tags_of(input)?);
        let user = User { json, life: Lifecycle::creating(call.now, call.transition), passwords };
        let shown = user.render();
        self.users.insert(id, user);
        Ok(shown)
    }

    pub(super) fn describe_users(&self, input: &Json) -> OpResult {
        let items: Vec<(String, Json)> = match text(input, "UserId") {
            Some(id) => match self.users.get(id) {
                Some(u) => vec![(id.to_string(), self.with_groups(u))],
                None => return Err(ApiError::new("UserNotFoundFault", format!("User {id} not found."))),
            },
            None => self.users.iter().map(|(k, u)| (k.clone(), self.with_groups(u))).collect(),
        };
        let (users, marker) = page(items, input)?;
        Ok(with_marker(json!({ "Users": users }), marker))
    }

    pub(super) fn with_groups(&self, user: &User) -> Json {
        let mut shown = user.render();
        let groups: Vec<&str> = self
            .user_groups
            .iter()
            .filter(|(_, g)| g.json["UserIds"].as_array().is_some_and(|ids| ids.contains(&user.json["UserId"])))
            .map(|(k, _)| k.as_str())
            .collect();
        shown["UserGroupIds"] = json!(groups);
        shown
    }

    pub(super) fn modify_user(&mut self, input: &Json, call: &Call) -> OpResult {
        let id = text(input, "UserId").unwrap_or_default();
        let user = self
            .users
            .get_mut(id)
            .ok_or_else(|| ApiError::new("UserNotFoundFault", format!("User {id} not found.")))?;
        must_be_active(&user.life, "InvalidUserStateFault", format!("User {id}"))?;
        if let Some(a) = text(input, "AccessString") {
            user.json["AccessString"] = json!(a);
        }
        if let Some(a) = text(input, "AppendAccessString") {
            let joined = format!("{} {a}", user.json["AccessString"].as_str().unwrap_or_default());
            user.json["AccessString"] = json!(joined);
        }
        if input.get("Passwords").is_some()
            || input.get("NoPasswordRequired").is_some()
            || input.get("AuthenticationMode").is_some()
        {
            let (passwords, auth) = authentication(input, &user.passwords)?;
            user.passwords = passwords;
            user.json["Authentication"] = auth;
        }
        user.life.begin(Phase::Modifying, call.now, call.transition);
        Ok(user.render())
    }

    pub(super) fn delete_user(&mut self, input: &Json, call: &Call) -> OpResult {
        let id = text(input, "UserId").unwrap_or_default();
        if id == "default" {
            return Err(ApiError::new("DefaultUserAssociatedToUserGroupFault", "The default user cannot be deleted."));
        }
        let user = self
            .users
            .get_mut(id)
            .ok_or_else(|| ApiError::new("UserNotFoundFault", format!("User {id} not found.")))?;
        must_be_active(&user.life, "InvalidUserStateFault", format!("User {id}"))?;
        user.life.begin(Phase::Deleting, call.now, call.transition);
        Ok(user.render())
    }

    /// Whether `password` is one of the user's passwords (admin API: proves a secret was set
    /// without ever returning it).
    pub fn password_matches(&mut self, user_id: &str, password: &str, now: Instant) -> Option<bool> {
        self.settle(now);
        self.users.get(user_id).map(|u| u.passwords.iter().any(|p| p == password))
    }

    // ---- user groups ----

    pub(super) fn create_user_group(&mut self, input: &Json, call: &Call) -> OpResult {
        let id = text(input, "UserGroupId").unwrap_or_default().to_string();
        if self.user_groups.contains_key(&id) {
            return Err(ApiError::new("UserGroupAlreadyExistsFault", format!("User group {id} already exists.")));
        }
        let ids = strings(input, "UserIds");
        self.check_members(&ids)?;
        let arn = arn(call, "usergroup", &id);
        let json = json!({
            "UserGroupId": id, "Engine": text(input, "Engine").unwrap_or("redis"), "UserIds": ids,
            "MinimumEngineVersion": "6.0", "ReplicationGroups": [], "ServerlessCaches": [], "ARN": arn,
        });
        self.tags.insert(arn, tags_of(input)?);
        let group = UserGroup { json, life: Lifecycle::creating(call.now, call.transition), pending: None };
        let shown = group.render();
        self.user_groups.insert(id, group);
        Ok(shown)
    }

    pub(super) fn check_members(&self, ids: &[String]) -> Result<(), ApiError> {
        for id in ids {
            if !self.users.contains_key(id) {
                return Err(ApiError::new("UserNotFoundFault", format!("User {id} not found.")));
            }
        }
        if !ids.iter().any(|i| self.users.get(i).is_some_and(|u| u.json["UserName"] == "default")) {
            return Err(ApiError::new(
                "DefaultUserRequired",
                "A user group must contain a user with the user name default.",
            ));
        }
        Ok(())
    }

    pub(super) fn describe_user_groups(&self, input: &Json) -> OpResult {
        let items: Vec<(String, Json)> = match text(input, "UserGroupId") {
            Some(id) => match self.user_groups.get(id) {
                Some(g) => vec![(id.to_string(), g.render())],
                None => return Err(ApiError::new("UserGroupNotFoundFault", format!("User group {id} not found."))),
            },
            None => self.user_groups.iter().map(|(k, g)| (k.clone(), g.render())).collect(),
        };
        let (groups, marker) = page(items, input)?;
        Ok(with_marker(json!({ "UserGroups": groups }), marker))
    }

    pub(super) fn modify_user_group(&mut self, input: &Json, call: &Call) -> OpResult {
        let id = text(input, "UserGroupId").unwrap_or_default();
        let (add, remove) = (strings(input, "UserIdsToAdd"), strings(input, "UserIdsToRemove"));
        let current: Vec<String> = {
            let g = self
                .user_groups
                .get(id)
                .ok_or_else(|| ApiError::new("UserGroupNotFoundFault", format!("User group {id} not found.")))?;
            must_be_active(&g.life, "InvalidUserGroupStateFault", format!("User group {id}"))?;
            g.json["UserIds"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect()
        };
        let mut after: Vec<String> = current.into_iter().filter(|i| !remove.contains(i)).collect();
        after.extend(add.iter().cloned());
        self.check_members(&after)?;
        let g = self.user_groups.get_mut(id).expect("checked above");
        g.pending = Some((add, remove));
        g.life.begin(Phase::Modifying, call.now, call.transition);
        Ok(g.render())
    }

    pub(super) fn delete_user_group(&mut self, input: &Json, call: &Call) -> OpResult {
        let id = text(input, "UserGroupId").unwrap_or_default();
        let g = self
            .user_groups
            .get_mut(id)
            .ok_or_else(|| ApiError::new("UserGroupNotFoundFault", format!("User group {id} not found.")))?;
        must_be_active(&g.life, "InvalidUserGroupStateFault", format!("User group {id}"))?;
        g.life.begin(Phase::Deleting, call.now, call.transition);
        Ok(g.render())
    }
}

impl User {
    pub(super) fn render(&self) -> Json {
        let mut shown = self.json.clone();
        shown["Status"] = json!(self.life.word(&USER));
        shown
    }
}

impl UserGroup {
    pub(super) fn render(&self) -> Json {
        let mut shown = self.json.clone();
        shown["Status"] = json!(self.life.word(&USER));
        if let Some((add, remove)) = &self.pending {
            shown["PendingChanges"] = json!({ "UserIdsToAdd": add, "UserIdsToRemove": remove });
        }
        shown
    }
}

/// A user or user group (`what`) can be changed or deleted only while it is active; else the
/// service's `fault`.
fn must_be_active(life: &Lifecycle, fault: &str, what: String) -> Result<(), ApiError> {
    let refused = format!("{what} is not active (it is {}).", life.word(&USER));
    if life.is(Phase::Available) { Ok(()) } else { Err(ApiError::new(fault, refused)) }
}

/// Passwords (16–128 printable characters without , " / @; at most two) and the Authentication
/// member that describes them. `current` is kept when the input names no new ones.
pub(super) fn authentication(input: &Json, current: &[String]) -> Result<(Vec<String>, Json), ApiError> {
    let mode = input.pointer("/AuthenticationMode/Type").and_then(Json::as_str);
    let no_password = input.get("NoPasswordRequired").and_then(Json::as_bool).unwrap_or(false)
        || mode == Some("no-password-required");
    let mut passwords = strings(input, "Passwords");
    if passwords.is_empty() {
        passwords = input
            .pointer("/AuthenticationMode/Passwords")
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
    }
    if passwords.is_empty() && !no_password {
        passwords = current.to_vec();
    }
    if no_password && !passwords.is_empty() && input.get("Passwords").is_some() {
        return Err(ApiError::new(
            "InvalidParameterCombinationException",
            "Passwords cannot be given with NoPasswordRequired.",
        ));
    }
    if passwords.len() > 2 {
        return Err(ApiError::new("InvalidParameterValueException", "A user can have at most two passwords."));
    }
    for p in &passwords {
        let printable = p.chars().all(|c| c.is_ascii_graphic() && !",\"/@".contains(c));
        if !(16..=128).contains(&p.chars().count()) || !printable {
            return Err(ApiError::new(
                "InvalidParameterValueException",
                "Passwords must be 16 to 128 printable characters and cannot contain , \" / or @.",
            ));
        }
    }
    if passwords.is_empty() && !no_password {
        return Err(ApiError::new(
            "InvalidParameterValueException",
            "No password was given and NoPasswordRequired is not set.",
        ));
    }
    let auth = if passwords.is_empty() {
        json!({ "Type": "no-password" })
    } else {
        json!({ "Type": "password", "PasswordCount": passwords.len() })
    };
    Ok((passwords, auth))
}
