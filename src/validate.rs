//! Static checks of a loaded playbook, made before any host is contacted:
//! template and expression syntax everywhere, and that every notified
//! handler exists. (Parameters and keywords were checked while loading.)

use serde_json::Value;

use crate::error::Error;
use crate::inventory::Inventory;
use crate::playbook::{Item, Play, Playbook, Task, TaskAction};
use crate::templating::Templar;
use crate::yaml::Loc;

pub fn check(playbook: &Playbook, inventory: &Inventory) -> Result<(), Error> {
    let templar = Templar::new();
    let _ = inventory;
    for play in &playbook.plays {
        templar
            .check_syntax(&play.hosts)
            .map_err(|e| Error::at(&play.loc, format!("hosts: {e}")))?;
        let handlers = handler_names(&play.handlers);
        for items in [
            &play.pre_tasks,
            &play.tasks,
            &play.post_tasks,
            &play.handlers,
        ] {
            check_items(items, &templar, &handlers)?;
        }
    }
    Ok(())
}

/// Tasks in a play, counting into blocks (not into runtime includes).
pub fn count_tasks(play: &Play) -> usize {
    fn count(items: &[Item]) -> usize {
        items
            .iter()
            .map(|i| match i {
                Item::Task(t) => match &t.action {
                    TaskAction::IncludeRole { items, .. } => 1 + count(items),
                    _ => 1,
                },
                Item::Block(b) => count(&b.block) + count(&b.rescue) + count(&b.always),
            })
            .sum()
    }
    count(&play.pre_tasks) + count(&play.tasks) + count(&play.post_tasks) + count(&play.handlers)
}

fn handler_names(items: &[Item]) -> Vec<String> {
    let mut names = Vec::new();
    for item in items {
        match item {
            Item::Task(t) => {
                names.extend(t.name.iter().cloned());
                names.extend(t.listen.iter().cloned());
            }
            Item::Block(b) => {
                for n in handler_names(&b.block) {
                    if let Some(role) = &b.role {
                        names.push(format!("{} : {n}", role.name));
                    }
                    names.push(n);
                }
            }
        }
    }
    names
}

fn check_items(items: &[Item], templar: &Templar, handlers: &[String]) -> Result<(), Error> {
    for item in items {
        match item {
            Item::Task(task) => {
                check_task(task, templar, handlers)?;
                if let TaskAction::IncludeRole { items, .. } = &task.action {
                    check_items(items, templar, handlers)?;
                }
            }
            Item::Block(block) => {
                for cond in &block.keywords.when {
                    templar
                        .check_expr_syntax(cond)
                        .map_err(|e| Error::at(&block.loc, format!("when: {e}")))?;
                }
                check_items(&block.block, templar, handlers)?;
                check_items(&block.rescue, templar, handlers)?;
                check_items(&block.always, templar, handlers)?;
            }
        }
    }
    Ok(())
}

fn check_task(task: &Task, templar: &Templar, handlers: &[String]) -> Result<(), Error> {
    let kw = &task.keywords;
    let exprs = kw
        .when
        .iter()
        .map(|c| ("when", c))
        .chain(
            kw.changed_when
                .iter()
                .flatten()
                .map(|c| ("changed_when", c)),
        )
        .chain(kw.failed_when.iter().flatten().map(|c| ("failed_when", c)))
        .chain(kw.until.iter().map(|c| ("until", c)));
    for (what, expr) in exprs {
        templar
            .check_expr_syntax(expr)
            .map_err(|e| Error::at(&task.loc, format!("{what}: {e}")))?;
    }
    if let TaskAction::Module {
        args,
        arg_locs,
        module,
        ..
    } = &task.action
    {
        for (key, value) in args {
            let raw = module
                .params()
                .iter()
                .any(|p| p.answers_to(key) && p.kind == tend_modules::Kind::Raw);
            let loc = arg_locs
                .iter()
                .find(|(k, _)| k == key)
                .map_or(&task.loc, |(_, l)| l);
            if raw {
                for expr in strings(value) {
                    templar
                        .check_expr_syntax(expr)
                        .map_err(|e| Error::at(loc, format!("{key}: {e}")))?;
                }
            } else {
                check_value(value, templar, loc, key)?;
            }
        }
    }
    for value in kw.loop_items.iter().chain(kw.vars.values()) {
        check_value(value, templar, &task.loc, "loop")?;
    }
    for name in &kw.notify {
        if !name.contains("{{") && !handlers.iter().any(|h| h == name) {
            return Err(Error::at(&task.loc, format!("this task notifies '{name}', but the play has no handler by that name or `listen` topic"))
                .help(if handlers.is_empty() {
                    "add a `handlers:` section to the play".to_string()
                } else {
                    format!("handlers of this play: {}", handlers.join(", "))
                }));
        }
    }
    Ok(())
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

fn check_value(value: &Value, templar: &Templar, loc: &Loc, key: &str) -> Result<(), Error> {
    match value {
        Value::String(s) if s.contains("{{") || s.contains("{%") => templar
            .check_syntax(s)
            .map_err(|e| Error::at(loc, format!("{key}: template error: {e}"))),
        Value::Array(items) => items
            .iter()
            .try_for_each(|v| check_value(v, templar, loc, key)),
        Value::Object(m) => m
            .values()
            .try_for_each(|v| check_value(v, templar, loc, key)),
        _ => Ok(()),
    }
}
