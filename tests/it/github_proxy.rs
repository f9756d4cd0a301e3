//! GitHub through a proxy: `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` carry (or not) every
//! request tfgate makes to GitHub: REST, GraphQL, and an artifact's download with its redirect
//! to the storage host. `https://` GitHub goes through a `CONNECT` tunnel (a TLS front with a
//! CA of the test's own, trusted through `SSL_CERT_FILE`, stands for api.github.com);
//! `http://` GitHub is sent to the proxy in absolute form.

use std::time::Duration;

use tfgate::context::ProxyVars;
use tfgate::github::octo::{OctoOptions, OctoPullRequests};
use tfgate::github::retry::RetryPolicy;
use tfgate::github::{Artifacts, Download};

use crate::aws_chain::TlsFront;
use crate::support::actions::{Actions, BOT, HEAD, PR, REPO, TOKEN};
use crate::support::github::{GitHubFake, Kind};
use crate::support::web_proxy::WebProxy;
use crate::support::*;

/// A `pull_request` run for PR 7 with Actions' token, GitHub's API at `api_url` (the fake, or
/// a TLS front for it).
fn pr_env(gh: &GitHubFake, api_url: &str) -> TestEnv {
    gh.add_user(TOKEN, BOT, Kind::Installation);
    gh.add_pr(REPO, PR, HEAD);
    Actions::pull_request(api_url).env()
}

fn plan(env: &TestEnv, root: &std::path::Path, var: &str) -> Run {
    let run = env.plan(root, &["--", &format!("-var=environment={var}")]);
    run.assert_code(0);
    run
}

/// tfgate's one comment on PR 7.
fn comment(gh: &GitHubFake) -> String {
    gh.only_comment_by(REPO, PR, BOT)
}

#[test]
fn http_proxy_carries_every_request_to_an_http_github_and_no_proxy_bypasses_it() {
    let gh = GitHubFake::start();
    let proxy = WebProxy::start();
    let mut env = pr_env(&gh, &gh.url());
    env.set("HTTP_PROXY", proxy.url());
    let root = env.stage("demo");
    let run = plan(&env, &root, "staging");
    assert!(
        run.stderr.contains("commented on acme/infra#7"),
        "{}",
        run.stderr
    );
    assert!(comment(&gh).contains("staging.example.com"));
    let asked = proxy.asked();
    let served = gh.requests();
    assert_eq!(asked.len(), served.len(), "{asked:#?}\n{served:#?}");
    for (a, r) in asked.iter().zip(&served) {
        assert_eq!(a.method, r.method);
        let target = format!("{}{}", gh.url(), r.path);
        assert!(a.target.starts_with(&target), "{a:?} for {r:?}");
    }
    assert!(served.iter().any(|r| r.path == "/graphql"), "{served:#?}");
    assert!(
        served
            .iter()
            .any(|r| r.method == "POST" && r.path.ends_with("/comments"))
    );

    // NO_PROXY names GitHub's host: straight there.
    env.set("NO_PROXY", "127.0.0.1");
    gh.clear_requests();
    plan(&env, &root, "qa");
    assert!(comment(&gh).contains("qa.example.com"), "updated in place");
    assert!(!gh.requests().is_empty());
    assert_eq!(
        proxy.asked().len(),
        asked.len(),
        "nothing more through the proxy"
    );
}

#[test]
fn https_proxy_tunnels_to_an_https_github_with_its_credentials() {
    let gh = GitHubFake::start();
    let front = TlsFront::start(gh.addr());
    let proxy = WebProxy::start();
    let mut env = pr_env(&gh, &front.endpoint());
    let ca = front.write_ca(env.path(), "github-ca.pem");
    let with_password = proxy
        .url()
        .replace("http://", "http://deploy:pr0xy-s3cret@");
    env.set("SSL_CERT_FILE", ca.display().to_string())
        .set("https_proxy", &with_password);
    let root = env.stage("demo");
    let run = plan(&env, &root, "staging");
    assert!(
        comment(&gh).contains("staging.example.com"),
        "{}",
        run.stderr
    );
    let asked = proxy.asked();
    let port = front.endpoint().rsplit(':').next().unwrap().to_string();
    assert!(!asked.is_empty());
    for a in &asked {
        assert_eq!(
            (a.method.as_str(), a.target.as_str()),
            ("CONNECT", format!("localhost:{port}").as_str())
        );
        // deploy:pr0xy-s3cret
        assert_eq!(
            a.proxy_authorization.as_deref(),
            Some("Basic ZGVwbG95OnByMHh5LXMzY3JldA==")
        );
    }
    assert_eq!(
        front.sessions(),
        asked.len(),
        "every TLS session in a tunnel"
    );
    assert!(
        !run.transcript().contains("pr0xy-s3cret"),
        "{}",
        run.transcript()
    );

    env.set("NO_PROXY", "localhost");
    let sessions = front.sessions();
    plan(&env, &root, "qa");
    assert!(comment(&gh).contains("qa.example.com"));
    assert_eq!(proxy.asked().len(), asked.len(), "no tunnel more");
    assert!(front.sessions() > sessions);
}

#[test]
fn an_artifact_download_and_its_redirect_go_through_the_proxy_without_the_token() {
    let gh = GitHubFake::start();
    gh.add_user(TOKEN, BOT, Kind::Installation);
    gh.add_pr(REPO, PR, HEAD);
    let zip = b"PK\x05\x06 not really a zip, but bytes to carry".to_vec();
    let id = gh.add_artifact(REPO, 42, "tfgate-_-default", zip.clone());
    let proxy = WebProxy::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut file = std::fs::File::create(dir.path().join("artifact.zip")).unwrap();
    let download = runtime.block_on(async {
        let adapter = OctoPullRequests::new(OctoOptions {
            api_url: gh.url(),
            token: TOKEN.to_owned(),
            comment_author: None,
            proxy: ProxyVars {
                http: Some(proxy.url()),
                ..ProxyVars::default()
            },
            policy: RetryPolicy {
                max_attempts: 2,
                max_total_wait: Duration::from_secs(2),
                base_backoff: Duration::from_millis(10),
            },
        })
        .unwrap();
        adapter
            .download_artifact("acme", "infra", id, &mut file, 1 << 20)
            .await
    });
    assert_eq!(
        download,
        Ok(Download::Complete {
            bytes: zip.len() as u64
        })
    );
    assert_eq!(std::fs::read(dir.path().join("artifact.zip")).unwrap(), zip);
    let asked: Vec<String> = proxy
        .asked()
        .into_iter()
        .map(|a| format!("{} {}", a.method, a.target))
        .collect();
    let storage = gh.storage_requests();
    assert_eq!(storage.len(), 1, "{storage:?}");
    assert!(!storage[0].authorization, "the token stayed with GitHub");
    assert_eq!(asked.len(), 2, "{asked:#?}");
    assert_eq!(
        asked[0],
        format!("GET {}/repos/{REPO}/actions/artifacts/{id}/zip", gh.url())
    );
    assert!(
        asked[1].starts_with("GET http://") && asked[1].ends_with(&storage[0].uri),
        "{asked:#?} {storage:?}"
    );
}
