//! Owner-only permissions for the data directory and the database files in it (Unix):
//! they hold every tenant's data, password hashes and the audit chains, so neither
//! other users of the machine nor its group may read them.

use std::path::Path;

/// Create `dir` (and missing parents) if needed and make it owner-only (0700). An
/// existing directory readable by others loses those bits, with a warning.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        if !dir.is_dir() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        restrict(dir);
        Ok(())
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Make the SQLite database `path` owner-only (0600) before SQLite opens it: create it
/// empty with that mode when `create` and it is missing (SQLite gives its `-wal` and
/// `-shm` files the database file's mode), and tighten an existing one and its
/// `-wal`, `-shm` and `-journal` files.
pub(crate) fn private_database(path: &Path, create: bool) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        if create && !path.exists() {
            let made = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path);
            if let Err(e) = made
                && e.kind() != std::io::ErrorKind::AlreadyExists
            {
                tracing::warn!(path = %path.display(), error = %e, "cannot create database file");
            }
        }
        restrict(path);
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            restrict(Path::new(&side));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, create);
}

/// Drop the group and other permission bits of `path`, if it exists and has any.
#[cfg(unix)]
fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let mode = meta.permissions().mode();
    if mode & 0o077 == 0 {
        return;
    }
    match std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700)) {
        Ok(()) => tracing::warn!(
            path = %path.display(),
            was = format!("{:o}", mode & 0o777),
            now = format!("{:o}", mode & 0o700),
            "made owner-only: it was readable by others"
        ),
        Err(e) => tracing::warn!(
            path = %path.display(),
            error = %e,
            "is readable by others and its mode cannot be changed"
        ),
    }
}
