//! The fuzz targets' kept inputs and the kinds of hostile input issue 8
//! names, run with plain `cargo test` through the same entry functions the
//! fuzz targets call (`tend::fuzz_entry`). Each input may be refused with an
//! error; a panic fails the test. `fuzz/run.sh` adds to
//! `fuzz/regressions/<target>/` whatever broke a target; the seeds in
//! `fuzz/seeds/<target>/` run here too, so that they stay harmless.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

type Entry = fn(&[u8]);

const TARGETS: &[(&str, Entry)] = &[
    ("playbook", tend::fuzz_entry::playbook),
    ("inventory_ini", tend::fuzz_entry::inventory_ini),
    ("inventory_yaml", tend::fuzz_entry::inventory_yaml),
    ("template", tend::fuzz_entry::template),
    ("probe_output", tend::fuzz_entry::probe_output),
];

/// Runs every input through `entry`, and fails naming each that panicked.
fn run_all(what: &str, entry: Entry, inputs: &[(String, Vec<u8>)]) {
    let panicked: Vec<&str> = inputs
        .iter()
        .filter(|(_, data)| catch_unwind(AssertUnwindSafe(|| entry(data))).is_err())
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(
        panicked.is_empty(),
        "{what}: these inputs panicked:\n  {}",
        panicked.join("\n  ")
    );
}

fn files_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .map(|p| {
            let data = std::fs::read(&p).expect("a kept input is readable");
            (p.display().to_string(), data)
        })
        .collect();
    out.sort();
    out
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

#[test]
fn kept_regression_inputs_and_seeds_do_not_panic() {
    for (target, entry) in TARGETS {
        let seeds = files_in(&fuzz_dir().join("seeds").join(target));
        assert!(!seeds.is_empty(), "fuzz/seeds/{target}/ has no seeds");
        let mut inputs = files_in(&fuzz_dir().join("regressions").join(target));
        inputs.extend(seeds);
        run_all(target, *entry, &inputs);
    }
}

/// Every target, every input.
fn run_everywhere(inputs: &[(String, Vec<u8>)]) {
    for (target, entry) in TARGETS {
        run_all(target, *entry, inputs);
    }
}

/// `probe_output` reads its first byte as the module to use: each output
/// goes to every module.
fn probe_inputs(outputs: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let mut inputs = Vec::new();
    for (name, output) in outputs {
        let selectors = 0..tend::fuzz_entry::PROBE_CASE_COUNT;
        for selector in selectors.chain([tend::fuzz_entry::PROBE_FACTS]) {
            let mut data = vec![selector, 0];
            data.extend_from_slice(output);
            inputs.push((format!("{name} (module {selector})"), data));
        }
    }
    inputs
}

/// Stack exhaustion from recursion: YAML, flow collections, templates,
/// JSON and YAML inside templates, nested far past any depth limit.
#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let deep = 50_000;
    let inputs = vec![
        ("flow lists".to_string(), "[".repeat(deep).into_bytes()),
        ("flow maps".to_string(), "{a: ".repeat(deep).into_bytes()),
        (
            "block lists".to_string(),
            (0..2_000)
                .map(|i| format!("{}- \n", " ".repeat(i)))
                .collect::<String>()
                .into_bytes(),
        ),
        (
            "block maps".to_string(),
            (0..2_000)
                .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
                .collect::<String>()
                .into_bytes(),
        ),
        (
            "blocks in blocks".to_string(),
            format!(
                "- hosts: all\n  tasks:\n{}",
                (0..150)
                    .map(|i| format!("{}- block:\n", "  ".repeat(i + 2)))
                    .collect::<String>()
            )
            .into_bytes(),
        ),
        (
            "parentheses".to_string(),
            format!("{{{{ {}1{} }}}}", "(".repeat(deep), ")".repeat(deep)).into_bytes(),
        ),
        (
            "template lists".to_string(),
            format!("{{{{ {}1{} }}}}", "[".repeat(deep), "]".repeat(deep)).into_bytes(),
        ),
        (
            "unary operators".to_string(),
            format!("{{{{ {}x }}}}", "not -".repeat(deep)).into_bytes(),
        ),
        (
            "filters".to_string(),
            format!("{{{{ x{} }}}}", "|string".repeat(deep)).into_bytes(),
        ),
        (
            "if blocks".to_string(),
            format!(
                "{}x{}",
                "{% if x %}".repeat(deep / 10),
                "{% endif %}".repeat(deep / 10)
            )
            .into_bytes(),
        ),
        (
            "from_json".to_string(),
            format!(
                "{{{{ '{}' | from_json }}}}",
                "[".repeat(deep) + &"]".repeat(deep)
            )
            .into_bytes(),
        ),
        (
            "from_yaml".to_string(),
            format!("{{{{ '{}' | from_yaml }}}}", "[".repeat(deep)).into_bytes(),
        ),
        (
            "variables of variables".to_string(),
            format!(
                "{{{{ v0 }}}}\0{}",
                (0..2_000)
                    .map(|i| format!("v{i}: \"{{{{ v{} }}}}\"\n", i + 1))
                    .collect::<String>()
            )
            .into_bytes(),
        ),
        (
            "a variable that names itself".to_string(),
            b"{{ a }}\0a: \"{{ b }}\"\nb: \"{{ a }}\"\n".to_vec(),
        ),
    ];
    run_everywhere(&inputs);
    run_all(
        "probe_output",
        tend::fuzz_entry::probe_output,
        &probe_inputs(&inputs[..2]),
    );
}

