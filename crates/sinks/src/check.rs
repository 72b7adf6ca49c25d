//! Preflight checks shared by the file-based sinks.

use std::path::Path;

use watershed_events::Check;

/// The file's folder exists and accepts new files (probed with a
/// temporary file that is removed again).
pub(crate) fn folder_writable(name: &str, file: &Path) -> Check {
    let folder = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let probe = folder.join(format!(".watershed-check-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            Check::ok(name, format!("{} can be written", file.display()))
        }
        Err(e) => Check::fail(
            name,
            format!("cannot create files in {}: {e}", folder.display()),
            format!("create {} or choose a writable path", folder.display()),
        ),
    }
}
