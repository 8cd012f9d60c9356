//! The C ABI itself: the entry symbol, the declaration it returns, the function table and
//! the host callbacks. Everything here is `#[repr(C)]` and made only of integers, pointers
//! to bytes and `extern "C"` function pointers, so a plugin built by any Rust compiler (or
//! any language that can export C functions) can speak it.
//!
//! Rules both sides keep:
//! - The first field of [`PluginDeclaration`] (`abi_version`) never moves; the host reads
//!   nothing else from a declaration whose ABI version it does not speak.
//! - [`FunctionTable`] and [`HostApi`] start with their own size in bytes and grow at the
//!   end; a reader uses a field only when the size says the other side has it. A member is
//!   removed only from the end and together with a plugin API version that older plugins do
//!   not caret-match (0.2.0 removed `HostApi::detect`: build planning is the engine's, so a
//!   reader no longer asks the host's builders).
//! - Requests and replies are JSON (UTF-8 bytes) of the `sluice-core` model types, wrapped
//!   with the [`SCHEMA_VERSION`] (see [`crate::wire`]).
//! - A buffer is freed by the side that allocated it: replies are [`AbiBuffer`]s allocated
//!   by the plugin and handed back to its `free_buffer`; requests and host replies are
//!   borrowed [`AbiStr`]s, valid only for the duration of the call.

use std::ffi::c_void;

/// The name of the one symbol a plugin exports: `extern "C" fn() -> *const PluginDeclaration`.
pub const ENTRY_SYMBOL: &str = "sluice_plugin_declare";

/// The layout version of [`PluginDeclaration`], [`FunctionTable`] and [`HostApi`]. Bumped
/// only when a layout changes incompatibly (growing a table at its end does not count).
pub const ABI_VERSION: u32 = 1;

/// The version of the JSON payloads (the wire module's request and reply shapes).
pub const SCHEMA_VERSION: u32 = 1;

/// The plugin API version: this crate's semver. A host accepts a plugin built against a
/// caret-compatible version (`^plugin` matches the host's), so while it is 0.x a minor bump
/// means "rebuild your plugin". 0.2: `ReadContext` has no `builders` and `HostApi` no
/// `detect` (the engine plans builds after the reader).
pub const PLUGIN_API_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Capability bits of [`PluginDeclaration::capabilities`].
pub mod capability {
    /// The plugin provides a `ProjectReader`.
    pub const READER: u32 = 1;
    /// The plugin provides a `Builder`.
    pub const BUILDER: u32 = 1 << 1;
    /// The plugin provides a `Deployer`.
    pub const DEPLOYER: u32 = 1 << 2;
    /// Every bit this host knows.
    pub const ALL: u32 = READER | BUILDER | DEPLOYER;
}

/// Status codes returned by every [`CallFn`].
pub mod status {
    /// The reply buffer holds `{"schema":…,"ok":…}`.
    pub const OK: i32 = 0;
    /// The reply buffer holds `{"schema":…,"error":{…}}`.
    pub const ERROR: i32 = 1;
}

/// Borrowed UTF-8 (or JSON) bytes, valid for the duration of the call that passes them.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct AbiStr {
    pub ptr: *const u8,
    pub len: usize,
}

