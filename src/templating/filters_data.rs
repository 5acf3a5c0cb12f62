//! Ansible's data-shaping filters: `combine`, `dict2items`/`items2dict`,
//! `flatten`, the set operations, `zip_longest`, `extract`, `subelements`.
//! Conversions to and from JSON and YAML text are in `filters_serial.rs`.

use minijinja::value::{Kwargs, Rest, Value as MjValue, ValueKind};
use minijinja::{Environment, Error};
use serde_json::{Map, Value as Json};

use super::convert::{arg, json_to_mj, mj_to_json, need, op_err};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("combine", combine);
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("flatten", flatten);
    env.add_filter("union", |a: &MjValue, b: &MjValue| set_op("union", a, b));
    env.add_filter("intersect", |a: &MjValue, b: &MjValue| {
        set_op("intersect", a, b)
    });
    env.add_filter("difference", |a: &MjValue, b: &MjValue| {
        set_op("difference", a, b)
    });
    env.add_filter("symmetric_difference", |a: &MjValue, b: &MjValue| {
        set_op("symmetric_difference", a, b)
    });
    env.add_filter("zip_longest", zip_longest);
    env.add_filter("product", product);
    env.add_filter("extract", extract);
    env.add_filter("subelements", subelements);
}

/// `combine(*dicts, recursive=False, list_merge='replace')`, Ansible's
/// `merge_hash` applied left to right; arguments may also be lists of dicts.
fn combine(value: &MjValue, pos: Rest<MjValue>, kwargs: Kwargs) -> Result<MjValue, Error> {
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let list_merge = kwargs
        .get::<Option<String>>("list_merge")?
        .unwrap_or_else(|| "replace".into());
    kwargs.assert_all_used()?;
    if ![
        "replace",
        "keep",
        "append",
        "prepend",
        "append_rp",
        "prepend_rp",
    ]
    .contains(&list_merge.as_str())
    {
        return Err(op_err(
            "combine",
            format!(
                "list_merge must be one of replace, keep, append, prepend, append_rp, prepend_rp; got '{list_merge}'"
            ),
        ));
    }
    let mut dicts = Vec::new();
    for term in std::iter::once(value).chain(pos.iter()) {
        match mj_to_json(term)? {
            Json::Array(items) => dicts.extend(items),
            other => dicts.push(other),
        }
    }
    let mut result = Map::new();
    for d in dicts {
        match d {
            Json::Object(map) => merge_hash(&mut result, map, recursive, &list_merge),
            other => {
                return Err(op_err(
                    "combine",
                    format!("expected dictionaries, got {}", json_type(&other)),
                ));
            }
        }
    }
    Ok(json_to_mj(&Json::Object(result)))
}

fn merge_hash(x: &mut Map<String, Json>, y: Map<String, Json>, recursive: bool, list_merge: &str) {
    for (key, y_value) in y {
        // Taken in place, not removed: an overridden key keeps its position,
        // as in a Python dict.
        let merged = match (x.get_mut(&key).map(Json::take), y_value) {
            (Some(Json::Object(mut xm)), Json::Object(ym)) if recursive => {
                merge_hash(&mut xm, ym, recursive, list_merge);
                Json::Object(xm)
            }
            (Some(Json::Array(xl)), Json::Array(yl)) => Json::Array(match list_merge {
                "keep" => xl,
                "append" => xl.into_iter().chain(yl).collect(),
                "prepend" => yl.into_iter().chain(xl).collect(),
                "append_rp" => {
                    let mut kept: Vec<Json> = xl.into_iter().filter(|i| !yl.contains(i)).collect();
                    kept.extend(yl);
                    kept
                }
                "prepend_rp" => {
                    let rest: Vec<Json> = xl.into_iter().filter(|i| !yl.contains(i)).collect();
                    yl.into_iter().chain(rest).collect()
                }
                _ => yl,
            }),
            (_, y_value) => y_value,
        };
        x.insert(key, merged);
    }
}

fn json_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "NoneType",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

