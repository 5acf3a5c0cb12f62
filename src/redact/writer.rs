//! A writer that redacts secrets line by line, for output that is written
//! in pieces (a report's `writeln!` may split a line over several writes,
//! and a secret over two of them).

use std::io::{self, Write};

use super::redact;

pub struct Redacting<W: Write> {
    inner: W,
    /// The start of a line not finished yet.
    pending: Vec<u8>,
}

impl<W: Write> Redacting<W> {
    pub fn new(inner: W) -> Redacting<W> {
        Redacting {
            inner,
            pending: Vec::new(),
        }
    }

    fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.inner.write_all(redact(text).as_bytes()),
            // Secrets are text; bytes that are not cannot hold one whole.
            Err(_) => self.inner.write_all(bytes),
        }
    }
}

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(end) = self.pending.iter().rposition(|&b| b == b'\n') {
            let lines: Vec<u8> = self.pending.drain(..=end).collect();
            self.emit(&lines)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.emit(&rest)?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for Redacting<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_split_over_writes_is_still_masked() {
        crate::redact::register("split-s3cret");
        let mut out = Vec::new();
        {
            let mut w = Redacting::new(&mut out);
            write!(w, "pw=split-").unwrap();
            write!(w, "s3cret\nnext ").unwrap();
            write!(w, "split-s3cret").unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "pw=********\nnext ********"
        );
    }
}
