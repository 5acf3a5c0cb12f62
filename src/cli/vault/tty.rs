//! Asking for a password on the terminal, without echo.

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};

/// Reads a line from the controlling terminal with echo off; `Err` says
/// why there is none.
pub fn ask_hidden(label: &str) -> Result<String, String> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| format!("there is no terminal to ask on ({e})"))?;
    let stty = |arg: &str| {
        let _ = Command::new("stty")
            .arg(arg)
            .stdin(Stdio::from(tty.try_clone().ok()?))
            .status();
        Some(())
    };
    let mut out = &tty;
    let _ = out.write_all(label.as_bytes());
    let _ = out.flush();
    stty("-echo");
    let mut line = String::new();
    let read = std::io::BufReader::new(&tty).read_line(&mut line);
    stty("echo");
    let _ = out.write_all(b"\n");
    read.map_err(|e| format!("could not read from the terminal: {e}"))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
