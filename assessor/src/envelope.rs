//! Envelope encryption for the session: a KMS data key per run, and
//! AES-256-GCM sealing of every sensitive value before it reaches a disk.
//!
//! Guarantees:
//! - The plaintext data key exists only in memory, inside [`DataKey`], which
//!   zeroizes it on drop and never prints it. The job writes no copy of the
//!   key anywhere, not even KMS's wrapped one (once `data-key.enc`): runs
//!   never resume, so nothing would read it back, and the instance role is
//!   allowed `kms:GenerateDataKey` only (with the run's encryption context),
//!   never `kms:Decrypt` on a data key.
//! - [`Sealer::seal`] uses a fresh random 96-bit nonce per value and binds the
//!   value to its row with associated data ([`Binding`]): a sealed value
//!   copied to another row, column or run fails to open.
//! - Crypto-shredding: once the [`DataKey`] is dropped (the end of the run,
//!   or the process dying), nothing sealed under it can be opened again:
//!   no wrapped copy exists to ask KMS for it.
//!
//! Why random nonces rather than a counter: they need no state shared
//! between sealers. With random nonces the risk of a repeat stays below
//! 2^-32 as long as a key seals fewer than 2^32 values
//! ([`MAX_SEALS_PER_KEY`]), which [`Sealer`] enforces.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// Length of an AES-256 key.
pub const KEY_LEN: usize = 32;
/// Format version of a sealed value (first byte).
const SEALED_V1: u8 = 1;
/// Version byte + nonce + GCM tag.
pub const SEAL_OVERHEAD: usize = 1 + NONCE_LEN + 16;
/// Random 96-bit nonces stay collision-safe below 2^32 uses of one key.
pub const MAX_SEALS_PER_KEY: u64 = 1 << 32;

/// What went wrong with a data key or a sealed value. Messages never contain
/// key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error(
        "KMS {action} with key {key_id} failed: {message}. Check that the key exists, is enabled, \
         and that this role may use it with the run's encryption context"
    )]
    Kms {
        action: &'static str,
        key_id: String,
        message: String,
    },
    #[error(
        "KMS key {key_id} cannot protect this run: its state is {state} and its usage {usage}; \
         it must be an enabled symmetric ENCRYPT_DECRYPT key"
    )]
    KeyNotUsable {
        key_id: String,
        state: String,
        usage: String,
    },
    #[error("KMS returned a data key of {len} bytes; expected {KEY_LEN}")]
    BadKeyLength { len: usize },
    #[error("the system random number generator failed")]
    Random,
    #[error("this data key has sealed {MAX_SEALS_PER_KEY} values; start a new run for a new key")]
    KeyExhausted,
    #[error(
        "a sealed value for {binding} could not be opened: it was altered, moved from another row, \
         or sealed under another run's key"
    )]
    Open { binding: String },
}

/// The run's data key: plaintext in memory only, plus KMS's encrypted copy
/// (also in memory only).
pub struct DataKey {
    plaintext: Zeroizing<[u8; KEY_LEN]>,
    encrypted: Vec<u8>,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey")
            .field("plaintext", &"<redacted>")
            .field("encrypted_len", &self.encrypted.len())
            .finish()
    }
}

/// The KMS encryption context that ties a data key to one run. KMS refuses to
/// decrypt the key blob under any other context, and CloudTrail records it.
pub fn encryption_context(run_id: &str) -> HashMap<String, String> {
    HashMap::from([
        ("service".to_owned(), "sqlassess".to_owned()),
        ("run_id".to_owned(), run_id.to_owned()),
    ])
}

impl DataKey {
    /// Asks KMS for a new AES-256 data key under `key_id`, bound to `run_id`,
    /// after checking that the key is enabled and symmetric (KMS would
    /// otherwise fail later, or, for some states, only at decrypt time).
    pub async fn generate(
        kms: &aws_sdk_kms::Client,
        key_id: &str,
        run_id: &str,
    ) -> Result<DataKey, EnvelopeError> {
        check_key_usable(kms, key_id).await?;
        let out = kms
            .generate_data_key()
            .key_id(key_id)
            .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
            .set_encryption_context(Some(encryption_context(run_id)))
            .send()
            .await
            .map_err(|e| kms_error("GenerateDataKey", key_id, e))?;
        let plaintext = out
            .plaintext
            .map(|b| Zeroizing::new(b.into_inner()))
            .unwrap_or_default();
        let encrypted = out
            .ciphertext_blob
            .map(|b| b.into_inner())
            .unwrap_or_default();
        DataKey::from_parts(&plaintext, encrypted)
    }

