//! Watching the file provider for changes.
//!
//! Built on the `notify` crate (inotify on Linux): it already handles recursive
//! watches, watches for directories created later, and queue overflows (as a
//! "rescan" event), which raw inotify would make us write again. The watcher only
//! says "something may have changed"; whether it did is decided by the reloader
//! comparing a fingerprint of the files' contents, so the filtering here only has
//! to keep obvious noise out, never to be exact.
//!
//! What is watched:
//! - `directory`: the directory, recursively. Editors' write-temp-then-rename,
//!   delete/create and a ConfigMap `..data` swap are all events in a watched
//!   directory, whatever the files themselves point at.
//! - `filename`: the file's parent directory, not the file: a rename over the file
//!   or a `..data` swap replaces the inode a file watch would be attached to.

use std::ffi::OsStr;
use std::path::Path;

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::config::FileProvider;

/// Starts watching `provider`; `changed` runs on notify's thread for every event
/// that may mean a change. Dropping the returned watcher stops it.
pub fn start(
    provider: &FileProvider,
    changed: impl Fn() + Send + 'static,
) -> notify::Result<RecommendedWatcher> {
    let (root, file_name, mode) = if provider.is_directory {
        (provider.path.clone(), None, RecursiveMode::Recursive)
    } else {
        let parent = match provider.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => ".".into(),
        };
        let name = provider.path.file_name().map(OsStr::to_os_string);
        (parent, name, RecursiveMode::NonRecursive)
    };
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<Event>| match res {
        Ok(event) if relevant(&event, file_name.as_deref()) => changed(),
        Ok(_) => {}
        Err(e) => {
            // Whatever failed, a look at the files is the safe answer.
            log::warn!("configuration watch: {e}");
            changed();
        }
    })?;
    watcher.watch(&root, mode)?;
    Ok(watcher)
}

/// Whether `event` may mean the dynamic config changed.
fn relevant(event: &Event, file_name: Option<&OsStr>) -> bool {
    if event.need_rescan() {
        return true;
    }
    // inotify reports opens and reads too, the reloader's own among them: acting on
    // those would have every reload trigger the next check.
    if let EventKind::Access(kind) = event.kind
        && !matches!(kind, AccessKind::Close(AccessMode::Write))
    {
        return false;
    }
    match file_name {
        None => true,
        // In a shared parent directory only our file counts, plus `..`-names:
        // a ConfigMap swap renames `..data`, never the file itself.
        Some(name) => event.paths.iter().any(|p| names_file(p, name)),
    }
}

fn names_file(path: &Path, name: &OsStr) -> bool {
    path.file_name()
        .is_some_and(|n| n == name || n.as_encoded_bytes().starts_with(b".."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, ModifyKind};
    use std::path::PathBuf;

    fn event(kind: EventKind, path: &str) -> Event {
        Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn own_reads_are_not_changes() {
        let open = event(
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            "/d/a.toml",
        );
        assert!(!relevant(&open, None));
        let written = event(
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            "/d/a.toml",
        );
        assert!(relevant(&written, None));
        let modify = event(EventKind::Modify(ModifyKind::Any), "/d/sub/b.toml");
        assert!(relevant(&modify, None));
    }

    #[test]
    fn a_single_file_ignores_its_neighbours_but_not_configmap_links() {
        let name = Some(OsStr::new("app.toml"));
        let create = |p| event(EventKind::Create(CreateKind::File), p);
        assert!(relevant(&create("/etc/x/app.toml"), name));
        assert!(!relevant(&create("/etc/x/other.toml"), name));
        assert!(relevant(&create("/etc/x/..data"), name));
    }
}
