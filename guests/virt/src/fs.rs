//! `wasi:filesystem`, read-only, over the image's tree. Paths resolve
//! inside the descriptor they are relative to: absolute paths and `..`
//! above it are refused, as a real preopen refuses them; there are no
//! symlinks.

use crate::Adapter;
use crate::exports::wasi::clocks::wall_clock::Datetime;
use crate::exports::wasi::filesystem::types::{
    Advice, DescriptorBorrow, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntry,
    DirectoryEntryStream, ErrorBorrow, ErrorCode, Filesize, GuestDescriptor,
    GuestDirectoryEntryStream, InputStream, MetadataHashValue, NewTimestamp, OpenFlags,
    OutputStream, PathFlags,
};
use crate::exports::wasi::filesystem::{preopens, types};
use crate::image::{self, NO_PARENT, Node};
use crate::io::VirtInput;
use std::cell::Cell;

/// An open file or directory: a node of the image.
pub struct VirtDescriptor(u32);

impl VirtDescriptor {
    fn node(&self) -> &'static Node {
        image::tree().node(self.0)
    }

    fn file(&self) -> Result<&'static Node, ErrorCode> {
        let node = self.node();
        if node.is_dir {
            Err(ErrorCode::IsDirectory)
        } else {
            Ok(node)
        }
    }

    /// The node `path` names, relative to this directory.
    fn resolve(&self, path: &str) -> Result<u32, ErrorCode> {
        let tree = image::tree();
        if !self.node().is_dir {
            return Err(ErrorCode::NotDirectory);
        }
        if path.is_empty() {
            return Err(ErrorCode::NoEntry);
        }
        if path.starts_with('/') {
            return Err(ErrorCode::NotPermitted);
        }
        let mut stack = vec![self.0];
        for part in path.split('/') {
            let here = *stack.last().unwrap();
            match part {
                "" | "." => {}
                ".." => {
                    if stack.len() == 1 {
                        return Err(ErrorCode::NotPermitted);
                    }
                    stack.pop();
                }
                name => {
                    if !tree.node(here).is_dir {
                        return Err(ErrorCode::NotDirectory);
                    }
                    stack.push(tree.child(here, name).ok_or(ErrorCode::NoEntry)?);
                }
            }
        }
        let last = *stack.last().unwrap();
        if path.ends_with('/') && !tree.node(last).is_dir {
            return Err(ErrorCode::NotDirectory);
        }
        Ok(last)
    }
}

fn stat(node: &Node) -> DescriptorStat {
    let time = Some(Datetime {
        seconds: node.mtime.0,
        nanoseconds: node.mtime.1,
    });
    DescriptorStat {
        type_: kind(node),
        link_count: 1,
        size: if node.is_dir { 0 } else { node.size },
        data_access_timestamp: time,
        data_modification_timestamp: time,
        status_change_timestamp: time,
    }
}

fn kind(node: &Node) -> DescriptorType {
    if node.is_dir {
        DescriptorType::Directory
    } else {
        DescriptorType::RegularFile
    }
}

fn hash(n: u32) -> MetadataHashValue {
    MetadataHashValue {
        lower: u64::from(n),
        upper: 0x6e61_6e6f_706f_6476, // "nanopodv": one device, the image
    }
}

impl GuestDescriptor for VirtDescriptor {
    fn read_via_stream(&self, offset: Filesize) -> Result<InputStream, ErrorCode> {
        self.file()?;
        Ok(VirtInput::file(self.0, offset))
    }

    fn write_via_stream(&self, _: Filesize) -> Result<OutputStream, ErrorCode> {
        Err(ErrorCode::ReadOnly)
    }

    fn append_via_stream(&self) -> Result<OutputStream, ErrorCode> {
        Err(ErrorCode::ReadOnly)
    }

    fn advise(&self, _: Filesize, _: Filesize, _: Advice) -> Result<(), ErrorCode> {
        Ok(())
    }

    fn sync_data(&self) -> Result<(), ErrorCode> {
        Ok(())
    }

    fn get_flags(&self) -> Result<DescriptorFlags, ErrorCode> {
        Ok(DescriptorFlags::READ)
    }

    fn get_type(&self) -> Result<DescriptorType, ErrorCode> {
        Ok(kind(self.node()))
    }

    fn set_size(&self, _: Filesize) -> Result<(), ErrorCode> {
        Err(ErrorCode::ReadOnly)
    }

    fn set_times(&self, _: NewTimestamp, _: NewTimestamp) -> Result<(), ErrorCode> {
        Err(ErrorCode::ReadOnly)
    }

    fn read(&self, length: Filesize, offset: Filesize) -> Result<(Vec<u8>, bool), ErrorCode> {
        let node = self.file()?;
        let bytes = image::read_file(node, offset, length);
        let end = offset.saturating_add(bytes.len() as u64) >= node.size;
        Ok((bytes.to_vec(), end))
    }

    fn write(&self, _: Vec<u8>, _: Filesize) -> Result<Filesize, ErrorCode> {
        Err(ErrorCode::ReadOnly)
    }

    fn read_directory(&self) -> Result<DirectoryEntryStream, ErrorCode> {
        if !self.node().is_dir {
            return Err(ErrorCode::NotDirectory);
        }
        Ok(DirectoryEntryStream::new(VirtDirectoryEntries {
            dir: self.0,
            next: Cell::new(0),
        }))
    }

