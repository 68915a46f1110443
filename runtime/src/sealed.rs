//! Sealed values: what the OAuth proxies hand to a client or the provider and must get back
//! unchanged (the authorization's `state`, the code handed to the client), encrypted and
//! authenticated under `MCP_STATE_KEY`, with an expiry and a purpose. The state of a login travels
//! with the login, so every step may land on any replica and no request of an unauthenticated
//! caller is remembered by the server.
//!
//! A sealed value is `base64url(version ‖ nonce ‖ AES-256-GCM-SIV(expiry ‖ payload))`, with the
//! purpose and the version as associated data: a value sealed for one purpose (a `state`) does
//! not open as another (a code), a changed byte does not open at all, an expired one is refused,
//! and none opens under another key. GCM-SIV keeps random 96-bit nonces safe: even a repeated
//! nonce reveals only that two plaintexts were equal.
//!
//! `MCP_STATE_KEY` is the base64 of 32 random bytes (`openssl rand -base64 32`), the same on
//! every replica. It may list up to four keys, comma-separated: values are sealed under the first
//! and opened under any, so a key is rotated without failing a login by rolling out `old,new`,
//! then `new,old`, then (once the old values expired) `new`.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::aead::{AES_256_GCM_SIV, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// The environment variable that holds the key (or keys).
pub const STATE_KEY_ENV: &str = "MCP_STATE_KEY";
/// The format's version, the first byte of every sealed value.
const VERSION: u8 = 1;
/// Bytes of a key.
const KEY_LEN: usize = 32;
/// Bytes of the AEAD tag.
const TAG_LEN: usize = 16;
/// Keys accepted in `MCP_STATE_KEY` at most (the current one and those being retired).
const MAX_KEYS: usize = 4;

/// What a sealed value is for. Each purpose is its own associated data: one never opens as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `/oauth/authorize` → the provider → `/oauth/callback`: the `state` parameter.
    AuthorizeState,
    /// `/oauth/callback` → the client → `/oauth/token`: the authorization code.
    Code,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::AuthorizeState => b"mcpgen oauth authorize-state",
            Purpose::Code => b"mcpgen oauth code",
        }
    }
}

/// Why a sealed value was refused. (The causes a client may learn: nothing about the key.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not a sealed value of this purpose under these keys, or changed on the way.
    Invalid,
    /// Authentic, but past its expiry.
    Expired,
}

/// The keys values are sealed and opened with.
pub struct Sealer {
    /// The first one seals; all of them open.
    keys: Vec<LessSafeKey>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealer({} key(s))", self.keys.len())
    }
}

/// Where the keys came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// `MCP_STATE_KEY`: the same on every replica.
    Configured,
    /// Made at start-up: only this process opens what it sealed.
    Random,
}

impl Sealer {
    /// The keys of `MCP_STATE_KEY`, or a random key when it is not set (or empty). A set but
    /// unusable value is an error (which never quotes the value).
    pub fn from_env() -> Result<(Self, KeySource), String> {
        match std::env::var(STATE_KEY_ENV) {
            // Empty as unset, as `.env.example` leaves it.
            Ok(value) if value.trim().is_empty() => Ok((Self::random()?, KeySource::Random)),
            Ok(value) => Ok((Self::from_config(&value)?, KeySource::Configured)),
            Err(std::env::VarError::NotPresent) => Ok((Self::random()?, KeySource::Random)),
            Err(std::env::VarError::NotUnicode(_)) => Err(format!(
                "environment variable {STATE_KEY_ENV} is not valid base64: {}",
                Self::HOW
            )),
        }
    }

    const HOW: &'static str = "it must be the base64 of 32 random bytes, the same on every replica \
         (make one with `openssl rand -base64 32`), or several such keys separated by commas";

