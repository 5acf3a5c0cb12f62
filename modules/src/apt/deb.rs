//! A `.deb` from the controller (`deb:`): its control part, small enough to
//! travel inside the read-only probe.
//!
//! Whether the package is already installed depends on its name and version,
//! which live in the compressed `control.tar.*` member. The controller does
//! not decompress it (that would need xz and zstd here): it cuts the `.deb`
//! down to an `ar` archive of `debian-binary` and the control member, and the
//! probe hands that to the host's own `dpkg-deb` on stdin. The whole `.deb`
//! is sent only by the step that installs it.

/// The most control data the probe carries (base64 makes it a third more).
const MAX_CONTROL: usize = 256 * 1024;

/// A package file read on the controller.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DebFile {
    /// The path as the task wrote it, for messages.
    pub src: String,
    /// The name it gets on the host: its own, when that is a safe word.
    pub file_name: String,
    pub bytes: Vec<u8>,
    /// `debian-binary` and the control member, as an `ar` archive.
    pub control: Vec<u8>,
}

impl DebFile {
    pub(crate) fn new(src: &str, bytes: Vec<u8>) -> Result<DebFile, String> {
        let control = control_archive(&bytes)?;
        let base = src.rsplit('/').next().unwrap_or(src);
        let safe = base.len() > 4
            && base.ends_with(".deb")
            && base
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._+~-".contains(&b));
        let file_name = if safe { base } else { "package.deb" };
        Ok(DebFile {
            src: src.to_string(),
            file_name: file_name.to_string(),
            bytes,
            control,
        })
    }
}

const MAGIC: &[u8] = b"!<arch>\n";

/// The `ar` members of `deb`: name and content.
fn members(deb: &[u8]) -> Result<Vec<(String, &[u8])>, String> {
    let rest = deb
        .strip_prefix(MAGIC)
        .ok_or("not a Debian package (no ar archive header)")?;
    let mut out = Vec::new();
    let mut at = 0;
    while at < rest.len() {
        let header = rest
            .get(at..at + 60)
            .ok_or("not a Debian package (a truncated ar member header)")?;
        if &header[58..60] != b"`\n" {
            return Err("not a Debian package (a damaged ar member header)".into());
        }
        let name = String::from_utf8_lossy(&header[..16])
            .trim_end()
            .trim_end_matches('/')
            .to_string();
        let size: usize = std::str::from_utf8(&header[48..58])
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or("not a Debian package (an unreadable ar member size)")?;
        let data = rest
            .get(at + 60..at + 60 + size)
            .ok_or("not a Debian package (a truncated ar member)")?;
        out.push((name, data));
        at += 60 + size + size % 2;
    }
    Ok(out)
}

/// An `ar` member: its header, its data, and the padding to an even size.
fn push_member(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    out.extend_from_slice(
        format!(
            "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            0,
            0,
            0,
            100644,
            data.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(b'\n');
    }
}

/// An `ar` archive of the `.deb`'s first two members, which is all that
/// `dpkg-deb --show` reads.
pub(crate) fn control_archive(deb: &[u8]) -> Result<Vec<u8>, String> {
    let members = members(deb)?;
    let binary = members
        .iter()
        .find(|(n, _)| n == "debian-binary")
        .filter(|(_, d)| d.starts_with(b"2."))
        .ok_or("not a Debian package (no debian-binary member of format 2.x)")?;
    let control = members
        .iter()
        .find(|(n, _)| n == "control.tar" || n.starts_with("control.tar."))
        .ok_or("not a Debian package (no control.tar member)")?;
    if control.1.len() > MAX_CONTROL {
        return Err(format!(
            "its control member is {} bytes; tend reads at most {MAX_CONTROL}",
            control.1.len()
        ));
    }
    let mut out = MAGIC.to_vec();
    for (name, data) in [binary, control] {
        push_member(&mut out, name, data);
    }
    Ok(out)
}

/// Standard base64, for bytes that travel inside a shell script.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod testing {
    /// A minimal `.deb`: the three members, the tars as opaque bytes.
    pub(crate) fn deb(control: &[u8]) -> Vec<u8> {
        let mut out = super::MAGIC.to_vec();
        super::push_member(&mut out, "debian-binary", b"2.0\n");
        super::push_member(&mut out, "control.tar.xz", control);
        super::push_member(&mut out, "data.tar.xz", b"DATA");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_control_part() {
        let deb = testing::deb(b"CTRL!");
        let ctl = control_archive(&deb).unwrap();
        let names: Vec<String> = members(&ctl).unwrap().into_iter().map(|m| m.0).collect();
        assert_eq!(names, ["debian-binary", "control.tar.xz"]);
        assert_eq!(members(&ctl).unwrap()[1].1, b"CTRL!");
        assert!(ctl.len() < deb.len());
    }

    #[test]
    fn not_a_deb() {
        for junk in [&b""[..], b"hello", b"!<arch>\nshort", b"!<arch>\n"] {
            assert!(control_archive(junk).is_err(), "{junk:?}");
        }
        let e = control_archive(b"PK\x03\x04zip").unwrap_err();
        assert!(e.contains("not a Debian package"), "{e}");
    }

    #[test]
    fn host_file_name() {
        let deb = testing::deb(b"c");
        let d = DebFile::new("pkgs/lab-hello_1.1_all.deb", deb.clone()).unwrap();
        assert_eq!(d.file_name, "lab-hello_1.1_all.deb");
        let d = DebFile::new("it's $(odd).deb", deb).unwrap();
        assert_eq!(d.file_name, "package.deb");
    }

    #[test]
    fn base64_matches_coreutils() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"h"), "aA==");
        assert_eq!(base64(b"he"), "aGU=");
        assert_eq!(base64(b"hello\n"), "aGVsbG8K");
        assert_eq!(
            crate::probe::decode(&base64(&[0, 255, 254, 1])).unwrap(),
            [0, 255, 254, 1]
        );
    }
}
