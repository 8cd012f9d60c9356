//! SOPS's value cipher: AES-256-GCM with a 32-byte random IV, the key path as additional
//! data, written as `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` (sops `aes/cipher.go`).

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;

type Cipher = AesGcm<Aes256, U32>;

const TAG_LEN: usize = 16;

/// A parsed `ENC[…]` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encrypted {
    pub data: Vec<u8>,
    pub iv: Vec<u8>,
    pub tag: Vec<u8>,
    pub kind: String,
}

/// Whether `value` has SOPS's encrypted-value shape.
pub fn is_encrypted(value: &str) -> bool {
    parse(value).is_some()
}

/// Parses `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`.
pub fn parse(value: &str) -> Option<Encrypted> {
    let inner = value.strip_prefix("ENC[AES256_GCM,")?.strip_suffix(']')?;
    let mut parts = inner.splitn(4, ',');
    let field = |part: Option<&str>, name: &str| -> Option<String> {
        part?.strip_prefix(name).map(str::to_string)
    };
    let data = field(parts.next(), "data:")?;
    let iv = field(parts.next(), "iv:")?;
    let tag = field(parts.next(), "tag:")?;
    let kind = field(parts.next(), "type:")?;
    Some(Encrypted {
        data: STANDARD.decode(data).ok()?,
        iv: STANDARD.decode(iv).ok()?,
        tag: STANDARD.decode(tag).ok()?,
        kind,
    })
}

/// Encrypts `plain` (of SOPS type `kind`: str, int, float, bool, comment) for `aad`; `None`
/// when it is beyond what AES-GCM can seal (64 GiB).
pub fn encrypt(plain: &[u8], kind: &str, key: &[u8; 32], aad: &str) -> Option<String> {
    let mut iv = [0u8; 32];
    rand::rng().fill_bytes(&mut iv);
    encrypt_with_iv(plain, kind, key, aad, &iv)
}

pub(crate) fn encrypt_with_iv(
    plain: &[u8],
    kind: &str,
    key: &[u8; 32],
    aad: &str,
    iv: &[u8; 32],
) -> Option<String> {
    let cipher = Cipher::new(key.into());
    let sealed = cipher
        .encrypt(
            Nonce::<U32>::from_slice(iv),
            Payload {
                msg: plain,
                aad: aad.as_bytes(),
            },
        )
        .ok()?;
    let (data, tag) = sealed.split_at(sealed.len().saturating_sub(TAG_LEN));
    Some(format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{kind}]",
        STANDARD.encode(data),
        STANDARD.encode(iv),
        STANDARD.encode(tag)
    ))
}

/// Decrypts a parsed value; `None` when authentication fails.
pub fn decrypt(value: &Encrypted, key: &[u8; 32], aad: &str) -> Option<Vec<u8>> {
    if value.iv.len() != 32 || value.tag.len() != TAG_LEN {
        return None;
    }
    let cipher = Cipher::new(key.into());
    let mut sealed = value.data.clone();
    sealed.extend_from_slice(&value.tag);
    cipher
        .decrypt(
            Nonce::<U32>::from_slice(&value.iv),
            Payload {
                msg: &sealed,
                aad: aad.as_bytes(),
            },
        )
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_aad_fails() {
        let key = [7u8; 32];
        let text = encrypt(b"hello", "str", &key, "A:").expect("seals");
        let parsed = parse(&text).expect("parses");
        assert_eq!(parsed.kind, "str");
        assert_eq!(decrypt(&parsed, &key, "A:").as_deref(), Some(&b"hello"[..]));
        assert_eq!(decrypt(&parsed, &key, "B:"), None);
        assert!(!is_encrypted("hello"));
    }
}
