//! The HTTP client under octocrab: hyper 1 and rustls on ring with the system's roots, as
//! octocrab's own, plus proxies. octocrab's client connects directly; this one honours
//! `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` and `NO_PROXY` (read by `context.rs`, matched as
//! hyper-util's proxy matcher does, like the AWS client's): an `https://` URL goes through a
//! `CONNECT` tunnel with TLS to GitHub inside it, an `http://` URL is sent to the proxy in
//! absolute form. Credentials in the proxy's URL go with the `CONNECT`.
//!
//! On top of the connection, the layers octocrab stacks itself: timeouts, redirects (which drop
//! the `Authorization` header when they lead to another origin: an artifact's storage host),
//! the `User-Agent`, the base URL and the token, sent as a sensitive header only to the API's
//! host. Two clients share one connection pool: the REST API's, and GraphQL's, whose endpoint
//! is outside GitHub Enterprise Server's `/api/v3` (`https://HOST/api/graphql`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::USER_AGENT;
use http::uri::Scheme;
use http::{HeaderValue, Uri};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_rustls::{ConfigBuilderExt, HttpsConnector};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use octocrab::service::middleware::auth_header::AuthHeaderLayer;
use octocrab::service::middleware::base_uri::BaseUriLayer;
use octocrab::service::middleware::extra_headers::ExtraHeadersLayer;
use octocrab::{AuthState, OctoBody, Octocrab, OctocrabBuilder};
use tower_http::follow_redirect::FollowRedirectLayer;
use tower_service::Service;

use crate::context::ProxyVars;
use crate::github::GithubError;

/// How long connecting to GitHub (or the proxy) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long GitHub may stay silent while answering.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
const AGENT: &str = concat!("tfgate/", env!("CARGO_PKG_VERSION"));

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The two clients, on one connection pool.
pub struct Clients {
    /// Requests relative to the API's URL (`https://api.github.com`, `https://HOST/api/v3`).
    pub rest: Octocrab,
    /// Requests relative to GraphQL's root: `/graphql` is `https://api.github.com/graphql` or
    /// `https://HOST/api/graphql`.
    pub graphql: Octocrab,
}

/// The clients for the API at `api_url`, authenticated with `token`, through the proxies
/// `proxy` names.
pub fn clients(api_url: &str, token: &str, proxy: &ProxyVars) -> Result<Clients, GithubError> {
    let invalid = |why: String| GithubError::Protocol {
        message: format!("invalid GitHub API URL `{api_url}`: {why}"),
    };
    let api_url = api_url.trim_end_matches('/');
    let base: Uri = api_url.parse().map_err(|e| invalid(format!("{e}")))?;
    if !matches!(base.scheme_str(), Some("https" | "http")) || base.authority().is_none() {
        return Err(invalid("give it as https://HOST[/PATH]".into()));
    }
    let graphql: Uri = graphql_root(api_url)
        .parse()
        .map_err(|e| invalid(format!("{e}")))?;
    let mut auth =
        HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| GithubError::Protocol {
            message: "the GitHub token holds characters an HTTP header cannot carry".into(),
        })?;
    auth.set_sensitive(true);

    let no_tls = |e: String| GithubError::Protocol {
        message: format!("cannot set up TLS for GitHub: {e}"),
    };
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| no_tls(e.to_string()))?
    .with_native_roots()
    .map_err(|e| no_tls(e.to_string()))?
    .with_no_client_auth();
    let connector = ProxyConnector::new(Arc::new(tls), proxy);
    let connector = Octocrab::builder()
        .set_connect_timeout(Some(CONNECT_TIMEOUT))
        .set_read_timeout(Some(READ_TIMEOUT))
        .set_connect_timeout_service(connector);
    let pool = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, OctoBody>(connector);
    let client = |root: Uri| {
        let built = OctocrabBuilder::new_empty()
            .with_service(pool.clone())
            .with_layer(&FollowRedirectLayer::new())
            .with_layer(&ExtraHeadersLayer::new(Arc::new(vec![(
                USER_AGENT,
                HeaderValue::from_static(AGENT),
            )])))
            .with_layer(&BaseUriLayer::new(root.clone()))
            .with_layer(&AuthHeaderLayer::new(
                Some(auth.clone()),
                root.clone(),
                root,
            ))
            .with_auth(AuthState::None)
            .build();
        match built {
            Ok(client) => client,
            Err(never) => match never {},
        }
    };
    Ok(Clients {
        rest: client(base),
        graphql: client(graphql),
    })
}

/// The root under which GraphQL's endpoint is `/graphql`: GitHub Enterprise Server's is
/// `/api/graphql` beside its REST API's `/api/v3`; elsewhere it is under the API's root.
fn graphql_root(api_url: &str) -> &str {
    api_url.strip_suffix("/v3").unwrap_or(api_url)
}

