//! A resident shell on an exec channel (see `resident`): started once per
//! host and user, kept while it answers, dropped when anything about it
//! looks wrong. Idle ones wait in their connection's pool.

use std::pin::pin;
use std::sync::Mutex;

use russh::client::Msg;
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf};
use tokio::sync::OwnedSemaphorePermit;

use super::channel::{self, Failure};
use super::command::Command;
use super::resident::{self, Reply};
use super::session::Client;
use crate::transport::ExecOutput;

pub(crate) struct Worker {
    /// The sudo target the shell runs as (`None`: the login user).
    user: Option<String>,
    rx: ChannelReadHalf,
    tx: Option<ChannelWriteHalf<Msg>>,
    /// The shell holds one of the connection's channels for its life.
    _permit: OwnedSemaphorePermit,
}

/// How a request ended.
pub(crate) enum Ran {
    /// The script ran and the shell is ready for the next one.
    Done(ExecOutput),
    /// The channel ended: its exit status and what it printed. The shell
    /// never got to the script (sudo refused), or the script ended it.
    Ended(ExecOutput),
}

impl Worker {
    /// Opens a channel and starts a shell for `command` (made of
    /// [`resident::START`], through sudo for `become`).
    pub async fn start(
        handle: &russh::client::Handle<Client>,
        command: &Command,
        permit: OwnedSemaphorePermit,
    ) -> Result<Worker, Failure> {
        let channel = channel::open(handle).await?;
        let (rx, tx) = channel.split();
        tx.exec(true, command.line.as_bytes())
            .await
            .map_err(|e| Failure::Start(format!("cannot start the shell: {e}")))?;
        let mut first = command.stdin_prefix().to_vec();
        first.extend_from_slice(resident::PREAMBLE.as_bytes());
        // A shell that never started (sudo refused) closes the channel: the
        // first request then returns its exit status and what it printed,
        // as a channel of its own would, rather than this write's error.
        let _ = tx.data(&first[..]).await;
        Ok(Worker {
            user: command.become_user.clone(),
            rx,
            tx: Some(tx),
            _permit: permit,
        })
    }

    pub async fn run(&mut self, script: &str, stdin: &[u8]) -> Result<Ran, Failure> {
        let nonce = crate::transport::marker_nonce();
        let request = resident::request(script, stdin, &nonce);
        let mut reply = Reply::new(&nonce);
        let Some(tx) = &self.tx else {
            return Err(Failure::Lost);
        };
        let mut write = pin!(tx.data(&request[..]));
        let mut writing = true;
        let mut status = None;
        loop {
            tokio::select! {
                // A script that ends the shell leaves the write unfinished.
                _ = &mut write, if writing => writing = false,
                msg = self.rx.wait() => match msg {
                    Some(ChannelMsg::Data { data }) => reply.take_stdout(&data),
                    Some(ChannelMsg::ExtendedData { data, ext: 1 }) => reply.take_stderr(&data),
                    Some(ChannelMsg::ExitStatus { exit_status }) => {
                        status = Some(i32::try_from(exit_status).unwrap_or(-1));
                    }
                    Some(ChannelMsg::ExitSignal { .. }) => status = Some(-1),
                    Some(ChannelMsg::Failure) => {
                        return Err(Failure::Start("the server refused to run the shell".into()));
                    }
                    Some(ChannelMsg::Close) | None => {
                        return match status {
                            Some(rc) => Ok(Ran::Ended(reply.unfinished(rc))),
                            None => Err(Failure::Lost),
                        };
                    }
                    Some(_) => {}
                },
            }
            if reply.complete() && !writing {
                break;
            }
        }
        // Output after the markers would be mixed into the next answer.
        if reply.overrun() || status.is_some() {
            return Ok(Ran::Ended(reply.output()));
        }
        Ok(Ran::Done(reply.output()))
    }
}

impl Drop for Worker {
    /// Ends the shell: at the end of its stdin it exits, and the server
    /// closes the channel.
    fn drop(&mut self) {
        if let (Some(tx), Ok(runtime)) = (self.tx.take(), tokio::runtime::Handle::try_current()) {
            runtime.spawn(async move {
                let _ = tx.eof().await;
                let _ = tx.close().await;
            });
        }
    }
}

/// Idle shells of one connection.
#[derive(Default)]
pub(crate) struct Pool {
    idle: Mutex<Vec<Worker>>,
}

impl Pool {
    /// An idle shell that runs as `user`.
    pub fn take(&self, user: &Option<String>) -> Option<Worker> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let at = idle.iter().position(|w| &w.user == user)?;
        Some(idle.remove(at))
    }

    pub fn put(&self, worker: Worker) {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(worker);
    }

    /// Ends the idle shell used least recently, to free its channel;
    /// false when there is none.
    pub fn retire_one(&self) -> bool {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.is_empty() {
            return false;
        }
        drop(idle.remove(0));
        true
    }
}