    /// Parses `MCP_STATE_KEY`: one or more comma-separated base64 (standard or URL-safe, padded or
    /// not) encodings of 32 bytes.
    pub fn from_config(value: &str) -> Result<Self, String> {
        let parts: Vec<&str> = value.split(',').map(str::trim).collect();
        if parts.iter().all(|p| p.is_empty()) {
            return Err(format!(
                "environment variable {STATE_KEY_ENV} is empty: {}",
                Self::HOW
            ));
        }
        if parts.len() > MAX_KEYS {
            return Err(format!(
                "environment variable {STATE_KEY_ENV} lists {} keys, at most {MAX_KEYS} are accepted",
                parts.len()
            ));
        }
        let mut keys = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let which = if parts.len() == 1 {
                String::new()
            } else {
                format!(" (key {} of {})", i + 1, parts.len())
            };
            let bytes = [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(part).ok())
                .ok_or_else(|| {
                    format!(
                        "environment variable {STATE_KEY_ENV}{which} is not valid base64: {}",
                        Self::HOW
                    )
                })?;
            if bytes.len() != KEY_LEN {
                return Err(format!(
                    "environment variable {STATE_KEY_ENV}{which} decodes to {} bytes, not {KEY_LEN}: {}",
                    bytes.len(),
                    Self::HOW
                ));
            }
            keys.push(key(&bytes)?);
        }
        Ok(Self { keys })
    }

    /// A sealer with a key made now.
    pub fn random() -> Result<Self, String> {
        let mut bytes = [0u8; KEY_LEN];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| "no randomness for a key".to_owned())?;
        Ok(Self {
            keys: vec![key(&bytes)?],
        })
    }

    /// `payload` sealed for `purpose`, valid until `expires` (seconds since the Unix epoch),
    /// URL-safe base64 without padding.
    pub fn seal(&self, purpose: Purpose, expires: u64, payload: &[u8]) -> Result<String, String> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| "no randomness for a nonce".to_owned())?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + 8 + payload.len() + TAG_LEN);
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        let mut in_out = Vec::with_capacity(8 + payload.len() + TAG_LEN);
        in_out.extend_from_slice(&expires.to_be_bytes());
        in_out.extend_from_slice(payload);
        self.keys[0]
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(purpose)),
                &mut in_out,
            )
            .map_err(|_| "cannot seal a value".to_owned())?;
        sealed.extend_from_slice(&in_out);
        Ok(URL_SAFE_NO_PAD.encode(sealed))
    }

    /// The payload of a value [`Sealer::seal`] made for `purpose` under one of the keys, if it has
    /// not expired at `now` (seconds since the Unix epoch).
    pub fn open(&self, purpose: Purpose, sealed: &str, now: u64) -> Result<Vec<u8>, Refused> {
        let bytes = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| Refused::Invalid)?;
        if bytes.len() < 1 + NONCE_LEN + 8 + TAG_LEN || bytes[0] != VERSION {
            return Err(Refused::Invalid);
        }
        let (nonce, ciphertext) = bytes[1..].split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| Refused::Invalid)?;
        for key in &self.keys {
            let mut in_out = ciphertext.to_vec();
            let Ok(plain) = key.open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(purpose)),
                &mut in_out,
            ) else {
                continue;
            };
            let (expiry, payload) = plain.split_at(8);
            let expiry = u64::from_be_bytes(expiry.try_into().map_err(|_| Refused::Invalid)?);
            if now >= expiry {
                return Err(Refused::Expired);
            }
            return Ok(payload.to_vec());
        }
        Err(Refused::Invalid)
    }
}

fn key(bytes: &[u8]) -> Result<LessSafeKey, String> {
    UnboundKey::new(&AES_256_GCM_SIV, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| "cannot use the state key".to_owned())
}

