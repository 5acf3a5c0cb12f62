//! What modules may ask of the controller while preparing a task: source
//! files searched as Ansible searches them, templates and expressions
//! rendered with the host's variables.

use std::path::PathBuf;

use serde_json::Value;

use super::host::Scope;
use super::play::PlayCtx;
use crate::templating::Vars;

pub struct TaskController<'a> {
    ctx: &'a PlayCtx<'a>,
    search: Vec<PathBuf>,
    vars: &'a Vars,
    check: bool,
}

impl<'a> TaskController<'a> {
    pub fn new(ctx: &'a PlayCtx<'a>, scope: &Scope, vars: &'a Vars, check: bool) -> Self {
        let mut search = Vec::new();
        if let Some(role) = &scope.role {
            search.push(role.path.clone());
        }
        search.push(ctx.playbook_dir.clone());
        TaskController {
            ctx,
            search,
            vars,
            check,
        }
    }
}

impl tend_modules::Controller for TaskController<'_> {
    fn read_src(&self, path: &str, subdir: &str) -> Result<Vec<u8>, String> {
        let p = PathBuf::from(path);
        let candidates: Vec<PathBuf> = if p.is_absolute() {
            vec![p]
        } else {
            self.search
                .iter()
                .flat_map(|dir| [dir.join(subdir).join(path), dir.join(path)])
                .collect()
        };
        for c in &candidates {
            if c.is_file() {
                return std::fs::read(c)
                    .map_err(|e| format!("could not read '{}': {e}", c.display()));
            }
        }
        let looked: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
        Err(format!(
            "could not find '{path}'; looked in: {}",
            looked.join(", ")
        ))
    }

    fn render(&self, text: &str) -> Result<String, String> {
        self.ctx
            .templar
            .render_file("template", text, self.vars)
            .map_err(|e| e.to_string())
    }

    fn eval(&self, expr: &str) -> Result<Value, String> {
        self.ctx
            .templar
            .eval(expr, self.vars)
            .map_err(|e| e.to_string())
    }

    fn check_mode(&self) -> bool {
        self.check
    }
}
