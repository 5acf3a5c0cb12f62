//! File modes as Ansible takes them: octal strings (`"0644"`, `"644"`) or
//! symbolic (`"u=rw,g=r,o="`, `"a+x"`), resolved against the current mode.

/// The permission bits `spec` asks for, given the current bits and whether
/// the path is a directory (for `X`).
pub fn resolve(spec: &str, current: u32, is_dir: bool) -> Result<u32, String> {
    let spec = spec.trim();
    if let Some(mode) = octal(spec) {
        let mode = mode.map_err(|e| e.to_string())?;
        if mode > 0o7777 {
            return Err(format!("mode '{spec}' is out of range"));
        }
        return Ok(mode);
    }
    let mut mode = current & 0o7777;
    for clause in spec.split(',') {
        mode = apply_clause(clause, mode, is_dir).ok_or_else(|| {
            format!("mode '{spec}' is neither octal nor symbolic (like u=rw,g=r,o=)")
        })?;
    }
    Ok(mode)
}

/// The value of `spec` when it is written in octal (`"0644"`, `"644"`);
/// `None` when it is not (symbolic, or empty).
pub fn octal(spec: &str) -> Option<Result<u32, std::num::ParseIntError>> {
    let spec = spec.trim();
    (!spec.is_empty() && spec.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        .then(|| u32::from_str_radix(spec, 8))
}

fn apply_clause(clause: &str, mut mode: u32, is_dir: bool) -> Option<u32> {
    let op_at = clause.find(['+', '-', '='])?;
    let (who, rest) = clause.split_at(op_at);
    let mut mask = 0u32;
    for c in who.chars() {
        mask |= match c {
            'u' => 0o4700,
            'g' => 0o2070,
            'o' => 0o1007,
            'a' => 0o7777,
            _ => return None,
        };
    }
    if who.is_empty() {
        mask = 0o7777;
    }
    // A clause may chain operators: `u+r-w`.
    let mut chars = rest.chars().peekable();
    while let Some(op) = chars.next() {
        let mut perms = 0u32;
        while let Some(&c) = chars.peek() {
            if matches!(c, '+' | '-' | '=') {
                break;
            }
            chars.next();
            perms |= match c {
                'r' => 0o444,
                'w' => 0o222,
                'x' => 0o111,
                'X' if is_dir || mode & 0o111 != 0 => 0o111,
                'X' => 0,
                's' => 0o6000,
                't' => 0o1000,
                _ => return None,
            };
        }
        let bits = perms & mask;
        match op {
            '+' => mode |= bits,
            '-' => mode &= !bits,
            '=' => mode = (mode & !(mask & 0o777 | (mask & 0o7000))) | bits,
            _ => return None,
        }
    }
    Some(mode)
}

/// A mode as Ansible reports it: four octal digits in a string.
pub fn format(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal() {
        assert_eq!(resolve("0644", 0, false), Ok(0o644));
        assert_eq!(resolve("755", 0, false), Ok(0o755));
        assert_eq!(resolve("01777", 0, true), Ok(0o1777));
        assert!(resolve("0999", 0, false).is_err());
    }

    #[test]
    fn symbolic() {
        assert_eq!(resolve("u=rw,g=r,o=", 0o777, false), Ok(0o640));
        assert_eq!(resolve("a+x", 0o644, false), Ok(0o755));
        assert_eq!(resolve("go-w", 0o666, false), Ok(0o644));
        assert_eq!(resolve("u+X", 0o600, true), Ok(0o700));
        assert_eq!(resolve("u+X", 0o600, false), Ok(0o600));
        assert!(resolve("rwx", 0, false).is_err());
    }

    #[test]
    fn formats_four_digits() {
        assert_eq!(format(0o644), "0644");
    }
}
