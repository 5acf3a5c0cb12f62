//! The few OpenSSH options tend understands in `ansible_ssh_common_args` and
//! `ansible_ssh_extra_args`: playbooks use them for jump hosts and host key
//! policy (`-J bastion`, `-o ProxyJump=…`, `-o StrictHostKeyChecking=no`,
//! `-o UserKnownHostsFile=/dev/null`). Other options are ignored, except
//! `ProxyCommand`, which is refused because silently connecting directly
//! instead would fail in a confusing way.

use super::settings::HostKeyChecking;

/// Options found in the extra ssh arguments, each `None` when not given.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct CommonArgs {
    pub proxy_jump: Option<String>,
    pub host_key_checking: Option<HostKeyChecking>,
    pub known_hosts_files: Option<Vec<String>>,
}

impl CommonArgs {
    /// Reads `text` as a shell would split it. The first occurrence of an
    /// option wins, as in OpenSSH.
    pub fn parse(text: &str) -> Result<CommonArgs, String> {
        let words = split_words(text)?;
        let mut args = CommonArgs::default();
        let mut i = 0;
        while i < words.len() {
            let word = &words[i];
            let (flag, inline) = match word.as_str() {
                "-o" | "-J" => (word.as_str(), None),
                w if w.starts_with("-o") || w.starts_with("-J") => {
                    (&w[..2], Some(w[2..].to_string()))
                }
                _ => {
                    i += 1;
                    continue;
                }
            };
            let value = match inline {
                Some(v) => v,
                None => {
                    i += 1;
                    words
                        .get(i)
                        .cloned()
                        .ok_or_else(|| format!("`{flag}` needs a value in '{text}'"))?
                }
            };
            if flag == "-J" {
                args.proxy_jump.get_or_insert(value);
            } else {
                args.option(&value)?;
            }
            i += 1;
        }
        Ok(args)
    }

    fn option(&mut self, option: &str) -> Result<(), String> {
        let (key, value) = option
            .split_once('=')
            .or_else(|| option.split_once(char::is_whitespace))
            .map(|(k, v)| (k.trim(), v.trim()))
            .unwrap_or((option.trim(), ""));
        match key.to_ascii_lowercase().as_str() {
            "proxyjump" => {
                self.proxy_jump.get_or_insert(value.to_string());
            }
            "proxycommand" if !value.eq_ignore_ascii_case("none") => {
                return Err(format!(
                    "ProxyCommand is not supported by tend's SSH transport (in '-o {option}'); \
                     use ProxyJump (`-J host`) instead"
                ));
            }
            "stricthostkeychecking" => {
                let mode = HostKeyChecking::parse(value).ok_or_else(|| {
                    format!("StrictHostKeyChecking: expected yes, no or accept-new, got '{value}'")
                })?;
                self.host_key_checking.get_or_insert(mode);
            }
            "userknownhostsfile" => {
                self.known_hosts_files
                    .get_or_insert(value.split_whitespace().map(str::to_string).collect());
            }
            _ => {}
        }
        Ok(())
    }
}

/// Splits like `sh` does for plain words: whitespace separates, single
/// quotes keep everything, double quotes and backslashes escape.
pub(crate) fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(current.take()),
            '\'' => {
                let word = current.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(format!("unterminated ' in '{text}'")),
                    }
                }
            }
            '"' => {
                let word = current.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => word.extend(chars.next()),
                        Some(c) => word.push(c),
                        None => return Err(format!("unterminated \" in '{text}'")),
                    }
                }
            }
            '\\' => current.get_or_insert_with(String::new).extend(chars.next()),
            c => current.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(current);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_sh() {
        assert_eq!(
            split_words(r#" -o 'A=b c'  -o"X=y z" a\ b ''"#).unwrap(),
            ["-o", "A=b c", "-oX=y z", "a b", ""]
        );
        assert!(split_words("-o 'open").is_err());
    }

    #[test]
    fn reads_jump_host_and_host_key_options() {
        let args = CommonArgs::parse(
            "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
             -o ForwardAgent=yes -J admin@bastion:2222",
        )
        .unwrap();
        assert_eq!(
            args,
            CommonArgs {
                proxy_jump: Some("admin@bastion:2222".into()),
                host_key_checking: Some(HostKeyChecking::Off),
                known_hosts_files: Some(vec!["/dev/null".into()]),
            }
        );
    }

    #[test]
    fn first_occurrence_wins_and_long_form_works() {
        let args = CommonArgs::parse("-oProxyJump=a -o 'ProxyJump b' -Jc").unwrap();
        assert_eq!(args.proxy_jump.as_deref(), Some("a"));
    }

    #[test]
    fn proxy_command_is_refused_with_the_alternative() {
        let err = CommonArgs::parse(r#"-o ProxyCommand="ssh -W %h:%p bastion""#).unwrap_err();
        assert!(err.contains("use ProxyJump"), "{err}");
        assert!(CommonArgs::parse("-o ProxyCommand=none").is_ok());
    }
}
