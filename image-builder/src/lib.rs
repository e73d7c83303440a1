//! image-builder: turns Debian packages and the assessor into a locked-down,
//! verifiable appliance image, and publishes it as a private encrypted AMI.
//!
//! The image is data: a declarative profile (`profiles/*.toml`) says what goes
//! in; this crate only executes it.
//!
//! Building: [`build`] drives [`rootfs`] (mmdebstrap and the package lock),
//! [`harden`] (the profile applied to the tree), [`prune`] (what was
//! installed but never runs, taken out), [`verify`] (offline gates)
//! and [`disk`] (erofs, dm-verity, UKI, ESP, GPT); [`boot`] boots the result
//! under qemu and reads its serial console, and [`lynis`] judges the Lynis
//! report the audit variant prints there; [`tool`] runs the external tools.
//! [`work_dir`] clears what an interrupted build left (mounts included).
//! [`source`] names the source commit and [`crates`] the Rust crates of the
//! assessor, for the [`manifest`] and the [`sbom`].

pub mod boot;
pub mod build;
pub mod crates;
pub mod disk;
pub mod harden;
pub mod lynis;
pub mod manifest;
pub mod path_error;
pub mod profile;
pub mod prune;
pub mod publish;
pub mod rootfs;
pub mod sbom;
pub mod scap;
pub mod secure_boot;
pub mod source;
pub mod tool;
pub mod verify;
pub mod work_dir;
