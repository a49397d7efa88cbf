//! Reading binlog files: one or many, following rotations, and tailing a
//! file that is still being written.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::decoder::{Decoder, Step};
use crate::error::DecodeError;
use crate::event::{Event, EventBody};

/// An error reading binlog files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The bytes could not be decoded.
    #[error("{path}: {error}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoding error, with its offset.
        error: DecodeError,
    },
    /// The file ends in the middle of an event (and the reader is not
    /// tailing it).
    #[error("{path} is truncated: the event at byte {offset} needs {needed} bytes but the file ends after {available}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// The offset of the incomplete event.
        offset: u64,
        /// The bytes the event needs.
        needed: u64,
        /// The bytes the file has from that offset on.
        available: u64,
    },
}

/// Reads events from binlog files in order.
///
/// With [`FileReader::follow_rotations`], a ROTATE at the end of a file opens
/// the file it names (in the same directory) when it is not already the
/// next one given. With [`FileReader::tail`], the end of the last file is
/// not the end: the reader waits for more bytes (an incomplete event there is
/// a normal state), polling at the given interval.
#[derive(Debug)]
pub struct FileReader {
    queue: std::collections::VecDeque<PathBuf>,
    current: Option<(PathBuf, File)>,
    decoder: Decoder,
    buf: Vec<u8>,
    start: usize,
    eof: bool,
    follow: bool,
    tail: Option<Duration>,
    done: bool,
    pending_rotate: Option<String>,
}

const READ_CHUNK: usize = 256 * 1024;

impl FileReader {
    /// A reader over `paths`, read in the order given.
    pub fn new<I, P>(paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        FileReader {
            queue: paths
                .into_iter()
                .map(|p| p.as_ref().to_path_buf())
                .collect(),
            current: None,
            decoder: Decoder::for_file(None),
            buf: Vec::new(),
            start: 0,
            eof: false,
            follow: false,
            tail: None,
            done: false,
            pending_rotate: None,
        }
    }

    /// Follows ROTATE events to the next file in the same directory.
    pub fn follow_rotations(mut self, on: bool) -> Self {
        self.follow = on;
        self
    }

    /// Keeps reading the last file as it grows, polling every `interval`.
    pub fn tail(mut self, interval: Option<Duration>) -> Self {
        self.tail = interval;
        self
    }

    /// Applies `f` to the decoder (to set limits or column descriptions).
    pub fn configure(mut self, f: impl FnOnce(Decoder) -> Decoder) -> Self {
        self.decoder = f(self.decoder);
        self
    }

    /// The decoder, for its state (current file, offset, table maps).
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// The path being read.
    pub fn current_path(&self) -> Option<&Path> {
        self.current.as_ref().map(|(p, _)| p.as_path())
    }

    fn open_next(&mut self) -> Result<bool, ReadError> {
        let next = match self.pending_rotate.take() {
            Some(name) => {
                let dir = self
                    .current
                    .as_ref()
                    .and_then(|(p, _)| p.parent().map(Path::to_path_buf))
                    .unwrap_or_default();
                let path = dir.join(&name);
                // When the caller listed that file next, take it from the queue.
                if self
                    .queue
                    .front()
                    .is_some_and(|q| q.file_name() == path.file_name())
                {
                    self.queue.pop_front();
                }
                Some(path)
            }
            None => self.queue.pop_front(),
        };
        let Some(path) = next else {
            return Ok(false);
        };
        let file = File::open(&path).map_err(|error| ReadError::Io {
            path: path.clone(),
            error,
        })?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        self.decoder.start_file(name);
        self.current = Some((path, file));
        self.buf.clear();
        self.start = 0;
        self.eof = false;
        Ok(true)
    }

    /// Reads more bytes of the current file; false at its end.
    fn fill(&mut self) -> Result<bool, ReadError> {
        let Some((path, file)) = self.current.as_mut() else {
            return Ok(false);
        };
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + READ_CHUNK, 0);
        let n = loop {
            match file.read(self.buf.get_mut(old..).unwrap_or_default()) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    self.buf.truncate(old);
                    return Err(ReadError::Io {
                        path: path.clone(),
                        error,
                    });
                }
            }
        };
        self.buf.truncate(old + n);
        Ok(n > 0)
    }

    fn path(&self) -> PathBuf {
        self.current
            .as_ref()
            .map(|(p, _)| p.clone())
            .unwrap_or_default()
    }

    /// The next event, `None` at the end of the last file.
    ///
    /// # Errors
    ///
    /// [`ReadError`] for an unreadable or corrupt file, or one that ends in the
    /// middle of an event when not tailing. The reader stops after an error.
    pub fn next_event(&mut self) -> Result<Option<Event>, ReadError> {
        if self.done {
            return Ok(None);
        }
        let r = self.next_inner();
        if !matches!(r, Ok(Some(_))) {
            self.done = r.is_err() || matches!(r, Ok(None));
        }
        r
    }

    fn next_inner(&mut self) -> Result<Option<Event>, ReadError> {
        loop {
            if self.current.is_none() && !self.open_next()? {
                return Ok(None);
            }
            let input = self.buf.get(self.start..).unwrap_or_default();
            let step = self
                .decoder
                .decode(input)
                .map_err(|error| ReadError::Decode {
                    path: self.path(),
                    error,
                })?;
            match step {
                Step::Magic { consumed } => self.start += consumed,
                Step::Event { event, consumed } => {
                    self.start += consumed;
                    if let EventBody::Rotate(r) = &event.body {
                        if !r.fake && self.follow {
                            self.pending_rotate = Some(r.next_file.clone());
                        }
                    }
                    return Ok(Some(event));
                }
                Step::NeedMore { needed } => {
                    if self.fill()? {
                        continue;
                    }
                    let available = input_len(&self.buf, self.start);
                    let last = self.queue.is_empty() && self.pending_rotate.is_none();
                    if let (Some(interval), true) = (self.tail, last) {
                        std::thread::sleep(interval);
                        continue;
                    }
                    if available > 0 {
                        return Err(ReadError::Truncated {
                            path: self.path(),
                            offset: self.decoder.offset(),
                            needed: needed as u64,
                            available: available as u64,
                        });
                    }
                    if self.decoder.offset() == 0 {
                        // An empty file: not a binlog.
                        return Err(ReadError::Decode {
                            path: self.path(),
                            error: DecodeError::BadMagic { found: Vec::new() },
                        });
                    }
                    // A clean end of this file: on to the next one.
                    self.current = None;
                }
            }
        }
    }
}

fn input_len(buf: &[u8], start: usize) -> usize {
    buf.len().saturating_sub(start)
}

impl Iterator for FileReader {
    type Item = Result<Event, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}
