//! `user`: manages a local account with useradd, usermod and userdel, as
//! `ansible.builtin.user` does on Linux.
//!
//! Followed from Ansible: a missing `group`/`groups` entry is an error;
//! `groups` is compared with the groups that list the user as a member,
//! `append` only adds; a missing home directory is created (from the
//! skeleton) whenever `create_home` is on, for existing users too;
//! `password` is a hash set as given and compared without its lock `!`s;
//! `password_lock` locks or unlocks; the result says `NOT_LOGGING_PASSWORD`.
//! Differences: the hash goes to `chpasswd -e` on stdin rather than on
//! usermod's command line (where `ps` shows it); unlocking an account that
//! has no password is not attempted (usermod refuses it and Ansible reports
//! a change on every run); SSH key generation, expiry and password ageing
//! are refused as not supported yet.

mod accounts;
mod plan;

pub(crate) use accounts::{check_name, group_script, parse_group_probe};

use crate::{Args, Controller, Kind, Map, Module, Observed, Param, ParamError, Plan, StepOutput};
use crate::{Task, TaskError};

pub struct UserModule;

const PARAMS: &[Param] = &[
    Param::new("name", Kind::Str).required().aliases(&["user"]),
    Param::new("state", Kind::Str).choices(&["present", "absent"]),
    Param::new("uid", Kind::Int),
    Param::new("non_unique", Kind::Bool),
    Param::new("group", Kind::Str),
    Param::new("groups", Kind::List),
    Param::new("append", Kind::Bool),
    Param::new("comment", Kind::Str),
    Param::new("home", Kind::Str),
    Param::new("shell", Kind::Str),
    Param::new("password", Kind::Str),
    Param::new("update_password", Kind::Str).choices(&["always", "on_create"]),
    Param::new("password_lock", Kind::Bool),
    Param::new("create_home", Kind::Bool).aliases(&["createhome"]),
    Param::new("skeleton", Kind::Str),
    Param::new("umask", Kind::Str),
    Param::new("move_home", Kind::Bool),
    Param::new("system", Kind::Bool),
    Param::new("force", Kind::Bool),
    Param::new("remove", Kind::Bool),
    Param::new("local", Kind::Bool),
    Param::new("generate_ssh_key", Kind::Bool),
    Param::new("ssh_key_bits", Kind::Int),
    Param::new("ssh_key_type", Kind::Str),
    Param::new("ssh_key_file", Kind::Str),
    Param::new("ssh_key_comment", Kind::Str),
    Param::new("ssh_key_passphrase", Kind::Str),
    Param::new("expires", Kind::Any),
    Param::new("password_expire_max", Kind::Int),
    Param::new("password_expire_min", Kind::Int),
    Param::new("password_expire_warn", Kind::Int),
    Param::new("password_expire_account_disable", Kind::Int),
    Param::new("hidden", Kind::Bool),
    Param::new("seuser", Kind::Str),
    Param::new("login_class", Kind::Str),
    Param::new("profile", Kind::Str),
    Param::new("authorization", Kind::Str),
    Param::new("role", Kind::Str),
];

/// Parameters tend accepts by name but does not carry out yet: refused
/// when given (a `false` boolean is as good as not given).
const UNSUPPORTED: &[&str] = &[
    "generate_ssh_key",
    "ssh_key_bits",
    "ssh_key_type",
    "ssh_key_file",
    "ssh_key_comment",
    "ssh_key_passphrase",
    "expires",
    "password_expire_max",
    "password_expire_min",
    "password_expire_warn",
    "password_expire_account_disable",
    "hidden",
    "seuser",
    "login_class",
    "profile",
    "authorization",
    "role",
    "local",
];

