//! Who may connect at all: `[server] allowed-ips` (litellm's
//! `general_settings.allowed_ips`), addresses and CIDR ranges. Each
//! connection's peer address rides on its requests as a [`ClientIp`]
//! (set by the connection, or by an embedder driving [`app`](super::app)
//! itself); with a list configured, a request from an address not on it,
//! or with no known address, is refused with 403 in the OpenAI error shape
//! before any route sees it. No list: everyone may connect (the master key
//! and virtual keys still apply). Knows no route.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;

use super::error::ApiError;
use crate::error::{Error, ErrorKind};
use crate::server::AppState;

/// The address a request's connection came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Whether `ip` is on the list (an IPv4 client seen as `::ffff:a.b.c.d`
/// counts as `a.b.c.d`).
fn allowed(list: &[IpNet], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    list.iter().any(|net| net.contains(&ip))
}

/// Middleware: 403 for a client address not on `allowed-ips`.
pub(crate) async fn require_allowed(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(list) = state.allowed_ips.as_deref() else {
        return next.run(req).await;
    };
    match req.extensions().get::<ClientIp>() {
        Some(ClientIp(ip)) if allowed(list, *ip) => next.run(req).await,
        found => {
            let who = found.map_or("an unknown address".to_string(), |c| c.0.to_string());
            ApiError::from(Error::new(
                ErrorKind::PermissionDenied,
                format!("{who} is not allowed to call this server ([server] allowed-ips)"),
            ))
            .with_status(StatusCode::FORBIDDEN)
            .with_code("ip_not_allowed")
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::parse_allowed_ips as parse_allowed;

    #[test]
    fn addresses_and_ranges_match_and_bad_entries_are_named() {
        let list =
            parse_allowed(&["10.0.0.0/8".into(), "192.168.1.7".into(), "::1".into()]).unwrap();
        for (ip, ok) in [
            ("10.2.3.4", true),
            ("11.0.0.1", false),
            ("192.168.1.7", true),
            ("192.168.1.8", false),
            ("::1", true),
            ("::ffff:10.9.9.9", true),
        ] {
            assert_eq!(allowed(&list, ip.parse().unwrap()), ok, "{ip}");
        }
        let e = parse_allowed(&["10.0.0.0/33".into()]).unwrap_err();
        assert!(e.message().contains("\"10.0.0.0/33\""), "{e}");
    }
}
