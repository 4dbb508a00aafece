//! Messages with file descriptors over a `SOCK_SEQPACKET` unix socket: each
//! message arrives whole, with exactly the descriptors sent with it.
//!
//! A datagram is bounded by the socket's buffer (about 200 KiB), far below
//! what a configuration or a process document may need (the kernel takes
//! about 2 MiB of arguments and environment). A message over
//! [`INLINE_MAX`] therefore travels in a sealed memfd passed as the last
//! descriptor, announced by the datagram [`MEMFD_MARKER`]; the receiver
//! reads it only once the seals guarantee that it can no longer change.

use std::{
    io::{IoSlice, IoSliceMut, Write},
    os::{
        fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd},
        unix::fs::FileExt,
    },
};

use nix::{
    errno::Errno,
    fcntl::{fcntl, FcntlArg, SealFlag},
    sys::memfd::{memfd_create, MFdFlags},
    sys::socket::{
        recv, recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned,
        MsgFlags, SockFlag, SockType,
    },
};
use serde::{de::DeserializeOwned, Serialize};

/// The most descriptors one message carries (one more for a memfd).
pub const MAX_FDS: usize = 64;
/// The largest message accepted: far above any kernel limit on what a
/// process or a container can be given, so that the kernel's are the ones
/// that apply.
pub const MAX_MESSAGE: usize = 256 << 20;
/// The largest message sent inline in a datagram; larger ones go in a memfd.
pub const INLINE_MAX: usize = 32 << 10;
/// The datagram announcing a message in a memfd (not JSON, so it cannot be
/// mistaken for a message).
pub const MEMFD_MARKER: &[u8] = b"\0hcsrun-memfd";

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
    if bytes.len() > INLINE_MAX {
        let memfd = sealed_memfd(bytes)?;
        let mut all = fds.to_vec();
        all.push(memfd.as_raw_fd());
        return send_datagram(sock, MEMFD_MARKER, &all);
    }
    send_datagram(sock, bytes, fds)
}

/// `bytes` in a memfd sealed against any change.
fn sealed_memfd(bytes: &[u8]) -> nix::Result<OwnedFd> {
    if bytes.len() > MAX_MESSAGE {
        return Err(Errno::EMSGSIZE);
    }
    let memfd = memfd_create(
        c"hcsrun-message",
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )?;
    let mut file = std::fs::File::from(memfd);
    file.write_all(bytes).map_err(io_errno)?;
    fcntl(&file, FcntlArg::F_ADD_SEALS(SEALS))?;
    Ok(file.into())
}

/// The seals a message's memfd must carry before it is read.
const SEALS: SealFlag = SealFlag::F_SEAL_SEAL
    .union(SealFlag::F_SEAL_SHRINK)
    .union(SealFlag::F_SEAL_GROW)
    .union(SealFlag::F_SEAL_WRITE);

fn io_errno(e: std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// Reads a message from a memfd the peer sealed.
fn read_memfd(memfd: OwnedFd) -> nix::Result<Vec<u8>> {
    let seals = fcntl(&memfd, FcntlArg::F_GET_SEALS)?;
    let want = SEALS.difference(SealFlag::F_SEAL_SEAL);
    if !SealFlag::from_bits_truncate(seals).contains(want) {
        return Err(Errno::EPERM);
    }
    let file = std::fs::File::from(memfd);
    let len = file.metadata().map_err(io_errno)?.len();
    if len > MAX_MESSAGE as u64 {
        return Err(Errno::EMSGSIZE);
    }
    let mut bytes = vec![0u8; len as usize];
    file.read_exact_at(&mut bytes, 0).map_err(io_errno)?;
    Ok(bytes)
}

fn send_datagram(sock: BorrowedFd<'_>, bytes: &[u8], fds: &[RawFd]) -> nix::Result<()> {
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
    let mut space = nix::cmsg_space!([RawFd; MAX_FDS + 1]);
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
    let mut fds = fds;
    if bytes == MEMFD_MARKER {
        let memfd = fds.pop().ok_or(Errno::EBADMSG)?;
        bytes = read_memfd(memfd)?;
    }
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

    /// Far past a socket's buffer (a datagram over about 200 KiB fails
    /// with EMSGSIZE): 5 MiB, with descriptors, in a sealed memfd.
    #[test]
    fn messages_past_the_socket_buffer_travel_in_a_memfd() {
        let (a, b) = pair().unwrap();
        let big = "y".repeat(5 << 20);
        let (_r, w) = std::io::pipe().unwrap();
        send(a.as_fd(), &big, &[w.as_raw_fd()]).unwrap();
        let got = recv_message(b.as_fd()).unwrap().unwrap();
        assert_eq!(got.decode::<String>().unwrap(), big);
        assert_eq!(got.fds.len(), 1, "the memfd is not handed on");
    }

    #[test]
    fn an_unsealed_memfd_is_refused() {
        let (a, b) = pair().unwrap();
        let memfd = memfd_create(c"x", MFdFlags::MFD_CLOEXEC).unwrap();
        std::fs::File::from(memfd.try_clone().unwrap())
            .write_all(b"\"changeable\"")
            .unwrap();
        send_datagram(a.as_fd(), MEMFD_MARKER, &[memfd.as_raw_fd()]).unwrap();
        assert_eq!(recv_message(b.as_fd()).err(), Some(Errno::EPERM));
    }
}
