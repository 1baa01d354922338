//! Files and directories readable by their owner only: every file tokencomp writes holds
//! something private (salaries, emails, tax, password hashes, signing keys) or sits beside such
//! files in the data directory. One helper, used for every write, so none is left with the
//! process's default mode.
//!
//! Files are written whole to a temporary file beside the target (created 0600, never wider),
//! synced, then renamed over it, so a reader never sees half of one and a crash leaves the old
//! file or the new one. Directories are 0700. Modes are set explicitly after creation, so the
//! result does not depend on the umask.
//!
//! It must never widen a mode, and never change the mode of a directory it did not create,
//! other than the data directory itself and its subdirectories (which callers name).

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// Owner read and write.
pub const FILE_MODE: u32 = 0o600;
/// Owner read, write and search.
pub const DIR_MODE: u32 = 0o700;
/// Temporary files of interrupted writes end with this (backups leave them out).
pub const TMP_SUFFIX: &str = ".tmp";

/// Writes `bytes` to `path` atomically, owner-only; creates the parent directory (0700) when
/// it is missing.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |f| f.write_all(bytes))
}

/// [`write`], refusing to replace an existing file (`AlreadyExists`): for keys, which are never
/// overwritten.
pub fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = staged(path, |f| f.write_all(bytes))?;
    tmp.persist_noclobber(path).map_err(|e| e.error)?;
    sync_parent(path)
}

/// [`write`] with the content streamed by `fill` into the (owner-only) temporary file.
pub fn write_with(path: &Path, fill: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
    let tmp = staged(path, fill)?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_parent(path)
}

/// A synced, owner-only temporary file beside `path` holding what `fill` wrote. A target that
/// exists and is not a regular file (a device such as `/dev/null`, a link, a directory) is
/// refused: renaming over it would replace it, not write to it.
fn staged(path: &Path, fill: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<tempfile::NamedTempFile> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.is_file() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} exists and is not a regular file", path.display()),
            ));
        }
        _ => {}
    }
    let dir = parent(path);
    if !dir.exists() {
        self::dir(dir)?;
    }
    let mut builder = tempfile::Builder::new();
    builder.prefix(".").suffix(TMP_SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(FILE_MODE));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    // The umask may only have narrowed the mode; set it exactly.
    restrict_file(tmp.as_file())?;
    fill(tmp.as_file_mut())?;
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes a rename in `path`'s directory durable.
pub fn sync_parent(path: &Path) -> io::Result<()> {
    sync_dir(parent(path))
}

/// Syncs a directory's entries (a no-op where directories cannot be opened).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Creates `path` and its missing ancestors owner-only, and sets `path` itself to 0700 whether
/// or not it existed.
pub fn dir(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(DIR_MODE);
    }
    builder.create(path)?;
    set_mode(path, DIR_MODE)
}

/// Sets `dir` to 0700 and, `depth` levels down, its directories to 0700 and its regular files to
/// 0600: a data directory made before this rule is brought under it. Symbolic links are left
/// alone (not followed, not changed).
pub fn tighten(dir: &Path, depth: usize) -> io::Result<()> {
    set_mode(dir, DIR_MODE)?;
    if depth == 0 {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            tighten(&entry.path(), depth - 1)?;
        } else if kind.is_file() {
            set_mode(&entry.path(), FILE_MODE)?;
        }
    }
    Ok(())
}

/// Sets an existing file to 0600 (files written before this rule, SQLite's own files).
pub fn restrict(path: &Path) -> io::Result<()> {
    set_mode(path, FILE_MODE)
}

/// Creates an empty file owner-only if it does not exist yet (so that a library that then opens
/// it, as SQLite does, keeps that mode), and sets it to 0600 either way.
pub fn touch(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    restrict_file(&options.open(path)?)
}

/// `path` with `suffix` added to its file name (`ledger.sqlite` → `ledger.sqlite-wal`,
/// `payroll.csv` → `payroll.csv.anchor.json`).
pub fn sibling(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    std::path::PathBuf::from(name)
}

fn restrict_file(f: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
    }
    #[cfg(not(unix))]
    let _ = f;
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};

    fn mode(p: &std::path::Path) -> u32 {
        std::fs::metadata(p).expect("exists").permissions().mode() & 0o777
    }

    #[test]
    fn files_and_directories_are_owner_only_and_replaced_whole() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("a").join("b");
        let file = dir.join("f.json");
        super::write(&file, b"one").expect("writes");
        assert_eq!((mode(&file), mode(&dir), mode(&tmp.path().join("a"))), (0o600, 0o700, 0o700));
        // A file left world-readable by an older version is replaced by an owner-only one.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        super::write(&file, b"two").expect("writes");
        assert_eq!((std::fs::read(&file).expect("reads"), mode(&file)), (b"two".to_vec(), 0o600));
        assert_eq!(std::fs::read_dir(&dir).expect("lists").count(), 1, "no temporary file is left");
        let err = super::write(std::path::Path::new("/dev/null"), b"x").expect_err("a device is not replaced");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(std::fs::metadata("/dev/null").expect("exists").file_type().is_char_device());
        let link = dir.join("link");
        std::os::unix::fs::symlink(&file, &link).expect("links");
        assert_eq!(
            super::write(&link, b"x").expect_err("a link is not replaced").kind(),
            std::io::ErrorKind::InvalidInput
        );
        std::fs::remove_file(&link).expect("removes");
        let err = super::write_new(&file, b"three").expect_err("never overwritten");
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&file).expect("reads"), b"two");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        super::dir(&dir).expect("exists already");
        assert_eq!(mode(&dir), 0o700);
        // An older data directory: everything world-readable, and a link that must not be followed.
        let top = tmp.path().join("a");
        std::fs::set_permissions(&top, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let outside = tmp.path().join("outside");
        std::fs::write(&outside, b"not ours").expect("writes");
        std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        std::os::unix::fs::symlink(&outside, top.join("link")).expect("links");
        super::tighten(&top, 2).expect("tightens");
        assert_eq!((mode(&top), mode(&dir), mode(&file), mode(&outside)), (0o700, 0o700, 0o600, 0o644));
    }
}
