//! What modules may ask of the controller while preparing a task: source
//! files searched as Ansible searches them, templates and expressions
//! rendered with the host's variables.

use std::path::PathBuf;

use serde_json::Value;

use super::host::Scope;
use super::play::PlayCtx;
use crate::templating::{TemplateSource, Vars, with_template_vars};
use tend_modules::TemplateFile;

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

    /// Where a `src` may be, in Ansible's search order: the role's and
    /// the playbook's `subdir/`, then beside them.
    fn candidates(&self, path: &str, subdir: &str) -> Vec<PathBuf> {
        let p = PathBuf::from(path);
        if p.is_absolute() {
            return vec![p];
        }
        self.search
            .iter()
            .flat_map(|dir| [dir.join(subdir).join(path), dir.join(path)])
            .collect()
    }

    /// The first of the candidates that is a file.
    fn find(&self, path: &str, subdir: &str) -> Result<PathBuf, String> {
        let candidates = self.candidates(path, subdir);
        if let Some(found) = candidates.iter().find(|c| c.is_file()) {
            return Ok(found.clone());
        }
        let looked: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
        Err(format!(
            "could not find '{path}'; looked in: {}",
            looked.join(", ")
        ))
    }
}

impl tend_modules::Controller for TaskController<'_> {
    fn read_src(&self, path: &str, subdir: &str) -> Result<Vec<u8>, String> {
        let found = self.find(path, subdir)?;
        let bytes = std::fs::read(&found)
            .map_err(|e| format!("could not read '{}': {e}", found.display()))?;
        // Ansible decrypts vaulted `src` files on the controller.
        crate::vault::src_bytes(&found, bytes)
    }

    fn read_yaml(&self, path: &str, subdir: &str) -> Result<(Value, String), String> {
        let found = self.find(path, subdir)?;
        let node = crate::yaml::load_file(&found).map_err(|e| e.to_string())?;
        Ok((node.to_value(), found.display().to_string()))
    }

    fn src_dir(&self, path: &str, subdir: &str) -> Option<PathBuf> {
        // The first path that exists wins, file or directory, as in Ansible.
        self.candidates(path, subdir)
            .into_iter()
            .find(|c| c.exists())
            .filter(|c| c.is_dir())
    }

    fn render(&self, text: &str) -> Result<String, String> {
        self.ctx
            .templar
            .render_file("template", text, self.vars)
            .map_err(|e| e.to_string())
    }

    fn render_template(&self, file: &TemplateFile<'_>) -> Result<String, String> {
        let found = self.find(file.src, "templates")?;
        let fullpath = std::path::absolute(&found).unwrap_or(found);
        let source = TemplateSource {
            src: file.src,
            fullpath: &fullpath,
            dest: file.dest,
        };
        let vars = with_template_vars(self.vars, &source);
        self.ctx
            .templar
            .render_file("template", file.text, &vars)
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