fn dict2items(value: &MjValue, kwargs: Kwargs) -> Result<MjValue, Error> {
    need(value)?;
    let key_name = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".into());
    let value_name = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".into());
    kwargs.assert_all_used()?;
    if value.kind() != ValueKind::Map {
        return Err(op_err(
            "dict2items",
            format!(
                "dict2items requires a dictionary, got {} instead",
                value.kind()
            ),
        ));
    }
    let mut out = Vec::new();
    for key in value.try_iter()? {
        let item = value.get_item(&key)?;
        out.push(MjValue::from_pairs([
            (key_name.as_str(), key),
            (value_name.as_str(), item),
        ]));
    }
    Ok(MjValue::from(out))
}

fn items2dict(value: &MjValue, kwargs: Kwargs) -> Result<MjValue, Error> {
    need(value)?;
    let key_name = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".into());
    let value_name = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".into());
    kwargs.assert_all_used()?;
    if value.kind() != ValueKind::Seq {
        return Err(op_err(
            "items2dict",
            format!("items2dict requires a list, got {} instead", value.kind()),
        ));
    }
    let mut pairs = Vec::new();
    for item in value.try_iter()? {
        let k = item.get_attr(&key_name).ok().filter(|v| !v.is_undefined());
        let v = item
            .get_attr(&value_name)
            .ok()
            .filter(|v| !v.is_undefined());
        match (k, v) {
            (Some(k), Some(v)) => pairs.push((k, v)),
            _ => {
                return Err(op_err(
                    "items2dict",
                    format!("each item needs the keys '{key_name}' and '{value_name}', got {item}"),
                ));
            }
        }
    }
    Ok(MjValue::from_pairs(pairs))
}

/// `flatten(levels=None, skip_nulls=True)`.
fn flatten(value: &MjValue, levels: Option<i64>, kwargs: Kwargs) -> Result<MjValue, Error> {
    need(value)?;
    let levels = match levels {
        Some(l) => Some(l),
        None => kwargs.get::<Option<i64>>("levels")?,
    };
    let skip_nulls = kwargs.get::<Option<bool>>("skip_nulls")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    let mut out = Vec::new();
    flatten_into(&mut out, value, levels, skip_nulls)?;
    Ok(MjValue::from(out))
}

fn flatten_into(
    out: &mut Vec<MjValue>,
    list: &MjValue,
    levels: Option<i64>,
    skip_nulls: bool,
) -> Result<(), Error> {
    for item in list.try_iter()? {
        let is_null = item.is_none() || matches!(item.as_str(), Some("None" | "null"));
        if skip_nulls && is_null {
            continue;
        }
        match (item.kind(), levels) {
            (ValueKind::Seq, None) => flatten_into(out, &item, None, skip_nulls)?,
            (ValueKind::Seq, Some(l)) if l >= 1 => {
                flatten_into(out, &item, Some(l - 1), skip_nulls)?
            }
            _ => out.push(item),
        }
    }
    Ok(())
}

/// The list set operations; results keep first-seen order, without repeats.
fn set_op(what: &str, a: &MjValue, b: &MjValue) -> Result<MjValue, Error> {
    need(a)?;
    need(b)?;
    let a: Vec<MjValue> = a.try_iter().map_err(|e| op_err(what, e))?.collect();
    let b: Vec<MjValue> = b.try_iter().map_err(|e| op_err(what, e))?.collect();
    let items: Vec<MjValue> = match what {
        "union" => a.iter().chain(b.iter()).cloned().collect(),
        "intersect" => a.iter().filter(|x| b.contains(x)).cloned().collect(),
        "difference" => a.iter().filter(|x| !b.contains(x)).cloned().collect(),
        _ => a
            .iter()
            .filter(|x| !b.contains(x))
            .chain(b.iter().filter(|x| !a.contains(x)))
            .cloned()
            .collect(),
    };
    let mut unique: Vec<MjValue> = Vec::with_capacity(items.len());
    for item in items {
        if !unique.contains(&item) {
            unique.push(item);
        }
    }
    Ok(MjValue::from(unique))
}

