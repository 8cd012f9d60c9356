//! The slice config's encryption: AES-256-CBC with a random 32-byte key and a zero IV, the
//! ciphertext in hex (what the original deployer writes, so slices cross deployers). A zero
//! IV is safe here only because every key encrypts exactly one config.

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};

use crate::error::{Error, Result};

type Enc = cbc::Encryptor<aes::Aes256>;
type Dec = cbc::Decryptor<aes::Aes256>;

const ZERO_IV: [u8; 16] = [0; 16];

/// A fresh random key.
pub fn new_key() -> [u8; 32] {
    rand::random()
}

/// `plain` encrypted under `key`, as lowercase hex.
pub fn encrypt_config(plain: &str, key: &[u8; 32]) -> String {
    let cipher = Enc::new(key.into(), &ZERO_IV.into());
    hex::encode(cipher.encrypt_padded_vec_mut::<Pkcs7>(plain.as_bytes()))
}

/// The config text from its hex ciphertext and the hex key (`ENCRYPTION_KEY`).
pub fn decrypt_config(cipher_hex: &str, key_hex: &str) -> Result<String> {
    let key = hex::decode(key_hex.trim()).map_err(|e| Error::Decrypt {
        message: format!("the key is not hex ({e})"),
    })?;
    let key: [u8; 32] = key.try_into().map_err(|k: Vec<u8>| Error::Decrypt {
        message: format!("the key has {} bytes, not 32", k.len()),
    })?;
    let data = hex::decode(cipher_hex.trim()).map_err(|e| Error::Decrypt {
        message: format!("the config is not hex ({e})"),
    })?;
    let cipher = Dec::new((&key).into(), &ZERO_IV.into());
    let plain = cipher
        .decrypt_padded_vec_mut::<Pkcs7>(&data)
        .map_err(|_| Error::Decrypt {
            message: "the padding is wrong (another key?)".to_string(),
        })?;
    String::from_utf8(plain).map_err(|_| Error::Decrypt {
        message: "the text is not UTF-8 (another key?)".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_key() {
        let key = new_key();
        let text = encrypt_config("slice: true\n", &key);
        assert!(text.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(text.len() % 32, 0);
        let back = decrypt_config(&text, &hex::encode(key)).expect("decrypts");
        assert_eq!(back, "slice: true\n");
        // Another key fails on the padding or gives other text, never the config.
        let other = hex::encode(new_key());
        assert_ne!(
            decrypt_config(&text, &other).ok().as_deref(),
            Some("slice: true\n")
        );
        assert!(matches!(
            decrypt_config(&text, "abc"),
            Err(Error::Decrypt { .. })
        ));
    }

    #[test]
    fn matches_node_crypto() {
        // node -e 'const c=require("crypto").createCipheriv("aes-256-cbc",Buffer.alloc(32,1),Buffer.alloc(16));
        //          console.log(c.update("slice: true\n","utf8","hex")+c.final("hex"))'
        let key = [1u8; 32];
        assert_eq!(
            encrypt_config("slice: true\n", &key),
            "40a92fb22fd8c307d8f00ec199565511"
        );
    }
}
