//! Reading the files a user names (binaries, manifests, values files),
//! bounded: only regular files are read (a FIFO would block, `/dev/zero`
//! would never end), and none larger than its kind allows.

use std::io::{self, Read};
use std::path::Path;

/// The largest WebAssembly binary nanopod reads.
pub const MAX_BINARY: u64 = 512 << 20;
/// The largest manifest or values file nanopod reads.
pub const MAX_TEXT: u64 = 1 << 20;

/// Reads `path`, a regular file of at most `max` bytes.
pub fn read_regular(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let not_regular = || io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
    // Checked before opening too: opening a FIFO blocks until a writer
    // comes.
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("larger than {}", size_text(max)),
        ));
    }
    Ok(bytes)
}

/// Reads `path`, a regular UTF-8 text file of at most `max` bytes.
pub fn read_regular_text(path: &Path, max: u64) -> io::Result<String> {
    String::from_utf8(read_regular(path, max)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// `max` in the largest whole unit: `512 MiB`, `1 KiB`, `10 bytes`.
pub fn size_text(max: u64) -> String {
    match max {
        m if m >= 1 << 30 && m % (1 << 30) == 0 => format!("{} GiB", m >> 30),
        m if m >= 1 << 20 && m % (1 << 20) == 0 => format!("{} MiB", m >> 20),
        m if m >= 1 << 10 && m % (1 << 10) == 0 => format!("{} KiB", m >> 10),
        m => format!("{m} bytes"),
    }
}

/// A spinner saying `message` on stderr while long host work runs (a
/// compile, a copy), when stderr is a terminal; nothing on a pipe or file.
pub fn terminal_spinner(message: String) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal().then(|| {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_message(message);
        pb.enable_steady_tick(std::time::Duration::from_millis(100));
        pb
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bounded_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"12345").unwrap();
        assert_eq!(read_regular(&file, 5).unwrap(), b"12345");
        let too_big = read_regular(&file, 4).unwrap_err();
        assert_eq!(too_big.to_string(), "larger than 4 bytes");
        assert_eq!(
            read_regular(Path::new("/dev/zero"), MAX_BINARY)
                .unwrap_err()
                .to_string(),
            "not a regular file"
        );
        assert_eq!(
            read_regular(dir.path(), 10).unwrap_err().to_string(),
            "not a regular file"
        );
        assert_eq!(size_text(MAX_BINARY), "512 MiB");
    }
}