/// The associated data: the format's version and the purpose.
fn aad(purpose: Purpose) -> Vec<u8> {
    let mut aad = vec![VERSION];
    aad.extend_from_slice(purpose.label());
    aad
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
    const KEY_B: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    fn sealer(keys: &str) -> Sealer {
        Sealer::from_config(keys).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_for_its_purpose_until_it_expires() {
        let s = sealer(KEY_A);
        let sealed = s.seal(Purpose::Code, 1_000, b"payload").unwrap();
        assert!(
            sealed
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert!(!sealed.contains("payload"));
        assert_eq!(s.open(Purpose::Code, &sealed, 999).unwrap(), b"payload");
        assert_eq!(s.open(Purpose::Code, &sealed, 1_000), Err(Refused::Expired));
        assert_eq!(s.open(Purpose::Code, &sealed, 5_000), Err(Refused::Expired));
        // Random nonces: sealing twice gives two values.
        assert_ne!(sealed, s.seal(Purpose::Code, 1_000, b"payload").unwrap());
    }

    #[test]
    fn a_value_of_one_purpose_does_not_open_as_another() {
        let s = sealer(KEY_A);
        let state = s.seal(Purpose::AuthorizeState, 1_000, b"x").unwrap();
        assert_eq!(s.open(Purpose::Code, &state, 0), Err(Refused::Invalid));
        let code = s.seal(Purpose::Code, 1_000, b"x").unwrap();
        assert_eq!(
            s.open(Purpose::AuthorizeState, &code, 0),
            Err(Refused::Invalid)
        );
    }

    #[test]
    fn any_changed_byte_is_refused() {
        let s = sealer(KEY_A);
        let sealed = s.seal(Purpose::Code, u64::MAX, b"redirect").unwrap();
        let bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        for i in 0..bytes.len() {
            for flip in [0x01, 0x80] {
                let mut changed = bytes.clone();
                changed[i] ^= flip;
                let changed = URL_SAFE_NO_PAD.encode(changed);
                assert_eq!(
                    s.open(Purpose::Code, &changed, 0),
                    Err(Refused::Invalid),
                    "byte {i}"
                );
            }
        }
        // Cut, extended, not base64, empty.
        assert_eq!(
            s.open(Purpose::Code, &sealed[..sealed.len() - 2], 0),
            Err(Refused::Invalid)
        );
        assert_eq!(
            s.open(Purpose::Code, &format!("{sealed}AA"), 0),
            Err(Refused::Invalid)
        );
        assert_eq!(
            s.open(Purpose::Code, "not base64!", 0),
            Err(Refused::Invalid)
        );
        assert_eq!(s.open(Purpose::Code, "", 0), Err(Refused::Invalid));
    }

    #[test]
    fn the_expiry_cannot_be_moved() {
        // The expiry is inside the ciphertext: a value sealed to expire at 10 opens nowhere later,
        // whatever is done to its bytes (checked above); and an expired one says so.
        let s = sealer(KEY_A);
        let sealed = s.seal(Purpose::AuthorizeState, 10, b"").unwrap();
        assert_eq!(s.open(Purpose::AuthorizeState, &sealed, 9).unwrap(), b"");
        assert_eq!(
            s.open(Purpose::AuthorizeState, &sealed, 11),
            Err(Refused::Expired)
        );
    }

    #[test]
    fn another_key_does_not_open_it_and_rotation_does() {
        let a = sealer(KEY_A);
        let b = sealer(KEY_B);
        let sealed = a.seal(Purpose::Code, u64::MAX, b"x").unwrap();
        assert_eq!(b.open(Purpose::Code, &sealed, 0), Err(Refused::Invalid));
        assert_eq!(
            Sealer::random().unwrap().open(Purpose::Code, &sealed, 0),
            Err(Refused::Invalid)
        );
        // Rotation: the new key first seals, the old one still opens.
        let both = sealer(&format!("{KEY_B}, {KEY_A}"));
        assert_eq!(both.open(Purpose::Code, &sealed, 0).unwrap(), b"x");
        let new = both.seal(Purpose::Code, u64::MAX, b"y").unwrap();
        assert_eq!(b.open(Purpose::Code, &new, 0).unwrap(), b"y");
        assert_eq!(a.open(Purpose::Code, &new, 0), Err(Refused::Invalid));
    }

    #[test]
    fn unusable_keys_are_refused_without_quoting_them() {
        for (value, why) in [
            ("", "is empty"),
            (" , ", "is empty"),
            ("c2hvcnQ=", "decodes to 5 bytes, not 32"),
            (
                "not*base64*at*all*not*base64*at*all*not*base64",
                "not valid base64",
            ),
            (
                &format!("{KEY_A},{KEY_A},{KEY_A},{KEY_A},{KEY_A}"),
                "at most 4",
            ),
            (
                &format!("{KEY_A},c2hvcnQ="),
                "(key 2 of 2) decodes to 5 bytes",
            ),
        ] {
            let e = Sealer::from_config(value).unwrap_err();
            assert!(e.contains(why), "{value:?}: {e}");
            assert!(e.contains("MCP_STATE_KEY"), "{e}");
            if value.len() > 8 {
                assert!(!e.contains(value), "{e}");
            }
        }
        // Every base64 flavour of the same 32 bytes.
        let bytes = STANDARD.decode(KEY_A).unwrap();
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            let s = sealer(&format!("  {}\n", engine.encode(&bytes)));
            let sealed = sealer(KEY_A).seal(Purpose::Code, u64::MAX, b"k").unwrap();
            assert_eq!(s.open(Purpose::Code, &sealed, 0).unwrap(), b"k");
        }
    }
}
