//! What a module may ask of the controller while it prepares a task: files
//! from the playbook's `files/` and `templates/`, template rendering and
//! expression evaluation with the host's variables. All of it happens on the
//! controller, never on the host.

use std::path::PathBuf;

use crate::Value;

/// A template file the `template` module renders: Ansible tells the
/// template where it comes from and where it goes (`template_path`,
/// `template_destpath`...).
#[derive(Clone, Copy, Debug)]
pub struct TemplateFile<'a> {
    /// `src` as the task gave it.
    pub src: &'a str,
    /// `dest` as the task gave it.
    pub dest: &'a str,
    /// The template's text.
    pub text: &'a str,
}

pub trait Controller {
    /// Reads a file a task names by `src`, searched as Ansible does
    /// (`files/` for copy, `templates/` for template, then beside the playbook).
    fn read_src(&self, path: &str, subdir: &str) -> Result<Vec<u8>, String>;
    /// Where the directory a task names by `src` is, when the same search
    /// finds a directory first (`copy` of a tree); `None` otherwise.
    fn src_dir(&self, path: &str, subdir: &str) -> Option<PathBuf> {
        let _ = (path, subdir);
        None
    }
    /// Renders template text with the host's variables.
    fn render(&self, text: &str) -> Result<String, String>;
    /// Renders a template file with the host's variables and the
    /// `template_*` variables of that file.
    fn render_template(&self, file: &TemplateFile<'_>) -> Result<String, String> {
        self.render(file.text)
    }
    /// Evaluates a bare Jinja expression (as in `when`) with the host's variables.
    fn eval(&self, expr: &str) -> Result<Value, String>;
    /// Whether the run is in check mode.
    fn check_mode(&self) -> bool;
    /// Reads a YAML (or JSON) file searched like `read_src`, as data; a
    /// syntax error names the file, line and column. Returns the value
    /// and the path it was read from.
    fn read_yaml(&self, path: &str, subdir: &str) -> Result<(Value, String), String> {
        let _ = subdir;
        Err(format!("cannot read '{path}' here: no YAML reader"))
    }
}
