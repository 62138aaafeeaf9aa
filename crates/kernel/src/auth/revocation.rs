//! Revocations identity publishes, which every verifier follows until the tokens they name expire.

use super::*;

/// One revocation as identity publishes it at `/internal/identity/revocations`: a
/// session's tokens (`session`), or every token of `user` issued before `not_before`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Revocation {
    /// Increases with every revocation; ask for those after the last one seen.
    pub seq: i64,
    pub user: UserId,
    /// The session whose tokens are refused, or none for the whole user.
    pub session: Option<SessionId>,
    /// Unix seconds: the user's tokens issued before it, or within that second, are
    /// refused.
    pub not_before: i64,
}

/// The most revocations one answer carries; a full page means "ask again at once".
pub const REVOCATION_PAGE: usize = 1000;

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct RevocationList {
    pub items: Vec<Revocation>,
}

/// Revocations younger than an access token's lifetime: older ones only name tokens
/// that have expired anyway.
#[derive(Debug, Default)]
pub(super) struct Revoked {
    sessions: HashMap<SessionId, i64>,
    users: HashMap<UserId, i64>,
    last_seq: i64,
}

/// Access tokens live 15 minutes; a revocation is kept a little longer than that.
pub(super) const REVOCATION_KEPT_SECS: i64 = 16 * 60;

impl Revoked {
    pub(super) fn apply(&mut self, list: &[Revocation], now: i64) -> i64 {
        for r in list {
            match &r.session {
                Some(session) => {
                    self.sessions.insert(*session, r.not_before);
                }
                None => {
                    let at = self.users.entry(r.user).or_insert(r.not_before);
                    *at = (*at).max(r.not_before);
                }
            }
            self.last_seq = self.last_seq.max(r.seq);
        }
        let horizon = now - REVOCATION_KEPT_SECS;
        self.sessions.retain(|_, at| *at > horizon);
        self.users.retain(|_, at| *at > horizon);
        self.last_seq
    }

    pub(super) fn refuses(&self, claims: &Claims) -> bool {
        self.sessions.contains_key(&claims.sid)
            || self
                .users
                .get(&claims.sub)
                // Seconds are coarse: a token issued in the revocation's second may
                // predate it, so it is refused too (a refresh a second later is not).
                .is_some_and(|not_before| claims.iat <= *not_before)
    }
}
