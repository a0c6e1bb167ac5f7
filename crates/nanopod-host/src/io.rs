//! Host-opened inputs and outputs, handed to guests as values.
//!
//! A `stream<u8>` argument is produced straight into the guest's read buffer
//! (`Destination::as_direct`), and a returned stream is written straight from
//! the guest's write buffer: no copy through `Val`s or an intermediate
//! buffer for files. Stdin is read asynchronously so it never blocks the
//! runtime. Output files are written to a temporary file in the same
//! directory and renamed into place only on success.

use anyhow::{Context, Result, bail};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use tokio::io::{AsyncRead, ReadBuf};
use wasmtime::StoreContextMut;
use wasmtime::component::{
    Destination, Source, StreamConsumer, StreamProducer, StreamResult, VecBuffer,
};

/// Bytes requested per read when the reader is the host.
const HOST_CHUNK: usize = 256 * 1024;

/// Why an input cannot be read whole.
#[derive(Debug, thiserror::Error)]
pub enum ReadAllError {
    /// Reading failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// It holds more than the limit.
    #[error("input is larger than {0} bytes")]
    TooLarge(usize),
}

/// Where an input comes from.
pub enum InputSource {
    /// A file the host opened read-only.
    File(File),
    /// A FIFO (a named pipe, `<(…)`), opened without waiting for a writer
    /// and read through the runtime's reactor, so that waiting on it is
    /// bounded by the run's `--timeout` like any other wait.
    Fifo(File),
    /// nanopod's own stdin (`-`).
    Stdin,
}

impl InputSource {
    /// Opens `path` read-only, or stdin for `-`. Opening never blocks: a
    /// FIFO without a writer yet is opened non-blocking (its reads then
    /// wait in the runtime, not in a system call). A host path need not be
    /// UTF-8.
    pub fn open(path: &Path) -> Result<Self> {
        use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
        if path.as_os_str() == "-" {
            return Ok(InputSource::Stdin);
        }
        let shown = path.display();
        let probe = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .with_context(|| format!("cannot open `{shown}`"))?;
        let kind = probe.metadata()?.file_type();
        if kind.is_dir() {
            bail!("`{shown}` is a directory, not a file");
        }
        if kind.is_fifo() {
            return Ok(InputSource::Fifo(probe));
        }
        // Anything else is read with ordinary blocking reads: the same
        // open file reopened through its descriptor, without O_NONBLOCK
        // (a terminal or a device would otherwise fail with EAGAIN).
        let fd = std::os::fd::AsRawFd::as_raw_fd(&probe);
        let file = File::open(format!("/proc/self/fd/{fd}"))
            .with_context(|| format!("cannot open `{shown}`"))?;
        Ok(InputSource::File(file))
    }

    /// Reads the whole input, refusing more than `limit` bytes.
    pub async fn read_all(self, limit: usize) -> Result<Vec<u8>, ReadAllError> {
        use tokio::io::AsyncReadExt;
        let mut data = Vec::new();
        let read = match self {
            InputSource::File(f) => {
                // A file's size is known: one allocation of the right size
                // (no doubling, so no peak at twice the input), and a file
                // past the limit is refused before a byte is read.
                let size = f.metadata()?.len();
                if size > limit as u64 {
                    return Err(ReadAllError::TooLarge(limit));
                }
                data.reserve_exact(size as usize + 1);
                f.take(limit as u64 + 1).read_to_end(&mut data)?
            }
            InputSource::Fifo(f) => {
                fifo_reader(f)?
                    .take(limit as u64 + 1)
                    .read_to_end(&mut data)
                    .await?
            }
            InputSource::Stdin => {
                tokio::io::stdin()
                    .take(limit as u64 + 1)
                    .read_to_end(&mut data)
                    .await?
            }
        };
        if read > limit {
            return Err(ReadAllError::TooLarge(limit));
        }
        Ok(data)
    }

    /// This input as a WASI 0.2 `input-stream` (inside the runtime: a
    /// FIFO registers with its reactor).
    pub fn into_p2_stream(self) -> std::io::Result<Box<dyn wasmtime_wasi::p2::InputStream>> {
        use wasmtime_wasi::cli::StdinStream;
        Ok(match self {
            InputSource::File(f) => wasmtime_wasi::cli::InputFile::new(f).p2_stream(),
            InputSource::Fifo(f) => Box::new(wasmtime_wasi::p2::pipe::AsyncReadStream::new(
                fifo_reader(f)?,
            )),
            InputSource::Stdin => wasmtime_wasi::cli::stdin().p2_stream(),
        })
    }

