//! Which browser origins may call `/mcp` (the Origin header check that, with the Host check,
//! protects against DNS rebinding).

/// The origins accepted in the Origin header, or `None` to accept any (`*`). Without
/// `--allowed-origins`: http and https on any port of every allowed host (with the port when the
/// host names one). The origin of the public URL is always added.
pub fn allowed_origins(
    explicit: &[String],
    allowed_hosts: &[String],
    public_url: Option<&reqwest::Url>,
) -> Result<Option<Vec<String>>, String> {
    if explicit.iter().any(|origin| origin == "*") {
        return Ok(None);
    }
    let mut origins = Vec::new();
    if explicit.is_empty() {
        for host in allowed_hosts.iter().filter(|host| *host != "*") {
            let authority = if host.matches(':').count() > 1 && !host.starts_with('[') {
                format!("[{host}]")
            } else {
                host.clone()
            };
            let has_port = authority.rsplit_once(':').is_some_and(|(_, port)| {
                !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
            });
            let any_port = if has_port { "" } else { ":*" };
            for scheme in ["http", "https"] {
                origins.push(format!("{scheme}://{authority}{any_port}"));
            }
        }
    } else {
        for origin in explicit {
            let url = origin.strip_suffix(":*").unwrap_or(origin);
            let valid = origin == "null"
                || reqwest::Url::parse(url).is_ok_and(|url| url.host_str().is_some());
            if !valid {
                return Err(format!(
                    "invalid --allowed-origins entry `{origin}`: expected scheme://host[:port], \
                     scheme://host:* or null"
                ));
            }
            origins.push(origin.clone());
        }
    }
    if let Some(url) = public_url
        && let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default())
    {
        origins.push(format!("{}://{host}:{port}", url.scheme()));
    }
    Ok(Some(origins))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn origins_default_to_the_allowed_hosts() {
        let hosts = strings(&["localhost", "::1", "example.com:8443", "[::1]:9000", "*"]);
        let origins = allowed_origins(&[], &hosts, None).expect("valid");
        assert_eq!(
            origins,
            Some(strings(&[
                "http://localhost:*",
                "https://localhost:*",
                "http://[::1]:*",
                "https://[::1]:*",
                "http://example.com:8443",
                "https://example.com:8443",
                "http://[::1]:9000",
                "https://[::1]:9000",
            ]))
        );
    }

    #[test]
    fn explicit_origins_replace_the_default_and_the_public_url_is_added() {
        let public = reqwest::Url::parse("https://mcp.example.com/base/").expect("url");
        let origins = allowed_origins(
            &strings(&["https://app.example.com:*", "null"]),
            &strings(&["localhost"]),
            Some(&public),
        )
        .expect("valid");
        assert_eq!(
            origins,
            Some(strings(&[
                "https://app.example.com:*",
                "null",
                "https://mcp.example.com:443",
            ]))
        );
    }

    #[test]
    fn a_star_accepts_any_origin_and_nonsense_is_refused() {
        assert_eq!(allowed_origins(&strings(&["*"]), &[], None), Ok(None));
        assert!(allowed_origins(&strings(&["example.com"]), &[], None).is_err());
        assert!(allowed_origins(&strings(&["https://"]), &[], None).is_err());
    }

    #[test]
    fn a_star_host_enables_no_origin() {
        let origins = allowed_origins(&[], &strings(&["*"]), None).expect("valid");
        assert_eq!(origins, Some(Vec::new()));
    }
}
