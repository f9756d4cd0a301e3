//! The GitHub fake's state: users and tokens, repositories, pull requests and the commits
//! associated with them, a commit graph per repository (and how two of its commits compare),
//! comments, labels (the repository's and each pull request's), queued faults, the request log
//! and edit attempts. Seeding and inspection live
//! here; what an HTTP request does to this state lives in `routes`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};

use super::{EditAttempt, FakeComment, Fault, Kind, LoggedRequest};

/// GitHub-like id ranges, so nothing confuses a comment id with a PR number.
const FIRST_COMMENT_ID: u64 = 1_000_000_001;
const FIRST_USER_ID: u64 = 10_000_001;
const FIRST_REPO_ID: u64 = 700_000_001;
const FIRST_PR_ID: u64 = 1_800_000_001;
const FIRST_LABEL_ID: u64 = 5_000_000_001;
/// The color GitHub gives a label created by adding it to an issue.
pub(super) const DEFAULT_LABEL_COLOR: &str = "ededed";

/// Who opens the PRs added with `add_pr`.
pub(super) const PR_AUTHOR: &str = "pr-author";

pub(super) struct User {
    pub login: String,
    pub id: u64,
    pub kind: Kind,
}

pub(super) struct Repo {
    /// "owner/name" as first spelled.
    pub full_name: String,
    pub id: u64,
}

impl Repo {
    pub fn owner(&self) -> &str {
        self.full_name.split('/').next().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.full_name.split('/').nth(1).unwrap_or_default()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum PrState {
    Open,
    Closed,
}

pub(super) struct Pr {
    pub repo: String,
    pub number: u64,
    pub id: u64,
    pub author: String,
    pub title: String,
    pub head_ref: String,
    pub head_sha: String,
    pub base_ref: String,
    pub base_sha: String,
    pub state: PrState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub merged_at: Option<DateTime<Utc>>,
    pub merge_commit_sha: Option<String>,
}

pub(super) struct Comment {
    pub repo: String,
    pub pr: u64,
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A repository's label.
pub(super) struct Label {
    pub id: u64,
    /// As first spelled; GitHub compares names without regard to case.
    pub name: String,
    pub color: String,
    pub description: Option<String>,
}

/// A commit of a repository's graph.
pub(super) struct Commit {
    /// As first spelled.
    pub sha: String,
    /// Lower-cased SHAs, each a commit added earlier.
    pub parents: Vec<String>,
    /// How many commits the repository's graph had before this one.
    pub order: usize,
}

/// How two commits of a graph relate, counted as GitHub's compare counts them.
pub(super) struct Comparison<'a> {
    /// `identical`, `ahead`, `behind` or `diverged`: how head relates to base.
    pub status: &'static str,
    /// Commits in head's history and not in base's.
    pub ahead_by: usize,
    /// Commits in base's history and not in head's.
    pub behind_by: usize,
    pub base: &'a Commit,
    /// The newest common ancestor (the latest added, when several are equally good).
    pub merge_base: &'a Commit,
}

/// Why two commits cannot be compared.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum NoComparison {
    /// A commit (or the repository) the fake was never told of.
    Unknown,
    /// Histories with nothing in common.
    NoCommonAncestor,
}

pub(super) struct QueuedFault {
    pub fault: Fault,
    pub method: Option<String>,
    pub path_prefix: String,
}

impl QueuedFault {
    pub fn applies_to(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method) && path.starts_with(&self.path_prefix)
    }
}