    /// Unwraps a data key from its KMS-encrypted blob under `run_id`'s
    /// context. The job never calls it (it keeps no blob, and the instance
    /// role may not decrypt data keys); `tests/envelope_kms.rs` uses it to
    /// show that a blob opens only under its own run's context.
    pub async fn decrypt(
        kms: &aws_sdk_kms::Client,
        key_id: &str,
        run_id: &str,
        encrypted: Vec<u8>,
    ) -> Result<DataKey, EnvelopeError> {
        let out = kms
            .decrypt()
            .key_id(key_id)
            .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(encrypted.clone()))
            .set_encryption_context(Some(encryption_context(run_id)))
            .send()
            .await
            .map_err(|e| kms_error("Decrypt", key_id, e))?;
        let plaintext = out
            .plaintext
            .map(|b| Zeroizing::new(b.into_inner()))
            .unwrap_or_default();
        DataKey::from_parts(&plaintext, encrypted)
    }

    /// Builds a key from its parts (tests and benchmarks use a random key).
    pub fn from_parts(plaintext: &[u8], encrypted: Vec<u8>) -> Result<DataKey, EnvelopeError> {
        let bytes: [u8; KEY_LEN] =
            plaintext
                .try_into()
                .map_err(|_| EnvelopeError::BadKeyLength {
                    len: plaintext.len(),
                })?;
        Ok(DataKey {
            plaintext: Zeroizing::new(bytes),
            encrypted,
        })
    }

    /// A random key that KMS never saw (tests, benchmarks).
    pub fn random_local() -> Result<DataKey, EnvelopeError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| EnvelopeError::Random)?;
        DataKey::from_parts(bytes.as_ref(), Vec::new())
    }

    /// KMS's encrypted copy of the key. The job keeps it in memory only.
    pub fn encrypted_blob(&self) -> &[u8] {
        &self.encrypted
    }

    /// Raw key bytes for the dm-crypt volume on the appliance. The caller
    /// must pass them to cryptsetup through a pipe, never a file or argv.
    pub fn expose_for_volume_key(&self) -> &[u8; KEY_LEN] {
        &self.plaintext
    }

    /// A sealer for this key.
    pub fn sealer(&self) -> Result<Sealer, EnvelopeError> {
        // UnboundKey::new only fails for a wrong key length, which the
        // [u8; 32] type rules out; map it anyway rather than unwrap.
        let key = UnboundKey::new(&AES_256_GCM, self.plaintext.as_ref())
            .map_err(|_| EnvelopeError::BadKeyLength { len: KEY_LEN })?;
        Ok(Sealer {
            key: LessSafeKey::new(key),
            rng: SystemRandom::new(),
            seals: AtomicU64::new(0),
        })
    }
}

/// Fails unless `key_id` names an enabled symmetric encryption key.
pub async fn check_key_usable(
    kms: &aws_sdk_kms::Client,
    key_id: &str,
) -> Result<(), EnvelopeError> {
    use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType};
    let described = kms
        .describe_key()
        .key_id(key_id)
        .send()
        .await
        .map_err(|e| kms_error("DescribeKey", key_id, e))?;
    let meta = described.key_metadata();
    let state = meta.and_then(|m| m.key_state());
    let usage = meta.and_then(|m| m.key_usage());
    let spec = meta.and_then(|m| m.key_spec());
    // KMS always reports usage and spec; an emulator may omit them, and an
    // absent field is not evidence of a wrong key.
    let symmetric = matches!(spec, None | Some(KeySpec::SymmetricDefault));
    let encrypts = matches!(usage, None | Some(KeyUsageType::EncryptDecrypt));
    if state == Some(&KeyState::Enabled) && encrypts && symmetric {
        return Ok(());
    }
    Err(EnvelopeError::KeyNotUsable {
        key_id: key_id.to_owned(),
        state: state.map_or("unknown", |s| s.as_str()).to_owned(),
        usage: usage.map_or("unknown", |u| u.as_str()).to_owned(),
    })
}

fn kms_error<E>(
    action: &'static str,
    key_id: &str,
    err: aws_sdk_kms::error::SdkError<E>,
) -> EnvelopeError
where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = match err.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("error"),
            service.message().unwrap_or("no message")
        ),
        None => aws_sdk_kms::error::DisplayErrorContext(&err).to_string(),
    };
    EnvelopeError::Kms {
        action,
        key_id: key_id.to_owned(),
        message,
    }
}

/// Where a sealed value belongs: table, row and column, plus the run. Used
/// as AES-GCM associated data, so a value only opens in its own place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    text: String,
}

impl Binding {
    pub fn new(run_id: &str, table: &str, row: &str, column: &str) -> Binding {
        // Length-prefixed parts: "a|b" + "c" can never equal "a" + "b|c".
        let mut text = String::new();
        for part in [run_id, table, row, column] {
            text.push_str(&part.len().to_string());
            text.push(':');
            text.push_str(part);
        }
        Binding { text }
    }
}

