//! One `stat` and one `sha1sum` for every file a batch of probes asks
//! about. Each probe's file query (the lines between
//! [`probe::QUERY_START`] and [`probe::QUERY_END`]) is taken out of its
//! script and replaced by a marker line; a prelude run before the probes
//! describes every path at once; the controller then puts back, in place
//! of each marker, what the query's own script would have printed. A
//! converged host's batch of 40 file probes was 80 processes; now it is
//! three.
//!
//! A query the facts cannot answer (a link not followed, content wanted)
//! leaves its probe unanswered: the task then runs its probe on its own.

use std::collections::{HashMap, HashSet};

use tend_modules::Observed;
use tend_modules::probe::{self, FileQuery, STAT_FORMAT};
use tend_modules::shell::quote;

/// The file queries taken out of a batch's probes.
#[derive(Debug, Default)]
pub(super) struct Queries(Vec<FileQuery>);

/// What the prelude printed, by path.
#[derive(Debug, Default, PartialEq)]
struct Facts {
    stat: HashMap<String, String>,
    stat_followed: HashMap<String, String>,
    sha1: HashMap<String, String>,
    /// No path was a readable regular file: sha1sum did not run.
    no_sums: bool,
}

/// The prelude's record for a batch with nothing to sum.
const NO_SUMS: &str = "nosums";

impl Queries {
    /// Takes the file queries out of `probes`, each replaced by a line that
    /// prints its marker.
    pub(super) fn take(probes: &[String], nonce: &str) -> (Vec<String>, Queries) {
        let mut queries = Vec::new();
        let rewritten = probes
            .iter()
            .map(|p| take_from(p, nonce, &mut queries))
            .collect();
        (rewritten, Queries(queries))
    }

    /// The script that describes every queried path; empty when there is none.
    pub(super) fn prelude(&self, nonce: &str) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        let (mut seen, mut summed) = (HashSet::new(), HashSet::new());
        let (mut plain, mut followed, mut all) = (Vec::new(), Vec::new(), Vec::new());
        for q in &self.0 {
            let word = quote(&q.path);
            if seen.insert((q.follow, q.path.as_str())) {
                match q.follow {
                    true => followed.push(word.clone()),
                    false => plain.push(word.clone()),
                }
            }
            if summed.insert(q.path.as_str()) {
                all.push(word);
            }
        }
        let mut s = format!("printf '%s\\n' '__TEND_{nonce}_FACTS'\n");
        // `/` and `/dev/null` are always asked too: their answers prove
        // that stat and sha1sum work, since a broken tool that prints
        // nothing would make every path look absent.
        for (flag, tag, paths) in [("", 'n', &plain), ("-L ", 'l', &followed)] {
            if !paths.is_empty() {
                s.push_str(&format!(
                    "stat {flag}--printf '{tag}\\0%n\\0{STAT_FORMAT}\\0' -- / {} 2>/dev/null\n",
                    paths.join(" ")
                ));
            }
        }
        // Only readable regular files: sha1sum would wait forever on a FIFO.
        // A function has its own positional parameters to collect them in.
        // With none (the files a cold run is about to write), no sha1sum:
        // `nosums` says so, and no answer then holds a sum to prove.
        s.push_str(&format!(
            "__tend_sums() {{ __tend_n=$#; for __tend_p; do if [ -f \"$__tend_p\" ] && [ -r \"$__tend_p\" ]; then set -- \"$@\" \"$__tend_p\"; fi; done; shift \"$__tend_n\"; if [ \"$#\" -eq 0 ]; then printf '{NO_SUMS}\\0'; else sha1sum -z -- /dev/null \"$@\" 2>/dev/null; fi; }}\n\
             __tend_sums {}\nprintf '\\n%s\\n' '__TEND_{nonce}_FACTS_END'\n",
            all.join(" ")
        ));
        s
    }

    /// Puts each query's answer back into `answers` (the probes' outputs,
    /// in order, from the batch's whole output `out`). An answer whose
    /// query the facts cannot settle becomes `None`.
    pub(super) fn answer(
        &self,
        out: &[u8],
        nonce: &str,
        answers: Vec<Observed>,
    ) -> Vec<Option<Observed>> {
        if self.0.is_empty() {
            return answers.into_iter().map(Some).collect();
        }
        let facts = Facts::parse(out, nonce).filter(|f| f.proven(&self.0));
        answers
            .into_iter()
            .map(|a| self.fill(a, facts.as_ref(), nonce))
            .collect()
    }

    fn fill(&self, mut answer: Observed, facts: Option<&Facts>, nonce: &str) -> Option<Observed> {
        let mark = format!("__TEND_{nonce}_Q");
        if super::prefetch::find(&answer.stdout, mark.as_bytes()).is_none() {
            return Some(answer);
        }
        let facts = facts?;
        let text = String::from_utf8(std::mem::take(&mut answer.stdout)).ok()?;
        let mut filled = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            let Some(j) = line.trim_end_matches('\n').strip_prefix(&mark) else {
                filled.push_str(line);
                continue;
            };
            let q = self.0.get(j.parse::<usize>().ok()?)?;
            let stat = match q.follow {
                true => facts.stat_followed.get(&q.path),
                false => facts.stat.get(&q.path),
            };
            let sha1 = facts.sha1.get(&q.path).map(String::as_str);
            filled.push_str(&q.answer(stat.map(String::as_str), sha1)?);
        }
        answer.stdout = filled.into_bytes();
        Some(answer)
    }
}