pub(super) struct Store {
    pub started: DateTime<Utc>,
    /// By lower-cased login.
    pub users: BTreeMap<String, User>,
    /// Token → lower-cased login.
    pub tokens: HashMap<String, String>,
    /// By lower-cased "owner/name".
    pub repos: BTreeMap<String, Repo>,
    /// By (lower-cased repo, number).
    pub prs: BTreeMap<(String, u64), Pr>,
    /// (lower-cased repo, lower-cased sha) → PR numbers.
    pub commits: BTreeMap<(String, String), BTreeSet<u64>>,
    /// The commit graph: (lower-cased repo, lower-cased sha) → commit. Separate from
    /// `commits`: associating a commit with a PR does not put it in the graph.
    pub graph: BTreeMap<(String, String), Commit>,
    /// By id, so in creation order.
    pub comments: BTreeMap<u64, Comment>,
    pub faults: VecDeque<QueuedFault>,
    pub log: Vec<LoggedRequest>,
    pub edits: Vec<EditAttempt>,
    pub strict: bool,
    /// Lower-cased logins whose tokens GraphQL's `viewer` refuses.
    pub viewer_refused: BTreeSet<String>,
    /// How long every request waits before it is served (`GitHubFake::delay_requests`).
    pub delay: Duration,
    /// Requests per lower-cased login (`None`: unauthenticated) in this rate-limit window.
    pub used: HashMap<Option<String>, u64>,
    /// Workflow artifacts and their storage host.
    pub artifacts: super::artifacts::ArtifactState,
    /// Each repository's labels (by lower-cased repo), in creation order.
    pub repo_labels: BTreeMap<String, Vec<Label>>,
    /// The label ids on each pull request (by lower-cased repo and number), in the order added.
    pub issue_labels: BTreeMap<(String, u64), Vec<u64>>,
    next_comment_id: u64,
    next_label_id: u64,
    next_user_id: u64,
    next_repo_id: u64,
    next_pr_id: u64,
}

/// Now, to the second: GitHub's timestamps have no fractions, and what tests read back from
/// `comments()` should equal what the JSON said.
pub(super) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

fn key(s: &str) -> String {
    s.to_ascii_lowercase()
}

#[track_caller]
fn check_repo(repo: &str) {
    let mut parts = repo.split('/');
    let ok = matches!((parts.next(), parts.next(), parts.next()), (Some(o), Some(n), None) if !o.is_empty() && !n.is_empty());
    assert!(
        ok,
        "the GitHub fake wants repositories as \"owner/name\", not {repo:?}"
    );
}

impl Store {
    pub fn new() -> Store {
        Store {
            started: now(),
            users: BTreeMap::new(),
            tokens: HashMap::new(),
            repos: BTreeMap::new(),
            prs: BTreeMap::new(),
            commits: BTreeMap::new(),
            graph: BTreeMap::new(),
            comments: BTreeMap::new(),
            faults: VecDeque::new(),
            log: Vec::new(),
            edits: Vec::new(),
            strict: true,
            viewer_refused: BTreeSet::new(),
            delay: Duration::ZERO,
            used: HashMap::new(),
            artifacts: Default::default(),
            repo_labels: BTreeMap::new(),
            issue_labels: BTreeMap::new(),
            next_comment_id: FIRST_COMMENT_ID,
            next_label_id: FIRST_LABEL_ID,
            next_user_id: FIRST_USER_ID,
            next_repo_id: FIRST_REPO_ID,
            next_pr_id: FIRST_PR_ID,
        }
    }

    /// The user with this login, made up on first sight: a bot if it ends in `[bot]`.
    fn ensure_user(&mut self, login: &str, kind: Option<Kind>) -> &mut User {
        let next_id = &mut self.next_user_id;
        let user = self.users.entry(key(login)).or_insert_with(|| {
            let id = *next_id;
            *next_id += 1;
            let guessed = if login.ends_with("[bot]") {
                Kind::Bot
            } else {
                Kind::User
            };
            User {
                login: login.to_owned(),
                id,
                kind: guessed,
            }
        });
        if let Some(kind) = kind {
            user.kind = kind;
        }
        user
    }

    pub fn user(&self, login: &str) -> &User {
        self.users
            .get(&key(login))
            .unwrap_or_else(|| panic!("GitHub fake: no user {login:?}"))
    }

