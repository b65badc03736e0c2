//! Credentials written into a URL (`https://user:secret@host/`): taken out of it, so that
//! a URL can be logged and shown without its password.

/// A URL split from the user and password it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitUrl {
    /// The URL without `user:password@`.
    pub url: String,
    /// The user, percent-decoded, if the URL had one.
    pub user: Option<String>,
    /// The password, percent-decoded, if the URL had one.
    pub password: Option<String>,
}

/// Splits `user:password@` off the authority of `url`; a URL without it comes back as
/// it is.
pub fn split(url: &str) -> SplitUrl {
    let unchanged = || SplitUrl { url: url.to_string(), user: None, password: None };
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return unchanged() };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return unchanged() };
    let (user, password) = match rest[..at].split_once(':') {
        Some((user, password)) => (user, Some(decode(password))),
        None => (&rest[..at], None),
    };
    SplitUrl {
        url: format!("{}{}", &url[..scheme_end], &rest[at + 1..]),
        user: Some(decode(user)).filter(|u| !u.is_empty()),
        password,
    }
}

/// `url` with any password in it replaced by `********`, for logs and settings shown.
pub fn masked(url: &str) -> String {
    let parts = split(url);
    match (parts.user, parts.password) {
        (_, None) => url.to_string(),
        (user, Some(_)) => {
            let scheme_end = url.find("://").map_or(0, |i| i + 3);
            format!(
                "{}{}:********@{}",
                &url[..scheme_end],
                user.unwrap_or_default(),
                &parts.url[scheme_end..]
            )
        }
    }
}

/// Percent-decoding, as URLs carry reserved characters of a user or password.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_taken_out_and_decoded_and_other_urls_stay() {
        let parts = split("https://key:s%40cr%3At@registry.example/apis?x=1");
        assert_eq!(parts.url, "https://registry.example/apis?x=1");
        assert_eq!((parts.user.as_deref(), parts.password.as_deref()), (Some("key"), Some("s@cr:t")));
        assert_eq!(masked("postgres://app:hunter2@db:5432/shop"), "postgres://app:********@db:5432/shop");
        for plain in ["http://127.0.0.1:8081/apis", "postgres://app@db/shop", "not a url", "http://h/p@q"] {
            assert_eq!(masked(plain), plain);
        }
        assert_eq!(split("postgres://app@db/shop").user.as_deref(), Some("app"));
    }
}
