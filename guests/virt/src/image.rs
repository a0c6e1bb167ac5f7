//! The embedded image: `nanopod virtualize` appends it to this module's
//! memory as a data segment, above the memory's initial size (the
//! allocator only ever takes pages from `memory.grow`, so nothing else uses
//! them), and patches its address and length into [`LOCATION`].

use std::sync::OnceLock;

/// The image's magic bytes; crates/nanopod-virt/src/image.rs writes them.
const MAGIC: &[u8; 8] = b"NPVIMG01";
/// No node: the parent of a preopened root.
pub const NO_PARENT: u32 = u32::MAX;
/// The most bytes one read returns.
pub const MAX_READ: u64 = 1 << 20;

/// A 16-byte marker, then the image's address and length (`u32`s, little
/// endian), which `nanopod virtualize` finds in the data segment and
/// patches (crates/nanopod-virt/src/embed.rs). All ones: not patched.
#[used]
static LOCATION: [u8; 24] = *b"NPVIMG-LOCATION:\xff\xff\xff\xff\xff\xff\xff\xff";

/// The image, in this component's memory.
fn image() -> &'static [u8] {
    // SAFETY: a volatile read of a static, so that the patched bytes are
    // read rather than the ones the compiler saw.
    let location = unsafe { std::ptr::read_volatile(&raw const LOCATION) };
    let word = |at: usize| u32::from_le_bytes(location[at..at + 4].try_into().unwrap());
    let (base, len) = (word(16), word(20));
    assert!(
        base != u32::MAX,
        "no image: this component was not made by nanopod virtualize"
    );
    // SAFETY: `nanopod virtualize` put `len` bytes at `base`, inside the
    // memory's initial size and above everything the module itself uses;
    // nothing writes there.
    unsafe { std::slice::from_raw_parts(base as usize as *const u8, len as usize) }
}

/// One file or directory.
pub struct Node {
    pub is_dir: bool,
    pub parent: u32,
    pub name: String,
    /// Where its contents start in the image.
    pub offset: u64,
    pub size: u64,
    pub mtime: (u64, u32),
    /// Children (directories only), in the image's order.
    pub children: Vec<u32>,
}

/// The decoded tree.
pub struct Tree {
    pub preopens: Vec<(String, u32)>,
    /// The embedded environment; `None` passes the host's through.
    pub env: Option<Vec<(String, String)>>,
    pub nodes: Vec<Node>,
}

impl Tree {
    /// The child of directory `dir` called `name`. The image lists each
    /// directory's children in byte order of their names.
    pub fn child(&self, dir: u32, name: &str) -> Option<u32> {
        let children = &self.nodes[dir as usize].children;
        children
            .binary_search_by(|c| self.nodes[*c as usize].name.as_str().cmp(name))
            .ok()
            .map(|i| children[i])
    }

    pub fn node(&self, n: u32) -> &Node {
        &self.nodes[n as usize]
    }
}

static TREE: OnceLock<Tree> = OnceLock::new();

/// The image's tree. An image that does not decode is a bug in nanopod,
/// which wrote it: the component traps.
pub fn tree() -> &'static Tree {
    TREE.get_or_init(|| {
        let image = image();
        assert!(
            image.len() >= 16 && &image[..8] == MAGIC,
            "not a nanopod image"
        );
        let len = u64::from_le_bytes(image[8..16].try_into().unwrap()) as usize;
        let tree = image
            .get(16..16 + len)
            .expect("the nanopod image is truncated");
        decode(tree).expect("the nanopod image's tree is malformed")
    })
}

/// Up to `len` bytes (at most [`MAX_READ`]) of `node`'s contents from `pos`.
pub fn read_file(node: &Node, pos: u64, len: u64) -> &'static [u8] {
    if pos >= node.size {
        return &[];
    }
    let len = len.min(node.size - pos).min(MAX_READ);
    let start = (node.offset + pos) as usize;
    image()
        .get(start..start + len as usize)
        .expect("the nanopod image is truncated")
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn string(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

fn decode(meta: &[u8]) -> Option<Tree> {
    let mut r = Reader(meta);
    let mut preopens = Vec::new();
    for _ in 0..r.u32()? {
        preopens.push((r.string()?, r.u32()?));
    }
    let embedded = r.u8()? == 1;
    let mut env = Vec::new();
    for _ in 0..r.u32()? {
        env.push((r.string()?, r.string()?));
    }
    let env = embedded.then_some(env);
    let count = r.u32()?;
    let mut nodes: Vec<Node> = Vec::new();
    for i in 0..count {
        let is_dir = r.u8()? == 0;
        let parent = r.u32()?;
        let node = Node {
            is_dir,
            parent,
            name: r.string()?,
            offset: r.u64()?,
            size: r.u64()?,
            mtime: (r.u64()?, r.u32()?),
            children: Vec::new(),
        };
        if parent != NO_PARENT {
            // Parents come before their children.
            let p = nodes.get_mut(parent as usize).filter(|p| p.is_dir)?;
            p.children.push(i);
        }
        nodes.push(node);
    }
    if preopens.iter().any(|(_, n)| *n >= count) {
        return None;
    }
    Some(Tree {
        preopens,
        env,
        nodes,
    })
}