    pub fn repo(&self, repo: &str) -> &Repo {
        self.repos
            .get(&key(repo))
            .unwrap_or_else(|| panic!("GitHub fake: no repository {repo:?}"))
    }

    pub fn add_user(&mut self, token: &str, login: &str, kind: Kind) {
        self.ensure_user(login, Some(kind));
        self.tokens.insert(token.to_owned(), key(login));
    }

    pub fn login_for_token(&self, token: &str) -> Option<&User> {
        self.tokens.get(token).and_then(|l| self.users.get(l))
    }

    fn ensure_repo(&mut self, repo: &str) {
        check_repo(repo);
        if !self.repos.contains_key(&key(repo)) {
            let id = self.next_repo_id;
            self.next_repo_id += 1;
            self.repos.insert(
                key(repo),
                Repo {
                    full_name: repo.to_owned(),
                    id,
                },
            );
            let owner = repo.split('/').next().unwrap_or_default().to_owned();
            self.ensure_user(&owner, None);
        }
    }

    #[track_caller]
    pub fn add_pr(&mut self, repo: &str, number: u64, head_sha: &str) {
        self.ensure_repo(repo);
        self.ensure_user(PR_AUTHOR, None);
        let k = (key(repo), number);
        assert!(
            !self.prs.contains_key(&k),
            "GitHub fake: {repo}#{number} already exists"
        );
        let id = self.next_pr_id;
        self.next_pr_id += 1;
        let at = now();
        let full_name = self.repo(repo).full_name.clone();
        self.prs.insert(
            k,
            Pr {
                repo: full_name,
                number,
                id,
                author: PR_AUTHOR.to_owned(),
                title: format!("Change #{number}"),
                head_ref: format!("feature-{number}"),
                head_sha: head_sha.to_owned(),
                base_ref: "main".to_owned(),
                base_sha: format!("{id:040x}"),
                state: PrState::Open,
                created_at: at,
                updated_at: at,
                closed_at: None,
                merged_at: None,
                merge_commit_sha: None,
            },
        );
        self.associate_commit(repo, head_sha, number);
    }

    #[track_caller]
    fn pr_mut(&mut self, repo: &str, number: u64) -> &mut Pr {
        self.prs
            .get_mut(&(key(repo), number))
            .unwrap_or_else(|| panic!("GitHub fake: no PR {repo}#{number}; add_pr it first"))
    }

    #[track_caller]
    pub fn has_pr(&self, repo: &str, number: u64) -> bool {
        self.prs.contains_key(&(key(repo), number))
    }

    pub fn set_pr_head(&mut self, repo: &str, number: u64, head_sha: &str) {
        let pr = self.pr_mut(repo, number);
        pr.head_sha = head_sha.to_owned();
        pr.updated_at = now();
        self.associate_commit(repo, head_sha, number);
    }

    #[track_caller]
    pub fn merge_pr(&mut self, repo: &str, number: u64, merge_commit_sha: &str) {
        let pr = self.pr_mut(repo, number);
        let at = now();
        pr.state = PrState::Closed;
        pr.closed_at = Some(at);
        pr.merged_at = Some(at);
        pr.updated_at = at;
        pr.merge_commit_sha = Some(merge_commit_sha.to_owned());
        self.associate_commit(repo, merge_commit_sha, number);
    }

    #[track_caller]
    pub fn close_pr(&mut self, repo: &str, number: u64) {
        let pr = self.pr_mut(repo, number);
        let at = now();
        pr.state = PrState::Closed;
        pr.closed_at = Some(at);
        pr.updated_at = at;
    }

    pub fn associate_commit(&mut self, repo: &str, sha: &str, number: u64) {
        check_repo(repo);
        self.commits
            .entry((key(repo), key(sha)))
            .or_default()
            .insert(number);
    }

    pub fn pr(&self, repo: &str, number: u64) -> Option<&Pr> {
        self.prs.get(&(key(repo), number))
    }

