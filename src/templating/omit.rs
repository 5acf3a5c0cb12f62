//! The `omit` variable. Ansible 2.19 makes it a value of its own type, not a
//! string: `omit is string` is false, and a parameter, list item or map entry
//! whose value is `omit` is dropped when the template's result is kept.

use std::fmt;
use std::sync::{Arc, LazyLock};

use minijinja::value::{Object, ObjectRepr, Value as MjValue};

use super::OMIT_PLACEHOLDER;

#[derive(Debug)]
struct Omit;

impl Object for Omit {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    // Printed into a larger string, omit is its placeholder (the engine drops
    // a parameter that renders to exactly that).
    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(OMIT_PLACEHOLDER)
    }
}

static OMIT: LazyLock<MjValue> = LazyLock::new(|| MjValue::from_object(Omit));

/// The value templates see as `omit`.
pub(crate) fn omit() -> MjValue {
    OMIT.clone()
}

pub(crate) fn is_omit(v: &MjValue) -> bool {
    v.downcast_object_ref::<Omit>().is_some()
}
