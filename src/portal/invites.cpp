#include "portal/invites.h"

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "portal/confirmations.h"
#include "privacy/audit_record.h"

namespace privox::portal {
namespace {

constexpr std::string_view kEmailField = "invite_email";

Error no_invite() { return Error{ErrorCode::not_found, "id", "no such invitation in your company"}; }

Result<std::string> new_link(store::Session& tx, const privacy::Keyring& keys, const Clock& clock, const Invite& in) {
  return create_confirmation(tx, keys, clock,
                             {ConfirmationKind::invite, in.id, {{"company_id", in.company_id}}, kInviteTtlUs});
}

}  // namespace

Status Invites::purge_expired(store::Session& tx) const {
  PRIVOX_ASSIGN(store::Rows rows, tx.query("SELECT id FROM portal_invites WHERE expires_at_us <= ?", {clock_.now_us()}));
  for (const store::Row& row : rows) PRIVOX_TRY(remove(tx, row.text(0)));
  return {};
}

Status Invites::remove(store::Session& tx, const std::string& id) const {
  PRIVOX_TRY(tx.exec("DELETE FROM portal_invites WHERE id = ?", {id}));
  PRIVOX_TRY(delete_confirmations_of(tx, id));
  PRIVOX_TRY(privacy::subject_keys::destroy(tx, id));
  return {};
}

Result<InviteLink> Invites::create(store::Session& tx, const std::string& company_id, const std::string& email,
                                   const std::string& actor) const {
  PRIVOX_TRY(purge_expired(tx));
  const int64_t now = clock_.now_us();
  InviteLink out{{new_id(now), company_id, email, now, now + kInviteTtlUs}, ""};
  PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::create(tx, keys_, out.invite.id, now));
  PRIVOX_TRY(tx.exec("INSERT INTO portal_invites (id, company_id, invited_by, email_enc, created_at_us, expires_at_us) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     {out.invite.id, company_id, actor, privacy::seal_field(key, out.invite.id, kEmailField, email), now,
                      out.invite.expires_at_us}));
  PRIVOX_ASSIGN(out.token, new_link(tx, keys_, clock_, out.invite));
  PRIVOX_TRY(audit_.append(tx, {actor, "invite.create", out.invite.id, "service", {{"company_id", company_id}}}));
  return out;
}

Result<std::vector<Invite>> Invites::read(store::Session& s, const std::string& where_id,
                                          const std::string& company_id) const {
  PRIVOX_ASSIGN(store::Rows rows,
                where_id.empty()
                    ? s.query("SELECT id, email_enc, created_at_us, expires_at_us FROM portal_invites "
                              "WHERE company_id = ? AND expires_at_us > ? ORDER BY created_at_us, id",
                              {company_id, clock_.now_us()})
                    : s.query("SELECT id, email_enc, created_at_us, expires_at_us FROM portal_invites "
                              "WHERE company_id = ? AND expires_at_us > ? AND id = ?",
                              {company_id, clock_.now_us(), where_id}));
  std::vector<Invite> out;
  for (const store::Row& row : rows) {
    Invite in{row.text(0), company_id, "", row.i64(2), row.i64(3)};
    PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::load(s, keys_, in.id));
    PRIVOX_ASSIGN(in.email, privacy::open_field(key, in.id, kEmailField, row.blob(1)));
    out.push_back(std::move(in));
  }
  return out;
}

Result<std::vector<Invite>> Invites::list(store::Session& s, const std::string& company_id) const {
  return read(s, "", company_id);
}

Result<InviteLink> Invites::renew(store::Session& tx, const std::string& company_id, const std::string& id,
                                  const std::string& actor) const {
  PRIVOX_ASSIGN(std::vector<Invite> found, read(tx, id, company_id));
  if (found.empty()) return no_invite();
  InviteLink out{std::move(found[0]), ""};
  out.invite.expires_at_us = clock_.now_us() + kInviteTtlUs;
  PRIVOX_TRY(delete_confirmations_of(tx, id));
  PRIVOX_TRY(tx.exec("UPDATE portal_invites SET expires_at_us = ? WHERE id = ?", {out.invite.expires_at_us, id}));
  PRIVOX_ASSIGN(out.token, new_link(tx, keys_, clock_, out.invite));
  PRIVOX_TRY(audit_.append(tx, {actor, "invite.renew", id, "service", {{"company_id", company_id}}}));
  return out;
}

Status Invites::revoke(store::Session& tx, const std::string& company_id, const std::string& id,
                       const std::string& actor) const {
  PRIVOX_ASSIGN(std::vector<Invite> found, read(tx, id, company_id));
  if (found.empty()) return no_invite();
  PRIVOX_TRY(remove(tx, id));
  PRIVOX_TRY(audit_.append(tx, {actor, "invite.revoke", id, "service", {{"company_id", company_id}}}));
  return {};
}

Result<Invite> Invites::peek(store::Session& s, const std::string& token) const {
  const Error unknown{ErrorCode::not_found, "token", "this invitation is unknown, was used, revoked or has expired"};
  PRIVOX_ASSIGN(std::optional<PendingConfirmation> pending, peek_confirmation(s, keys_, clock_, token));
  if (!pending || pending->kind != ConfirmationKind::invite) return unknown;
  // The company comes from the sealed link and must be the invitation's own.
  PRIVOX_ASSIGN(std::vector<Invite> found,
                read(s, pending->subject_id, pending->payload.value("company_id", std::string())));
  if (found.empty()) return unknown;
  return std::move(found[0]);
}

Result<Invite> Invites::take(store::Session& tx, const std::string& token) const {
  PRIVOX_ASSIGN(Invite in, peek(tx, token));
  PRIVOX_TRY(take_confirmation(tx, keys_, clock_, token));
  PRIVOX_TRY(remove(tx, in.id));
  PRIVOX_TRY(audit_.append(tx, {"portal:invite", "invite.accept", in.id, "service", {{"company_id", in.company_id}}}));
  return in;
}

}  // namespace privox::portal