    pub fn prs_for_commit(&self, repo: &str, sha: &str) -> Vec<&Pr> {
        self.commits
            .get(&(key(repo), key(sha)))
            .into_iter()
            .flatten()
            .filter_map(|n| self.pr(repo, *n))
            .collect()
    }

    /// Adds `sha` to the repository's commit graph with these parents, which must be in it
    /// already (none for a root commit).
    #[track_caller]
    pub fn add_commit(&mut self, repo: &str, sha: &str, parents: &[&str]) {
        self.ensure_repo(repo);
        let repo_key = key(repo);
        assert!(
            !self.graph.contains_key(&(repo_key.clone(), key(sha))),
            "GitHub fake: commit {sha} is already in {repo}"
        );
        for parent in parents {
            assert!(
                self.graph.contains_key(&(repo_key.clone(), key(parent))),
                "GitHub fake: parent {parent} of {sha} is not in {repo}; add_commit it first"
            );
        }
        let order = self.graph.keys().filter(|(r, _)| *r == repo_key).count();
        self.graph.insert(
            (repo_key, key(sha)),
            Commit {
                sha: sha.to_owned(),
                parents: parents.iter().map(|p| key(p)).collect(),
                order,
            },
        );
    }

    /// `sha` and every commit it descends from, as lower-cased SHAs; `None` for an unknown sha.
    fn history(&self, repo_key: &str, sha: &str) -> Option<BTreeSet<String>> {
        let start = key(sha);
        self.graph.get(&(repo_key.to_owned(), start.clone()))?;
        let mut seen = BTreeSet::new();
        let mut todo = vec![start];
        while let Some(sha) = todo.pop() {
            if seen.insert(sha.clone()) {
                todo.extend(
                    self.graph[&(repo_key.to_owned(), sha)]
                        .parents
                        .iter()
                        .cloned(),
                );
            }
        }
        Some(seen)
    }

    /// How `head` relates to `base` in the repository's commit graph.
    pub fn compare_commits(
        &self,
        repo: &str,
        base: &str,
        head: &str,
    ) -> Result<Comparison<'_>, NoComparison> {
        let repo_key = key(repo);
        let base_history = self.history(&repo_key, base).ok_or(NoComparison::Unknown)?;
        let head_history = self.history(&repo_key, head).ok_or(NoComparison::Unknown)?;
        let common: BTreeSet<&String> = base_history.intersection(&head_history).collect();
        // The best common ancestors are those no other common ancestor descends from. Every
        // commit between two common ancestors is one too, so a commit that some common
        // ancestor descends from is the parent of a common ancestor: leave those out.
        let commit = |sha: &str| &self.graph[&(repo_key.clone(), sha.to_owned())];
        let parents_in_common: BTreeSet<&String> = common
            .iter()
            .flat_map(|sha| commit(sha).parents.iter())
            .collect();
        let merge_base = common
            .iter()
            .filter(|sha| !parents_in_common.contains(*sha))
            .map(|sha| commit(sha))
            .max_by_key(|c| c.order)
            .ok_or(NoComparison::NoCommonAncestor)?;
        let ahead_by = head_history.difference(&base_history).count();
        let behind_by = base_history.difference(&head_history).count();
        let status = match (key(base) == key(head), ahead_by, behind_by) {
            (true, _, _) => "identical",
            (false, _, 0) => "ahead",
            (false, 0, _) => "behind",
            _ => "diverged",
        };
        Ok(Comparison {
            status,
            ahead_by,
            behind_by,
            base: commit(&key(base)),
            merge_base,
        })
    }

    /// Creates a comment (the PR must exist) and returns its id.
    #[track_caller]
    pub fn add_comment(&mut self, repo: &str, pr: u64, author: &str, body: &str) -> u64 {
        assert!(
            self.pr(repo, pr).is_some(),
            "GitHub fake: no PR {repo}#{pr}; add_pr it first"
        );
        let author = self.ensure_user(author, None).login.clone();
        let id = self.next_comment_id;
        self.next_comment_id += 1;
        let at = now();
        self.comments.insert(
            id,
            Comment {
                repo: key(repo),
                pr,
                author,
                body: body.to_owned(),
                created_at: at,
                updated_at: at,
            },
        );
        id
    }

    #[track_caller]
    pub fn set_comment_body(&mut self, id: u64, body: &str) {
        let c = self
            .comments
            .get_mut(&id)
            .unwrap_or_else(|| panic!("GitHub fake: no comment {id}"));
        c.body = body.to_owned();
        c.updated_at = now();
    }

    pub fn comments_of(&self, repo: &str, pr: u64) -> Vec<FakeComment> {
        let repo = key(repo);
        self.comments
            .iter()
            .filter(|(_, c)| c.repo == repo && c.pr == pr)
            .map(|(id, c)| fake_comment(*id, c))
            .collect()
    }

    pub fn comment(&self, id: u64) -> Option<FakeComment> {
        self.comments.get(&id).map(|c| fake_comment(id, c))
    }

    pub fn queue_faults(
        &mut self,
        n: usize,
        fault: Fault,
        method: Option<String>,
        path_prefix: &str,
    ) {
        for _ in 0..n {
            self.faults.push_back(QueuedFault {
                fault: fault.clone(),
                method: method.clone(),
                path_prefix: path_prefix.to_owned(),
            });
        }
    }

    /// The earliest queued fault that applies to this request, removed from the queue.
    pub fn take_fault(&mut self, method: &str, path: &str) -> Option<Fault> {
        let i = self
            .faults
            .iter()
            .position(|f| f.applies_to(method, path))?;
        self.faults.remove(i).map(|f| f.fault)
    }
}

