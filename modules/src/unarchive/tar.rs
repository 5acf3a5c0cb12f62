//! Lists the members of a tar archive (plain or gzip-compressed) on the
//! controller, streaming, without keeping file contents: ustar and GNU
//! headers, GNU long names (`L`, `K`) and pax extended headers (`x`),
//! octal and base-256 numbers. The archive comes from the playbook's
//! files, but it is still checked strictly: a bad checksum or a truncated
//! archive is an error, never a panic.

use std::io::Read;

/// What kind of thing a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    /// Devices and FIFOs: only their presence is checked.
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The name as stored (`./etc/app.conf`).
    pub name: String,
    pub kind: Kind,
    pub size: u64,
    pub mtime: i64,
    /// Permission bits.
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub uname: String,
    pub gname: String,
    /// Where a symlink points, or which member a hard link names.
    pub link: String,
}

/// How the archive is compressed, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Tar,
    Gzip,
}

impl Format {
    /// Ansible's handler class for the format.
    pub fn handler(self) -> &'static str {
        match self {
            Format::Tar => "TarArchive",
            Format::Gzip => "TgzArchive",
        }
    }
}

pub fn detect(data: &[u8]) -> Result<Format, String> {
    const OTHERS: &[(&[u8], &str)] = &[
        (b"BZh", "bzip2"),
        (b"\xfd7zXZ\x00", "xz"),
        (b"\x28\xb5\x2f\xfd", "zstd"),
        (b"PK\x03\x04", "zip"),
    ];
    if data.starts_with(b"\x1f\x8b") {
        return Ok(Format::Gzip);
    }
    if let Some((_, name)) = OTHERS.iter().find(|(magic, _)| data.starts_with(magic)) {
        return Err(format!(
            "{name} archives are not supported by tend yet (tar and tar.gz are)"
        ));
    }
    if data.len() >= 512 && checksum_ok(&data[..512]) {
        return Ok(Format::Tar);
    }
    Err("it is not a tar or tar.gz archive".into())
}

/// Every member of the archive, in order.
pub fn list(data: &[u8], format: Format) -> Result<Vec<Member>, String> {
    match format {
        Format::Tar => read_members(data),
        Format::Gzip => read_members(flate2::read::MultiGzDecoder::new(data)),
    }
}

/// The longest GNU long name or pax header read into memory.
const MAX_META: u64 = 1024 * 1024;

