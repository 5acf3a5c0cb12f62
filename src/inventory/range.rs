//! Host names as inventories write them: with a port (`host:2222`,
//! `[::1]:22`) and with ranges (`web[01:03].example.com`, `db-[a:c]`,
//! `node[1:10:2]`), expanded the way Ansible's `expand_hostname_range`
//! does, so the same names come out in the same order.

/// More hosts than this from one name is refused: a typo such as
/// `[1:1000000000]` should not exhaust memory.
const MAX_HOSTS: usize = 100_000;

const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// What one host entry of an inventory stands for.
#[derive(Debug, PartialEq)]
pub(super) struct HostSpec {
    pub names: Vec<String>,
    pub port: Option<u16>,
}

/// Splits off a port and expands ranges. The error says what is wrong with
/// the entry, for the caller to place in the file.
pub(super) fn parse_host_entry(entry: &str) -> Result<HostSpec, String> {
    let (name, port) = split_port(entry)?;
    if name.is_empty() {
        return Err(format!("'{entry}' has no host name"));
    }
    if port.is_none() && name.ends_with(':') {
        return Err(format!(
            "invalid host '{entry}': a name cannot end in ':', which is reserved for a port (host:2222)"
        ));
    }
    let mut names = Vec::new();
    if name.contains('[') {
        expand(name, &mut names)?;
    } else {
        names.push(name.to_string());
    }
    Ok(HostSpec { names, port })
}

/// `host:port`, `[ipv6]:port` or a bare name. Colons inside brackets are
/// ranges and an IPv6 address has several colons, so neither is a port.
pub(super) fn split_port(entry: &str) -> Result<(&str, Option<u16>), String> {
    if let Some(rest) = entry.strip_prefix('[')
        && let Some(close) = rest.find(']')
    {
        let (inside, after) = (&rest[..close], &rest[close + 1..]);
        if is_ipv6(inside) {
            if after.is_empty() {
                return Ok((inside, None));
            }
            if let Some(port) = after.strip_prefix(':') {
                return Ok((inside, Some(parse_port(port, entry)?)));
            }
        }
    }
    if let Some(idx) = entry.rfind(':') {
        let (host, port) = (&entry[..idx], &entry[idx + 1..]);
        if !host.is_empty()
            && !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
            && !colon_outside_brackets(host)
        {
            return Ok((host, Some(parse_port(port, entry)?)));
        }
    }
    Ok((entry, None))
}

fn parse_port(port: &str, entry: &str) -> Result<u16, String> {
    port.parse()
        .map_err(|_| format!("the port in '{entry}' is out of range (1-65535)"))
}

/// An IPv6 address, optionally with a `%zone`.
pub(super) fn is_ipv6(text: &str) -> bool {
    let address = text.split_once('%').map_or(text, |(a, _)| a);
    address.parse::<std::net::Ipv6Addr>().is_ok()
}

fn colon_outside_brackets(text: &str) -> bool {
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => return true,
            _ => {}
        }
    }
    false
}

/// Expands the first `[begin:end(:step)]` and recurses for the rest.
fn expand(pattern: &str, out: &mut Vec<String>) -> Result<(), String> {
    let Some(open) = pattern.find('[') else {
        out.push(pattern.to_string());
        return Ok(());
    };
    let Some(close) = pattern[open..].find(']').map(|c| c + open) else {
        return Err(format!("'{pattern}' has a '[' without a closing ']'"));
    };
    let (head, body, tail) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    let bounds: Vec<&str> = body.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err(format!(
            "host range [{body}] must be [begin:end] or [begin:end:step]"
        ));
    }
    let begin = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    if end.is_empty() {
        return Err(format!("host range [{body}] has no end"));
    }
    let step = match bounds.get(2) {
        None => 1,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(format!(
                    "the step of host range [{body}] must be a positive number"
                ));
            }
        },
    };
    let items = range_items(body, begin, end, step)?;
    if out.len() + items.len() > MAX_HOSTS {
        return Err(format!(
            "'{pattern}' expands to more than {MAX_HOSTS} hosts"
        ));
    }
    for item in items {
        expand(&format!("{head}{item}{tail}"), out)?;
    }
    Ok(())
}

fn range_items(body: &str, begin: &str, end: &str, step: usize) -> Result<Vec<String>, String> {
    let letter = |s: &str| (s.chars().count() == 1).then(|| LETTERS.find(s)).flatten();
    if let (Some(b), Some(e)) = (letter(begin), letter(end)) {
        if b > e {
            return Err(format!(
                "host range [{body}] is empty: '{begin}' comes after '{end}'"
            ));
        }
        return Ok(LETTERS[b..=e]
            .chars()
            .step_by(step)
            .map(String::from)
            .collect());
    }
    let number = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| format!("host range [{body}] needs two numbers or two letters, not '{s}'"))
    };
    let (b, e) = (number(begin)?, number(end)?);
    // A leading zero asks for zero padding to the width of the bounds.
    let width = if begin.len() > 1 && begin.starts_with('0') {
        if begin.len() != end.len() {
            return Err(format!(
                "host range [{body}] is zero-padded, so begin and end must have the same number of digits"
            ));
        }
        begin.len()
    } else {
        0
    };
    if b > e {
        return Err(format!(
            "host range [{body}] is empty: {b} is greater than {e}"
        ));
    }
    if (e - b) / step as u64 >= MAX_HOSTS as u64 {
        return Err(format!(
            "host range [{body}] expands to more than {MAX_HOSTS} hosts"
        ));
    }
    Ok((b..=e)
        .step_by(step)
        .map(|n| format!("{n:0width$}"))
        .collect())
}