    /// This input as the producer of a `stream<u8>`.
    pub fn into_producer(self) -> InputProducer {
        InputProducer {
            source: match self {
                InputSource::File(f) => ProducerSource::File(f),
                InputSource::Fifo(f) => ProducerSource::Fifo(FifoState::Opened(Some(f))),
                InputSource::Stdin => ProducerSource::Stdin(tokio::io::stdin()),
            },
        }
    }
}

/// Produces a `stream<u8>` from a host input.
pub struct InputProducer {
    source: ProducerSource,
}

enum ProducerSource {
    File(File),
    Fifo(FifoState),
    Stdin(tokio::io::Stdin),
}

/// A FIFO is registered with the reactor on its first read, which runs
/// inside the runtime.
enum FifoState {
    Opened(Option<File>),
    Reading(tokio::net::unix::pipe::Receiver),
}

/// Polls `reader` to read into `buf`: the byte count when ready.
fn poll_read_into<R: AsyncRead + Unpin>(
    reader: &mut R,
    cx: &mut TaskContext<'_>,
    buf: &mut [u8],
) -> Poll<std::io::Result<usize>> {
    let mut rb = ReadBuf::new(buf);
    Pin::new(reader)
        .poll_read(cx, &mut rb)
        .map_ok(|()| rb.filled().len())
}

/// `file` (a FIFO opened non-blocking) as a reader driven by the runtime's
/// reactor; must be called inside the runtime.
fn fifo_reader(file: File) -> std::io::Result<tokio::net::unix::pipe::Receiver> {
    tokio::net::unix::pipe::Receiver::from_file(file)
}

impl<D: 'static> StreamProducer<D> for InputProducer {
    type Item = u8;
    type Buffer = VecBuffer<u8>;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        store: StoreContextMut<'a, D>,
        dst: Destination<'a, u8, Self::Buffer>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let mut direct = dst.as_direct(store, HOST_CHUNK);
        let buf = direct.remaining();
        if buf.is_empty() {
            // A zero-length read is a readiness probe: we are always ready.
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        let polled = match &mut self.get_mut().source {
            ProducerSource::File(f) => Poll::Ready(f.read(buf)),
            ProducerSource::Fifo(state) => {
                if let FifoState::Opened(file) = state {
                    let file = file.take().expect("a FIFO is registered once");
                    *state = FifoState::Reading(fifo_reader(file)?);
                }
                let FifoState::Reading(reader) = state else {
                    unreachable!("registered above")
                };
                poll_read_into(reader, cx, buf)
            }
            ProducerSource::Stdin(stdin) => poll_read_into(stdin, cx, buf),
        };
        let n = match polled {
            Poll::Ready(r) => r.map_err(wasmtime::Error::from)?,
            Poll::Pending if finish => return Poll::Ready(Ok(StreamResult::Cancelled)),
            Poll::Pending => return Poll::Pending,
        };
        if n == 0 {
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        direct.mark_written(n);
        Poll::Ready(Ok(StreamResult::Completed))
    }
}

/// Where an output goes: written in place, or to a file replaced atomically
/// on success.
pub enum OutputTarget {
    /// Written in place: nanopod's stdout (a duplicate of fd 1, unbuffered,
    /// so large writes go straight to the kernel), or an existing special
    /// file such as `/dev/null` or a FIFO, which renaming would replace.
    InPlace(File),
    /// A file in `dest`'s directory without a name yet, given `dest` by
    /// [`OutputTarget::commit`].
    File {
        /// The file being written.
        tmp: PendingFile,
        /// The final path.
        dest: PathBuf,
    },
}

/// A file being written that has no name until it is committed
/// (`O_TMPFILE`): a nanopod that dies mid-write, even by `SIGKILL`, leaves
/// nothing behind. On a filesystem without `O_TMPFILE` it is a hidden
/// temporary file (`.nanopod-*`), removed unless committed.
pub struct PendingFile {
    file: File,
    /// The temporary name, when the filesystem could not give an unnamed
    /// file.
    named: Option<tempfile::TempPath>,
    dir: PathBuf,
}

