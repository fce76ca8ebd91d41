//! The security rule: TLS for targets that are not loopback unless the caller opts into plaintext,
//! and no token in plaintext to such a target unless the caller opts into that too.

use crate::Error;

/// How a client reaches its target once the rule has been applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Tls,
    Plaintext,
}

/// What the caller asked for.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Choice {
    /// A TLS configuration was given.
    pub(crate) tls_configured: bool,
    /// Plaintext to a host that is not loopback is allowed.
    pub(crate) plaintext: bool,
    /// A token will be sent.
    pub(crate) token: bool,
    /// A token may travel in plaintext to a host that is not loopback.
    pub(crate) token_over_plaintext: bool,
}

/// TLS or plaintext for `target`, or why the combination is refused.
pub(crate) fn transport(target: &str, choice: Choice) -> Result<Transport, Error> {
    let parsed = Target::parse(target)?;
    match parsed.scheme {
        Some("https") => return Ok(Transport::Tls),
        Some("http") if choice.tls_configured => {
            return Err(Error::InvalidArgument(format!("{target}: an http:// target cannot use TLS")))
        }
        _ if choice.tls_configured => return Ok(Transport::Tls),
        _ => {}
    }
    let loopback = parsed.is_loopback();
    if !loopback && !choice.plaintext {
        if cfg!(feature = "tls") && parsed.scheme.is_none() {
            return Ok(Transport::Tls);
        }
        return Err(Error::InvalidArgument(format!(
            "{target}: plaintext to a host that is not loopback needs ClientBuilder::plaintext() (or use TLS)"
        )));
    }
    if !loopback && choice.token && !choice.token_over_plaintext {
        return Err(Error::InvalidArgument(format!(
            "{target}: refusing to send a token in plaintext to a host that is not loopback; use TLS or \
             ClientBuilder::allow_token_over_plaintext()"
        )));
    }
    Ok(Transport::Plaintext)
}

/// The parts of a target string the security rule looks at.
pub(crate) struct Target<'a> {
    pub(crate) scheme: Option<&'a str>,
    pub(crate) host: &'a str,
}

impl<'a> Target<'a> {
    pub(crate) fn parse(target: &'a str) -> Result<Self, Error> {
        let (scheme, rest) = match target.split_once("://") {
            Some((scheme @ ("http" | "https"), rest)) => (Some(scheme), rest),
            Some((other, _)) => {
                return Err(Error::InvalidArgument(format!("{target}: unsupported scheme {other:?} (http or https)")))
            }
            None => (None, target),
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let authority = authority.rsplit('@').next().unwrap_or_default();
        let host = if let Some(bracketed) = authority.strip_prefix('[') {
            bracketed.split(']').next().unwrap_or_default()
        } else if authority.matches(':').count() == 1 {
            authority.split(':').next().unwrap_or_default()
        } else {
            authority
        };
        if host.is_empty() {
            return Err(Error::InvalidArgument(format!("{target}: no host")));
        }
        Ok(Target { scheme, host })
    }

    /// `localhost`, `*.localhost`, 127.0.0.0/8 and ::1.
    pub(crate) fn is_loopback(&self) -> bool {
        let host = self.host.to_ascii_lowercase();
        if host == "localhost" || host.ends_with(".localhost") {
            return true;
        }
        host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    #[test]
    fn hosts_are_read_from_every_target_form() {
        let host = |t| Target::parse(t).map(|t| t.host.to_owned()).map_err(|e| e.code());
        assert_eq!(host("h.example:1"), Ok("h.example".into()));
        assert_eq!(host("https://user@h.example:1/x"), Ok("h.example".into()));
        assert_eq!(host("[::1]:50051"), Ok("::1".into()));
        assert_eq!(host("::1"), Ok("::1".into()));
        assert_eq!(host("ftp://h:1"), Err(Code::InvalidArgument));
        assert_eq!(host(":1"), Err(Code::InvalidArgument));
    }
}