    fn sync(&self) -> Result<(), ErrorCode> {
        Ok(())
    }

    fn create_directory_at(&self, path: String) -> Result<(), ErrorCode> {
        self.refuse_change(&path)
    }

    fn stat(&self) -> Result<DescriptorStat, ErrorCode> {
        Ok(stat(self.node()))
    }

    fn stat_at(&self, _: PathFlags, path: String) -> Result<DescriptorStat, ErrorCode> {
        Ok(stat(image::tree().node(self.resolve(&path)?)))
    }

    fn set_times_at(
        &self,
        _: PathFlags,
        path: String,
        _: NewTimestamp,
        _: NewTimestamp,
    ) -> Result<(), ErrorCode> {
        self.refuse_write(&path)
    }

    fn link_at(
        &self,
        _: PathFlags,
        old_path: String,
        _: DescriptorBorrow<'_>,
        _: String,
    ) -> Result<(), ErrorCode> {
        self.refuse_write(&old_path)
    }

    fn open_at(
        &self,
        _: PathFlags,
        path: String,
        open_flags: OpenFlags,
        flags: DescriptorFlags,
    ) -> Result<types::Descriptor, ErrorCode> {
        let node = match self.resolve(&path) {
            Ok(_) if open_flags.contains(OpenFlags::CREATE | OpenFlags::EXCLUSIVE) => {
                return Err(ErrorCode::Exist);
            }
            Ok(node) => node,
            Err(ErrorCode::NoEntry) if open_flags.contains(OpenFlags::CREATE) => {
                return Err(ErrorCode::ReadOnly);
            }
            Err(e) => return Err(e),
        };
        let is_dir = image::tree().node(node).is_dir;
        if open_flags.contains(OpenFlags::DIRECTORY) && !is_dir {
            return Err(ErrorCode::NotDirectory);
        }
        if flags.contains(DescriptorFlags::WRITE) || open_flags.contains(OpenFlags::TRUNCATE) {
            return Err(if is_dir {
                ErrorCode::IsDirectory
            } else {
                ErrorCode::ReadOnly
            });
        }
        Ok(types::Descriptor::new(VirtDescriptor(node)))
    }

    fn readlink_at(&self, path: String) -> Result<String, ErrorCode> {
        self.resolve(&path)?;
        Err(ErrorCode::Invalid)
    }

    fn remove_directory_at(&self, path: String) -> Result<(), ErrorCode> {
        self.refuse_write(&path)
    }

    fn rename_at(&self, old: String, _: DescriptorBorrow<'_>, _: String) -> Result<(), ErrorCode> {
        self.refuse_write(&old)
    }

    fn symlink_at(&self, _: String, new_path: String) -> Result<(), ErrorCode> {
        self.refuse_change(&new_path)
    }

    fn unlink_file_at(&self, path: String) -> Result<(), ErrorCode> {
        self.refuse_write(&path)
    }

    fn is_same_object(&self, other: DescriptorBorrow<'_>) -> bool {
        other.get::<VirtDescriptor>().0 == self.0
    }

    fn metadata_hash(&self) -> Result<MetadataHashValue, ErrorCode> {
        Ok(hash(self.0))
    }

    fn metadata_hash_at(&self, _: PathFlags, path: String) -> Result<MetadataHashValue, ErrorCode> {
        Ok(hash(self.resolve(&path)?))
    }
}

impl VirtDescriptor {
    /// Changing what `path` names: `read-only`, once it resolves.
    fn refuse_write(&self, path: &str) -> Result<(), ErrorCode> {
        self.resolve(path)?;
        Err(ErrorCode::ReadOnly)
    }

    /// Creating `path`: `exist` if it is there, else `read-only`.
    fn refuse_change(&self, path: &str) -> Result<(), ErrorCode> {
        match self.resolve(path) {
            Ok(_) => Err(ErrorCode::Exist),
            Err(ErrorCode::NoEntry) => Err(ErrorCode::ReadOnly),
            Err(e) => Err(e),
        }
    }
}

/// A directory listing in progress.
pub struct VirtDirectoryEntries {
    dir: u32,
    next: Cell<usize>,
}

impl GuestDirectoryEntryStream for VirtDirectoryEntries {
    fn read_directory_entry(&self) -> Result<Option<DirectoryEntry>, ErrorCode> {
        let tree = image::tree();
        let Some(&child) = tree.node(self.dir).children.get(self.next.get()) else {
            return Ok(None);
        };
        self.next.set(self.next.get() + 1);
        let node = tree.node(child);
        Ok(Some(DirectoryEntry {
            type_: kind(node),
            name: node.name.clone(),
        }))
    }
}

impl types::Guest for Adapter {
    type Descriptor = VirtDescriptor;
    type DirectoryEntryStream = VirtDirectoryEntries;

    fn filesystem_error_code(_: ErrorBorrow<'_>) -> Option<ErrorCode> {
        None
    }
}

impl preopens::Guest for Adapter {
    fn get_directories() -> Vec<(types::Descriptor, String)> {
        image::tree()
            .preopens
            .iter()
            .filter(|(_, n)| image::tree().node(*n).parent == NO_PARENT)
            .map(|(path, n)| (types::Descriptor::new(VirtDescriptor(*n)), path.clone()))
            .collect()
    }
}
