//! One script on one exec channel: stdin fed while output is read (so
//! neither side can stall the other), exit status or signal, a timeout, and
//! a cap on how much output is kept (the rest is read and dropped).

use std::pin::pin;
use std::time::Duration;

use russh::client::Handle;
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf, Sig};
use tokio::io::AsyncReadExt;

use super::command::{Command, KILL_AFTER};
use super::session::Client;
use crate::transport::{Capture, ExecOutput, stopped_note};

/// How a channel ended, when it did not end with the script's exit.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The channel could not be opened or the command not started.
    Start(String),
    /// The connection went away while the script ran.
    Lost,
}

#[derive(Default)]
struct Collected {
    stdout: Capture,
    stderr: Capture,
    status: Option<u32>,
    signal: Option<String>,
    closed: bool,
}

/// How long after `limit` a host whose timeout(1) has not ended the script
/// is given up on (a hung or unreachable host): timeout(1)'s own KILL
/// comes `KILL_AFTER` seconds after its TERM, and its answer has to
/// travel back.
const HOST_GRACE: Duration = Duration::from_secs(KILL_AFTER + 3);

/// Runs `command` on a new channel of `handle`. A script that outlives
/// `limit` is stopped by the host (`Command::within`), or, when the host
/// does not answer, by closing the channel; either way it is reported with
/// rc 124 like timeout(1) does.
pub(crate) async fn run(
    handle: &Handle<Client>,
    command: &Command,
    stdin: &[u8],
    limit: Option<Duration>,
) -> Result<ExecOutput, Failure> {
    let channel = open(handle).await?;
    let (mut rx, tx) = channel.split();
    tx.exec(true, command.line.as_bytes())
        .await
        .map_err(|e| Failure::Start(format!("cannot start the script: {e}")))?;
    let mut got = Collected::default();
    let started = tokio::time::Instant::now();
    let talk = converse(&mut rx, &tx, command, stdin, &mut got);
    let ended = match limit {
        Some(limit) => tokio::time::timeout(limit + HOST_GRACE, talk).await,
        None => Ok(talk.await),
    };
    if !got.closed {
        // We stop early (timeout, too much output, lost): tell the server.
        let _ = tx.signal(Sig::TERM).await;
        let _ = tx.close().await;
    }
    match ended {
        Err(_elapsed) => {
            got.stderr
                .bytes
                .extend_from_slice(stopped_note(limit.unwrap_or_default()).as_bytes());
            Ok(got.output(124, true))
        }
        Ok(Err(failure)) => Err(failure),
        Ok(Ok(())) => {
            let rc = match (got.status, &got.signal) {
                (Some(status), _) => i32::try_from(status).unwrap_or(-1),
                (None, Some(signal)) => {
                    got.stderr.bytes.extend_from_slice(
                        format!("\ntend: the script was killed by signal {signal}\n").as_bytes(),
                    );
                    -1
                }
                (None, None) => {
                    got.stderr.bytes.extend_from_slice(
                        b"\ntend: the server closed the channel without an exit status\n",
                    );
                    -1
                }
            };
            // timeout(1) on the host stopped it.
            let timed_out = rc == 124 && limit.is_some_and(|l| started.elapsed() >= l);
            if timed_out {
                got.stderr
                    .bytes
                    .extend_from_slice(stopped_note(limit.unwrap_or_default()).as_bytes());
            }
            Ok(got.output(rc, timed_out))
        }
    }
}

/// Opens a session channel. OpenSSH frees a finished session's slot a
/// moment after the channel closed, so with short scripts back to back the
/// server can briefly count more than our cap open and refuse one (its
/// `MaxSessions`): a refusal is retried for about a second before it counts.
pub(crate) async fn open(
    handle: &Handle<Client>,
) -> Result<russh::Channel<russh::client::Msg>, Failure> {
    let mut pause = Duration::from_millis(2);
    loop {
        match handle.channel_open_session().await {
            Ok(channel) => return Ok(channel),
            Err(russh::Error::ChannelOpenFailure(_))
                if pause < Duration::from_secs(1) && !handle.is_closed() =>
            {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            Err(e) => {
                return Err(Failure::Start(format!(
                    "the server refused a new channel: {e}"
                )));
            }
        }
    }
}

async fn converse(
    rx: &mut ChannelReadHalf,
    tx: &ChannelWriteHalf<russh::client::Msg>,
    command: &Command,
    stdin: &[u8],
    got: &mut Collected,
) -> Result<(), Failure> {
    let prefix = command.stdin_prefix();
    let write = async {
        if !prefix.is_empty() || !stdin.is_empty() {
            tx.data(prefix.chain(stdin)).await?;
        }
        tx.eof().await
    };
    let mut write = pin!(write);
    let mut writing = true;
    loop {
        tokio::select! {
            // A script may exit without reading its stdin: the write then
            // fails or never completes, and neither is an error.
            _ = &mut write, if writing => writing = false,
            msg = rx.wait() => if got.take(msg)? {
                return Ok(());
            },
        }
    }
}

impl Collected {
    fn output(self, rc: i32, timed_out: bool) -> ExecOutput {
        ExecOutput {
            rc,
            timed_out,
            truncated: self.stdout.cut || self.stderr.cut,
            stdout: self.stdout.bytes,
            stderr: self.stderr.bytes,
        }
    }

    /// Takes in one message; `Ok(true)` when the channel is done.
    fn take(&mut self, msg: Option<ChannelMsg>) -> Result<bool, Failure> {
        match msg {
            Some(ChannelMsg::Data { data }) => self.stdout.take(&data),
            Some(ChannelMsg::ExtendedData { data, ext: 1 }) => self.stderr.take(&data),
            Some(ChannelMsg::ExitStatus { exit_status }) => self.status = Some(exit_status),
            Some(ChannelMsg::ExitSignal {
                signal_name,
                core_dumped,
                error_message,
                ..
            }) => {
                let core = if core_dumped { ", core dumped" } else { "" };
                let message = match error_message.as_str() {
                    "" => String::new(),
                    text => format!(": {text}"),
                };
                self.signal = Some(format!("{signal_name:?}{core}{message}"));
            }
            Some(ChannelMsg::Failure) => {
                return Err(Failure::Start(
                    "the server refused to run the command".into(),
                ));
            }
            Some(ChannelMsg::Close) => {
                self.closed = true;
                return Ok(true);
            }
            // The connection ended; fine if the script had already ended.
            None if self.status.is_some() || self.signal.is_some() => return Ok(true),
            None => return Err(Failure::Lost),
            Some(_) => {}
        }
        Ok(false)
    }
}
