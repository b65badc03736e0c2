//! Reading the files a user names (config, scenario, secrets, certificates, keys)
//! without trusting them: only a regular file, and only up to a size that fits its
//! purpose. `/dev/zero`, a FIFO or a wrong multi-gigabyte path then fails at once with
//! its reason, instead of filling the memory or blocking the process.

use std::fs::FileType;
use std::io::{self, Read};
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

/// The most a secret file (a password, a token) may hold: a line, with room to spare.
pub const SECRET_LIMIT: u64 = 64 << 10;
/// The most a config, credentials, certificate or key file may hold.
pub const SETTINGS_LIMIT: u64 = 1 << 20;
/// The most a scenario file may hold (a catalogue of thousands of products).
pub const SCENARIO_LIMIT: u64 = 16 << 20;

/// The bytes of the regular file at `path`, at most `limit` of them; the error says why
/// not (missing, not a regular file, too large).
pub fn read_bounded(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    // Checked before opening: opening a FIFO for reading would wait for a writer.
    check_regular(std::fs::metadata(path)?.file_type())?;
    let file = std::fs::File::open(path)?;
    check_regular(file.metadata()?.file_type())?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {}, more than such a file ever holds: is it the right file?", size(limit)),
        ));
    }
    Ok(bytes)
}

/// [`read_bounded`] as UTF-8 text.
pub fn read_text_bounded(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read_bounded(path, limit)?)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("not UTF-8 text ({e})")))
}

fn check_regular(kind: FileType) -> io::Result<()> {
    if kind.is_file() {
        return Ok(());
    }
    let what = if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    };
    Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{what}, not a regular file")))
}

fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_directories_and_oversized_files_are_refused_with_their_reason() {
        let dir = tempfile::tempdir().unwrap();
        let err = |path: &Path, limit| read_bounded(path, limit).unwrap_err().to_string();
        assert!(err(Path::new("/dev/zero"), SECRET_LIMIT).contains("a device"));
        assert!(err(dir.path(), SECRET_LIMIT).contains("a directory"));
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 70_000]).unwrap();
        assert!(err(&big, SECRET_LIMIT).contains("larger than 64 KiB"));
        assert_eq!(read_bounded(&big, SETTINGS_LIMIT).unwrap().len(), 70_000);
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        assert!(err(&fifo, SECRET_LIMIT).contains("a FIFO"), "and it did not block");
    }
}
