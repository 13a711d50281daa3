//! Secrets in the configuration: where they come from and how they stay out of logs.

use std::fmt;

/// A secret value (session key, token, client secret, database password).
///
/// `Debug` and `Display` print `[redacted]`; the only way to the value is [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value that must never be printed.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// HMAC-SHA256 keyed with this secret over the concatenation of `parts`.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        use hmac::Mac;
        self.hmac(parts).finalize().into_bytes().into()
    }

    /// Whether `tag` is the start of [`Secret::mac`] over `parts` (compared in constant time).
    pub fn mac_starts_with(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        use hmac::Mac;
        self.hmac(parts).verify_truncated_left(tag).is_ok()
    }

    fn hmac(&self, parts: &[&[u8]]) -> hmac::Hmac<sha2::Sha256> {
        use hmac::Mac;
        // HMAC takes a key of any length.
        let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(self.0.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        for part in parts {
            mac.update(part);
        }
        mac
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Resolves a value written as `file:/path`, or with `${ENV_VAR}` references (the whole value,
/// or inside it, as in a database URL's password), or a literal.
///
/// A `${` that does not start a whole `${NAME}` is refused: taken literally, the text written
/// in the config file (which the admin meant to keep out of it) would become the secret. The
/// error names the variable or file, never the value.
pub fn resolve(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    if let Some(path) = trimmed.strip_prefix("file:") {
        let value = read_secret_file(path)?;
        let value = value.trim_end_matches(['\n', '\r']).to_string();
        return if value.is_empty() {
            Err(format!("secret file {path} is empty"))
        } else {
            Ok(value)
        };
    }
    if !trimmed.contains("${") {
        return Ok(raw.to_string());
    }
    substitute(trimmed, |_| false)
}

/// [`resolve`] for a URL: a reference standing for the whole value is the whole URL, and one
/// inside the user name, password or query stands for that part's text, percent-encoded
/// where the URL would read it otherwise (a generated password holding `/`, `?`, `#`, `@` or
/// `&`). References elsewhere (a host, a port, a path) are put in as they are.
pub fn resolve_url(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    let Some((scheme, rest)) = trimmed.split_once("://") else {
        return resolve(raw);
    };
    let start = scheme.len() + 3;
    let authority_end = rest
        .find(['/', '?', '#'])
        .map_or(trimmed.len(), |at| start + at);
    let userinfo_end = trimmed[start..authority_end]
        .rfind('@')
        .map(|at| start + at);
    let query_start = trimmed.find('?');
    substitute(trimmed, |at| {
        userinfo_end.is_some_and(|end| at >= start && at < end)
            || query_start.is_some_and(|query| at > query)
    })
}

/// What a URL must not hold unencoded in a user name, password or query value.
const URL_PART: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Replaces every `${NAME}` of `text` by the variable's value, percent-encoded when
/// `encoded(offset)` says so for the reference at that byte offset of `text`.
fn substitute(text: &str, encoded: impl Fn(usize) -> bool) -> Result<String, String> {
    let mut resolved = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        let offset = text.len() - rest.len() + at;
        resolved.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let name = after
            .find('}')
            .map(|end| &after[..end])
            .filter(|name| is_variable_name(name))
            .ok_or_else(|| {
                "holds a `${` that does not start a reference: write ${NAME}, NAME being \
                 letters, digits and `_` (a secret that really holds `${` goes in a file:)"
                    .to_string()
            })?;
        match std::env::var(name) {
            Ok(value) if !value.is_empty() && encoded(offset) => {
                resolved.extend(percent_encoding::utf8_percent_encode(&value, URL_PART));
            }
            Ok(value) if !value.is_empty() => resolved.push_str(&value),
            Ok(_) => return Err(format!("environment variable {name} is empty")),
            Err(_) => return Err(format!("environment variable {name} is not set")),
        }
        rest = &after[name.len() + 1..];
    }
    resolved.push_str(rest);
    Ok(resolved)
}

/// An environment variable name as shells write one: a letter or `_`, then letters, digits
/// or `_`.
fn is_variable_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The largest secret file read: keys and tokens are far smaller.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// A secret file's text: a regular file (a link to one is fine) of at most
/// [`MAX_SECRET_FILE_BYTES`]; a FIFO or device would block or never end.
fn read_secret_file(path: &str) -> Result<String, String> {
    use std::io::Read;
    let cannot = |err: std::io::Error| format!("cannot read secret file {path}: {err}");
    let metadata = std::fs::metadata(path).map_err(cannot)?;
    if !metadata.is_file() {
        return Err(format!("secret file {path} is not a regular file"));
    }
    let too_large = || format!("secret file {path} is larger than {MAX_SECRET_FILE_BYTES} bytes");
    if metadata.len() > MAX_SECRET_FILE_BYTES {
        return Err(too_large());
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|file| {
            file.take(MAX_SECRET_FILE_BYTES + 1)
                .read_to_string(&mut text)
        })
        .map_err(cannot)?;
    if text.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(too_large());
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?} {secret}"), "[redacted] [redacted]");
        assert_eq!(secret.expose(), "hunter2");
    }

    /// RFC 4231 test case 2, the message split in two parts.
    #[test]
    fn mac_is_hmac_sha256_of_the_parts_joined() {
        let mac = Secret::new("Jefe").mac(&[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_reference_inside_a_value_is_replaced_and_a_malformed_one_refused() {
        // PATH is set wherever tests run; the unset name is surely unset.
        let path = std::env::var("PATH").unwrap();
        assert_eq!(
            resolve("postgres://u:${PATH}@db/x").unwrap(),
            format!("postgres://u:{path}@db/x")
        );
        assert_eq!(resolve("${PATH}${PATH}").unwrap(), format!("{path}{path}"));
        let err = resolve("postgres://u:${PROVISIOND_TEST_SURELY_UNSET_VAR}@db/x").unwrap_err();
        assert!(
            err.contains("PROVISIOND_TEST_SURELY_UNSET_VAR is not set"),
            "{err}"
        );

        // Each would otherwise be a literal secret that anyone reading the config knows.
        for malformed in ["${PROVISIOND_ADMIN_TOKEN", "x${}", "${ PATH }", "${PA-TH}"] {
            let err = resolve(malformed).unwrap_err();
            assert!(err.contains("${NAME}"), "{malformed}: {err}");
        }
        assert_eq!(
            resolve("no reference $PATH {}").unwrap(),
            "no reference $PATH {}"
        );
    }

    #[test]
    fn a_reference_in_a_url_is_encoded_in_credentials_and_query_only() {
        let path = std::env::var("PATH").unwrap();
        let encoded = percent_encoding::utf8_percent_encode(&path, URL_PART).to_string();
        assert_eq!(
            resolve_url("postgres://${PATH}:${PATH}@h/d?password=${PATH}").unwrap(),
            format!("postgres://{encoded}:{encoded}@h/d?password={encoded}")
        );
        // A host, a port or a path is put in as it is; so is a whole URL.
        assert_eq!(
            resolve_url("postgres://u@h/${PATH}").unwrap(),
            format!("postgres://u@h/{path}")
        );
        assert_eq!(resolve_url("${PATH}").unwrap(), path);
    }

    #[test]
    fn resolves_files_and_reports_missing_env_by_name() {
        let dir = std::env::temp_dir().join(format!("provisiond-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("key");
        std::fs::write(&file, "from-file\n").unwrap();
        assert_eq!(
            resolve(&format!("file:{}", file.display())).unwrap(),
            "from-file"
        );
        let err = resolve("${PROVISIOND_TEST_SURELY_UNSET_VAR}").unwrap_err();
        assert!(err.contains("PROVISIOND_TEST_SURELY_UNSET_VAR"), "{err}");
        assert_eq!(resolve("literal").unwrap(), "literal");

        // Only a regular file of sensible size: not a folder, a device or a huge file.
        let err = resolve(&format!("file:{}", dir.display())).unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
        let err = resolve("file:/dev/zero").unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
        let huge = dir.join("huge");
        std::fs::write(&huge, vec![b'k'; MAX_SECRET_FILE_BYTES as usize + 1]).unwrap();
        let err = resolve(&format!("file:{}", huge.display())).unwrap_err();
        assert!(err.contains("larger than"), "{err}");
        assert!(!err.contains("kkk"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
