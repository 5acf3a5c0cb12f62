//! `meta`: instructions to the engine itself (`flush_handlers`, `end_play`,
//! ...). The module checks the action; the engine carries it out.

use crate::debug::Done;
use crate::{Args, Controller, Kind, Map, Module, Param, ParamError, Task, Value};

pub struct MetaModule;

/// The actions tend carries out.
pub const ACTIONS: &[&str] = &[
    "flush_handlers",
    "noop",
    "end_play",
    "end_host",
    "end_batch",
    "clear_host_errors",
    "refresh_inventory",
    "clear_facts",
];

const PARAMS: &[Param] = &[Param::new("_raw_params", Kind::Str)
    .required()
    .choices(ACTIONS)];

impl Module for MetaModule {
    fn name(&self) -> &'static str {
        "meta"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn free_form(&self) -> bool {
        true
    }
    fn local(&self) -> bool {
        true
    }
    fn prepare(&self, args: Args, _: &dyn Controller) -> Result<Box<dyn Task>, ParamError> {
        let mut result = Map::new();
        result.insert(
            "_meta".into(),
            Value::String(args.req_str("_raw_params")?.to_string()),
        );
        Ok(Box::new(Done(result)))
    }
}
