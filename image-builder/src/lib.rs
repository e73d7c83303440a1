//! image-builder: turns Debian packages and the assessor into a locked-down,
//! verifiable appliance image, and publishes it as a private encrypted AMI.
//!
//! The image is data: a declarative profile (`profiles/*.toml`) says what goes
//! in; this crate only executes it. So far the crate holds the profile model;
//! building, verifying and publishing arrive with their issues.

pub mod profile;