impl PendingFile {
    /// A new file in `dir` with permissions `mode` (less the umask).
    fn create(dir: &std::path::Path, mode: u32) -> std::io::Result<PendingFile> {
        use std::os::unix::fs::OpenOptionsExt;
        let unnamed = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .mode(mode)
            .custom_flags(libc::O_TMPFILE)
            .open(dir);
        match unnamed {
            Ok(file) => Ok(PendingFile {
                file,
                named: None,
                dir: dir.to_path_buf(),
            }),
            // No O_TMPFILE here (or an old kernel): a named one.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL)
                ) =>
            {
                use std::os::unix::fs::PermissionsExt;
                let (file, path) = tempfile::Builder::new()
                    .prefix(".nanopod-")
                    .permissions(std::fs::Permissions::from_mode(mode))
                    .tempfile_in(dir)?
                    .into_parts();
                Ok(PendingFile {
                    file,
                    named: Some(path),
                    dir: dir.to_path_buf(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Gives the file the name `dest` (in its directory), replacing what
    /// was there in one rename.
    fn persist(self, dest: &std::path::Path) -> std::io::Result<()> {
        if let Some(path) = self.named {
            return path.persist(dest).map_err(|e| e.error);
        }
        // Linked under a fresh hidden name, then renamed over `dest`:
        // linking cannot replace a file, renaming can.
        for attempt in 0..16u32 {
            let staging = self.dir.join(format!(
                ".nanopod-{}-{}-{attempt}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos())
            ));
            match link_unnamed(&self.file, &staging) {
                Ok(()) => {
                    return std::fs::rename(&staging, dest).inspect_err(|_| {
                        let _ = std::fs::remove_file(&staging);
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("no free temporary name"))
    }
}

/// Gives the unnamed (`O_TMPFILE`) `file` the name `path`, as open(2)
/// describes: `linkat` of its `/proc/self/fd` entry, following it.
#[allow(unsafe_code)]
fn link_unnamed(file: &File, path: &std::path::Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let from = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd())).expect("no NUL");
    let to = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: both are NUL-terminated strings that outlive the call.
    let done = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if done == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

impl OutputTarget {
    /// Stdout for `None` or `-`; an existing device or FIFO in place; else a
    /// temporary file next to `path` (which need not be UTF-8).
    pub fn create(path: Option<&Path>) -> Result<Self> {
        match path.map(Path::as_os_str) {
            None => Self::stdout(),
            Some(p) if p == "-" => Self::stdout(),
            Some(p) if p.is_empty() => bail!("an output needs a file name (or `-` for stdout)"),
            Some(p) => {
                let dest = PathBuf::from(p);
                let p = dest.display();
                let dir = match dest.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                if dest.is_dir() {
                    bail!("`{p}` is a directory");
                }
                if dest.exists() && !dest.is_file() {
                    let file = std::fs::OpenOptions::new()
                        .write(true)
                        .open(&dest)
                        .with_context(|| format!("cannot open `{p}`"))?;
                    return Ok(OutputTarget::InPlace(file));
                }
                // The file gets the mode a shell redirection would give
                // it: an existing file's own, else 0666 less the umask
                // (not the temporary file's 0600).
                use std::os::unix::fs::PermissionsExt;
                let existing = std::fs::metadata(&dest).ok().map(|m| m.permissions());
                let mode = existing
                    .clone()
                    .unwrap_or_else(|| std::fs::Permissions::from_mode(0o666));
                let tmp = PendingFile::create(&dir, mode.mode() & 0o7777).map_err(|e| {
                    // tempfile's message names its temporary file, not
                    // the user's path.
                    let why = match e.kind() {
                        std::io::ErrorKind::NotFound => {
                            format!("directory `{}` does not exist", dir.display())
                        }
                        std::io::ErrorKind::NotADirectory => {
                            format!("`{}` is not a directory", dir.display())
                        }
                        kind => std::io::Error::from(kind).to_string(),
                    };
                    anyhow::anyhow!("cannot create `{p}`: {why}")
                })?;
                if let Some(existing) = existing {
                    tmp.file.set_permissions(existing)?;
                }
                Ok(OutputTarget::File { tmp, dest })
            }
        }
    }

    fn stdout() -> Result<Self> {
        use std::os::fd::AsFd;
        let fd = std::io::stdout().as_fd().try_clone_to_owned()?;
        Ok(OutputTarget::InPlace(File::from(fd)))
    }

    /// Flushes, and renames a file output into place.
    pub fn commit(self) -> Result<()> {
        match self {
            OutputTarget::InPlace(mut f) => Ok(f.flush()?),
            OutputTarget::File { tmp, dest } => {
                tmp.file.sync_data().ok();
                tmp.persist(&dest)
                    .with_context(|| format!("cannot write `{}`", dest.display()))?;
                Ok(())
            }
        }
    }

    /// This output as a WASI 0.2 `output-stream`, sharing the file.
    pub fn p2_stream(&self) -> Result<Box<dyn wasmtime_wasi::p2::OutputStream>> {
        use wasmtime_wasi::cli::StdoutStream;
        Ok(match self {
            OutputTarget::InPlace(f) => {
                wasmtime_wasi::cli::OutputFile::new(f.try_clone()?).p2_stream()
            }
            OutputTarget::File { tmp, .. } => {
                wasmtime_wasi::cli::OutputFile::new(tmp.file.try_clone()?).p2_stream()
            }
        })
    }
}

impl Write for OutputTarget {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            OutputTarget::InPlace(f) => f.write(buf),
            OutputTarget::File { tmp, .. } => tmp.file.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            OutputTarget::InPlace(f) => f.flush(),
            OutputTarget::File { tmp, .. } => tmp.file.flush(),
        }
    }
}

/// Writes `bytes` to `path` through a temporary file renamed into place (in
/// place for devices such as `/dev/null`): never a half-written file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut out = OutputTarget::create(Some(path))?;
    out.write_all(bytes)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    out.commit()
}

/// Writes a returned `stream<u8>` to an output. Dropped by wasmtime when the
/// guest closes its end; the drop resolves the matching [`ConsumerDone`].
pub struct OutputConsumer {
    out: Arc<Mutex<OutputTarget>>,
    error: Arc<Mutex<Option<std::io::Error>>>,
    done: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Resolves when an [`OutputConsumer`] has seen the end of its stream.
pub struct ConsumerDone {
    rx: tokio::sync::oneshot::Receiver<()>,
    error: Arc<Mutex<Option<std::io::Error>>>,
}

impl ConsumerDone {
    /// Waits for the stream to end; fails if writing the output failed.
    pub async fn wait(self) -> Result<()> {
        let _ = self.rx.await;
        match self.error.lock().unwrap().take() {
            Some(e) => Err(anyhow::Error::from(e).context("cannot write output")),
            None => Ok(()),
        }
    }
}

impl OutputConsumer {
    /// A consumer writing into `out`, and the signal of its completion.
    pub fn new(out: Arc<Mutex<OutputTarget>>) -> (Self, ConsumerDone) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let error = Arc::new(Mutex::new(None));
        (
            OutputConsumer {
                out,
                error: error.clone(),
                done: Some(tx),
            },
            ConsumerDone { rx, error },
        )
    }
}

impl Drop for OutputConsumer {
    fn drop(&mut self) {
        if let Some(tx) = self.done.take() {
            let _ = tx.send(());
        }
    }
}

impl<D: 'static> StreamConsumer<D> for OutputConsumer {
    type Item = u8;

    fn poll_consume(
        self: Pin<&mut Self>,
        _cx: &mut TaskContext<'_>,
        store: StoreContextMut<D>,
        source: Source<'_, u8>,
        _finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let mut direct = source.as_direct(store);
        let buf = direct.remaining();
        let n = buf.len();
        if n == 0 {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        let written = self.out.lock().unwrap().write_all(buf);
        match written {
            Ok(()) => {
                direct.mark_read(n);
                Poll::Ready(Ok(StreamResult::Completed))
            }
            Err(e) => {
                *self.error.lock().unwrap() = Some(e);
                Poll::Ready(Ok(StreamResult::Dropped))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn outputs_get_the_mode_a_shell_redirection_would_give() {
        let dir = tempfile::tempdir().unwrap();
        // A new file: what creating it directly gives (0666 less the umask).
        let reference = dir.path().join("reference");
        std::fs::File::create(&reference).unwrap();
        let new = dir.path().join("new.out");
        write_atomically(&new, b"x").unwrap();
        assert_eq!(mode(&new), mode(&reference));
        // An existing file keeps its own mode.
        let existing = dir.path().join("script.sh");
        std::fs::write(&existing, b"old").unwrap();
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o751)).unwrap();
        write_atomically(&existing, b"new").unwrap();
        assert_eq!(mode(&existing), 0o751);
        assert_eq!(std::fs::read(&existing).unwrap(), b"new");
    }

    #[test]
    fn an_output_in_a_missing_directory_names_the_users_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("out.bin");
        let e = write_atomically(&path, b"x").unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "cannot create `{}`: directory `{}` does not exist",
                path.display(),
                path.parent().unwrap().display()
            )
        );
    }
}
