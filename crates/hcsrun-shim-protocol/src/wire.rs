//! Messages with file descriptors over a `SOCK_SEQPACKET` unix socket: each
//! message arrives whole, with exactly the descriptors sent with it.

use std::{
    io::{IoSlice, IoSliceMut},
    os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd},
};

use nix::{
    errno::Errno,
    sys::socket::{
        recv, recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned,
        MsgFlags, SockFlag, SockType,
    },
};
use serde::{de::DeserializeOwned, Serialize};

/// The most descriptors one message carries.
pub const MAX_FDS: usize = 64;
/// The largest message accepted.
pub const MAX_MESSAGE: usize = 8 << 20;

/// A connected pair of sockets, close-on-exec.
pub fn pair() -> nix::Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
}

/// Sends `message` as JSON with `fds`. Blocks (or fails with `EAGAIN` on a
/// non-blocking socket) while the peer's queue is full.
pub fn send<T: Serialize>(sock: BorrowedFd<'_>, message: &T, fds: &[RawFd]) -> nix::Result<()> {
    let bytes = serde_json::to_vec(message).map_err(|_| Errno::EINVAL)?;
    send_bytes(sock, &bytes, fds)
}

fn send_bytes(sock: BorrowedFd<'_>, bytes: &[u8], fds: &[RawFd]) -> nix::Result<()> {
    let iov = [IoSlice::new(bytes)];
    let rights = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &rights };
    let sent = sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None)?;
    if sent != bytes.len() {
        return Err(Errno::EMSGSIZE);
    }
    Ok(())
}

/// A received message: its bytes and descriptors. `None` at end of stream.
pub struct Received {
    /// The message.
    pub bytes: Vec<u8>,
    /// The descriptors that came with it, close-on-exec.
    pub fds: Vec<OwnedFd>,
}

impl Received {
    /// The message, decoded from JSON.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.bytes)
    }
}

/// Receives one message. Descriptors arrive close-on-exec.
pub fn recv_message(sock: BorrowedFd<'_>) -> nix::Result<Option<Received>> {
    // Peek at the length first: a seqpacket message that does not fit the
    // buffer is cut and the rest lost.
    let len = recv(
        sock.as_raw_fd(),
        &mut [],
        MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC,
    )?;
    if len > MAX_MESSAGE {
        return Err(Errno::EMSGSIZE);
    }
    let mut bytes = vec![0u8; len.max(1)];
    let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
    let (n, fds, flags) = {
        let mut iov = [IoSliceMut::new(&mut bytes)];
        let msg = recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )?;
        let mut fds = Vec::new();
        for cmsg in msg.cmsgs()? {
            if let ControlMessageOwned::ScmRights(raw) = cmsg {
                // SAFETY: SCM_RIGHTS hands us new descriptors we now own.
                fds.extend(
                    raw.into_iter()
                        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
                );
            }
        }
        (msg.bytes, fds, msg.flags)
    };
    if flags.intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC) {
        return Err(Errno::EMSGSIZE);
    }
    if n == 0 && fds.is_empty() {
        return Ok(None);
    }
    bytes.truncate(n);
    Ok(Some(Received { bytes, fds }))
}

#[cfg(test)]
mod tests {
    use std::{
        io::{Read, Write},
        os::fd::AsFd,
    };

    use super::*;

    #[test]
    fn messages_keep_their_descriptors() {
        let (a, b) = pair().unwrap();
        let (mut r, w) = std::io::pipe().unwrap();
        send(a.as_fd(), &serde_json::json!({"n": 1}), &[w.as_raw_fd()]).unwrap();
        send(a.as_fd(), &"second", &[]).unwrap();
        drop(w);

        let first = recv_message(b.as_fd()).unwrap().unwrap();
        assert_eq!(first.decode::<serde_json::Value>().unwrap()["n"], 1);
        assert_eq!(first.fds.len(), 1);
        let mut w2 = std::fs::File::from(first.fds.into_iter().next().unwrap());
        w2.write_all(b"through").unwrap();
        drop(w2);
        let mut got = String::new();
        r.read_to_string(&mut got).unwrap();
        assert_eq!(got, "through");

        let second = recv_message(b.as_fd()).unwrap().unwrap();
        assert_eq!(second.decode::<String>().unwrap(), "second");
        assert!(second.fds.is_empty());

        drop(a);
        assert!(recv_message(b.as_fd()).unwrap().is_none());
    }

    #[test]
    fn large_messages_arrive_whole() {
        let (a, b) = pair().unwrap();
        let big = "x".repeat(150_000);
        let sender = std::thread::spawn(move || send(a.as_fd(), &big, &[]).unwrap());
        let got = recv_message(b.as_fd()).unwrap().unwrap();
        sender.join().unwrap();
        assert_eq!(got.decode::<String>().unwrap().len(), 150_000);
    }
}