/// `probe` with each of its file queries replaced by a marker line.
fn take_from(probe: &str, nonce: &str, queries: &mut Vec<FileQuery>) -> String {
    if !probe.contains(probe::QUERY_START) {
        return probe.to_string();
    }
    let mut out = String::with_capacity(probe.len());
    let mut rest = probe;
    while let Some(at) = find_line(rest, probe::QUERY_START) {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let line_end = from.find('\n').map_or(from.len(), |i| i + 1);
        let query = FileQuery::parse_marker(from[..line_end].trim_end_matches('\n'));
        let end = find_line(&from[line_end..], probe::QUERY_END);
        let (Some(query), Some(end)) = (query, end) else {
            // Not a query we wrote: left as it is.
            out.push_str(&from[..line_end]);
            rest = &from[line_end..];
            continue;
        };
        out.push_str(&format!(
            "printf '%s\\n' '__TEND_{nonce}_Q{}'\n",
            queries.len()
        ));
        queries.push(query);
        rest = &from[line_end + end + probe::QUERY_END.len()..];
    }
    out.push_str(rest);
    out
}

/// Where a line starting with `start` begins in `text`.
fn find_line(text: &str, start: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(start) {
        let at = from + i;
        if at == 0 || text.as_bytes()[at - 1] == b'\n' {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

impl Facts {
    /// The prelude's records: `n`/`l`, a path and its stat line; or a
    /// sha1sum line (`SUM  PATH`); each ended by a NUL.
    fn parse(out: &[u8], nonce: &str) -> Option<Facts> {
        let open = format!("__TEND_{nonce}_FACTS\n");
        let close = format!("\n__TEND_{nonce}_FACTS_END\n");
        let start = super::prefetch::find(out, open.as_bytes())? + open.len();
        let len = super::prefetch::find(&out[start..], close.as_bytes())?;
        let mut facts = Facts::default();
        let mut tokens = out[start..start + len].split(|&b| b == 0);
        while let Some(token) = tokens.next() {
            match token {
                b"" => {}
                t if t == NO_SUMS.as_bytes() => facts.no_sums = true,
                b"n" | b"l" => {
                    let path = String::from_utf8(tokens.next()?.to_vec()).ok()?;
                    let line = String::from_utf8(tokens.next()?.to_vec()).ok()?;
                    match token {
                        b"n" => facts.stat.insert(path, line),
                        _ => facts.stat_followed.insert(path, line),
                    };
                }
                _ => {
                    // `sha1sum -z`: forty hex digits, a space, a mode
                    // character, then the name as given.
                    let (sum, name) = (token.get(..40)?, token.get(42..)?);
                    if !sum.iter().all(u8::is_ascii_hexdigit)
                        || !matches!(token.get(40..42)?, b"  " | b" *")
                    {
                        return None;
                    }
                    let sum = String::from_utf8(sum.to_vec()).ok()?;
                    let name = String::from_utf8(name.to_vec()).ok()?;
                    facts.sha1.insert(name, sum);
                }
            }
        }
        Some(facts)
    }

    /// Whether the tools answered for the paths that always exist.
    fn proven(&self, queries: &[FileQuery]) -> bool {
        let root = |map: &HashMap<String, String>| {
            map.get("/").is_some_and(|line| {
                probe::parse_file(format!("{line}\n").as_bytes())
                    .is_ok_and(|st| st.kind == Some(probe::FileKind::Directory))
            })
        };
        let asked = |follow: bool| queries.iter().any(|q| q.follow == follow);
        let summed = self.sha1.get("/dev/null").map(String::as_str)
            == Some("da39a3ee5e6b4b0d3255bfef95601890afd80709");
        (!asked(false) || root(&self.stat))
            && (!asked(true) || root(&self.stat_followed))
            && (summed || (self.no_sums && self.sha1.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::prefetch::tests::run as sh;

    /// Every kind of path, asked every way: the batch's answer is what the
    /// query's own script prints, or no answer at all.
    #[test]
    fn the_facts_answer_as_the_probe_itself_would() {
        let dir = std::env::temp_dir().join(format!("tend-facts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub dir")).unwrap();
        let file = dir.join("it's a file");
        std::fs::write(&file, "hello\n").unwrap();
        std::fs::write(dir.join("-dash"), "x").unwrap();
        std::os::unix::fs::symlink(&file, dir.join("link")).unwrap();
        std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("dangling")).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(dir.join("fifo"))
            .status()
            .unwrap();
        assert!(status.success());
        let hello = "f572d396fae9206628714fb2ce00f72e94f2258f";
        let names = [
            "it's a file",
            "sub dir",
            "-dash",
            "link",
            "dangling",
            "fifo",
            "absent",
        ];
        let mut probes = Vec::new();
        for name in names {
            let path = dir.join(name).display().to_string();
            for follow in [false, true] {
                for (content, unless) in [(false, None), (true, Some(hello)), (true, Some("0"))] {
                    probes.push(format!(
                        "echo head\n{}echo tail\n",
                        probe::file_script(&path, follow, content, unless)
                    ));
                }
            }
        }
        let (rewritten, queries) = Queries::take(&probes, "t1");
        assert_eq!(queries.0.len(), probes.len());
        let script = format!("{}{}", queries.prelude("t1"), rewritten.join(""));
        let out = sh(&script);
        let facts = Facts::parse(&out, "t1").expect("facts");
        assert!(facts.proven(&queries.0));
        // Tools that print nothing prove nothing: no path is taken as absent.
        let silent = Facts::parse(b"__TEND_t1_FACTS\n\n__TEND_t1_FACTS_END\n", "t1");
        assert!(silent.is_some_and(|f| !f.proven(&queries.0)));
        let answered = probes
            .iter()
            .enumerate()
            .map(|(j, own)| {
                let answer = Observed {
                    rc: 0,
                    stdout: format!("head\n__TEND_t1_Q{j}\ntail\n").into_bytes(),
                    stderr: Vec::new(),
                };
                (own, queries.fill(answer, Some(&facts), "t1"))
            })
            .collect::<Vec<_>>();
        let mut skipped = 0;
        for (own, batched) in answered {
            match batched {
                Some(b) => assert_eq!(
                    String::from_utf8_lossy(&b.stdout),
                    String::from_utf8_lossy(&sh(own)),
                    "{own}"
                ),
                None => skipped += 1,
            }
        }
        // Links not followed (2 links x 3 ways: 6), and content wanted of a
        // regular file whose sum is not the one given (the file and the
        // link followed with "0": 3; "-dash" both ways with both sums: 4).
        assert_eq!(skipped, 13);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn with_no_file_to_sum_no_sha1sum_runs_and_the_answers_hold() {
        let dir = std::env::temp_dir().join(format!("tend-nosums-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let probes: Vec<String> = [dir.join("absent"), dir.clone()]
            .iter()
            .map(|p| probe::file_script(&p.display().to_string(), false, false, None))
            .collect();
        let (rewritten, queries) = Queries::take(&probes, "t2");
        // A sha1sum that fails would leave no proof: it must not be asked.
        let script = format!(
            "sha1sum() {{ return 1; }}\n{}{}",
            queries.prelude("t2"),
            rewritten.join("")
        );
        let out = sh(&script);
        let facts = Facts::parse(&out, "t2").expect("facts");
        assert!(facts.no_sums && facts.proven(&queries.0), "{facts:?}");
        for (j, own) in probes.iter().enumerate() {
            let answer = Observed {
                rc: 0,
                stdout: format!("__TEND_t2_Q{j}\n").into_bytes(),
                stderr: Vec::new(),
            };
            let filled = queries.fill(answer, Some(&facts), "t2").expect("answered");
            assert_eq!(filled.stdout, sh(own));
        }
        // With a file to sum, a broken sha1sum proves nothing.
        std::fs::write(dir.join("absent"), "now here\n").unwrap();
        let facts = Facts::parse(&sh(&script), "t2").expect("facts");
        assert!(!facts.no_sums && !facts.proven(&queries.0), "{facts:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_probe_without_queries_is_left_alone_and_a_forged_marker_is_not_a_query() {
        let probes = vec![
            "echo plain".to_string(),
            format!("{}zz nofollow - -\necho x\n", probe::QUERY_START),
        ];
        let (rewritten, queries) = Queries::take(&probes, "n");
        assert_eq!(rewritten, probes);
        assert!(queries.0.is_empty() && queries.prelude("n").is_empty());
    }

    #[test]
    fn without_the_facts_a_probe_with_a_query_has_no_answer() {
        let probes = vec![probe::file_script("/etc/hostname", false, false, None)];
        let (_, queries) = Queries::take(&probes, "n");
        let answer = Observed {
            rc: 0,
            stdout: b"__TEND_n_Q0\n".to_vec(),
            stderr: Vec::new(),
        };
        let out = queries.answer(b"cut short", "n", vec![answer]);
        assert!(out.len() == 1 && out[0].is_none());
    }
}
