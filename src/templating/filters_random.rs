//! Ansible's `random` filter: a random item of a list, or a random number
//! below an integer (`randrange(start, end, step)`), repeatable with a
//! `seed`. The generator is not Python's Mersenne Twister, so a seeded
//! choice is the same in every run of one tend build, but not the one
//! Ansible makes.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use minijinja::value::{Kwargs, Value as MjValue, ValueKind};
use minijinja::{Environment, Error};

use super::convert::{arg, need, op_err};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("random", random);
}

/// `random(start=None, step=None, seed=None)`.
fn random(
    end: &MjValue,
    start: Option<i64>,
    step: Option<i64>,
    kwargs: Kwargs,
) -> Result<MjValue, Error> {
    need(end)?;
    let start = arg(start, &kwargs, "start")?;
    let step = arg(step, &kwargs, "step")?;
    let seed = kwargs.get::<Option<MjValue>>("seed")?;
    kwargs.assert_all_used()?;
    let mut rng = Rng::new(seed.as_ref());
    if let Some(end) = end.as_i64().filter(|_| end.kind() == ValueKind::Number) {
        let start = start.unwrap_or(0);
        let step = step.filter(|s| *s != 0).unwrap_or(1);
        return randrange(&mut rng, start, end, step).map(MjValue::from);
    }
    if start.is_some_and(|s| s != 0) || step.is_some_and(|s| s != 0) {
        return Err(op_err(
            "random",
            "start and step can only be used with integer values",
        ));
    }
    let items: Vec<MjValue> = end
        .try_iter()
        .map_err(|_| {
            op_err(
                "random",
                "random can only be used on sequences and integers",
            )
        })?
        .collect();
    if items.is_empty() {
        return Err(op_err("random", "cannot choose from an empty sequence"));
    }
    Ok(items[rng.below(items.len() as u64) as usize].clone())
}

/// Python's `randrange(start, stop, step)`.
pub(crate) fn randrange(rng: &mut Rng, start: i64, stop: i64, step: i64) -> Result<i64, Error> {
    let span = stop as i128 - start as i128;
    let count = if step > 0 {
        (span + step as i128 - 1) / step as i128
    } else {
        (span + step as i128 + 1) / step as i128
    };
    if count <= 0 {
        return Err(op_err(
            "random",
            format!("empty range in randrange({start}, {stop}, {step})"),
        ));
    }
    let pick = rng.below(count as u64) as i128;
    Ok((start as i128 + pick * step as i128) as i64)
}

/// A small generator (splitmix64): seeded from `seed`'s text, or from the
/// clock and a counter.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: Option<&MjValue>) -> Rng {
        static CALLS: AtomicU64 = AtomicU64::new(0);
        let mut hasher = DefaultHasher::new();
        match seed {
            Some(seed) => seed.to_string().hash(&mut hasher),
            None => {
                let nanos = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                (nanos, CALLS.fetch_add(1, Ordering::Relaxed)).hash(&mut hasher);
            }
        }
        Rng(hasher.finish())
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