impl fmt::Display for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Seals and opens values under one data key.
pub struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
    seals: AtomicU64,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("seals", &self.seals.load(Ordering::Relaxed))
            .finish()
    }
}

impl Sealer {
    /// Encrypts `plaintext` for `binding`: version || nonce || ciphertext || tag.
    pub fn seal(&self, binding: &Binding, plaintext: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        if self.seals.fetch_add(1, Ordering::Relaxed) >= MAX_SEALS_PER_KEY {
            return Err(EnvelopeError::KeyExhausted);
        }
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| EnvelopeError::Random)?;
        let mut out = Vec::with_capacity(plaintext.len() + SEAL_OVERHEAD);
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let mut body = out.split_off(1 + NONCE_LEN);
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(binding.text.as_bytes()),
                &mut body,
            )
            .map_err(|_| EnvelopeError::Random)?;
        out.append(&mut body);
        Ok(out)
    }

    /// Decrypts a value sealed for `binding`; fails if it was altered or
    /// belongs elsewhere. The plaintext zeroizes when dropped.
    pub fn open(
        &self,
        binding: &Binding,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let fail = || EnvelopeError::Open {
            binding: binding.to_string(),
        };
        if sealed.len() < SEAL_OVERHEAD || sealed[0] != SEALED_V1 {
            return Err(fail());
        }
        let nonce: [u8; NONCE_LEN] = sealed[1..1 + NONCE_LEN].try_into().map_err(|_| fail())?;
        let mut body = Zeroizing::new(sealed[1 + NONCE_LEN..].to_vec());
        let len = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(binding.text.as_bytes()),
                &mut body,
            )
            .map_err(|_| fail())?
            .len();
        body.truncate(len);
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(row: &str) -> Binding {
        Binding::new("run-1", "modules", row, "definition")
    }

    #[test]
    fn seal_then_open_round_trips() {
        let sealer = DataKey::random_local().unwrap().sealer().unwrap();
        let sealed = sealer
            .seal(&binding("7"), b"CREATE PROCEDURE p AS SELECT 1")
            .unwrap();
        assert_eq!(sealed.len(), 30 + SEAL_OVERHEAD);
        assert!(
            !sealed.windows(6).any(|w| w == b"CREATE"),
            "ciphertext must not contain plaintext"
        );
        let opened = sealer.open(&binding("7"), &sealed).unwrap();
        assert_eq!(opened.as_slice(), b"CREATE PROCEDURE p AS SELECT 1");
    }

    #[test]
    fn same_plaintext_seals_differently_each_time() {
        let sealer = DataKey::random_local().unwrap().sealer().unwrap();
        let a = sealer.seal(&binding("1"), b"x").unwrap();
        let b = sealer.seal(&binding("1"), b"x").unwrap();
        assert_ne!(
            a[1..1 + NONCE_LEN],
            b[1..1 + NONCE_LEN],
            "nonces must differ"
        );
        assert_ne!(a, b);
    }

    #[test]
    fn value_moved_to_another_row_does_not_open() {
        let sealer = DataKey::random_local().unwrap().sealer().unwrap();
        let sealed = sealer.seal(&binding("1"), b"secret code").unwrap();
        let err = sealer.open(&binding("2"), &sealed).unwrap_err();
        assert!(matches!(err, EnvelopeError::Open { .. }));
        assert!(!err.to_string().contains("secret code"));
    }

    #[test]
    fn tampered_value_does_not_open() {
        let sealer = DataKey::random_local().unwrap().sealer().unwrap();
        let mut sealed = sealer.seal(&binding("1"), b"secret code").unwrap();
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(sealer.open(&binding("1"), &sealed).is_err());
        assert!(
            sealer.open(&binding("1"), &sealed[..5]).is_err(),
            "truncated input"
        );
    }

    #[test]
    fn another_key_cannot_open_it() {
        let a = DataKey::random_local().unwrap().sealer().unwrap();
        let b = DataKey::random_local().unwrap().sealer().unwrap();
        let sealed = a.seal(&binding("1"), b"v").unwrap();
        assert!(b.open(&binding("1"), &sealed).is_err());
    }

    #[test]
    fn binding_parts_cannot_be_shifted() {
        assert_ne!(
            Binding::new("r", "a|b", "c", "d"),
            Binding::new("r", "a", "b|c", "d")
        );
    }

    #[test]
    fn debug_never_shows_key_material() {
        let key = DataKey::from_parts(&[0xAB; KEY_LEN], vec![1, 2, 3]).unwrap();
        let text = format!("{key:?}");
        assert!(text.contains("redacted"));
        assert!(!text.to_lowercase().contains("ab, ab") && !text.contains("171"));
    }

    #[test]
    fn wrong_key_length_is_refused() {
        assert!(matches!(
            DataKey::from_parts(&[0; 16], vec![]),
            Err(EnvelopeError::BadKeyLength { len: 16 })
        ));
    }
}