/// Aliases that expand exponentially, in a playbook, an inventory and a
/// template's variables.
#[test]
fn billion_laughs_are_refused() {
    let mut laughs = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
    let mut prev = 'a';
    for name in 'b'..='j' {
        let refs = vec![format!("*{prev}"); 10].join(",");
        laughs.push_str(&format!("{name}: &{name} [{refs}]\n"));
        prev = name;
    }
    let template = format!("{{{{ j | length }}}}\0{laughs}");
    let repeat = "{% set a = 'xxxxxxxxxx' %}{% set b = a * 1000 %}{% set c = b * 1000 %}{% set d = c * 1000 %}{{ d | length }}";
    run_everywhere(&[
        ("aliases".to_string(), laughs.into_bytes()),
        ("aliases as variables".to_string(), template.into_bytes()),
        ("string repetition".to_string(), repeat.as_bytes().to_vec()),
    ]);
}

/// A few MiB of input, as one line and as many.
#[test]
fn huge_inputs_are_read_or_refused() {
    let mb = 1 << 20;
    let inputs = vec![
        ("one long line".to_string(), "a".repeat(2 * mb).into_bytes()),
        (
            "many keys".to_string(),
            (0..mb / 10)
                .map(|i| format!("k{i}: {i}\n"))
                .collect::<String>()
                .into_bytes(),
        ),
        (
            "many hosts".to_string(),
            (0..20_000)
                .map(|i| format!("host{i}[0:9]\n"))
                .collect::<String>()
                .into_bytes(),
        ),
    ];
    run_everywhere(&inputs);
    run_all(
        "probe_output",
        tend::fuzz_entry::probe_output,
        &probe_inputs(&inputs[..2]),
    );
}

/// Bytes that are not text, and text that is not UTF-8.
#[test]
fn binary_junk_and_invalid_utf8_are_refused() {
    // xorshift: the same junk every run.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let junk: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    let inputs = vec![
        ("junk".to_string(), junk.clone()),
        ("invalid UTF-8".to_string(), b"- hosts: \xff\xfe\n".to_vec()),
        (
            "a lone surrogate".to_string(),
            b"all: \xed\xa0\x80".to_vec(),
        ),
        ("NUL bytes".to_string(), b"[web]\nh\0st\n{{ \0 }}".to_vec()),
        (
            "a byte-order mark".to_string(),
            b"\xef\xbb\xbf[web]\nh1\n".to_vec(),
        ),
    ];
    run_everywhere(&inputs);
    run_all(
        "probe_output",
        tend::fuzz_entry::probe_output,
        &probe_inputs(&inputs),
    );
}

/// Groups in a long chain, and in a lattice where each group is a child of
/// the two above it (exponentially many paths from the top): reading them,
/// checking for cycles and drawing `--graph` must neither recurse once per
/// group nor follow every path.
#[test]
fn long_and_lattice_shaped_group_graphs_are_read_in_time() {
    let levels = 40;
    let mut lattice = format!("[x{levels}]\nh1\n[y{levels}]\nh2\n");
    for k in (0..levels).rev() {
        let below = format!("x{}\ny{}\n", k + 1, k + 1);
        lattice.push_str(&format!("[x{k}:children]\n{below}[y{k}:children]\n{below}"));
    }
    let groups = 5_000;
    let mut chain = format!("[g{groups}]\nh1\n");
    for i in (0..groups).rev() {
        chain.push_str(&format!("[g{i}:children]\ng{}\n", i + 1));
    }
    let mut yaml_lattice = String::from("all:\n  children:\n");
    for k in 0..levels {
        for name in ["x", "y"] {
            yaml_lattice.push_str(&format!(
                "    {name}{k}:\n      children:\n        x{}:\n        y{}:\n",
                k + 1,
                k + 1
            ));
        }
    }
    let inputs = vec![
        ("lattice".to_string(), lattice.into_bytes()),
        ("chain".to_string(), chain.into_bytes()),
    ];
    run_all("inventory_ini", tend::fuzz_entry::inventory_ini, &inputs);
    run_all(
        "inventory_yaml",
        tend::fuzz_entry::inventory_yaml,
        &[("lattice".to_string(), yaml_lattice.into_bytes())],
    );
}
