//! Declared parameters of a module: names, aliases, kinds, choices.
//!
//! The spec lets the engine reject unknown or missing parameters and values
//! of the wrong type before any host is contacted, and lets `Args` hand the
//! module typed values after templating.

/// What kind of value a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string; numbers and booleans are accepted and stringified, as Ansible does.
    Str,
    /// A boolean; also `yes`/`no`/`on`/`off`/`1`/`0` and their strings.
    Bool,
    /// An integer, or a string holding one.
    Int,
    /// A file mode: an octal string (`"0644"`, `"u+rwx"`) or an integer.
    Mode,
    /// A list; a comma-separated string is split into one.
    List,
    /// A mapping.
    Dict,
    /// Anything, templated.
    Any,
    /// Anything, left untemplated: a bare expression evaluated by the module
    /// (`assert`'s `that`, `debug`'s `var`).
    Raw,
}

/// One parameter of a module.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    pub required: bool,
    /// Allowed values; empty means any.
    pub choices: &'static [&'static str],
}

impl Param {
    pub const fn new(name: &'static str, kind: Kind) -> Param {
        Param {
            name,
            aliases: &[],
            kind,
            required: false,
            choices: &[],
        }
    }
    pub const fn required(mut self) -> Param {
        self.required = true;
        self
    }
    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> Param {
        self.aliases = aliases;
        self
    }
    pub const fn choices(mut self, choices: &'static [&'static str]) -> Param {
        self.choices = choices;
        self
    }
    /// Whether `key` names this parameter, by name or alias.
    pub fn answers_to(&self, key: &str) -> bool {
        self.name == key || self.aliases.contains(&key)
    }
}

/// Finds the parameter that `key` names.
pub fn find<'a>(params: &'a [Param], key: &str) -> Option<&'a Param> {
    params.iter().find(|p| p.answers_to(key))
}