fn read_members(mut r: impl Read) -> Result<Vec<Member>, String> {
    let mut members = Vec::new();
    let mut long_name: Option<String> = None;
    let mut long_link: Option<String> = None;
    let mut pax: Vec<(String, String)> = Vec::new();
    let mut header = [0u8; 512];
    loop {
        if !read_block(&mut r, &mut header)? {
            // A plain end of stream without the two zero blocks: tar accepts it.
            return Ok(members);
        }
        if header.iter().all(|b| *b == 0) {
            return Ok(members);
        }
        if !checksum_ok(&header) {
            return Err("a tar header has a bad checksum (a corrupt archive?)".into());
        }
        let size = number(&header[124..136]).ok_or("a tar header has a bad size")?;
        let flag = header[156];
        let padded = size.div_ceil(512) * 512;
        match flag {
            b'L' | b'K' | b'x' => {
                if size > MAX_META {
                    return Err("a tar extended header is too large".into());
                }
                let mut buf = vec![0u8; padded as usize];
                r.read_exact(&mut buf).map_err(truncated)?;
                buf.truncate(size as usize);
                match flag {
                    b'L' => long_name = Some(c_string(&buf)?),
                    b'K' => long_link = Some(c_string(&buf)?),
                    _ => pax = parse_pax(&buf)?,
                }
                continue;
            }
            b'g' => {
                skip(&mut r, padded)?;
                continue;
            }
            _ => {}
        }
        let ustar = &header[257..263] == b"ustar\0";
        let mut name = c_string(&header[..100])?;
        if ustar && header[345] != 0 {
            name = format!("{}/{name}", c_string(&header[345..500])?);
        }
        let mut m = Member {
            name: long_name.take().unwrap_or(name),
            kind: match flag {
                b'0' | b'\0' | b'7' => Kind::File,
                b'5' => Kind::Dir,
                b'2' => Kind::Symlink,
                b'1' => Kind::Hardlink,
                _ => Kind::Other,
            },
            size,
            mtime: number(&header[136..148]).ok_or("a tar header has a bad mtime")? as i64,
            mode: number(&header[100..108]).ok_or("a tar header has a bad mode")? as u32 & 0o7777,
            uid: number(&header[108..116]).ok_or("a tar header has a bad uid")?,
            gid: number(&header[116..124]).ok_or("a tar header has a bad gid")?,
            uname: c_string(&header[265..297])?,
            gname: c_string(&header[297..329])?,
            link: long_link
                .take()
                .map_or_else(|| c_string(&header[157..257]), Ok)?,
        };
        let mut data_size = size;
        for (k, v) in pax.drain(..) {
            let num = || v.split('.').next().and_then(|n| n.parse::<i64>().ok());
            match k.as_str() {
                "path" => m.name = v,
                "linkpath" => m.link = v,
                "uname" => m.uname = v,
                "gname" => m.gname = v,
                "size" => {
                    data_size = num().ok_or("bad pax size")? as u64;
                    m.size = data_size;
                }
                "mtime" => m.mtime = num().ok_or("bad pax mtime")?,
                "uid" => m.uid = num().ok_or("bad pax uid")? as u64,
                "gid" => m.gid = num().ok_or("bad pax gid")? as u64,
                _ => {}
            }
        }
        // Only regular files carry data (a hard link's size is its target's).
        if matches!(m.kind, Kind::Hardlink | Kind::Symlink | Kind::Dir) {
            m.size = 0;
            data_size = 0;
        }
        skip(&mut r, data_size.div_ceil(512) * 512)?;
        members.push(m);
    }
}

/// Reads one block; `false` at a clean end of stream.
fn read_block(r: &mut impl Read, buf: &mut [u8; 512]) -> Result<bool, String> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(truncated(std::io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(truncated(e)),
        }
    }
    Ok(true)
}

fn skip(r: &mut impl Read, n: u64) -> Result<(), String> {
    let copied = std::io::copy(&mut r.take(n), &mut std::io::sink()).map_err(truncated)?;
    if copied < n {
        return Err(truncated(std::io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(())
}

fn truncated(e: std::io::Error) -> String {
    format!("the archive is truncated or corrupt ({e})")
}

fn checksum_ok(h: &[u8]) -> bool {
    let Some(stored) = number(&h[148..156]) else {
        return false;
    };
    let sum: u64 = h
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    sum == stored
}

/// An octal field (NUL/space padded) or a GNU base-256 one.
fn number(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut n: u64 = u64::from(field[0] & 0x7f);
        for b in &field[1..] {
            n = n.checked_mul(256)?.checked_add(u64::from(*b))?;
        }
        return Some(n);
    }
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c| c == '\0' || c == ' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

fn c_string(field: &[u8]) -> Result<String, String> {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8(field[..end].to_vec())
        .map_err(|_| "a member name is not UTF-8, which tend does not support".to_string())
}

/// `LEN key=value\n` records.
fn parse_pax(buf: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        let space = rest
            .iter()
            .position(|b| *b == b' ')
            .ok_or("bad pax header")?;
        let len: usize = std::str::from_utf8(&rest[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|l| *l > space && *l <= rest.len())
            .ok_or("bad pax header")?;
        let record = &rest[space + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        let text = std::str::from_utf8(record).map_err(|_| "a pax header is not UTF-8")?;
        if let Some((k, v)) = text.split_once('=') {
            out.push((k.to_string(), v.to_string()));
        }
        rest = &rest[len..];
    }
    Ok(out)
}