fn fake_comment(id: u64, c: &Comment) -> FakeComment {
    FakeComment {
        id,
        author_login: c.author.clone(),
        body: c.body.clone(),
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

/// Labels, as GitHub keeps them: a repository's set, names unique without regard to case, and
/// each pull request's labels taken from it (created in the repository on first use).
impl Store {
    /// The repository's label with this name (any case), created when it has none.
    pub fn ensure_label(&mut self, repo: &str, name: &str) -> u64 {
        let labels = self.repo_labels.entry(key(repo)).or_default();
        if let Some(l) = labels.iter().find(|l| l.name.eq_ignore_ascii_case(name)) {
            return l.id;
        }
        let id = self.next_label_id;
        self.next_label_id += 1;
        labels.push(Label {
            id,
            name: name.to_owned(),
            color: DEFAULT_LABEL_COLOR.to_owned(),
            description: None,
        });
        id
    }

    pub fn label(&self, repo: &str, id: u64) -> Option<&Label> {
        self.repo_labels
            .get(&key(repo))?
            .iter()
            .find(|l| l.id == id)
    }

    /// Puts the label on the pull request (once).
    pub fn label_issue(&mut self, repo: &str, number: u64, name: &str) {
        let id = self.ensure_label(repo, name);
        let on = self.issue_labels.entry((key(repo), number)).or_default();
        if !on.contains(&id) {
            on.push(id);
        }
    }

    /// The ids of the pull request's labels, in the order added.
    pub fn issue_label_ids(&self, repo: &str, number: u64) -> Vec<u64> {
        self.issue_labels
            .get(&(key(repo), number))
            .cloned()
            .unwrap_or_default()
    }

    /// Takes the label (any case) off the pull request; whether it was on it.
    pub fn unlabel_issue(&mut self, repo: &str, number: u64, name: &str) -> bool {
        let Some(id) = self
            .repo_labels
            .get(&key(repo))
            .and_then(|ls| ls.iter().find(|l| l.name.eq_ignore_ascii_case(name)))
            .map(|l| l.id)
        else {
            return false;
        };
        let on = self.issue_labels.entry((key(repo), number)).or_default();
        let before = on.len();
        on.retain(|l| *l != id);
        on.len() < before
    }
}
