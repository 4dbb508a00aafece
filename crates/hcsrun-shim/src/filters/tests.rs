use std::os::{fd::AsFd, unix::fs::PermissionsExt};

use super::*;

struct Cache {
    dir: std::path::PathBuf,
    root: fs::File,
    seccomp: LinuxSeccomp,
    compiled: Program,
}

/// A runtime directory whose cache holds docker's default program.
fn cache(name: &str) -> Cache {
    let dir = std::env::temp_dir().join(format!(
        "hcsrun-seccomp-cache-{name}-{}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let root = fs::File::open(&dir).unwrap();
    let seccomp = docker_default(crate::caps::docker_default_mask()).unwrap();
    let compiled = program(&seccomp, root.as_fd()).unwrap();
    assert!(compiled.instructions.len() > 100);
    Cache {
        dir,
        root,
        seccomp,
        compiled,
    }
}

impl Cache {
    fn file(&self) -> std::path::PathBuf {
        let cached: Vec<_> = fs::read_dir(self.dir.join(DIR))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(cached.len(), 1, "one program, cached once");
        cached[0].path()
    }

    fn entry(&self) -> Entry {
        serde_json::from_slice(&fs::read(self.file()).unwrap()).unwrap()
    }

    /// Replaces the cached file's text, keeping its name and mode.
    fn put(&self, text: &[u8]) {
        fs::write(self.file(), text).unwrap();
    }

    /// What a container asking for the same filter now gets, and
    /// whether it came from the file.
    fn lookup(&self) -> (Program, bool) {
        let key = format!(
            "{FORMAT}\n{}\nlibseccomp {}\n{}",
            executable(),
            libseccomp_version(),
            serde_json::to_string(&self.seccomp).unwrap()
        );
        let name = hex(&Sha256::digest(key.as_bytes()));
        let cached = read(self.root.as_fd(), &name, &key).is_some();
        (program(&self.seccomp, self.root.as_fd()).unwrap(), cached)
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_program_is_compiled_once_then_read() {
    let c = cache("once");
    let mode = fs::metadata(c.dir.join(DIR)).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    let mode = fs::metadata(c.file()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(c.lookup(), (c.compiled.clone(), true));
}

#[test]
fn a_file_for_another_text_is_not_used() {
    let c = cache("collide");
    let mut entry = c.entry();
    entry.key.push('x');
    entry.program.instructions.truncate(1);
    let entry = Entry::new(entry.key, entry.program);
    c.put(&serde_json::to_vec(&entry).unwrap());
    assert_eq!(c.lookup(), (c.compiled.clone(), false));
}

#[test]
fn a_damaged_program_is_compiled_again() {
    let c = cache("damaged");
    // An allow-all where the kill was: the key still matches, the
    // checksum does not.
    let mut entry = c.entry();
    let last = entry.program.instructions.len() - 1;
    entry.program.instructions[last] = 0x0006_0000_7fff_0000;
    c.put(&serde_json::to_vec(&entry).unwrap());
    assert_eq!(c.lookup(), (c.compiled.clone(), false));
    // Dropped instructions, the checksum made to match: still not a
    // program a container gets unless it is loadable and whole.
    let mut entry = c.entry();
    entry.program.instructions.clear();
    let entry = Entry::new(entry.key, entry.program);
    c.put(&serde_json::to_vec(&entry).unwrap());
    assert_eq!(c.lookup(), (c.compiled.clone(), false));
}

#[test]
fn a_truncated_or_empty_file_is_compiled_again() {
    let c = cache("truncated");
    let text = fs::read(c.file()).unwrap();
    c.put(&text[..text.len() / 2]);
    assert_eq!(c.lookup(), (c.compiled.clone(), false));
    c.put(b"");
    assert_eq!(c.lookup(), (c.compiled.clone(), false));
}

#[test]
fn a_file_others_could_write_is_not_trusted() {
    let c = cache("modes");
    assert!(c.lookup().1);
    let file = c.file();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o622)).unwrap();
    assert_eq!(c.lookup(), (c.compiled.clone(), false));
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    assert!(c.lookup().1);
    // A second link: someone could change it through the other name.
    let other = c.dir.join("other-name");
    fs::hard_link(&file, &other).unwrap();
    assert_eq!(c.lookup(), (c.compiled.clone(), false));
    fs::remove_file(&other).unwrap();
    let dir = c.dir.join(DIR);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(c.lookup(), (c.compiled.clone(), false));
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    // A link in the file's place is not followed.
    fs::rename(&file, &other).unwrap();
    std::os::unix::fs::symlink(&other, &file).unwrap();
    assert_eq!(c.lookup(), (c.compiled.clone(), false));
}

#[test]
fn a_full_cache_makes_room_for_the_newest_and_keeps_what_is_used() {
    let c = cache("full");
    let cache_dir = c.dir.join(DIR);
    // The file in use (docker's program) is read, so it is the newest.
    let used = c.file();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for i in 0..MAX_ENTRIES {
        let stale = cache_dir.join(format!("{i:064x}"));
        fs::write(&stale, b"{}").unwrap();
        fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old + std::time::Duration::from_secs(i as u64))
            .unwrap();
    }
    fs::File::options()
        .write(true)
        .open(&used)
        .unwrap()
        .set_modified(old - std::time::Duration::from_secs(60))
        .unwrap();
    // A hit renews it.
    assert!(c.lookup().1, "docker's program is read from the cache");
    // Another filter is compiled and cached all the same.
    let other = docker_default(1 << 21).unwrap();
    program(&other, c.root.as_fd()).unwrap();
    let names: Vec<String> = fs::read_dir(&cache_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), MAX_ENTRIES, "{names:?}");
    assert!(used.exists(), "the program in use stays");
    assert!(
        !cache_dir.join(format!("{:064x}", 0)).exists(),
        "the least recently used goes"
    );
    assert!(c.lookup().1);
}