fn zip_longest(value: &MjValue, pos: Rest<MjValue>, kwargs: Kwargs) -> Result<MjValue, Error> {
    let fill = kwargs
        .get::<Option<MjValue>>("fillvalue")?
        .unwrap_or(MjValue::from(()));
    kwargs.assert_all_used()?;
    let mut lists = Vec::new();
    for list in std::iter::once(value).chain(pos.iter()) {
        need(list)?;
        lists.push(list.try_iter()?.collect::<Vec<_>>());
    }
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok(MjValue::from(
        (0..longest)
            .map(|i| {
                MjValue::from(
                    lists
                        .iter()
                        .map(|l| l.get(i).cloned().unwrap_or(fill.clone()))
                        .collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>(),
    ))
}

/// `product(*lists, repeat=1)`: Python's `itertools.product`, each
/// combination a list.
fn product(value: &MjValue, pos: Rest<MjValue>, kwargs: Kwargs) -> Result<MjValue, Error> {
    let repeat = kwargs.get::<Option<usize>>("repeat")?.unwrap_or(1);
    kwargs.assert_all_used()?;
    let mut pools = Vec::new();
    for list in std::iter::once(value).chain(pos.iter()) {
        need(list)?;
        pools.push(list.try_iter()?.collect::<Vec<_>>());
    }
    let pools: Vec<Vec<MjValue>> = std::iter::repeat_n(pools, repeat).flatten().collect();
    Ok(MjValue::from(
        cartesian(&pools)
            .into_iter()
            .map(MjValue::from)
            .collect::<Vec<_>>(),
    ))
}

/// Every combination of one item from each pool, the last pool varying
/// fastest.
pub(crate) fn cartesian<T: Clone>(pools: &[Vec<T>]) -> Vec<Vec<T>> {
    let mut combos: Vec<Vec<T>> = vec![Vec::new()];
    for pool in pools {
        combos = combos
            .iter()
            .flat_map(|combo| {
                pool.iter().map(move |item| {
                    let mut next = combo.clone();
                    next.push(item.clone());
                    next
                })
            })
            .collect();
    }
    combos
}

/// `extract(container, morekeys=None)`: `container[item]`, then each key.
fn extract(
    item: &MjValue,
    container: &MjValue,
    morekeys: Option<MjValue>,
    kwargs: Kwargs,
) -> Result<MjValue, Error> {
    need(item)?;
    let morekeys = arg(morekeys, &kwargs, "morekeys")?;
    kwargs.assert_all_used()?;
    let mut value = container.get_item(item)?;
    if let Some(keys) = morekeys {
        let keys: Vec<MjValue> = match keys.kind() {
            ValueKind::Seq => keys.try_iter()?.collect(),
            _ => vec![keys],
        };
        for key in keys {
            value = value.get_item(&key)?;
        }
    }
    Ok(value)
}

/// `subelements('a.b', skip_missing=False)`: pairs of each item with each
/// element of its list at that (dotted) key, for `loop`.
fn subelements(
    value: &MjValue,
    path: String,
    skip_missing: Option<bool>,
    kwargs: Kwargs,
) -> Result<MjValue, Error> {
    need(value)?;
    let skip_missing = arg(skip_missing, &kwargs, "skip_missing")?;
    kwargs.assert_all_used()?;
    let items: Vec<MjValue> = match value.kind() {
        ValueKind::Map => value
            .try_iter()?
            .map(|k| value.get_item(&k))
            .collect::<Result<_, _>>()?,
        _ => value.try_iter()?.collect(),
    };
    let mut out = Vec::new();
    for item in items {
        let mut sub = item.clone();
        for key in path.split('.') {
            sub = sub.get_attr(key)?;
        }
        if sub.is_undefined() {
            if skip_missing.unwrap_or(false) {
                continue;
            }
            return Err(op_err(
                "subelements",
                format!("could not find '{path}' key in iterated item {item}"),
            ));
        }
        if sub.kind() != ValueKind::Seq {
            return Err(op_err(
                "subelements",
                format!("the key '{path}' should point to a list, got {sub}"),
            ));
        }
        for element in sub.try_iter()? {
            out.push(MjValue::from(vec![item.clone(), element]));
        }
    }
    Ok(MjValue::from(out))
}