impl AbiStr {
    /// Borrows a byte slice (a `&'static str` gives a declaration string).
    pub const fn new(bytes: &[u8]) -> Self {
        AbiStr {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// The bytes, or an empty slice for a null pointer.
    ///
    /// # Safety
    /// `ptr` must point to `len` readable bytes that stay valid and unchanged for `'a`.
    pub unsafe fn as_bytes<'a>(&self) -> &'a [u8] {
        if self.ptr.is_null() || self.len == 0 {
            return &[];
        }
        // SAFETY: the caller guarantees ptr/len describe live, readable bytes.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// Bytes allocated by the plugin and owned by it: the host copies them, then hands the
/// buffer back to the plugin's [`FunctionTable::free_buffer`].
#[repr(C)]
#[derive(Debug)]
pub struct AbiBuffer {
    pub ptr: *mut u8,
    pub len: usize,
    pub cap: usize,
}

impl AbiBuffer {
    /// No bytes; freeing it does nothing.
    pub const fn empty() -> Self {
        AbiBuffer {
            ptr: std::ptr::null_mut(),
            len: 0,
            cap: 0,
        }
    }

    /// Gives up a `Vec`'s allocation; only [`AbiBuffer::into_vec`] in the same library may
    /// take it back.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        let mut bytes = std::mem::ManuallyDrop::new(bytes);
        AbiBuffer {
            ptr: bytes.as_mut_ptr(),
            len: bytes.len(),
            cap: bytes.capacity(),
        }
    }

    /// Takes back an allocation made by [`AbiBuffer::from_vec`].
    ///
    /// # Safety
    /// The buffer must come from `from_vec` in this same library (same allocator) and must
    /// not have been freed already.
    pub unsafe fn into_vec(self) -> Vec<u8> {
        if self.ptr.is_null() {
            return Vec::new();
        }
        // SAFETY: ptr/len/cap come unchanged from a Vec of this allocator (caller's promise).
        unsafe { Vec::from_raw_parts(self.ptr, self.len, self.cap) }
    }
}

/// One plugin operation: takes the host callbacks and a JSON request, writes a JSON reply
/// into `reply` (allocated by the plugin) and returns a [`status`] code.
pub type CallFn =
    extern "C" fn(host: *const HostApi, request: AbiStr, reply: *mut AbiBuffer) -> i32;

/// Frees a reply buffer; exported by the plugin because only it knows its allocator.
pub type FreeFn = extern "C" fn(buffer: AbiBuffer);

/// What a plugin exports, reached through [`ENTRY_SYMBOL`]. Lives as long as the library.
#[repr(C)]
#[derive(Debug)]
pub struct PluginDeclaration {
    /// [`ABI_VERSION`] the plugin was built with. Always the first field.
    pub abi_version: u32,
    /// [`capability`] bits.
    pub capabilities: u32,
    /// [`PLUGIN_API_VERSION`] the plugin was built with (semver).
    pub api_version: AbiStr,
    /// The plugin's name, for messages and `sluice plugins list`.
    pub name: AbiStr,
    /// The plugin's own version.
    pub version: AbiStr,
    /// The function table.
    pub functions: *const FunctionTable,
}

// SAFETY: a declaration only points at immutable data with static lifetime (string literals
// and a static function table), so sharing it between threads is sound.
unsafe impl Sync for PluginDeclaration {}

/// The plugin's functions. Append-only: new members go at the end, and `size` tells the host
/// which members this plugin has. Every member is nullable; a capability's functions are
/// present when its bit is set.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FunctionTable {
    /// `size_of::<FunctionTable>()` as the plugin compiled it.
    pub size: usize,
    pub free_buffer: Option<FreeFn>,
    /// `{}` → `{reader, builder, deployer}` names.
    pub describe: Option<CallFn>,
    pub reader_claims: Option<CallFn>,
    pub reader_read: Option<CallFn>,
    pub builder_detect: Option<CallFn>,
    pub builder_build: Option<CallFn>,
    pub deployer_prepare: Option<CallFn>,
    pub deployer_deploy: Option<CallFn>,
    pub deployer_runtimes: Option<CallFn>,
    pub deployer_undeploy: Option<CallFn>,
}

// SAFETY: the table holds only function pointers and an integer.
unsafe impl Sync for FunctionTable {}

impl FunctionTable {
    /// A table with no functions, its size set; plugins fill in what they have.
    pub const fn empty() -> Self {
        FunctionTable {
            size: std::mem::size_of::<FunctionTable>(),
            free_buffer: None,
            describe: None,
            reader_claims: None,
            reader_read: None,
            builder_detect: None,
            builder_build: None,
            deployer_prepare: None,
            deployer_deploy: None,
            deployer_runtimes: None,
            deployer_undeploy: None,
        }
    }

    /// The smallest table a plugin of [`ABI_VERSION`] 1 may export (through `describe`).
    pub const MIN_SIZE: usize = std::mem::offset_of!(FunctionTable, reader_claims);
}

/// Callbacks the host passes into every call. The plugin may use them from any thread, but
/// only until the call returns.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct HostApi {
    /// `size_of::<HostApi>()` as the host compiled it.
    pub size: usize,
    /// Opaque host state, passed back to every callback.
    pub data: *mut c_void,
    /// A progress (`level` 0) or warning (`level` 1) line.
    pub log: extern "C" fn(data: *mut c_void, level: u32, message: AbiStr),
    /// A structured progress step as JSON (`{"buildStarted":{"entity":…}}`, …).
    pub step: extern "C" fn(data: *mut c_void, step: AbiStr),
    /// Whether the user asked to stop (the plugin should return an error soon).
    pub cancelled: extern "C" fn(data: *mut c_void) -> bool,
}

/// Log levels of [`HostApi::log`].
pub mod level {
    pub const PROGRESS: u32 = 0;
    pub const WARN: u32 = 1;
}

/// The type of the entry symbol.
pub type EntryFn = extern "C" fn() -> *const PluginDeclaration;
