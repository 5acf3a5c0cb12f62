//! `include_tasks`: a task file read when the task runs, for each host.

use std::path::Path;
use std::sync::Arc;

use super::host::{Flow, HostRun, Scope};
use super::outcome::Outcome;
use super::play::SitePath;
use crate::playbook::{Keywords, RoleScope, Task};

impl HostRun<'_, '_> {
    #[allow(clippy::too_many_arguments)]
    pub fn include_tasks(
        &mut self,
        task: &Task,
        file: &str,
        base_dir: &Path,
        role: Option<Arc<RoleScope>>,
        kw: &Keywords,
        path: &mut SitePath,
        scope: &Scope,
    ) -> Flow {
        let header = format!("TASK [{}]", self.task_title(task, scope));
        let vars = self.task_vars(scope, kw, None);
        match self.ctx_conditions(kw, &vars) {
            Ok(true) => {}
            Ok(false) => {
                let outcome = Outcome::skipped("Conditional result was False", None);
                return self.finish_task(task, kw, path.clone(), header, outcome);
            }
            Err(e) => return self.finish_task(task, kw, path.clone(), header, Outcome::failed(e)),
        }
        let name = match self.ctx.templar.render_str(file, &vars) {
            Ok(n) => n,
            Err(e) => {
                return self.finish_task(
                    task,
                    kw,
                    path.clone(),
                    header,
                    Outcome::failed(format!("{}: {e}", task.loc)),
                );
            }
        };
        let full = crate::playbook::resolve_task_file(base_dir, &name);
        let items = match self.ctx.load_include(&full, role.clone()) {
            Ok(items) => items,
            Err(e) => return self.finish_task(task, kw, path.clone(), header, Outcome::failed(e)),
        };
        // Ansible counts an include as an ok task of the host.
        self.mem.stats.ok += 1;
        self.send(super::play::Event::Included {
            host: self.index,
            path: path.clone(),
            header,
            file: full.display().to_string(),
        });
        let inner = Scope {
            keywords: Keywords {
                when: Vec::new(),
                ..kw.clone()
            }
            .inherit(&Keywords::default()),
            role: role.or_else(|| scope.role.clone()),
        };
        path.push(1);
        let flow = self.run_items(&items, path, &inner);
        path.pop();
        flow
    }

    fn ctx_conditions(
        &self,
        kw: &Keywords,
        vars: &crate::templating::Vars,
    ) -> Result<bool, String> {
        for cond in &kw.when {
            if !self
                .ctx
                .templar
                .eval_bool(cond, vars)
                .map_err(|e| format!("The conditional check '{cond}' failed. The error was: {e}"))?
            {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
