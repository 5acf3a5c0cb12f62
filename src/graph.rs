//! The task graph of a play for a host: tasks in Ansible's order, notify
//! edges to handlers, register→use dataflow, and the resource each task
//! touches (path, package, unit), as a petgraph DAG.

use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use serde_json::Value;

use crate::error::Error;
use crate::playbook::{Item, Play, Task, TaskAction};

/// What an edge means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// The next task in Ansible's order.
    Order,
    /// The task notifies the handler.
    Notify,
    /// The task uses a variable an earlier task registered.
    Uses,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub title: String,
    pub module: String,
    /// The resource the task touches, when its parameters name one.
    pub resource: Option<String>,
    pub handler: bool,
    /// The names a handler answers to: its name, `role : name`, its `listen` topics.
    pub answers_to: Vec<String>,
    pub register: Option<String>,
    pub text: String,
}

pub struct TaskGraph {
    pub graph: DiGraph<Node, Edge>,
}

impl TaskGraph {
    pub fn of_play(play: &Play) -> Result<TaskGraph, Error> {
        let mut graph = DiGraph::new();
        let mut order = Vec::new();
        for items in [&play.pre_tasks, &play.tasks, &play.post_tasks] {
            add_items(items, &mut graph, &mut order, false, None);
        }
        for pair in order.windows(2) {
            graph.add_edge(pair[0], pair[1], Edge::Order);
        }
        let mut handlers = Vec::new();
        add_items(&play.handlers, &mut graph, &mut handlers, true, None);
        let mut edges = Vec::new();
        for &task in &order {
            let text = graph[task].text.clone();
            for &h in &handlers {
                let notified = graph[h]
                    .answers_to
                    .iter()
                    .any(|name| text.contains(&format!("\u{1}notify:{name}\u{1}")));
                if notified {
                    edges.push((task, h, Edge::Notify));
                }
            }
            for &earlier in order.iter().take_while(|&&t| t != task) {
                if let Some(reg) = &graph[earlier].register {
                    if uses(&text, reg) {
                        edges.push((earlier, task, Edge::Uses));
                    }
                }
            }
        }
        for (a, b, e) in edges {
            graph.add_edge(a, b, e);
        }
        toposort(&graph, None).map_err(|cycle| {
            Error::plain(format!(
                "the task graph has a cycle through '{}'",
                graph[cycle.node_id()].title
            ))
        })?;
        Ok(TaskGraph { graph })
    }

    /// The graph as one Graphviz digraph named `title`.
    pub fn to_dot(&self, title: &str) -> String {
        let (nodes, edges) = self.dot_lines("");
        format!(
            "digraph \"{}\" {{\n  rankdir=TB;\n  node [shape=box];\n{nodes}{edges}}}\n",
            esc(title)
        )
    }

    /// The graph as a Graphviz cluster named `title`, its node ids prefixed
    /// with `prefix` so that several plays fit in one `digraph`.
    pub fn to_dot_cluster(&self, prefix: &str, title: &str) -> String {
        let (nodes, edges) = self.dot_lines(prefix);
        format!(
            "  subgraph \"cluster_{prefix}\" {{\n    label=\"{}\";\n{nodes}  }}\n{edges}",
            esc(title)
        )
    }

    fn dot_lines(&self, prefix: &str) -> (String, String) {
        let mut nodes = String::new();
        for i in self.graph.node_indices() {
            let n = &self.graph[i];
            let mut label = format!("{}\\n({})", esc(&n.title), esc(&n.module));
            if let Some(r) = &n.resource {
                label.push_str(&format!("\\n{}", esc(r)));
            }
            let style = if n.handler { ", style=dashed" } else { "" };
            nodes.push_str(&format!(
                "  {prefix}n{} [label=\"{label}\"{style}];\n",
                i.index()
            ));
        }
        let mut edges = String::new();
        for e in self.graph.edge_indices() {
            let Some((a, b)) = self.graph.edge_endpoints(e) else {
                continue;
            };
            let attr = match self.graph[e] {
                Edge::Order => "",
                Edge::Notify => " [style=dashed, label=\"notify\"]",
                Edge::Uses => " [color=blue, label=\"uses\"]",
            };
            edges.push_str(&format!(
                "  {prefix}n{} -> {prefix}n{}{attr};\n",
                a.index(),
                b.index()
            ));
        }
        (nodes, edges)
    }
}

fn add_items(
    items: &[Item],
    graph: &mut DiGraph<Node, Edge>,
    out: &mut Vec<NodeIndex>,
    handler: bool,
    role: Option<&str>,
) {
    for item in items {
        match item {
            Item::Task(t) => out.push(graph.add_node(node(t, handler, role))),
            Item::Block(b) => {
                let role = b.role.as_ref().map(|r| r.name.as_str()).or(role);
                add_items(&b.block, graph, out, handler, role);
                add_items(&b.rescue, graph, out, handler, role);
                add_items(&b.always, graph, out, handler, role);
            }
        }
    }
}

fn node(task: &Task, handler: bool, role: Option<&str>) -> Node {
    let title = match role {
        Some(r) => format!("{r} : {}", task.display_name()),
        None => task.display_name(),
    };
    let (resource, mut text) = match &task.action {
        TaskAction::Module { args, module, .. } => {
            let key = ["path", "dest", "name", "src"]
                .into_iter()
                .find(|k| args.contains_key(*k));
            let resource = key
                .and_then(|k| args.get(k))
                .map(|v| format!("{}: {}", module.name(), show(v)));
            (resource, Value::Object(args.clone()).to_string())
        }
        TaskAction::IncludeTasks { file, .. } => (Some(format!("file: {file}")), String::new()),
        TaskAction::IncludeRole { items, .. } => (None, format!("{} role item(s)", items.len())),
    };
    for c in task
        .keywords
        .when
        .iter()
        .chain(task.keywords.changed_when.iter().flatten())
        .chain(task.keywords.failed_when.iter().flatten())
    {
        text.push(' ');
        text.push_str(c);
    }
    for n in &task.keywords.notify {
        text.push_str(&format!("\u{1}notify:{n}\u{1}"));
    }
    let mut answers_to = vec![task.display_name(), title.clone()];
    answers_to.extend(task.listen.iter().cloned());
    Node {
        title,
        answers_to,
        module: task.module_name().to_string(),
        resource,
        handler,
        register: task.keywords.register.clone(),
        text,
    }
}

/// Whether `text` mentions the variable `name` as a whole word.
fn uses(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !word(before) && !word(after)
    })
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    #[test]
    fn whole_word_uses() {
        assert!(super::uses("{{ out.stdout }}", "out"));
        assert!(!super::uses("{{ output }}", "out"));
    }
}
