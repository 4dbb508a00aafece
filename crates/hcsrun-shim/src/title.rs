//! The holder's command line, which names its system.
//!
//! A spare holder, launched before its system's id is known, starts as
//! `hcsrun-shim (spare)` followed by blanks: room for the id. Once its
//! bootstrap names the system it writes `hcsrun-shim ID` over that line in
//! place, as `setproctitle` does, so that `ps` shows what a holder launched
//! for one system shows from the start; operators, and the fault tests,
//! find a system's holder by it. (`PR_SET_MM` could point the kernel at a
//! new line, but needs `CAP_SYS_RESOURCE`, which root in a container or a
//! sandbox often lacks.)

use std::fs;

/// Writes `hcsrun-shim ID` over this process's command line, if it has
/// room. Best effort: a line it cannot rewrite stays as it was. After it,
/// `std::env::args` reads the new line (std reads the original memory).
pub fn name_system(id: &str) {
    let Some((start, end)) = argument_area() else {
        return;
    };
    let title = format!("hcsrun-shim {id}");
    let len = end - start;
    // The title, its NUL, and a last byte that is not NUL.
    if title.len() + 2 > len {
        return;
    }
    // SAFETY: [start, end) is this process's own argument area, where the
    // kernel put argv at execve: mapped, writable (the stack) and ours for
    // the life of the process. std copied nothing from it that it relies
    // on, and no other thread runs yet.
    let area = unsafe { std::slice::from_raw_parts_mut(start as *mut u8, len) };
    area[..title.len()].copy_from_slice(title.as_bytes());
    area[title.len()..len - 1].fill(0);
    // A last byte other than NUL tells the kernel the line was rewritten:
    // /proc/PID/cmdline then reads it up to its first NUL.
    area[len - 1] = b' ';
}

/// Where the kernel keeps this process's arguments: `arg_start` and
/// `arg_end` of /proc/self/stat (fields 48 and 49).
fn argument_area() -> Option<(usize, usize)> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which may hold blanks: field 3 on.
    let mut fields = stat.get(stat.rfind(')')? + 2..)?.split(' ').skip(48 - 3);
    let start: usize = fields.next()?.parse().ok()?;
    let end: usize = fields.next()?.parse().ok()?;
    (start != 0 && start < end).then_some((start, end))
}