/// Any stream a connection can be.
trait Io: Read + Write + Connection + Send + Unpin {}
impl<T: Read + Write + Connection + Send + Unpin> Io for T {}

/// A connection: to GitHub directly or through a proxy's tunnel, or to a forward proxy, which
/// hyper then sends requests in absolute form.
pub struct ProxiedConn {
    io: Box<dyn Io>,
    forward: bool,
}

impl Connection for ProxiedConn {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.forward)
    }
}

impl Read for ProxiedConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_read(cx, buf)
    }
}

impl Write for ProxiedConn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.io).poll_write_vectored(cx, bufs)
    }
}

/// Connects to a URL's host directly, or through the proxy the matcher picks for it.
#[derive(Clone)]
pub struct ProxyConnector {
    tcp: HttpConnector,
    tls: Arc<rustls::ClientConfig>,
    proxies: Arc<Matcher>,
}

type Connecting = Pin<Box<dyn Future<Output = Result<ProxiedConn, BoxError>> + Send>>;

impl ProxyConnector {
    fn new(tls: Arc<rustls::ClientConfig>, vars: &ProxyVars) -> ProxyConnector {
        let mut tcp = HttpConnector::new();
        // TLS is the layer above's: it hands `https://` URLs down.
        tcp.enforce_http(false);
        let mut proxies = Matcher::builder();
        if let Some(all) = &vars.all {
            proxies = proxies.all(all.clone());
        }
        if let Some(https) = &vars.https {
            proxies = proxies.https(https.clone());
        }
        if let Some(http) = &vars.http {
            proxies = proxies.http(http.clone());
        }
        if let Some(no) = &vars.no {
            proxies = proxies.no(no.clone());
        }
        ProxyConnector {
            tcp,
            tls,
            proxies: Arc::new(proxies.build()),
        }
    }

    /// TLS over `inner` for `https://` URLs, `inner` alone for `http://` ones.
    fn tls_over<C>(&self, inner: C) -> HttpsConnector<C> {
        HttpsConnector::from((inner, Arc::clone(&self.tls)))
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = ProxiedConn;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Connectors are made per call and a TCP connector is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Connecting {
        let direct = self.tls_over(self.tcp.clone());
        match self.proxies.intercept(&dst) {
            None => open(direct, dst, false),
            Some(proxy) if dst.scheme() == Some(&Scheme::HTTPS) => {
                // A tunnel to the proxy (over TLS for an `https://` proxy), TLS to GitHub
                // inside it.
                let mut tunnel = Tunnel::new(proxy.uri().clone(), direct);
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                open(self.tls_over(tunnel), dst, false)
            }
            Some(proxy) => open(direct, proxy.uri().clone(), true),
        }
    }
}

/// `connector`'s connection to `to`, boxed.
fn open<C>(mut connector: C, to: Uri, forward: bool) -> Connecting
where
    C: Service<Uri>,
    C::Response: Io + 'static,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    let connecting = connector.call(to);
    Box::pin(async move {
        let io = connecting.await.map_err(Into::into)?;
        Ok(ProxiedConn {
            io: Box::new(io),
            forward,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphql_lives_beside_the_enterprise_rest_api() {
        assert_eq!(
            graphql_root("https://api.github.com"),
            "https://api.github.com"
        );
        assert_eq!(
            graphql_root("https://ghe.example.com/api/v3"),
            "https://ghe.example.com/api"
        );
    }

    #[test]
    fn a_bad_api_url_or_token_is_an_error_not_a_panic() {
        let none = ProxyVars::default();
        for url in ["api.github.com", "ftp://x", "https://", "http://a b"] {
            let err = clients(url, "t", &none).err().expect(url);
            assert!(err.to_string().contains("invalid GitHub API URL"), "{err}");
        }
        let err = clients("https://api.github.com", "bad\ntoken", &none)
            .err()
            .expect("a token with a newline");
        assert!(!err.to_string().contains("bad"), "{err}");
    }

    #[test]
    fn the_matcher_follows_the_variables() {
        let vars = ProxyVars {
            https: Some("http://proxy:3128".into()),
            http: None,
            all: None,
            no: Some("ghe.internal".into()),
        };
        let c = ProxyConnector::new(
            Arc::new(
                rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
            ),
            &vars,
        );
        let via = |url: &str| {
            c.proxies
                .intercept(&url.parse().unwrap())
                .map(|p| p.uri().to_string())
        };
        assert_eq!(
            via("https://api.github.com/user").as_deref(),
            Some("http://proxy:3128/")
        );
        assert_eq!(via("http://api.github.com/user"), None);
        assert_eq!(via("https://ghe.internal/api/v3"), None);
    }
}
