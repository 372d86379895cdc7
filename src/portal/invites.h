#pragma once
// An office manager's invitations to join their company (issue 13): the invitee gets an emailed
// one-time link (confirmations.h, valid kInviteTtlUs), sets her own password and gives her
// mandatory data herself. An invitation is bound to the company it came from: every call here
// takes the caller's company and answers not_found for another company's invitation, as for one
// that does not exist.
//
// The invitee's address is personal data of someone who is not a member yet, so each invitation
// is a subject with its own key: the address is sealed under it, and accepting, revoking or the
// expiry of the invitation destroys the key with the row. An invitation sent to an address that
// already has a login is made and listed exactly like any other (the office manager learns
// nothing); only its email differs, and its link is never sent.
//
// Thread-safety: free of state; every call runs inside the caller's transaction.

#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "privacy/audit.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::portal {

struct Invite {
  std::string id, company_id, email;  // email normalised
  int64_t created_at_us = 0, expires_at_us = 0;
};

// A new or renewed invitation and the token of its link, for the email.
struct InviteLink {
  Invite invite;
  std::string token;
};

class Invites {
 public:
  Invites(const privacy::Keyring& keys, const Clock& clock) : keys_(keys), clock_(clock), audit_(keys, clock) {}

  // Inside the caller's write transaction: invites `email` (normalised) to `company_id` on behalf
  // of `actor`, purging expired invitations first. Errors are the store's.
  Result<InviteLink> create(store::Session& tx, const std::string& company_id, const std::string& email,
                            const std::string& actor) const;
  // The company's live invitations, oldest first, their addresses opened.
  Result<std::vector<Invite>> list(store::Session& s, const std::string& company_id) const;
  // A new link for the invitation (the old one stops working) and a new expiry. not_found on "id"
  // when the company has no such live invitation.
  Result<InviteLink> renew(store::Session& tx, const std::string& company_id, const std::string& id,
                           const std::string& actor) const;
  // Ends the invitation and its link, destroying its key. not_found on "id" as for renew.
  Status revoke(store::Session& tx, const std::string& company_id, const std::string& id,
                const std::string& actor) const;
  // The invitation of a link, without using it up; not_found on "token" when the link is unknown,
  // used, expired, revoked or not an invitation's.
  Result<Invite> peek(store::Session& s, const std::string& token) const;
  // The same, using the link up and ending the invitation (its key destroyed): the caller writes
  // the member in the same transaction.
  Result<Invite> take(store::Session& tx, const std::string& token) const;

 private:
  Status purge_expired(store::Session& tx) const;
  Result<std::vector<Invite>> read(store::Session& s, const std::string& where_id, const std::string& company_id) const;
  Status remove(store::Session& tx, const std::string& id) const;

  const privacy::Keyring& keys_;
  const Clock& clock_;
  privacy::AuditChain audit_;
};

}  // namespace privox::portal
