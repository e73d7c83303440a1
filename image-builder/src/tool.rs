//! Running the external tools the build drives (mmdebstrap, mkfs.erofs,
//! veritysetup, mtools, sfdisk, objcopy, qemu-img, ...).
//!
//! Every failure names the program, its arguments and the tail of its error
//! output, and, when the program is missing, the Debian package to install.

use std::ffi::OsStr;
use std::process::{Command, Output, Stdio};

/// An external tool failed or is missing.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The program could not be started.
    #[error(
        "cannot run {program} (install the Debian package {package}, see scripts/dev-env): {source}"
    )]
    Spawn {
        program: String,
        package: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The program ran and failed.
    #[error("{command} failed ({status}):\n{stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
}

/// The Debian package that provides a program, for error messages.
pub fn package_of(program: &str) -> &'static str {
    match program {
        "mmdebstrap" => "mmdebstrap",
        "mkfs.erofs" => "erofs-utils",
        "veritysetup" => "cryptsetup-bin",
        "mcopy" | "mmd" => "mtools",
        "mkfs.vfat" | "mkfs.fat" => "dosfstools",
        "mkfs.ext4" | "mke2fs" | "debugfs" => "e2fsprogs",
        "sfdisk" => "fdisk",
        "objcopy" => "binutils",
        "qemu-img" => "qemu-utils",
        "qemu-system-x86_64" => "qemu-system-x86 (bookworm-backports)",
        "systemctl" | "systemd-analyze" | "systemd-sysusers" => "systemd",
        "chroot" => "coreutils",
        "umount" => "mount",
        "sbsign" | "sbverify" => "sbsigntool",
        "faketime" => "faketime",
        "openssl" => "openssl",
        "virt-fw-vars" => "virt-firmware (from PyPI: scripts/dev-env puts it in venv-peers)",
        "oscap" => "openscap-scanner",
        _ => "(unknown: see scripts/dev-env)",
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// Runs `cmd` to completion, capturing its output; a non-zero exit is an error
/// carrying the last 40 lines of standard error (or output).
pub fn run(cmd: &mut Command) -> Result<Output, ToolError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    tracing::debug!(command = %describe(cmd), "running");
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|source| ToolError::Spawn {
            package: package_of(&program),
            program: program.clone(),
            source,
        })?;
    if output.status.success() {
        return Ok(output);
    }
    let text = if output.stderr.is_empty() {
        String::from_utf8_lossy(&output.stdout).into_owned()
    } else {
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    Err(ToolError::Failed {
        command: describe(cmd),
        status: output.status.to_string(),
        stderr: tail,
    })
}

/// Runs `cmd` and returns its standard output as text.
pub fn stdout(cmd: &mut Command) -> Result<String, ToolError> {
    let out = run(cmd)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A command for `program` with `args`.
pub fn command<I, S>(program: &str, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(program);
    cmd.args(args);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_names_its_package() {
        let err = run(&mut command("mkfs.erofs-does-not-exist", ["x"])).unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot run mkfs.erofs-does-not-exist")
        );
    }

    #[test]
    fn a_failure_carries_the_command_and_stderr() {
        let err = run(&mut command("sh", ["-c", "echo boom >&2; exit 3"])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("sh -c") && text.contains("boom"), "{text}");
    }
}
