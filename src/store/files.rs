//! Files of a SQLite deployment: the data directory (mode 0700), the database with its WAL and
//! shared-memory files, the master key and the instance lock (mode 0600). Created here with
//! their modes set explicitly, so that a permissive umask never leaves secrets readable by
//! other users of the machine.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Creates `dir` (and its parents) when missing; a directory created here is made 0700.
/// An existing directory is left as the operator set it.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    set_mode(dir, 0o700)?;
    Ok(())
}

/// Opens `path` for writing, creating it with mode 0600 when missing (`new` = must not exist).
pub fn open_private(path: &Path, new: bool) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let mut options = OpenOptions::new();
    options.write(true);
    if new {
        options.create_new(true);
    } else {
        options.create(true).truncate(false);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let existed = !new && path.exists();
    let file = options.open(path)?;
    #[cfg(unix)]
    if !existed {
        // The mode given to open(2) is reduced by the umask; this is not.
        set_mode(path, 0o600)?;
    }
    Ok(file)
}

/// The WAL and shared-memory files SQLite keeps beside `db`.
fn companions(db: &Path) -> [PathBuf; 2] {
    let with = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [with("-wal"), with("-shm")]
}

/// Before SQLite first opens a new database: the data directory and empty database, WAL and
/// shared-memory files, all private. (SQLite gives the WAL and shared-memory files it recreates
/// later the database file's mode.) An existing database is left alone, with a warning when
/// other users may read it.
pub fn prepare_sqlite(db: &Path) -> io::Result<()> {
    if db.exists() {
        warn_if_shared(db);
        return Ok(());
    }
    open_private(db, false)?;
    for file in companions(db) {
        open_private(&file, false)?;
    }
    Ok(())
}

fn warn_if_shared(db: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(db) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %db.display(),
                    mode = format!("{mode:o}"),
                    "the database file is accessible to other users: chmod 600 it (and its -wal \
                     and -shm files)"
                );
            }
        }
    }
}

/// The lock that makes one SQLite file one server's: an exclusive advisory lock on
/// `<db>.lock`, held while the returned file stays open (the OS releases it when the process
/// ends, however it ends).
pub fn lock_instance(db: &Path) -> Result<File, String> {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let file = open_private(&path, false)
        .map_err(|e| format!("cannot create the lock file {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "another Tessera server is already running on {} (it holds the lock on {}): one \
             SQLite database serves one instance; stop the other server, or use PostgreSQL to \
             run several",
            db.display(),
            path.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display())),
    }
}

// Two attributes, not `all(test, unix)`: clippy recognises only a plain `cfg(test)` as test code.
#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
    }

    #[test]
    fn new_database_files_and_folder_are_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("data/sub/tessera.db");
        prepare_sqlite(&db).expect("prepare");
        assert_eq!(mode(&dir.path().join("data/sub")), 0o700);
        for file in [
            db.clone(),
            db.with_extension("db-wal"),
            db.with_extension("db-shm"),
        ] {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    }

    #[test]
    fn a_second_lock_on_the_same_database_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("tessera.db");
        let held = lock_instance(&db).expect("first lock");
        let err = lock_instance(&db).expect_err("second lock");
        assert!(err.contains("another Tessera server"), "{err}");
        assert!(err.contains("tessera.db.lock"), "{err}");
        drop(held);
        lock_instance(&db).expect("free again");
    }
}