/// A user task's parameters, typed.
#[derive(Debug, Clone)]
pub(crate) struct UserTask {
    pub name: String,
    pub present: bool,
    pub uid: Option<u32>,
    pub non_unique: bool,
    pub group: Option<String>,
    /// `groups` as given; `Some(empty)` removes every supplementary group.
    pub groups: Option<Vec<String>>,
    pub append: bool,
    pub comment: Option<String>,
    pub home: Option<String>,
    pub shell: Option<String>,
    pub password: Option<String>,
    /// `update_password: always` (the default).
    pub update_password: bool,
    pub password_lock: Option<bool>,
    pub create_home: bool,
    pub skeleton: Option<String>,
    pub umask: Option<String>,
    pub move_home: bool,
    pub system: bool,
    pub force: bool,
    pub remove: bool,
}

impl Module for UserModule {
    fn name(&self) -> &'static str {
        "user"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn prepare(&self, args: Args, _: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        Ok(Box::new(UserTask::from_args(&args)?))
    }
}

impl UserTask {
    fn from_args(args: &Args) -> Result<UserTask, ParamError> {
        if let Some(n) = UNSUPPORTED
            .iter()
            .find(|n| args.has(n) && args.bool(n) != Some(false))
        {
            return Err(ParamError::new(
                *n,
                format!("parameter '{n}' is not supported by tend yet"),
            ));
        }
        let name = args.req_str("name")?.to_string();
        check_name("user", &name).map_err(|e| ParamError::new("name", e))?;
        let uid =
            match args.int("uid") {
                Some(n) => Some(u32::try_from(n).map_err(|_| {
                    ParamError::new("uid", format!("uid must be 0 or more, got {n}"))
                })?),
                None => None,
            };
        let groups = args.strings("groups").map(|gs| {
            let mut out: Vec<String> = Vec::new();
            for g in gs.into_iter().map(|g| g.trim().to_string()) {
                if !g.is_empty() && !out.contains(&g) {
                    out.push(g);
                }
            }
            out
        });
        for g in args
            .str("group")
            .into_iter()
            .chain(groups.iter().flatten().map(String::as_str))
        {
            check_name("group", g).map_err(|e| ParamError::new("groups", e))?;
        }
        let text = |key: &str| -> Result<Option<String>, ParamError> {
            match args.string(key) {
                Some(v) if v.contains(['\n', ':']) => Err(ParamError::new(
                    key,
                    format!("{key} must not contain a newline or ':'"),
                )),
                v => Ok(v),
            }
        };
        if let Some(m) = args.str("umask")
            && (m.is_empty() || m.len() > 4 || !m.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        {
            return Err(ParamError::new(
                "umask",
                format!("umask must be octal, got '{m}'"),
            ));
        }
        Ok(UserTask {
            name,
            present: args.str("state") != Some("absent"),
            uid,
            non_unique: args.bool_or("non_unique", false),
            group: args.string("group"),
            groups,
            append: args.bool_or("append", false),
            comment: text("comment")?,
            home: text("home")?,
            shell: text("shell")?,
            password: text("password")?,
            update_password: args.str("update_password") != Some("on_create"),
            password_lock: args.bool("password_lock"),
            create_home: args.bool_or("create_home", true),
            skeleton: args.string("skeleton"),
            umask: args.string("umask"),
            move_home: args.bool_or("move_home", false),
            system: args.bool_or("system", false),
            force: args.bool_or("force", false),
            remove: args.bool_or("remove", false),
        })
    }
}

impl Task for UserTask {
    fn probe(&self) -> Option<String> {
        Some(accounts::user_script(&self.name, self.home.as_deref()))
    }

    fn plan(&self, observed: Option<&Observed>) -> Result<Plan, TaskError> {
        let obs = observed.ok_or_else(|| TaskError::new("the user probe did not run"))?;
        if obs.rc != 0 {
            return Err(TaskError::new(format!(
                "the user probe failed (rc {}): {}",
                obs.rc,
                String::from_utf8_lossy(&obs.stderr).trim()
            )));
        }
        let facts = accounts::parse_user(&self.name, &obs.stdout)?;
        plan::plan(self, &facts)
    }

    fn finish(&self, plan: &Plan, outputs: &[StepOutput]) -> Result<Map, TaskError> {
        Ok(plan::finish(plan, outputs))
    }
}

#[cfg(test)]
mod tests;
